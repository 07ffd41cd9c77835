# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon as the executor of supervisor decisions (Daemon.carry_out): a tracking fault of one sync-group member
puts the other in FAULT, its recovery releases it, a held INIT starts on its first result; `vipd status` shows
`fault_causes` and `held` as before. Injected loop clock; no network (stale-VIP cleanup is off)."""
from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, daemon, netio
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine
from ansible_collections.floating.vip.plugins.module_utils.vrrp.tracking import Evaluation
from tests.unit.vrrp.fakes import StillClock

CONF = """vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify_fault /bin/true
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    unicast_src_ip 198.51.100.1
    unicast_peer {
        198.51.100.2
    }
    virtual_ipaddress {
        198.51.100.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 100
    unicast_src_ip 198.51.100.1
    unicast_peer {
        198.51.100.2
    }
    virtual_ipaddress {
        198.51.100.101/24
    }
}
"""


class _Notifier:
    runs = coalesced = 0
    running = ()

    def __init__(self):
        self.calls = []

    def fire(self, owner, hook, command, extra=None, user="", group=None):
        self.calls.append((owner, hook))


def _daemon(tmp_path):
    path = tmp_path / "vipd.conf"
    path.write_text(CONF)
    d = daemon.Daemon(str(path))
    d.loop = StillClock()
    d.cfg = config.parse_text(CONF, str(path))
    d.vip_owned_elsewhere = None  # no stale-VIP cleanup: no netlink here
    d.supervisor.configure(d.cfg)
    d.notifications.notifier = _Notifier()
    for name in ("VI_1", "VI_2"):
        rt = daemon.InstanceRuntime(d, d.cfg.instances[name])
        rt.src_ip = "198.51.100.1"
        rt.machine = Machine(rt.params())
        rt.machine.group_gate = rt._sync_gate  # pylint: disable=protected-access
        d.instances[name] = rt
    return d


def _status(rt):
    s = rt.status()
    return s["state"], s["fault_causes"], s["held"]


def test_a_members_tracking_fault_takes_the_group_to_fault_and_back(tmp_path):
    d = _daemon(tmp_path)
    one, two = d.instances["VI_1"], d.instances["VI_2"]
    for rt in (one, two):
        rt.execute(rt.machine.start(d.now()))
    assert _status(one) == ("BACKUP", {}, False)
    d.loop.t += 1
    one.apply_tracking(Evaluation(100, ["chk failed"]))
    assert _status(one) == ("FAULT", {"tracking": "chk failed"}, False)
    assert _status(two) == ("FAULT", {"group": "sync group G: VI_1 BACKUP -> FAULT"}, False)
    assert d.health.status()["groups"] == {"G": "FAULT"}
    assert d.notifications.notifier.calls == [("group G", "notify_fault")]
    # VI_2's own tracking is fine, but VI_1 still has a fault of its own: VI_2 stays in FAULT
    two.apply_tracking(Evaluation(100))
    assert _status(two) == ("FAULT", {"group": "sync group G: VI_1 is FAULT (chk failed)"}, False)
    d.loop.t += 1
    one.apply_tracking(Evaluation(100))
    assert _status(one) == ("BACKUP", {}, False) and _status(two) == ("BACKUP", {}, False)
    assert d.health.status()["groups"] == {"G": "BACKUP"}
    assert one.last_transition["new"] == "BACKUP" and two.last_transition["reason"] == "fault cleared"


def test_a_held_init_starts_on_its_first_result(tmp_path):
    d = _daemon(tmp_path)
    one = d.instances["VI_1"]
    d.carry_out(d.supervisor.on_start("VI_1", one.cfg, Evaluation(100, [], ["chk"]), one.view(), True, "eth0", "backup",
                                      d.now()), one)
    assert _status(one) == ("INIT", {}, True)
    one.apply_tracking(Evaluation(90))
    assert _status(one) == ("BACKUP", {}, False) and one.machine.effective_priority == 90


def _masters(d, calls):
    """Both members MASTER (their actions not carried out: no netlink here); what the runtimes then do is recorded."""
    for rt in d.instances.values():
        gate, rt.machine.group_gate = rt.machine.group_gate, None  # (both at once: the gate waits for the other)
        rt.machine.start(d.now() - 10)
        rt.machine.on_timer(rt.machine.next_deadline)
        rt.machine.group_gate = gate
        assert rt.machine.state.value == "MASTER"
        rt.vips_held = [s.cidr for s in rt.all_vip_specs()]
        rt.send_advert = lambda prio, name=rt.name: calls.append((name, "advert", prio))
        rt.remove_vips = lambda name=rt.name: calls.append((name, "remove"))
        rt.cancel_garps = lambda: None


def test_a_deleted_vip_steps_the_whole_sync_group_back_with_priority_zero_and_skew_time(tmp_path):
    """keepalived set_vrrp_backup(): the master that lost a VIP and the masters of its sync group each send priority 0
    and take over again after their own Skew_Time; none waits vrrp_sync_backup()'s Master_Down_Interval."""
    d = _daemon(tmp_path)
    calls = []
    _masters(d, calls)
    one, two = d.instances["VI_1"], d.instances["VI_2"]
    one.vips_lost([one.all_vip_specs()[0]])
    assert calls == [("VI_1", "advert", 0), ("VI_1", "remove"), ("VI_2", "advert", 0), ("VI_2", "remove")]
    skew = 156 / 256.0  # priority 100, VRRPv2, advert_int 1
    for rt in (one, two):
        assert rt.state == "BACKUP" and rt.machine.next_deadline == d.now() + skew
    assert one.last_transition["reason"] == "VIP 198.51.100.100/24 deleted"
    assert two.last_transition["reason"] == "sync group G: VI_1 VIP 198.51.100.100/24 deleted"
    assert d.health.status()["groups"] == {"G": "BACKUP"}
    assert not d._stepping_back  # pylint: disable=protected-access


