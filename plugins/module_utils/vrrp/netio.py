# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only I/O of the VRRP engine: raw protocol-112 sockets, VIP add/remove, GARP/NA.

One Channel per (interface, family) is shared by every instance on that interface;
the daemon dispatches what it receives by VRID. Sockets are non-blocking so the
daemon can hand their file descriptors to asyncio's loop.add_reader().
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import functools
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .. import addresses
from .. import announce
from .. import inet
from . import bell as bell_filter
from . import packet

# Not every Python exposes these constants; values are the Linux ABI.
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPV6_MULTICAST_LOOP = getattr(socket, "IPV6_MULTICAST_LOOP", 19)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)
SK_MEMINFO_DROPS = 8  # index of the u32 drop count in what SO_MEMINFO gives (Linux 4.12+)
_MEMINFO_BYTES = 9 * 4
# A channel read when its timers are due (reading.py) keeps what arrives meanwhile in its socket's buffer: room for
# thousands of adverts (a datagram takes about 800 bytes of it on a veth, more on some NICs: TRUESIZE is generous).
LAZY_RCVBUF = 4 << 20
TRUESIZE = 2048
_ANCILLARY = socket.CMSG_SPACE(16) + socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + socket.CMSG_SPACE(4)
RECV4_BYTES = 2048
MAX_READS_PER_WAKEUP = 256  # bounded drain so one busy interface cannot starve the loop
# Distinct datagrams whose decoding a channel remembers (255 VRIDs x 4 routers); a flood of distinct ones only
# evicts the oldest, so the memory is bounded and every datagram is still decoded once.
DECODE_CACHE_SIZE = 1024
_IHL5 = b"\x45"  # the first byte of an IPv4 header without options
LATE_SLACK = 0.1  # how far after the start of a timed receive a stamp is still believed
CLOCK_STEP = 0.002  # a change of the wall clock's offset from the monotonic one beyond this is a step, not a slew


def _wall() -> float:
    return time.time()


def _netlink(func, *args, **kwargs):
    """Call an addresses.* function. Each call is a short blocking netlink exchange on its own socket
    (no event loop, no thread), so it is safe inside the daemon's running loop and keeps calls ordered,
    which make-before-break relies on."""
    return func(*args, **kwargs)


class NetIOError(Exception):
    """A socket or address operation failed; the message names the interface."""


@dataclass
class Incoming:
    """One datagram off the wire: either a parsed packet or the reason it was dropped."""
    ifname: str
    family: int
    src: str
    dst: str
    received: Optional[packet.Received] = None
    drop_reason: Optional[str] = None
    vrid_hint: Optional[int] = None  # VRID byte read from a packet that failed to parse, to count the drop per instance
    error: str = ""
    # Set by the receiver on a decoded datagram it may see again (the decode cache hands out the same object):
    # receive() calls it with the number of copies (1, or a run of them in a timed read), and what it returns True
    # for is handled, not returned.
    repeat: Optional[Callable[[int], bool]] = field(default=None, compare=False, repr=False)


