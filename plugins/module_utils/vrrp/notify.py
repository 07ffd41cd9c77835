# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notify scripts, run as keepalived runs them but never in the way of the state machine.

- argv split as keepalived (config.split_command), no shell, packet data never in argv;
- `notify` (the generic hook) gets `INSTANCE|GROUP NAME STATE PRIORITY` appended (keepalived's order);
- strict order per owner (instance or sync group): its hooks (notify_master/backup/fault/stop, notify,
  notify_master_rx_lower_pri) run one at a time in the order fired, never two at once; at most
  QUEUE_MAX wait (beyond, the oldest waiting run is dropped and counted, so the latest state always runs);
- each run is bounded by a timeout: its whole process group is killed then (TERM, KILL 2 s later);
- `notify_* SCRIPT USER [GROUP]` runs as that user (setgid, setgroups([gid]), setuid in the child); without
  one, as keepalived's default script user: global script_user, else `keepalived_script` if that user
  exists, else root;
- notify_fifo / vrrp_notify_fifo: keepalived's lines (`INSTANCE "VI_1" MASTER 100`, `GROUP "G" BACKUP 0`,
  MASTER_RX_LOWER_PRI, MASTER_PRIORITY / BACKUP_PRIORITY), the fifo created 0644 (chowned to its USER
  [GROUP]) and opened non-blocking read-write; its *_script runs for the daemon's life with the fifo's
  path as last argument.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import collections
import errno
import grp
import logging
import os
import pwd
import signal
import stat
from typing import Deque, Dict, List, Optional, Tuple

from . import script_runner, script_security
from . import config

LOG = logging.getLogger("vipd")
NOTIFY_TIMEOUT = 30.0
QUEUE_MAX = 64
DEFAULT_SCRIPT_USER = "keepalived_script"
FIFO_STATES = {"STOPPED": "STOP"}


def notify_argv(command: str, extra: Optional[List[str]] = None) -> List[str]:
    return config.split_command(command) + list(extra or [])


def generic_args(kind: str, name: str, state: str, priority: int) -> List[str]:
    """keepalived's `notify` arguments: INSTANCE|GROUP NAME STATE PRIORITY (STOPPED is spelt STOP)."""
    return [kind, name, "STOP" if state == "STOPPED" else state, str(int(priority))]


def default_script_user(g) -> Tuple[Optional[str], Optional[str]]:
    """keepalived get_default_script_user(): script_user, else keepalived_script when it exists, else root (None)."""
    if g is not None and g.script_user:
        return (None if g.script_user == "root" and not g.script_group else g.script_user), g.script_group
    try:
        pwd.getpwnam(DEFAULT_SCRIPT_USER)
    except (KeyError, ValueError):
        return None, None
    return DEFAULT_SCRIPT_USER, None


def hook_user(owner_cfg, hook: str, default: Tuple[Optional[str], Optional[str]]) -> Tuple[Optional[str], Optional[str]]:
    """The user and group one hook runs as: its own `USER [GROUP]` words, else the default script user."""
    words = (getattr(owner_cfg, "notify_users", None) or {}).get(hook) or []
    if not words:
        return default
    user, group = words[0], (words[1] if len(words) > 1 else None)
    return (None if user == "root" and group is None else user), group


def fifo_line(kind: str, name: str, state: str, priority: int) -> bytes:
    """keepalived vrrp_notify.c notify_fifo(): `TYPE "NAME" STATE PRIORITY\\n`."""
    text = '%s "%s" %s %d\n' % (kind, name, FIFO_STATES.get(state, state), int(priority))
    return text.encode("utf-8", "surrogateescape")


