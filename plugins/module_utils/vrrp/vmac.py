# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""use_vmac as keepalived 2.2.7 does it (vrrp_vmac.c, vrrp_if_config.c).

A macvlan in private mode on the instance interface, named `vrrp.VRID` unless named in the config, carrying
the RFC 5798 virtual MAC 00:00:5e:00:01:VRID; it is up, without IPv6 (no link-local address of its own),
with keepalived's sysctls: on the macvlan arp_ignore=1, accept_local=1, rp_filter=0,
promote_secondaries=1; on the base interface arp_ignore=1 and arp_filter=1 (their old values come back
when the last macvlan on it goes). Only the namespace vipd runs in is touched. An IPv6 instance's macvlan
(00:00:5e:00:02:VRID) keeps IPv6 (router_solicitations=0) and holds the link-local address its adverts leave from (the
configured source, else the base interface's link-local address, else the EUI-64 one of the base MAC).

vipd receives adverts on the base interface (the group is joined there) and sends them from the macvlan, or
from the base interface with `vmac_xmit_base`.

No frame but the master's own may leave with the virtual MAC: a switch learns the MAC on the port of the
last sender, so a backup's router solicitation or MLD report would steer clients' traffic for the VIP to
the backup. As keepalived (whose nftables rules drop router solicitations leaving a VMAC and move MLD
reports to the base interface), the macvlan gets no link-local address of its own (addrgenmode none, set
before it is up: set together, the kernel brings it up first and adds an EUI-64 address),
router_solicitations=0, and its MLD reports are moved to the base interface by the `mld` mover
(firewall.AcceptFirewall.move_mld).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
import logging
import os
import socket

from .. import addresses
from .firewall import FirewallError

RTM_NEWLINK, RTM_DELLINK = 16, 17
MACVLAN_MODE_PRIVATE = 1
IN6_ADDR_GEN_MODE_NONE = 1
IFF_UP = 1
SYSCTL_ROOT = "/proc/sys/net"
VMAC_SYSCTLS = (("ipv4", "arp_ignore", 1), ("ipv4", "accept_local", 1), ("ipv4", "rp_filter", 0),
                ("ipv4", "promote_secondaries", 1), ("ipv6", "disable_ipv6", 1))
BASE_SYSCTLS = (("ipv4", "arp_ignore", 1), ("ipv4", "arp_filter", 1))
VMAC6_SYSCTLS = (("ipv6", "disable_ipv6", 0), ("ipv6", "router_solicitations", 0))
LOG = logging.getLogger("vipd")


class VmacError(Exception):
    """The macvlan could not be created or set up; the message names it."""


def vmac_mac(vrid, family=4):
    """RFC 5798 virtual router MAC: 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID)."""
    return "00:00:5e:00:%02x:%02x" % (1 if family == 4 else 2, int(vrid))


def link_local_of(mac):
    """keepalived's make_link_local_address(): the EUI-64 link-local address of a MAC."""
    b = [int(x, 16) for x in str(mac).split(":")]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80, 0, 0, 0, 0, 0, 0, b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]])))


def extra_vmac_key(cfg, spec):
    """keepalived vrrp_complete_instance(): (base interface, family) of the VMAC of its own that a VIP/eVIP gets
    (per-VIP `use_vmac`, or the instance's `use_vmac_addr` for a VIP on another interface or of the other family),
    None when it goes on the instance's VMAC or on an interface."""
    on_instance_if = not spec.dev or spec.dev == cfg.interface
    if on_instance_if:
        if cfg.use_vmac is not None and spec.family == cfg.family:
            return None
        wanted = spec.use_vmac or (getattr(cfg, "use_vmac_addr", False) and spec.family != cfg.family)
        return (cfg.interface, spec.family) if wanted else None
    return (spec.dev, spec.family) if (spec.use_vmac or getattr(cfg, "use_vmac_addr", False)) else None


def default_name(vrid, taken=()):
    """keepalived's name: vrrp.VRID, then vrrp1.VRID, vrrp2.VRID... when another instance has it."""
    name = "vrrp.%d" % vrid
    num = 0
    while name in taken:
        num += 1
        name = "vrrp%d.%d" % (num, vrid)
    return name