class Channel:
    """A raw protocol-112 socket bound to one interface and one family."""

    def __init__(self, ifname: str, family: int = 4, group: Optional[str] = None):
        self.ifname = ifname
        self.family = family
        # keepalived's vrrp_mcast_group4 / vrrp_mcast_group6: the group joined and advertised to
        self.group = group or (packet.MCAST_GROUP4 if family == 4 else packet.MCAST_GROUP6)
        try:
            self.ifindex = _netlink(addresses.link_index, ifname)
        except addresses.AddressError as exc:
            raise NetIOError(str(exc))
        # The doorbell (bell.py) is opened first: the kernel hands a datagram to the newest raw socket first, so the
        # data socket holds an advert by the time the doorbell rings for it (reading.py copes if it does not).
        self.bell = self._open_bell()
        self.sock = self._open()
        if self.bell is not None and not self._stamp():
            self.bell.close()
            self.bell = None
        self._v6_ancillary = {}  # (src, dst) -> (cmsg list, address): computed once per destination
        # Scale (issue 11): a steady master repeats the same bytes every interval (keepalived only changes the IPv4
        # header's id and checksum), so a backup decodes each distinct advert once. Key: every input the decoding
        # reads (IPv4: the datagram but id, fragment and header checksum, none of which parse_ipv4 reads; IPv6: the
        # payload, source, destination and hop limit); value: the Incoming it gave, which nobody modifies.
        self._decoded: Dict[object, Incoming] = {}
        self.decoded = 0  # datagrams decoded in full
        self.reused = 0  # datagrams answered from _decoded
        self.reads = 0  # datagrams read by the last receive()
        # timed receive() (reading.py): when each datagram arrived, on the loop's clock
        self.arrival: Optional[float] = None  # of the datagram being handled, on the loop's clock
        # the start of the last timed receive() that emptied the queue: what is read later arrived after it
        self.read_at = 0.0
        self.dropped = 0  # datagrams the kernel dropped for a full buffer (SO_RXQ_OVFL), as last reported
        self._clock_offset: Optional[float] = None  # wall - monotonic at the last timed receive()

    def _open(self) -> socket.socket:
        fam = socket.AF_INET if self.family == 4 else socket.AF_INET6
        sock = socket.socket(fam, socket.SOCK_RAW, packet.IPPROTO_VRRP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode() + b"\0")
            if self.family == 4:
                # We write the IP header ourselves: the source must be the primary (or unicast_src_ip), never a VIP.
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, self._mreq(self.group))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, self._mreq(self.group))
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, self._mreq(self.group))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise NetIOError("cannot open VRRP socket on %s (IPv%d): %s" % (self.ifname, self.family, exc))
        return sock

    def _open_bell(self) -> Optional[socket.socket]:
        """The doorbell: a second raw socket whose filter passes only adverts that cannot wait (bell.py); None if
        the kernel refuses it (the channel is then always read as adverts arrive)."""
        fam = socket.AF_INET if self.family == 4 else socket.AF_INET6
        try:
            sock = socket.socket(fam, socket.SOCK_RAW, packet.IPPROTO_VRRP)
        except OSError:
            return None
        try:
            bell_filter.attach(sock, bell_filter.program(self.family, (), ()))  # quiet until reading.py sets keys
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode() + b"\0")
            if self.family == 4:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, self._mreq(self.group))
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, self._mreq(self.group))
            sock.setblocking(False)
        except OSError:
            sock.close()
            return None
        return sock

    def _stamp(self) -> bool:
        """Arrival times (SO_TIMESTAMPNS) and the kernel's drop count (SO_RXQ_OVFL) on every datagram read."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        except OSError:
            return False
        return True

    def set_bell(self, quiet_keys, vrids) -> None:
        """Ring for these VRIDs unless an advert's key is quiet (bell.py); raises NetIOError."""
        try:
            bell_filter.attach(self.bell, bell_filter.program(self.family, quiet_keys, vrids))
        except (OSError, ValueError) as exc:
            raise NetIOError("cannot set the doorbell filter on %s: %s" % (self.ifname, exc))

    def rings(self) -> int:
        """Empty the doorbell; how many datagrams it held."""
        count = 0
        for count in range(1, MAX_READS_PER_WAKEUP + 1):
            try:
                self.bell.recv(16)
            except OSError:
                return count - 1
        return count

    def make_roomy(self) -> int:
        """A buffer for LAZY_RCVBUF bytes of datagrams (SO_RCVBUFFORCE needs CAP_NET_ADMIN, which vipd has;
        without it, as much as net.core.rmem_max allows). Returns the size the kernel accounts with."""
        for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, LAZY_RCVBUF)
                break
            except OSError:
                continue
        try:
            return self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            return 0

    def count_drops(self) -> None:
        """Take the kernel's count of datagrams this socket dropped for a full buffer (SO_MEMINFO) as what was
        already reported. A channel read as adverts arrive uses recv(), which reports no drops: without this, the
        first timed read after it (reading.py) took the drops of that time, of a start's burst say, for drops
        while adverts waited. Where SO_MEMINFO is missing the count stays, and such a read errs to the safe side."""
        try:
            info = self.sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO_BYTES)
            drops = struct.unpack_from("=I", info, SK_MEMINFO_DROPS * 4)[0]
        except (OSError, struct.error):
            return
        self.dropped = max(self.dropped, drops)

    def _mreq(self, group: str) -> bytes:
        if self.family == 4:
            return struct.pack("=4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), self.ifindex)
        return socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", self.ifindex)

    def set_group(self, group: str) -> None:
        """Move the membership to another multicast group (a reload changed vrrp_mcast_group4/6)."""
        if group == self.group:
            return
        old, self.group = self.group, group
        v4 = self.family == 4
        level = socket.IPPROTO_IP if v4 else socket.IPPROTO_IPV6
        for sock in (self.sock, self.bell):
            if sock is None:
                continue
            try:
                sock.setsockopt(level, socket.IP_DROP_MEMBERSHIP if v4 else socket.IPV6_LEAVE_GROUP, self._mreq(old))
            except OSError:
                pass  # not a member any more: nothing to leave
            try:
                sock.setsockopt(level, socket.IP_ADD_MEMBERSHIP if v4 else socket.IPV6_JOIN_GROUP, self._mreq(group))
            except OSError as exc:
                raise NetIOError("cannot join %s on %s: %s" % (group, self.ifname, exc))

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()
        if self.bell is not None:
            self.bell.close()

    def frame(self, payload: bytes, src: str, dst: str, ttl: int = packet.VRRP_TTL) -> bytes:
        """What send_frame() writes: IPv4 with our own header (IP_HDRINCL), IPv6 the VRRP payload itself."""
        return packet.build_ipv4(payload, src, dst, ttl=ttl) if self.family == 4 else bytes(payload)

    def send_frame(self, frame: bytes, src: str, dst: str, ttl: int = packet.VRRP_TTL) -> None:
        """Send bytes from frame(); the daemon caches them, so a steady master does no encoding.
        ttl: the IPv6 hop limit (IPv4 carries it in the frame), keepalived's unicast_ttl."""
        try:
            if self.family == 4:
                self.sock.sendto(frame, (dst, 0))
            else:
                ancillary = self._v6_ancillary.get((src, dst, ttl))
                if ancillary is None:
                    pktinfo = socket.inet_pton(socket.AF_INET6, src) + struct.pack("=I", self.ifindex)
                    scope = self.ifindex if ipaddress.ip_address(dst).is_link_local or ipaddress.ip_address(dst).is_multicast else 0
                    cmsgs = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, pktinfo)]
                    if ttl != packet.VRRP_TTL:
                        cmsgs.append((socket.IPPROTO_IPV6, IPV6_HOPLIMIT, struct.pack("=i", ttl)))
                    ancillary = self._v6_ancillary[(src, dst, ttl)] = (cmsgs, (dst, 0, 0, scope))
                self.sock.sendmsg([frame], ancillary[0], 0, ancillary[1])
        except OSError as exc:
            raise NetIOError("send to %s on %s failed: %s" % (dst, self.ifname, exc))

    def receive(self, now: Optional[float] = None, dispatch: Optional[Callable[[Incoming], object]] = None) -> List[Incoming]:
        """Drain what is queued (bounded) and parse it; never raises for bad packets. A datagram whose decoding
        carries a repeat callback that takes it is not returned; self.reads counts every datagram read.
        With `now` (the loop's clock) and `dispatch`, a timed read: each datagram goes to dispatch (or its repeat
        callback) as it is read, in order, and self.arrival says meanwhile when it arrived (see _arrived)."""
        if now is not None and dispatch is not None:
            self.drain(lambda: now, dispatch, 1)  # one read of a drain
            return []
        out = []
        reads = 0
        for reads in range(MAX_READS_PER_WAKEUP):
            # The header gives the source (recvfrom's address is a copy of it). No VRRP datagram is longer than 1096
            # bytes (a 60-byte header, 255 addresses, 8 bytes of authentication): a longer one is cut short here and
            # dropped by parse_ipv4 for its total length.
            got = self._read(self.sock.recv, RECV4_BYTES) if self.family == 4 else self._read(self.sock.recvmsg, 65535, _ANCILLARY)
            if got is None:
                break
            item = self._decode4(got) if self.family == 4 else self._decode6(got[0], got[1], got[3][0].split("%")[0])
            repeat = item.repeat
            if repeat is None or not repeat(1):
                out.append(item)
        else:
            reads = MAX_READS_PER_WAKEUP
        self.reads = reads
        return out

    def _read(self, call, *args):
        """One datagram (what recv or recvmsg gives), or None once the queue is empty; raises NetIOError."""
        try:
            return call(*args)
        except OSError as exc:
            return self._read_failed(exc)

    def _read_failed(self, exc: OSError) -> None:
        """None for an empty queue (EAGAIN); NetIOError for a real failure of the read."""
        if isinstance(exc, (BlockingIOError, InterruptedError)) or exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return None
        raise NetIOError("receive on %s failed: %s" % (self.ifname, exc))

    def drain(self, clock: Callable[[], float], dispatch: Callable[[Incoming], object], rounds: int) -> int:
        """Timed reads until the queue is empty or `rounds` reads of MAX_READS_PER_WAKEUP were made,
        each at the clock's time then. Runs of repeats are held across the reads and handed over at the end, so an
        instance hears its run once per drain: a backup of 200 instances holding 600 adverts once heard them in
        about 490 runs, split by the bound of each read (docs/benchmarks.md, twelfth round). Returns the number
        of datagrams read (self.reads too); raises NetIOError, having handed over what it read before."""
        held: Dict[int, list] = {}
        total = 0
        try:
            for _round in range(rounds):
                self._receive_timed(clock(), dispatch, held)
                total += self.reads
                if self.reads < MAX_READS_PER_WAKEUP:
                    break
        finally:
            if held:
                self._let_go(held, dispatch)
            self.arrival = None
            self.reads = total
        return total

    def _receive_timed(self, now: float, dispatch: Callable[[Incoming], object], held: Dict[int, list]) -> None:
        """One read of a drain. Copies of a repeat that come one after another, with nothing else between them, are
        held in `held` and handed to its callback once, with their number and the last one's arrival: a run of the
        same advert leaves an instance as its last copy does, and a backup read when due holds a few of each. The
        runs still held at the end stay there for drain() to hand over."""
        offset = _wall() - now
        last, self._clock_offset = self._clock_offset, offset
        trusted = None if last is None or abs(offset - last) > CLOCK_STEP else offset  # a wall clock step: no stamp
        # how this read dates its datagrams (_arrived), kept with a held copy: a drain hands runs over after later reads
        when = (now, trusted, self.read_at - CLOCK_STEP)
        v4 = self.family == 4
        # A drain reads about 3 datagrams per instance, each one CPU that a backup spends: the read and the decode
        # cache's lookup are made here, not through _read and _decode4 (docs/benchmarks.md, thirteenth round).
        recvmsg, size, lookup = self.sock.recvmsg, RECV4_BYTES if v4 else 65535, self._decoded.get
        reads = reused = 0
        for reads in range(MAX_READS_PER_WAKEUP):
            try:
                data, ancdata, _flags, addr = recvmsg(size, _ANCILLARY)
            except OSError as exc:
                self._read_failed(exc)
                break
            if v4:
                item = lookup(data[2:4] + data[8:10] + data[12:]) if data[:1] == _IHL5 else None  # _decode4's key
                if item is None:
                    item = self._decode4(data)
                else:
                    reused += 1
            else:
                item = self._decode6(data, ancdata, addr[0].split("%")[0])
            if item.repeat is not None:
                run = held.get(id(item))
                if run is None:
                    held[id(item)] = [item, 1, ancdata, when, ancdata, when]
                else:
                    run[1] += 1
                    run[4] = ancdata
                    run[5] = when
                continue
            if held:  # what came before goes first
                self._let_go(held, dispatch)
            self.arrival = self._arrived(ancdata, *when)
            dispatch(item)
        else:
            reads = MAX_READS_PER_WAKEUP
        self.arrival = None
        self.reads = reads
        self.reused += reused
        if reads < MAX_READS_PER_WAKEUP:
            self.read_at = now  # the queue was empty at the end: a datagram still queued then would have been read

    def _let_go(self, held, dispatch) -> None:
        """Hand over the held runs, and empty `held`: [item, copies, first copy's ancillary data and its read's
        dating (now, trusted offset, lowest), last copy's ancillary data and dating]."""
        runs = list(held.values())
        held.clear()
        for item, count, first, first_when, last, last_when in runs:
            self.arrival = self._arrived(last, *last_when)
            if item.repeat(count):
                continue
            # Refused (something changed): the first copy as any datagram, at its own time; the copies after it,
            # identical, only repeat what the last of them leaves, at the last one's time.
            self.arrival = self._arrived(first, *first_when)
            dispatch(item)
            if count > 1:
                self.arrival = self._arrived(last, *last_when)
                repeat = item.repeat
                if repeat is None or not repeat(count - 1):
                    for _copy in range(count - 1):  # each counted as heard, as it would have been
                        dispatch(item)

    def _arrived(self, ancdata, now: float, offset: Optional[float], lowest: float) -> float:
        """When a datagram arrived, on the loop's clock: its kernel stamp (wall time) less the wall clock's offset.
        A stamp that is missing, not trusted (offset None), before `lowest` (a datagram queued then would have been
        read by the last receive) or far ahead gives `now`: later than it arrived, so a backup that cannot tell
        waits longer rather than taking over early. A stamp a little after `now` is a datagram that arrived while
        this receive ran."""
        at = None
        for level, kind, value in ancdata:
            if level != socket.SOL_SOCKET:
                continue
            if kind == SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("=qq", value[:16])
                at = sec + nsec / 1e9
            elif kind == SO_RXQ_OVFL and len(value) >= 4:
                self.dropped = max(self.dropped, struct.unpack("=I", value[:4])[0])
        if at is None or offset is None:
            return now
        at -= offset
        return at if lowest <= at <= now + LATE_SLACK else now

    def _remember(self, key, incoming: Incoming) -> Incoming:
        self.decoded += 1
        cache = self._decoded
        if len(cache) >= DECODE_CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest
        cache[key] = incoming
        return incoming

    def _decode4(self, data: bytes) -> Incoming:
        if len(data) < 20 or data[:1] != _IHL5:  # not an IPv4 header without options, as every router sends
            self.decoded += 1
            return self._parse4(data)
        # With a 20-byte header, bytes 1 (TOS), 4-7 (id, fragment) and 10-11 (header checksum) are the only ones
        # _parse4 never reads; the key keeps the others (the source too), so equal keys mean the same decoding. (A
        # datagram shorter than 20 bytes has a key shorter than any cached one: _receive_timed looks it up as well.)
        # _receive_timed builds the same key inline; test_scale.py checks that the two agree.
        key = data[2:4] + data[8:10] + data[12:]
        hit = self._decoded.get(key)
        if hit is not None:
            self.reused += 1
            return hit
        return self._remember(key, self._parse4(data))

    def _decode6(self, data: bytes, ancdata, src: str) -> Incoming:
        hoplimit, dst = _ancillary6(ancdata)
        key = (data, src, dst, hoplimit)
        hit = self._decoded.get(key)
        if hit is not None:
            self.reused += 1
            return hit
        return self._remember(key, self._parse6_fields(data, src, dst, hoplimit))

    def _parse4(self, data: bytes) -> Incoming:
        src = socket.inet_ntoa(data[12:16]) if len(data) >= 20 else ""
        dst = socket.inet_ntoa(data[16:20]) if len(data) >= 20 else ""
        try:
            # TTL is checked by the daemon: keepalived skips it for unicast peers, which only it knows about.
            rec = packet.parse_ipv4(data, check_ttl=False)
        except packet.PacketError as exc:
            ihl = (data[0] & 0x0F) * 4 if data else 0
            vrid = data[ihl + 1] if len(data) > ihl + 1 else None
            return Incoming(self.ifname, 4, src, dst, drop_reason=exc.reason, vrid_hint=vrid, error=str(exc))
        return Incoming(self.ifname, 4, rec.src, rec.dst, received=rec)

    def _parse6(self, data: bytes, ancdata, src: str) -> Incoming:
        hoplimit, dst = _ancillary6(ancdata)
        return self._parse6_fields(data, src, dst, hoplimit)

    def _parse6_fields(self, data: bytes, src: str, dst: str, hoplimit: Optional[int]) -> Incoming:
        vrid = data[1] if len(data) > 1 else None
        try:
            rec = packet.parse_ipv6(data, src, dst or packet.MCAST_GROUP6, hoplimit, check_ttl=False)
        except packet.PacketError as exc:
            return Incoming(self.ifname, 6, src, dst, drop_reason=exc.reason, vrid_hint=vrid, error=str(exc))
        return Incoming(self.ifname, 6, rec.src, rec.dst, received=rec)


