# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/packet.py under hypothesis: whatever arrives on the wire, the decoder returns an advert or our own
typed drop (PacketError with a reason from DROP_REASONS), never another exception; encode -> decode
round-trips every valid advert; the checksum verdict agrees with an independent RFC 1071 sum.

The same holds one level up, for the receive path that turns a datagram into a typed drop reason
(netio.Channel._parse4 / _parse6 -> Incoming.drop_reason) and for the per-instance rules (check_advert).
"""
from __future__ import annotations

import ipaddress
import socket
import struct

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils import announce, inet
from ansible_collections.floating.vip.plugins.module_utils.vrrp import netio, packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.packet import Advert, PacketError

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- an independent RFC 1071 sum (byte by byte, no struct, no shared code) ----------------------------

def ref_sum(data):
    """RFC 1071: 16-bit one's complement sum of big-endian words (odd length padded with a zero byte)."""
    total = 0
    for i in range(0, len(data), 2):
        hi = data[i]
        lo = data[i + 1] if i + 1 < len(data) else 0
        total += (hi << 8) | lo
        total = (total & 0xFFFF) + (total >> 16)  # end-around carry at every step
    return total


def ref_verifies(data):
    """A message carrying a right checksum sums to all ones (RFC 1071 4.1)."""
    return ref_sum(data) == 0xFFFF


def ref_pseudo(src, dst, length, family):
    if family == 4:
        return socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + bytes(
            [0, 112, length >> 8, length & 0xFF])
    return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + bytes(
        [0, 0, length >> 8, length & 0xFF, 0, 0, 0, 112])


def ref_forms(payload, src, dst, family):
    """The checksum forms the independent sum accepts for payload (v3 rules of packet.decode)."""
    forms = set()
    if family == 6:
        if ref_verifies(ref_pseudo(src, dst, len(payload), 6) + payload):
            forms.add(packet.CHECKSUM_PSEUDO)
        return forms
    if src is not None and dst is not None:
        for d in (dst, packet.MCAST_GROUP4):
            if ref_verifies(ref_pseudo(src, d, len(payload), 4) + payload):
                forms.add(packet.CHECKSUM_PSEUDO)
    if ref_verifies(payload):
        forms.add(packet.CHECKSUM_PLAIN)
    return forms


def fix_checksum(payload, src, dst, family, pseudo):
    """payload with bytes 6-7 set so that it verifies (with or without the pseudo-header)."""
    body = payload[:6] + b"\0\0" + payload[8:]
    pre = ref_pseudo(src, dst, len(body), family) if pseudo else b""
    csum = (~ref_sum(pre + body)) & 0xFFFF
    return body[:6] + bytes([csum >> 8, csum & 0xFF]) + body[8:]


# --- strategies ----------------------------------------------------------------------------------------

ipv4 = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0, 2 ** 32 - 1))
ipv6 = st.builds(lambda n: str(ipaddress.IPv6Address(n)), st.integers(0, 2 ** 128 - 1))
v4_src = st.one_of(st.just("198.51.100.1"), ipv4)
v4_dst = st.one_of(st.just(packet.MCAST_GROUP4), st.just("198.51.100.2"), ipv4)
v6_src = st.one_of(st.just("fe80::1"), ipv6)
v6_dst = st.one_of(st.just(packet.MCAST_GROUP6), st.just("2001:db8::2"), ipv6)


@st.composite
def context(draw, family=None):
    """(family, src, dst) as a receiver sees them; IPv4 src/dst may be unknown (None)."""
    family = family or draw(st.sampled_from((4, 6)))
    if family == 4:
        if draw(st.booleans()):
            return 4, draw(v4_src), draw(v4_dst)
        return 4, None, None
    return 6, draw(v6_src), draw(v6_dst)


