# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A static routed VIP's host route (vip_secondary `route`), as each persistence back end writes it.

The route is what a BGP speaker redistributes: `VIP/32 dev lo proto 201 scope host [metric N]` (scope link on
another interface), the same form vipd's routed instances install (vrrp/routed.py). Every word is checked here.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex
from typing import List, Optional

from ..record import Record
from . import values
from .atomic import PersistError

RESERVED_PROTOCOLS = frozenset([0, 1, 2, 3, 11, 12, 18] + list(range(186, 199)))  # as vrrp/routed.py


class HostRoute(Record):
    """ifname, cidr (a host address), protocol (default 201), metric (or None); checked when made.
    A Record, not a dataclass: vip_secondary runs on Python 3.6 (docs/development.md, "Supported Pythons")."""
    FIELDS = ("ifname", "cidr", "protocol", "metric")
    DEFAULTS = {"protocol": 201, "metric": None}

    def __init__(self, *args, **kwargs):
        super(HostRoute, self).__init__(*args, **kwargs)
        values.ifname(self.ifname)
        iface = values.interface(self.cidr)
        if iface.network.prefixlen != iface.max_prefixlen:
            raise PersistError("route: %s is not a host address (/%d): a routed VIP is announced as a host route"
                               % (iface.with_prefixlen, iface.max_prefixlen))
        if isinstance(self.protocol, bool) or not isinstance(self.protocol, int) or not 0 <= self.protocol <= 255:
            raise PersistError("route protocol must be an integer from 0 to 255, not %s" % values.safe_repr(self.protocol))
        if self.protocol in RESERVED_PROTOCOLS:
            raise PersistError("route protocol %d belongs to a routing daemon (kernel, zebra, BIRD, keepalived or FRR's "
                               "186-198): pick another (default 201)" % self.protocol)
        if self.metric is not None and (isinstance(self.metric, bool) or not isinstance(self.metric, int)
                                        or not 0 <= self.metric <= 2 ** 32 - 1):
            raise PersistError("route metric must be an integer from 0 to 4294967295, not %s" % values.safe_repr(self.metric))

    @property
    def family(self) -> int:
        return values.interface(self.cidr).version

    @property
    def dst(self) -> str:
        return str(values.interface(self.cidr).network)

    @property
    def scope(self) -> str:
        return "host" if self.ifname == "lo" else "link"

    def args(self) -> List[str]:
        """iproute2 words after `ip route add`."""
        out = [self.dst, "dev", self.ifname, "proto", str(self.protocol), "scope", self.scope]
        return out + (["metric", str(self.metric)] if self.metric is not None else [])

    def command(self, verb: str = "replace") -> str:
        words = ["ip"] + (["-6"] if self.family == 6 else []) + ["route", verb] + self.args()
        return " ".join(shlex.quote(w) for w in words)

    def rc_local_line(self) -> str:
        return self.command() + " || true"

    def ifupdown_lines(self) -> List[str]:
        return ["    up %s" % self.command(), "    down %s || true" % self.command("del")]

    def networkd_section(self) -> str:
        return "[Route]\nDestination=%s\nScope=%s\nProtocol=%d\n%s" % (
            self.dst, self.scope, self.protocol, "Metric=%d\n" % self.metric if self.metric is not None else "")

    def route_file_path(self, ifcfg_dir: str) -> str:
        return "%s/%s-%s" % (ifcfg_dir.rstrip("/"), "route" if self.family == 4 else "route6", values.ifname(self.ifname))


def render_route_file(old_text: Optional[str], route: HostRoute, present: bool) -> Optional[str]:
    """initscripts' route-IFACE file with our line added (present) or removed; other lines kept as they are.
    None when the file would be empty and did not exist."""
    ours = " ".join(route.args())
    lines = (old_text or "").splitlines()
    # a line for the same destination with our protocol is ours (an older metric, for instance)
    kept = [ln for ln in lines if not (ln.split()[:1] == [route.dst] and "proto %d" % route.protocol in ln)]
    if present:
        kept.append(ours)
    if not kept and old_text is None:
        return None
    text = "".join(ln + "\n" for ln in kept)
    return old_text if old_text == text else text