def _ancillary6(ancdata) -> Tuple[Optional[int], str]:
    """(hop limit, destination) from an IPv6 datagram's IPV6_HOPLIMIT / IPV6_PKTINFO control messages."""
    hoplimit, dst = None, ""
    for level, kind, value in ancdata:
        if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT and len(value) >= 4:
            hoplimit = struct.unpack("=i", value[:4])[0]
        elif level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO and len(value) >= 16:
            dst = socket.inet_ntop(socket.AF_INET6, value[:16])
    return hoplimit, dst


# ---- addresses -------------------------------------------------------------------------------------------


def normalize_cidr(cidr: str) -> Tuple[str, str, int]:
    """'A' or 'A/len' -> ('A/len', 'A', family); a bare address is a host address as in keepalived."""
    return _normalized(str(cidr).strip())


@functools.lru_cache(maxsize=2048)
def _normalized(text: str) -> Tuple[str, str, int]:
    # Scale (issue 11): a takeover with 400 VIPs normalized each one three times (add, GARP round, frames) with
    # ipaddress, about 12 us each: most of the takeover. The VIPs are the same strings every time.
    iface = ipaddress.ip_interface(text)
    return "%s/%d" % (iface.ip, iface.network.prefixlen), str(iface.ip), iface.version


def scope_value(scope) -> Optional[int]:
    if scope in (None, ""):
        return None
    if isinstance(scope, int):
        return scope
    text = str(scope).strip().lower()
    if text.isdigit():
        return int(text)
    if text not in inet.SCOPES:
        raise NetIOError("unknown scope %s" % scope)
    return inet.SCOPES[text]


