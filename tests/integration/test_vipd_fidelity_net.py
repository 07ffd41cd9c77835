# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived fidelity on the network side, with real daemons in lab namespaces, vipd beside keepalived 2.2.7:
virtual_routes / virtual_rules follow mastership (added on MASTER, removed on BACKUP and at stop),
static_ipaddress / static_routes / static_rules are present while the daemon runs and removed at exit;
vrrp_mcast_group4 and unicast_ttl as seen on the wire (tcpdump on the lab bridge).
The same config text runs on both implementations; keepalived's own behaviour is the reference.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.lab import Lab, wait_until

from .peers import VIP, Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

HIGH, LOW = 150, 100
ADVERT = 0.2
ROUTES = """    virtual_routes {
        203.0.113.0/25 via %(gw)s dev eth0 metric 17
        blackhole 203.0.113.128/25 table 100
    }
    virtual_rules {
        from %(vip)s table 100 preference 100
    }
"""
STATIC = """static_ipaddress {
    203.0.113.250/32 dev lo
}
static_routes {
    203.0.113.240/29 dev eth0 table 101
}
static_rules {
    to 203.0.113.240/29 table 101 preference 101
}
"""


def _conf(lab: Lab, priority: int) -> str:
    text = render_config([InstanceSpec(priority=priority, version=3, advert_int=ADVERT)], router_id="fidelity")
    extra = ROUTES % {"gw": lab.ip("client1"), "vip": VIP}
    text = text.replace("    virtual_ipaddress {", extra + "    virtual_ipaddress {", 1)
    return STATIC + text


def _routes(lab: Lab, host: str) -> str:
    out = lab.run(host, ["ip", "route", "show", "table", "all"], check=True).stdout
    out += lab.run(host, ["ip", "rule", "show"], check=True).stdout
    out += lab.run(host, ["ip", "addr", "show", "dev", "lo"], check=True).stdout
    return out


def _has_virtual(lab: Lab, host: str) -> bool:
    text = _routes(lab, host)
    found = ["203.0.113.0/25 via %s dev eth0 proto keepalived metric 17" % lab.ip("client1") in text,
             "blackhole 203.0.113.128/25 table 100 proto keepalived" in text,
             "100:\tfrom %s lookup 100 proto keepalived" % VIP in text]
    assert all(found) or not any(found), "partial virtual routes on %s:\n%s" % (host, text)
    return all(found)


def _has_static(lab: Lab, host: str) -> bool:
    text = _routes(lab, host)
    found = ["203.0.113.240/29 dev eth0 table 101 proto keepalived" in text,
             "101:\tfrom all to 203.0.113.240/29 lookup 101 proto keepalived" in text,
             "inet 203.0.113.250/32 scope global lo" in text]
    assert all(found) or not any(found), "partial static entries on %s:\n%s" % (host, text)
    return all(found)


def _reset(lab: Lab):
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
        lab.run(host, ["ip", "addr", "del", VIP + "/24", "dev", "eth0"])
        # what a daemon killed by an earlier failure may have left
        lab.run(host, ["ip", "addr", "del", "203.0.113.250/32", "dev", "lo"])
        lab.run(host, ["ip", "route", "flush", "table", "all", "proto", "keepalived"])
        for pref in ("100", "101"):
            lab.run(host, ["ip", "rule", "del", "pref", pref])


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd"), ("vipd", "vipd")])
def test_virtual_routes_follow_mastership(module_lab, high_impl, low_impl):
    lab = module_lab
    _reset(lab)
    high = Node(lab, "server1", high_impl, _conf(lab, HIGH), tag="routes")
    low = Node(lab, "server2", low_impl, _conf(lab, LOW), tag="routes")
    nodes = [high, low]
    try:
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP", timeout=15, interval=0.05, what="election")
        wait_until(lambda: _has_virtual(lab, "server1"), timeout=5, interval=0.05, what="virtual routes on the master")
        assert not _has_virtual(lab, "server2"), _routes(lab, "server2")
        # static entries: on both, whatever the state
        assert _has_static(lab, "server1") and _has_static(lab, "server2")

        # graceful stop of the master: its routes and static entries leave, the backup takes the routes over
        assert high.stop() == 0
        wait_until(low.is_master, timeout=15, interval=0.05, what="takeover by %s" % low)
        wait_until(lambda: _has_virtual(lab, "server2"), timeout=5, interval=0.05, what="virtual routes on the new master")
        assert not _has_virtual(lab, "server1") and not _has_static(lab, "server1"), _routes(lab, "server1")

        # the higher priority comes back and preempts: the routes move back (removed on BACKUP)
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP", timeout=15, interval=0.05, what="failback")
        wait_until(lambda: _has_virtual(lab, "server1") and not _has_virtual(lab, "server2"), timeout=5, interval=0.05,
                   what="routes back on %s only" % high)
        assert _has_static(lab, "server1") and _has_static(lab, "server2")

        # both stop gracefully (backup first): nothing of theirs is left behind
        assert low.stop() == 0 and high.stop() == 0
    finally:
        problems = stop_all(nodes)
    assert not problems, problems
    for host in ("server1", "server2"):
        assert not _has_virtual(lab, host) and not _has_static(lab, host), _routes(lab, host)


