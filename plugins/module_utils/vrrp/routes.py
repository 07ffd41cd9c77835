# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routes and policy rules through netlink, as keepalived 2.2.7 sends them (vrrp_iproute.c netlink_route(),
vrrp_iprule.c netlink_rule()): the requests are built from config_routes.RouteSpec / RuleSpec.

Each call is a short blocking exchange on its own rtnetlink socket (addresses._Rtnl), in the caller's
network namespace. Adding what is already there and deleting what is already gone are not errors.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import ipaddress
import socket
import struct

from .. import addresses
from .. import inet
from .config_routes import FR_ACT_GOTO, FR_ACT_TO_TBL, ROUTE_TYPES, RTPROT_KEEPALIVED

RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWRULE, RTM_DELRULE = 32, 33
RT_SCOPE_UNIVERSE, RT_SCOPE_NOWHERE = 0, 255
RT_TABLE_UNSPEC = 0
RTNH_F_ONLINK = 4
FIB_RULE_INVERT = 2
NLM_F_APPEND = 0x800


class RouteError(Exception):
    """A route or rule could not be added or removed; the message names it."""


def _family(family):
    return socket.AF_INET if family == 4 else socket.AF_INET6


def route_msg(spec, delete=False):
    """The rtmsg keepalived's netlink_route() sends for spec (delete: RTM_DELROUTE form)."""
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
    msg = rtmsg()
    msg["family"] = _family(spec.family)
    net = ipaddress.ip_network(spec.dst)
    msg["dst_len"] = net.prefixlen
    attrs = []
    if spec.table < 256:
        msg["table"] = spec.table
    else:
        msg["table"] = RT_TABLE_UNSPEC
        attrs.append(["RTA_TABLE", spec.table])
    if delete:
        msg["scope"] = RT_SCOPE_NOWHERE
        if spec.type != "unicast":
            msg["type"] = ROUTE_TYPES[spec.type]
    else:
        msg["scope"] = RT_SCOPE_UNIVERSE
        msg["type"] = ROUTE_TYPES[spec.type]
    msg["proto"] = spec.protocol
    if spec.scope is not None:
        msg["scope"] = spec.scope
    if net.prefixlen or spec.dst not in ("0.0.0.0/0", "::/0"):
        attrs.append(["RTA_DST", str(net.network_address)])
    if spec.from_:
        src = ipaddress.ip_network(spec.from_)
        msg["src_len"] = src.prefixlen
        attrs.append(["RTA_SRC", str(src.network_address)])
    if spec.src:
        attrs.append(["RTA_PREFSRC", spec.src])
    if spec.via:
        if ipaddress.ip_address(spec.via).version != spec.family:
            raise RouteError("route %s: a gateway of the other family (RTA_VIA) is not implemented by vipd" % spec.render())
        attrs.append(["RTA_GATEWAY", spec.via])
    if spec.tos is not None:
        msg["tos"] = spec.tos
    if spec.dev:
        try:
            attrs.append(["RTA_OIF", addresses.link_index(spec.dev)])
        except addresses.AddressError as exc:
            raise RouteError("route %s: %s" % (spec.render(), exc))
    if spec.metric is not None:
        attrs.append(["RTA_PRIORITY", spec.metric])
    msg["flags"] = RTNH_F_ONLINK if spec.onlink else 0
    msg["attrs"] = attrs
    return msg


def rule_msg(spec, delete=False):
    """The fibmsg keepalived's netlink_rule() sends for spec."""
    from pyroute2.netlink.rtnl.fibmsg import fibmsg
    msg = fibmsg()
    msg["family"] = _family(spec.family)
    msg["table"] = RT_TABLE_UNSPEC
    msg["tos"] = spec.tos or 0
    attrs = []
    if spec.action == FR_ACT_TO_TBL:
        if spec.table < 256:
            msg["table"] = spec.table
        else:
            attrs.append(["FRA_TABLE", spec.table])
    msg["flags"] = FIB_RULE_INVERT if spec.invert else 0
    for key, attr, field in (("from_", "FRA_SRC", "src_len"), ("to", "FRA_DST", "dst_len")):
        value = getattr(spec, key)
        if value:
            net = ipaddress.ip_network(value)
            if net.prefixlen:
                attrs.append([attr, str(net.network_address)])
            msg[field] = net.prefixlen
    attrs.append(["FRA_PRIORITY", spec.priority])
    if spec.fwmark is not None:
        attrs.append(["FRA_FWMARK", spec.fwmark])
    if spec.fwmask is not None:
        attrs.append(["FRA_FWMASK", spec.fwmask])
    if spec.iif:
        attrs.append(["FRA_IIFNAME", spec.iif])
    if spec.oif:
        attrs.append(["FRA_OIFNAME", spec.oif])
    if spec.protocol is not None:
        attrs.append(["FRA_PROTOCOL", spec.protocol])
    if spec.action == FR_ACT_GOTO:
        attrs.append(["FRA_GOTO", spec.goto])
    msg["action"] = spec.action
    msg["attrs"] = attrs
    del delete  # same message both ways; the request type differs
    return msg


