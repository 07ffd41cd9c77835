# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""unicast_peer lists from inventory groups, for the vrrp role (filter floating.vip.vrrp_group_peers).

An instance with `unicast_peers_from_group: GROUP` (or the role-wide vrrp_unicast_peers_from_group) gets as
unicast peers the address of every other member of GROUP, read from each member's host variables at the dotted
path `unicast_peer_address_var` (default vrrp_unicast_peer_address_var, e.g. ansible_default_ipv4.address or
a plain host variable). Explicit `unicast_peers` come first; duplicates are dropped. Every problem (unknown
group, a member without the variable, a value that is not an IP address of the instance's family) is a
PeerError naming the instance, the group, the host and the variable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.floating.vip.plugins.module_utils import inet

GROUP_RE = re.compile(r"\A[A-Za-z0-9_.-]{1,128}\Z")
VAR_PATH_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z0-9_]{1,128}){0,8}\Z")
_MISSING = object()


class PeerError(ValueError):
    pass


def _lookup(variables, path):
    value = variables
    for part in path.split("."):
        try:
            value = value[part]
        except (KeyError, TypeError, IndexError):
            return _MISSING
        if value is None:
            return _MISSING
    return value


def _family(instance):
    """4 or 6 from the instance's first VIP or unicast_src_ip; None when it cannot tell."""
    for value in [instance.get("unicast_src_ip")] + list(instance.get("virtual_ipaddresses") or []):
        if isinstance(value, str) and value.strip():
            try:
                return ipaddress.ip_interface(value.split()[0]).version
            except ValueError:
                continue
    return None


def group_peers(instances, groups, hostvars, inventory_hostname, default_group="", default_var="ansible_default_ipv4.address"):
    """`instances` with `unicast_peers` filled from their group (the keys the role alone reads removed)."""
    if not isinstance(instances, list):
        raise PeerError("vrrp_instances must be a list")
    out = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            out.append(instance)
            continue
        group = instance.get("unicast_peers_from_group", default_group) or ""
        var = instance.get("unicast_peer_address_var", default_var) or default_var
        result = dict((k, v) for k, v in instance.items() if k not in ("unicast_peers_from_group", "unicast_peer_address_var"))
        if group:
            result["unicast_peers"] = _peers(index, instance, group, var, groups, hostvars, inventory_hostname)
        out.append(result)
    return out


def _peers(index, instance, group, var, groups, hostvars, me):
    where = "vrrp_instances[%d] (%s)" % (index, inet.safe_repr(instance.get("name", "?"), 60))
    if not isinstance(group, str) or not GROUP_RE.match(group):
        raise PeerError("%s: unicast_peers_from_group must be an inventory group name, got %s" % (where, inet.safe_repr(group, 60)))
    if not isinstance(var, str) or not VAR_PATH_RE.match(var):
        raise PeerError("%s: unicast_peer_address_var must be a variable name or a dotted path such as "
                        "ansible_default_ipv4.address, got %s" % (where, inet.safe_repr(var, 60)))
    if group not in groups:
        raise PeerError("%s: no inventory group %s for unicast_peers_from_group" % (where, inet.safe_repr(group)))
    family = _family(instance)
    peers = list(instance.get("unicast_peers") or [])
    missing = []
    for host in groups[group]:
        if host == me:
            continue
        value = _lookup(hostvars[host], var)
        if value is _MISSING or value == "":
            missing.append(host)
            continue
        text = str(value).split("/", 1)[0].strip()
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise PeerError("%s: %s of host %s (group %s) is %s, not an IP address" % (
                where, var, host, group, inet.safe_repr(value, 80)))
        if family is not None and ip.version != family:
            raise PeerError("%s: %s of host %s (group %s) is %s, an IPv%d address for an IPv%d instance" % (
                where, var, host, group, ip, ip.version, family))
        if str(ip) not in peers:
            peers.append(str(ip))
    if missing:
        raise PeerError("%s: host(s) %s of group %s have no %s (gather their facts or set the variable)" % (
            where, ", ".join(missing[:10]), group, var))
    return peers
