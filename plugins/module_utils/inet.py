# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names shared by the modules, the persistence writers and the VRRP engine (pure, no I/O).

Interface names reach shell lines (rc.local), file names (ifcfg-NAME), keepalived config lines and
netlink. The kernel accepts almost any byte in a name (`x$(id>&2)` is a valid veth name), so we accept
only what real interfaces use: letters, digits and `_ . - @`, 1-15 characters, not `.` or `..`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import struct
from typing import Optional

IFNAMSIZ = 16
IFNAME_RE = re.compile(r"\A[A-Za-z0-9_.@-]{1,15}\Z")
# What may follow "IFNAME:" in an address label (eth0:0, eth0:db).
LABEL_SUFFIX_RE = re.compile(r"\A[A-Za-z0-9_.@-]+\Z")
IFNAME_RULE = "1-15 characters from letters, digits and '_ . - @', not '.' or '..'"
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


def ifname_error(name) -> Optional[str]:
    """None when `name` is an acceptable interface name, else the reason (never echoing control characters)."""
    if not isinstance(name, str) or not IFNAME_RE.match(name) or name in (".", ".."):
        return "invalid interface name %s (%s)" % (safe_repr(name), IFNAME_RULE)
    return None


def is_ascii(text: str) -> bool:
    """str.isascii(), which Python 3.6 (RHEL 8's platform Python, a vip_alias target) lacks."""
    return all(ord(ch) < 128 for ch in text)


def is_ifname(name) -> bool:
    return ifname_error(name) is None


def safe_repr(value, limit: int = 64) -> str:
    """repr() of a value for an error message: escapes control characters and line separators, truncated."""
    text = repr(value)
    if len(text) > limit:
        text = text[:limit] + "...'"
    return text.encode("ascii", "backslashreplace").decode("ascii")


def inet_checksum(data, initial=0):
    """RFC 1071 one's complement sum, folded and complemented (0 over data whose checksum is right).

    The one home of the Internet checksum: VRRP adverts, ICMP echo (health checks) and ICMPv6 NAs use it.
    """
    if len(data) % 2:
        data += b"\0"
    # One unpack of every word (scale, issue 11: a backup of 200 instances checks 200 adverts a second).
    total = initial + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src, dst, length, proto, family=None):
    """The IPv4 (RFC 768) or IPv6 (RFC 8200 8.1) pseudo-header over which upper-layer checksums are taken.

    `family` (4 or 6), when given, is what the addresses must be (ValueError otherwise); else src decides.
    """
    if family is None:
        family = ipaddress.ip_address(str(src)).version
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    if family == 4:
        return cls(src).packed + cls(dst).packed + struct.pack("!BBH", 0, proto, length)
    return cls(src).packed + cls(dst).packed + struct.pack("!I3xB", length, proto)


# ---- netlink framing: the one reader of struct nlmsghdr and struct rtattr (addresses.py, vrrp/routes.py,
# vrrp/tracking.py); the messages' bodies are each caller's.
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
RTATTR_HEADER = struct.Struct("=HH")  # length, type
NLA_TYPE_MASK = 0x3FFF  # an attribute's type without NLA_F_NESTED / NLA_F_NET_BYTEORDER
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300


def nl_align(length):
    """NLMSG_ALIGN / RTA_ALIGN: lengths round up to 4 bytes."""
    return (length + 3) & ~3


def netlink_messages(data):
    """(type, flags, sequence, offset, length) of each netlink message in a datagram, in order; stops at a header
    that is too short or runs past the datagram (the kernel sends neither)."""
    offset, end = 0, len(data)
    while offset + NLMSG_HEADER.size <= end:
        length, kind, flags, seq, _port = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size or offset + length > end:
            return
        yield kind, flags, seq, offset, length
        offset += nl_align(length)


def netlink_attributes(data, offset, end):
    """(type, payload) of each route attribute between offset and end, in order (type as sent, flag bits
    included); stops at one that is too short or runs past end."""
    while offset + RTATTR_HEADER.size <= end:
        length, kind = RTATTR_HEADER.unpack_from(data, offset)
        if length < RTATTR_HEADER.size or offset + length > end:
            return
        yield kind, data[offset + RTATTR_HEADER.size:offset + length]
        offset += nl_align(length)


def netlink_attribute(kind, payload):
    """One route attribute as sent: header, payload, padding to 4 bytes."""
    length = RTATTR_HEADER.size + len(payload)
    return RTATTR_HEADER.pack(length, kind) + payload + b"\0" * (nl_align(length) - length)