class AddressSnapshot:
    """Every address of the namespace from ONE netlink dump, by interface, for a batch of instance starts.

    Scale (issue 11): each instance's start used to dump all addresses twice (stale VIPs, source address), and
    the dump grows with every VIP the instances before it added: 200 instances took 400 dumps of up to 200
    addresses, quadratic. A start batch now reads one snapshot taken before any of its instances adds a VIP.
    """

    def __init__(self, addrs=None):
        self.by_ifname: Dict[str, list] = {}
        for a in (_netlink(addresses.list_addresses) if addrs is None else addrs):
            self.by_ifname.setdefault(a.ifname, []).append(a)

    def of(self, ifname: str, family: int) -> list:
        return [a for a in self.by_ifname.get(ifname, ()) if a.family == family]


def address_snapshot() -> Optional[AddressSnapshot]:
    """One dump for a batch of starts; None when it fails (the callers then ask per interface as before)."""
    try:
        return AddressSnapshot()
    except addresses.AddressError:
        return None


def _addresses_of(ifname: str, family: int, snapshot: Optional[AddressSnapshot]) -> list:
    if snapshot is not None:
        return snapshot.of(ifname, family)
    return _netlink(addresses.list_addresses, ifname, family=family)


def primary_address(ifname: str, family: int = 4, exclude=(), snapshot: Optional[AddressSnapshot] = None,
                    keep: Optional[str] = None) -> Optional[str]:
    """The address adverts are sent from: IPv4 the first primary address, IPv6 the link-local one; ``keep`` (the
    source in use) while it is still there.

    Addresses in ``exclude`` (our VIPs) never count: a VIP in another subnet is a kernel 'primary' too.
    """
    excluded = set(str(ipaddress.ip_address(str(a).split("/", 1)[0])) for a in exclude)
    candidates = [a for a in _addresses_of(ifname, family, snapshot) if a.address not in excluded]
    if keep is not None and any(a.address == keep for a in candidates):
        return keep
    if family == 6:
        for a in candidates:
            if ipaddress.ip_address(a.address).is_link_local:
                return a.address
        return None
    for a in candidates:
        if not a.secondary:
            return a.address
    return candidates[0].address if candidates else None