class Notifier:
    """Runs hooks in the daemon's loop; `fire(owner, hook, command, extra, user, group)` returns at once."""

    def __init__(self, loop, timeout: float = NOTIFY_TIMEOUT, user: Optional[str] = None, group: Optional[str] = None):
        self.loop = loop
        self.timeout = timeout
        self.user = user if user and user != "root" else None
        self.group = group
        self.queues: Dict[str, Deque[Tuple[str, List[str], Optional[str], Optional[str]]]] = {}
        self.running: Dict[str, asyncio.Task] = {}
        self.runs = 0
        self.coalesced = 0  # waiting runs dropped because QUEUE_MAX were already waiting
        self.history: Deque[Tuple[str, str, List[str]]] = collections.deque(maxlen=32)

    def fire(self, owner: str, hook: str, command: str, extra: Optional[List[str]] = None,
             user: Optional[str] = "", group: Optional[str] = None) -> None:
        try:
            argv = notify_argv(command, extra)
        except ValueError as exc:
            LOG.error("%s: cannot parse %s command %r: %s", owner, hook, command, exc)
            return
        if not argv:
            return
        if user == "":
            user, group = self.user, self.group
        queue = self.queues.setdefault(owner, collections.deque())
        queue.append((hook, argv, user, group))
        while len(queue) > QUEUE_MAX:
            dropped = queue.popleft()
            self.coalesced += 1
            LOG.warning("%s: %s dropped: %d notify runs already waiting", owner, dropped[0], QUEUE_MAX)
        if owner not in self.running and not self.loop.is_closed():
            self.running[owner] = self.loop.create_task(self._worker(owner))

    async def _worker(self, owner: str) -> None:
        queue = self.queues.get(owner)
        try:
            while queue:
                hook, argv, user, group = queue.popleft()
                self.runs += 1
                self.history.append((owner, hook, argv))
                result = await script_runner.run_script(argv, self.timeout, user=user, group=group)
                if not result.ok:
                    LOG.warning("%s: %s %s: %s", owner, hook, " ".join(argv), result.detail)
        finally:
            self.running.pop(owner, None)
            if not queue:
                self.queues.pop(owner, None)

    def pending(self) -> List[asyncio.Task]:
        return list(self.running.values())

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for running and queued hooks, e.g. notify_stop at shutdown."""
        deadline = self.loop.time() + timeout
        while self.running and self.loop.time() < deadline:
            await asyncio.wait(list(self.running.values()), timeout=max(0.0, deadline - self.loop.time()))


class Fifo:
    """One notify fifo (keepalived lib/notify.c fifo_open / fifo_close)."""

    def __init__(self, path: str, words: List[str], script: Optional[str] = None,
                 script_user: Tuple[Optional[str], Optional[str]] = (None, None)):
        self.path = path
        self.owner = words  # [USER [GROUP]] of the fifo file
        self.script = script
        self.script_user = script_user
        self.fd: Optional[int] = None
        self.created = False
        self.proc = None
        self.task = None
        self.written = 0
        self.dropped = 0

    def key(self):
        return (self.path, tuple(self.owner), self.script, self.script_user)

    def open(self, loop) -> None:
        """Create (0644, chowned to USER [GROUP]) and open the fifo; start its script (in the loop)."""
        try:
            os.mkfifo(self.path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
            self.created = True
            if self.owner:
                try:
                    pw = pwd.getpwnam(self.owner[0])
                    gid = grp.getgrnam(self.owner[1]).gr_gid if len(self.owner) > 1 else pw.pw_gid
                    os.chown(self.path, pw.pw_uid, gid)
                except (KeyError, OSError) as exc:
                    LOG.warning("notify fifo %s: cannot set its owner: %s", self.path, exc)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                LOG.error("unable to create notify fifo %s: %s", self.path, exc)
                return
        if self.script and loop is not None:
            self.task = loop.create_task(self._start_script())
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as exc:
            LOG.error("unable to open notify fifo %s: %s", self.path, exc)
            if self.created:
                self._unlink()

    async def _start_script(self) -> None:
        argv = notify_argv(self.script, [self.path])
        user, group = self.script_user
        path, refusal = script_security.exec_refusal(argv, user, group)
        if refusal:
            LOG.error("notify fifo script %s: %s", argv[0], refusal)
            return
        kwargs = {}
        if user:
            try:
                gid = group or pwd.getpwnam(user).pw_gid
            except KeyError:
                LOG.error("notify fifo script %s: unknown user %s", argv[0], user)
                return
            kwargs.update(user=user, group=gid, extra_groups=[gid])
        try:
            self.proc = await asyncio.create_subprocess_exec(path, *argv[1:], stdin=asyncio.subprocess.DEVNULL,
                                                             stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                                                             start_new_session=True, **kwargs)
        except (OSError, KeyError, ValueError) as exc:
            LOG.error("notify fifo script %s: cannot start: %s", argv[0], exc)

    def write(self, line: bytes) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, line)
            self.written += 1
        except OSError:
            self.dropped += 1  # full (nobody reads): keepalived drops the line too

    def _unlink(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.created = False

    def close_writer(self) -> None:
        """Unlink the fifo and close our end: the script reads what is left in it, then the end of file."""
        # keepalived unlinks first, so a reader that reopens in a loop cannot reopen this fifo
        if self.created:
            self._unlink()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    async def script_ended(self, timeout: float) -> None:
        """Wait up to `timeout` for the fifo script to end by itself (after close_writer: at the end of file)."""
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def close(self) -> None:
        self.close_writer()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
        self.proc = None
