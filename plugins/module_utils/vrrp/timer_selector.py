# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Timers that decide elections run on time: a timerfd wakes asyncio's epoll at their deadline, as keepalived does.

asyncio waits for its next timer with epoll_wait(), whose timeout is whole milliseconds rounded up, and the
kernel lets a sleeper of a normal task oversleep by 0.1 % of its timeout (select_estimate_accuracy()). A backup's
Master_Down timer, a wait of about 3.6 s at advert_int 1, thus ran 4-5 ms late: more than one step of priority
in Skew_Time (3.9 ms in VRRPv2), part of every takeover's time, and a lateness that max_auto_priority would take
for a starved process. keepalived 2.2.7 arms a CLOCK_MONOTONIC timerfd at its next deadline and watches it in
its epoll set; a timerfd expires on time (no slack range), so its timers run within the VM's wakeup latency
(about 0.2 ms here).

TimerfdSelector is asyncio's EpollSelector with such a timerfd in its epoll set, edge-triggered: each expiry is
reported once and needs no read. The deadlines that must be met on time are named with call_on_time() (a
backup's Master_Down timer, the GARP pacer; a master's adverts only under max_auto_priority): a wait that epoll
could end after one of them arms the timerfd at the wait's deadline (absolute, so asking again for the same one
costs nothing) and keeps epoll's own timeout a little beyond it as a backstop. Other waits are asyncio's own:
the timerfd costs about 30 us of CPU per wakeup on this VM (a settime call and the kernel's longer wakeup path),
which a master's advert timer, phase-locked and never cumulatively late, does not need (docs/benchmarks.md,
eleventh round). The loop's clock is time.monotonic(), which is CLOCK_MONOTONIC. Where there is no timerfd (no
Linux, no libc symbol, an epoll object this module does not know) or before Python 3.11 (no asyncio.Runner),
the daemon runs asyncio's own loop and call_on_time() is call_at().
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import heapq
import math
import os
import select
import selectors
import struct
import time
from typing import Callable, List, Optional

CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1
SAME_DEADLINE = 20e-6  # s: an armed expiry this much after the wanted deadline is kept (fewer settime calls)
BACKSTOP = 0.002  # s beyond the deadline (plus 0.2 % of the wait): epoll's own timeout, should the timerfd not fire
EPOLL_LATE = 0.0011  # s: how late epoll may end a wait besides its slack (the millisecond rounded up, 50 us)
EPOLL_SLACK = 1 / 500  # of a wait: the kernel's slack for a task of positive nice (0.1 % at nice <= 0)
MAX_WANTED = 4096  # on-time deadlines remembered; past that, the latest are forgotten (they only lose precision)

_ITIMERSPEC = struct.Struct("=4q")  # it_interval (sec, nsec), it_value (sec, nsec): 64-bit Linux


