# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7's virtual_ipaddress options with real daemons in lab namespaces, vipd beside keepalived
(issue 10): the address flags and lifetimes the kernel holds for the same config text (`ip -j addr`), and what
each does when someone deletes an address: a master whose tracked VIP is deleted goes BACKUP (then takes over
again, alone on the link); a deleted tracked static_ipaddress is put back; `no_track` ones are left alone.
keepalived's own behaviour is the reference: both implementations run the same assertions.
"""
from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from tests.lab import wait_until

from .peers import VIP, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

UNTRACKED = "203.0.113.77"
V6_HOST, V6_NET, V6_DAD = "2001:db8:a::7", "2001:db8:b::7", "2001:db8:c::7"
STATIC = """static_ipaddress {
    203.0.113.250/32 dev lo
    203.0.113.251/32 dev lo no_track
}
"""
EXCLUDED = """    virtual_ipaddress_excluded {
        %s/32 dev eth0 no_track
        %s/128 dev eth0 noprefixroute
        %s/64 dev eth0 home mngtmpaddr preferred_lft 600
        %s/64 dev eth0 -nodad preferred_lft forever
    }
""" % (UNTRACKED, V6_HOST, V6_NET, V6_DAD)


def _conf() -> str:
    text = render_config([InstanceSpec(priority=150, version=3, advert_int=0.2)], router_id="vipopts")
    return STATIC + text.replace("    virtual_ipaddress {", EXCLUDED + "    virtual_ipaddress {", 1)


def _addr_info(lab, dev):
    out = lab.run("server1", ["ip", "-j", "addr", "show", "dev", dev], check=True).stdout
    return dict((a["local"], a) for a in json.loads(out)[0]["addr_info"])


def _backups(node, since):
    """How often the instance entered BACKUP in the log after offset ``since`` (both implementations' words)."""
    text = node.log_text()[since:]
    return len(re.findall(r"MASTER -> BACKUP|\(VI_1\) Entering BACKUP STATE", text))


def _reset(lab):
    for addr, dev in ((VIP + "/24", "eth0"), (UNTRACKED + "/32", "eth0"), ("203.0.113.250/32", "lo"), ("203.0.113.251/32", "lo"),
                      (V6_HOST + "/128", "eth0"), (V6_NET + "/64", "eth0"), (V6_DAD + "/64", "eth0")):
        lab.run("server1", ["ip", "addr", "del", addr, "dev", dev])


@pytest.mark.parametrize("impl", ["vipd", "keepalived"])
def test_vip_options_and_deleted_addresses_as_keepalived(module_lab, impl):
    lab = module_lab
    _reset(lab)
    node = Node(lab, "server1", impl, _conf(), tag="vipopts-" + impl)
    try:
        node.start()
        wait_until(lambda: node.is_master() and V6_DAD in _addr_info(lab, "eth0"), timeout=15, interval=0.05,
                   what="%s master with its VIPs" % node)
        eth0 = _addr_info(lab, "eth0")
        host, net, dad = eth0[V6_HOST], eth0[V6_NET], eth0[V6_DAD]
        # keepalived's defaults: IPv6 VIPs without DAD; a /128 one deprecated (preferred 0, valid forever)
        assert host.get("nodad") and host.get("noprefixroute") and host.get("deprecated"), host
        assert host["preferred_life_time"] == 0 and host["valid_life_time"] == 4294967295, host
        assert net.get("home") and net.get("mngtmpaddr") and net.get("nodad") and not net.get("deprecated"), net
        assert 500 < net["preferred_life_time"] <= 600 and net["valid_life_time"] == 4294967295, net
        assert not dad.get("nodad") and dad["preferred_life_time"] == 4294967295, dad  # -nodad: DAD runs
        routes = lab.run("server1", ["ip", "-6", "route", "show", "dev", "eth0"], check=True).stdout
        assert V6_HOST not in routes and "2001:db8:b::/64" in routes, routes  # noprefixroute: no route of its own

        # static addresses: a tracked one deleted is put back, a no_track one is not
        lab.run("server1", ["ip", "addr", "del", "203.0.113.251/32", "dev", "lo"], check=True)
        lab.run("server1", ["ip", "addr", "del", "203.0.113.250/32", "dev", "lo"], check=True)
        wait_until(lambda: "203.0.113.250" in _addr_info(lab, "lo"), timeout=5, interval=0.05, what="static address restored")
        time.sleep(0.5)
        assert "203.0.113.251" not in _addr_info(lab, "lo")

        # a no_track VIP deleted: nothing happens
        since = len(node.log_text())
        lab.run("server1", ["ip", "addr", "del", UNTRACKED + "/32", "dev", "eth0"], check=True)
        time.sleep(1.0)  # 5 advert intervals
        assert node.state() == "MASTER" and _backups(node, since) == 0 and UNTRACKED not in _addr_info(lab, "eth0")

        # a tracked VIP deleted: the master goes BACKUP, then (alone on the link) MASTER again with all its VIPs
        lab.run("server1", ["ip", "addr", "del", VIP + "/24", "dev", "eth0"], check=True)
        wait_until(lambda: _backups(node, since) == 1, timeout=5, interval=0.05, what="MASTER -> BACKUP on the deleted VIP")
        wait_until(lambda: node.is_master() and UNTRACKED in _addr_info(lab, "eth0"), timeout=15, interval=0.05,
                   what="master again with every VIP")
        assert node.stop() == 0
        assert "203.0.113.250" not in _addr_info(lab, "lo") and V6_HOST not in _addr_info(lab, "eth0")
    finally:
        problems = stop_all([node])
        _reset(lab)
    assert not problems, problems
