# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a script (vrrp_script, notify_*, startup/shutdown): argv without a shell, as its user, in its own
process group; the whole group is killed at the timeout (TERM, then KILL as keepalived) and after a normal
exit (no orphans). Nothing runs that script_security.exec_refusal() refuses, checked right before each exec."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import os
import pwd
import signal
from typing import List, Optional

from .. import inet
from .probes import Result
from .script_security import exec_refusal

TERM_GRACE = 2.0  # keepalived: SIGTERM at the timeout, SIGKILL 2 s later


def _kill_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


async def run_script(argv: List[str], timeout: float, user: Optional[str] = None, group: Optional[str] = None,
                     reap: bool = True) -> Result:
    """One run of a check script: exit 0 = success; timeout or signal = failure; its group never outlives it.

    Nothing is executed that exec_refusal() refuses (a missing program, or one a non-root user could
    replace while it would run as root): the security check is repeated at every run, so a script that
    was absent or safe at load time and is replaced later by an unprivileged user is not run as root.
    """
    kwargs = {}
    if user:
        kwargs["user"] = user
        try:
            kwargs["group"] = group or pwd.getpwnam(user).pw_gid
            kwargs["extra_groups"] = [kwargs["group"]]  # keepalived set_script_env(): setgroups(1, &gid), not root's groups
        except (KeyError, ValueError):
            return Result(False, "cannot start %s: unknown user %s" % (_shown(argv), inet.safe_repr(user)))
    path, refusal = exec_refusal(argv, user, group)
    if refusal:
        return Result(False, "cannot start %s: %s" % (_shown(argv), refusal))
    argv = [path] + list(argv[1:])  # exec exactly what was checked (no second PATH search)
    try:
        # start_new_session: the script leads its own process group, so one killpg() reaches its children.
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL, start_new_session=True, **kwargs)
    except (OSError, KeyError, ValueError) as exc:
        return Result(False, "cannot start %s: %s" % (_shown(argv), exc))
    pgid = proc.pid
    try:
        code = await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        _kill_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), TERM_GRACE)
        except asyncio.TimeoutError:
            _kill_group(pgid, signal.SIGKILL)
            await proc.wait()
        _kill_group(pgid, signal.SIGKILL)
        return Result(False, "timed out after %gs (process group killed)" % timeout)
    except asyncio.CancelledError:
        _kill_group(pgid, signal.SIGKILL)
        raise
    # Whatever it left running in the background goes too: a check must not accumulate orphans.
    # (reap=False: keepalived's startup/shutdown scripts may leave processes behind on purpose.)
    if reap:
        _kill_group(pgid, signal.SIGKILL)
    if code == 0:
        return Result(True, "exit 0")
    if code < 0:
        return Result(False, "killed by signal %d" % -code)
    return Result(False, "exit %d" % code)


def _shown(argv) -> str:
    return inet.safe_repr(argv[0], 4096) if argv else "''"


__all__ = ["run_script", "TERM_GRACE"]
