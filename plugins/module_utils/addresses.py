# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink address operations (pyroute2) in the current network namespace.

Shared by the static-VIP modules and the vipd engine, so nothing here imports ansible.
Every mutating call is idempotent and returns True when it changed something.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import functools
import importlib.util
import ipaddress
import os
import socket
import struct
import sys
from typing import List, Optional

from . import inet
from .record import Record


def _import_pyroute2_lazily():
    """Make `import pyroute2.netlink...` load only the submodules it names.

    pyroute2 0.9's package __init__ imports the whole library (NDB, IPDB, nftables, wireguard, asyncio
    and ssl...): about 23 MB of RSS in a 10 MB interpreter, while this file needs the netlink message
    classes (about 0.5 MB). The package module is created from its spec but its __init__ only runs when
    something asks for a top-level name (`from pyroute2 import IPRoute` still works, it just pays then).
    """
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'pyroute2'")
    package = importlib.util.module_from_spec(spec)
    state = {"loaded": False}

    def __getattr__(name):
        # Submodules are the import system's business; anything else is a top-level name: load the package.
        if name.startswith("__") or state["loaded"] or importlib.util.find_spec("pyroute2." + name) is not None:
            raise AttributeError(name)
        state["loaded"] = True
        spec.loader.exec_module(package)
        return package.__dict__[name] if name in package.__dict__ else getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules["pyroute2"] = package


try:
    # Only the package shell: the engine's address calls are written with struct (issue 11, RSS: importing the netlink
    # message classes cost about 2 MB per daemon); pyroute2's classes load when a route, rule or link query needs them.
    _import_pyroute2_lazily()
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as exc:  # the modules report this through missing_required_lib()
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = exc

# Netlink ABI (linux/netlink.h), the values pyroute2.netlink defines
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_DUMP = 0x1, 0x4, 0x200, 0x400, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3


class NetlinkError(Exception):
    """The kernel refused a netlink request: code is the errno (as pyroute2's NetlinkError, args (code, message))."""

    def __init__(self, code, msg=None):
        super().__init__(code, msg or os.strerror(code))
        self.code = code


IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400
INFINITY_LIFE_TIME = 0xFFFFFFFF


class AddressError(Exception):
    """A netlink address operation failed; the message is meant for a human."""


class Addr(Record):
    """One address: ifname (str), index (int), family (4 or 6), address (str), prefixlen (int), label (IPv4:
    IFA_LABEL, the interface name when no alias label; IPv6: None), broadcast (str or None), scope (int), secondary."""
    FIELDS = ("ifname", "index", "family", "address", "prefixlen", "label", "broadcast", "scope", "secondary")

    @property
    def cidr(self) -> str:
        return "%s/%d" % (self.address, self.prefixlen)


def _require():
    if not HAS_PYROUTE2:
        raise AddressError("pyroute2 is required: %s" % PYROUTE2_IMPORT_ERROR)


RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NETLINK_TIMEOUT = 5.0


class _Rtnl:
    """One request/response conversation on an rtnetlink socket; pyroute2 encodes and decodes the messages.

    A plain blocking socket per call: no event loop, no thread, so it works the same inside vipd's asyncio
    loop, in an Ansible module and in tests, in whatever network namespace the caller is in.
    """

    def __init__(self):
        _require()
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
        self.sock.settimeout(NETLINK_TIMEOUT)  # a lost reply must not hang the daemon
        self.seq = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def request(self, msg, msg_type, flags=0, dump=False, raw=False):
        """Send msg; return the decoded replies of a dump, [] for an acknowledged change; NetlinkError on error.
        msg: a pyroute2 message, or the bytes of a message body after the netlink header (then raw).
        raw: the replies' bytes undecoded (list_addresses parses them itself, see _decode_ifaddr)."""
        self.seq += 1
        # A dump ends with NLMSG_DONE; anything else asks for an ack, so every request ends with a message we wait for.
        flags |= NLM_F_DUMP if dump else NLM_F_ACK
        if isinstance(msg, bytes):  # the message body written with struct (addresses); its replies stay bytes
            raw = True
            data = inet.NLMSG_HEADER.pack(inet.NLMSG_HEADER.size + len(msg), msg_type, NLM_F_REQUEST | flags, self.seq, 0) + msg
        else:
            msg["header"]["type"] = msg_type
            msg["header"]["flags"] = NLM_F_REQUEST | flags
            msg["header"]["sequence_number"] = self.seq
            try:
                msg.encode()
            except (struct.error, ValueError, TypeError) as exc:
                raise AddressError("cannot encode netlink request: %s" % exc)
            data = msg.data
        self.sock.send(data)
        out = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise AddressError("no netlink reply within %g s" % NETLINK_TIMEOUT)
            for kind, _flags, seq, offset, length in inet.netlink_messages(data):
                chunk = data[offset:offset + length]
                if seq != self.seq:
                    continue
                if kind == NLMSG_DONE:
                    return out
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", chunk, inet.NLMSG_HEADER.size)[0]
                    if code:
                        raise NetlinkError(-code, os.strerror(-code))
                    return out  # the acknowledgement of a change
                if raw:
                    out.append(chunk)
                    continue
                reply = type(msg)(chunk)
                reply.decode()
                out.append(reply)


