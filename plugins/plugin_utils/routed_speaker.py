# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed VIPs in the vrrp role: the instances' `routed` settings and the BGP speaker's part.

- instance_errors(): one instance's `routed` dict (rendered as vipd's `vipd_routed { }` block);
- speaker_errors(): the role's vrrp_routed_* variables (speaker, ASN, neighbours, timers, BFD);
- frr_config(): the frr.conf block the role installs when vrrp_routed_speaker is frr: a prefix-list of exactly the
  routed VIPs, a route-map over it, `redistribute kernel route-map` (vipd's announce routes are kernel routes;
  FRR cannot match a kernel protocol number, so the prefix-list is what selects them), eBGP neighbours with
  short timers and optional BFD.
Every value is validated (type, range, alphabet) before frr_config() writes it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.floating.vip.plugins.module_utils import inet

SPEAKERS = ("frr", "external")
ROUTED_KEYS = ("interface", "protocol", "metric", "min_ttl", "withdraw_delay")
NEIGHBOR_KEYS = ("address", "remote_as", "bfd", "description")
RESERVED_PROTOCOLS = frozenset([0, 1, 2, 3, 11, 12, 18] + list(range(186, 199)))  # vrrp/routed.py says whose
WORD_RE = re.compile(r"\A[A-Za-z0-9_.:-]{1,63}\Z")
ROUTE_MAP = "FLOATING-VIP"
PREFIX_LIST = {4: "FLOATING-VIP-V4", 6: "FLOATING-VIP-V6"}
BFD_PROFILE = "floating-vip"


def _int(errors, where, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        errors.append("%s: must be an integer from %d to %d, got %r" % (where, lo, hi, value))
        return None
    return value


def _ip(errors, where, value):
    try:
        return ipaddress.ip_address(value if isinstance(value, str) else None)
    except ValueError:
        errors.append("%s: must be an IP address, got %r" % (where, value))
        return None


def instance_errors(where, routed):
    """Problems of one instance's `routed` value ({} means every default)."""
    errors = []
    if not isinstance(routed, dict):
        return ["%s: must be a dictionary, got %s" % (where, type(routed).__name__)]
    for key in routed:
        if key not in ROUTED_KEYS:
            errors.append("%s: unknown option %r (known: %s)" % (where, key, ", ".join(ROUTED_KEYS)))
    if routed.get("interface") is not None and not inet.is_ifname(routed["interface"]):
        errors.append("%s.interface: must be an interface name, got %r" % (where, routed["interface"]))
    if routed.get("protocol") is not None:
        proto = _int(errors, where + ".protocol", routed["protocol"], 0, 255)
        if proto in RESERVED_PROTOCOLS:
            errors.append("%s.protocol: %d belongs to a routing daemon (kernel, zebra, BIRD, keepalived or FRR's 186-198)" % (where, proto))
    if routed.get("metric") is not None:
        _int(errors, where + ".metric", routed["metric"], 0, 2 ** 32 - 1)
    if routed.get("min_ttl") is not None:
        _int(errors, where + ".min_ttl", routed["min_ttl"], 1, 255)
    delay = routed.get("withdraw_delay")
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 60):
        errors.append("%s.withdraw_delay: must be a number of seconds from 0 to 60, got %r" % (where, delay))
    return errors


def routed_vips(instances, static=()):
    """[(family, 'VIP/len')] of every instance with `routed`, then the static routed VIPs, in order, no duplicates."""
    out = []
    for text in static or []:
        iface = ipaddress.ip_interface(str(text).strip())
        entry = (iface.version, "%s/%d" % (iface.ip, iface.max_prefixlen))
        if entry not in out:
            out.append(entry)
    for inst in instances or []:
        if not isinstance(inst, dict) or inst.get("routed") is None:
            continue
        for item in list(inst.get("virtual_ipaddresses") or []) + list(inst.get("virtual_ipaddresses_excluded") or []):
            text = item.get("address") if isinstance(item, dict) else str(item).split()[0]
            iface = ipaddress.ip_interface(text)
            entry = (iface.version, "%s/%d" % (iface.ip, iface.max_prefixlen))
            if entry not in out:
                out.append(entry)
    return out