@st.composite
def vrrp_like(draw, family=None):
    """(payload, family, src, dst): bytes shaped like a VRRP message, valid or close to it.

    Half the cases are well formed (version/type right for the family, the length the address count
    implies, a right checksum of either form) with arbitrary VRID, priority, interval, auth and address
    bytes; the other half change the version/type nibbles, the length and the checksum at random.
    """
    family, src, dst = draw(context(family))
    wild = draw(st.booleans())
    if wild:
        version = draw(st.one_of(st.sampled_from((2, 3)), st.integers(0, 15)))
        ptype = draw(st.one_of(st.just(1), st.integers(0, 15)))
        count = draw(st.one_of(st.integers(0, 4), st.integers(0, 255)))
        delta = draw(st.one_of(st.just(0), st.integers(-9, 9)))
    else:
        version = draw(st.sampled_from((2, 3) if family == 4 else (3,)))
        ptype, delta = 1, 0
        count = draw(st.one_of(st.integers(0, 4), st.integers(0, 255)))
    alen = 4 if family == 4 else 16
    size = max(0, 8 + count * alen + (8 if version == 2 else 0) + delta)
    body = draw(st.binary(min_size=size, max_size=size))
    head = bytes([(version << 4) | ptype, draw(st.integers(0, 255)), draw(st.integers(0, 255)), count])
    payload = (head + body[4:]) if size >= 4 else head[:size]
    if len(payload) >= 8:
        how = draw(st.sampled_from(("random", "plain", "pseudo")) if wild else st.sampled_from(("plain", "pseudo")))
        if how == "plain" and (family == 4 or wild):
            payload = fix_checksum(payload, src, dst, family, pseudo=False)
        elif how != "random" and src is not None and (version != 2 or wild):
            payload = fix_checksum(payload, src, dst, family, pseudo=True)
        elif how != "random":
            payload = fix_checksum(payload, src, dst, family, pseudo=False)
    return payload, family, src, dst


def check_outcome(call):
    """call() returns a decode result or raises PacketError with a known reason; nothing else."""
    try:
        result = call()
    except PacketError as exc:
        assert exc.reason in packet.DROP_REASONS
        assert isinstance(str(exc), str)
        event("drop: %s" % exc.reason)
        return None
    event("accepted")
    return result


def check_decoded(result, payload, family, src, dst):
    advert, form = result
    assert isinstance(advert, Advert)
    assert advert.version in (2, 3) and advert.family == family
    assert 1 <= advert.vrid <= 255 and 0 <= advert.priority <= 255 and advert.interval_cs > 0
    assert len(advert.addresses) == payload[3]
    for a in advert.addresses:
        assert ipaddress.ip_address(a).version == family
    # the verdict agrees with the independent RFC 1071 computation
    if advert.version == 2 and family == 4:
        assert form == packet.CHECKSUM_PLAIN and ref_verifies(payload)
        assert advert.auth_type in (0, 1, 2) and len(advert.auth_data) == 8
    elif advert.version == 2:
        # keepalived 2.2.7's VRRPv2 over IPv6: no auth data, the IPv6 pseudo-header in the checksum
        assert form == packet.CHECKSUM_PSEUDO and form in ref_forms(payload, src, dst, family)
        assert advert.auth_data == b""
    else:
        assert form in ref_forms(payload, src, dst, family)
    # whatever was accepted can be sent again: encode() takes it and decode() gives it back
    esrc, edst = (src, dst) if src is not None else ("198.51.100.1", packet.MCAST_GROUP4)
    wire = packet.encode(advert, esrc, edst, pseudo_header_checksum=form == packet.CHECKSUM_PSEUDO)
    assert packet.decode(wire, esrc, edst, family=family)[0] == advert


def test_vrid_zero_is_dropped():
    """Found by tests/fuzz/fuzz_packet.py: decode() accepted VRID 0, which encode() (and the RFCs) refuse."""
    for version, family, src, dst in ((2, 4, "198.51.100.1", packet.MCAST_GROUP4), (3, 4, None, None),
                                      (3, 6, "fe80::1", packet.MCAST_GROUP6)):
        good = Advert(version=version, vrid=1, priority=100, interval_cs=100, family=family,
                      addresses=("198.51.100.9",) if family == 4 else ("2001:db8::9",))
        wire = bytearray(packet.encode(good, src or "198.51.100.1", dst or packet.MCAST_GROUP4, pseudo_header_checksum=src is not None))
        wire[1] = 0
        wire[6:8] = b"\0\0"
        wire = fix_checksum(bytes(wire), src, dst, family, pseudo=src is not None and version == 3)
        try:
            packet.decode(wire, src, dst, family=family)
        except PacketError as exc:
            assert exc.reason == "vrid"
        else:
            raise AssertionError("VRID 0 accepted (v%d, IPv%d)" % (version, family))


