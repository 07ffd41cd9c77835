# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notify scripts, run as keepalived runs them but never in the way of the state machine.

- argv split as keepalived (config.split_command), no shell, packet data never in argv;
- `notify` (the generic hook) gets `INSTANCE|GROUP NAME STATE PRIORITY` appended (keepalived's order);
- at most one run per hook at a time: a hook fired while its previous run is still going is queued,
  and further firings replace the queued one (coalesced: the latest state wins, none is lost at the end);
- each run is bounded by a timeout: its whole process group is killed then (TERM, KILL 2 s later).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import logging
from typing import Dict, List, Optional, Tuple

from . import checks
from . import config

LOG = logging.getLogger("vipd")
NOTIFY_TIMEOUT = 30.0


def notify_argv(command: str, extra: Optional[List[str]] = None) -> List[str]:
    return config.split_command(command) + list(extra or [])


def generic_args(kind: str, name: str, state: str, priority: int) -> List[str]:
    """keepalived's `notify` arguments: INSTANCE|GROUP NAME STATE PRIORITY (STOPPED is spelt STOP)."""
    return [kind, name, "STOP" if state == "STOPPED" else state, str(int(priority))]


class Notifier:
    """Runs hooks in the daemon's loop; `fire(key, owner, command, extra)` returns at once."""

    def __init__(self, loop, timeout: float = NOTIFY_TIMEOUT, user: Optional[str] = None, group: Optional[str] = None):
        self.loop = loop
        self.timeout = timeout
        self.user = user if user and user != "root" else None
        self.group = group
        self.running: Dict[Tuple[str, str], asyncio.Task] = {}
        self.queued: Dict[Tuple[str, str], List[str]] = {}
        self.runs = 0
        self.coalesced = 0

    def fire(self, owner: str, hook: str, command: str, extra: Optional[List[str]] = None) -> None:
        try:
            argv = notify_argv(command, extra)
        except ValueError as exc:
            LOG.error("%s: cannot parse %s command %r: %s", owner, hook, command, exc)
            return
        if not argv:
            return
        key = (owner, hook)
        if key in self.running:
            if key in self.queued:
                self.coalesced += 1
            self.queued[key] = argv
            return
        self._start(key, argv)

    def _start(self, key, argv) -> None:
        task = self.loop.create_task(self._run(key, argv))
        self.running[key] = task

    async def _run(self, key, argv) -> None:
        try:
            self.runs += 1
            result = await checks.run_script(argv, self.timeout, user=self.user, group=self.group)
            if not result.ok:
                LOG.warning("%s: %s %s: %s", key[0], key[1], " ".join(argv), result.detail)
        finally:
            self.running.pop(key, None)
            argv_next = self.queued.pop(key, None)
            if argv_next is not None and not self.loop.is_closed():
                self._start(key, argv_next)

    def pending(self) -> List[asyncio.Task]:
        return list(self.running.values())

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for running and queued hooks, e.g. notify_stop at shutdown."""
        deadline = self.loop.time() + timeout
        while self.running and self.loop.time() < deadline:
            await asyncio.wait(list(self.running.values()), timeout=max(0.0, deadline - self.loop.time()))
