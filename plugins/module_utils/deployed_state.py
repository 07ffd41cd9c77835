# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is really deployed on a host, read in one pass, and how it differs from what is expected.

Used by the vrrp_deployed module so the vrrp role can tell, in one remote call, whether a re-run has
anything to do. Reads only; never changes the host. No ansible imports (unit-tested as it is).
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import grp
import hashlib
import os
import pwd
import stat


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:  # an id without a name: report the number
        return str(ident)


def path_state(path: str, with_sha256: bool = True) -> dict:
    """exists, type (file, directory, link, other), mode ("0644"), owner, group and sha256 (regular files)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"path": path, "exists": False}
    if stat.S_ISREG(st.st_mode):
        kind = "file"
    elif stat.S_ISDIR(st.st_mode):
        kind = "directory"
    elif stat.S_ISLNK(st.st_mode):
        kind = "link"
    else:
        kind = "other"
    out = {"path": path, "exists": True, "type": kind, "mode": "%04o" % stat.S_IMODE(st.st_mode),
           "owner": _name(pwd.getpwuid, st.st_uid), "group": _name(grp.getgrgid, st.st_gid)}
    if kind == "file" and with_sha256:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(65536), b""):
                digest.update(block)
        out["sha256"] = digest.hexdigest()
    return out


def pid_alive(pid: int, proc: str = "/proc") -> bool:
    """Alive and not a zombie: without an init that reaps, a dead vipd lingers as one (as the role's shell test)."""
    try:
        with open("%s/%d/stat" % (proc, pid)) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    # The state is the first field after the command name, which is in parentheses and may hold anything.
    fields = text[text.rfind(")") + 1:].split()
    return bool(fields) and fields[0] != "Z"


def pidfile_state(pidfile: str, proc: str = "/proc") -> dict:
    try:
        with open(pidfile) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return {"pidfile": pidfile, "pid": None, "running": False}
    pid = int(text) if text.isdigit() else None
    return {"pidfile": pidfile, "pid": pid, "running": bool(pid) and pid_alive(pid, proc)}


def service_state(name: str, run) -> dict:
    """systemd's view of a unit; `run(argv)` -> (rc, stdout, stderr). A unit systemd does not know is inactive."""
    rc, out, err = run(["systemctl", "show", "--property=LoadState,ActiveState,UnitFileState", "--", name + ".service"])
    if rc != 0:
        return {"name": name, "error": (err or out).strip() or "systemctl show failed (rc=%d)" % rc}
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {"name": name, "load_state": props.get("LoadState", ""), "active_state": props.get("ActiveState", ""),
            "unit_file_state": props.get("UnitFileState", "")}


def file_drift(want: dict, have: dict) -> list:
    """Differences of one file or directory from what is expected (`sha256: None` means it must be absent)."""
    path = want["path"]
    kind = want.get("type", "file")
    if kind == "file" and "sha256" in want and want["sha256"] is None:
        return ["%s: present, expected absent" % path] if have["exists"] else []
    if not have["exists"]:
        return ["%s: missing" % path]
    if have["type"] != kind:
        return ["%s: is a %s, expected a %s" % (path, have["type"], kind)]
    out = []
    if want.get("sha256") and have.get("sha256") != want["sha256"]:
        out.append("%s: content differs" % path)
    for key in ("mode", "owner", "group"):
        expected = want.get(key)
        if expected is not None and str(have.get(key)) != (("%04o" % int(str(expected), 8)) if key == "mode" else str(expected)):
            out.append("%s: %s is %s, expected %s" % (path, key, have.get(key), expected))
    return out


ACTIVE = ("active", "activating", "reloading")


def service_drift(want: dict, have: dict) -> list:
    name = want["name"]
    if have.get("error"):
        return ["%s: %s" % (name, have["error"])]
    out = []
    active = have["active_state"] in ACTIVE
    if want.get("active") is not None and bool(want["active"]) != active:
        out.append("%s: %s, expected %s" % (name, have["active_state"], "active" if want["active"] else "stopped"))
    # Only "enabled" counts as enabled (static, masked, linked... are not what systemd_service enabled=true makes).
    enabled = have["unit_file_state"] == "enabled"
    if want.get("enabled") is not None and bool(want["enabled"]) != enabled:
        expected = "enabled" if want["enabled"] else "not enabled"
        out.append("%s: unit file state %r, expected %s" % (name, have["unit_file_state"], expected))
    return out


def expected_files(entries) -> list:
    """The module's `files` option as inspect() takes it: `absent: true` means sha256 None (must not exist);
    an entry without sha256 compares only what it names (mode, owner, group)."""
    files = []
    for want in entries:
        want = dict(want)
        if want.pop("absent", False):
            want = {"path": want["path"], "sha256": None}
        elif want.get("sha256") is None:
            want.pop("sha256", None)
        files.append(want)
    return files


def inspect(files=(), directories=(), pidfile=None, services=(), run=None) -> dict:
    """Reads everything asked for and compares it: {files, directories, daemon, services, drift, matches}."""
    result = {"files": {}, "directories": {}, "services": {}, "drift": []}
    for want in files:
        have = path_state(want["path"])
        result["files"][want["path"]] = have
        result["drift"] += file_drift(dict(want, type="file"), have)
    for want in directories:
        have = path_state(want["path"])
        result["directories"][want["path"]] = have
        result["drift"] += file_drift(dict(want, type="directory"), have)
    if pidfile:
        result["daemon"] = pidfile_state(pidfile)
        if not result["daemon"]["running"]:
            result["drift"].append("%s: no live process" % pidfile)
    for want in services:
        have = service_state(want["name"], run)
        result["services"][want["name"]] = have
        result["drift"] += service_drift(want, have)
    result["matches"] = not result["drift"]
    return result


def run(params, run_command, has_systemctl) -> tuple:
    """The vrrp_deployed module's work on its params: (result, None), or ({}, message) when it cannot look.
    run_command(argv) -> (rc, stdout, stderr); has_systemctl() -> bool, asked only when services are given."""
    services = params["services"]
    if services and not has_systemctl():
        return {}, "services given but systemctl is not on this host"
    result = inspect(files=expected_files(params["files"]), directories=params["directories"], pidfile=params["pidfile"],
                     services=services, run=run_command)
    return dict(result, changed=False), None