# --- 1. anything in -> an advert or a typed drop ---------------------------------------------------

@SETTINGS
@given(st.binary(max_size=600), context())
def test_decode_any_bytes(payload, ctx):
    family, src, dst = ctx
    result = check_outcome(lambda: packet.decode(payload, src, dst, family=family))
    if result is not None:
        check_decoded(result, payload, family, src, dst)


@SETTINGS
@given(vrrp_like())
def test_decode_vrrp_shaped_bytes(case):
    payload, family, src, dst = case
    try:
        result = packet.decode(payload, src, dst, family=family)
    except PacketError as exc:
        assert exc.reason in packet.DROP_REASONS
        event("drop: %s" % exc.reason)
        if exc.reason == "checksum":
            # rejected for its checksum only when the independent sum rejects every allowed form too
            if payload[0] >> 4 == 2 and family == 4:
                assert not ref_verifies(payload)
            else:
                assert not ref_forms(payload, src, dst, family)
        return
    event("accepted: %s" % result[1])
    check_decoded(result, payload, family, src, dst)


@FEW
@given(st.binary(max_size=64), st.one_of(st.integers(-3, 9), st.none(), st.text(max_size=2)))
def test_decode_bad_family_is_typed(payload, family):
    assume(family not in (4, 6))
    check_outcome(lambda: packet.decode(payload, None, None, family=family))


@st.composite
def ipv4_datagram(draw):
    """An IPv4 datagram around a VRRP-shaped payload: half well formed, half with arbitrary version, IHL,
    total length, TTL and protocol."""
    payload, _family, _src, _dst = draw(vrrp_like(4))
    src, dst = draw(v4_src), draw(v4_dst)
    wild = draw(st.booleans())
    if len(payload) >= 8 and (not wild or draw(st.booleans())) and payload[0] >> 4 in (2, 3):
        payload = fix_checksum(payload, src, dst, 4, pseudo=payload[0] >> 4 == 3 and draw(st.booleans()))
    ihl_words = draw(st.integers(0, 15)) if wild else draw(st.sampled_from((5, 6, 15)))
    options = draw(st.binary(min_size=max(0, ihl_words * 4 - 20), max_size=max(0, ihl_words * 4 - 20)))
    vihl = ((draw(st.integers(0, 15)) if wild else 4) << 4) | ihl_words
    real_total = 20 + len(options) + len(payload)
    total = real_total
    if wild:
        total = draw(st.one_of(st.integers(0, 0xFFFF), st.integers(max(0, real_total - 9), real_total + 9)))
    total = min(total, 0xFFFF)
    ttl = draw(st.integers(0, 255)) if wild else 255
    proto = draw(st.one_of(st.just(112), st.just(51), st.integers(0, 255))) if wild else 112
    head = struct.pack("!BBHHHBBH4s4s", vihl, 0xC0, total, 0, 0, ttl, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))
    trailer = draw(st.binary(max_size=8))
    return head + options + payload + trailer


@SETTINGS
@given(st.one_of(st.binary(max_size=600), ipv4_datagram()), st.booleans())
def test_parse_ipv4_any_datagram(datagram, check_ttl):
    rec = check_outcome(lambda: packet.parse_ipv4(datagram, check_ttl=check_ttl))
    if rec is not None:
        assert isinstance(rec, packet.Received)
        ihl = (datagram[0] & 0x0F) * 4
        total = struct.unpack("!H", datagram[2:4])[0]
        assert datagram[9] == 112 and (rec.ttl == 255 or not check_ttl)
        assert rec.src == socket.inet_ntoa(datagram[12:16]) and rec.dst == socket.inet_ntoa(datagram[16:20])
        check_decoded((rec.advert, rec.checksum_form), datagram[ihl:total], 4, rec.src, rec.dst)


@SETTINGS
@given(st.one_of(st.binary(max_size=600), vrrp_like(6).map(lambda c: c[0])),
       v6_src, v6_dst, st.one_of(st.none(), st.just(255), st.integers(-1, 256)), st.booleans(),
       st.one_of(st.just(""), st.just("%eth0"), st.just("%1")))
