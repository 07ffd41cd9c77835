# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""use_vmac on an IPv6 instance (issue 10) with real daemons in lab namespaces, vipd beside keepalived 2.2.7:
the macvlan carries 00:00:5e:00:02:VRID and the base interface's link-local address (keepalived's
set_link_local_address()), adverts leave from it, the IPv6 VIP is on it, and a client's neighbour entry for the
VIP keeps the virtual MAC across failover, whichever implementation is master.
"""
from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.lab import wait_until

from .peers import Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

VIP6, CLIENT6 = "2001:db8:6::100", "2001:db8:6::9"
VMAC_NAME, VMAC6_MAC = "vrrp.51", "00:00:5e:00:02:33"
VMAC6_EUI64 = "fe80::200:5eff:fe00:233"  # the address the kernel would give the macvlan of its own
ADV = 0.2


def _conf(priority):
    text = render_config([InstanceSpec(priority=priority, version=3, advert_int=ADV, vips=(VIP6 + "/64",))], router_id="vmac6")
    return text.replace("    virtual_ipaddress {", "    use_vmac\n    virtual_ipaddress {", 1)


def _addrs(lab, host, dev):
    out = lab.run(host, ["ip", "-j", "-6", "addr", "show", "dev", dev]).stdout
    data = json.loads(out or "[]")
    return [a["local"] for a in data[0]["addr_info"]] if data else []


def _link(lab, host):
    out = lab.run(host, ["ip", "-j", "link", "show", VMAC_NAME]).stdout
    data = json.loads(out or "[]")
    return data[0] if data else None


def _client_mac(lab):
    out = lab.run("client1", ["ip", "-6", "neigh", "show", VIP6]).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def _ping6(lab):
    return lab.run("client1", ["ping", "-6", "-n", "-c", "1", "-W", "1", VIP6]).returncode == 0


def _cleanup(lab):
    for host in ("server1", "server2"):
        lab.run(host, ["ip", "link", "del", VMAC_NAME])
        lab.run(host, ["ip", "-6", "addr", "del", VIP6 + "/64", "dev", "eth0"])
        lab.run(host, ["nft", "delete", "table", "ip6", "keepalived"])
    lab.run("client1", ["ip", "-6", "addr", "del", CLIENT6 + "/64", "dev", "eth0"])


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd"), ("vipd", "vipd")])
def test_ipv6_use_vmac_keeps_the_client_neighbour_mac_across_failover(module_lab, high_impl, low_impl):
    lab = module_lab
    _cleanup(lab)
    lab.run("client1", ["ip", "-6", "addr", "add", CLIENT6 + "/64", "dev", "eth0", "nodad"], check=True)
    high = Node(lab, "server1", high_impl, _conf(150), tag="vmac6")
    low = Node(lab, "server2", low_impl, _conf(100), tag="vmac6")
    try:
        low.start()
        high.start()
        wait_until(lambda: high.state() == "MASTER" and low.state() == "BACKUP" and VIP6 in _addrs(lab, "server1", VMAC_NAME),
                   timeout=15, interval=0.05, what="election, VIP on the VMAC of %s" % high)
        for host in ("server1", "server2"):
            link = _link(lab, host)
            assert link and link["address"] == VMAC6_MAC, link
            # the VMAC holds the base interface's link-local address (adverts leave from it), as keepalived
            base_ll = [a for a in _addrs(lab, host, "eth0") if a.startswith("fe80:")]
            assert base_ll and base_ll[0] in _addrs(lab, host, VMAC_NAME), (host, _addrs(lab, host, VMAC_NAME))
        assert VIP6 not in _addrs(lab, "server2", VMAC_NAME) + _addrs(lab, "server2", "eth0")
        wait_until(lambda: _ping6(lab), timeout=5, interval=0.1, what="VIP answering")
        assert _client_mac(lab) == VMAC6_MAC
        for node in (high, low):
            if node.impl == "vipd":
                assert node.invalid_packets() == {}, node.invalid_packets()

        assert high.stop() == 0
        wait_until(lambda: low.state() == "MASTER" and VIP6 in _addrs(lab, "server2", VMAC_NAME), timeout=15, interval=0.05,
                   what="takeover by %s" % low)
        wait_until(lambda: _ping6(lab), timeout=5, interval=0.1, what="VIP answering after failover")
        assert _client_mac(lab) == VMAC6_MAC  # the same MAC: the client's neighbour entry did not change
        if high.impl == "vipd":
            assert _link(lab, "server1") is None, "vipd left its VMAC behind"
        assert low.stop() == 0
    finally:
        problems = stop_all([high, low])
        _cleanup(lab)
    assert not problems, problems


def _conf_addr(priority):
    """An IPv4 instance (no VMAC of its own) with an IPv6 eVIP: use_vmac_addr gives the eVIP a VMAC on eth0.

    garp_master_refresh 1: nothing else leaves the master with the eVIP's virtual MAC (its adverts are IPv4,
    from eth0), while keepalived 2.2.7 as backup sends router solicitations with it (Debian's build has no
    nftables rule for an eVIP's VMAC), which moves the bridge's entry for the MAC to the backup's port until
    the master sends again: the refresh bounds that to a second, as it would for users of such a pair."""
    text = render_config([InstanceSpec(priority=priority, version=3, advert_int=ADV)], router_id="vmacaddr")
    return text.replace("    virtual_ipaddress {", "    use_vmac_addr\n    garp_master_refresh 1\n"
                        "    virtual_ipaddress_excluded {\n        %s/64\n    }\n    virtual_ipaddress {" % VIP6, 1)


def _cleanup_addr(lab):
    _cleanup(lab)
    for host in ("server1", "server2"):
        lab.run(host, ["ip", "addr", "del", "198.51.100.100/24", "dev", "eth0"])
        lab.run(host, ["nft", "delete", "table", "ip", "keepalived"])


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_use_vmac_addr_gives_the_other_family_evip_a_vmac_as_keepalived(module_lab, high_impl, low_impl):
    lab = module_lab
    _cleanup(lab)
    lab.run("client1", ["ip", "-6", "addr", "add", CLIENT6 + "/64", "dev", "eth0", "nodad"], check=True)
    high = Node(lab, "server1", high_impl, _conf_addr(150), tag="vmacaddr")
    low = Node(lab, "server2", low_impl, _conf_addr(100), tag="vmacaddr")
    try:
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and VIP6 in _addrs(lab, "server1", VMAC_NAME),
                   timeout=15, interval=0.05, what="election, eVIP on the VMAC of %s" % high)
        for host in ("server1", "server2"):
            link = _link(lab, host)
            assert link and link["address"] == VMAC6_MAC, link  # the eVIP's family: 00:00:5e:00:02:VRID
        wait_until(lambda: _ping6(lab), timeout=5, interval=0.1, what="eVIP answering")
        assert _client_mac(lab) == VMAC6_MAC
        assert high.stop() == 0
        wait_until(lambda: low.is_master() and VIP6 in _addrs(lab, "server2", VMAC_NAME), timeout=15, interval=0.05,
                   what="takeover by %s" % low)
        wait_until(lambda: _ping6(lab), timeout=5, interval=0.1, what="eVIP answering after failover")
        assert _client_mac(lab) == VMAC6_MAC
        if high.impl == "vipd":
            assert _link(lab, "server1") is None, "vipd left its VMAC behind"
        assert low.stop() == 0
    finally:
        problems = stop_all([high, low])
        _cleanup_addr(lab)
    assert not problems, problems


@pytest.mark.parametrize("conf", [_conf, _conf_addr], ids=["use_vmac", "use_vmac_addr"])
def test_a_vipd_backup_sends_nothing_with_the_virtual_mac(module_lab, conf):
    """A switch learns a MAC on the port of its last sender, so a backup's router solicitation or MLD report with
    the virtual MAC would steer the VIP's clients to the backup. vipd's macvlan has no address of its own (no
    EUI-64 one), sends no router solicitation, and its MLD reports leave from the base interface."""
    lab = module_lab
    _cleanup_addr(lab)
    high = Node(lab, "server1", "vipd", conf(150), tag="quiet")
    low = Node(lab, "server2", "vipd", conf(100), tag="quiet")
    capture = Capture(lab, expr="ether src %s or ether dst 33:33:00:00:00:16" % VMAC6_MAC, port="server2")
    try:
        high.start()
        wait_until(lambda: high.state() == "MASTER", timeout=15, interval=0.05, what="%s master" % high)
        capture.start()
        low.start()
        wait_until(lambda: low.state() == "BACKUP" and _link(lab, "server2"), timeout=15, interval=0.05,
                   what="%s backup with its VMAC" % low)
        time.sleep(5)  # the kernel's router solicitations would leave at once and 4 s later
        assert low.state() == "BACKUP"
        frames = capture.stop()
        assert [f for f in frames if f.src_mac == VMAC6_MAC] == []
        base_mac = _base_mac(lab, "server2")
        assert frames and all(f.src_mac == base_mac for f in frames), frames  # MLD reports, moved to eth0
        assert VMAC6_EUI64 not in _addrs(lab, "server2", VMAC_NAME)
    finally:
        if capture.proc is not None:
            capture.stop()  # idempotent: ends tcpdump if an assertion came first
        problems = stop_all([high, low])
        _cleanup_addr(lab)
    assert not problems, problems


def _base_mac(lab, host):
    out = lab.run(host, ["ip", "-j", "link", "show", "eth0"]).stdout
    return json.loads(out)[0]["address"]
