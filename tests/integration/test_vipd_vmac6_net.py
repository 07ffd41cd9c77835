# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""use_vmac on an IPv6 instance (issue 10) with real daemons in lab namespaces, vipd beside keepalived 2.2.7:
the macvlan carries 00:00:5e:00:02:VRID and the base interface's link-local address (keepalived's
set_link_local_address()), adverts leave from it, the IPv6 VIP is on it, and a client's neighbour entry for the
VIP keeps the virtual MAC across failover, whichever implementation is master.
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.lab import wait_until

from .peers import InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

VIP6, CLIENT6 = "2001:db8:6::100", "2001:db8:6::9"
VMAC_NAME, VMAC6_MAC = "vrrp.51", "00:00:5e:00:02:33"
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
    """An IPv4 instance (no VMAC of its own) with an IPv6 eVIP: use_vmac_addr gives the eVIP a VMAC on eth0."""
    text = render_config([InstanceSpec(priority=priority, version=3, advert_int=ADV)], router_id="vmacaddr")
    return text.replace("    virtual_ipaddress {", "    use_vmac_addr\n    virtual_ipaddress_excluded {\n        %s/64\n    }\n"
                        "    virtual_ipaddress {" % VIP6, 1)


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
        _cleanup(lab)
        for host in ("server1", "server2"):
            lab.run(host, ["ip", "addr", "del", "198.51.100.100/24", "dev", "eth0"])
            lab.run(host, ["nft", "delete", "table", "ip", "keepalived"])
    assert not problems, problems
