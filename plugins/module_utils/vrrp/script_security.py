# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a script safe to run (keepalived 2.2.7 notify.c check_security / check_vrrp_script_security): host checks,
kept out of config parsing. exec_refusal() runs right before every exec (script_runner); check_scripts()
runs the load-time checks -- enable_script_security, missing programs, unknown script users, keepalived -t's
SECURITY VIOLATION -- when `vipd check`, `vipd run` and a reload read a config (load() / parse_text() here,
config.load() / parse_text() with host_checks=), reporting FILE:LINE and reason into the same messages."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from typing import List, Optional

from .. import inet
from . import config
from .config_checks import BUILTIN_PREFIX


def resolve_program(program: str) -> Optional[str]:
    """The file `program` names: as written when it holds a '/', else the first executable found in PATH."""
    if "/" in program:
        return program
    for folder in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        try:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        except ValueError:
            return None
    return None


def _components(path: str) -> List[str]:
    """"/", "/a", "/a/b", ... up to `path` (made absolute, components kept as written)."""
    if not path.startswith("/"):
        path = os.path.join(os.getcwd(), path)
    out = ["/"]
    current = ""
    for part in path.split("/"):
        if part in ("", "."):
            continue
        current += "/" + part
        out.append(current)
    return out


def _insecure(path: str, directory: bool = False) -> Optional[tuple]:
    """(component, problem) making `path` unsafe to run as root, or None (keepalived 2.2.7 notify.c
    check_security(), applied to the path as written and to the path resolved).

    Each component is lstat()ed: it must exist; the last must be a regular file (or a symlink, then
    checked through the resolved path), the others directories (or symlinks); each must be owned by root;
    a regular file or a directory without the sticky bit must be writable neither by a non-root group
    nor by everybody.
    """
    try:
        resolved = os.path.realpath(path)
    except (OSError, ValueError):
        return path, "cannot be resolved"
    for walk in (_components(path), _components(resolved)):
        # The file itself first (the likeliest culprit), then the directories from "/" down.
        for part in [walk[-1]] + walk[:-1]:
            last = part == walk[-1]
            try:
                st = os.lstat(part)
            except (OSError, ValueError) as exc:
                return part, "is not found or not accessible (%s)" % (getattr(exc, "strerror", None) or "invalid name")
            mode = st.st_mode
            if last and not directory and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                return part, "is not a regular file"
            if (not last or directory) and not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                return part, "is not a directory"
            if st.st_uid != 0:
                return part, "is owned by uid %d, not root" % st.st_uid
            if stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX):
                if st.st_gid != 0 and mode & stat.S_IWGRP:
                    return part, "is writable by group %s" % _group_name(st.st_gid)
                if mode & stat.S_IWOTH:
                    return part, "is writable by every user"
    return None


def _creatable(path: str) -> Optional[tuple]:
    """For a missing `path`: _insecure() of its nearest existing directory (who could create it), or None."""
    if "/" not in path:
        return None  # a bare name not found in PATH: PATH directories are checked when it appears
    folder = os.path.dirname(os.path.join(os.getcwd(), path))
    for _i in range(256):
        try:
            if os.path.isdir(folder):
                return _insecure(folder, directory=True)
        except ValueError:
            return None
        if folder == os.path.dirname(folder):
            return None
        folder = os.path.dirname(folder)
    return None


def insecure_reason(path: str) -> Optional[str]:
    """Why running `path` as root is unsafe (keepalived notify.c check_script_secure), or None.

    The file and every directory above it (as written and as resolved) must be owned by root and
    writable neither by a non-root group nor by others: otherwise a non-root user could replace what
    root executes. A missing file is unsafe too: whoever may create it decides what root runs.
    """
    found = _insecure(path)
    return None if found is None else "%s %s" % found


def runs_as_root(path: str, user: Optional[str] = None, group=None) -> bool:
    """keepalived's need_script_protection: the script runs with uid or gid 0, or is set-uid/gid root."""
    try:
        if user:
            pw = pwd.getpwnam(user)
            uid, gid = pw.pw_uid, pw.pw_gid
        else:
            uid, gid = os.geteuid(), os.getegid()
        if isinstance(group, int):
            gid = group
        elif group:
            gid = grp.getgrnam(group).gr_gid
    except (KeyError, ValueError):
        return True  # unknown: assume the worst
    if uid == 0 or gid == 0:
        return True
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return bool((st.st_uid == 0 and st.st_mode & stat.S_ISUID and st.st_mode & stat.S_IXUSR)
                or (st.st_gid == 0 and st.st_mode & stat.S_ISGID and st.st_mode & stat.S_IXGRP))


