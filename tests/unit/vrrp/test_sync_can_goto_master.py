# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 vrrp_sync_can_goto_master(): a sync-group member whose Master_Down_Interval ran out goes MASTER
only when the group is MASTER already or every other member wants MASTER too; otherwise it stays BACKUP wanting
MASTER and looks again after another interval ("prefer backup state to avoid thrashing"). Injected clock only."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, supervisor
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, State

MASTER_IP = "198.51.100.2"


def _machine(priority=100):
    m = Machine(Params(vrid=1, priority=priority, advert_int=1.0, version=2, primary_ip="198.51.100.1"))
    m.start(0.0)
    return m


def test_a_held_member_stays_backup_wanting_master_and_looks_again_an_interval_later():
    m = _machine()
    answers = [False, True]
    m.group_gate = lambda _m: answers.pop(0)
    down = m.next_deadline
    assert m.on_timer(down) == [] and m.state == State.BACKUP and m.wants_master
    assert m.next_deadline == pytest.approx(down + m.master_down_interval)
    actions = m.on_timer(m.next_deadline)
    assert m.state == State.MASTER and actions[-1].new == State.MASTER


def test_hearing_the_master_again_makes_a_held_member_want_backup():
    m = _machine()
    m.group_gate = lambda _m: False
    m.on_timer(m.next_deadline)
    assert m.wants_master
    m.on_advert(m.next_deadline - 0.1, MASTER_IP, 200, 100)
    assert not m.wants_master and m.state == State.BACKUP


def test_outside_a_group_the_timer_takes_over_at_once():
    m = _machine()
    assert m.group_gate is None
    assert m.on_timer(m.next_deadline)[-1].new == State.MASTER


CONF = """vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        198.51.100.101/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {
        198.51.100.102/24
    }
}
"""


def _view(m):
    return supervisor.View(m.state, m.effective_priority, m.wants_master, m.resigning)


def _group():
    cfg = config.parse_text(CONF, "t.conf")
    machines = {}
    sup = supervisor.Supervisor()
    sup.configure(cfg)
    for name in ("VI_1", "VI_2"):
        m = machines[name] = _machine()
        m.group_gate = lambda _m, name=name: sup.can_goto_master(name, _views(machines))[0]
    return sup, machines


def _views(machines):
    return dict((name, _view(m)) for name, m in machines.items())


def test_a_member_whose_master_is_gone_waits_while_another_member_still_hears_its_master():
    sup, ms = _group()
    one, two = ms["VI_1"], ms["VI_2"]
    # VI_2's master still speaks; VI_1's master is gone: keepalived keeps the whole group BACKUP.
    t = one.next_deadline
    two.on_advert(t - 0.5, MASTER_IP, 200, 100)
    assert one.on_timer(t) == [] and one.state == State.BACKUP and one.wants_master
    ok, why = sup.can_goto_master("VI_1", _views(ms))
    assert not ok and "VI_2 does not want MASTER" in why
    # VI_2's master goes silent too: VI_2's own timer runs out, and now every member wants MASTER.
    actions = two.on_timer(two.next_deadline)
    assert two.state == State.MASTER and actions[-1].new == State.MASTER


def test_a_group_already_master_lets_a_member_follow():
    sup, ms = _group()
    for m in ms.values():
        m.group_gate = None
        m.on_timer(m.next_deadline)
    assert supervisor.group_state(sup.cfg.sync_groups["G"], _views(ms)) == "MASTER"
    assert sup.can_goto_master("VI_1", _views(ms)) == (True, "")
