# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd and keepalived 2.2.7 in one VRRP group: they elect, fail over and fail back as two keepalived would.

Every combination of {vipd, keepalived} x {higher, lower priority}, VRRPv2 and v3, multicast and
unicast, is its own test; a keepalived-only pair runs the same script as the reference (if that
fails, the harness is wrong, not vipd). Both nodes of a pair run the SAME config text apart from
priority and unicast addresses: the config is written once in keepalived syntax.

One lab (2 servers on one bridge) serves the whole module; each test resets it: daemons killed,
VIPs flushed, links up.
"""
from __future__ import annotations

import shutil
import time

import pytest

from tests.lab import Lab, wait_until

from .peers import VIP, Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

HIGH, LOW = 150, 100
# (implementation with the higher priority, implementation with the lower one)
PAIRS = [("vipd", "keepalived"), ("keepalived", "vipd"), ("keepalived", "keepalived")]
ADVERT_INT = {2: 1.0, 3: 0.2}  # v2 counts whole seconds; v3 centiseconds, kept short for runtime


def skew(priority: int, advert_int: float) -> float:
    return (256 - priority) * advert_int / 256.0


def master_down(priority: int, advert_int: float) -> float:
    return 3 * advert_int + skew(priority, advert_int)


def _reset(lab: Lab):
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
        lab.run(host, ["ip", "addr", "del", VIP + "/24", "dev", "eth0"])


def _config(version: int, mode: str, priority: int, own_ip: str, peer_ip: str) -> str:
    spec = InstanceSpec(priority=priority, version=version, advert_int=ADVERT_INT[version])
    if mode == "unicast":
        spec.unicast_src_ip, spec.unicast_peers = own_ip, (peer_ip,)
    return render_config([spec], notify_script="@NOTIFY@", router_id="interop")


def _masters(nodes):
    """Nodes that call themselves master or hold the VIP (a split brain shows up either way)."""
    return [n for n in nodes if n.state() == "MASTER" or n.holds()]


def _steady(nodes, master: Node, capture: Capture, seconds: float, version: int, mode: str, peer_ip: str, priority: int = HIGH):
    """For ``seconds``: exactly one master at every sample, and on the wire adverts from it only."""
    start_wall = time.time()
    deadline = time.monotonic() + seconds
    samples = 0
    for _sample in range(int(seconds / 0.1) + 2):
        masters = _masters(nodes)
        assert masters == [master], "expected only %s as master, got %s" % (master, masters)
        samples += 1
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    end_wall = time.time()
    assert samples >= 3
    frames = [f for f in capture.read() if f.kind == "vrrp" and start_wall <= f.ts < end_wall]
    sources = {f.src_ip for f in frames}
    master_ip = master.lab.ip(master.host)
    assert sources == {master_ip}, "adverts from %s while %s is master" % (sources, master)
    advert_int = ADVERT_INT[version]
    assert len(frames) >= int((end_wall - start_wall) / advert_int) - 1, "%d adverts in %.1fs" % (len(frames), end_wall - start_wall)
    for f in frames:
        assert (f.ttl, f.version, f.priority) == (255, version, priority), f
        assert f.dst_ip == ("224.0.0.18" if mode == "multicast" else peer_ip), f


def _no_invalid(*nodes):
    for node in nodes:
        assert node.invalid_packets() == {}, "%s refused packets: %s\n%s" % (node, node.invalid_packets(), node.log_tail())


def _params():
    for version in (2, 3):
        for mode in ("multicast", "unicast"):
            for high, low in PAIRS:
                yield pytest.param(version, mode, high, low, id="v%d-%s-%s_high-%s_low" % (version, mode, high, low))


@pytest.mark.parametrize("version,mode,high_impl,low_impl", list(_params()))
def test_mixed_pair(module_lab, version, mode, high_impl, low_impl):
    lab = module_lab
    _reset(lab)
    ip1, ip2 = lab.ip("server1"), lab.ip("server2")
    adv = ADVERT_INT[version]
    high = Node(lab, "server1", high_impl, _config(version, mode, HIGH, ip1, ip2), tag="v%d%s" % (version, mode[0]))
    low = Node(lab, "server2", low_impl, _config(version, mode, LOW, ip2, ip1), tag="v%d%s" % (version, mode[0]))
    nodes = [high, low]
    capture = Capture(lab).start()
    try:
        # 1. Election: both start as BACKUP; the higher priority wins, the other stays backup.
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(),
                   timeout=master_down(LOW, adv) + 10, interval=0.05, what="election (%s master)" % high)
        _steady(nodes, high, capture, max(3 * adv, 1.0), version, mode, ip2)

        # 2. Hard failure of the master: the backup takes over after Master_Down_Interval, not before.
        failed_at = time.monotonic()
        high.hard_fail()
        wait_until(low.is_master, timeout=master_down(LOW, adv) + 10, interval=0.02, what="takeover by %s" % low)
        took = time.monotonic() - failed_at
        assert took >= 3 * adv * 0.9, "%s took over after %.2fs, before Master_Down_Interval" % (low, took)
        assert took <= master_down(LOW, adv) + 1.5, "%s took %.2fs to take over" % (low, took)

        # 3. The failed node comes back (rebooted: its VIP gone): it preempts, the other steps back.
        high.flush_vips()
        high.link(True)
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(),
                   timeout=master_down(HIGH, adv) + 10, interval=0.05, what="failback to %s" % high)
        _steady(nodes, high, capture, max(2 * adv, 0.6), version, mode, ip2)

        # Each side read the other's adverts, and refused none of them.
        _no_invalid(high, low)
        assert low.counters()["adverts_in"] > 0 and high.counters()["adverts_in"] > 0

        # 4. Graceful stop of the master: priority 0 on the wire, the backup takes over after Skew_Time.
        stop_wall = time.time()
        high.terminate()
        wait_until(low.is_master, timeout=master_down(LOW, adv) + 5, interval=0.02, what="takeover after graceful stop")
        assert high.stop() == 0, high.log_tail()
        assert not high.holds(), "%s kept the VIP after it stopped" % high
        after = [f for f in capture.read() if f.kind == "vrrp" and f.ts >= stop_wall - 0.05]
        resign = [f for f in after if f.src_ip == ip1 and f.priority == 0]
        assert resign, "no priority-0 advert from %s" % high
        first_low = [f for f in after if f.src_ip == ip2 and f.ts >= resign[0].ts]
        assert first_low, "no advert from %s after the resignation" % low
        # Measured on the wire: from the priority-0 advert to the new master's first advert.
        took = first_low[0].ts - resign[0].ts
        assert took < 3 * adv, "%s waited %.2fs: the priority-0 advert was not honoured" % (low, took)
        time.sleep(2 * adv)
        assert _masters(nodes) == [low]
        _no_invalid(low)
        assert "MASTER" in [line.split()[-1] for line in low.notify_log()], low.notify_log()
    except BaseException:
        for node in nodes:
            print("----- %s\n%s" % (node, node.log_tail(40)))
        raise
    finally:
        capture.stop()
        problems = stop_all(nodes)
        _reset(lab)
        assert not problems, problems


def test_vipd_status_cli_matches_socket(module_lab):
    """The state the interop tests read from the control socket is what `vipd status --json` prints."""
    lab = module_lab
    _reset(lab)
    node = Node(lab, "server1", "vipd", _config(3, "multicast", HIGH, lab.ip("server1"), lab.ip("server2")), tag="cli")
    try:
        node.start()
        wait_until(node.is_master, timeout=10, interval=0.05, what="lone vipd master")
        cli = node.status_cli()
        inst = [i for i in cli["instances"] if i["name"] == "VI_1"][0]
        assert inst["state"].upper() == "MASTER" and inst["priority"] == HIGH
        assert VIP + "/24" in inst["vips_held"]
        assert node.state() == "MASTER"
    finally:
        stop_all([node])
        _reset(lab)


def test_invalid_packet_counters_work(module_lab):
    """The zero-invalid checks above can fail: a PASS mismatch is counted by both implementations."""
    lab = module_lab
    _reset(lab)

    def cfg(priority, password):
        spec = InstanceSpec(priority=priority, version=2, advert_int=1.0, auth_pass=password)
        return render_config([spec], notify_script="@NOTIFY@")
    nodes = [Node(lab, "server1", "vipd", cfg(HIGH, "secret-a"), tag="auth"),
             Node(lab, "server2", "keepalived", cfg(LOW, "secret-b"), tag="auth")]
    try:
        for node in nodes:
            node.start()
        # Neither accepts the other's adverts, so both end up master, each refusing the other's.
        wait_until(lambda: all(n.invalid_packets() for n in nodes), timeout=master_down(LOW, 1.0) + 8, interval=0.2,
                   what="auth failures counted on both sides")
        vipd, keepalived = nodes
        assert set(vipd.invalid_packets()) == {"auth"}, vipd.invalid_packets()
        assert keepalived.invalid_packets().get("Authentication Errors/Failure", 0) > 0, keepalived.invalid_packets()
    finally:
        stop_all(nodes)
        _reset(lab)
