# -*- coding: utf-8 -*-
# Copyright: (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRRP wire format: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 / RFC 9568), pure functions.

encode() and decode() work on the VRRP message alone (what a raw socket sends and, for IPv6, receives);
parse_ipv4() takes a whole IPv4 datagram as an IPv4 raw socket returns it. Every rejection is a
PacketError whose .reason is one of DROP_REASONS, so the daemon counts drops by reason.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations
__metaclass__ = type

import functools
import ipaddress
import struct
from dataclasses import dataclass

from ..inet import inet_checksum, pseudo_header  # noqa: F401 (inet_checksum is part of this module's API)

IPPROTO_VRRP = 112
IPPROTO_AH = 51
VRRP_TTL = 255
VRRP_TYPE_ADVERT = 1
AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2
AUTH_DATA_LEN = 8
HEADER_LEN = 8
MCAST_GROUP4 = "224.0.0.18"
MCAST_GROUP6 = "ff02::12"

CHECKSUM_PSEUDO = "pseudo"
CHECKSUM_PLAIN = "plain"

DROP_REASONS = (
    "ttl", "version", "type", "length", "checksum", "vrid", "auth_type", "auth", "interval", "family",
    "addr_count",
)


class PacketError(ValueError):
    """A received packet that must be dropped; .reason is one of DROP_REASONS."""

    def __init__(self, reason, detail=""):
        if reason not in DROP_REASONS:
            raise ValueError("unknown drop reason %r" % (reason,))
        self.reason = reason
        self.detail = detail
        super(PacketError, self).__init__("%s: %s" % (reason, detail) if detail else reason)


@dataclass(frozen=True)
class Advert:
    version: int
    vrid: int
    priority: int
    interval_cs: int
    addresses: tuple = ()
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""
    family: int = 4

    @property
    def interval(self):
        """Advertisement interval in seconds (float)."""
        return self.interval_cs / 100.0


@dataclass(frozen=True)
class Received:
    src: str
    dst: str
    ttl: int
    advert: Advert
    checksum_form: str


