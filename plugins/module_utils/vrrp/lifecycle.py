# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""global_defs startup_script / shutdown_script, run as keepalived 2.2.7's parent process runs them (core/main.c).

startup_script runs before anything VRRP starts and the daemon waits for it; shutdown_script runs after every
instance has stopped and its addresses are gone, and the daemon exits when it ends. Each is bounded by
startup_script_timeout / shutdown_script_timeout (1..1000 s, default 10): then its process group gets SIGTERM,
and SIGKILL 2 s later, and the daemon goes on. A failure is logged and changes nothing else. The script runs
as `SCRIPT USER [GROUP]` says, else as the default script user (script_user, else keepalived_script if it
exists, else root), with the same exec checks as every other script (script_runner.run_script); what it leaves running
in the background is left alone, as keepalived does.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging

from . import script_runner
from . import notify

LOG = logging.getLogger("vipd")


async def run(g, which: str) -> bool:
    """Run global_defs `which` ("startup_script" | "shutdown_script") if set; True if it ran and exited 0."""
    command = getattr(g, which, None)
    if not command:
        return False
    kind = which.split("_")[0]
    try:
        argv = notify.notify_argv(command)
    except ValueError as exc:
        LOG.error("%s script: cannot parse %r: %s", kind, command, exc)
        return False
    if not argv:
        return False
    timeout = float(getattr(g, which + "_timeout", 10) or 10)
    user, group = notify.hook_user(g, which, notify.default_script_user(g))
    LOG.info("Running %s script %s", kind, argv[0])
    result = await script_runner.run_script(argv, timeout, user=user, group=group, reap=False)
    if result.ok:
        LOG.info("%s script succeeded", kind)
    elif "timed out" in result.detail:
        LOG.warning("%s script timed out (%s)", kind, result.detail)
    else:
        LOG.warning("%s script failed: %s", kind, result.detail)
    return result.ok