def _links():
    """{index: name} of the links in this namespace."""
    return dict((int(index), name) for index, name in socket.if_nameindex())


def _get_link(index):
    # ifinfmsg pulls in 30 more pyroute2 modules (1.4 MB); only the modules ask for link details
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    msg = ifinfmsg()
    msg["index"] = index
    with _Rtnl() as rtnl:
        return rtnl.request(msg, RTM_GETLINK)[0]


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
        return _parsed_cidr(str(cidr).strip())
    except ValueError as exc:
        raise AddressError("malformed address %r: %s" % (cidr, exc))


@functools.lru_cache(maxsize=2048)
def _parsed_cidr(text: str):
    # ipaddress objects are immutable; a takeover parses the same VIPs again (issue 11: 400 VIPs, ~12 us each)
    return ipaddress.ip_interface(text)


def link_index(ifname: str) -> int:
    _require()
    try:
        return int(socket.if_nametoindex(ifname))
    except (OSError, ValueError, TypeError):
        raise AddressError("interface %s not found" % ifname)


def _link(ifname):
    index = link_index(ifname)
    try:
        return _get_link(index)
    except NetlinkError:
        raise AddressError("interface %s not found" % ifname)


def link_mac(ifname: str) -> str:
    mac = _link(ifname).get_attr("IFLA_ADDRESS")
    if not mac:
        raise AddressError("interface %s has no link-layer address" % ifname)
    return str(mac).lower()


def link_is_up(ifname: str) -> bool:
    msg = _link(ifname)
    return bool(msg["flags"] & 0x1)  # IFF_UP


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


_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
_CACHEINFO = struct.Struct("=IIII")  # preferred, valid, cstamp, tstamp


def _decode_ifaddr(chunk: bytes, names, index: Optional[int] = None) -> Optional[Addr]:
    """One RTM_NEWADDR message -> Addr, as _to_addr() reads pyroute2's decoding; None when it is not an IPv4/IPv6
    address (or not on ``index``) or is malformed.

    Scale (issue 11): pyroute2 decodes an address in about 50 us, and vipd removing a VIP dumps the interface's
    addresses: with hundreds of VIPs, dumps were most of vipd's start, reload and stop time. struct does it in a few us.
    """
    offset = inet.NLMSG_HEADER.size
    if len(chunk) < offset + _IFADDRMSG.size:
        return None
    fam, prefixlen, hdr_flags, scope, ifindex = _IFADDRMSG.unpack_from(chunk, offset)
    if fam not in (socket.AF_INET, socket.AF_INET6) or (index is not None and ifindex != index):
        return None
    size = 4 if fam == socket.AF_INET else 16
    attrs = {}
    offset += _IFADDRMSG.size
    for kind, payload in inet.netlink_attributes(chunk, offset, len(chunk)):
        attrs.setdefault(kind & inet.NLA_TYPE_MASK, payload)

    def ip_of(kind):
        value = attrs.get(kind)
        return str(ipaddress.ip_address(value)) if value is not None and len(value) == size else None

    address = (ip_of(IFA_LOCAL) if fam == socket.AF_INET else None) or ip_of(IFA_ADDRESS)
    if address is None:
        return None
    flags = attrs.get(IFA_FLAGS)
    flags = struct.unpack("=I", flags)[0] if flags is not None and len(flags) == 4 else hdr_flags
    label = attrs.get(IFA_LABEL) if fam == socket.AF_INET else None
    return Addr(ifname=names.get(ifindex, str(ifindex)), index=ifindex, family=4 if fam == socket.AF_INET else 6, address=address,
                prefixlen=prefixlen, label=label.split(b"\0", 1)[0].decode("utf-8", "replace") if label is not None else None,
                broadcast=ip_of(IFA_BROADCAST) if fam == socket.AF_INET else None, scope=scope, secondary=bool(flags & IFA_F_SECONDARY))


