# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/supervisor.py against an injected clock: keepalived 2.2.7's fault causes, held INIT, sync-group rules
(fault propagation, start rule, vrrp_sync_can_goto_master) and the order of notifications. No daemon, no I/O:
events in, decisions out; the decisions are applied to plain View records as the daemon's executor would."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, supervisor as sv
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import State
from ansible_collections.floating.vip.plugins.module_utils.vrrp.supervisor import (
    AfterStart, CheckGroup, ClearCause, EnterFault, FifoLine, Forced, LeaveFault, Log, Mail, RunHook, SetCause, SetHeld,
    SetPriority, StartMachine, Supervisor, SyncBackup, SyncMaster, View)

T0 = 1000.0

INSTANCE = """vrrp_instance %(name)s {
    interface eth0
    virtual_router_id %(vrid)d
    priority 100
%(extra)s    virtual_ipaddress {
        198.51.100.%(vrid)d/24
    }
}
"""


def conf(names=("VI_1",), group=None, extra="", head="", group_extra=""):
    text = head
    for i, name in enumerate(names):
        text += INSTANCE % {"name": name, "vrid": 10 + i, "extra": extra}
    if group:
        text += "vrrp_sync_group %s {\n    group {\n%s    }\n%s}\n" % (group, "".join("        %s\n" % n for n in names), group_extra)
    return config.parse_text(text, "s.conf")


def supervised(cfg):
    sup = Supervisor()
    sup.configure(cfg)
    return sup


def ev(priority=100, faults=(), pending=()):
    """A tracking.Evaluation (duck-typed: the supervisor needs no tracking import)."""
    class _Ev:
        pass
    out = _Ev()
    out.priority, out.faults, out.pending = priority, list(faults), list(pending)
    out.fault_reason = "; ".join(faults)
    return out


def view(state=State.BACKUP, causes=None, held=False, **kw):
    return View(state, kw.pop("priority", 100), fault_causes=dict(causes or {}), held=held, **kw)


def apply(views, decisions):
    """The executor's part, on Views: causes, held, and the state a machine decision leads to."""
    for d in decisions:
        if isinstance(d, Forced):
            apply(views, d.decisions)
            continue
        if not hasattr(d, "name") or d.name not in views:
            continue
        v = views[d.name]
        causes = dict(v.fault_causes)
        if isinstance(d, SetCause):
            causes[d.kind] = d.reason
        elif isinstance(d, ClearCause):
            causes.pop(d.kind, None)
        v = dataclasses.replace(v, fault_causes=causes)
        if isinstance(d, SetHeld):
            v = dataclasses.replace(v, held=d.held)
        elif isinstance(d, EnterFault):
            v = dataclasses.replace(v, state=State.FAULT)
        elif isinstance(d, (LeaveFault, StartMachine, SyncBackup)):
            v = dataclasses.replace(v, state=State.BACKUP)
        elif isinstance(d, SyncMaster):
            v = dataclasses.replace(v, state=State.MASTER)
        views[d.name] = v
    return views


def kinds(decisions):
    return [type(d).__name__ for d in decisions]


# ---------------------------------------------------------------- the injected clock

def test_machine_decisions_carry_the_time_of_their_event():
    sup = supervised(conf())
    out = sup.on_start("VI_1", sup.cfg.instances["VI_1"], ev(90), view(State.INIT), True, "eth0", "backup", T0)
    assert out == [SetPriority("VI_1", 90, T0), StartMachine("VI_1", T0), AfterStart("VI_1", T0)]
    out = sup.on_tracking("VI_1", sup.cfg.instances["VI_1"], ev(80, faults=["chk down"]), view(), {}, False, T0 + 7.5)
    assert out == [SetPriority("VI_1", 80, T0 + 7.5), SetCause("VI_1", "tracking", "chk down"), EnterFault("VI_1", "chk down", T0 + 7.5)]


# ---------------------------------------------------------------- fault causes

