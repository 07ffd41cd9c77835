# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atheris harness: the VRRP wire decoder (vrrp/packet.py) and the receive path that turns a datagram into
a typed drop reason (vrrp/netio.py Channel._parse4/_parse6).

A crash is any exception other than packet.PacketError (whose .reason must be one of DROP_REASONS), or a
decoded advert that breaks an invariant: it re-encodes (encode -> decode gives the same advert back) and
its checksum verifies. Run it through tests/fuzz/run.py; by hand:
  python tests/fuzz/fuzz_packet.py -max_total_time=60 CORPUS_DIR
"""
from __future__ import annotations

import os
import socket
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _engine  # noqa: E402  pylint: disable=wrong-import-position

packet, netio, inet = _engine.load("vrrp.packet", "vrrp.netio", "inet")

SRC4, DST4 = "198.51.100.1", packet.MCAST_GROUP4
SRC6, DST6 = "fe80::1", packet.MCAST_GROUP6


def _channel(family):
    chan = netio.Channel.__new__(netio.Channel)
    chan.ifname, chan.family = "fz0", family
    return chan


CHAN4, CHAN6 = _channel(4), _channel(6)


def _check_advert(advert, form, src, dst):
    """Invariants of an accepted packet."""
    if advert.version not in (2, 3) or not advert.interval_cs > 0:
        raise AssertionError("decoded an impossible advert: %r" % (advert,))
    pseudo = form == packet.CHECKSUM_PSEUDO
    wire = packet.encode(advert, src, dst, pseudo_header_checksum=pseudo)
    again, form2 = packet.decode(wire, src, dst, family=advert.family)
    if again != advert:
        raise AssertionError("re-encoding changed the advert: %r != %r" % (again, advert))
    # VRRPv2 over IPv4 sums the message alone; keepalived's VRRPv2 over IPv6 includes the pseudo-header
    expected = packet.CHECKSUM_PLAIN if advert.family == 4 else packet.CHECKSUM_PSEUDO
    if advert.version == 2 and form2 != expected:
        raise AssertionError("v2 over IPv%d with checksum form %r" % (advert.family, form2))


def _typed(exc):
    if exc.reason not in packet.DROP_REASONS:
        raise AssertionError("untyped drop reason %r" % (exc.reason,))


def _fix(payload, src, dst, family, how):
    """payload with its checksum made right (how 1: plain, 2: with the pseudo-header), so the fuzzer gets
    past the checksum to the rules behind it; how 0 leaves it as the fuzzer wrote it."""
    if how == 0 or len(payload) < 8:
        return payload
    body = payload[:6] + b"\0\0" + payload[8:]
    pre = b""
    if how == 2 or family == 6:
        pre = inet.pseudo_header(src, dst, len(body), packet.IPPROTO_VRRP)
    return body[:6] + packet.inet_checksum(pre + body).to_bytes(2, "big") + body[8:]


def TestOneInput(data):  # pylint: disable=invalid-name
    """data[0]: bits 0-2 pick the entry point, bits 3-4 the checksum fix-up; data[1:] is the packet."""
    if not data:
        return
    mode, how, rest = data[0] & 7, (data[0] >> 3) & 3, data[1:]
    try:
        if mode in (0, 6):
            rest = _fix(rest, SRC4, DST4, 4, how)
            advert, form = packet.decode(rest, SRC4, DST4, family=4)
            _check_advert(advert, form, SRC4, DST4)
        elif mode == 1:
            rest = _fix(rest, SRC4, DST4, 4, how)
            advert, form = packet.decode(rest, None, None, family=4)
            _check_advert(advert, form, SRC4, DST4)
        elif mode in (2, 7):
            rest = _fix(rest, SRC6, DST6, 6, how)
            advert, form = packet.decode(rest, SRC6, DST6, family=6)
            _check_advert(advert, form, SRC6, DST6)
        elif mode == 3:
            ihl = (rest[0] & 0x0F) * 4 if rest else 0
            if how and 20 <= ihl <= len(rest):
                src, dst = socket.inet_ntoa(rest[12:16]), socket.inet_ntoa(rest[16:20])
                rest = rest[:ihl] + _fix(rest[ihl:], src, dst, 4, how)
            rec = packet.parse_ipv4(rest, check_ttl=True)
            _check_advert(rec.advert, rec.checksum_form, rec.src, rec.dst)
        elif mode == 4:
            rec = packet.parse_ipv6(_fix(rest, SRC6, DST6, 6, how), SRC6 + "%fz0", DST6, 255)
            _check_advert(rec.advert, rec.checksum_form, rec.src, rec.dst)
        else:
            inc = CHAN4._parse4(rest)  # pylint: disable=protected-access
            if inc.received is None and inc.drop_reason not in packet.DROP_REASONS:
                raise AssertionError("untyped drop %r" % (inc.drop_reason,))
            anc = [(socket.IPPROTO_IPV6, netio.IPV6_HOPLIMIT, rest[:4]), (socket.IPPROTO_IPV6, netio.IPV6_PKTINFO, rest[4:24])]
            inc = CHAN6._parse6(rest[24:], anc, SRC6)  # pylint: disable=protected-access
            if inc.received is None and inc.drop_reason not in packet.DROP_REASONS:
                raise AssertionError("untyped drop %r" % (inc.drop_reason,))
    except packet.PacketError as exc:
        _typed(exc)


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