def list_addresses(ifname: Optional[str] = None, family=None) -> List[Addr]:
    fam = _family_const(family)
    index = link_index(ifname) if ifname else None
    names = _links()
    with _Rtnl() as rtnl:
        chunks = rtnl.request(_IFADDRMSG.pack(fam or socket.AF_UNSPEC, 0, 0, 0, 0), RTM_GETADDR, dump=True, raw=True)
    # Decoded by struct, not pyroute2 (see _decode_ifaddr); _to_addr stays for pyroute2 messages.
    return [a for a in (_decode_ifaddr(chunk, names, index) for chunk in chunks) if a is not None]


def find_address(address: str, family=None) -> List[Addr]:
    """Every interface holding this IP (any prefix length)."""
    ip = ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    return [a for a in list_addresses(family=family or ip.version) if ipaddress.ip_address(a.address) == ip]


def _raise(action, ifname, cidr, exc):
    raise AddressError("cannot %s %s on %s: %s" % (action, cidr, ifname, getattr(exc, "args", [exc])[-1]))


ADD_WINDOW = 64  # add_addresses(): requests in flight at once when the receive buffer cannot be raised
ADD_RCVBUF = 1 << 20  # add_addresses(): receive buffer asked for, so that one send can carry every request
ACK_TRUESIZE = 2048  # what one acknowledgement costs of the receive buffer (its skb; about 1 KB measured), with margin
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def _newaddr_request(seq: int, index: int, iface, label: Optional[str], broadcast: Optional[str], scope: Optional[int],
                     nodad: bool, flags: int = 0, preferred_lft: Optional[int] = None, ack: bool = True) -> bytes:
    """RTM_NEWADDR (create, exclusive, acked unless not ack) as add_address() has pyroute2 build it, written with
    struct.

    flags: more IFA_F_* bits (home, mngtmpaddr, noprefixroute, autojoin; 32 bits, so sent as IFA_FLAGS as
    keepalived does, their low byte also in the header). preferred_lft (IPv6): IFA_CACHEINFO with that preferred
    and an infinite valid lifetime, keepalived's netlink_ipaddress() (0: the address is deprecated)."""
    v4 = iface.version == 4
    all_flags = (IFA_F_NODAD if (nodad and not v4) else 0) | int(flags)
    body = _IFADDRMSG.pack(socket.AF_INET if v4 else socket.AF_INET6, iface.network.prefixlen,
                           all_flags & 0xFF, int(scope) if scope is not None else 0, index)
    attrs = inet.netlink_attribute(IFA_ADDRESS, iface.ip.packed)
    if v4:
        attrs += inet.netlink_attribute(IFA_LOCAL, iface.ip.packed)
        if label:
            attrs += inet.netlink_attribute(IFA_LABEL, label.encode("utf-8") + b"\0")
        if broadcast:
            attrs += inet.netlink_attribute(IFA_BROADCAST, ipaddress.IPv4Address(str(broadcast)).packed)
    if flags:
        attrs += inet.netlink_attribute(IFA_FLAGS, struct.pack("=I", all_flags))
    if preferred_lft is not None and not v4:
        attrs += inet.netlink_attribute(IFA_CACHEINFO, _CACHEINFO.pack(int(preferred_lft), INFINITY_LIFE_TIME, 0, 0))
    nl_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | (NLM_F_ACK if ack else 0)
    return inet.NLMSG_HEADER.pack(inet.NLMSG_HEADER.size + len(body) + len(attrs), RTM_NEWADDR, nl_flags, seq, 0) + body + attrs


