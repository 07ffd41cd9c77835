# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11 (idle CPU): a master's adverts are phase-locked (machine.py) and the masters due at one instant share
one loop timer (beat.py). Injected clocks only: the rules are checked, not measured."""
from __future__ import annotations

import logging

from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import beat
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, SendAdvert, State
from tests.unit.vrrp.test_scale import FakeLoop  # the injected loop the daemon tests share

T0 = 1000.0


def live(loop):
    return [h for h in loop.handles if not h.cancelled_]


def run(loop):
    """Every handle, in time order (ties in the order they were made), those added meanwhile included."""
    loop.run_until(T0 + 60)


def test_members_due_at_one_instant_share_one_loop_handle_and_run_in_joining_order():
    loop, ran = FakeLoop(), []
    beats = beat.Beats(loop)
    for name in "abc":
        beats.call_at(T0 + 1, lambda name=name: ran.append(name))
    beats.call_at(T0 + 2, lambda: ran.append("d"))
    assert len(live(loop)) == 2 and beats.pending() == 4
    run(loop)
    assert ran == ["a", "b", "c", "d"] and beats.pending() == 0 and beats.slots == {}


def test_the_last_member_to_leave_cancels_the_loop_handle_and_cancel_after_running_is_harmless():
    loop, ran = FakeLoop(), []
    beats = beat.Beats(loop)
    a = beats.call_at(T0 + 1, lambda: ran.append("a"))
    b = beats.call_at(T0 + 1, lambda: ran.append("b"))
    a.cancel()
    assert len(live(loop)) == 1 and a.cancelled() and not b.cancelled() and b.when() == T0 + 1
    b.cancel()
    assert live(loop) == [] and beats.slots == {}
    c = beats.call_at(T0 + 1, lambda: ran.append("c"))
    run(loop)
    c.cancel()  # after it ran: nothing happens
    assert ran == ["c"] and beats.slots == {}


def test_a_member_cancelled_by_one_due_before_it_does_not_run():
    loop, ran = FakeLoop(), []
    beats = beat.Beats(loop)
    members = {}
    members["a"] = beats.call_at(T0 + 1, lambda: (ran.append("a"), members["b"].cancel()))  # a sync group's peer, say
    members["b"] = beats.call_at(T0 + 1, lambda: ran.append("b"))
    members["c"] = beats.call_at(T0 + 1, lambda: ran.append("c"))
    run(loop)
    assert ran == ["a", "c"]


def test_a_member_that_joins_the_running_instant_runs_in_a_later_pass():
    loop, ran = FakeLoop(), []
    beats = beat.Beats(loop)
    beats.call_at(T0 + 1, lambda: (ran.append("a"), beats.call_at(T0 + 1, lambda: ran.append("late"))))
    run(loop)
    assert ran == ["a", "late"]


def test_a_callback_that_raises_is_logged_and_the_others_still_run(caplog):
    loop, ran = FakeLoop(), []
    beats = beat.Beats(loop)

    def boom():
        raise RuntimeError("boom")
    beats.call_at(T0 + 1, lambda: ran.append("a"))
    beats.call_at(T0 + 1, boom)
    beats.call_at(T0 + 1, lambda: ran.append("c"))
    with caplog.at_level(logging.ERROR, logger="vipd"):
        run(loop)
    assert ran == ["a", "c"]
    assert any("boom" in (r.exc_text or "") or "failed" in r.getMessage() for r in caplog.records)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "cancel"]), st.integers(0, 4), st.integers(0, 30)), max_size=60))
def test_every_member_not_cancelled_runs_once_at_its_instant_and_no_loop_handle_is_left_idle(ops):
    loop = FakeLoop()
    beats = beat.Beats(loop)
    members, ran = [], []

    def cb(i):
        ran.append((i, members[i].when()))
    for op, at, pick in ops:
        if op == "add":
            members.append(beats.call_at(T0 + at, lambda i=len(members): cb(i)))
        elif members:
            members[pick % len(members)].cancel()
        # one loop handle per instant that has members waiting, and none for an instant without
        assert len(live(loop)) == len(beats.slots) == len(set(m.when() for m in members if not m.cancelled()))
    waiting = [i for i, m in enumerate(members) if not m.cancelled()]
    run(loop)
    assert sorted(i for i, _at in ran) == waiting  # each once; the cancelled never
    assert [at for _i, at in ran] == sorted(at for _i, at in ran)  # in time order
    assert beats.slots == {} and live(loop) == []


# ---- the master's phase-locked adverts (machine.py) ------------------------------------------------------------

def _master(advert_int):
    mach = Machine(Params(vrid=51, priority=100, advert_int=advert_int, version=3, primary_ip="198.51.100.1"))
    mach.start(T0 - 10)
    mach.on_timer(mach.next_deadline)
    assert mach.state == State.MASTER
    mach.next_deadline = T0
    return mach


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([0.01, 0.1, 1.0]), st.lists(st.floats(0.0, 0.95), min_size=1, max_size=200))
def test_late_wakeups_do_not_delay_a_masters_later_adverts(interval, lateness):
    """Woken late by less than an interval, the k-th advert is still due at T0 + k x interval: the rate stays the
    configured one (counted from the wakeup, as keepalived does, every late wakeup pushed all later adverts back)."""
    mach = _master(interval)
    for k, late in enumerate(lateness):
        due = mach.next_deadline
        assert abs(due - (T0 + k * interval)) < 1e-6
        assert mach.on_timer(due + late * interval) == [SendAdvert(100)]
    assert abs(mach.next_deadline - (T0 + len(lateness) * interval)) < 1e-6


def test_after_a_stall_of_an_interval_or_more_the_next_advert_is_one_interval_from_now_not_a_burst():
    mach = _master(1.0)
    assert mach.on_timer(T0 + 3.5) == [SendAdvert(100)]  # the process was stopped for 3.5 s
    assert mach.next_deadline == T0 + 4.5  # not T0 + 1 (three adverts at once to catch up)
    assert mach.on_timer(T0 + 4.5) == [SendAdvert(100)]
    assert mach.next_deadline == T0 + 5.5
    assert mach.on_timer(T0 + 6.5) == [SendAdvert(100)]  # exactly one interval late: from now as well
    assert mach.next_deadline == T0 + 7.5


def test_masters_that_share_a_deadline_keep_sharing_it_to_the_bit():
    """The shared timer groups masters by their exact deadline: the same arithmetic on the same inputs."""
    a, b = _master(0.1), _master(0.1)
    for late in (0.0, 0.003, 0.0001, 0.05, 0.0):
        now = a.next_deadline + late
        a.on_timer(now)
        b.on_timer(now + 0.0002)  # the second runs a little after the first in the same pass
        assert a.next_deadline == b.next_deadline