def test_start_faults_in_keepalived_order_config_vmac_socket_tracking():
    cfg = conf(extra="    unicast_fault_no_peer\n    unicast_src_ip 198.51.100.1\n")
    sup = supervised(cfg)
    inst = cfg.instances["VI_1"]
    out = sup.on_start("VI_1", inst, ev(faults=["t down"]), view(State.INIT, {"vmac": "no macvlan"}), False, "eth0", "auto", T0)
    assert out == [SetPriority("VI_1", 100, T0), Log("info", "(VI_1) " + sv.NO_PEER), SetCause("VI_1", "config", sv.NO_PEER),
                   EnterFault("VI_1", sv.NO_PEER, T0), AfterStart("VI_1", T0)]
    plain = supervised(conf())
    inst = plain.cfg.instances["VI_1"]
    out = plain.on_start("VI_1", inst, ev(faults=["t down"]), view(State.INIT, {"vmac": "no macvlan"}), False, "eth0", "auto", T0)
    assert out[1:] == [StartMachine("VI_1", T0), EnterFault("VI_1", "no macvlan", T0), AfterStart("VI_1", T0)]
    out = plain.on_start("VI_1", inst, ev(faults=["t down"]), view(State.INIT), False, "vrrp.10", "auto", T0)
    why = "no usable socket or source address on vrrp.10"
    assert out[1:] == [StartMachine("VI_1", T0), SetCause("VI_1", "socket", why), EnterFault("VI_1", why, T0), AfterStart("VI_1", T0)]
    out = plain.on_start("VI_1", inst, ev(faults=["t down"]), view(State.INIT), True, "eth0", "auto", T0)
    assert out[1:] == [SetCause("VI_1", "tracking", "t down"), EnterFault("VI_1", "t down", T0), AfterStart("VI_1", T0)]


def test_fault_is_left_only_when_the_last_cause_goes_whatever_the_order():
    cfg = conf(extra="    unicast_fault_no_peer\n    unicast_src_ip 198.51.100.1\n    unicast_peer {\n        198.51.100.2\n    }\n")
    sup = supervised(cfg)
    inst = cfg.instances["VI_1"]
    views = {"VI_1": view(State.FAULT, {"tracking": "t down", "config": sv.NO_PEER})}
    # the reload brought peers (config cause cleared) while tracking is still down: stays in FAULT
    out = sup.on_reload("VI_1", inst, views["VI_1"], views, T0)
    assert out == [ClearCause("VI_1", "config")]
    apply(views, out)
    out = sup.on_tracking("VI_1", inst, ev(), views["VI_1"], views, False, T0 + 1)
    assert out == [SetPriority("VI_1", 100, T0 + 1), ClearCause("VI_1", "tracking"), LeaveFault("VI_1", T0 + 1)]