def auth_pass_bytes(password):
    """The 8 bytes keepalived puts in a v2 PASS advert: the password truncated to 8, NUL padded."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    return bytes(password[:AUTH_DATA_LEN]).ljust(AUTH_DATA_LEN, b"\0")


def _pack_addresses(addresses, family):
    try:
        return b"".join(packed_address(family, a) for a in addresses)
    except ValueError as exc:
        raise ValueError("address not IPv%d: %s" % (family, exc))


def packed_address(family, address):
    """An address's bytes (ipaddress's packed), memoized for hashable input."""
    try:
        return _packed_cached(family, address)
    except TypeError:  # not hashable: ipaddress says what is wrong with it
        return (ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address)(address).packed


@functools.lru_cache(maxsize=2048)
def _packed_cached(family, address):
    # a master with 400 VIPs encodes them again for each new priority (issue 11); the addresses do not change
    return (ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address)(address).packed


def encode(advert, src, dst, pseudo_header_checksum=True):
    """The VRRP message for advert (no IP header), checksum filled in.

    v2 uses the plain checksum over the message (RFC 3768; over IPv6, keepalived's form: with the IPv6
    pseudo-header); v3 over IPv4 includes the IPv4
    pseudo-header when pseudo_header_checksum is true (keepalived's form) and not otherwise (RFC 9568's
    form); v3 over IPv6 always includes the IPv6 pseudo-header. Raises ValueError on an advert that
    cannot be put on the wire.
    """
    if advert.family not in (4, 6):
        raise ValueError("family must be 4 or 6")
    if not 1 <= advert.vrid <= 255:
        raise ValueError("vrid out of range 1..255: %r" % (advert.vrid,))
    if not 0 <= advert.priority <= 255:
        raise ValueError("priority out of range 0..255: %r" % (advert.priority,))
    if len(advert.addresses) > 255:
        raise ValueError("too many addresses")
    addrs = _pack_addresses(advert.addresses, advert.family)
    if advert.version == 2:
        # VRRPv2 over IPv6 is no RFC's but keepalived 2.2.7 sends it (`version 2` before IPv6 VIPs): no auth
        # data, and the IPv6 pseudo-header checksum its socket's IPV6_CHECKSUM makes the kernel compute.
        secs, rest = divmod(int(advert.interval_cs), 100)
        if rest or not 1 <= secs <= 255:
            raise ValueError("VRRPv2 interval must be whole seconds 1..255, got %r cs" % (advert.interval_cs,))
        if advert.auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH):
            raise ValueError("auth type must be 0, 1 or 2")
        auth = bytes(advert.auth_data[:AUTH_DATA_LEN]).ljust(AUTH_DATA_LEN, b"\0")
        head = struct.pack("!BBBBBBH", 0x21, advert.vrid, advert.priority, len(advert.addresses),
                           advert.auth_type, secs, 0)
        body = addrs + (auth if advert.family == 4 else b"")
        pseudo = pseudo_header(src, dst, len(head) + len(body), IPPROTO_VRRP, 6) if advert.family == 6 else b""
        csum = inet_checksum(pseudo + head + body)
    elif advert.version == 3:
        if not 1 <= advert.interval_cs <= 0xFFF:
            raise ValueError("VRRPv3 interval must be 1..4095 cs, got %r" % (advert.interval_cs,))
        head = struct.pack("!BBBBHH", 0x31, advert.vrid, advert.priority, len(advert.addresses),
                           int(advert.interval_cs), 0)
        body = addrs
        pseudo = b""
        if advert.family == 6 or pseudo_header_checksum:
            pseudo = pseudo_header(src, dst, len(head) + len(body), IPPROTO_VRRP, advert.family)
        csum = inet_checksum(pseudo + head + body)
    else:
        raise ValueError("version must be 2 or 3")
    return head[:6] + struct.pack("!H", csum) + body


def _check_v3_checksum(payload, src, dst, family):
    """Which v3 checksum form payload carries, or None when none matches."""
    if family == 6:
        if inet_checksum(pseudo_header(src, dst, len(payload), IPPROTO_VRRP, 6) + payload) == 0:
            return CHECKSUM_PSEUDO
        return None
    if src is not None and dst is not None:
        if inet_checksum(pseudo_header(src, dst, len(payload), IPPROTO_VRRP, 4) + payload) == 0:
            return CHECKSUM_PSEUDO
        # keepalived before 2.0.x (and its unicast_checksum_compat) used the multicast group as
        # the pseudo-header destination even on unicast; accept that too, as keepalived does.
        if dst != MCAST_GROUP4 and inet_checksum(
                pseudo_header(src, MCAST_GROUP4, len(payload), IPPROTO_VRRP, 4) + payload) == 0:
            return CHECKSUM_PSEUDO
    if inet_checksum(payload) == 0:
        return CHECKSUM_PLAIN
    return None


def decode(payload, src, dst, family=4):
    """Validate and decode one VRRP message (no IP header) -> (Advert, checksum form).

    The checksum form is "plain" for v2 and for a v3/IPv4 message summed without the pseudo-header,
    "pseudo" otherwise. Raises PacketError. TTL / hop limit is checked by the caller
    (parse_ipv4, parse_ipv6) since it lives in the IP header.
    """
    payload = bytes(payload)
    if family not in (4, 6):
        raise PacketError("family", "address family %r" % (family,))
    if len(payload) < HEADER_LEN:
        raise PacketError("length", "%d bytes, shorter than the VRRP header" % len(payload))
    version, ptype = payload[0] >> 4, payload[0] & 0x0F
    if version not in (2, 3):
        raise PacketError("version", "version %d" % version)
    if ptype != VRRP_TYPE_ADVERT:
        raise PacketError("type", "type %d" % ptype)
    vrid, priority, count = payload[1], payload[2], payload[3]
    if vrid == 0:
        # RFC 3768 5.3.3 / RFC 5798 5.2.3: VRID is 1..255; 0 is what no router may send (found by fuzzing:
        # decode() accepted an advert that encode() refuses)
        raise PacketError("vrid", "VRID 0")
    alen = 4 if family == 4 else 16
    # VRRPv2 carries 8 bytes of auth data; keepalived's VRRPv2 over IPv6 does not
    expected = HEADER_LEN + count * alen + (AUTH_DATA_LEN if version == 2 and family == 4 else 0)
    if len(payload) < expected:
        raise PacketError("length", "%d bytes, %d addresses need %d" % (len(payload), count, expected))
    if len(payload) > expected:
        raise PacketError("addr_count", "%d bytes do not match %d addresses (%d bytes)" % (
            len(payload), count, expected))
    if version == 2:
        # over IPv6 (keepalived 2.2.7's non-standard VRRPv2 over IPv6): with the IPv6 pseudo-header
        if family == 6:
            if _check_v3_checksum(payload, src, dst, 6) is None:
                raise PacketError("checksum", "VRRPv2 over IPv6 checksum")
            form = CHECKSUM_PSEUDO
        elif inet_checksum(payload) != 0:
            raise PacketError("checksum", "VRRPv2 checksum")
        else:
            form = CHECKSUM_PLAIN
        auth_type, interval_cs = payload[4], payload[5] * 100
        auth_data = payload[expected - AUTH_DATA_LEN:] if family == 4 else b""
    else:
        form = _check_v3_checksum(payload, src, dst, family)
        if form is None:
            raise PacketError("checksum", "VRRPv3 checksum matches neither form")
        # the 4 reserved bits are ignored on receive (RFC 9568 5.2.7)
        interval_cs = struct.unpack("!H", payload[4:6])[0] & 0x0FFF
        auth_type, auth_data = AUTH_NONE, b""
    if interval_cs == 0:
        raise PacketError("interval", "advertisement interval 0")
    if version == 2 and auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH):
        raise PacketError("auth_type", "auth type %d" % auth_type)
    # The text str(ipaddress) writes: IPv4 through the memoized ntoa4 (much cheaper per address, issue 11), IPv6
    # through ipaddress itself, for its exact compression rules.
    if family == 4:
        addresses = tuple(ntoa4(payload[i:i + 4]) for i in range(HEADER_LEN, HEADER_LEN + count * 4, 4))
    else:
        addresses = tuple(str(ipaddress.IPv6Address(payload[i:i + 16])) for i in range(HEADER_LEN, HEADER_LEN + count * 16, 16))
    return Advert(version=version, vrid=vrid, priority=priority, interval_cs=interval_cs,
                  addresses=addresses, auth_type=auth_type, auth_data=auth_data, family=family), form


def _same_bytes(a: bytes, b: bytes) -> bool:
    """Constant-time equality for the 8-byte PASS field (hmac.compare_digest would map OpenSSL's libcrypto)."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


def check_advert(advert, vrid, version, auth_type=AUTH_NONE, auth_data=b"", interval_cs=None, addr_count=None):
    """The per-instance receive rules (RFC 3768 7.1, as keepalived applies them); raises PacketError.

    vrid / version: the instance's; auth_type / auth_data: v2 authentication (auth_data as
    auth_pass_bytes() gives it); interval_cs: the configured interval, which a v2 advert must carry
    (keepalived drops a mismatch so two routers with different timers never split the VRID);
    addr_count: the configured VIP count when the caller wants that rule applied.
    """
    if advert.vrid != vrid:
        raise PacketError("vrid", "VRID %d not configured here" % advert.vrid)
    if advert.version != version:
        raise PacketError("version", "version %d, instance runs %d" % (advert.version, version))
    if version == 2:
        if advert.auth_type != auth_type:
            raise PacketError("auth_type", "auth type %d, expected %d" % (advert.auth_type, auth_type))
        if auth_type == AUTH_PASS and not _same_bytes(bytes(advert.auth_data), auth_pass_bytes(auth_data)):
            raise PacketError("auth", "wrong password")
        if interval_cs is not None and advert.interval_cs != interval_cs:
            raise PacketError("interval", "interval %d cs, configured %d cs" % (advert.interval_cs, interval_cs))
    if addr_count is not None and len(advert.addresses) != addr_count:
        raise PacketError("addr_count", "%d addresses, %d configured" % (len(advert.addresses), addr_count))


_NTOA4: dict = {}  # 4 bytes -> dotted quad; a backup hears the same few sources over and over


def ntoa4(raw: bytes) -> str:
    """The text of a 4-byte IPv4 address, as str(ipaddress.IPv4Address) writes it; memoized (issue 11: the
    per-advert cost) and bounded, since sources are whatever the wire brings."""
    text = _NTOA4.get(raw)
    if text is None:
        if len(_NTOA4) >= 4096:
            _NTOA4.clear()
        text = _NTOA4[raw] = "%d.%d.%d.%d" % (raw[0], raw[1], raw[2], raw[3])
    return text


def parse_ipv4(datagram, check_ttl=True):
    """Decode a raw IPv4 datagram (IP header included) carrying VRRP -> Received.

    check_ttl=False is for unicast peers, where keepalived skips the TTL rule as well.
    """
    datagram = bytes(datagram)
    if len(datagram) < 20:
        raise PacketError("length", "%d bytes, shorter than an IPv4 header" % len(datagram))
    if datagram[0] >> 4 != 4:
        raise PacketError("family", "IP version %d" % (datagram[0] >> 4))
    ihl = (datagram[0] & 0x0F) * 4
    total = struct.unpack("!H", datagram[2:4])[0]
    if ihl < 20 or len(datagram) < ihl:
        raise PacketError("length", "bad IPv4 header length %d" % ihl)
    # Linux raw sockets hand over tot_len as on the wire; trailing bytes (padding) are not VRRP
    if total < ihl or total > len(datagram):
        raise PacketError("length", "IPv4 total length %d, received %d" % (total, len(datagram)))
    ttl, proto = datagram[8], datagram[9]
    src = ntoa4(datagram[12:16])
    dst = ntoa4(datagram[16:20])
    if proto == IPPROTO_AH:
        raise PacketError("auth_type", "IPsec AH is not supported")
    if proto != IPPROTO_VRRP:
        raise PacketError("type", "IP protocol %d" % proto)
    if check_ttl and ttl != VRRP_TTL:
        raise PacketError("ttl", "TTL %d" % ttl)
    advert, form = decode(datagram[ihl:total], src, dst, family=4)
    return Received(src=src, dst=dst, ttl=ttl, advert=advert, checksum_form=form)


def parse_ipv6(payload, src, dst, hop_limit, check_ttl=True):
    """Decode a VRRP message received on an IPv6 raw socket (hop limit from IPV6_HOPLIMIT) -> Received."""
    if check_ttl and hop_limit != VRRP_TTL:
        raise PacketError("ttl", "hop limit %r" % (hop_limit,))
    src = str(ipaddress.IPv6Address(src.split("%", 1)[0]))
    dst = str(ipaddress.IPv6Address(dst.split("%", 1)[0]))
    advert, form = decode(payload, src, dst, family=6)
    return Received(src=src, dst=dst, ttl=hop_limit if hop_limit is not None else -1, advert=advert, checksum_form=form)


def build_ipv4(payload, src, dst, ttl=VRRP_TTL, ident=0):
    """An IPv4 header + payload for protocol 112 (tests, and sockets opened with IP_HDRINCL)."""
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), ident, 0, ttl, IPPROTO_VRRP, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    head = head[:10] + struct.pack("!H", inet_checksum(head)) + head[12:]
    return head + bytes(payload)
