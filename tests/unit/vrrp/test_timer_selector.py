# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event loop's timerfd (issue 11; timer_selector.py): a timed wait arms the timerfd at its deadline, never
earlier, and the timerfd never reaches asyncio as an event. The arming rule is checked with an injected clock and
a recording timerfd; the real timerfd only for what it does (it expires, it is closed), never for how fast."""
from __future__ import annotations

import asyncio
import math
import os
import selectors
import socket
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import timer_selector as ts


class RecordingTimerfd:
    """The timerfd calls, recorded; the fd is a real one (a pipe's read end) so that epoll can hold it."""

    def __init__(self, fail_settime: bool = False):
        self.deadlines = []
        self.fail_settime = fail_settime
        self.fds = []

    def create(self) -> int:
        r, w = os.pipe()
        self.fds += [r, w]
        return r

    def settime_ns(self, fd, deadline_ns):
        if self.fail_settime:
            raise OSError(22, "timerfd_settime")
        self.deadlines.append(deadline_ns)

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def ready():
    """A selector with one readable socket registered, so a wait returns at once whatever its timeout."""
    made = []

    def make(api, clock):
        sel = ts.TimerfdSelector(api=api, clock=clock)
        a, b = socket.socketpair()
        b.send(b"x")
        sel.register(a, selectors.EVENT_READ, "data")
        made.append((sel, a, b, api))
        return sel

    yield make
    for sel, a, b, api in made:
        sel.close()
        a.close()
        b.close()
        api.close()


def test_a_wait_for_an_on_time_deadline_arms_the_timerfd_at_it_once(ready):
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ready(api, clock)
    sel.want(1003.6)
    events = sel.select(3.6)
    assert [key.data for key, _mask in events] == ["data"]
    assert api.deadlines == [math.ceil(1003.6 * 1e9)]
    clock.t = 1001.0
    sel.select(2.6)  # the same deadline, asked again after an I/O wakeup: already armed
    assert len(api.deadlines) == 1
    sel.want(1002.0)
    sel.select(1.0)  # an earlier one
    assert api.deadlines[1:] == [math.ceil(1002.0 * 1e9)]


def test_an_armed_expiry_a_little_after_the_deadline_is_kept_and_one_before_it_is_not(ready):
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ready(api, clock)
    sel.want(1001.0)
    sel.select(1.0)
    sel.select(1.0 - 10e-6)  # the armed expiry is 10 us after this deadline: within SAME_DEADLINE, kept
    assert len(api.deadlines) == 1
    sel.select(1.0 + 10e-6)  # it would wake the loop 10 us early: armed again
    assert api.deadlines[-1] == math.ceil((1001.0 + 10e-6) * 1e9)


def test_an_on_time_deadline_that_epoll_could_overshoot_arms_the_timerfd_at_the_earlier_timer(ready):
    """The loop's next timer is at +1 s (an advert); an on-time one 1.5 ms after it: epoll may end the wait 2 ms
    late, so the timerfd wakes the loop at +1 s, and the next wait is for the on-time deadline itself."""
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ready(api, clock)
    sel.want(1001.0015)
    sel.select(1.0)
    assert api.deadlines == [math.ceil(1001.0 * 1e9)]


def test_waits_that_epoll_ends_before_every_on_time_deadline_are_asyncios_own(ready):
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ready(api, clock)
    sel.select(1.0)  # nothing wanted: a master's advert
    sel.want(1003.6)
    sel.select(1.0)  # epoll ends this one by 1001.0031, long before 1003.6
    for timeout in (None, 0, -1.0, 0.0):
        sel.select(timeout)
    assert api.deadlines == []


def test_past_on_time_deadlines_are_forgotten_and_an_expired_one_asked_again_is_armed_again(ready):
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ready(api, clock)
    sel.want(1001.0)
    sel.select(1.0)
    clock.t = 1001.001  # it expired
    sel.want(1002.0)
    sel.select(1.0)
    assert len(api.deadlines) == 2 and sel.wanted == [1002.0]
    for i in range(ts.MAX_WANTED + 1):  # a storm of re-arms keeps the earliest
        sel.want(2000.0 + i)
    assert len(sel.wanted) <= ts.MAX_WANTED and sel.wanted[0] == 1002.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5, allow_nan=False),
                          st.lists(st.floats(0, 10, allow_nan=False), max_size=3),
                          st.one_of(st.none(), st.floats(-1, 10, allow_nan=False))),
                min_size=1, max_size=30))