def test_a_sync_peer_that_left_master_for_another_reason_still_takes_the_group_the_slow_way(tmp_path):
    """vrrp_sync_backup() is unchanged: a member that loses to a higher advert takes the others to BACKUP with a
    Master_Down_Interval and no priority 0."""
    d = _daemon(tmp_path)
    calls = []
    _masters(d, calls)
    one, two = d.instances["VI_1"], d.instances["VI_2"]
    one.execute(one.machine.on_advert(d.now(), "198.51.100.2", 200, 100))
    assert one.state == "BACKUP" and two.state == "BACKUP"
    assert ("VI_2", "advert", 0) not in calls
    assert two.machine.next_deadline == d.now() + 3 + 156 / 256.0


def test_after_lost_address_notifications_a_master_checks_its_vips_and_steps_back_for_one_gone(tmp_path, monkeypatch):
    """ENOBUFS on the route monitor ("lost"): a deletion of a held VIP may have been dropped with the rest. One dump
    tells: VI_1's VIP is gone, so it steps back as if told (its sync group with it); with every VIP there, nothing."""
    d = _daemon(tmp_path)
    calls = []
    _masters(d, calls)
    there = [SimpleNamespace(ifname="eth0", family=4, address=a) for a in ("198.51.100.1", "198.51.100.100", "198.51.100.101")]
    d.route_monitor = SimpleNamespace(read=lambda: [("lost", None)])
    monkeypatch.setattr(netio, "address_snapshot", lambda: netio.AddressSnapshot(there))
    d.on_route_events()
    assert calls == [] and d.instances["VI_1"].state == "MASTER"
    monkeypatch.setattr(netio, "address_snapshot", lambda: netio.AddressSnapshot([there[0], there[2]]))
    d.on_route_events()
    assert d.instances["VI_1"].last_transition["reason"] == "VIP 198.51.100.100/24 deleted"
    assert ("VI_1", "advert", 0) in calls and d.instances["VI_2"].state == "BACKUP"


def test_after_lost_notifications_the_static_routes_and_rules_are_put_back(tmp_path, monkeypatch):
    """A deleted static route or rule is put back when its deletion is heard; when notifications were lost, every
    tracked one is added again (the kernel keeps those still there). no_track ones are left alone, as when heard."""
    text = ("static_routes {\n    203.0.113.0/25 dev eth0\n    203.0.113.128/25 dev eth0 no_track\n}\n"
            "static_rules {\n    from 203.0.113.0/25 table 101\n}\n"
            "static_ipaddress {\n    203.0.113.5/32 dev lo\n    203.0.113.6/32 dev lo no_track\n}\n" + CONF)
    d = _daemon(tmp_path)
    d.cfg = config.parse_text(text, str(tmp_path / "vipd.conf"))
    applied = []
    monkeypatch.setattr(daemon.routes, "apply", lambda r, u, add, log=None: applied.append(([x.render() for x in r],
                                                                                            [x.render() for x in u], add)))
    monkeypatch.setattr(daemon.routes, "static_ipaddress", lambda specs, add, log=None: applied.append(("addresses", [x.cidr for x in specs], add)))
    monkeypatch.setattr(netio, "address_snapshot", lambda: None)
    d.route_monitor = SimpleNamespace(read=lambda: [("lost", None)])
    d.on_route_events()
    assert applied == [("addresses", ["203.0.113.5/32"], True),
                       (["203.0.113.0/25 dev eth0"], ["inet from 203.0.113.0/25 preference 30000 table 101"], True)]