class _Libc:
    """timerfd_create / timerfd_settime through ctypes (Python < 3.13 has no os.timerfd_*). ctypes is loaded by the
    daemon anyway (daemon.release_memory)."""

    def __init__(self):
        import ctypes
        if ctypes.sizeof(ctypes.c_long) != 8:
            raise OSError("timerfd: 64-bit Linux only")
        libc = ctypes.CDLL(None, use_errno=True)
        self._ctypes = ctypes
        self._create, self._settime = libc.timerfd_create, libc.timerfd_settime
        self._spec = (ctypes.c_int64 * 4)()
        self._view = memoryview(self._spec).cast("B")

    def create(self) -> int:
        fd = self._create(CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(self._ctypes.get_errno(), "timerfd_create")
        return fd

    def settime_ns(self, fd: int, deadline_ns: int) -> None:
        _ITIMERSPEC.pack_into(self._view, 0, 0, 0, deadline_ns // 1000000000, deadline_ns % 1000000000)
        if self._settime(fd, TFD_TIMER_ABSTIME, self._spec, None) != 0:
            raise OSError(self._ctypes.get_errno(), "timerfd_settime")


class _Os:
    """Python 3.13's os.timerfd_create / os.timerfd_settime_ns."""

    @staticmethod
    def create() -> int:
        return os.timerfd_create(time.CLOCK_MONOTONIC, flags=os.TFD_NONBLOCK | os.TFD_CLOEXEC)  # pylint: disable=no-member

    @staticmethod
    def settime_ns(fd: int, deadline_ns: int) -> None:
        os.timerfd_settime_ns(fd, flags=os.TFD_TIMER_ABSTIME, initial=deadline_ns)  # pylint: disable=no-member


def timerfd_api():
    """The timerfd calls of this Python, or None where there are none."""
    if hasattr(os, "timerfd_settime_ns"):
        return _Os()
    try:
        return _Libc()
    except (ImportError, OSError, AttributeError):
        return None


class TimerfdSelector(selectors.EpollSelector):
    def __init__(self, api=None, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.api = api if api is not None else timerfd_api()
        self.clock = clock  # the loop's (asyncio: time.monotonic); injected by the tests
        self.armed = 0.0  # the deadline the timerfd is set for (monotonic seconds), 0: none ahead
        self.wanted: List[float] = []  # heap of deadlines to meet on time; cancelled ones stay until they pass
        self.tfd: Optional[int] = None
        epoll = getattr(self, "_selector", None)
        try:
            if self.api is None or not isinstance(epoll, select.epoll):
                raise OSError("no timerfd")
            self.tfd = self.api.create()
            epoll.register(self.tfd, select.EPOLLIN | select.EPOLLET)  # outside the key map: never an asyncio event
        except OSError:
            self.close()
            raise

    def want(self, when: float) -> None:
        """The loop has a timer at `when` that must run on time."""
        heapq.heappush(self.wanted, when)
        if len(self.wanted) > MAX_WANTED:
            self.wanted = heapq.nsmallest(MAX_WANTED // 2, self.wanted)  # sorted: still a heap

    def select(self, timeout=None):
        wanted = self.wanted
        if timeout is not None and timeout > 0 and wanted and self.tfd is not None:
            now = self.clock()
            while wanted and wanted[0] < now - SAME_DEADLINE:
                heapq.heappop(wanted)  # ran, or was cancelled
            deadline = now + timeout
            if not wanted or wanted[0] > deadline + EPOLL_LATE + timeout * EPOLL_SLACK:
                return super().select(timeout)  # epoll ends this wait before any on-time deadline
            if not deadline <= self.armed <= deadline + SAME_DEADLINE:  # (an expired one is before any deadline)
                try:
                    self.api.settime_ns(self.tfd, math.ceil(deadline * 1e9))
                    self.armed = deadline
                except OSError:  # not expected; asyncio's own timeouts from here on
                    self._drop_timerfd()
                    return super().select(timeout)
            timeout += BACKSTOP + timeout / 500
        return super().select(timeout)

    def _drop_timerfd(self) -> None:
        tfd, self.tfd, self.armed = self.tfd, None, 0.0
        if tfd is not None:
            try:
                self._selector.unregister(tfd)
            except (OSError, ValueError):
                pass  # never registered (a failed start)
            os.close(tfd)

    def close(self):
        self._drop_timerfd()
        super().close()


class TimerfdLoop(asyncio.SelectorEventLoop):
    """asyncio's loop on a TimerfdSelector."""

    def __init__(self, selector: TimerfdSelector):
        super().__init__(selector)
        self.timerfd_selector = selector

    def call_on_time(self, when: float, callback: Callable[..., object], *args) -> asyncio.TimerHandle:
        """call_at() for a deadline that must be met on time."""
        self.timerfd_selector.want(when)
        return self.call_at(when, callback, *args)


def call_on_time(loop, when: float, callback: Callable[..., object], *args):
    """loop.call_on_time() where the loop has it (TimerfdLoop), else loop.call_at()."""
    return getattr(loop, "call_on_time", loop.call_at)(when, callback, *args)


def kind(loop) -> str:
    """What wakes the loop's on-time timers, for the status: "timerfd", or "epoll" (asyncio's own timeouts)."""
    selector = getattr(loop, "timerfd_selector", None)
    return "timerfd" if selector is not None and selector.tfd is not None else "epoll"


def loop_factory(make_selector: Callable[[], TimerfdSelector] = TimerfdSelector) -> asyncio.AbstractEventLoop:
    """A loop whose on-time timers a timerfd wakes; asyncio's own loop where that cannot be had."""
    try:
        selector = make_selector()
    except OSError:
        return asyncio.new_event_loop()
    return TimerfdLoop(selector)


def run(main) -> object:
    """asyncio.run(main) on loop_factory()'s loop (asyncio.Runner, Python 3.11); asyncio.run on older Pythons."""
    runner = getattr(asyncio, "Runner", None)
    if runner is None:
        return asyncio.run(main)
    with runner(loop_factory=loop_factory) as r:
        return r.run(main)