def _talk(msg, kind, flags, ignore, what):
    try:
        with addresses._Rtnl() as rtnl:  # pylint: disable=protected-access
            rtnl.request(msg, kind, flags)
    except addresses.NetlinkError as exc:
        if exc.code in ignore:
            return False
        raise RouteError("cannot %s: %s" % (what, getattr(exc, "args", [exc])[-1]))
    except (addresses.AddressError, OSError) as exc:
        raise RouteError("cannot %s: %s" % (what, exc))
    return True


def add_route(spec):
    """Add spec (keepalived's prepend/add/append); False when it was already there."""
    flags = addresses.NLM_F_CREATE
    if spec.mode == "add":
        flags |= addresses.NLM_F_EXCL
    elif spec.mode == "append":
        flags |= NLM_F_APPEND
    return _talk(route_msg(spec), RTM_NEWROUTE, flags, (errno.EEXIST,), "add route %s" % spec.render())


def delete_route(spec):
    """Delete spec; False when it was not there."""
    return _talk(route_msg(spec, True), RTM_DELROUTE, 0, (errno.ESRCH, errno.ENOENT), "delete route %s" % spec.render())


def route_present(spec):
    """Whether the kernel holds spec's route: same table, destination, protocol and (when given) metric."""
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
    msg = rtmsg()
    msg["family"] = _family(spec.family)
    net = ipaddress.ip_network(spec.dst)
    try:
        with addresses._Rtnl() as rtnl:  # pylint: disable=protected-access
            replies = rtnl.request(msg, RTM_GETROUTE, dump=True)
    except (addresses.NetlinkError, addresses.AddressError, OSError) as exc:
        raise RouteError("cannot list routes: %s" % exc)
    for reply in replies:
        table = reply.get_attr("RTA_TABLE") or reply["table"]
        dst = reply.get_attr("RTA_DST")
        if (table == spec.table and reply["dst_len"] == net.prefixlen and dst == str(net.network_address)
                and reply["proto"] == spec.protocol and (spec.metric is None or reply.get_attr("RTA_PRIORITY") == spec.metric)):
            return True
    return False


def add_rule(spec):
    return _talk(rule_msg(spec), RTM_NEWRULE, addresses.NLM_F_CREATE | addresses.NLM_F_EXCL, (errno.EEXIST,),
                 "add rule %s" % spec.render())


def delete_rule(spec):
    return _talk(rule_msg(spec, True), RTM_DELRULE, 0, (errno.ENOENT, errno.ESRCH), "delete rule %s" % spec.render())


def apply(routes=(), rules=(), add=True, log=None):
    """Add (or delete) routes then rules (deleting: rules first, as keepalived). Every item is tried; failures
    are returned as messages (and logged through log(message) when given), never raised."""
    errors = []
    if add:
        steps = [(add_route, r) for r in routes] + [(add_rule, r) for r in rules]
    else:
        steps = [(delete_rule, r) for r in rules] + [(delete_route, r) for r in routes]
    for func, spec in steps:
        try:
            func(spec)
        except RouteError as exc:
            errors.append(str(exc))
            if log is not None:
                log(str(exc))
    return errors


def static_ipaddress(specs, add=True, log=None):
    """Add or delete static_ipaddress entries (config_model.VipSpec with dev), as VIPs are handled."""
    from . import netio
    errors = []
    for vip in specs:
        try:
            if add:
                netio.vip_add(vip.dev, vip.cidr, label=vip.label, broadcast=vip.brd, scope=vip.scope, **vip.netlink_options())
            else:
                netio.vip_remove(vip.dev, vip.cidr)
        except (netio.NetIOError, addresses.AddressError, OSError, ValueError) as exc:
            message = "cannot %s static address %s on %s: %s" % ("add" if add else "delete", vip.cidr, vip.dev, exc)
            errors.append(message)
            if log is not None:
                log(message)
    return errors


# ---------------------------------------------------------------- tracking (keepalived netlink_route_filter())

RTMGRP_IPV4_ROUTE, RTMGRP_IPV4_RULE, RTMGRP_IPV6_ROUTE = 0x40, 0x80, 0x400
RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x10, 0x100
RTNLGRP_IPV6_RULE = 19


def route_key(family, dst, table, metric=None):
    """What identifies a route for tracking: family, destination network, table, metric (None: any)."""
    return (family, str(ipaddress.ip_network(dst, strict=False)), int(table), metric)


def spec_route_key(spec):
    return route_key(spec.family, spec.dst, spec.table, spec.metric)


def rule_key(family, priority, table, src, dst):
    return (family, int(priority), int(table), src, dst)


def spec_rule_key(spec):
    return rule_key(spec.family, spec.priority, spec.table if spec.action == FR_ACT_TO_TBL else 0, spec.from_, spec.to)