def test_no_on_time_deadline_is_left_to_epolls_rounding(steps):
    """Whatever the sequence (time moving on, deadlines wanted ahead, waits shorter, equal or longer, expired): after
    each timed wait, either epoll ends it (slack and rounding included) before every on-time deadline still ahead,
    or the timerfd is set no earlier than the wait's deadline and at most SAME_DEADLINE after it."""
    api, clock = RecordingTimerfd(), Clock(1000.0)
    sel = ts.TimerfdSelector(api=api, clock=clock)
    a, b = socket.socketpair()
    live = []
    try:
        b.send(b"x")
        sel.register(a, selectors.EVENT_READ)
        for advance, ahead, timeout in steps:
            clock.t += advance
            for offset in ahead:
                sel.want(clock.t + offset)
                live.append(clock.t + offset)
            calls = len(api.deadlines)
            sel.select(timeout)
            if timeout is None or timeout <= 0:
                assert len(api.deadlines) == calls
                continue
            wanted = clock.t + timeout
            pending = [w for w in live if w >= clock.t - ts.SAME_DEADLINE]
            epoll_end = wanted + ts.EPOLL_LATE + timeout * ts.EPOLL_SLACK
            if pending and min(pending) <= epoll_end:
                assert wanted - 1e-6 <= sel.armed <= wanted + ts.SAME_DEADLINE + 1e-6
                assert api.deadlines and wanted - 1e-6 <= api.deadlines[-1] / 1e9 <= wanted + ts.SAME_DEADLINE + 1e-6
            else:
                assert len(api.deadlines) == calls  # nothing on time in reach: no settime call
    finally:
        sel.close()
        a.close()
        b.close()
        api.close()


def test_a_failing_timerfd_is_dropped_and_the_wait_goes_on_with_epoll_alone(ready):
    api = RecordingTimerfd(fail_settime=True)
    sel = ready(api, Clock(1000.0))
    sel.want(1001.0)
    assert [key.data for key, _mask in sel.select(1.0)] == ["data"]
    assert sel.tfd is None
    assert [key.data for key, _mask in sel.select(1.0)] == ["data"]


def test_the_real_timerfd_expires_by_the_deadline_and_is_no_asyncio_event():
    if ts.timerfd_api() is None:
        pytest.fail("no timerfd on this Linux test machine")
    sel = ts.TimerfdSelector()
    try:
        start = time.monotonic()
        sel.want(start + 0.02)
        assert sel.select(0.02) == []  # nothing registered: only the timerfd (or the backstop) can end the wait
        assert time.monotonic() >= start + 0.02  # never early: asyncio would only wait again
        assert int.from_bytes(os.read(sel.tfd, 8), sys.byteorder) == 1  # it expired once
    finally:
        tfd = sel.tfd
        sel.close()
    with pytest.raises(OSError):
        os.fstat(tfd)  # closed with the selector


def test_without_a_timerfd_the_loop_is_asyncios_own():
    def broken():
        raise OSError("no timerfd")

    loop = ts.loop_factory(broken)
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert not isinstance(getattr(loop, "_selector", None), ts.TimerfdSelector)
    finally:
        loop.close()
    with pytest.raises(OSError):
        ts.TimerfdSelector(api=_NoTimerfd())


class _NoTimerfd:
    def create(self):
        raise OSError(38, "timerfd_create")


@pytest.mark.skipif(not hasattr(asyncio, "Runner"), reason="Python < 3.11 runs asyncio's own loop (asyncio.run)")
def test_run_gives_the_daemon_a_timerfd_loop_that_runs_timers_and_subprocesses():
    async def main():
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        ts.call_on_time(loop, loop.time() + 0.01, fired.set_result, "timer")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "print('child')", stdout=asyncio.subprocess.PIPE)
        out, _err = await proc.communicate()
        return type(loop._selector).__name__, await fired, out.strip()

    assert ts.run(main()) == ("TimerfdSelector", "timer", b"child")


def test_the_status_names_what_wakes_the_timers():
    if ts.timerfd_api() is None:
        pytest.fail("no timerfd on this Linux test machine")
    loop = ts.loop_factory()
    try:
        assert ts.kind(loop) == "timerfd"
        loop.timerfd_selector._drop_timerfd()  # a timerfd that failed
        assert ts.kind(loop) == "epoll"
    finally:
        loop.close()
    plain = ts.loop_factory(_NoTimerfd().create)
    try:
        assert ts.kind(plain) == "epoll"
    finally:
        plain.close()