def exec_refusal(argv: List[str], user: Optional[str] = None, group=None):
    """(path to exec, None) when argv may run now, else (None, reason). Checked right before every exec.

    Refused: an empty command, a program not found (keepalived disables such a script), and a program
    that would run as root although a non-root user could replace it (keepalived disables it under
    enable_script_security and otherwise logs a SECURITY VIOLATION and runs it: vipd never runs it).
    """
    if not argv or not argv[0]:
        return None, "empty command"
    path = resolve_program(argv[0])
    if path is None:
        return None, "not found in PATH"
    try:
        if not os.path.isfile(path):
            return None, "not found or not a regular file"
    except ValueError:
        return None, "invalid file name"
    if runs_as_root(path, user, group):
        found = _insecure(path)
        if found is not None:
            return None, "unsafe to run as root: %s %s" % (inet.safe_repr(found[0], 4096), found[1])
    return path, None


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _script_commands(cfg):
    """(command, (file, line), what, user) of every script the config would run."""
    out = []
    g = cfg.global_defs
    for s in cfg.scripts.values():
        if not s.script.startswith(BUILTIN_PREFIX):
            out.append((s.script, s.source, ("vrrp_script", s.name), s.user or g.script_user))
    for owner, kind in [(i, "vrrp_instance") for i in cfg.instances.values()] + [(sg, "vrrp_sync_group") for sg in cfg.sync_groups.values()]:
        for key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_master_rx_lower_pri"):
            cmd = getattr(owner, key, None)
            if cmd:
                # `notify_* SCRIPT USER [GROUP]` runs as USER (keepalived notify_script_init)
                users = (getattr(owner, "notify_users", None) or {}).get(key) or [g.script_user]
                out.append((cmd, owner.source, (kind, owner.name, key), users[0]))
        if getattr(owner, "notify_deleted_script", None):
            users = (getattr(owner, "notify_users", None) or {}).get("notify_deleted") or [g.script_user]
            out.append((owner.notify_deleted_script, owner.source, (kind, owner.name, "notify_deleted"), users[0]))
    for key in ("startup_script", "shutdown_script"):
        if getattr(g, key, None):
            users = (g.notify_users or {}).get(key) or [g.script_user]
            out.append((getattr(g, key), getattr(g, "sources", {}).get(key, ("", 0)), ("global_defs", key), users[0]))
    return out


def validate_scripts(ctx):
    """Config validator (keepalived's check_vrrp_script_security at load).

    A script that is missing, or would run as root although a non-root user could replace it, is
    disabled by keepalived: with enable_script_security it is an error here (the config is refused),
    without it a warning. In both cases the daemon never executes it (exec_refusal() at each run).
    Names and paths are shown only when they come from the main file (ctx.show).
    """
    cfg = ctx.config
    secure = cfg.global_defs.enable_script_security
    for cmd, source, what, user in _script_commands(cfg):
        where = _Where(*source) if source[0] else _Where(ctx.src.main or "", 0)  # global_defs scripts: the main file
        # keepalived -t passes a missing or unsafe startup/shutdown script (it only does not run it): a warning
        strict = secure and what[0] != "global_defs"
        what = " ".join([what[0], ctx.show(where, what[1], True)] + list(what[2:]))
        try:
            argv = config.split_command(cmd)
        except ValueError as exc:
            ctx.error(where, "%s: cannot split the command: %s" % (what, exc))
            continue
        if not argv or not argv[0]:
            ctx.error(where, "%s: empty command" % what)
            continue
        if user and user != "root":
            try:
                pwd.getpwnam(user)
            except (KeyError, ValueError):
                ctx.error(where, "%s: script user %s does not exist" % (what, ctx.show(where, user)))
                continue
        if argv[0].startswith("<"):
            continue  # keepalived's "</file" form only tests that a file can be opened
        path = resolve_program(argv[0])
        try:
            missing = path is None or not os.path.lexists(path)
        except ValueError:
            missing = True
        if missing:
            # keepalived disables a missing script (until a reload). Dangerous when a non-root user may
            # create it later: say so even without enable_script_security; vipd never runs it as root.
            if strict:
                ctx.error(where, "%s: script %s is not found: disabled (as keepalived)" % (what, ctx.show(where, argv[0], True)))
            elif secure:
                ctx.warning(where, "%s: script %s is not found: it will not run (keepalived -t passes it too)"
                            % (what, ctx.show(where, argv[0], True)))
            else:
                found = _creatable(path or argv[0])
                if found is not None:
                    ctx.warning(where, "%s: script %s is not found and %s %s, so a non-root user could create it: "
                                "vipd never runs it as root" % (what, ctx.show(where, argv[0], True), ctx.show(where, found[0], True), found[1]))
            continue
        if not runs_as_root(path, user if user != "root" else None):
            continue  # keepalived only guards what runs as root
        found = _insecure(path)
        if found is None:
            continue
        part, problem = ctx.show(where, found[0], True), found[1]
        if strict:
            ctx.error(where, "%s: unsafe script %s refused by enable_script_security: %s %s" % (what, ctx.show(where, path, True), part, problem))
        else:
            ctx.warning(where, "%s: unsafe permissions on script %s: %s %s (enable_script_security would refuse it; vipd never runs it as root)"
                        % (what, ctx.show(where, path, True), part, problem))