def test_an_interface_without_address_is_a_fault_of_its_own_left_when_an_address_comes():
    """keepalived enters FAULT when the instance's interface loses its last address of the family, and leaves it
    when one comes; a start without socket or source (cause "socket") is left the same way."""
    cfg = conf()
    sup = supervised(cfg)
    why = "no IPv4 address on eth0"
    views = {"VI_1": view(State.MASTER, has_machine=True)}
    out = sup.on_source("VI_1", views["VI_1"], views, why, T0)
    assert out == [SetCause("VI_1", "source", why), EnterFault("VI_1", why, T0)]
    apply(views, out)
    assert sup.on_source("VI_1", views["VI_1"], views, why, T0 + 1) == [SetCause("VI_1", "source", why)]  # no second entry
    views["VI_1"] = dataclasses.replace(views["VI_1"], fault_causes={"source": why, "tracking": "t down"})
    assert sup.on_source("VI_1", views["VI_1"], views, None, T0 + 2) == [ClearCause("VI_1", "source")]  # tracking holds it
    views["VI_1"] = dataclasses.replace(views["VI_1"], fault_causes={"socket": "no usable socket or source address on eth0"})
    assert sup.on_source("VI_1", views["VI_1"], views, None, T0 + 3) == [ClearCause("VI_1", "socket"), LeaveFault("VI_1", T0 + 3)]
    assert sup.on_source("VI_1", view(State.BACKUP, has_machine=True), views, None, T0 + 4) == []  # nothing to clear
    assert sup.on_source("VI_1", view(State.BACKUP, has_machine=False), views, why, T0 + 5) == []  # not started


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tracking", "config"]), st.booleans()), min_size=1, max_size=12))
def test_property_fault_follows_the_set_of_causes(steps):
    """Tracking and config causes set and cleared in any order: FAULT exactly while one is set, the causes shown are
    exactly those set, and FAULT is entered and left only on the edges."""
    faulty = conf(extra="    unicast_fault_no_peer\n    unicast_src_ip 198.51.100.1\n").instances["VI_1"]
    healthy = conf(extra="    unicast_fault_no_peer\n    unicast_src_ip 198.51.100.1\n    unicast_peer {\n        198.51.100.2\n    }\n"
                   ).instances["VI_1"]
    sup = supervised(conf())
    views = {"VI_1": view(State.BACKUP)}
    want = set()
    for kind, on in steps:
        before = views["VI_1"].state
        if kind == "tracking":
            out = sup.on_tracking("VI_1", healthy, ev(faults=["t down"] if on else []), views["VI_1"], views, False, T0)
        else:
            out = sup.on_reload("VI_1", faulty if on else healthy, views["VI_1"], views, T0)
        apply(views, out)
        (want.add if on else want.discard)(kind)
        assert set(views["VI_1"].fault_causes) == want
        assert (views["VI_1"].state == State.FAULT) == bool(want)
        assert any(isinstance(d, EnterFault) for d in out) == (before != State.FAULT and bool(want))
        assert any(isinstance(d, LeaveFault) for d in out) == (before == State.FAULT and not want)


def test_nothing_is_decided_for_a_stopped_instance_or_a_stopping_daemon():
    sup = supervised(conf())
    inst = sup.cfg.instances["VI_1"]
    bad = ev(faults=["x"])
    assert sup.on_tracking("VI_1", inst, bad, view(), {}, True, T0) == []
    assert sup.on_tracking("VI_1", inst, bad, view(State.STOPPED), {}, False, T0) == []
    assert sup.on_tracking("VI_1", inst, bad, view(forced_stop=True), {}, False, T0) == []
    assert sup.on_tracking("VI_1", inst, bad, view(State.INIT, has_machine=False), {}, False, T0) == []


# ---------------------------------------------------------------- held INIT

def test_held_init_waits_for_the_first_result_then_starts():
    sup = supervised(conf())
    inst = sup.cfg.instances["VI_1"]
    out = sup.on_start("VI_1", inst, ev(pending=["chk"]), view(State.INIT), True, "eth0", "backup", T0)
    assert out == [SetPriority("VI_1", 100, T0), SetHeld("VI_1", True), Log("info", "VI_1: waiting for the first result of chk"),
                   AfterStart("VI_1", T0)]
    views = apply({"VI_1": view(State.INIT)}, out)
    assert views["VI_1"].held and views["VI_1"].state == State.INIT
    # another result while something is still pending: still held
    out = sup.on_tracking("VI_1", inst, ev(pending=["chk2"]), views["VI_1"], views, False, T0 + 1)
    assert out == [SetPriority("VI_1", 100, T0 + 1)]
    # the first result: released, the machine starts (not a recovery)
    out = sup.on_tracking("VI_1", inst, ev(), views["VI_1"], views, False, T0 + 2)
    assert out == [SetPriority("VI_1", 100, T0 + 2), SetHeld("VI_1", False), StartMachine("VI_1", T0 + 2)]


def test_held_init_released_into_fault_by_a_failing_first_result():
    sup = supervised(conf())
    inst = sup.cfg.instances["VI_1"]
    views = {"VI_1": view(State.INIT, held=True)}
    out = sup.on_tracking("VI_1", inst, ev(faults=["chk failed"]), views["VI_1"], views, False, T0)
    assert out == [SetPriority("VI_1", 100, T0), SetCause("VI_1", "tracking", "chk failed"), SetHeld("VI_1", False),
                   EnterFault("VI_1", "chk failed", T0)]