FRA_PROTOCOL = 21
_BODY = inet.NLMSG_HEADER.size  # a notification's struct rtmsg / fib_rule_hdr follows its nlmsghdr
_BODY_SIZE = 12  # both: eight bytes, then 32 bits of flags; route and rule attributes follow


def _of_keepalived(chunk, rule: bool) -> bool:
    """Whether a route or rule deletion (a whole netlink message) is IPv4 or IPv6 with protocol keepalived (18), read
    from its header (a route: rtm_protocol) or its FRA_PROTOCOL attribute (a rule). A master that steps back deletes
    the kernel's local routes of every VIP with them: hundreds of notifications, none of them ours, skipped without
    loading pyroute2's message classes (RSS, issue 11)."""
    if len(chunk) < _BODY + _BODY_SIZE or chunk[_BODY] not in (socket.AF_INET, socket.AF_INET6):
        return False
    if not rule:
        return chunk[_BODY + 5] == RTPROT_KEEPALIVED
    return any(kind & inet.NLA_TYPE_MASK == FRA_PROTOCOL and payload[:1] == bytes((RTPROT_KEEPALIVED,))
               for kind, payload in inet.netlink_attributes(chunk, _BODY + _BODY_SIZE, len(chunk)))


def decode_deletions(data):
    """Route and rule deletions with protocol keepalived (18), and address deletions, in a buffer of rtnetlink
    notifications: [("route", key) | ("rule", key) | ("address", (ifindex, family, address))]; and the interface
    of each address added, for the sources of the instances on it: ("address_added", ifindex). Anything else, or
    malformed, is skipped."""
    out = []
    for kind, _flags, _seq, offset, length in inet.netlink_messages(data):
        chunk = data[offset:offset + length]
        try:
            if kind == addresses.RTM_DELADDR:
                addr = addresses._decode_ifaddr(chunk, {})  # pylint: disable=protected-access
                if addr is not None:
                    out.append(("address", (addr.index, addr.family, addr.address)))
            elif kind == addresses.RTM_NEWADDR:
                if len(chunk) >= 24:  # ifaddrmsg's index, no decoding: vipd's own VIPs come back as these too
                    out.append(("address_added", struct.unpack_from("=I", chunk, 20)[0]))
            elif kind == RTM_DELROUTE:
                if not _of_keepalived(chunk, False):
                    continue
                # pyroute2's message classes only for a route or rule of ours (RSS, issue 11)
                from pyroute2.netlink.rtnl.rtmsg import rtmsg
                msg = rtmsg(chunk)
                msg.decode()
                family = 4 if msg["family"] == socket.AF_INET else 6
                dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == 4 else "::")
                table = msg.get_attr("RTA_TABLE") or msg["table"]
                out.append(("route", route_key(family, "%s/%d" % (dst, msg["dst_len"]), table, msg.get_attr("RTA_PRIORITY"))))
            elif kind == RTM_DELRULE:
                if not _of_keepalived(chunk, True):
                    continue
                from pyroute2.netlink.rtnl.fibmsg import fibmsg
                msg = fibmsg(chunk)
                msg.decode()
                family = 4 if msg["family"] == socket.AF_INET else 6
                src = msg.get_attr("FRA_SRC")
                dst = msg.get_attr("FRA_DST")
                out.append(("rule", rule_key(family, msg.get_attr("FRA_PRIORITY") or 0, msg.get_attr("FRA_TABLE") or msg["table"],
                                             "%s/%d" % (src, msg["src_len"]) if src else None,
                                             "%s/%d" % (dst, msg["dst_len"]) if dst else None)))
        except Exception:  # pylint: disable=broad-except  # a notification we cannot read is not ours
            continue
    return out


def matches(kind, key, spec):
    """Whether a deletion (from decode_deletions) is of spec, a tracked route or rule."""
    if spec.no_track or kind == "address":
        return False
    if kind == "route":
        if not hasattr(spec, "dst"):
            return False
        want = spec_route_key(spec)
        return want[:3] == key[:3] and (want[3] is None or want[3] == key[3])
    if not hasattr(spec, "priority"):
        return False
    return spec_rule_key(spec) == key


class Monitor:
    """A non-blocking rtnetlink socket subscribed to route, rule and address changes (the daemon reads it)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
        try:
            self.sock.bind((0, RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV6_ROUTE | (1 << (RTNLGRP_IPV6_RULE - 1))
                            | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
        except OSError:
            self.sock.close()
            raise

    def fileno(self):
        return self.sock.fileno()

    def read(self, max_reads=64):
        out = []
        for _read in range(max_reads):
            try:
                data = self.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # ENOBUFS: notifications lost; the daemon checks what it can (its sources)
                out.append(("lost", None))
                break
            out.extend(decode_deletions(data))
        return out

    def close(self):
        self.sock.close()