def prepare_vip(cidr: str) -> None:
    """Parse a VIP for every later use (all memoized): normalizing, the netlink request, the GARP frame, the advert.
    Scale (issue 11): a backup does it at start, so that its takeover with 400 VIPs only looks them up (parsing them
    then with ipaddress was about 5 ms of it)."""
    norm, ip, family = normalize_cidr(cidr)
    try:
        addresses.parse_cidr(norm)
    except addresses.AddressError as exc:
        raise NetIOError(str(exc))
    if family == 4:
        announce.packed4(ip)
    packet.packed_address(family, ip)


def vip_present(ifname: str, cidr: str, snapshot: Optional[AddressSnapshot] = None) -> bool:
    _norm, ip, family = normalize_cidr(cidr)
    try:
        return any(a.address == ip for a in _addresses_of(ifname, family, snapshot))
    except addresses.AddressError:
        return False


def vip_add(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None, scope=None,
            flags: int = 0, nodad: bool = True, preferred_lft: Optional[int] = None) -> bool:
    """Add a VIP (idempotent). IPv6 VIPs skip DAD unless nodad=False ('-nodad'): the address must answer at once,
    as keepalived does. flags (IFA_F_*) and preferred_lft (IPv6): VipSpec.netlink_options()."""
    norm, _ip, family = normalize_cidr(cidr)
    try:
        return _netlink(addresses.add_address, ifname, norm, label=label, broadcast=broadcast if family == 4 else None,
                        scope=scope_value(scope), nodad=nodad and family == 6, flags=flags,
                        preferred_lft=preferred_lft if family == 6 else None)
    except addresses.AddressError as exc:
        raise NetIOError(str(exc))


