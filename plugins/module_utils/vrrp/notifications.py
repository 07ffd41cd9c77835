# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's notifications: notify hooks, notify FIFOs, mail; and the default script user.

daemon.py calls: open(loop), configure(cfg) (start and every reload, before health.configure(): the check
runners run as default_user), emit(notice) for the notifications the supervisor decides
(supervisor.RunHook / FifoLine / Mail), status() for the "notify" and "mail" parts of `vipd status`,
close() at exit. What to emit is supervisor.py's to decide; this file only carries it out.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import dataclasses
from typing import List, Optional

from . import mailer
from . import notify
from . import supervisor

FIFO_SCRIPT_GRACE = 1.0  # seconds a fifo script has at exit to read the last lines and end by itself


class Notifications:
    def __init__(self):
        self.loop = None
        self.notifier: Optional[notify.Notifier] = None
        self.fifos: List[notify.Fifo] = []
        self.default_user = (None, None)
        self.mailer: Optional[mailer.Mailer] = None

    # ---- life cycle ----------------------------------------------------------------------------------

    def open(self, loop) -> None:
        self.loop = loop
        self.notifier = notify.Notifier(loop)

    def configure(self, cfg) -> None:
        g = cfg.global_defs
        # keepalived looks its default script user up only when something runs scripts; so does vipd (the lookup
        # loads the NSS modules: 0.4 MB of RSS, issue 11). Anything that looks like a script counts.
        self.default_user = notify.default_script_user(g) if _may_run_scripts(cfg) else (None, None)
        self.notifier.user, self.notifier.group = self.default_user
        self._configure_fifos(g)
        if self.mailer is not None:
            self.mailer.close()
        self.mailer = mailer.Mailer(self.loop, g.smtp_server, g.smtp_port, g.smtp_connect_timeout, g.notification_email_from,
                                    g.notification_email, g.router_id, g.smtp_helo_name, g.no_email_faults)

    def _configure_fifos(self, g) -> None:
        """notify_fifo and vrrp_notify_fifo (keepalived opens both; each gets every VRRP line)."""
        wanted = []
        for key in ("notify_fifo", "vrrp_notify_fifo"):
            words = getattr(g, key, None)
            if words:
                script = getattr(g, key + "_script", None)
                wanted.append(notify.Fifo(words[0], list(words[1:]), script,
                                          notify.hook_user(g, key + "_script", self.default_user) if script else (None, None)))
        if [f.key() for f in wanted] == [f.key() for f in self.fifos]:
            return
        for fifo in self.fifos:
            fifo.close()
        self.fifos = wanted
        for fifo in self.fifos:
            fifo.open(self.loop)

    async def close(self, timeout: float = 5.0) -> None:
        if self.notifier is not None:
            await self.notifier.drain(timeout)
        # The last lines (INSTANCE ... STOP) were written just now: a fifo script gets them, then the end of file,
        # and a moment to end by itself before the stop signal (it was killed at once, and lost them under load).
        for fifo in self.fifos:
            fifo.close_writer()
        if self.fifos:
            await asyncio.gather(*(fifo.script_ended(FIFO_SCRIPT_GRACE) for fifo in self.fifos))
        for fifo in self.fifos:
            fifo.close()
        self.fifos = []
        if self.mailer is not None:
            self.mailer.close()

    # ---- carrying out the supervisor's notifications -------------------------------------------------

    def emit(self, notice) -> None:
        """Carry out one supervisor.RunHook, FifoLine or Mail."""
        if isinstance(notice, supervisor.RunHook):
            if self.notifier is None:
                return
            extra = notify.generic_args(*notice.args) if notice.args else None
            user, group = notify.hook_user(notice.owner_cfg, notice.hook, self.default_user)
            self.notifier.fire(notice.owner, notice.hook, notice.command, extra, user=user, group=group)
        elif isinstance(notice, supervisor.FifoLine):
            if self.fifos:
                line = notify.fifo_line(notice.kind, notice.name, notice.state, notice.priority)
                for fifo in self.fifos:
                    fifo.write(line)
        elif isinstance(notice, supervisor.Mail):
            if self.mailer is not None:
                self.mailer.alert(notice.kind, notice.name, notice.old, notice.new, notice.priority, notice.reason)

    # ---- status --------------------------------------------------------------------------------------

    def status(self) -> dict:
        """The "notify" and "mail" keys of `vipd status`'s "health" object."""
        return {
            "notify": {"runs": self.notifier.runs if self.notifier else 0, "coalesced": self.notifier.coalesced if self.notifier else 0,
                       "running": len(self.notifier.running) if self.notifier else 0,
                       "fifos": [{"path": f.path, "open": f.fd is not None, "written": f.written, "dropped": f.dropped} for f in self.fifos]},
            "mail": self.mailer.counters() if self.mailer is not None else None,
        }


_HOOK_FIELDS: dict = {}  # config class -> names of its hook fields


def _hook_fields(cls) -> tuple:
    """The fields of a config class that name a command (notify*, *_script), found once per class: a reload of 200
    instances looked through 57 fields of each (20 ms of the reload, issue 11)."""
    names = _HOOK_FIELDS.get(cls)
    if names is None:
        names = _HOOK_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name.startswith("notify") or f.name.endswith("_script"))
    return names


def _may_run_scripts(cfg) -> bool:
    """True when the config holds any vrrp_script or any hook (notify*, *_script) that names a command."""
    if cfg.scripts:
        return True
    owners = [cfg.global_defs] + list(cfg.instances.values()) + list(cfg.sync_groups.values())
    for owner in owners:
        for name in _hook_fields(type(owner)):  # not vars(): that would give every instance a dict of its own (RSS)
            value = getattr(owner, name)
            if isinstance(value, (str, list, tuple)) and value:
                return True
    return False
