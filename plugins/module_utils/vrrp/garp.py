# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gratuitous ARP / unsolicited NA pacing per interface, as keepalived 2.2.7 does it (vrrp_arp.c, vrrp_ndisc.c).

With ``vrrp_garp_interval`` (IPv4) or ``vrrp_gna_interval`` (IPv6) set, announcements on one interface leave at
least that interval apart, in the order they were asked for, whichever instance asked: 400 VIPs taking over at
once do not put 2000 frames on the wire in a few milliseconds. An address whose announcement is still waiting is
not queued again (keepalived's ``garp_gna_pending``): while paced, ``garp_master_repeat`` rounds collapse into
one announcement per address (keepalived sends 401 GARPs for 400 VIPs and 5 repeats: the first address goes out
at once, so its second round queues again). Without an interval everything leaves at once, as before.

Pure scheduling: the caller gives the loop and the function that puts one announcement on the wire.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from collections import deque
from typing import Callable, Deque, Dict, Optional, Set, Tuple

Key = Tuple[str, int]  # (interface, family)
Entry = Tuple[object, str, str, Callable[[str, str, int], object]]  # (owner, device, cidr, send)


class Pacer:
    """Per-(interface, family) queues of announcements, drained one per interval from the event loop."""

    def __init__(self):
        self.queues: Dict[Key, Deque[Entry]] = {}
        self.pending: Set[Tuple[int, str, str]] = set()  # (id(owner), device, cidr) waiting in a queue
        self.next_at: Dict[Key, float] = {}  # loop time from which the interface may send again
        self.intervals: Dict[Key, float] = {}
        self.handles: Dict[Key, object] = {}
        self.loop = None

    def announce(self, loop, owner, device: str, cidr: str, family: int, interval: float,
                 send: Callable[[str, str, int], object]) -> bool:
        """Send one announcement of cidr on device now, or queue it; False when it was already waiting (dropped)."""
        self.loop = loop
        key = (device, family)
        if interval <= 0:
            send(device, cidr, 1)
            return True
        self.intervals[key] = interval
        now = loop.time()
        queue = self.queues.get(key)
        if not queue and now >= self.next_at.get(key, 0.0):
            self.next_at[key] = now + interval
            send(device, cidr, 1)
            return True
        mark = (id(owner), device, cidr)
        if mark in self.pending:
            return False
        self.pending.add(mark)
        self.queues.setdefault(key, deque()).append((owner, device, cidr, send))
        self._schedule(key)
        return True

    def queued(self, owner: Optional[object] = None) -> int:
        return sum(1 for q in self.queues.values() for e in q if owner is None or e[0] is owner)

    def cancel(self, owner) -> int:
        """Drop the announcements ``owner`` still has waiting (it left MASTER, or stopped); returns how many."""
        dropped = 0
        for key, queue in list(self.queues.items()):
            keep = deque(e for e in queue if e[0] is not owner)
            dropped += len(queue) - len(keep)
            for e in queue:
                if e[0] is owner:
                    self.pending.discard((id(owner), e[1], e[2]))
            if keep:
                self.queues[key] = keep
            else:
                self._drop(key)
        return dropped

    def close(self) -> None:
        for key in list(self.queues):
            self._drop(key)
        self.pending.clear()

    def _drop(self, key: Key) -> None:
        self.queues.pop(key, None)
        handle = self.handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def _schedule(self, key: Key) -> None:
        if key in self.handles or not self.queues.get(key):
            return
        # on time where the loop can (timer_selector.TimerfdLoop; no import here, this file is pure): the interval is
        # keepalived's spacing, not a floor that epoll's millisecond would stretch
        call_at = getattr(self.loop, "call_on_time", None) or self.loop.call_at
        self.handles[key] = call_at(max(self.next_at.get(key, 0.0), self.loop.time()), self._drain, key)

    def _drain(self, key: Key) -> None:
        self.handles.pop(key, None)
        queue = self.queues.get(key)
        if not queue:
            self.queues.pop(key, None)
            return
        now = self.loop.time()
        if now < self.next_at.get(key, 0.0):  # the loop woke a hair early
            self._schedule(key)
            return
        owner, device, cidr, send = queue.popleft()
        self.pending.discard((id(owner), device, cidr))
        self.next_at[key] = now + self.intervals.get(key, 0.0)
        try:
            send(device, cidr, 1)
        finally:
            if queue:
                self._schedule(key)
            else:
                self.queues.pop(key, None)