@dataclass
class _Where:
    file: str
    line: int


def _script_programs(cfg):
    """(command, (file, line)) of every script keepalived checks at load: vrrp_script, notify_* of instances
    and sync groups, the notify FIFO scripts."""
    g = cfg.global_defs
    out = [(s.script, s.source) for s in cfg.scripts.values()]
    for owner in list(cfg.instances.values()) + list(cfg.sync_groups.values()):
        for key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_master_rx_lower_pri",
                    "notify_deleted_script"):
            if getattr(owner, key, None):
                out.append((getattr(owner, key), owner.source))
    for key in ("notify_fifo_script", "vrrp_notify_fifo_script"):
        if getattr(g, key, None):
            out.append((getattr(g, key), ("", 0)))
    return out


def _program_exists(argv0):
    if argv0.startswith("<"):
        return False  # keepalived's "</file" form only tests that a file can be opened
    try:
        if "/" in argv0:
            return os.path.isfile(argv0)
        import shutil  # only here: shutil costs the daemon 0.6 MB of RSS
        return shutil.which(argv0) is not None
    except (OSError, ValueError):
        return False


def _script_security_parity(ctx):
    """keepalived 2.2.7 check_vrrp_script_security(): without enable_script_security, any script that exists
    is a SECURITY VIOLATION that `keepalived -t` fails on (exit 6); the daemon still runs the scripts."""
    cfg = ctx.config
    if cfg.global_defs.enable_script_security or any(m.level == "error" for m in ctx.src.messages):
        return  # (with errors the check fails anyway: one reason fewer to read)
    # keepalived's parent checks startup_script / shutdown_script on their own (core/main.c)
    for key in ("startup_script", "shutdown_script"):
        command = getattr(cfg.global_defs, key, None)
        try:
            argv = config.split_command(command) if command else []
        except ValueError:
            argv = []
        if argv and argv[0] and _program_exists(argv[0]):
            where = _Where(*(cfg.global_defs.sources.get(key) or (ctx.src.main or "", 0)))
            ctx.fixup(where, "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security "
                             "not enabled (as keepalived -t reports: add enable_script_security to global_defs)")
            break
    if not cfg.instances:
        return
    for command, source in _script_programs(cfg):
        try:
            argv = config.split_command(command)
        except ValueError:
            continue
        if argv and argv[0] and _program_exists(argv[0]):
            where = _Where(*(source if source[0] else (ctx.src.main or "", 0)))
            ctx.fixup(where, "SECURITY VIOLATION - scripts are being executed but script_security not enabled "
                             "(as keepalived -t reports: add enable_script_security to global_defs)")
            return


def check_scripts(ctx, whole=False):
    """The host checks of a config's scripts, in the place config.py gives them (host_checks=): keepalived -t's
    SECURITY VIOLATION (a whole configuration only: fragments have their global_defs elsewhere), then
    validate_scripts(). Their messages join the parser's, so the verdict and FILE:LINE are the same."""
    if whole:
        _script_security_parity(ctx)
    validate_scripts(ctx)


def load(path):
    """config.load() plus the host checks of its scripts: what `vipd check`, `vipd run` and a reload read."""
    return config.load(path, host_checks=check_scripts)


def parse_text(text, filename="<string>"):
    """config.parse_text() plus the host checks of its scripts (modules validate a fragment on the target)."""
    return config.parse_text(text, filename, host_checks=check_scripts)


__all__ = ["resolve_program", "insecure_reason", "runs_as_root", "exec_refusal", "validate_scripts", "check_scripts", "load", "parse_text"]
