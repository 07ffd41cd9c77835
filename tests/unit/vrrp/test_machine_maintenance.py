# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance in vrrp/machine.py on the injected clock: a make-before-break handover that ends in BACKUP,
and "never take over while in maintenance" whatever the instance hears or does not hear."""
from __future__ import annotations

from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import (
    AddVips, Machine, Params, RemoveVips, SendAdvert, State, Transition)

A, B = "198.51.100.1", "198.51.100.2"
T0 = 1000.0


def mk(priority=100, **kw):
    return Machine(Params(vrid=51, priority=priority, advert_int=1.0, version=2, primary_ip=A, **kw))


def master(priority=100):
    mach = mk(priority)
    mach.start(T0 - 10)
    mach.on_timer(mach.next_deadline)
    assert mach.state == State.MASTER
    return mach


def test_master_hands_over_make_before_break_and_stays_backup():
    mach = master(150)
    acts = mach.set_maintenance(T0, True)
    assert acts == [SendAdvert(0)]                       # priority 0: backups take over after Skew_Time
    assert mach.state == State.MASTER and mach.resigning  # VIPs kept until the new master speaks
    assert mach.on_advert(T0 + 0.4, B, 0, 100) == []     # another resigning router is no new master
    acts = mach.on_advert(T0 + 0.5, B, 100, 100)
    assert acts[0] == RemoveVips() and acts[-1] == Transition(State.MASTER, State.BACKUP, acts[-1].reason)
    assert "maintenance" in acts[-1].reason and B in acts[-1].reason
    assert mach.state == State.BACKUP and mach.master_ip == B and mach.next_deadline is None
    # a lower master is not preempted, silence is not a takeover, a resignation is not either
    assert mach.on_advert(T0 + 1, B, 50, 100) == [] and mach.next_deadline is None
    assert mach.on_timer(T0 + 3600) == []
    assert mach.on_advert(T0 + 3601, B, 0, 100) == [] and mach.on_timer(T0 + 3700) == []
    assert mach.state == State.BACKUP


def test_handover_without_any_other_router_ends_in_backup_after_master_down_interval():
    mach = master()
    mach.set_maintenance(T0, True)
    mdi = mach.master_down_interval
    assert mach.on_timer(T0 + mdi - 0.01) == []
    acts = mach.on_timer(T0 + mdi)
    assert acts[0] == RemoveVips() and mach.state == State.BACKUP
    assert mach.on_timer(T0 + 10 * mdi) == [] and mach.state == State.BACKUP


def test_backup_in_maintenance_never_takes_over_and_off_restarts_the_timer():
    mach = mk(200)
    mach.start(T0)
    mach.on_advert(T0 + 0.1, B, 100, 100)                # a lower master: preempt would take over
    assert mach.set_maintenance(T0 + 0.2, True) == []
    assert mach.next_deadline is None and mach.on_timer(T0 + 100) == []
    assert mach.set_maintenance(T0 + 100, True) == []    # idempotent
    assert mach.set_maintenance(T0 + 100, False) == []
    assert mach.next_deadline == T0 + 100 + mach.master_down_interval
    acts = mach.on_timer(mach.next_deadline)             # preempts the lower master as usual
    assert AddVips() in acts and mach.state == State.MASTER


def test_owner_starts_and_recovers_in_backup_while_in_maintenance():
    mach = mk(255)
    mach.set_maintenance(T0, True)
    assert mach.start(T0)[-1].new == State.BACKUP and mach.next_deadline is None
    mach.fault(T0 + 1, "link down")
    assert mach.recover(T0 + 2)[-1].new == State.BACKUP and mach.next_deadline is None
    mach.reconfigure(T0 + 3, mach.params)
    assert mach.state == State.BACKUP
    assert mach.sync_master(T0 + 4, "group peer became master") == []
    mach.set_maintenance(T0 + 5, False)
    assert mach.state == State.BACKUP and mach.next_deadline is not None


def test_stop_during_a_handover_ends_in_stopped():
    mach = master()
    mach.set_maintenance(T0, True)
    assert mach.resign(T0 + 0.1) == []                   # the priority-0 advert already went out
    acts = mach.on_advert(T0 + 0.5, B, 100, 100)
    assert acts[-1].new == State.STOPPED and acts[-1].reason.startswith("resigned:")


def test_maintenance_off_during_a_handover_finishes_it_in_backup_with_a_timer():
    mach = master()
    mach.set_maintenance(T0, True)
    mach.set_maintenance(T0 + 0.1, False)
    acts = mach.on_advert(T0 + 0.5, B, 100, 100)
    assert acts[-1].new == State.BACKUP and mach.next_deadline is not None
    assert not mach.maintenance


def test_sigterm_resign_still_ends_in_stopped():
    mach = master()
    assert mach.resign(T0) == [SendAdvert(0)]
    acts = mach.on_advert(T0 + 0.5, B, 100, 100)
    assert acts[-1].new == State.STOPPED


def test_takeover_from_a_silent_master_keeps_keepalived_order():
    mach = mk(100)
    mach.start(T0)
    mach.on_advert(T0 + 0.1, B, 200, 100)
    acts = mach.on_timer(mach.next_deadline)             # B went silent: nobody to hand over from
    assert acts[:3] == [AddVips(), SendAdvert(100), acts[2]] and mach.state == State.MASTER