def _link(name):
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        return None
    try:
        return addresses._get_link(index)  # pylint: disable=protected-access
    except (addresses.AddressError, addresses.NetlinkError, OSError) as exc:
        raise VmacError("cannot read interface %s: %s" % (name, exc))


def _kind(msg):
    info = msg.get_attr("IFLA_LINKINFO")
    return info.get_attr("IFLA_INFO_KIND") if info is not None else None


def _talk(msg, kind, flags, what):
    try:
        with addresses._Rtnl() as rtnl:  # pylint: disable=protected-access
            rtnl.request(msg, kind, flags)
    except addresses.NetlinkError as exc:
        raise VmacError("cannot %s: %s" % (what, getattr(exc, "args", [exc])[-1]))
    except (addresses.AddressError, OSError) as exc:
        raise VmacError("cannot %s: %s" % (what, exc))


def read_sysctl(family_dir, ifname, key, root=SYSCTL_ROOT):
    try:
        with open(os.path.join(root, family_dir, "conf", ifname, key)) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def write_sysctl(family_dir, ifname, key, value, root=SYSCTL_ROOT):
    path = os.path.join(root, family_dir, "conf", ifname, key)
    try:
        with open(path, "w") as handle:
            handle.write("%d\n" % value)
    except OSError as exc:
        raise VmacError("cannot set %s: %s" % (path, exc))


