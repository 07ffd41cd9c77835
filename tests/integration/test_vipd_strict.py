# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_strict in a mixed vipd/keepalived group (issue 10).

keepalived 2.2.7 drops authentication in strict mode ("Strict mode does not support authentication.
Ignoring."). vipd used to keep `auth_type PASS`: each side then refused the other's adverts and a group of
one vipd and one keepalived ended with two masters. Both orders are tested: one master, adverts from it
only, no packet refused, and a failover to the other implementation.
"""
from __future__ import annotations

import shutil
import time

import pytest

from tests.lab import wait_until

from .peers import Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

HIGH, LOW = 150, 100
ADV = 1.0


def strict_config(priority: int) -> str:
    spec = InstanceSpec(priority=priority, version=2, advert_int=ADV, auth_pass="s3cret")
    text = render_config([spec], notify_script="@NOTIFY@", router_id="strict")
    assert "auth_type PASS" in text
    return text.replace("global_defs {\n", "global_defs {\n    vrrp_strict\n", 1)


def _masters(nodes):
    return [n for n in nodes if n.state() == "MASTER" or n.holds()]


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_strict_pass_authentication_group_has_one_master(module_lab, high_impl, low_impl):
    lab = module_lab
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
    high = Node(lab, "server1", high_impl, strict_config(HIGH), tag="strict-" + high_impl)
    low = Node(lab, "server2", low_impl, strict_config(LOW), tag="strict-" + high_impl)
    nodes = [high, low]
    vipd = high if high_impl == "vipd" else low
    capture = Capture(lab).start()
    try:
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(),
                   timeout=3 * ADV + 10, interval=0.05, what="election (%s master)" % high)
        start_wall = time.time()
        for _sample in range(40):  # 4 s: one master at every sample
            assert _masters(nodes) == [high], "masters: %s" % _masters(nodes)
            time.sleep(0.1)
        frames = [f for f in capture.read() if f.kind == "vrrp" and f.ts >= start_wall]
        assert frames and {f.src_ip for f in frames} == {lab.ip(high.host)}
        assert all((f.version, f.priority) == (2, HIGH) for f in frames)
        # vipd logged keepalived's line, kept no password, and refused none of keepalived's adverts.
        log = vipd.log_text()
        assert "Strict mode does not support authentication. Ignoring." in log
        assert "s3cret" not in log
        assert vipd.invalid_packets() == {}, vipd.invalid_packets()
        # Failover to the other implementation.
        high.hard_fail()
        wait_until(low.is_master, timeout=3 * ADV + 1 + 10, interval=0.05, what="takeover by %s" % low)
        assert low.state() == "MASTER" and not high.running()
    finally:
        capture.stop()
        problems = stop_all(nodes)
        for node in nodes:
            node.link(True)
            node.flush_vips()
        assert not problems, problems


VIP6 = "2001:db8::100"


def _holds6(node) -> bool:
    return VIP6 in [a["local"] for a in node.lab.addresses(node.host, family=6)]


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_version2_with_ipv6_vips_interoperates_with_keepalived(module_lab, high_impl, low_impl):
    """`version 2` before IPv6 VIPs: keepalived 2.2.7 sends VRRPv2 adverts over IPv6; vipd does the same."""
    lab = module_lab
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
    texts = [render_config([InstanceSpec(priority=prio, version=2, advert_int=ADV, vips=(VIP6 + "/64",))],
                           notify_script="@NOTIFY@", router_id="v2ipv6") for prio in (HIGH, LOW)]
    assert all("version 2" in t and VIP6 in t for t in texts)
    high = Node(lab, "server1", high_impl, texts[0], tag="v2v6-" + high_impl)
    low = Node(lab, "server2", low_impl, texts[1], tag="v2v6-" + high_impl)
    nodes = [high, low]
    vipd = high if high_impl == "vipd" else low
    try:
        low.start()
        high.start()
        try:
            wait_until(lambda: high.state() == "MASTER" and _holds6(high) and low.state() == "BACKUP" and not _holds6(low),
                       timeout=3 * ADV + 10, interval=0.05, what="election (%s master)" % high)
        except TimeoutError:
            raise AssertionError("no election:\n%s\n%s\n%s\n%s" % (high, high.log_tail(), low, low.log_tail()))
        for _sample in range(30):  # 3 s: one master at every sample
            assert [n for n in nodes if n.state() == "MASTER" or _holds6(n)] == [high]
            time.sleep(0.1)
        assert vipd.invalid_packets() == {}, vipd.invalid_packets()
        assert "non-standard VRRPv2 adverts over IPv6" in vipd.log_text()
        high.hard_fail()
        wait_until(lambda: low.state() == "MASTER" and _holds6(low), timeout=3 * ADV + 1 + 10, interval=0.05,
                   what="takeover by %s" % low)
    finally:
        problems = stop_all(nodes)
        for node in nodes:
            node.link(True)
            node.lab.run(node.host, ["ip", "-6", "addr", "del", VIP6 + "/64", "dev", "eth0"])
        assert not problems, problems
