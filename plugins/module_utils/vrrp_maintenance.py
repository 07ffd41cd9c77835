# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of floating.vip.vrrp_maintenance: plan from the live status, ask vipd, wait for the handover.

The request is vipd's own (vrrp/cli.py, control.py) and the plan is the daemon's (vrrp/maintenance.py), so
check mode predicts exactly what the daemon does.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import socket
import time

from .inet import safe_repr
from .vrrp import cli
from .vrrp import maintenance as store_mod
from . import vrrp_status

POLL = 0.1


class MaintenanceFailed(Exception):
    def __init__(self, msg, **result):
        super().__init__(msg)
        self.msg = msg
        self.result = result


def _covered(maint: dict, names) -> list:
    return sorted(n for n in names if maint.get("all") or n in (maint.get("instances") or []))


def _status(path, timeout):
    status = vrrp_status.read_status(path, timeout=timeout)
    if status.get("error"):
        raise MaintenanceFailed(status["error"])
    if not status.get("running"):
        raise MaintenanceFailed(status.get("msg") or "vipd is not running")
    return status


def plan(status: dict, enable: bool, instances) -> dict:
    """{names, before, after, changed} for `instances` ([] = every instance) from a live status."""
    known = [i["name"] for i in status["instances"]]
    unknown = [n for n in instances if n not in known]
    if unknown:
        raise MaintenanceFailed("no instance %s in vipd (configured: %s)" % (
            ", ".join(safe_repr(n, 80) for n in unknown), ", ".join(known) or "none"))
    maint = (status.get("daemon") or {}).get("maintenance") or {}
    store = store_mod.Store(None)
    store.all, store.names = bool(maint.get("all")), list(maint.get("instances") or [])
    every, names = store.planned(enable, instances, not instances, known)
    before = _covered(maint, known)
    after = _covered({"all": every, "instances": names}, known)
    return {"before": before, "after": after, "changed": before != after, "targets": list(instances) or known}


def summary(status: dict) -> dict:
    """Per instance: state, maintenance, master, and handed_over (another router is master: this host holds no VIP)."""
    return dict((i["name"], {"state": i.get("state"), "maintenance": bool(i.get("maintenance")), "master": i.get("master"),
                             "handed_over": i.get("state") == "BACKUP" and i.get("master") not in (None, i.get("source_ip"))})
                for i in status["instances"])


def run(path: str, enable: bool, instances, check_mode: bool, wait: bool, timeout: float) -> dict:
    """The module's result (changed, instances, maintenance, diff, warnings); MaintenanceFailed on failure."""
    status = _status(path, min(timeout, 10.0))
    planned = plan(status, enable, list(instances))
    result = {"changed": planned["changed"], "warnings": [],
              "diff": {"before": {"maintenance": planned["before"]}, "after": {"maintenance": planned["after"]}}}
    if check_mode:
        result.update(instances=summary(status), maintenance=planned["after"])
        return result
    if planned["changed"]:
        arguments = {"state": "on" if enable else "off"}
        arguments.update({"instances": " ".join(instances)} if instances else {"all": True})
        try:
            reply = cli.control_request(path, "maintenance", timeout=min(timeout, 10.0), arguments=arguments)
        except (OSError, ValueError, socket.timeout) as exc:
            raise MaintenanceFailed("cannot reach vipd at %s: %s" % (path, exc))
        if not reply.get("ok"):
            raise MaintenanceFailed("vipd refused maintenance %s: %s" % (arguments["state"], safe_repr(reply.get("error"), 300)))
    status = _wait(path, planned["targets"], enable, timeout) if wait else _status(path, min(timeout, 10.0))
    maint = (status.get("daemon") or {}).get("maintenance") or {}
    result.update(instances=summary(status), maintenance=_covered(maint, [i["name"] for i in status["instances"]]))
    if enable:
        for inst in status["instances"]:
            if inst["name"] in planned["targets"] and inst.get("state") == "BACKUP" and inst.get("master") in (None, inst.get("source_ip")):
                result["warnings"].append("%s: no other router took over; its VIPs are down until maintenance is off" % inst["name"])
    return result


def execute(params, check_mode: bool, diff: bool, warn) -> tuple:
    """The vrrp_maintenance module's work on its params: (result, None) or (result, failure message); warn(text)
    gets each warning, and the result has a diff only when `diff` is asked for."""
    bad = [n for n in params["instances"] if not store_mod.valid_name(n)]
    if bad:
        return {}, "instance names are single words without blanks or control characters: %s" % ", ".join(repr(n) for n in bad)
    if params["timeout"] <= 0:
        return {}, "timeout must be positive"
    try:
        result = run(params["control_socket"], params["state"] == "enabled", params["instances"], check_mode,
                     params["wait"], params["timeout"])
    except MaintenanceFailed as exc:
        return exc.result, exc.msg
    for warning in result.pop("warnings"):
        warn(warning)
    if not diff:
        result.pop("diff")
    return result, None


def _settled(inst: dict, enable: bool) -> bool:
    state = inst.get("state")
    if enable:
        return state != "MASTER"  # the handover is done once this host no longer holds the VIPs
    return state in ("MASTER", "BACKUP", "FAULT")  # FAULT is its own problem, not maintenance's


def _wait(path: str, targets, enable: bool, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    for _attempt in range(int(timeout / POLL) + 2):
        status = _status(path, 5.0)
        pending = [i["name"] for i in status["instances"] if i["name"] in targets and not _settled(i, enable)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(POLL)
    if pending:
        raise MaintenanceFailed("%s still %s after %gs" % (", ".join(pending), "MASTER" if enable else "starting", timeout),
                                instances=summary(status))
    return status