class VipAdds:
    """vip_add_many()'s work made ready ahead (prepare_vip_adds()); run() adds the VIPs."""
    __slots__ = ("size", "errors", "slots", "batch")

    def __init__(self, size: int, errors: dict, slots: list, batch):
        self.size, self.errors, self.slots, self.batch = size, errors, slots, batch

    def run(self) -> list:
        """Per item True (added), False (already there) or the NetIOError / ValueError of that item alone."""
        out: list = [self.errors.get(i) for i in range(self.size)]
        if self.batch is None:
            return out
        try:
            results = _netlink(addresses.add_addresses, self.batch)
        except addresses.AddressError as exc:
            results = [exc] * len(self.slots)
        for i, result in zip(self.slots, results):
            out[i] = NetIOError(str(result)) if isinstance(result, Exception) else result
        return out


def prepare_vip_adds(items) -> VipAdds:
    """vip_add_many()'s checks and netlink requests, done now (issue 11: vipd prepares an instance of many VIPs
    when it becomes backup, so that its takeover only sends them). items: as vip_add_many() takes them."""
    errors, slots, prepared = {}, [], []
    for i, item in enumerate(items):
        ifname, cidr, label, broadcast, scope = item[:5]
        options = item[5] if len(item) > 5 else {}
        try:
            norm, _ip, family = normalize_cidr(cidr)
            prepared.append((ifname, norm, label, broadcast if family == 4 else None, scope_value(scope),
                             bool(options.get("nodad", True)) and family == 6, options.get("flags", 0),
                             options.get("preferred_lft") if family == 6 else None))
            slots.append(i)
        except (ValueError, NetIOError) as exc:
            errors[i] = exc
    batch = None
    if prepared:
        try:
            batch = _netlink(addresses.prepare_adds, prepared)
        except addresses.AddressError as exc:  # pyroute2 missing: each item reports it, as add_addresses() would
            errors.update((i, NetIOError(str(exc))) for i in slots)
            slots = []
    return VipAdds(len(items), errors, slots, batch if slots else None)