def test_parse_ipv6_any_payload(payload, src, dst, hop_limit, check_ttl, scope):
    rec = check_outcome(lambda: packet.parse_ipv6(payload, src + scope, dst, hop_limit, check_ttl=check_ttl))
    if rec is not None:
        assert rec.src == src and (hop_limit == 255 or not check_ttl)
        check_decoded((rec.advert, rec.checksum_form), payload, 6, src, dst)


# --- the receive path that turns datagrams into typed drop reasons ------------------------------------

def bare_channel(family):
    """A netio.Channel without a socket: only the parsing half is exercised."""
    chan = netio.Channel.__new__(netio.Channel)
    chan.ifname, chan.family = "fz0", family
    return chan


def check_incoming(inc, family):
    assert isinstance(inc, netio.Incoming) and inc.family == family and inc.ifname == "fz0"
    if inc.received is None:
        assert inc.drop_reason in packet.DROP_REASONS and inc.error
        assert inc.vrid_hint is None or 0 <= inc.vrid_hint <= 255
    else:
        assert inc.drop_reason is None and isinstance(inc.received.advert, Advert)


@SETTINGS
@given(st.one_of(st.binary(max_size=600), ipv4_datagram()))
def test_channel_parse4_never_raises(datagram):
    check_incoming(bare_channel(4)._parse4(datagram), 4)


ancillary_item = st.one_of(
    st.tuples(st.just(socket.IPPROTO_IPV6), st.just(netio.IPV6_HOPLIMIT), st.binary(max_size=8)),
    st.tuples(st.just(socket.IPPROTO_IPV6), st.just(netio.IPV6_PKTINFO), st.binary(max_size=24)),
    st.tuples(st.integers(0, 300), st.integers(0, 100), st.binary(max_size=24)),
)


@SETTINGS
@given(st.one_of(st.binary(max_size=600), vrrp_like(6).map(lambda c: c[0])),
       st.lists(ancillary_item, max_size=3), v6_src)
def test_channel_parse6_never_raises(payload, ancdata, src):
    check_incoming(bare_channel(6)._parse6(payload, ancdata, src), 6)


# --- per-instance rules -----------------------------------------------------------------------------

@FEW
@given(vrrp_like(), st.integers(1, 255), st.sampled_from((2, 3)), st.integers(0, 2),
       st.one_of(st.binary(max_size=12), st.text(max_size=12)), st.one_of(st.none(), st.integers(1, 25500)),
       st.one_of(st.none(), st.integers(0, 255)))
def test_check_advert_typed(case, vrid, version, auth_type, auth_data, interval_cs, addr_count):
    payload, family, src, dst = case
    try:
        advert, _form = packet.decode(payload, src, dst, family=family)
    except PacketError:
        return
    check_outcome(lambda: packet.check_advert(advert, vrid, version, auth_type=auth_type, auth_data=auth_data,
                                              interval_cs=interval_cs, addr_count=addr_count))


# --- 2. encode -> decode round trips -----------------------------------------------------------------

@st.composite
def adverts(draw):
    """(Advert, src, dst, pseudo_header_checksum) for any advert encode() accepts."""
    version = draw(st.sampled_from((2, 3)))
    family = 4 if version == 2 else draw(st.sampled_from((4, 6)))
    addr = ipv4 if family == 4 else ipv6
    addresses = tuple(draw(st.lists(addr, max_size=draw(st.sampled_from((4, 20, 255))))))
    if version == 2:
        interval_cs = draw(st.integers(1, 255)) * 100
        auth_type = draw(st.sampled_from((packet.AUTH_NONE, packet.AUTH_PASS, packet.AUTH_AH)))
        auth_data = packet.auth_pass_bytes(draw(st.binary(max_size=12)))
    else:
        interval_cs = draw(st.integers(1, 0xFFF))
        auth_type, auth_data = packet.AUTH_NONE, b""
    advert = Advert(version=version, vrid=draw(st.integers(1, 255)), priority=draw(st.integers(0, 255)),
                    interval_cs=interval_cs, addresses=addresses, auth_type=auth_type, auth_data=auth_data,
                    family=family)
    src, dst = (draw(v4_src), draw(v4_dst)) if family == 4 else (draw(v6_src), draw(v6_dst))
    return advert, src, dst, draw(st.booleans())