class VmacManager:
    """The macvlans this vipd created, and the base interface sysctls it changed (to put back)."""

    def __init__(self, root=SYSCTL_ROOT, mld=None):
        self.root = root
        self.mld = mld  # moves MLD reports of an IPv6 macvlan to its base (move_mld/unmove_mld), or None
        self.created = {}  # name -> base
        self.lower = {}  # name -> the index of the base it was made on
        self.base_saved = {}  # base -> {key: old value}

    def ensure(self, base, name, mac, family=4, link_local=None):
        """Create (or keep, or repair) the macvlan `name` on `base` with `mac`; set keepalived's sysctls (IPv4).

        IPv6 (keepalived netlink_link_add_vmac()): IPv6 stays on, router_solicitations=0, MLD reports move to
        `base`, and `link_local` (the address adverts leave from) is added to the macvlan, /64, without DAD and
        deprecated, as keepalived's add_link_local_address() adds it."""
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
        try:
            base_index = socket.if_nametoindex(base)
        except OSError:
            raise VmacError("interface %s for VMAC %s does not exist" % (base, name))
        current = _link(name)
        if current is not None:
            if _kind(current) != "macvlan":
                raise VmacError("VMAC %s conflicts with an existing interface that is not a macvlan" % name)
            same = (current.get_attr("IFLA_LINK") == base_index and str(current.get_attr("IFLA_ADDRESS")).lower() == mac)
            if not same:
                self._unmove_mld(name)
                self._delete(name)
                current = None
        if current is None:
            self._unmove_mld(name)  # a macvlan removed behind our back: its element named an old index
            msg = ifinfmsg()
            msg["family"] = socket.AF_UNSPEC
            msg["attrs"] = [["IFLA_IFNAME", name], ["IFLA_LINK", base_index], ["IFLA_ADDRESS", mac],
                            ["IFLA_LINKINFO", {"attrs": [["IFLA_INFO_KIND", "macvlan"],
                                                         ["IFLA_INFO_DATA", {"attrs": [["IFLA_MACVLAN_MODE", MACVLAN_MODE_PRIVATE]]}]]}]]
            _talk(msg, RTM_NEWLINK, addresses.NLM_F_CREATE | addresses.NLM_F_EXCL, "create VMAC %s on %s" % (name, base))
        self.created[name] = base
        self.lower[name] = base_index
        index = socket.if_nametoindex(name)
        # No link-local address of its own (RFC 5798 7.4). A message of its own, before the link is up: in one
        # message with IFF_UP the kernel brings the link up first and adds the EUI-64 address.
        msg = ifinfmsg()
        msg["family"] = socket.AF_UNSPEC
        msg["index"] = index
        msg["attrs"] = [["IFLA_AF_SPEC", {"attrs": [["AF_INET6", {"attrs": [["IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE]]}]]}]]
        _talk(msg, RTM_NEWLINK, 0, "set addrgenmode none on VMAC %s" % name)
        # sysctls before the link is up, so that nothing leaves with the virtual MAC first
        for family_dir, key, value in (VMAC6_SYSCTLS if family == 6 else VMAC_SYSCTLS):
            write_sysctl(family_dir, name, key, value, self.root)
        if family == 6:
            self._move_mld(name, base)
        msg = ifinfmsg()
        msg["family"] = socket.AF_UNSPEC
        msg["index"] = index
        msg["flags"] = IFF_UP
        msg["change"] = IFF_UP
        _talk(msg, RTM_NEWLINK, 0, "bring VMAC %s up" % name)
        if family == 6:
            if link_local:
                try:
                    addresses.add_address(name, "%s/64" % link_local, nodad=True, preferred_lft=0)
                except addresses.AddressError as exc:
                    raise VmacError("cannot add link-local address %s to VMAC %s: %s" % (link_local, name, exc))
            return name
        if base not in self.base_saved:
            saved = {}
            for family_dir, key, value in BASE_SYSCTLS:
                old = read_sysctl(family_dir, base, key, self.root)
                if old is not None and old != value:
                    saved[(family_dir, key)] = old
                write_sysctl(family_dir, base, key, value, self.root)
            self.base_saved[base] = saved
        return name

    def _move_mld(self, name, base):
        """Have the MLD reports of `name` leave from `base`; without nft they stay on the macvlan (logged)."""
        if self.mld is None:
            return
        try:
            self.mld.move_mld(name, base)
        except FirewallError as exc:  # nft failed or is missing: the VMAC still works
            LOG.warning("VMAC %s: cannot move its MLD reports to %s (%s); a switch may learn the virtual MAC "
                        "on this host's port while it is backup", name, base, exc)

    def _unmove_mld(self, name):
        """The mover knows which macvlans it moved: for any other name this does nothing."""
        if self.mld is None:
            return
        try:
            self.mld.unmove_mld(name)
        except FirewallError as exc:
            LOG.warning("VMAC %s: cannot remove its MLD rule (%s)", name, exc)

    def _delete(self, name):
        from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
        msg = ifinfmsg()
        msg["family"] = socket.AF_UNSPEC
        try:
            msg["index"] = socket.if_nametoindex(name)
        except OSError:
            return False
        _talk(msg, RTM_DELLINK, 0, "delete VMAC %s" % name)
        return True

    def stale_on(self, base, index) -> list:
        """The VMACs of ours made on another index of ``base``: it was deleted and created again, and they went with
        it. Its sysctls are the new link's defaults: the next ensure() sets them again, and keeps those to put back."""
        names = [n for n, b in self.created.items() if b == base and self.lower.get(n) != index]
        if names:
            self.base_saved.pop(base, None)
        return names

    def release(self, name, keep_mld_rule=False):
        """Delete a macvlan this vipd created; the last one on a base puts its sysctls back."""
        base = self.created.pop(name, None)
        self.lower.pop(name, None)
        if base is None:
            return False
        if not keep_mld_rule:
            self._unmove_mld(name)  # before the link goes: nft names the element by interface
        deleted = self._delete(name)
        if base not in self.created.values():
            for (family_dir, key), old in self.base_saved.pop(base, {}).items():
                try:
                    write_sysctl(family_dir, base, key, old, self.root)
                except VmacError:
                    pass  # the base interface went away
        return deleted

    def release_unused(self, wanted, keep_mld_rules=False):
        for name in [n for n in self.created if n not in wanted]:
            self.release(name, keep_mld_rules)

    def release_all(self):
        """At exit: every macvlan goes while its MLD rule still holds; the rules go with the firewall's teardown
        (one nft run, not one each)."""
        self.release_unused((), keep_mld_rules=True)