# ---------------------------------------------------------------- sync groups: fault propagation

def group3(**kw):
    cfg = conf(("VI_1", "VI_2", "VI_3"), group="G", **kw)
    return supervised(cfg), cfg


def test_a_members_fault_puts_the_others_in_fault_and_its_recovery_releases_them():
    sup, cfg = group3()
    views = {n: view(State.BACKUP) for n in ("VI_1", "VI_2", "VI_3")}
    views["VI_3"] = view(State.FAULT, {"group": "earlier"})
    out = sup.on_tracking("VI_1", cfg.instances["VI_1"], ev(faults=["t down"]), views["VI_1"], views, False, T0)
    apply(views, out)
    out = sup.on_transition("VI_1", cfg.instances["VI_1"], views["VI_1"], State.BACKUP, State.FAULT, "t down", False, views, False, T0)
    why = "sync group G: VI_1 BACKUP -> FAULT"
    forced = [d for d in out if isinstance(d, Forced)]
    assert len(forced) == 1 and forced[0].group == "G"
    assert list(forced[0].decisions) == [SetCause("VI_2", "group", why), SetHeld("VI_2", False), EnterFault("VI_2", why, T0),
                                         SetCause("VI_3", "group", why), SetHeld("VI_3", False)]  # VI_3 was in FAULT already
    assert isinstance(out[-1], CheckGroup)
    apply(views, out)
    assert [views[n].state for n in ("VI_2", "VI_3")] == [State.FAULT, State.FAULT]
    # VI_2 may not leave: VI_1 has a fault of its own
    assert sup.on_reload("VI_2", cfg.instances["VI_2"], views["VI_2"], views, T0) == [
        SetCause("VI_2", "group", "sync group G: VI_1 is FAULT (t down)")]
    # VI_1 recovers: its own fault goes, then its FAULT -> BACKUP releases the others
    out = sup.on_tracking("VI_1", cfg.instances["VI_1"], ev(), views["VI_1"], views, False, T0 + 3)
    assert out[-2:] == [ClearCause("VI_1", "tracking"), LeaveFault("VI_1", T0 + 3)]
    apply(views, out)
    out = sup.on_transition("VI_1", cfg.instances["VI_1"], views["VI_1"], State.FAULT, State.BACKUP, "ok", False, views, False, T0 + 3)
    forced = [d for d in out if isinstance(d, Forced)][0]
    assert list(forced.decisions) == [ClearCause("VI_2", "group"), LeaveFault("VI_2", T0 + 3),
                                      ClearCause("VI_3", "group"), LeaveFault("VI_3", T0 + 3)]


def test_a_member_stays_in_fault_while_another_member_has_its_own_fault():
    sup, cfg = group3()
    views = {"VI_1": view(State.BACKUP), "VI_2": view(State.FAULT, {"group": "g"}), "VI_3": view(State.FAULT, {"socket": "gone"})}
    out = sup.on_transition("VI_1", cfg.instances["VI_1"], views["VI_1"], State.FAULT, State.BACKUP, "ok", False, views, False, T0)
    forced = [d for d in out if isinstance(d, Forced)][0]
    # VI_2 is held by VI_3's own fault; VI_3's own cause is not the group's to clear
    assert list(forced.decisions) == [SetCause("VI_2", "group", "sync group G: VI_3 is FAULT (gone)")]


def test_a_member_starting_while_another_has_its_own_fault_starts_in_fault():
    sup, cfg = group3()
    views = {"VI_1": view(State.BACKUP), "VI_2": view(State.FAULT, {"tracking": "t down"}), "VI_3": view(State.FAULT, {"group": "x"})}
    why = "sync group G: VI_2 is FAULT (t down)"
    assert sup.after_start("VI_1", views["VI_1"], views, T0) == [SetCause("VI_1", "group", why), SetHeld("VI_1", False),
                                                                 EnterFault("VI_1", why, T0)]
    assert sup.after_start("VI_3", views["VI_3"], views, T0) == []  # in FAULT already
    alone = supervised(conf())
    assert alone.after_start("VI_1", view(), {"VI_1": view()}, T0) == []


