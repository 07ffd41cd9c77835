# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink address operations (pyroute2) in the current network namespace.

Shared by the static-VIP modules and the vipd engine, so nothing here imports ansible.
Every mutating call is idempotent and returns True when it changed something.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import ipaddress
import socket
from dataclasses import dataclass
from typing import List, Optional

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as exc:  # the modules report this through missing_required_lib()
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = exc

    class NetlinkError(Exception):  # type: ignore[no-redef]
        code = 0

IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02


class AddressError(Exception):
    """A netlink address operation failed; the message is meant for a human."""


@dataclass
class Addr:
    ifname: str
    index: int
    family: int  # 4 or 6
    address: str
    prefixlen: int
    label: Optional[str]  # IPv4: IFA_LABEL (the interface name when no alias label); IPv6: None
    broadcast: Optional[str]
    scope: int
    secondary: bool

    @property
    def cidr(self) -> str:
        return "%s/%d" % (self.address, self.prefixlen)


def _require():
    if not HAS_PYROUTE2:
        raise AddressError("pyroute2 is required: %s" % PYROUTE2_IMPORT_ERROR)


def _ipr():
    _require()
    return IPRoute()


def _family_const(family):
    if family in (None, 0):
        return None
    if family in (4, socket.AF_INET):
        return socket.AF_INET
    if family in (6, socket.AF_INET6):
        return socket.AF_INET6
    raise AddressError("unknown address family %r" % (family,))


def parse_cidr(cidr):
    """'A/len' (or a bare address, taken as a host route) -> ipaddress interface object."""
    try:
        return ipaddress.ip_interface(str(cidr).strip())
    except ValueError as exc:
        raise AddressError("malformed address %r: %s" % (cidr, exc))


def link_index(ifname: str) -> int:
    with _ipr() as ipr:
        found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise AddressError("interface %s not found" % ifname)
    return int(found[0])


def _link(ifname):
    index = link_index(ifname)
    with _ipr() as ipr:
        return ipr.get_links(index)[0]


def link_mac(ifname: str) -> str:
    mac = _link(ifname).get_attr("IFLA_ADDRESS")
    if not mac:
        raise AddressError("interface %s has no link-layer address" % ifname)
    return str(mac).lower()


def link_is_up(ifname: str) -> bool:
    msg = _link(ifname)
    return bool(msg["flags"] & 0x1)  # IFF_UP


def link_names() -> List[str]:
    with _ipr() as ipr:
        return sorted(str(m.get_attr("IFLA_IFNAME")) for m in ipr.get_links())


def _to_addr(msg, names) -> Addr:
    fam = 4 if msg["family"] == socket.AF_INET else 6
    # For IPv4 IFA_LOCAL is the address itself (IFA_ADDRESS is the peer on point-to-point links).
    local = msg.get_attr("IFA_LOCAL") if fam == 4 else None
    address = local or msg.get_attr("IFA_ADDRESS")
    flags = msg.get_attr("IFA_FLAGS")
    if flags is None:
        flags = msg["flags"]
    index = int(msg["index"])
    return Addr(
        ifname=names.get(index, str(index)),
        index=index,
        family=fam,
        address=str(ipaddress.ip_address(address)),
        prefixlen=int(msg["prefixlen"]),
        label=msg.get_attr("IFA_LABEL") if fam == 4 else None,
        broadcast=msg.get_attr("IFA_BROADCAST") if fam == 4 else None,
        scope=int(msg["scope"]),
        secondary=bool(flags & IFA_F_SECONDARY),
    )


def list_addresses(ifname: Optional[str] = None, family=None) -> List[Addr]:
    fam = _family_const(family)
    index = link_index(ifname) if ifname else None
    with _ipr() as ipr:
        names = dict((int(m["index"]), str(m.get_attr("IFLA_IFNAME"))) for m in ipr.get_links())
        kwargs = {}
        if fam is not None:
            kwargs["family"] = fam
        msgs = ipr.get_addr(**kwargs)
    out = []
    for msg in msgs:
        if msg["family"] not in (socket.AF_INET, socket.AF_INET6):
            continue
        if index is not None and int(msg["index"]) != index:
            continue
        out.append(_to_addr(msg, names))
    return out