def _check_flags(flags, preferred_lft):
    if not isinstance(flags, int) or isinstance(flags, bool) or not 0 <= flags <= 0xFFFFFFFF:
        raise AddressError("address flags %r are not a 32-bit number" % (flags,))
    if preferred_lft is not None and (not isinstance(preferred_lft, int) or isinstance(preferred_lft, bool)
                                      or not 0 <= preferred_lft <= INFINITY_LIFE_TIME):
        raise AddressError("preferred_lft %r is not 0-%d" % (preferred_lft, INFINITY_LIFE_TIME))


class AddBatch:
    """add_addresses()' requests built ahead of the exchange (see prepare_adds())."""
    __slots__ = ("items", "indexes", "requests", "errors")

    def __init__(self, items):
        self.items = list(items)
        self.indexes: dict = {}  # ifname -> the link index the requests carry (None: not found)
        self.requests: list = []  # (item index, RTM_NEWADDR bytes with sequence item index + 1, no NLM_F_ACK)
        self.errors: dict = {}  # item index -> its AddressError


def prepare_adds(items) -> AddBatch:
    """Build add_addresses()' requests now, to send later (issue 11: building 400 took 3-4 ms of a takeover's
    critical path; vipd builds them when an instance becomes backup). The requests carry each interface's index:
    add_addresses() builds them again if an interface was recreated or has appeared since."""
    _require()
    batch = AddBatch(items)
    for i, item in enumerate(batch.items):
        ifname, cidr, label, broadcast, scope, nodad = item[:6]
        flags, preferred_lft = (tuple(item[6:8]) + (0, None))[:2] if len(item) > 6 else (0, None)
        try:
            _check_flags(flags, preferred_lft)
            iface = parse_cidr(cidr)
            if ifname not in batch.indexes:
                batch.indexes[ifname] = _index_or_none(ifname)
            if batch.indexes[ifname] is None:
                raise AddressError("interface %s not found" % ifname)
            if iface.version == 4 and label and len(label) > 15:
                raise AddressError("label %s is longer than 15 characters" % label)
            request = _newaddr_request(i + 1, batch.indexes[ifname], iface, label, broadcast, scope, nodad, flags, preferred_lft,
                                       ack=False)
            batch.requests.append((i, request))
        except (AddressError, ValueError) as exc:
            batch.errors[i] = exc if isinstance(exc, AddressError) else AddressError(str(exc))
    return batch


def _index_or_none(ifname: str) -> Optional[int]:
    try:
        return link_index(ifname)
    except AddressError:
        return None


def add_addresses(items) -> list:
    """Add many addresses in one netlink exchange: every request sent at once on one socket, then the answers read.

    items: (ifname, cidr, label, broadcast, scope, nodad[, flags, preferred_lft]) tuples, as add_address() takes
    them, or an AddBatch that prepare_adds() built from them. Returns, per item,
    True (added), False (exactly that address/prefix was already there) or the AddressError of that item alone.
    Scale (issue 11): 400 VIPs taking over cost 400 sockets and 400 round trips (about 50-130 us each); one
    instance's VIPs now leave in one write (see _exchange()).
    """
    batch = items if isinstance(items, AddBatch) else prepare_adds(items)
    if any(_index_or_none(ifname) != index for ifname, index in batch.indexes.items()):
        batch = prepare_adds(batch.items)  # an interface was recreated (another index) or has appeared
    out: list = [batch.errors.get(i) for i in range(len(batch.items))]
    if batch.requests:
        _exchange(batch.requests, lambda i, code: True if code == 0 else (False if code == errno.EEXIST else AddressError(
            "cannot add %s on %s: %s" % (batch.items[i][1], batch.items[i][0], os.strerror(code)))), out)
    return out