def test_members_follow_each_other_to_master_and_back_to_backup():
    sup, cfg = group3()
    views = {"VI_1": view(State.MASTER), "VI_2": view(State.BACKUP), "VI_3": view(State.STOPPED, forced_stop=True)}
    out = sup.on_transition("VI_1", cfg.instances["VI_1"], views["VI_1"], State.BACKUP, State.MASTER, "timer", False, views, False, T0)
    why = "sync group G: VI_1 BACKUP -> MASTER"
    assert [d for d in out if isinstance(d, Forced)][0].decisions == (SyncMaster("VI_2", why, T0),)  # VI_3 stopped: left alone
    views = {"VI_1": view(State.BACKUP), "VI_2": view(State.MASTER), "VI_3": view(State.MASTER, resigning=True)}
    out = sup.on_transition("VI_1", cfg.instances["VI_1"], views["VI_1"], State.MASTER, State.BACKUP, "higher", False, views, False, T0)
    why = "sync group G: VI_1 MASTER -> BACKUP"
    assert [d for d in out if isinstance(d, Forced)][0].decisions == (SyncBackup("VI_2", why, T0),)  # a resigning master is left


def test_a_forced_transition_forces_nothing_back_and_a_stopping_daemon_forces_nothing():
    sup, cfg = group3()
    views = {"VI_1": view(State.FAULT), "VI_2": view(State.BACKUP), "VI_3": view(State.BACKUP)}
    args = ("VI_1", cfg.instances["VI_1"], views["VI_1"], State.BACKUP, State.FAULT, "x", False, views)
    with sup.forcing():
        assert not any(isinstance(d, Forced) for d in sup.on_transition(*args, False, T0))
    assert any(isinstance(d, Forced) for d in sup.on_transition(*args, False, T0))
    assert not any(isinstance(d, Forced) for d in sup.on_transition(*args, True, T0))


def test_outside_a_group_nothing_is_forced_and_no_group_is_checked():
    sup = supervised(conf(("VI_1", "VI_2")))
    views = {"VI_1": view(State.FAULT), "VI_2": view(State.BACKUP)}
    out = sup.on_transition("VI_1", sup.cfg.instances["VI_1"], views["VI_1"], State.BACKUP, State.FAULT, "x", False, views, False, T0)
    assert kinds(out) == ["FifoLine"]


# ---------------------------------------------------------------- sync groups: start rule and can_goto_master

@pytest.mark.parametrize("members, modes, mixed", [
    # every member `state MASTER` + `priority 255`: the group starts MASTER, owners at once
    ([("A", "MASTER", 255, "MASTER", 255), ("B", "MASTER", 255, "MASTER", 255)], {"A": "auto", "B": "auto"}, False),
    # one member not an owner: BACKUP group, and every member wanting MASTER is made to want BACKUP
    ([("A", "MASTER", 255, "MASTER", 255), ("B", "MASTER", None, "MASTER", 100)], {"A": "backup", "B": "backup"}, False),
    # owners wanting BACKUP after an owner wanting MASTER: keepalived warns
    ([("A", "MASTER", 255, "MASTER", 255), ("B", "BACKUP", 255, "BACKUP", 255)], {"A": "backup", "B": "backup"}, True),
    # priority 255 without state: wants MASTER but the group is BACKUP (no explicit state): one advert interval
    ([("A", None, 255, "MASTER", 255), ("B", None, 255, "MASTER", 255)], {"A": "short", "B": "short"}, False),
    ([("A", "BACKUP", None, "BACKUP", 100)], {"A": "backup"}, False),
])
def test_sync_start_rule(members, modes, mixed):
    assert sv.start_modes(members) == (modes, mixed)


