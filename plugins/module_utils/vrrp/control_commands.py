# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's side of the control socket: which command runs what, and the socket's life.

control.py holds the protocol and the server (bounded flat JSON requests, peer credentials); this file binds
its commands to a running daemon.Daemon (status, reload, resign, maintenance) and opens, closes and removes
the socket. daemon.py keeps the loop and the executor.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging
import os
from typing import Optional

from ..inet import safe_repr
from . import control

LOG = logging.getLogger("vipd")


class ControlCommands:
    """The control socket of one daemon: `open(path)` serves it, `close()` stops serving, `remove_socket()` unlinks it."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.path: Optional[str] = None
        self.server: Optional[control.ControlServer] = None

    async def open(self, path: Optional[str]) -> None:
        """The control socket at `path` (none when `path` is empty)."""
        self.path = path
        if not path:
            return
        daemon = self.daemon
        self.server = control.ControlServer(path, {
            "status": lambda _request: daemon.status_reply(),
            "reload": lambda _request: daemon.reload(),
            "resign": lambda _request: self.resign(),
            "maintenance": self.maintenance,
        })
        await self.server.start()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def remove_socket(self) -> None:
        if not self.path:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def resign(self) -> dict:
        self.daemon.loop.call_soon(self.daemon.request_stop, "resign command")
        return {"ok": True, "resigning": True}

    def maintenance(self, request: dict) -> dict:
        """`vipd maintenance on|off NAMES|--all`: the file first (maintenance.py), then the machines (set_maintenance)."""
        daemon = self.daemon
        store, instances = daemon.maintenance, daemon.instances
        state, every, text = request.get("state"), request.get("all", False), request.get("instances", "")
        if state not in ("on", "off"):
            return control.error_reply("bad_argument", '"state" must be "on" or "off"')
        if not isinstance(every, bool) or not isinstance(text, str):
            return control.error_reply("bad_type", '"all" is true or false, "instances" a string of names separated by spaces')
        names = text.split()
        if every == bool(names):
            return control.error_reply("bad_argument", "name the instances or ask for all of them (not both)")
        unknown = [n for n in names if n not in instances]
        if unknown:
            return control.error_reply("bad_argument", "no instance %s here (%s)" % (
                ", ".join(safe_repr(n, 80) for n in unknown[:4]), ", ".join(list(instances)[:8]) or "none configured"))
        if daemon.stopping:
            return control.error_reply("bad_argument", "shutting down")
        on = state == "on"
        before = dict((n, store.covers(n)) for n in instances)
        try:
            store.save(*store.planned(on, names, every, instances))
        except OSError as exc:
            LOG.error("maintenance %s refused: cannot write %s: %s", state, store.path, exc)
            return control.error_reply("internal", "cannot write %s: %s" % (store.path, exc.strerror or exc))
        daemon.reading.catch_up()  # adverts that arrived before the request, first
        now, changed = daemon.now(), []
        for name, runtime in instances.items():
            wanted = store.covers(name)
            if runtime.machine is not None and runtime.machine.maintenance != wanted:
                LOG.info("%s: maintenance %s (%s)", name, "on" if wanted else "off", runtime.state.name)
                runtime.execute(runtime.machine.set_maintenance(now, wanted))
            if wanted != before[name]:
                changed.append(name)
        return {"ok": True, "state": state, "changed": changed, "maintenance": store.status(),
                "instances": dict((n, {"state": r.state.name, "maintenance": store.covers(n)})
                                  for n, r in instances.items())}
