# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `vipd_check NAME { ... }` block (a vipd extension, not keepalived): parsed by config.py into a
BuiltinCheck (in config.extensions["vipd_check"]) plus a VrrpScript of the same name, so track_script finds
it and the sync-group weight rules apply as to a vrrp_script. Pure: reads the parsed tree, nothing else."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
from dataclasses import dataclass
from typing import Optional

from .config_model import VrrpScript

CHECK_TYPES = ("tcp", "http", "https", "icmp")


@dataclass
class BuiltinCheck:
    """`vipd_check NAME { ... }` (vipd only): an ICMP / TCP / HTTP(S) check usable from track_script."""

    name: str
    type: str = "tcp"
    host: str = ""
    port: Optional[int] = None
    path: str = "/"
    expect_status: int = 200
    expect_body: Optional[str] = None
    tls_verify: bool = True
    server_name: Optional[str] = None
    interval: float = 1.0
    timeout: Optional[float] = None
    rise: int = 1
    fall: int = 1
    weight: int = 0
    weight_reverse: bool = False
    init_fail: bool = False

    @property
    def effective_port(self) -> int:
        return self.port or {"http": 80, "https": 443}.get(self.type, 0)

    def describe(self) -> str:
        if self.type == "icmp":
            return "icmp %s" % self.host
        if self.type == "tcp":
            return "tcp %s:%d" % (self.host, self.effective_port)
        return "%s://%s:%d%s" % (self.type, self.host, self.effective_port, self.path)


BUILTIN_PREFIX = "vipd_check:"  # the VrrpScript.script of a built-in check (never executed)
EXT_KEY = "vipd_check"


def builtins_of(cfg) -> dict:
    return (getattr(cfg, "extensions", None) or {}).get(EXT_KEY, {})


def vipd_check_block(ctx, node):
    name = ctx.block_name(node)
    if name is None or not ctx.need_block(node):
        return
    chk = BuiltinCheck(name=name)
    ok = True
    seen = set()
    for child in node.children:
        k = child.keyword
        seen.add(k)
        if k == "type":
            value = ctx.one(child)
            if value in CHECK_TYPES:
                chk.type = value
            else:
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check type '%s' is not valid: must be one of %s" % (value, ", ".join(CHECK_TYPES)))
        elif k == "host":
            value = ctx.one(child)
            if value is None or not value.replace("-", "").replace(".", "").replace(":", "").replace("_", "").isalnum():
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check host '%s' is not an address or host name" % value)
            else:
                chk.host = value
        elif k == "port":
            value = ctx.integer(child, 1, 65535)
            ok = ok and value is not None
            chk.port = value
        elif k == "path":
            value = ctx.one(child)
            if value is None or not value.startswith("/") or any(c in value for c in " \r\n"):
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check path '%s' must start with '/' and hold no spaces" % value)
            else:
                chk.path = value
        elif k == "expect_status":
            value = ctx.integer(child, 100, 599)
            ok = ok and value is not None
            chk.expect_status = value or 200
        elif k == "expect_body":
            chk.expect_body = ctx.one(child)
        elif k == "tls_verify":
            value = ctx.boolean(child)
            ok = ok and value is not None
            chk.tls_verify = bool(value)
        elif k == "server_name":
            chk.server_name = ctx.one(child)
        elif k in ("interval", "timeout"):
            value = ctx.seconds(child, "0.01", "3600")
            ok = ok and value is not None
            setattr(chk, k, value if value is not None else 1.0)
        elif k in ("rise", "fall"):
            value = ctx.integer(child, 1, 2 ** 31 - 1)
            ok = ok and value is not None
            setattr(chk, k, value or 1)
        elif k == "weight":
            values = child.values
            if not values or len(values) > 2 or (len(values) == 2 and values[1] != "reverse"):
                ctx.error(child, "weight takes N [reverse]")
                ok = False
            else:
                value = ctx.integer(child, -253, 253, text=values[0], name="vipd_check weight")
                ok = ok and value is not None
                chk.weight, chk.weight_reverse = value or 0, len(values) == 2
        elif k == "init_fail":
            chk.init_fail = ctx.flag(child)
        else:
            ctx.unknown(child, "vipd_check")
            ok = False
    if "type" not in seen:
        ctx.error(node, "vipd_check %s has no 'type' (%s)" % (name, ", ".join(CHECK_TYPES)))
        ok = False
    if "host" not in seen:
        ctx.error(node, "vipd_check %s has no 'host'" % name)
        ok = False
    if chk.type == "tcp" and chk.port is None and "type" in seen:
        ctx.error(node, "vipd_check %s of type tcp needs a 'port'" % name)
        ok = False
    if chk.type == "icmp" and chk.host:
        try:
            ipaddress.ip_address(chk.host)
        except ValueError:
            ctx.error(node, "vipd_check %s of type icmp needs an IP address as host, not '%s'" % (name, chk.host))
            ok = False
    if chk.type not in ("http", "https"):
        for k in ("path", "expect_status", "expect_body", "tls_verify", "server_name"):
            if k in seen:
                ctx.warning(node, "vipd_check %s: '%s' has no effect with type %s" % (name, k, chk.type))
    if chk.timeout is None:
        chk.timeout = chk.interval  # keepalived's vrrp_script default
    if name in ctx.config.scripts:
        ctx.error(node, "vipd_check %s: a vrrp_script or vipd_check of that name is already defined" % name)
        return
    if not ok:
        return
    # Registered as a script too, so track_script finds it and the sync-group weight rules apply alike.
    ctx.config.scripts[name] = VrrpScript(name=name, script=BUILTIN_PREFIX + chk.type, interval=chk.interval, timeout=chk.timeout,
                                          weight=chk.weight, weight_reverse=chk.weight_reverse, rise=chk.rise, fall=chk.fall,
                                          init_fail=chk.init_fail, source=(node.file, node.line))
    ctx.config.extensions.setdefault(EXT_KEY, {})[name] = chk


__all__ = ["BuiltinCheck", "BUILTIN_PREFIX", "CHECK_TYPES", "EXT_KEY", "builtins_of", "vipd_check_block"]
