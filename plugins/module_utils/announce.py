# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gratuitous ARP and unsolicited IPv6 neighbour advertisements over AF_PACKET.

Frame builders are pure (bytes in, bytes out) so tests can check every byte; the
senders are the only I/O. Shared with the vipd engine: no ansible imports here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import ipaddress
import re
import socket
import struct
import time

from .inet import inet_checksum, pseudo_header, safe_repr

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
BROADCAST_MAC = b"\xff" * 6
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ALL_NODES = ipaddress.IPv6Address("ff02::1")
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ICMPV6_NA = 136
NA_FLAG_OVERRIDE = 0x20000000
NA_FLAG_ROUTER = 0x80000000
ND_OPT_TARGET_LL = 2
ETH_MIN_FRAME = 60  # minimum Ethernet frame without FCS; short frames are zero padded
_MAC_PART = re.compile(r"[0-9A-Fa-f]{1,2}\Z")


def mac_bytes(mac) -> bytes:
    if isinstance(mac, (bytes, bytearray)):
        if len(mac) != 6:
            raise ValueError("MAC address must be 6 bytes")
        return bytes(mac)
    parts = str(mac).replace("-", ":").split(":")
    # int(p, 16) alone would also take "+1", "0x1", " 1", "1_0" and non-ASCII digits (found by property tests)
    if len(parts) != 6 or not all(_MAC_PART.match(p) for p in parts):
        raise ValueError("malformed MAC address %s" % (safe_repr(mac),))
    return bytes(int(p, 16) for p in parts)


def _pad(frame: bytes) -> bytes:
    return frame + b"\x00" * max(0, ETH_MIN_FRAME - len(frame))


def garp_frame(src_mac, ipv4, form: str = "request") -> bytes:
    """Ethernet + ARP gratuitous frame, broadcast, sender = target = ipv4.

    form "request" matches `arping -U` (target MAC ff:ff:ff:ff:ff:ff), "reply" matches
    `arping -A` (target MAC = sender MAC). Both update existing neighbour entries.
    """
    if form not in ("request", "reply"):
        raise ValueError("GARP form must be 'request' or 'reply', not %r" % (form,))
    mac = mac_bytes(src_mac)
    ip = packed4(str(ipv4))
    op = ARPOP_REQUEST if form == "request" else ARPOP_REPLY
    tha = BROADCAST_MAC if form == "request" else mac
    eth = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op) + mac + ip + tha + ip
    return _pad(eth + arp)


@functools.lru_cache(maxsize=2048)
def packed4(text: str) -> bytes:
    # the same VIPs are announced at every takeover (vipd, issue 11: 400 VIPs parsed by ipaddress each time)
    return ipaddress.IPv4Address(text).packed


def icmpv6_checksum(src, dst, payload: bytes) -> int:
    return inet_checksum(pseudo_header(src, dst, len(payload), socket.IPPROTO_ICMPV6) + payload)


def na_frame(src_mac, ipv6, src_ip=None, router: bool = False) -> bytes:
    """Ethernet + IPv6 + ICMPv6 unsolicited neighbour advertisement (RFC 4861 7.2.6).

    To ff02::1, hop limit 255, Override set, Solicited clear, with a target link-layer
    address option. The source is the advertised address itself (as keepalived does)
    unless src_ip is given.
    """
    mac = mac_bytes(src_mac)
    target = ipaddress.IPv6Address(str(ipv6))
    src = ipaddress.IPv6Address(str(src_ip)) if src_ip else target
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    body = struct.pack("!I", flags) + target.packed + struct.pack("!BB", ND_OPT_TARGET_LL, 1) + mac
    icmp = struct.pack("!BBH", ICMPV6_NA, 0, 0) + body
    csum = icmpv6_checksum(src, ALL_NODES, icmp)
    icmp = icmp[:2] + struct.pack("!H", csum) + icmp[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), socket.IPPROTO_ICMPV6, 255) + src.packed + ALL_NODES.packed
    eth = ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6)
    return _pad(eth + ip6 + icmp)


def _iface_mac(ifname):
    # /sys avoids a netlink round trip and works without pyroute2.
    try:
        with open("/sys/class/net/%s/address" % ifname) as handle:
            return handle.read().strip()
    except OSError:
        raise OSError("interface %s not found" % ifname)


def _send(ifname, proto, frames, count, interval, sleep):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    sent = 0
    try:
        sock.bind((ifname, 0))
        for round_no in range(count):
            if round_no and interval > 0:
                sleep(interval)
            for frame in frames:
                sock.send(frame)
                sent += 1
    finally:
        sock.close()
    return sent


def send_garp(ifname: str, ipv4, count: int = 3, interval: float = 0.0, src_mac=None,
              forms=("request", "reply"), sleep=time.sleep) -> int:
    """Send count rounds of gratuitous ARP (one frame per form per round); returns frames sent."""
    if count <= 0:
        return 0
    mac = src_mac or _iface_mac(ifname)
    frames = [garp_frame(mac, ipv4, form) for form in forms]
    return _send(ifname, ETH_P_ARP, frames, count, interval, sleep)


def send_unsolicited_na(ifname: str, ipv6, count: int = 3, interval: float = 0.0, src_mac=None,
                        src_ip=None, router: bool = False, sleep=time.sleep) -> int:
    """Send count unsolicited neighbour advertisements; returns frames sent."""
    if count <= 0:
        return 0
    mac = src_mac or _iface_mac(ifname)
    frames = [na_frame(mac, ipv6, src_ip=src_ip, router=router)]
    return _send(ifname, ETH_P_IPV6, frames, count, interval, sleep)


def announce(ifname: str, address, count: int = 3, interval: float = 0.0, src_mac=None, **kwargs) -> int:
    """GARP for IPv4, unsolicited NA for IPv6; address may carry a /len suffix."""
    ip = ipaddress.ip_address(str(address).split("/", maxsplit=1)[0])
    if ip.version == 4:
        return send_garp(ifname, ip, count=count, interval=interval, src_mac=src_mac, **kwargs)
    return send_unsolicited_na(ifname, ip, count=count, interval=interval, src_mac=src_mac, **kwargs)
