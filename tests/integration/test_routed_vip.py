# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed VIPs across subnets (issue 14), end to end with real daemons: vipd elects over unicast VRRP through a
router, the master's host route reaches the router ("fabric") by eBGP through FRR's bgpd (Debian's frr, run per
namespace, configured with the block the vrrp role renders), and a client behind the router probes the VIP every
10 ms.

Topology and addresses: tests/lab/routed.py; scenarios: routed_scenarios.py. What is asserted: the client reaches
the VIP through the fabric; the master's sudden death (vipd and bgpd SIGKILLed) moves the route and the outage is
bounded by VRRP's Master_Down_Interval plus convergence; a silent master (isolated) is bounded by the BGP hold
timer, or by BFD when bfdd runs; a graceful stop (SIGTERM) moves the route make-before-break with no probe lost.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration import routed_scenarios as rs
from tests.integration.vipd_helpers import VipdNode
from tests.lab import frr, wait_until
from tests.lab.routed import BFD_INTERVAL_MS, BFD_MULTIPLIER, SERVERS, VIP, VIPD_METRIC, RoutedLab

pytestmark = pytest.mark.lab
CONVERGENCE = 1.5  # zebra + bgpd + the fabric's FIB on a loaded 2-core machine, on top of the protocol timers


@pytest.fixture
def routed_lab():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces)")
    missing = frr.available()
    if missing:
        pytest.fail("FRR is not installed (%s): hack/bootstrap.sh installs Debian's frr" % missing)
    lab = RoutedLab()
    lab.nodes = []
    try:
        lab.up()
        yield lab
    finally:
        for node in lab.nodes:
            node.kill()
        problems = lab.down()
        assert not problems, problems


def report(what: str, result: dict) -> None:
    sys.stderr.write("%s: outage %.3f s, %d lost of %d sent\n" % (what, result["outage"], result["lost"], result["sent"]))