def test_start_mode_outside_a_group_follows_the_wanted_state():
    cfg = conf(("VI_1", "VI_2"), extra="")
    cfg.instances["VI_1"].state = "MASTER"
    assert [sv.start_mode(cfg, n) for n in ("VI_1", "VI_2")] == ["auto", "backup"]
    cfg.extensions["sync_start"] = {"VI_2": "short"}
    assert sv.start_mode(cfg, "VI_2") == "short"


def test_start_logs_why_a_group_member_starts_in_backup():
    sup, cfg = group3()
    out = sup.on_start("VI_1", cfg.instances["VI_1"], ev(), view(State.INIT), True, "eth0", "short", T0)
    assert out[1] == Log("info", "(VI_1) Entering BACKUP STATE (init): sync group G starts in BACKUP, state MASTER: one advert interval")
    assert out[2:] == [StartMachine("VI_1", T0), AfterStart("VI_1", T0)]


def test_can_goto_master_waits_for_every_member_to_want_master():
    sup, _cfg = group3()
    views = {"VI_1": view(wants_master=True), "VI_2": view(State.MASTER), "VI_3": view()}
    ok, why = sup.can_goto_master("VI_1", views)
    assert not ok and why == "VI_1: sync group G: not going MASTER, VI_3 does not want MASTER (as keepalived)"
    views["VI_3"] = view(wants_master=True)
    assert sup.can_goto_master("VI_1", views) == (True, "")
    views["VI_3"] = view(State.STOPPED, forced_stop=True)  # stopped by the daemon: not asked
    assert sup.can_goto_master("VI_1", views) == (True, "")
    views["VI_3"] = view(State.INIT, has_machine=False)
    assert not sup.can_goto_master("VI_1", views)[0]
    # a group that is MASTER already lets a member follow at once
    views = {"VI_1": view(State.MASTER), "VI_2": view(State.MASTER), "VI_3": view(State.MASTER)}
    assert sup.can_goto_master("VI_1", views) == (True, "")
    assert supervised(conf()).can_goto_master("VI_1", {"VI_1": view()}) == (True, "")


def test_group_state():
    sup, cfg = group3()
    g = cfg.sync_groups["G"]
    assert sv.group_state(g, {n: view(State.MASTER) for n in g.instances}) == "MASTER"
    assert sv.group_state(g, {"VI_1": view(State.MASTER), "VI_2": view(State.FAULT)}) == "FAULT"
    assert sv.group_state(g, {n: view(State.STOPPED) for n in g.instances}) == "STOPPED"
    assert sv.group_state(g, {"VI_1": view(State.MASTER), "VI_2": view(State.BACKUP)}) == "BACKUP"
    assert sv.group_state(g, {}) == "BACKUP"


# ---------------------------------------------------------------- notifications and their order

HOOKS = ("    notify_master /bin/m\n    notify_backup /bin/b\n    notify_fault /bin/f\n    notify_stop /bin/s\n"
         "    notify /bin/n\n    smtp_alert\n")


def test_instance_then_mail_then_forced_then_group_notifications_in_keepalived_order():
    sup, cfg = group3(extra=HOOKS, group_extra=HOOKS)
    inst, g = cfg.instances["VI_1"], cfg.sync_groups["G"]
    views = {"VI_1": view(State.MASTER, priority=90), "VI_2": view(State.BACKUP), "VI_3": view(State.BACKUP)}
    out = sup.on_transition("VI_1", inst, views["VI_1"], State.BACKUP, State.MASTER, "timer", False, views, False, T0)
    assert out[:4] == [RunHook("VI_1", inst, "notify_master", "/bin/m"),
                       RunHook("VI_1", inst, "notify", "/bin/n", ("INSTANCE", "VI_1", "MASTER", 90)),
                       FifoLine("INSTANCE", "VI_1", "MASTER", 90),
                       Mail("INSTANCE", "VI_1", "BACKUP", "MASTER", 90, "timer")]
    assert kinds(out[4:]) == ["Forced", "CheckGroup"] and out[5] == CheckGroup("G", "timer")
    apply(views, out)
    out = sup.check_group("G", "timer", views)
    assert out == [Log("info", "sync group G: MASTER"), RunHook("group G", g, "notify_master", "/bin/m"),
                   RunHook("group G", g, "notify", "/bin/n", ("GROUP", "G", "MASTER", 0)), FifoLine("GROUP", "G", "MASTER", 0),
                   Mail("GROUP", "G", "INIT", "MASTER", 0, "timer")]
    assert sup.group_states == {"G": "MASTER"}
    assert sup.check_group("G", "again", views) == []  # no move, no notification


