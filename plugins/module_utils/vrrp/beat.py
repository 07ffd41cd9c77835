# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One loop timer for every master due at the same instant (issue 11, idle CPU).

A master's advert deadlines are phase-locked (machine.py: one interval after the last was due, not after the
wakeup) and Daemon.align_master puts masters with the same interval on one phase, so 200 masters are due at
the same instant, to the bit. With a timer each, the event loop pushed and popped 200 handles on its heap every
interval, each step a Python-level comparison; that was a quarter to a third of a master's CPU (py-spy,
docs/benchmarks.md). Here they share one loop handle per distinct instant and run in the order they joined.

Beats.call_at returns a handle with the part of asyncio.TimerHandle's interface the daemon uses: cancel(),
cancelled(), when(). A callback that raises is logged and the others due with it still run, as with the loop's
own handles.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging
from typing import Callable, Dict, List, Optional

LOG = logging.getLogger("vipd")


class Member:
    """One callback on a beat."""

    __slots__ = ("beats", "at", "callback", "done")

    def __init__(self, beats: "Beats", at: float, callback: Callable[[], None]):
        self.beats, self.at, self.callback, self.done = beats, at, callback, False

    def when(self) -> float:
        return self.at

    def cancelled(self) -> bool:
        return self.done

    def cancel(self) -> None:
        """Harmless after it ran (as TimerHandle.cancel()); the last member to leave cancels the loop handle."""
        if not self.done:
            self.done = True
            self.beats.leave(self)


class Beats:
    """The shared timers of one event loop: an instant -> its loop handle and members."""

    def __init__(self, loop, call_at: Optional[Callable[..., object]] = None):
        self.loop = loop
        self.call_loop_at = call_at or loop.call_at  # timer_selector.call_on_time under max_auto_priority
        self.slots: Dict[float, list] = {}  # at -> [loop handle, {member: None}] (a dict keeps the joining order)

    def call_at(self, at: float, callback: Callable[[], None]) -> Member:
        member = Member(self, at, callback)
        slot = self.slots.get(at)
        if slot is None:
            slot = self.slots[at] = [self.call_loop_at(at, self.fire, at), {}]
        slot[1][member] = None
        return member

    def leave(self, member: Member) -> None:
        slot = self.slots.get(member.at)
        if slot is None or member not in slot[1]:
            return  # its beat is running (fire took the slot) or it already left
        del slot[1][member]
        if not slot[1]:
            slot[0].cancel()
            del self.slots[member.at]

    def fire(self, at: float) -> None:
        slot = self.slots.pop(at, None)
        if slot is None:
            return
        due: List[Member] = list(slot[1])
        for member in due:
            if member.done:
                continue  # cancelled by a member that ran before it (a sync group's transition, a resign)
            member.done = True
            try:
                member.callback()
            except Exception:  # as the loop does for its own handles: log it, keep the others' deadlines
                LOG.exception("timer callback %r failed", member.callback)

    def pending(self) -> int:
        """Members waiting (for tests)."""
        return sum(len(slot[1]) for slot in self.slots.values())
