# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's route and rule syntax: virtual_routes / virtual_rules (per instance), static_ipaddress,
static_routes, static_rules (top level). Pure parsing into RouteSpec / RuleSpec; routes.py applies them.

Follows keepalived 2.2.7's alloc_route() (vrrp_iproute.c) and alloc_rule() (vrrp_iprule.c): the same
words, defaults (table main, type unicast, protocol keepalived unless no_track, scope universe) and
checks. Options keepalived accepts but vipd does not implement (nexthop, encap, route metrics such as
mtu, vrf, track_group, ...) are refused with the reason, never ignored.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from . import config

RTPROT_KEEPALIVED = 18
RT_TABLE_MAIN = 254
# keepalived 2.2.7 vrrp_iprule.h RULE_START_PRIORITY: rules without a preference count down from here.
RULE_START_PRIORITY = 30000
RT_TABLES_FILE = "/etc/iproute2/rt_tables"

ROUTE_TYPES = {"unicast": 1, "local": 2, "broadcast": 3, "brd": 3, "anycast": 4, "multicast": 5, "blackhole": 6,
               "unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10, "xresolve": 11}
# route types whose netlink request carries neither gateway nor device in keepalived's examples
RULE_ACTIONS = {"blackhole": 6, "unreachable": 7, "prohibit": 8}  # FR_ACT_*
FR_ACT_TO_TBL, FR_ACT_GOTO, FR_ACT_NOP = 1, 2, 3
PROTOCOLS = {"none": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10,
             "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18,
             "babel": 42}
SCOPE_NAMES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
TABLE_NAMES = {"default": 253, "main": 254, "local": 255}

# Options keepalived's alloc_route() knows that vipd does not implement: refused, with the reason.
ROUTE_REFUSED = {
    "nexthop": "multipath routes", "or": "multipath routes", "encap": "lightweight tunnel encapsulation",
    "as": "MPLS", "expires": "route expiry", "mtu": "route metrics", "hoplimit": "route metrics",
    "advmss": "route metrics", "rtt": "route metrics", "rttvar": "route metrics", "reordering": "route metrics",
    "window": "route metrics", "cwnd": "route metrics", "ssthresh": "route metrics", "realms": "route realms",
    "rto_min": "route metrics", "initcwnd": "route metrics", "initrwnd": "route metrics", "features": "route metrics",
    "quickack": "route metrics", "congctl": "route metrics", "pref": "IPv6 router preference",
    "ttl-propagate": "MPLS", "fastopen_no_cookie": "route metrics", "track_group": "static track groups",
    "vrf": "VRF tables",
}
RULE_REFUSED = {
    "realms": "rule realms", "suppress_prefixlength": "rule suppressors", "sup_pl": "rule suppressors",
    "suppress_ifgroup": "rule suppressors", "sup_group": "rule suppressors", "tunnel-id": "tunnel ids",
    "uidrange": "uid ranges", "l3mdev": "l3mdev rules", "ipproto": "port/protocol selectors",
    "sport": "port/protocol selectors", "dport": "port/protocol selectors", "track_group": "static track groups",
}


class RouteSyntaxError(ValueError):
    """One problem with a route or rule line; str() is the reason (words shown via the config's show())."""


@dataclass(frozen=True)
class RouteSpec:
    """One keepalived route line, normalised."""

    family: int
    dst: str  # network in CIDR form
    type: str = "unicast"
    src: Optional[str] = None  # preferred source (RTA_PREFSRC)
    from_: Optional[str] = None  # IPv6 source prefix (RTA_SRC)
    via: Optional[str] = None
    dev: Optional[str] = None
    table: int = RT_TABLE_MAIN
    metric: Optional[int] = None
    scope: Optional[int] = None
    protocol: int = RTPROT_KEEPALIVED
    tos: Optional[int] = None
    onlink: bool = False
    no_track: bool = False
    mode: str = "prepend"  # add (NLM_F_EXCL), append (NLM_F_APPEND) or keepalived's default prepend

    def render(self):
        words = []
        if self.type != "unicast":
            words.append(self.type)
        if self.dst == "::/0":
            words.append("inet6")  # "default" alone reads as IPv4 (hypothesis: "default inet6" came back IPv4)
        words.append("default" if self.dst in ("0.0.0.0/0", "::/0") else self.dst)
        if self.from_:
            words += ["from", self.from_]
        if self.src:
            words += ["src", self.src]
        if self.via:
            words += ["via", self.via]
        if self.dev:
            words += ["dev", self.dev]
        if self.table != RT_TABLE_MAIN:
            words += ["table", str(self.table)]
        if self.metric is not None:
            words += ["metric", str(self.metric)]
        if self.scope is not None:
            words += ["scope", str(self.scope)]
        if self.tos is not None:
            words += ["tos", str(self.tos)]
        if self.protocol != RTPROT_KEEPALIVED:
            words += ["protocol", str(self.protocol)]
        if self.onlink:
            words.append("onlink")
        if self.mode != "prepend":
            words.append(self.mode)
        if self.no_track:
            words.append("no_track")
        return " ".join(words)


@dataclass(frozen=True)
class RuleSpec:
    """One keepalived rule line, normalised."""

    family: int
    priority: int
    action: int = FR_ACT_TO_TBL
    table: int = 0
    from_: Optional[str] = None
    to: Optional[str] = None
    invert: bool = False
    tos: Optional[int] = None
    fwmark: Optional[int] = None
    fwmask: Optional[int] = None
    iif: Optional[str] = None
    oif: Optional[str] = None
    goto: Optional[int] = None
    protocol: Optional[int] = RTPROT_KEEPALIVED
    no_track: bool = False

    def render(self):
        words = ["inet6" if self.family == 6 else "inet"]
        if self.from_:
            words += ["from", self.from_]
        if self.to:
            words += ["to", self.to]
        if self.invert:
            words.append("not")
        words += ["preference", str(self.priority)]
        if self.tos is not None:
            words += ["tos", str(self.tos)]
        if self.fwmark is not None:
            words += ["fwmark", "%d/%d" % (self.fwmark, self.fwmask) if self.fwmask is not None else str(self.fwmark)]
        if self.iif:
            words += ["iif", self.iif]
        if self.oif:
            words += ["oif", self.oif]
        if self.protocol is not None and self.protocol != RTPROT_KEEPALIVED:
            words += ["protocol", str(self.protocol)]
        if self.action == FR_ACT_TO_TBL:
            words += ["table", str(self.table)]
        elif self.action == FR_ACT_GOTO:
            words += ["goto", str(self.goto)]
        elif self.action == FR_ACT_NOP:
            words.append("nop")
        else:
            words.append([k for k, v in RULE_ACTIONS.items() if v == self.action][0])
        if self.no_track:
            words.append("no_track")
        return " ".join(words)


# ---------------------------------------------------------------- value readers

def _uint(text, hi, what):
    """keepalived's get_u32/read_unsigned: decimal (or 0x hex) without a sign, 0..hi."""
    if not re.match(r"^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$", text or ""):
        raise RouteSyntaxError("invalid %s" % what)
    value = int(text, 0) if text.lower().startswith("0x") else int(text, 10)
    if value > hi:
        raise RouteSyntaxError("%s out of range (0-%d)" % (what, hi))
    return value


def read_rt_tables(path=RT_TABLES_FILE):
    """{name: id} from an iproute2 rt_tables file (missing or unreadable: {})."""
    names = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                words = line.split("#", 1)[0].split()
                if len(words) >= 2 and re.match(r"^[0-9]{1,10}$", words[0]) and int(words[0]) <= 0xFFFFFFFF:
                    names.setdefault(words[1], int(words[0]))
    except (OSError, ValueError):
        pass
    return names


def _table(text, tables):
    if text in TABLE_NAMES:
        return TABLE_NAMES[text]
    if text in tables:
        return tables[text]
    try:
        return _uint(text, 0xFFFFFFFF, "routing table")
    except RouteSyntaxError:
        raise RouteSyntaxError("routing table not found")


def _named(text, names, hi, what):
    if text in names:
        return names[text]
    return _uint(text, hi, what)


def _prefix(text, what):
    """keepalived parse_route(): `default`, ADDR or ADDR/LEN -> (family or 0, network CIDR)."""
    if text in ("default", "any", "all"):
        return 0, None
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise RouteSyntaxError("invalid %s" % what)
    if "/" in text and not re.match(r"^[^/]+/[0-9]{1,3}$", text):
        raise RouteSyntaxError("invalid %s" % what)
    return net.version, str(net)


def _address(text, what):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise RouteSyntaxError("invalid %s" % what)


def _family(current, new, what="route"):
    if new == 0 or current == new:
        return current or new
    if current == 0:
        return new
    raise RouteSyntaxError("cannot mix IPv4 and IPv6 addresses for %s" % what)


def _ifname(text, what):
    if not config.inet.is_ifname(text):
        raise RouteSyntaxError("invalid %s (%s)" % (what, config.inet.IFNAME_RULE))
    return text


# ---------------------------------------------------------------- routes

def parse_route(words, tables=None):
    """A route line's words -> (RouteSpec, [warnings]); RouteSyntaxError on anything keepalived refuses or
    vipd cannot do."""
    tables = read_rt_tables() if tables is None else tables
    warnings = []
    family = 0
    kind = "unicast"
    dst = None
    fields = {}
    i = 0
    n = len(words)

    def arg(name):
        if i + 1 >= n:
            raise RouteSyntaxError("option '%s' needs a value" % name)
        return words[i + 1]

    while i < n:
        word = words[i]
        if word in ("inet", "inet6"):
            family = _family(family, 4 if word == "inet" else 6)
            i += 1
            continue
        if word == "src":
            ip = _address(arg(word), "route src address")
            family = _family(family, ip.version)
            fields["src"] = str(ip)
            i += 2
            continue
        if word in ("via", "gw"):
            if word == "gw":
                warnings.append("\"gw\" for routes is deprecated. Please use \"via\"")
            value = arg(word)
            step = 2
            if value in ("inet", "inet6"):
                want = 4 if value == "inet" else 6
                family = _family(family, want)
                i += 1
                value = arg(word)
            ip = _address(value, "route via address")
            family = _family(family, ip.version)
            fields["via"] = str(ip)
            i += step
            continue
        if word == "from":
            fam, net = _prefix(arg(word), "route from address")
            if fam != 6:
                raise RouteSyntaxError("route from address only supported with IPv6")
            family = _family(family, fam)
            fields["from_"] = net
            i += 2
            continue
        if word in ("tos", "dsfield"):
            fields["tos"] = _uint(arg(word), 255, "TOS value")
            i += 2
            continue
        if word == "table":
            fields["table"] = _table(arg(word), tables)
            i += 2
            continue
        if word == "protocol":
            fields["protocol"] = _named(arg(word), PROTOCOLS, 255, "protocol")
            i += 2
            continue
        if word == "scope":
            fields["scope"] = _named(arg(word), SCOPE_NAMES, 255, "scope")
            i += 2
            continue
        if word in ("metric", "priority", "preference"):
            fields["metric"] = _uint(arg(word), 0xFFFFFFFF, "metric")
            i += 2
            continue
        if word in ("dev", "oif"):
            fields["dev"] = _ifname(arg(word), "route interface")
            i += 2
            continue
        if word == "onlink":
            fields["onlink"] = True
            i += 1
            continue
        if word in ("add", "prepend", "append"):
            fields["mode"] = word
            i += 1
            continue
        if word == "no_track":
            fields["no_track"] = True
            i += 1
            continue
        if word in ROUTE_REFUSED:
            raise RouteSyntaxError("route option '%s' (%s) is not implemented by vipd" % (word, ROUTE_REFUSED[word]))
        # [to] [TYPE] PREFIX
        if word == "to":
            i += 1
            if i >= n:
                raise RouteSyntaxError("option 'to' needs a value")
            word = words[i]
        if word in ROUTE_TYPES:
            kind = "broadcast" if word == "brd" else word
            i += 1
            if i >= n:
                raise RouteSyntaxError("route type '%s' needs a destination" % kind)
            word = words[i]
        fam, net = _prefix(word, "route destination (unknown route keyword)")
        family = _family(family, fam)
        dst = net if net is not None else ""
        i += 1
    if dst is None:
        raise RouteSyntaxError("route must have a destination")
    family = family or 4
    if dst == "":
        dst = "0.0.0.0/0" if family == 4 else "::/0"
    if "from_" in fields and family != 6:
        raise RouteSyntaxError("route from address only supported with IPv6")
    no_track = fields.get("no_track", False)
    if not no_track:
        if "protocol" in fields and fields["protocol"] != RTPROT_KEEPALIVED:
            warnings.append("route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol")
        fields["protocol"] = RTPROT_KEEPALIVED
        if "dev" not in fields:
            # keepalived: "cannot track route with no interface specified, not tracking"
            no_track = True
    fields["no_track"] = no_track
    return RouteSpec(family=family, dst=dst, type=kind, **fields), warnings


# ---------------------------------------------------------------- rules

def parse_rule(words, tables=None, counters=None):
    """A rule line's words -> (RuleSpec, [warnings]). counters: {4: next, 6: next} automatic preferences
    (keepalived counts down from 30000 per family over the whole config)."""
    tables = read_rt_tables() if tables is None else tables
    counters = {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY} if counters is None else counters
    warnings = []
    family = 0
    fields = {}
    action = None
    i = 0
    n = len(words)

    def arg(name):
        if i + 1 >= n:
            raise RouteSyntaxError("option '%s' needs a value" % name)
        return words[i + 1]

    def set_action(value):
        if action is not None:
            raise RouteSyntaxError("cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule")
        return value

    while i < n:
        word = words[i]
        if word in ("inet", "inet6"):
            family = _family(family, 4 if word == "inet" else 6, "rule")
            i += 1
        elif word in ("from", "to"):
            fam, net = _prefix(arg(word), "rule %s address" % word)
            family = _family(family, fam, "rule")
            fields["from_" if word == "from" else "to"] = net
            i += 2
        elif word in ("table", "lookup"):
            table = _table(arg(word), tables)
            if table == 0:
                raise RouteSyntaxError("table 0 is not valid")
            action = set_action(FR_ACT_TO_TBL)
            fields["table"] = table
            i += 2
        elif word == "not":
            fields["invert"] = True
            i += 1
        elif word in ("preference", "order", "priority"):
            fields["priority"] = _uint(arg(word), 0xFFFFFFFF, "rule preference")
            i += 2
        elif word in ("tos", "dsfield"):
            fields["tos"] = _uint(arg(word), 255, "TOS value")
            i += 2
        elif word == "fwmark":
            mark, _slash, mask = arg(word).partition("/")
            fields["fwmark"] = _uint(mark, 0xFFFFFFFF, "rule fwmark")
            if _slash:
                fields["fwmask"] = _uint(mask, 0xFFFFFFFF, "rule fwmark mask")
            i += 2
        elif word in ("dev", "iif"):
            fields["iif"] = _ifname(arg(word), "rule interface")
            i += 2
        elif word == "oif":
            fields["oif"] = _ifname(arg(word), "rule interface")
            i += 2
        elif word == "protocol":
            fields["protocol"] = _named(arg(word), PROTOCOLS, 255, "protocol")
            i += 2
        elif word == "no_track":
            fields["no_track"] = True
            i += 1
        elif word in RULE_REFUSED:
            raise RouteSyntaxError("rule option '%s' (%s) is not implemented by vipd" % (word, RULE_REFUSED[word]))
        else:
            if word == "type":
                i += 1
                if i >= n:
                    raise RouteSyntaxError("option 'type' needs a value")
                word = words[i]
            if word == "goto":
                fields["goto"] = _uint(arg(word), 0xFFFFFFFF, "goto target")
                action = set_action(FR_ACT_GOTO)
                i += 2
            elif word == "nop":
                action = set_action(FR_ACT_NOP)
                i += 1
            elif word in RULE_ACTIONS:
                action = set_action(RULE_ACTIONS[word])
                i += 1
            elif word in ROUTE_TYPES:
                raise RouteSyntaxError("invalid rule action")
            else:
                raise RouteSyntaxError("unknown rule option")
    if action == FR_ACT_GOTO:
        if "priority" not in fields:
            raise RouteSyntaxError("invalid rule - goto target specified without preference")
        if fields["priority"] >= fields["goto"]:
            raise RouteSyntaxError("invalid rule - preference >= goto target")
    if action is None:
        raise RouteSyntaxError("no action specified for rule")
    if not fields.get("no_track"):
        if fields.get("protocol", RTPROT_KEEPALIVED) != RTPROT_KEEPALIVED:
            warnings.append("rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol")
        fields["protocol"] = RTPROT_KEEPALIVED
    elif "protocol" not in fields:
        fields["protocol"] = None
    family = family or 4
    if "priority" not in fields:
        fields["priority"] = counters[family]
        counters[family] -= 1
        warnings.append("rule has no preference specified - setting to %d. This is probably not what you want."
                        % fields["priority"])
    return RuleSpec(family=family, action=action, **fields), warnings


# ---------------------------------------------------------------- config hooks

def _lines(ctx, node):
    if not ctx.need_block(node):
        return []
    if node.args:
        ctx.error(node, "keyword '%s' takes no value before '{'" % node.keyword)
    return [line for line in node.children if ctx.no_block(line)]


def _parse_block(ctx, node, what):
    tables = getattr(ctx, "rt_tables", None)
    if tables is None:
        tables = ctx.rt_tables = read_rt_tables()
    counters = getattr(ctx, "rule_counters", None)
    if counters is None:
        counters = ctx.rule_counters = {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY}
    out = []
    for line in _lines(ctx, node):
        words = [line.keyword] + list(line.values)
        try:
            if what == "route":
                spec, warnings = parse_route(words, tables)
            else:
                spec, warnings = parse_rule(words, tables, counters)
        except RouteSyntaxError as exc:
            ctx.error(line, "%s in %s: %s" % (exc, node.keyword, ctx.show(line, " ".join(words))))
            continue
        for warning in warnings:
            ctx.warning(line, warning)
        out.append(spec)
    return out


def _virtual_routes(ctx, node, inst):
    inst.extensions.setdefault("virtual_routes", []).extend(_parse_block(ctx, node, "route"))


def _virtual_rules(ctx, node, inst):
    inst.extensions.setdefault("virtual_rules", []).extend(_parse_block(ctx, node, "rule"))


def _static_routes(ctx, node):
    ctx.config.extensions.setdefault("static_routes", []).extend(_parse_block(ctx, node, "route"))


def _static_rules(ctx, node):
    ctx.config.extensions.setdefault("static_rules", []).extend(_parse_block(ctx, node, "rule"))


DEFAULT_INTERFACE = "eth0"  # keepalived's DFLT_INT


def _static_ipaddress(ctx, node):
    found = ctx.config.extensions.setdefault("static_ipaddress", [])
    for line in _lines(ctx, node):
        vip = config._vip_line(ctx, line, None)  # pylint: disable=protected-access
        if vip is None:
            continue
        if not vip.dev:
            # keepalived 2.2.7 get_default_if(): global default_interface, else "eth0" (DFLT_INT)
            vip.dev = ctx.config.global_defs.default_interface or DEFAULT_INTERFACE
        found.append(vip)


def _render_routes(inst):
    out = []
    for key in ("virtual_routes", "virtual_rules"):
        specs = inst.extensions.get(key) or []
        if specs:
            out.append("%s {" % key)
            out.extend("    " + spec.render() for spec in specs)
            out.append("}")
    return out


def routes_of(obj, key):
    """The parsed specs under key ("virtual_routes", "static_rules", ...) of an Instance or a Config."""
    return list((getattr(obj, "extensions", None) or {}).get(key) or [])


config.register_instance_keyword("virtual_routes", _virtual_routes, _render_routes)
config.register_instance_keyword("virtual_rules", _virtual_rules, None)
config.register_block("static_routes", _static_routes)
config.register_block("static_rules", _static_rules)
config.register_block("static_ipaddress", _static_ipaddress)