def vip_add_many(items) -> list:
    """vip_add() for many VIPs in one netlink exchange (addresses.add_addresses; issue 11: 400 VIPs were 400
    sockets and round trips). items: (ifname, cidr, label, broadcast, scope[, options]) with options vip_add()'s
    flags / nodad / preferred_lft keywords; per item True (added), False (already there) or the NetIOError /
    ValueError of that item alone."""
    return prepare_vip_adds(items).run()


def vip_remove(ifname: str, cidr: str) -> bool:
    """Remove a VIP whatever prefix it was left behind with (a crashed run may have used another)."""
    result = vip_remove_many([(ifname, cidr)])[0]
    if isinstance(result, Exception):
        raise result  # pylint: disable=raising-bad-type  # a NetIOError or ValueError (pylint reads maybe None)
    return result


def vip_remove_many(items) -> list:
    """vip_remove() for many (ifname, cidr): one dump per interface and family, then one netlink exchange (issue
    11: a dump per VIP made releasing 400 VIPs take 2 s). Per item True (removed), False (not there) or the
    NetIOError / ValueError of that item alone."""
    out: list = [None] * len(items)
    listed: dict = {}
    by_ip: dict = {}  # (ifname, family) -> {address: [Addr]}: a lookup per VIP, not a scan of the dump
    targets, owners = [], []  # (ifname, cidr with the prefix found), and the item each one removes
    for i, (ifname, cidr) in enumerate(items):
        try:
            _norm, ip, family = normalize_cidr(cidr)
            key = (ifname, family)
            if key not in listed:
                listed[key] = _netlink(addresses.list_addresses, ifname, family=family)
                by_ip[key] = {}
                for a in listed[key]:
                    by_ip[key].setdefault(a.address, []).append(a)
        except ValueError as exc:
            out[i] = exc
            continue
        except addresses.AddressError as exc:
            out[i] = NetIOError(str(exc))
            continue
        out[i] = False
        for a in by_ip[key].get(ip, []):
            targets.append((ifname, a.cidr))
            owners.append(i)
    try:
        results = _netlink(addresses.delete_addresses, targets, listed) if targets else []
    except addresses.AddressError as exc:
        results = [exc] * len(targets)
    for i, result in zip(owners, results):
        if isinstance(result, Exception):
            out[i] = NetIOError(str(result))
        elif not isinstance(out[i], Exception):
            out[i] = out[i] or result
    return out


_ANNOUNCE_SOCKETS = {}  # ifname -> AF_PACKET socket, kept open


def _announce_socket(ifname: str) -> socket.socket:
    """A send-only AF_PACKET socket bound to ifname, opened once.

    Protocol 0 registers no receive hook, so bind() is immediate; binding with ETH_P_ARP (and closing any
    packet socket) waits for an RCU grace period, 15-30 ms here: the GARP then left that long after the
    advert, and the resigning master, which drops the VIP on that advert, lost the client for a few probes.
    """
    sock = _ANNOUNCE_SOCKETS.get(ifname)
    if sock is None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            sock.bind((ifname, 0))
        except OSError:
            sock.close()
            raise
        _ANNOUNCE_SOCKETS[ifname] = sock
    return sock


def _announce_target(ifname: str) -> Tuple[socket.socket, bytes]:
    """The send socket of ifname and the interface's MAC now.

    A packet socket stays bound to the interface index it was bound to: when the interface is deleted, the kernel
    sets that to -1 and getsockname() reports no name and no MAC. A socket kept for an interface that was then
    created again under the same name (a VMAC, a VLAN after ifdown / ifup) failed every announcement on it
    ("MAC address must be 6 bytes"): it is reopened, by name.
    """
    sock = _announce_socket(ifname)
    bound = sock.getsockname()
    if bound[0] != ifname:
        _close_announce_socket(ifname)
        sock = _announce_socket(ifname)
        bound = sock.getsockname()
    return sock, bound[4]


def _close_announce_socket(ifname: str) -> None:
    stale = _ANNOUNCE_SOCKETS.pop(ifname, None)
    if stale is not None:
        stale.close()