def delete_addresses(items, listed: Optional[dict] = None) -> list:
    """Delete many (ifname, cidr) in one netlink exchange, leaving every other address alone (delete_address()
    for many: issue 11, a dump per VIP made releasing 400 VIPs take 2 s). Returns, per item, True (deleted),
    False (not there) or the AddressError of that item alone.
    listed: {(ifname, 4 or 6): [Addr]} when the caller has just listed those interfaces (one dump less each).
    An IPv4 primary takes the secondaries of its subnet with it unless promote_secondaries is set: those not
    deleted on purpose are put back, as delete_address() does."""
    _require()
    listed = dict(listed or {})
    found: dict = {}  # (ifname, family) -> {(address, prefixlen): Addr}: a lookup per item, not a scan (issue 11)
    out: list = [None] * len(items)
    requests, targets = [], {}
    for i, (ifname, cidr) in enumerate(items):
        try:
            iface = parse_cidr(cidr)
            key = (ifname, iface.version)
            if key not in listed:
                listed[key] = list_addresses(ifname, family=iface.version)
            if key not in found:
                found[key] = dict(((a.address, a.prefixlen), a) for a in listed[key])
            target = found[key].get((str(iface.ip), iface.network.prefixlen))
            if target is None:
                out[i] = False
                continue
            body = _addr_body(target.index, iface)
            requests.append((i, inet.NLMSG_HEADER.pack(inet.NLMSG_HEADER.size + len(body), RTM_DELADDR, NLM_F_REQUEST, i + 1, 0)
                             + body))
            targets[i] = target
        except (AddressError, ValueError) as exc:
            out[i] = exc if isinstance(exc, AddressError) else AddressError(str(exc))
    if requests:
        _exchange(requests, lambda i, code: True if code == 0 else (False if code == errno.EADDRNOTAVAIL else AddressError(
            "cannot delete %s on %s: %s" % (items[i][1], items[i][0], os.strerror(code)))), out)
    primaries = [(i, parse_cidr(targets[i].cidr).network, targets[i].ifname) for i in targets
                 if out[i] is True and targets[i].family == 4 and not targets[i].secondary]
    for i in [i for i in targets if out[i] is False and targets[i].family == 4]:
        # gone already: taken by a primary of its subnet that this batch deleted before it
        net = parse_cidr(targets[i].cidr).network
        out[i] = any(j < i and net == pnet and ifname == targets[i].ifname for j, pnet, ifname in primaries)
    deleted = dict((i, targets[i]) for i in targets if out[i] is True)
    gone = set(_key(a) for a in deleted.values())
    for ifname in sorted(set(a.ifname for a in deleted.values() if a.family == 4 and not a.secondary)):
        failed = _restore_secondaries(ifname, listed.get((ifname, 4), []), gone)
        for i in [i for i, a in deleted.items() if failed and a.ifname == ifname and a.family == 4 and not a.secondary]:
            out[i] = AddressError("deleted %s on %s, but could not put back what it took with it: %s" % (items[i][1], ifname, failed))
    return out


def _key(a: Addr) -> tuple:
    return (a.index, a.family, a.address, a.prefixlen)


def _restore_secondaries(ifname: str, before: List[Addr], gone: set) -> str:
    """Put back the IPv4 addresses of ifname that vanished with a deleted primary and were not deleted on purpose
    (gone). Returns what failed ("" when nothing did)."""
    try:
        after = set(_key(a) for a in list_addresses(ifname, family=4))
        lost = [a for a in before if _key(a) not in after and _key(a) not in gone]
        results = add_addresses([(ifname, a.cidr, a.label if a.label != ifname else None, a.broadcast, a.scope, False) for a in lost])
    except AddressError as exc:
        return str(exc)
    return "; ".join(str(r) for r in results if isinstance(r, AddressError))


def _exchange(requests, decide, out) -> None:
    """Send requests [(item index, message with sequence index + 1 and no NLM_F_ACK)] on one socket, in writes of
    what its receive buffer can answer. Only the last request of a write asks for an acknowledgement: the kernel
    reports every failure anyway and handles a write's requests in order, so that acknowledgement means every
    request before it without a report succeeded (400 acknowledgements cost 2.5-3 ms to read, issue 11).
    out[i] = decide(i, error code) for a reported request, True for the others."""
    with _Rtnl() as rtnl:
        # A report is its own socket buffer (about 1 KB of the receive buffer's default ~200 KB), so 400 failing
        # requests at once overflow it (ENOBUFS). A buffer raised to ADD_RCVBUF (vipd has CAP_NET_ADMIN: FORCE
        # passes net.core.rmem_max) takes a report for every request of a takeover, which then leave in one
        # send (issue 11); otherwise at most ADD_WINDOW (or what the buffer holds) per send.
        window_size = _ack_window(rtnl.sock, len(requests))
        for start in range(0, len(requests), window_size):
            window = requests[start:start + window_size]
            last = bytearray(window[-1][1])
            struct.pack_into("=H", last, 6, struct.unpack_from("=H", last, 6)[0] | NLM_F_ACK)  # nlmsg_flags
            rtnl.sock.send(b"".join([request for _i, request in window[:-1]] + [bytes(last)]))
            _read_replies(rtnl.sock, [i for i, _request in window], decide, out)


