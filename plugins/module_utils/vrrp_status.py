# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live state of the local vipd for vrrp_info: one `status` request over the control socket.

The request itself is vrrp/cli.py's (the daemon's own client), so the protocol lives in one place.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import os
import socket

from .inet import safe_repr
from .vrrp import cli

# errnos meaning "nobody listens there": the daemon is down, which is an answer, not a failure.
NOT_RUNNING = (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTSOCK)


def normalize(inst: dict) -> dict:
    """One instance as vrrp_info returns it (`vips_held` is called `vips`)."""
    out = dict(inst)
    out["vips"] = list(out.pop("vips_held", out.get("vips", [])) or [])
    out.setdefault("master", None)
    out.setdefault("counters", {})
    return out


def read_status(path: str, timeout: float = 5.0) -> dict:
    """{running, instances, daemon} or {running: False, msg}; `error` set when the daemon misbehaves."""
    if not os.path.exists(path):
        return {"running": False, "instances": [], "msg": "vipd is not running: no control socket at %s" % path}
    try:
        reply = cli.control_request(path, "status", timeout=timeout)
    except socket.timeout:
        return {"running": False, "instances": [], "error": "vipd did not answer on %s within %gs" % (path, timeout)}
    except OSError as exc:
        if exc.errno in NOT_RUNNING:
            return {"running": False, "instances": [], "msg": "vipd is not running: %s (%s)" % (exc.strerror or exc, path)}
        return {"running": False, "instances": [], "error": "cannot read %s: %s" % (path, exc)}
    except ValueError as exc:
        return {"running": True, "instances": [], "error": "vipd sent a reply that is not JSON: %s" % safe_repr(str(exc), 200)}
    if not isinstance(reply, dict):
        return {"running": True, "instances": [], "error": "vipd sent an unexpected reply: %s" % safe_repr(reply, 200)}
    if reply.get("ok") is False:
        return {"running": True, "instances": [], "error": "vipd refused status: %s" % safe_repr(reply.get("error") or reply.get("errors"), 200)}
    daemon = dict((k, v) for k, v in reply.items() if k != "instances")
    return {"running": True, "instances": [normalize(i) for i in reply.get("instances") or []], "daemon": daemon}