def speaker_errors(variables):
    """Problems of the vrrp_routed_* variables; the BGP part is only required when the role writes FRR's config."""
    errors = []
    if not isinstance(variables, dict):
        return ["the variables must be a dictionary, got %s" % type(variables).__name__]
    speaker = variables.get("vrrp_routed_speaker", "frr")
    if speaker not in SPEAKERS:
        errors.append("vrrp_routed_speaker: must be one of %s, got %r" % (", ".join(SPEAKERS), speaker))
        return errors
    if speaker != "frr":
        return errors
    _int(errors, "vrrp_routed_bgp_asn", variables.get("vrrp_routed_bgp_asn"), 1, 4294967295)
    if variables.get("vrrp_routed_bgp_router_id"):
        address = _ip(errors, "vrrp_routed_bgp_router_id", variables["vrrp_routed_bgp_router_id"])
        if address is not None and address.version != 4:
            errors.append("vrrp_routed_bgp_router_id: must be an IPv4 address, got %r" % variables["vrrp_routed_bgp_router_id"])
    neighbors = variables.get("vrrp_routed_bgp_neighbors")
    if not isinstance(neighbors, list) or not neighbors:
        errors.append("vrrp_routed_bgp_neighbors: must be a non-empty list of {address, remote_as[, bfd]}")
        neighbors = []
    for n, item in enumerate(neighbors):
        where = "vrrp_routed_bgp_neighbors[%d]" % n
        if not isinstance(item, dict):
            errors.append("%s: must be a dictionary, got %s" % (where, type(item).__name__))
            continue
        for key in item:
            if key not in NEIGHBOR_KEYS:
                errors.append("%s: unknown option %r (known: %s)" % (where, key, ", ".join(NEIGHBOR_KEYS)))
        _ip(errors, where + ".address", item.get("address"))
        _int(errors, where + ".remote_as", item.get("remote_as"), 1, 4294967295)
        if "bfd" in item and not isinstance(item["bfd"], bool):
            errors.append("%s.bfd: must be true or false" % where)
        if item.get("description") is not None and not (isinstance(item["description"], str) and WORD_RE.match(item["description"])):
            errors.append("%s.description: must be one word of letters, digits, '_.:-', got %r" % (where, item["description"]))
    keepalive = _int(errors, "vrrp_routed_bgp_keepalive", variables.get("vrrp_routed_bgp_keepalive", 1), 1, 65535)
    hold = _int(errors, "vrrp_routed_bgp_hold", variables.get("vrrp_routed_bgp_hold", 3), 3, 65535)
    if keepalive is not None and hold is not None and keepalive * 3 > hold:
        errors.append("vrrp_routed_bgp_hold: should be at least 3 x vrrp_routed_bgp_keepalive (%d), got %d" % (keepalive, hold))
    static = variables.get("vrrp_routed_static_vips") or []
    if not isinstance(static, list):
        errors.append("vrrp_routed_static_vips: must be a list of addresses")
        static = []
    for n, item in enumerate(static):
        try:
            iface = ipaddress.ip_interface(item if isinstance(item, str) else None)
            if iface.network.prefixlen != iface.max_prefixlen:
                errors.append("vrrp_routed_static_vips[%d]: must be a host address, got %r" % (n, item))
        except ValueError:
            errors.append("vrrp_routed_static_vips[%d]: must be an IP address, got %r" % (n, item))
    if not isinstance(variables.get("vrrp_routed_bfd", False), bool):
        errors.append("vrrp_routed_bfd: must be true or false")
    _int(errors, "vrrp_routed_bfd_interval_ms", variables.get("vrrp_routed_bfd_interval_ms", 100), 10, 60000)
    _int(errors, "vrrp_routed_bfd_multiplier", variables.get("vrrp_routed_bfd_multiplier", 3), 2, 255)
    return errors


def frr_config(variables):
    """The frr.conf block for the routed VIPs of variables['vrrp_instances'] (call speaker_errors() first)."""
    problems = speaker_errors(variables)
    if problems:
        raise ValueError("; ".join(problems))
    static = variables.get("vrrp_routed_static_vips") or []
    vips = routed_vips(variables.get("vrrp_instances"), static)
    bfd = variables.get("vrrp_routed_bfd", False)
    neighbors = variables["vrrp_routed_bgp_neighbors"]
    lines = ["! floating.vip: routed VIPs (vipd_routed). vipd installs a kernel host route per VIP while master;",
             "! only those prefixes are redistributed."]
    for family in (4, 6):
        entries = [cidr for fam, cidr in vips if fam == family]
        for seq, cidr in enumerate(entries, start=1):
            lines.append("%s prefix-list %s seq %d permit %s" % ("ip" if family == 4 else "ipv6", PREFIX_LIST[family], seq * 5, cidr))
    for seq, family in enumerate((4, 6), start=1):
        if any(fam == family for fam, _cidr in vips):
            lines += ["route-map %s permit %d" % (ROUTE_MAP, seq * 10),
                      " match %s address prefix-list %s" % ("ip" if family == 4 else "ipv6", PREFIX_LIST[family]), "exit"]
    if bfd:
        interval = variables.get("vrrp_routed_bfd_interval_ms", 100)
        lines += ["bfd", " profile %s" % BFD_PROFILE, "  receive-interval %d" % interval, "  transmit-interval %d" % interval,
                  "  detect-multiplier %d" % variables.get("vrrp_routed_bfd_multiplier", 3), " exit", "exit"]
    lines.append("router bgp %d" % variables["vrrp_routed_bgp_asn"])
    if variables.get("vrrp_routed_bgp_router_id"):
        lines.append(" bgp router-id %s" % ipaddress.ip_address(variables["vrrp_routed_bgp_router_id"]))
    lines.append(" no bgp ebgp-requires-policy")
    keepalive = variables.get("vrrp_routed_bgp_keepalive", 1)
    hold = variables.get("vrrp_routed_bgp_hold", 3)
    for item in neighbors:
        address = ipaddress.ip_address(item["address"])
        lines += [" neighbor %s remote-as %d" % (address, item["remote_as"]), " neighbor %s timers %d %d" % (address, keepalive, hold),
                  " neighbor %s timers connect 1" % address, " neighbor %s advertisement-interval 0" % address]
        if item.get("description"):
            lines.append(" neighbor %s description %s" % (address, item["description"]))
        if item.get("bfd", bfd):
            lines.append(" neighbor %s bfd profile %s" % (address, BFD_PROFILE) if bfd else " neighbor %s bfd" % address)
    for family in (4, 6):
        if not any(fam == family for fam, _cidr in vips):
            continue
        lines += [" address-family %s unicast" % ("ipv4" if family == 4 else "ipv6"), "  redistribute kernel route-map %s" % ROUTE_MAP]
        if static:  # vip_secondary route: the address on lo is a connected /32 to zebra, which hides the kernel route
            lines.append("  redistribute connected route-map %s" % ROUTE_MAP)
        if family == 6:
            lines += ["  neighbor %s activate" % ipaddress.ip_address(i["address"]) for i in neighbors
                      if ipaddress.ip_address(i["address"]).version == 6]
        lines.append(" exit-address-family")
    lines.append("exit")
    return "\n".join(lines) + "\n"