def _pair_conf(priority: int, global_lines: str = "", own_ip: str = "", peer_ip: str = "", instance_lines: str = "") -> str:
    spec = InstanceSpec(priority=priority, version=3, advert_int=ADVERT)
    if peer_ip:
        spec.unicast_src_ip, spec.unicast_peers = own_ip, (peer_ip,)
    text = render_config([spec], router_id="fidelity")
    text = text.replace("global_defs {", "global_defs {\n" + global_lines, 1)
    return text.replace("    virtual_ipaddress {", instance_lines + "    virtual_ipaddress {", 1)


def _wire_pair(lab, high_impl, low_impl, high_conf, low_conf, tag):
    """Start the pair, check one master (the high one), return the adverts captured in a steady second."""
    _reset(lab)
    high = Node(lab, "server1", high_impl, high_conf, tag=tag)
    low = Node(lab, "server2", low_impl, low_conf, tag=tag)
    capture = Capture(lab).start()
    try:
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(), timeout=15, interval=0.05,
                   what="election with %s master" % high)
        frames_before = len(capture.read())
        for _sample in range(10):  # one master all along, about 1 s
            assert high.is_master() and not low.holds(), "two masters or none"
            time.sleep(0.1)
        frames = [f for f in capture.read()[frames_before:] if f.kind == "vrrp"]
        assert high.stop() == 0 and low.stop() == 0
    finally:
        capture.stop()
        problems = stop_all([high, low])
    assert not problems, problems
    return frames


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_mcast_group4_on_the_wire(module_lab, high_impl, low_impl):
    lab = module_lab
    glob = "    vrrp_mcast_group4 224.0.0.19\n"
    frames = _wire_pair(lab, high_impl, low_impl, _pair_conf(HIGH, glob), _pair_conf(LOW, glob), "mcast")
    master_ip = lab.ip("server1")
    assert len(frames) >= 3, frames
    assert {(f.src_ip, f.dst_ip, f.ttl) for f in frames} == {(master_ip, "224.0.0.19", 255)}, frames


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_unicast_ttl_on_the_wire(module_lab, high_impl, low_impl):
    lab = module_lab
    ip1, ip2 = lab.ip("server1"), lab.ip("server2")
    ttl = "    unicast_ttl 7\n"
    frames = _wire_pair(lab, high_impl, low_impl, _pair_conf(HIGH, "", ip1, ip2, ttl), _pair_conf(LOW, "", ip2, ip1, ttl),
                        "ttl")
    assert len(frames) >= 3, frames
    assert {(f.src_ip, f.dst_ip, f.ttl) for f in frames} == {(ip1, ip2, 7)}, frames


def _ping(lab, vip=VIP) -> bool:
    return lab.run("client1", ["ping", "-n", "-c", "1", "-W", "1", vip]).returncode == 0


