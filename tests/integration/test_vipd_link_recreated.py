# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A link deleted and created again under the same name while vipd runs (a VLAN after ifdown / ifup, a bond, a veth;
a VMAC deleted by hand), renamed, or given a new MAC, with real daemons in a fresh lab, keepalived 2.2.7 as the peer
(or in vipd's place) where it can be.

vipd's VRRP sockets stayed bound to the deleted link's index: the master came back from FAULT deaf and mute, the
backup took over, and both held the VIP for good. keepalived reopens its sockets and recreates its VMACs; so does
vipd now (Daemon.link_indexed, Daemon.link_deleted).
"""
from __future__ import annotations

import contextlib
import shutil
import time

import pytest

from tests.lab import wait_until

from .peers import VIP, InstanceSpec, Node, elected_pair, render_config, stop_all

pytestmark = [pytest.mark.lab]

HIGH, LOW = 150, 100
VMAC_NAME = "vrrp.51"


def _conf(priority: int, vmac: bool = False) -> str:
    text = render_config([InstanceSpec(priority=priority, version=3, advert_int=0.2)], router_id="relink")
    return text.replace("    virtual_ipaddress {", "    use_vmac %s\n    virtual_ipaddress {" % VMAC_NAME, 1) if vmac else text


def _holders(lab) -> list:
    """The servers whose interfaces hold the VIP."""
    return [h for h in lab.server_names() if ("inet %s/" % VIP) in lab.run(h, ["ip", "-o", "-4", "addr", "show"]).stdout]


def _settled(lab, high: Node, low: Node, what: str) -> None:
    """high MASTER with the VIP, low BACKUP without it, the client reaching it; and still so 2 s later (the split
    brain this guards against had the backup take over about one Master_Down_Interval after the link came back)."""
    wait_until(lambda: high.state() == "MASTER" and low.state() == "BACKUP" and _holders(lab) == ["server1"],
               timeout=20, interval=0.1, what=what)
    wait_until(lambda: lab.ping("client1", VIP, timeout=1), timeout=10, interval=0.2, what="the VIP answering " + what)
    for _check in range(8):
        time.sleep(0.25)
        assert (high.state(), low.state(), _holders(lab)) == ("MASTER", "BACKUP", ["server1"]), what


def _need(impl: str) -> None:
    if impl == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("keepalived is not installed")


@contextlib.contextmanager
def _elected_pair(lab, peer: str, vmac: bool, tag: str):
    """vipd (HIGH) on server1 and ``peer`` (LOW) on server2, settled; both stopped afterwards, and how they stopped
    checked."""
    high = Node(lab, "server1", "vipd", _conf(HIGH, vmac), tag=tag)
    low = Node(lab, "server2", peer, _conf(LOW, vmac), tag=tag)
    try:
        high.start()
        low.start()
        _settled(lab, high, low, "elected")
        yield high, low
    finally:
        problems = stop_all([high, low])
    assert not problems, problems


@pytest.mark.parametrize("peer", ["vipd", pytest.param("keepalived", marks=pytest.mark.keepalived)])
def test_a_master_whose_link_is_created_again_is_master_again_and_alone(lab, peer):
    _need(peer)
    with _elected_pair(lab, peer, False, "relink") as (high, low):
        lab.recreate_link("server1")
        _settled(lab, high, low, "after eth0 was created again")
        assert "opening its IPv4 VRRP socket again" in high.log_text()


def test_a_vmac_goes_with_its_base_link_and_comes_back_with_it(lab):
    with _elected_pair(lab, "vipd", True, "relinkv") as (high, low):
        lab.recreate_link("server1")
        _settled(lab, high, low, "after eth0 was created again")
        assert "VMAC %s on eth0 was deleted: made again" % VMAC_NAME in high.log_text()
        # the base's sysctls are set again on the new eth0 (keepalived's, for a VMAC on it)
        assert lab.run("server1", ["sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore"]).stdout.strip() == "1"


def test_a_vmac_deleted_by_hand_is_made_again_and_its_master_takes_the_vip_back(lab):
    """keepalived: the master whose VMAC (with its VIP) was deleted goes BACKUP, makes the VMAC again and becomes
    master again after its Skew_Time (set_vrrp_backup), the VIP on the new VMAC."""
    with _elected_pair(lab, "vipd", True, "vmacdel") as (high, low):
        lab.run("server1", ["ip", "link", "del", VMAC_NAME], check=True)
        wait_until(lambda: "MASTER -> BACKUP (VIP %s/24 deleted)" % VIP in high.log_text(), timeout=10, interval=0.1,
                   what="the master leaving")
        _settled(lab, high, low, "after the VMAC was deleted")
        assert VIP in lab.run("server1", ["ip", "-o", "-4", "addr", "show", "dev", VMAC_NAME]).stdout


def test_vipd_started_before_its_interface_exists_is_master_once_it_comes(lab):
    """keepalived 2.2.7 refuses to start when an instance's interface does not exist (without dynamic_interfaces,
    which vipd refuses). vipd starts that instance in FAULT ("no usable socket or source address"); it used to
    stay there. Once the interface is created, the socket is opened, the address found, and the FAULT left."""
    high = Node(lab, "server1", "vipd", _conf(HIGH), tag="late")
    low = Node(lab, "server2", "vipd", _conf(LOW), tag="late")
    try:
        lab.unplug("server1")
        low.start()
        high.start(wait=False)
        wait_until(lambda: high.state() == "FAULT" and low.state() == "MASTER", timeout=20, interval=0.1,
                   what="vipd in FAULT without its interface")
        lab.plug("server1")
        _settled(lab, high, low, "after the interface was created")
    finally:
        problems = stop_all([high, low])
    assert not problems, problems


def _rename(lab, old: str, new: str) -> None:
    for argv in (["ip", "link", "set", old, "down"], ["ip", "link", "set", old, "name", new], ["ip", "link", "set", new, "up"]):
        lab.run("server1", argv, check=True)


@pytest.mark.parametrize("impl", ["vipd", pytest.param("keepalived", marks=pytest.mark.keepalived)])
def test_a_master_whose_interface_is_renamed_is_in_fault_until_the_name_comes_back(lab, impl):
    """Instances follow the interface's name, not its index: while eth0 is called eth9 the master is in FAULT and the
    backup holds the VIP; named eth0 again, it takes the VIP back. keepalived 2.2.7 does the same."""
    _need(impl)
    high = Node(lab, "server1", impl, _conf(HIGH), tag="rename")
    low = Node(lab, "server2", impl, _conf(LOW), tag="rename")
    try:
        high.start()
        low.start()
        _settled(lab, high, low, "elected")
        _rename(lab, "eth0", "eth9")
        try:
            wait_until(lambda: high.state() == "FAULT" and low.state() == "MASTER" and _holders(lab) == ["server2"],
                       timeout=10, interval=0.1, what="%s in FAULT while its interface has another name" % impl)
            time.sleep(1.0)
            assert (high.state(), _holders(lab)) == ("FAULT", ["server2"])
        finally:
            _rename(lab, "eth9", "eth0")
        _settled(lab, high, low, "after eth0 got its name back")
    finally:
        problems = stop_all([high, low])
    assert not problems, problems


def test_a_master_whose_mac_address_changes_announces_its_vip_from_the_new_one(lab):
    """A MAC changed under the same link (a bond's failover with fail_over_mac, a MAC set by hand): the master sends
    its GARPs again at once, from the new MAC, and the client follows within a second. keepalived 2.2.7 sends nothing
    then; the client went on sending to the old MAC until its ARP entry expired or a delayed GARP came. The delayed
    burst is off here (garp_master_delay 0) so that only the change can explain the GARPs."""
    def conf(priority: int) -> str:
        return render_config([InstanceSpec(priority=priority, version=3, advert_int=1, garp_master_delay=0)], router_id="mac")

    new_mac = "02:00:00:00:0a:0a"
    with elected_pair(lab, "vipd", conf(HIGH), conf(LOW), "mac", settle=1.0) as (high, low, capture):
        assert lab.ping("client1", VIP, timeout=1) and lab.neigh("client1", VIP) == lab.mac("server1")
        wall = time.time()
        lab.run("server2", ["ip", "link", "set", "eth0", "address", "02:00:00:00:0b:0b"], check=True)  # a backup's
        lab.run("server1", ["ip", "link", "set", "eth0", "address", new_mac], check=True)
        wait_until(lambda: lab.neigh("client1", VIP) == new_mac, timeout=1.5, interval=0.05, what="the client following")
        assert lab.ping("client1", VIP, timeout=1)
        time.sleep(0.5)
        garps = [f for f in capture.read() if f.kind == "arp" and f.ts > wall and f.arp_sender_ip == VIP]
        assert garps and set(f.src_mac for f in garps) == {new_mac}, garps
        assert (high.state(), low.state()) == ("MASTER", "BACKUP")
        assert "eth0 has a new MAC address: announcing its VIPs again" in high.log_text()
        assert "new MAC address" not in low.log_text()
