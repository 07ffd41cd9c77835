# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`vipd_routed { ... }` inside vrrp_instance (vipd only, keepalived refuses it): a routed VIP.

Hosts in different subnets elect a master with unicast VRRP across routers. The master makes each VIP local on
an interface (loopback by default) and announces it with a kernel host route carrying vipd's own protocol
number, which the host's BGP speaker (FRR, BIRD) redistributes. A backup and a stopped instance hold neither.
No GARP is sent: reachability is the routing protocol's job.

Two routes per VIP, both `proto 201`:
- announce: `VIP/32 dev lo scope host` in table main: what the speaker redistributes (`redistribute kernel`);
- accept:   `local VIP/32 dev lo scope host` in table local: the host receives and answers for the VIP.
The VIP is deliberately not an interface address: FRR's zebra would see an address on lo as a *connected* /32,
which hides the kernel route of the same prefix, and an address cannot stop attracting traffic (BGP withdraw)
while still accepting what is on its way, which a make-before-break stop needs. `ip route show table local proto
201` lists the VIPs held.

    vipd_routed {
        interface lo          # where the VIP is made local while master (default lo)
        protocol 201          # rtnetlink protocol of the host route (default 201; FRR's own 186-198 refused)
        metric 4197           # route metric: FRR's `match metric` can select vipd's routes by it (default none)
        min_ttl 254           # lowest TTL / hop limit accepted from a peer (default 255: on-link peers only)
        withdraw_delay 2      # on stop: the route is kept this long after the new master is heard, then the VIP as long
    }

This module is the config model, the parser and the pure decisions (which routes, which TTL is dropped);
the daemon does the I/O through routes.py and netio.py.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
from dataclasses import dataclass
from decimal import Decimal
from typing import List, Optional

from . import config
from .config_routes import RouteSpec

EXT_KEY = "vipd_routed"
DEFAULT_PROTOCOL = 201
DEFAULT_WITHDRAW_DELAY = 2.0
RT_SCOPE_LINK, RT_SCOPE_HOST = 253, 254
RT_TABLE_LOCAL = 255
# Protocol numbers whose routes another daemon owns: FRR's zebra treats 11 and 186-198 as its own (it never
# redistributes them and sweeps them at start), BIRD uses 12, keepalived 18 (vipd's virtual_routes too).
RESERVED_PROTOCOLS = dict([(0, "unspec"), (1, "redirect"), (2, "kernel"), (3, "boot"), (11, "zebra"), (12, "bird"),
                           (18, "keepalived")] + [(n, "FRR") for n in range(186, 199)])


@dataclass
class Routed:
    """The parsed block."""

    interface: str = "lo"
    protocol: int = DEFAULT_PROTOCOL
    metric: Optional[int] = None
    min_ttl: int = 255
    withdraw_delay: float = DEFAULT_WITHDRAW_DELAY


# ---------------------------------------------------------------- decisions (pure)

def of(cfg) -> Optional[Routed]:
    """The routed settings of an Instance, or None for an ordinary (ARP) VIP instance."""
    return (getattr(cfg, "extensions", None) or {}).get(EXT_KEY)


def host_route(routed: Routed, cidr: str) -> RouteSpec:
    """The kernel route announcing one VIP: `VIP/32 dev lo proto 201 scope host [metric N]`, no tracking."""
    iface = ipaddress.ip_interface(cidr)
    return RouteSpec(family=iface.version, dst=str(iface.network), dev=routed.interface, protocol=routed.protocol,
                     metric=routed.metric, scope=RT_SCOPE_HOST if routed.interface == "lo" else RT_SCOPE_LINK, no_track=True)


def local_route(routed: Routed, cidr: str) -> RouteSpec:
    """The route that makes one VIP local: `local VIP/32 dev lo table local proto 201 scope host`."""
    iface = ipaddress.ip_interface(cidr)
    return RouteSpec(family=iface.version, dst=str(iface.network), type="local", dev=routed.interface, table=RT_TABLE_LOCAL,
                     protocol=routed.protocol, scope=RT_SCOPE_HOST, no_track=True)


def announce_routes(cfg) -> List[RouteSpec]:
    routed = of(cfg)
    return [host_route(routed, s.cidr) for s in list(cfg.vips) + list(cfg.excluded_vips)] if routed is not None else []


def accept_routes(cfg) -> List[RouteSpec]:
    routed = of(cfg)
    return [local_route(routed, s.cidr) for s in list(cfg.vips) + list(cfg.excluded_vips)] if routed is not None else []


def routes_of(cfg) -> List[RouteSpec]:
    """What a routed master installs (announce routes first: deleted in this order, the network stops sending
    before the host stops accepting); [] for an ARP instance."""
    return announce_routes(cfg) + accept_routes(cfg)