def find_address(address: str, family=None) -> List[Addr]:
    """Every interface holding this IP (any prefix length)."""
    ip = ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    return [a for a in list_addresses(family=family or ip.version) if ipaddress.ip_address(a.address) == ip]


def _raise(action, ifname, cidr, exc):
    raise AddressError("cannot %s %s on %s: %s" % (action, cidr, ifname, getattr(exc, "args", [exc])[-1]))


def add_address(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None,
                scope: Optional[int] = None, nodad: bool = False) -> bool:
    """Add cidr to ifname. Returns False when exactly that address/prefix is already there."""
    iface = parse_cidr(cidr)
    index = link_index(ifname)
    kwargs = dict(index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
    if iface.version == 4:
        if label:
            if len(label) > 15:
                raise AddressError("label %s is longer than 15 characters" % label)
            kwargs["label"] = label
        if broadcast:
            kwargs["broadcast"] = str(broadcast)
    else:
        kwargs["family"] = socket.AF_INET6
        if nodad:
            kwargs["flags"] = IFA_F_NODAD
    if scope is not None:
        kwargs["scope"] = int(scope)
    with _ipr() as ipr:
        try:
            ipr.addr("add", **kwargs)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return False
            _raise("add", ifname, cidr, exc)
    return True


def _same(a: Addr, b: Addr) -> bool:
    return (a.index, a.family, a.address, a.prefixlen) == (b.index, b.family, b.address, b.prefixlen)


def delete_address(ifname: str, cidr: str) -> bool:
    """Delete cidr from ifname, leaving every other address alone.

    Deleting an IPv4 primary also deletes the secondaries of its subnet unless
    promote_secondaries is set, so any address that vanished with it is put back.
    """
    iface = parse_cidr(cidr)
    index = link_index(ifname)
    before = list_addresses(ifname, family=iface.version)
    target = [a for a in before if a.address == str(iface.ip) and a.prefixlen == iface.network.prefixlen]
    if not target:
        return False
    kwargs = dict(index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
    if iface.version == 6:
        kwargs["family"] = socket.AF_INET6
    with _ipr() as ipr:
        try:
            ipr.addr("del", **kwargs)
        except NetlinkError as exc:
            if exc.code == errno.EADDRNOTAVAIL:
                return False
            _raise("delete", ifname, cidr, exc)
    if iface.version == 4:
        after = list_addresses(ifname, family=4)
        for lost in before:
            if _same(lost, target[0]) or any(_same(lost, a) for a in after):
                continue
            add_address(ifname, lost.cidr, label=lost.label if lost.label != ifname else None,
                        broadcast=lost.broadcast, scope=lost.scope)
    return True


def replace_address(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None,
                    scope: Optional[int] = None, old_cidr: Optional[str] = None, nodad: bool = False) -> bool:
    """Delete old_cidr (default: cidr) then add cidr; used for a changed prefix, label or broadcast.

    The kernel's NLM_F_REPLACE keeps the old label and broadcast, so delete + add is the only way.
    """
    delete_address(ifname, old_cidr or cidr)
    add_address(ifname, cidr, label=label, broadcast=broadcast, scope=scope, nodad=nodad)
    return True


def relabel_address(ifname: str, cidr: str, label: Optional[str]) -> bool:
    """Give an existing IPv4 address a new label (keeps its broadcast and scope)."""
    iface = parse_cidr(cidr)
    for a in list_addresses(ifname, family=4):
        if a.address == str(iface.ip) and a.prefixlen == iface.network.prefixlen:
            if (a.label or ifname) == (label or ifname):
                return False
            return replace_address(ifname, cidr, label=label, broadcast=a.broadcast, scope=a.scope)
    raise AddressError("%s is not on %s" % (cidr, ifname))