@SETTINGS
@given(adverts())
def test_encode_decode_round_trip(case):
    advert, src, dst, pseudo = case
    wire = packet.encode(advert, src, dst, pseudo_header_checksum=pseudo)
    decoded, form = packet.decode(wire, src, dst, family=advert.family)
    assert decoded == advert
    # the form decode reports is one the independent sum accepts, and the one encode chose is accepted
    if advert.version == 2:
        assert form == packet.CHECKSUM_PLAIN and ref_verifies(wire)
    else:
        forms = ref_forms(wire, src, dst, advert.family)
        assert form in forms
        chosen = packet.CHECKSUM_PSEUDO if (advert.family == 6 or pseudo) else packet.CHECKSUM_PLAIN
        assert chosen in forms
    if advert.family == 4:
        rec = packet.parse_ipv4(packet.build_ipv4(wire, src, dst))
        assert (rec.advert, rec.src, rec.dst, rec.ttl, rec.checksum_form) == (decoded, src, dst, 255, form)
        assert ref_verifies(packet.build_ipv4(wire, src, dst)[:20])  # the IPv4 header checksum too
    else:
        rec = packet.parse_ipv6(wire, src, dst, 255)
        assert (rec.advert, rec.checksum_form) == (decoded, form)
    # and encoding the decoded advert again gives the same bytes
    assert packet.encode(decoded, src, dst, pseudo_header_checksum=pseudo) == wire


@SETTINGS
@given(adverts().filter(lambda c: c[0].version == 2 or c[0].family == 6), st.data())
def test_single_bit_error_is_always_dropped(case, data):
    """One flipped bit anywhere in a v2 or IPv6 message never decodes (v3/IPv4 accepts two checksum forms,
    so a flip there may in theory land on the other form; that is the protocol, not the decoder)."""
    advert, src, dst, pseudo = case
    wire = bytearray(packet.encode(advert, src, dst, pseudo_header_checksum=pseudo))
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    try:
        packet.decode(bytes(wire), src, dst, family=advert.family)
    except PacketError as exc:
        assert exc.reason in packet.DROP_REASONS
    else:
        raise AssertionError("a corrupted message was accepted")


# --- 3. the checksum functions agree with the independent computation -------------------------------

@SETTINGS
@given(st.binary(max_size=2000), st.integers(0, 0xFFFF))
def test_inet_checksum_matches_rfc1071(data, initial):
    padded = data + b"\0" if len(data) % 2 else data
    assert packet.inet_checksum(data, initial) == (~ref_sum(padded + bytes([initial >> 8, initial & 0xFF]))) & 0xFFFF
    assert packet.inet_checksum is inet.inet_checksum  # one home (issue 12)
    # a message with its checksum appended verifies (RFC 1071: the sum over data + checksum is all ones)
    even = data + b"\0" if len(data) % 2 else data
    csum = packet.inet_checksum(even)
    assert packet.inet_checksum(even + bytes([csum >> 8, csum & 0xFF])) == 0


# --- the frame builders' MAC parser (announce.mac_bytes) -------------------------------------------

MAC_TEXT = "0123456789abcdefABCDEF:-+x_ \n\u0663\uff11"


@SETTINGS
@given(st.one_of(st.text(alphabet=MAC_TEXT, max_size=24), st.text(max_size=24),
                 st.lists(st.integers(0, 255), min_size=6, max_size=6).map(lambda b: ":".join("%02x" % x for x in b))))
def test_mac_bytes_strict(text):
    """Six groups of one or two ASCII hex digits split by ':' or '-', or a clean ValueError: int(x, 16)'s
    extras ('+1', '0x1', ' 1', '1_0', non-ASCII digits) are refused (found by this test)."""
    canonical = all(len(p) in (1, 2) and all(c in "0123456789abcdefABCDEF" for c in p)
                    for p in text.replace("-", ":").split(":")) and len(text.replace("-", ":").split(":")) == 6
    try:
        got = announce.mac_bytes(text)
    except ValueError as exc:
        assert not canonical
        assert all(ord(c) >= 0x20 and c not in "\u2028\u2029\x85\x7f" for c in str(exc))
        return
    assert canonical and len(got) == 6
    assert got == bytes(int(p, 16) for p in text.replace("-", ":").split(":"))
