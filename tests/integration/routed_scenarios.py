# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed-VIP failover scenarios on tests/lab/routed.py, shared by tests/integration/test_routed_vip.py (asserts)
and tests/benchmarks/routed_failover.py (tables).

start_pair() runs FRR everywhere and vipd on both servers (server1 priority 150 becomes master); run() starts a
10 ms prober on the client, causes one failure and returns the prober's result once the fabric routes the VIP to
server2 (plus half a second of probes after it).
"""
from __future__ import annotations

import signal
import time
from typing import Tuple

from tests.benchmarks.prober import ProbeProcess
from tests.integration.vipd_helpers import VipdNode
from tests.lab import wait_until
from tests.lab.routed import SERVERS, VIP, VIPD_METRIC, VIPD_PROTOCOL, RoutedLab

ADVERT_INT = 0.2
KEEPALIVE, HOLD = 1, 3
PROBE_INTERVAL = 0.01
SCENARIOS = ("hard", "silent", "graceful")


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


def route_to(lab: RoutedLab, name: str, timeout: float = 20) -> None:
    try:
        wait_until(lambda: lab.vip_next_hop() == name, timeout=timeout, interval=0.02, what="fabric route for the VIP via %s" % name)
    except TimeoutError:
        raise AssertionError("the fabric never routed %s via %s (now: %s)\n%s\n%s" % (
            VIP, name, lab.vip_next_hop(), lab.speakers["fabric"].vtysh("show ip bgp"), lab.speakers[name].vtysh("show ip route")))


def start_pair(lab: RoutedLab, nodes: list, bfd: bool = False) -> Tuple[VipdNode, VipdNode]:
    """FRR everywhere, then vipd on both servers; returns (master, backup) once the fabric routes the VIP to server1.
    The nodes are appended to ``nodes`` as soon as they exist, for the caller's cleanup."""
    lab.start_bgp(bfd=bfd, keepalive=KEEPALIVE, hold=HOLD)
    lab.wait_sessions()
    if bfd:
        wait_until(lambda: lab.speakers["fabric"].vtysh("show bfd peers brief").lower().count(" up ") >= 2, timeout=15,
                   interval=0.2, what="BFD sessions up")
    s1 = VipdNode(lab, "server1", vipd_conf("server1", 150))
    s2 = VipdNode(lab, "server2", vipd_conf("server2", 100))
    nodes.extend([s1, s2])
    s1.start()
    s2.start()
    s1.wait_state("MASTER", name="VIP_R")
    s2.wait_state("BACKUP", name="VIP_R")
    route_to(lab, "server1")
    return s1, s2


def run(lab: RoutedLab, s1: VipdNode, s2: VipdNode, scenario: str) -> dict:
    """One failure of server1 under a 10 ms prober: hard (vipd and bgpd SIGKILLed), silent (isolated: the fabric
    waits for the hold timer or BFD) or graceful (SIGTERM). Returns the prober's result."""
    prober = ProbeProcess(lab.host("client").netns, VIP, interval=PROBE_INTERVAL, workdir=lab.workdir).start()
    try:
        time.sleep(0.5)
        if scenario == "hard":
            s1.kill()
            lab.speakers["server1"].kill("bgpd")
        elif scenario == "silent":
            lab.isolate("server1")
        elif scenario == "graceful":
            s1.signal(signal.SIGTERM)
        else:
            raise ValueError("unknown scenario %r" % scenario)
        s2.wait_state("MASTER", name="VIP_R")
        if scenario == "graceful":
            assert s1.wait_exit(timeout=15) == 0, s1.log()[-3000:]
        route_to(lab, "server2", timeout=HOLD + 10)
        time.sleep(0.5)
    finally:
        result = prober.finish()
    result["lost"] = sum(g["lost"] for g in result["gaps"])
    return result