def _nft_tables(lab, host) -> str:
    return lab.run(host, ["nft", "list", "tables"]).stdout


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft (nftables) is not installed")
@pytest.mark.parametrize("impl", ["keepalived", "vipd"])
@pytest.mark.parametrize("mode", ["no_accept", "accept", "strict"])
def test_accept_mode_as_keepalived(module_lab, impl, mode):
    """A no-accept master (no_accept, or vrrp_strict without accept) holds the VIP but does not answer on it:
    keepalived's nftables drop set; with accept (the default without strict) it answers. ARP still resolves."""
    lab = module_lab
    _reset(lab)
    glob = "    vrrp_strict\n" if mode == "strict" else ""
    conf = _pair_conf(HIGH, glob, instance_lines="    %s\n" % mode if mode != "strict" else "")
    node = Node(lab, "server1", impl, conf, tag="accept-" + mode)
    lab.run("client1", ["ip", "neigh", "flush", "dev", "eth0"])
    try:
        node.start()
        wait_until(node.is_master, timeout=15, interval=0.05, what="%s master" % node)
        if mode == "accept":
            wait_until(lambda: _ping(lab), timeout=5, interval=0.1, what="VIP answering")
        else:
            time.sleep(0.5)
            assert not _ping(lab) and not _ping(lab), "a no-accept master answered on its VIP"
            neigh = lab.run("client1", ["ip", "neigh", "show", VIP]).stdout
            assert "lladdr" in neigh, neigh  # the VIP still resolves: only IP traffic to it is dropped
            assert "keepalived" in _nft_tables(lab, "server1")
        assert node.stop() == 0
        assert "keepalived" not in _nft_tables(lab, "server1")
    finally:
        problems = stop_all([node])
        lab.run("server1", ["nft", "delete", "table", "ip", "keepalived"])
    assert not problems, problems


VMAC_NAME, VMAC_MAC = "vrrp.51", "00:00:5e:00:01:33"  # the default name and RFC 5798 MAC of VRID 51


def _vip_dev(lab, host):
    """The interface holding the VIP on a host, or None."""
    out = lab.run(host, ["ip", "-o", "-4", "addr", "show"]).stdout
    for line in out.splitlines():
        words = line.split()
        if len(words) > 3 and words[3].split("/")[0] == VIP:
            return words[1]
    return None


def _vmac_link(lab, host):
    out = lab.run(host, ["ip", "-d", "link", "show", VMAC_NAME]).stdout
    return out if "macvlan mode private" in out else ""


def _client_mac(lab):
    out = lab.run("client1", ["ip", "neigh", "show", VIP]).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd"), ("vipd", "vipd")])
def test_use_vmac_keeps_the_client_mac_across_failover(module_lab, high_impl, low_impl):
    lab = module_lab
    _reset(lab)
    lab.run("client1", ["ip", "neigh", "flush", "dev", "eth0"])
    # The servers know the client's MAC beforehand: otherwise the kernel of the master asks for it from eth0 with
    # the VIP as sender address, and the client's entry for the VIP takes eth0's MAC (kernel behaviour, the same
    # under keepalived; arp_announce 2 on the base interface avoids it in production).
    for host in ("server1", "server2"):
        lab.run(host, ["ping", "-n", "-c", "1", "-W", "1", lab.ip("client1")], check=True)
    lab.run("client1", ["ip", "neigh", "del", VIP, "dev", "eth0"])
    high = Node(lab, "server1", high_impl, _pair_conf(HIGH, instance_lines="    use_vmac\n"), tag="vmac")
    low = Node(lab, "server2", low_impl, _pair_conf(LOW, instance_lines="    use_vmac\n"), tag="vmac")
    try:
        low.start()
        high.start()
        wait_until(lambda: high.state() == "MASTER" and low.state() == "BACKUP" and _vip_dev(lab, "server1") == VMAC_NAME,
                   timeout=15, interval=0.05, what="election, VIP on the VMAC of %s" % high)
        for host in ("server1", "server2"):
            assert "link/ether %s" % VMAC_MAC in _vmac_link(lab, host), _vmac_link(lab, host)
        assert _vip_dev(lab, "server2") is None
        for node in (high, low):
            if node.impl == "vipd":
                sysctl = lab.run(node.host, ["sh", "-c", "cat /proc/sys/net/ipv4/conf/%s/arp_ignore "
                                                         "/proc/sys/net/ipv4/conf/%s/accept_local /proc/sys/net/ipv4/conf/%s/rp_filter "
                                                         "/proc/sys/net/ipv4/conf/eth0/arp_ignore /proc/sys/net/ipv4/conf/eth0/arp_filter"
                                                         % (VMAC_NAME, VMAC_NAME, VMAC_NAME)]).stdout.split()
                assert sysctl == ["1", "1", "0", "1", "1"], (node, sysctl)
        wait_until(lambda: _ping(lab), timeout=5, interval=0.1, what="VIP answering")
        assert _client_mac(lab) == VMAC_MAC

        if high.impl == "vipd":  # a reload that changes nothing keeps the VMAC (same ifindex) and the VIP on it
            before = _vmac_link(lab, "server1").split(":")[0]
            os.kill(high.main_pid, 1)  # SIGHUP
            time.sleep(0.5)
            assert _vmac_link(lab, "server1").split(":")[0] == before and _vip_dev(lab, "server1") == VMAC_NAME

        assert high.stop() == 0
        wait_until(lambda: low.state() == "MASTER" and _vip_dev(lab, "server2") == VMAC_NAME, timeout=15, interval=0.05,
                   what="takeover by %s" % low)
        wait_until(lambda: _ping(lab), timeout=5, interval=0.1, what="VIP answering after failover")
        assert _client_mac(lab) == VMAC_MAC  # the same MAC: the client's neighbour entry did not change
        if high.impl == "vipd":
            assert _vmac_link(lab, "server1") == "", "vipd left its VMAC behind"
        assert low.stop() == 0
        if low.impl == "vipd":
            assert _vmac_link(lab, "server2") == ""
    finally:
        problems = stop_all([high, low])
        for host in ("server1", "server2"):
            lab.run(host, ["ip", "link", "del", VMAC_NAME])
            lab.run(host, ["nft", "delete", "table", "ip", "keepalived"])
            lab.run(host, ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_ignore; "
                                       "echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_filter"])
    assert not problems, problems