class Announces:
    """announce_many()'s frames made ready ahead (prepare_announces()); run() sends them.

    A frame carries the interface's MAC as it was when built: run() reads each interface's MAC again (one
    getsockname() per interface, as before) and builds that interface's frames anew when it changed.
    """
    __slots__ = ("entries", "errors", "macs")

    def __init__(self, entries: list, errors: list):
        self.entries = entries  # [index, ifname, cidr, ip, family, frame or None]
        self.errors = errors  # [(index, NetIOError)] of items that can never be sent (malformed address)
        self.macs: Dict[str, bytes] = {}  # ifname -> the MAC its entries' frames carry

    def _sockets(self) -> dict:
        """Each interface's socket, its frames made to match its MAC now; the OSError when there is none."""
        socks: dict = {}
        for entry in self.entries:
            ifname = entry[1]
            if ifname in socks:
                continue
            try:
                sock, mac = _announce_target(ifname)
            except OSError as exc:
                socks[ifname] = exc
                continue
            socks[ifname] = sock
            if self.macs.get(ifname) != mac:  # not built yet, or the interface's MAC changed since
                self.macs[ifname] = mac
                for e in self.entries:
                    if e[1] == ifname:
                        e[5] = _announce_frame(mac, e[3], e[4])
        return socks

    def build(self) -> None:
        """Build the frames now (a backup, before its master dies); what fails now is tried again by run()."""
        self._sockets()

    def run(self, count: int, only=None) -> Tuple[int, list]:
        """``count`` rounds of every entry (of those whose cidr is in ``only``, when given). Returns (frames sent,
        [(index, NetIOError)])."""
        errors = list(self.errors)
        socks = self._sockets()
        todo = []
        for e in self.entries:
            if only is not None and e[2] not in only:
                continue
            sock = socks[e[1]]
            # no socket (no such interface), or no frame for its MAC (not Ethernet)
            failed = sock if isinstance(sock, OSError) else e[5] if isinstance(e[5], ValueError) else None
            if failed is not None:
                errors.append((e[0], NetIOError("announce %s on %s failed: %s" % (e[2], e[1], failed))))
                continue
            todo.append([sock, e])
        sent = 0
        for done in range(max(0, count)):
            for item in todo:
                if item[0] is None:
                    continue
                try:
                    item[0].send(item[1][5])
                    sent += 1
                except OSError:
                    # announce_vip() reopens a stale socket (interface re-created) and sends what is left of this address
                    item[0] = None
                    self.macs.pop(item[1][1], None)
                    try:
                        sent += announce_vip(item[1][1], item[1][2], count - done)
                    except NetIOError as exc:
                        errors.append((item[1][0], exc))
        return sent, errors


def _announce_frame(mac: bytes, ip: str, family: int):
    """The GARP (ARP request form, as keepalived sends) or unsolicited NA frame; the ValueError when there is none."""
    try:
        return announce.garp_frame(mac, ip, "request") if family == 4 else announce.na_frame(mac, ip)
    except ValueError as exc:
        return exc


def prepare_announces(items) -> Announces:
    """announce_many()'s parsing and frames, done now (issue 11: building 400 GARP frames took 1-1.5 ms of a
    takeover; vipd prepares an instance of many VIPs when it becomes backup). items: (ifname, cidr)."""
    entries, errors = [], []
    for i, (ifname, cidr) in enumerate(items):
        try:
            _norm, ip, family = normalize_cidr(cidr)
        except ValueError as exc:
            errors.append((i, NetIOError("announce %s on %s failed: %s" % (cidr, ifname, exc))))
            continue
        entries.append([i, ifname, cidr, ip, family, None])
    return Announces(entries, errors)


def announce_many(items, count: int) -> Tuple[int, list]:
    """GARP / NA for many addresses: ``count`` rounds of every address in turn (keepalived's order: each address's
    first announcement before any second one), each frame built once. items: (ifname, cidr). Returns (frames sent,
    [(index, NetIOError)]). Scale (issue 11): with 400 VIPs the last one's first GARP no longer waits for the 1995
    frames of the addresses before it, nor does each frame cost an address parse and a getsockname().
    """
    return prepare_announces(items).run(count)


def announce_vip(ifname: str, cidr: str, count: int) -> int:
    """GARP (IPv4, ARP request form as keepalived sends) or unsolicited NA (IPv6); returns frames sent."""
    _norm, ip, family = normalize_cidr(cidr)
    if count <= 0:
        return 0
    for attempt in (1, 2):
        try:
            sock, mac = _announce_target(ifname)  # the interface's current hardware address, in this namespace
            frame = announce.garp_frame(mac, ip, "request") if family == 4 else announce.na_frame(mac, ip)
            for _round in range(count):
                sock.send(frame)
            return count
        except (OSError, ValueError) as exc:
            _close_announce_socket(ifname)
            if attempt == 2 or isinstance(exc, ValueError):
                raise NetIOError("announce %s on %s failed: %s" % (ip, ifname, exc))
    return 0
