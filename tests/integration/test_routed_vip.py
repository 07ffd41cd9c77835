# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed VIPs across subnets (issue 14), end to end with real daemons: vipd elects over unicast VRRP through a
router, the master's host route reaches the router ("fabric") by eBGP through FRR's bgpd (Debian's frr, run per
namespace), and a client behind the router probes the VIP every 10 ms.

Topology and addresses: tests/lab/routed.py. What is asserted: the client reaches the VIP through the fabric;
the master's sudden death (vipd and bgpd SIGKILLed) moves the route and the outage is bounded by VRRP's
Master_Down_Interval plus BGP convergence; a silent master (isolated) is bounded by the BGP hold timer (and by
BFD when bfdd runs); a graceful stop (SIGTERM) moves the route make-before-break with no probe lost.
"""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from tests.benchmarks.prober import ProbeProcess
from tests.integration.vipd_helpers import VipdNode
from tests.lab import frr, wait_until
from tests.lab.routed import BFD_INTERVAL_MS, BFD_MULTIPLIER, SERVERS, VIP, VIPD_METRIC, VIPD_PROTOCOL, RoutedLab

pytestmark = pytest.mark.lab

ADVERT_INT = 0.2
KEEPALIVE, HOLD = 1, 3
PROBE_INTERVAL = 0.01


def master_down_interval(priority: int) -> float:
    """VRRPv3 (RFC 9568): 3 x advert_int + (256 - priority) x advert_int / 256."""
    return 3 * ADVERT_INT + (256 - priority) * ADVERT_INT / 256


def vipd_conf(name: str, priority: int, withdraw_delay: float = 1.0) -> str:
    own = SERVERS[name][2]
    peer = [v[2] for n, v in SERVERS.items() if n != name][0]
    return """vrrp_instance VIP_R {
    state BACKUP
    interface eth0
    virtual_router_id 14
    priority %d
    advert_int %s
    version 3
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    virtual_ipaddress {
        %s
    }
    vipd_routed {
        interface lo
        protocol %d
        metric %d
        min_ttl 254
        withdraw_delay %s
    }
}
""" % (priority, ADVERT_INT, own, peer, VIP, VIPD_PROTOCOL, VIPD_METRIC, withdraw_delay)


@pytest.fixture
def routed_lab():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces)")
    missing = frr.available()
    if missing:
        pytest.fail("FRR is not installed (%s): hack/bootstrap.sh installs Debian's frr" % missing)
    lab = RoutedLab()
    nodes = []
    lab.nodes = nodes
    try:
        lab.up()
        yield lab
    finally:
        for node in nodes:
            node.kill()
        problems = lab.down()
        assert not problems, problems


def start_pair(lab, bfd: bool = False):
    """FRR everywhere, then vipd on both servers; returns (master node, backup node) once the fabric routes the VIP
    to server1."""
    lab.start_bgp(bfd=bfd, keepalive=KEEPALIVE, hold=HOLD)
    lab.wait_sessions()
    s1 = VipdNode(lab, "server1", vipd_conf("server1", 150))
    s2 = VipdNode(lab, "server2", vipd_conf("server2", 100))
    lab.nodes.extend([s1, s2])
    s1.start()
    s2.start()
    s1.wait_state("MASTER", name="VIP_R")
    s2.wait_state("BACKUP", name="VIP_R")
    route_to(lab, "server1")
    return s1, s2


def route_to(lab, name: str, timeout: float = 20) -> None:
    try:
        wait_until(lambda: lab.vip_next_hop() == name, timeout=timeout, interval=0.02, what="fabric route for the VIP via %s" % name)
    except TimeoutError:
        raise AssertionError("the fabric never routed %s via %s (now: %s)\n%s\n%s" % (
            VIP, name, lab.vip_next_hop(), lab.speakers["fabric"].vtysh("show ip bgp"), lab.speakers[name].vtysh("show ip route")))


def probe(lab) -> ProbeProcess:
    return ProbeProcess(lab.host("client").netns, VIP, interval=PROBE_INTERVAL, workdir=lab.workdir).start()


def report(what: str, result: dict) -> None:
    sys.stderr.write("%s: outage %.3f s, %d lost of %d sent\n" % (what, result["outage"], sum(g["lost"] for g in result["gaps"]),
                                                                result["sent"]))


def test_master_holds_vip_and_route_with_its_protocol(routed_lab):
    lab = routed_lab
    s1, s2 = start_pair(lab)
    assert s1.has_vip(VIP) and not s2.has_vip(VIP)
    assert lab.host_routes("server1") == [VIP] and lab.host_routes("server2") == []
    # the adverts crossed the fabric: TTL 254 accepted with min_ttl 254, nothing dropped
    inst = s2.instance("VIP_R")
    assert inst["master"] == SERVERS["server1"][2], inst
    assert not any(inst["counters"]["drops"].values()), inst
    # exactly vipd's route reached the fabric, by eBGP from AS 65001
    bgp = lab.speakers["fabric"].vtysh("show ip bgp %s/32" % VIP)
    assert "65001" in bgp and "65002" not in bgp, bgp
    assert "metric %d" % VIPD_METRIC in bgp, bgp  # vipd_routed metric arrives as the MED
    ping = lab.ns("client", "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", VIP, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_hard_failure_moves_the_route(routed_lab):
    """vipd and bgpd of the master die at once (SIGKILL): the fabric drops the session (the kernel closes the TCP
    connection), the backup takes over after Master_Down_Interval and its route follows."""
    lab = routed_lab
    s1, s2 = start_pair(lab)
    prober = probe(lab)
    try:
        time.sleep(0.5)
        s1.kill()
        lab.speakers["server1"].kill("bgpd")
        killed = time.monotonic()
        s2.wait_state("MASTER", name="VIP_R")
        route_to(lab, "server2")
        moved = time.monotonic() - killed
        time.sleep(0.5)
    finally:
        result = prober.finish()
    report("hard failure (SIGKILL vipd + bgpd)", result)
    assert result["sent"] > 100 and result["received"] > 0, result
    assert not [g for g in result["gaps"] if g.get("open")], result  # reachable again at the end
    bound = master_down_interval(100) + 1.5  # + BGP/zebra convergence on a loaded 2-core machine
    assert result["outage"] <= bound, (result["outage"], bound, moved)
    assert lab.host_routes("server2") == [VIP]


@pytest.mark.parametrize("bfd", [False, True], ids=["hold-timer", "bfd"])
def test_silent_failure_bounded_by_hold_timer_or_bfd(routed_lab, bfd):
    """The master goes silent (every packet dropped, links up): the backup takes over after Master_Down_Interval,
    but the fabric keeps the old path until the BGP hold timer (3 s), or BFD (3 x 100 ms), declares it dead."""
    lab = routed_lab
    if bfd and not os.access(os.path.join(frr.FRR_DIR, "bfdd"), os.X_OK):
        pytest.fail("bfdd is not installed (Debian's frr ships it)")
    s1, s2 = start_pair(lab, bfd=bfd)
    if bfd:
        wait_until(lambda: lab.speakers["fabric"].vtysh("show bfd peers brief").lower().count(" up ") >= 2, timeout=15,
                   interval=0.2, what="BFD sessions up")
        assert "100ms" in lab.speakers["fabric"].vtysh("show bfd peers") or "100 ms" in lab.speakers["fabric"].vtysh("show bfd peers")
    prober = probe(lab)
    try:
        time.sleep(0.5)
        lab.isolate("server1")
        s2.wait_state("MASTER", name="VIP_R")
        route_to(lab, "server2", timeout=HOLD + 10)
        time.sleep(0.5)
    finally:
        result = prober.finish()
    report("silent failure (%s)" % ("BFD" if bfd else "hold timer %d s" % HOLD), result)
    assert not [g for g in result["gaps"] if g.get("open")], result
    detect = BFD_INTERVAL_MS * BFD_MULTIPLIER / 1000.0 if bfd else HOLD
    bound = max(detect, master_down_interval(100)) + 1.5
    assert result["outage"] <= bound, (result["outage"], bound)
    if not bfd:
        # the hold timer, not VRRP, is what the client waited for: the outage is at least most of it
        assert result["outage"] >= HOLD - KEEPALIVE - 0.5, result["outage"]


def test_graceful_stop_is_make_before_break(routed_lab):
    """SIGTERM on the master: priority 0, the backup takes over at once and announces; the old master keeps its
    route withdraw_delay after hearing it, so the fabric switches paths without losing one 10 ms probe."""
    lab = routed_lab
    s1, s2 = start_pair(lab)
    prober = probe(lab)
    try:
        time.sleep(0.5)
        s1.signal(signal.SIGTERM)
        s2.wait_state("MASTER", name="VIP_R")
        assert s1.wait_exit(timeout=15) == 0, s1.log()[-3000:]
        route_to(lab, "server2")
        time.sleep(0.5)
    finally:
        result = prober.finish()
    report("graceful stop (SIGTERM)", result)
    assert result["sent"] > 100, result
    assert result["gaps"] == [], result
    assert not s1.has_vip(VIP) and lab.host_routes("server1") == []  # stop removed both
    assert s2.has_vip(VIP) and lab.host_routes("server2") == [VIP]