def test_tracked_routes_as_keepalived(module_lab):
    """A tracked virtual route (with dev, without no_track) deleted by someone else sends the master to BACKUP;
    a deleted tracked static route or rule is put back; no_track ones are left alone (keepalived 2.2.7)."""
    lab = module_lab
    _reset(lab)
    extra = ("    virtual_routes {\n        203.0.113.0/25 via %s dev eth0 metric 17\n"
             "        203.0.113.128/25 via %s dev eth0 no_track\n    }\n" % (lab.ip("client1"), lab.ip("client1")))
    conf = STATIC + _pair_conf(HIGH, instance_lines=extra)
    node = Node(lab, "server1", "vipd", conf, tag="track")
    try:
        node.start()
        wait_until(node.is_master, timeout=15, interval=0.05, what="%s master" % node)
        wait_until(lambda: "203.0.113.0/25" in _routes(lab, "server1"), timeout=5, interval=0.05, what="virtual route")
        # static: deleted by hand, put back
        lab.run("server1", ["ip", "route", "del", "203.0.113.240/29", "table", "101"], check=True)
        lab.run("server1", ["ip", "rule", "del", "pref", "101"], check=True)
        wait_until(lambda: _has_static(lab, "server1"), timeout=5, interval=0.05, what="static route and rule restored")
        # an untracked virtual route deleted: nothing happens
        lab.run("server1", ["ip", "route", "del", "203.0.113.128/25"], check=True)
        time.sleep(0.5)
        assert node.state() == "MASTER"
        # a tracked one deleted: the master leaves (BACKUP, VIP removed), then takes over again, alone on the link
        since = len(node.log_text())
        lab.run("server1", ["ip", "route", "del", "203.0.113.0/25"], check=True)
        wait_until(lambda: "tracked virtual route 203.0.113.0/25" in node.log_text()[since:], timeout=5, interval=0.05,
                   what="leaving MASTER on the deleted route")
        wait_until(lambda: "MASTER -> BACKUP" in node.log_text()[since:], timeout=5, interval=0.05, what="MASTER -> BACKUP")
        wait_until(lambda: node.is_master() and "203.0.113.0/25" in _routes(lab, "server1"), timeout=15, interval=0.05,
                   what="master again with its routes")
        assert node.stop() == 0
        assert not _has_static(lab, "server1") and "203.0.113.0/25" not in _routes(lab, "server1")
    finally:
        problems = stop_all([node])
    assert not problems, problems