def _read_replies(sock, sent, decide, out) -> None:
    """Read the kernel's reports for the items sent (indexes, in order; sequence = index + 1) into out: a failure
    reported for its own request, and success for the others once the last one is answered."""
    waiting = dict((i + 1, i) for i in sent)
    final = sent[-1] + 1
    while final in waiting:
        try:
            data = sock.recv(1 << 16)
        except socket.timeout:
            for i in waiting.values():
                out[i] = AddressError("no netlink reply within %g s" % NETLINK_TIMEOUT)
            return
        for kind, _flags, seq, offset, length in inet.netlink_messages(data):
            if kind == NLMSG_ERROR and seq in waiting and length >= inet.NLMSG_HEADER.size + 4:
                out[waiting.pop(seq)] = decide(seq - 1, -struct.unpack_from("=i", data, offset + inet.NLMSG_HEADER.size)[0])
    for i in waiting.values():
        out[i] = True


def _ack_window(sock, wanted: int) -> int:
    """How many requests add_addresses() may leave unanswered on sock: raise its receive buffer if needed."""
    if wanted <= ADD_WINDOW:
        return ADD_WINDOW
    for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, ADD_RCVBUF)
            break
        except OSError:  # FORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by net.core.rmem_max
            continue
    try:
        size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)  # the kernel reports twice what it granted
    except OSError:
        return ADD_WINDOW
    return max(ADD_WINDOW, size // 2 // ACK_TRUESIZE)


def add_address(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None,
                scope: Optional[int] = None, nodad: bool = False, flags: int = 0, preferred_lft: Optional[int] = None) -> bool:
    """Add cidr to ifname. Returns False when exactly that address/prefix is already there.
    flags / preferred_lft: see _newaddr_request()."""
    _check_flags(flags, preferred_lft)
    iface = parse_cidr(cidr)
    index = link_index(ifname)
    if iface.version == 4 and label and len(label) > 15:
        raise AddressError("label %s is longer than 15 characters" % label)
    try:
        # the bytes add_addresses() sends (pyroute2's encoding of the same request, tested), after the netlink header
        body = _newaddr_request(0, index, iface, label if iface.version == 4 else None, broadcast if iface.version == 4 else None,
                                scope, nodad, flags, preferred_lft)[inet.NLMSG_HEADER.size:]
    except (struct.error, ValueError, TypeError) as exc:
        raise AddressError("cannot encode netlink request: %s" % exc)
    with _Rtnl() as rtnl:
        try:
            rtnl.request(body, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return False
            _raise("add", ifname, cidr, exc)
    return True


def _addr_body(index, iface) -> bytes:
    """An ifaddrmsg body for index and an ip_interface, as `ip addr` builds it (IPv4: IFA_LOCAL = IFA_ADDRESS)."""
    v4 = iface.version == 4
    body = _IFADDRMSG.pack(socket.AF_INET if v4 else socket.AF_INET6, iface.network.prefixlen, 0, 0, index)
    body += inet.netlink_attribute(IFA_ADDRESS, iface.ip.packed)
    return body + inet.netlink_attribute(IFA_LOCAL, iface.ip.packed) if v4 else body


def delete_address(ifname: str, cidr: str, before: Optional[List[Addr]] = None) -> bool:
    """Delete cidr from ifname, leaving every other address alone (see delete_addresses()).
    ``before``: ifname's addresses of cidr's family, when the caller has just listed them (one dump less).
    """
    iface = parse_cidr(cidr)
    result = delete_addresses([(ifname, cidr)], None if before is None else {(ifname, iface.version): before})[0]
    if isinstance(result, AddressError):
        raise result  # pylint: disable=raising-bad-type  # an AddressError (pylint reads the list as maybe None)
    return result


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
