# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine.on_repeat() (issue 11): a repeated advert answered without deciding again must leave the machine exactly
as on_advert() would. Two machines get the same random events (adverts from a few senders, timers, priority
changes, maintenance, faults, resignation, a reconfiguration); one tries on_repeat() first for every advert, the
other never does; after each event both must hold the same state and have returned the same actions."""
from __future__ import annotations

import dataclasses

from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, State

A, B, C = "198.51.100.1", "198.51.100.2", "198.51.100.3"
T0 = 1000.0

EVENT = st.one_of(
    st.tuples(st.just("advert"), st.sampled_from([B, C]), st.sampled_from([0, 50, 100, 150, 254]), st.sampled_from([10, 50, 100])),
    # the common case, the same advert again: from a higher and from a lower priority master (preempt, its delay)
    st.tuples(st.just("advert"), st.just(B), st.sampled_from([150, 50]), st.just(100)),
    st.tuples(st.just("timer")),
    st.tuples(st.just("priority"), st.sampled_from([60, 100, 160, 200])),
    st.tuples(st.just("maintenance"), st.booleans()),
    st.tuples(st.just("fault")),
    st.tuples(st.just("recover")),
    st.tuples(st.just("resign")),
    st.tuples(st.just("reconfigure"), st.sampled_from([0.5, 1.0]), st.booleans()),
    st.tuples(st.just("delayed_start"), st.floats(0, 5)),
)


def _state(mach):
    return dict((k, v) for k, v in vars(mach).items() if k not in ("_followed", "params", "group_gate"))


def _apply(mach, event, now, repeat_first):
    kind = event[0]
    if kind == "advert":
        src, prio, interval_cs = event[1:]
        if repeat_first and mach.on_repeat(now, src, prio, interval_cs):
            return "repeat", []
        return "decided", mach.on_advert(now, src, prio, interval_cs)
    if kind == "timer":
        return "", mach.on_timer(mach.next_deadline if mach.next_deadline is not None else now)
    if kind == "priority":
        return "", mach.set_priority(now, event[1])
    if kind == "maintenance":
        return "", mach.set_maintenance(now, event[1])
    if kind == "fault":
        return "", mach.fault(now, "test")
    if kind == "recover":
        return "", mach.recover(now)
    if kind == "resign":
        return "", mach.resign(now)
    if kind == "reconfigure":
        params = dataclasses.replace(mach.params, advert_int=event[1], preempt=event[2])
        return "", mach.reconfigure(now, params)
    mach.delayed_start = now + event[1]
    return "", []


@settings(max_examples=400, deadline=None)
@given(events=st.lists(st.tuples(EVENT, st.floats(0.0, 2.0)), max_size=40),
       version=st.sampled_from([2, 3]), preempt=st.booleans(), preempt_delay=st.sampled_from([0.0, 0.0, 1.5]))
def test_on_repeat_leaves_the_machine_as_on_advert_would(events, version, preempt, preempt_delay):
    params = Params(vrid=51, priority=100, advert_int=1.0, version=version, primary_ip=A, preempt=preempt,
                    preempt_delay=preempt_delay)
    fast, slow = Machine(params), Machine(dataclasses.replace(params))
    now = T0
    fast.start(now)
    slow.start(now)
    for event, step in events:
        now += step
        if event[0] == "timer":  # both at the same instant: the deadline of the reference machine
            now = max(now, slow.next_deadline or now)
        how, got = _apply(fast, event, now, repeat_first=True)
        want = _apply(slow, event, now, repeat_first=False)[1]
        assert got == want, (event, how)
        assert _state(fast) == _state(slow), (event, how)


def test_a_steady_backup_answers_the_same_advert_without_deciding_again():
    mach = Machine(Params(vrid=51, priority=100, advert_int=1.0, version=2, primary_ip=A))
    mach.start(T0)
    assert not mach.on_repeat(T0 + 1, B, 150, 100)  # nothing followed yet
    assert mach.on_advert(T0 + 1, B, 150, 100) == []
    assert mach.on_repeat(T0 + 2, B, 150, 100)
    assert mach.next_deadline == T0 + 2 + mach.master_down_interval and mach.state == State.BACKUP
    # another sender, priority or interval, or a change to what the rule reads: decided again
    assert not mach.on_repeat(T0 + 3, C, 150, 100)
    assert not mach.on_repeat(T0 + 3, B, 151, 100)
    mach.set_priority(T0 + 3, 200)
    assert not mach.on_repeat(T0 + 3, B, 150, 100)
    assert mach.next_deadline == T0 + 2 + mach.master_down_interval  # untouched by the refusals


def test_no_repeat_while_a_preempt_delay_runs():
    """With preempt_delay, following a lower-priority master ends when the delay does: that is decided each time."""
    mach = Machine(Params(vrid=51, priority=100, advert_int=1.0, version=2, primary_ip=A, preempt_delay=1.5))
    mach.start(T0)
    mach.on_advert(T0 + 0.5, B, 50, 100)  # followed while the delay runs
    assert not mach.on_repeat(T0 + 3, B, 50, 100)
    mach.on_advert(T0 + 3, B, 50, 100)  # the delay is over: preempt, the down timer is not restarted
    assert mach.next_deadline == T0 + 0.5 + mach.master_down_interval


def test_no_repeat_while_the_startup_delay_runs_or_in_maintenance():
    mach = Machine(Params(vrid=51, priority=100, advert_int=1.0, version=2, primary_ip=A))
    mach.delayed_start = T0 + 10
    mach.start(T0)
    mach.on_advert(T0 + 1, B, 150, 100)
    assert not mach.on_repeat(T0 + 11, B, 150, 100)  # deadlines counted from the end of the delay, not from now
    mach.set_maintenance(T0 + 12, True)
    mach.on_advert(T0 + 12, B, 150, 100)
    assert not mach.on_repeat(T0 + 13, B, 150, 100) and mach.next_deadline is None