def test_master_holds_vip_and_route_with_its_protocol(routed_lab):
    lab = routed_lab
    s1, s2 = rs.start_pair(lab, lab.nodes)
    assert s1.has_vip(VIP) and not s2.has_vip(VIP)
    assert lab.host_routes("server1") == [VIP] and lab.host_routes("server2") == []
    # the adverts crossed the fabric: TTL 254 accepted with min_ttl 254, nothing dropped
    inst = s2.instance("VIP_R")
    assert inst["master"] == SERVERS["server1"][2], inst
    assert not any(inst["counters"]["drops"].values()), inst
    # exactly vipd's route reached the fabric, by eBGP from AS 65001, its metric as the MED
    bgp = lab.speakers["fabric"].vtysh("show ip bgp %s/32" % VIP)
    assert "65001" in bgp and "65002" not in bgp, bgp
    assert "metric %d" % VIPD_METRIC in bgp, bgp
    ping = lab.ns("client", "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", VIP, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_strict_ttl_refuses_an_offlink_peer(routed_lab):
    """Without min_ttl the RFC's TTL 255 rule holds: the adverts arrive with 254 and are dropped, both become master."""
    lab = routed_lab
    lab.start_bgp()
    lab.wait_sessions()
    nodes = [VipdNode(lab, name, rs.vipd_conf(name, prio).replace("        min_ttl 254\n", ""))
             for name, prio in (("server1", 150), ("server2", 100))]
    lab.nodes.extend(nodes)
    for node in nodes:
        node.start()
    for node in nodes:
        node.wait_state("MASTER", name="VIP_R")
    wait_until(lambda: nodes[1].instance("VIP_R")["counters"]["drops"].get("ttl", 0) > 3, timeout=10, what="TTL drops")


def test_hard_failure_moves_the_route(routed_lab):
    """vipd and bgpd of the master die at once (SIGKILL): the fabric drops the session (the kernel closes the TCP
    connection), the backup takes over after Master_Down_Interval and its route follows."""
    lab = routed_lab
    s1, s2 = rs.start_pair(lab, lab.nodes)
    result = rs.run(lab, s1, s2, "hard")
    report("hard failure (SIGKILL vipd + bgpd)", result)
    assert result["sent"] > 100 and result["received"] > 0, result
    assert not [g for g in result["gaps"] if g.get("open")], result  # reachable again at the end
    bound = rs.master_down_interval(100) + CONVERGENCE
    assert result["outage"] <= bound, (result["outage"], bound)
    assert lab.host_routes("server2") == [VIP]


@pytest.mark.parametrize("bfd", [False, True], ids=["hold-timer", "bfd"])
def test_silent_failure_bounded_by_hold_timer_or_bfd(routed_lab, bfd):
    """The master goes silent (every packet dropped, links up): the backup takes over after Master_Down_Interval,
    but the fabric keeps the old path until the BGP hold timer (3 s), or BFD (3 x 100 ms), declares it dead."""
    lab = routed_lab
    s1, s2 = rs.start_pair(lab, lab.nodes, bfd=bfd)
    if bfd:
        peers = lab.speakers["fabric"].vtysh("show bfd peers")
        assert "%dms" % BFD_INTERVAL_MS in peers.replace(" ms", "ms"), peers
    result = rs.run(lab, s1, s2, "silent")
    report("silent failure (%s)" % ("BFD" if bfd else "hold timer %d s" % rs.HOLD), result)
    assert not [g for g in result["gaps"] if g.get("open")], result
    detect = BFD_INTERVAL_MS * BFD_MULTIPLIER / 1000.0 if bfd else rs.HOLD
    bound = max(detect, rs.master_down_interval(100)) + CONVERGENCE
    assert result["outage"] <= bound, (result["outage"], bound)
    if not bfd:
        # the hold timer, not VRRP, is what the client waited for: the outage is at least most of it
        assert result["outage"] >= rs.HOLD - rs.KEEPALIVE - 0.5, result["outage"]


def test_graceful_stop_is_make_before_break(routed_lab):
    """SIGTERM on the master: priority 0, the backup takes over at once and announces; the old master keeps its
    route withdraw_delay after hearing it, withdraws it, then keeps accepting withdraw_delay more: the fabric
    switches paths without losing one 10 ms probe."""
    lab = routed_lab
    s1, s2 = rs.start_pair(lab, lab.nodes)
    result = rs.run(lab, s1, s2, "graceful")
    report("graceful stop (SIGTERM)", result)
    assert result["sent"] > 100, result
    assert result["gaps"] == [], result
    assert not s1.has_vip(VIP) and lab.host_routes("server1") == []  # stop removed both
    assert s2.has_vip(VIP) and lab.host_routes("server2") == [VIP]


def test_static_routed_vip_from_vip_secondary(routed_lab, tmp_path):
    """vip_secondary with `route` on server2 (no vipd): the address on lo plus proto 201 route; FRR, configured with
    the role's block for static VIPs, announces it; state absent withdraws it."""
    lab = routed_lab
    static = "203.0.113.210"
    lab.start_bgp(static_vips=[static + "/32"])
    lab.wait_sessions()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.path.join(repo, ".build", "collections"))

    def module(state):
        path = tmp_path / ("args-%s.json" % state)
        path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"interface": "lo", "address": static + "/32", "state": state,
                                                            "route": {"protocol": 201}}}))
        proc = subprocess.run(["ip", "netns", "exec", lab.host("server2").netns, sys.executable, "-m",
                               "ansible_collections.floating.vip.plugins.modules.vip_secondary", str(path)],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
        out = json.loads(proc.stdout)
        assert not out.get("failed"), out
        return out

    assert module("present")["route_action"] == "add"
    wait_until(lambda: lab.vip_next_hop(static) == "server2", timeout=15, interval=0.05, what="fabric route to the static VIP")
    ping = lab.ns("client", "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "1", static, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert module("absent")["route_action"] == "remove"
    wait_until(lambda: lab.vip_next_hop(static) is None, timeout=15, interval=0.05, what="static VIP withdrawn")