def ttl_drop(cfg, ttl: int) -> bool:
    """Whether a routed instance drops an advert received with this TTL / hop limit (-1: unknown, kept as keepalived)."""
    routed = of(cfg)
    return routed is not None and ttl is not None and ttl >= 0 and ttl < routed.min_ttl


def withdraw_delay(cfg) -> float:
    routed = of(cfg)
    return routed.withdraw_delay if routed is not None else 0.0


# ---------------------------------------------------------------- parser

def _block(ctx, node, inst):
    if node.args:
        ctx.error(node, "vipd_routed takes no value, only a '{ ... }' block")
        return
    if not ctx.need_block(node):
        return
    if EXT_KEY in inst.extensions:
        ctx.error(node, "vipd_routed is given twice in vrrp_instance %s" % ctx.show(node, inst.name, True))
        return
    routed = Routed()
    ok = True
    seen = set()
    for child in node.children:
        k = child.keyword
        if k in seen:
            ctx.error(child, "vipd_routed: '%s' is given twice" % k)
            ok = False
            continue
        seen.add(k)
        if k == "interface":
            value = ctx.one(child)
            value = ctx.ifname(child, value) if value is not None else None
            ok = ok and value is not None
            routed.interface = value or routed.interface
        elif k == "protocol":
            value = ctx.integer(child, 0, 255, name="vipd_routed protocol")
            if value is not None and value in RESERVED_PROTOCOLS:
                ctx.error(child, "vipd_routed protocol %d is %s's: pick one no routing daemon owns (default %d)"
                          % (value, RESERVED_PROTOCOLS[value], DEFAULT_PROTOCOL))
                value = None
            ok = ok and value is not None
            routed.protocol = value if value is not None else routed.protocol
        elif k == "metric":
            value = ctx.integer(child, 0, 2 ** 32 - 1, name="vipd_routed metric")
            ok = ok and value is not None
            routed.metric = value
        elif k == "min_ttl":
            value = ctx.integer(child, 1, 255, name="vipd_routed min_ttl")
            ok = ok and value is not None
            routed.min_ttl = value if value is not None else routed.min_ttl
        elif k == "withdraw_delay":
            value = ctx.decimal(child, Decimal(0), Decimal(60), name="vipd_routed withdraw_delay")
            ok = ok and value is not None
            routed.withdraw_delay = float(value) if value is not None else routed.withdraw_delay
        else:
            ctx.unknown(child, "vipd_routed")
            ok = False
    if ok:
        inst.extensions[EXT_KEY] = routed
        # where the block is, for validate(): kept on the parse context, not in the model (fingerprints)
        ctx.__dict__.setdefault("routed_lines", {})[inst.name] = node


def _render(inst) -> List[str]:
    routed = of(inst)
    if routed is None:
        return []
    out = ["vipd_routed {", "    interface %s" % routed.interface, "    protocol %d" % routed.protocol]
    if routed.metric is not None:
        out.append("    metric %d" % routed.metric)
    out.append("    min_ttl %d" % routed.min_ttl)
    out.append("    withdraw_delay %s" % ("%g" % routed.withdraw_delay))
    out.append("}")
    return out


def validate(ctx):
    """A routed instance needs unicast peers (multicast adverts do not cross routers) and host-prefix VIPs that
    live on the routed interface; use_vmac has no meaning there."""
    for inst in ctx.config.instances.values():
        routed = of(inst)
        if routed is None:
            continue
        where = getattr(ctx, "routed_lines", {}).get(inst.name)
        if where is None:
            continue
        name = ctx.show(where, inst.name, True)
        if not inst.unicast_peers:
            ctx.error(where, "vipd_routed in vrrp_instance %s needs unicast_peer: multicast adverts do not cross routers" % name)
        if inst.use_vmac is not None:
            ctx.error(where, "vipd_routed in vrrp_instance %s cannot be combined with use_vmac (a routed VIP has no MAC)" % name)
        for spec in list(inst.vips) + list(inst.excluded_vips):
            iface = ipaddress.ip_interface(spec.cidr)
            if iface.network.prefixlen != iface.max_prefixlen:
                ctx.error(where, "vipd_routed: VIP %s of vrrp_instance %s must be a host address (/%d): it is announced as "
                          "a host route" % (ctx.show(where, spec.cidr, True), name, iface.max_prefixlen))
            if spec.dev and spec.dev != routed.interface:
                ctx.error(where, "vipd_routed: VIP %s of vrrp_instance %s has dev %s, but routed VIPs live on %s"
                          % (ctx.show(where, spec.cidr, True), name, ctx.show(where, spec.dev, True), routed.interface))


config.register_instance_keyword(EXT_KEY, _block, _render)
config.register_validator(validate)
