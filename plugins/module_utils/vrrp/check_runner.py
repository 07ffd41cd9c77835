# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CheckRunner: runs one tracked check -- a vrrp_script (script_runner) or a vipd_check (probes) -- every
`interval`, counts results with keepalived's rise/fall (tracking_rules.RiseFall) and reports status changes."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
from typing import Callable, Optional

from . import config
from .config_checks import BuiltinCheck
from .probes import Result, http_probe, icmp_probe, tcp_probe
from .script_runner import run_script
from .tracking_rules import RiseFall


class CheckRunner:
    """Runs one check (a vrrp_script or a vipd_check) every `interval`; reports status changes.

    `on_change(name, status, detail)` is called with True/False when RiseFall's status flips.
    """

    def __init__(self, script, builtin: Optional[BuiltinCheck], on_change: Callable[[str, bool, str], None], user: Optional[str] = None,
                 group: Optional[str] = None, log=None):
        self.name = script.name
        self.script = script
        self.builtin = builtin
        self.interval = float(script.interval)
        self.timeout = float(script.timeout if script.timeout is not None else script.interval)
        self.state = RiseFall(script.rise, script.fall, script.init_fail)
        self.on_change = on_change
        self.user = script.user or user
        self.group = script.group if script.user else group
        self.log = log
        self.task: Optional[asyncio.Task] = None
        self.last: Optional[Result] = None
        self.runs = 0
        self.failures = 0

    @property
    def status(self) -> Optional[bool]:
        return self.state.status

    def start(self, loop) -> None:
        if self.task is None:
            self.task = loop.create_task(self._loop())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def probe(self) -> Result:
        b = self.builtin
        if b is None:
            try:
                argv = config.split_command(self.script.script)
            except ValueError as exc:
                return Result(False, "cannot split %r: %s" % (self.script.script, exc))
            return await run_script(argv, self.timeout, user=self.user if self.user != "root" else None, group=self.group)
        if b.type == "tcp":
            return await tcp_probe(b.host, b.effective_port, self.timeout)
        if b.type == "icmp":
            return await icmp_probe(b.host, self.timeout)
        return await http_probe(b.host, b.effective_port, b.path, self.timeout, tls=b.type == "https", tls_verify=b.tls_verify,
                                expect_status=b.expect_status, expect_body=b.expect_body, server_name=b.server_name)

    def feed(self, result: Result) -> None:
        self.last = result
        self.runs += 1
        if not result.ok:
            self.failures += 1
        if self.state.feed(result.ok):
            self.on_change(self.name, bool(self.state.status), result.detail)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                result = await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a probe bug must not stop tracking: count it as a failure
                result = Result(False, "check error: %r" % (exc,))
            self.feed(result)
            delay = started + self.interval - loop.time()
            await asyncio.sleep(max(0.0, delay))

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.builtin.describe() if self.builtin else "script",
                "status": {None: "unknown", True: "ok", False: "failed"}[self.status], "runs": self.runs, "failures": self.failures,
                "last": self.last.detail if self.last else None}


__all__ = ["CheckRunner"]