def test_a_reload_keeps_the_groups_last_state():
    sup, cfg = group3()
    sup.check_group("G", "x", {n: view(State.MASTER) for n in cfg.sync_groups["G"].instances})
    sup.configure(cfg)
    assert sup.group_states == {"G": "MASTER"}
    sup.configure(conf())
    assert sup.group_states == {}


def test_removed_instance_notifies_deleted_or_fault_never_stop():
    plain = supervised(conf(extra=HOOKS)).cfg.instances["VI_1"]
    sup = supervised(conf(extra=HOOKS))
    stopped = view(State.STOPPED, forced_stop=True)
    out = sup.on_transition("VI_1", plain, stopped, State.MASTER, State.STOPPED, "removed", True, {}, False, T0)
    assert [d.hook for d in out if isinstance(d, RunHook)] == ["notify_fault", "notify"]
    assert sup.on_transition("VI_1", plain, stopped, State.FAULT, State.STOPPED, "removed", True, {}, False, T0) == []
    deleted = conf(extra=HOOKS + "    notify_deleted /bin/d\n").instances["VI_1"]
    out = sup.on_transition("VI_1", deleted, stopped, State.FAULT, State.STOPPED, "removed", True, {}, False, T0)
    assert [(d.hook, d.command) for d in out if isinstance(d, RunHook)] == [("notify_deleted", "/bin/d"), ("notify", "/bin/n")]
    out = sup.on_transition("VI_1", plain, stopped, State.MASTER, State.STOPPED, "stopped", False, {}, False, T0)
    assert out[0] == RunHook("VI_1", plain, "notify_stop", "/bin/s")


def test_priority_changes_are_notified_as_configured():
    off = conf()
    assert not supervised(off).priority_changes_notified("VI_1", off.instances["VI_1"])
    glob = conf(head="global_defs {\n    vrrp_notify_priority_changes\n}\n")
    assert supervised(glob).priority_changes_notified("VI_1", glob.instances["VI_1"])
    grp = conf(("VI_1",), group="G", group_extra="    notify_priority_changes\n")
    sup = supervised(grp)
    assert sup.priority_changes_notified("VI_1", grp.instances["VI_1"])
    out = sup.on_tracking("VI_1", grp.instances["VI_1"], ev(70), view(), {"VI_1": view()}, False, T0)
    assert out[0] == SetPriority("VI_1", 70, T0, True)
    inst_off = conf(("VI_1",), group="G", group_extra="    notify_priority_changes\n", extra="    notify_priority_changes false\n")
    assert not supervised(inst_off).priority_changes_notified("VI_1", inst_off.instances["VI_1"])
    assert sv.priority_notice(State.MASTER) == "MASTER_PRIORITY" and sv.priority_notice(State.BACKUP) == "BACKUP_PRIORITY"


def test_rx_lower_pri_runs_its_hook_then_the_fifo_line():
    inst = conf(extra="    notify_master_rx_lower_pri /bin/rx\n").instances["VI_1"]
    assert Supervisor.rx_lower_pri_notices("VI_1", inst, 100) == [
        RunHook("VI_1", inst, "notify_master_rx_lower_pri", "/bin/rx"), FifoLine("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 100)]
    assert Supervisor.rx_lower_pri_notices("VI_1", conf().instances["VI_1"], 5) == [FifoLine("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 5)]


# ---------------------------------------------------------------- purity

def test_the_supervisor_imports_nothing_that_does_io():
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(sv))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    assert names <= {"__future__", "contextlib", "dataclasses", "typing", ".machine"}, names
