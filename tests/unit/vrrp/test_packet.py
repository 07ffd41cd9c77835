# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/packet.py: golden keepalived 2.2.7 captures, hand-computed bytes, both v3 checksum forms, every drop."""
from __future__ import annotations

import ipaddress
import os
import struct

import pytest

from ansible_collections.floating.vip.plugins.module_utils import inet
from ansible_collections.floating.vip.plugins.module_utils.vrrp import packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.packet import Advert, PacketError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "vrrp")
SRC, MCAST = "198.51.100.1", "224.0.0.18"


# --- a minimal pcap reader (Ethernet link type), so the tests need neither root nor scapy -------------

def read_pcap(name):
    """[(timestamp, ethertype, l3 bytes)] from a classic little/big endian pcap file."""
    with open(os.path.join(FIXTURES, name), "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise AssertionError("not a pcap file: %r" % magic)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    assert linktype == 1, "expected Ethernet captures"
    out, off = [], 24
    while off < len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ethertype = struct.unpack("!H", frame[12:14])[0]
        out.append((sec + frac / (1e9 if nano else 1e6), ethertype, frame[14:]))
    return out


def ipv6_parts(l3):
    """(src, dst, hop limit, next header, payload) of an IPv6 packet without extension headers."""
    plen, nxt, hlim = struct.unpack("!HBB", l3[4:8])
    return (str(ipaddress.IPv6Address(l3[8:24])), str(ipaddress.IPv6Address(l3[24:40])), hlim, nxt,
            l3[40:40 + plen])


def ipv4_payload(l3):
    ihl = (l3[0] & 0x0F) * 4
    total = struct.unpack("!H", l3[2:4])[0]
    return l3[ihl:total]


def reencode(received, pseudo=True):
    return packet.encode(received.advert, received.src, received.dst, pseudo_header_checksum=pseudo)


def assert_interval_spacing(times, interval):
    """The recorded adverts (timestamps written by tcpdump at capture time) are one interval apart."""
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps, "need at least two adverts"
    for gap in gaps:
        assert abs(gap - interval) < 0.1, gaps


# --- golden captures -------------------------------------------------------------------------------

def test_keepalived_v2_pass_auth():
    frames = read_pcap("keepalived-v2-pass.pcap")
    assert len(frames) >= 3
    got = [packet.parse_ipv4(l3) for _ts, et, l3 in frames if et == 0x0800]
    assert len(got) == len(frames)
    for rec in got:
        adv = rec.advert
        assert (rec.src, rec.dst, rec.ttl, rec.checksum_form) == (SRC, MCAST, 255, "plain")
        assert (adv.version, adv.vrid, adv.interval_cs, adv.family) == (2, 51, 100, 4)
        assert adv.addresses == ("198.51.100.51", "198.51.100.151")
        assert adv.auth_type == packet.AUTH_PASS
        assert adv.auth_data == packet.auth_pass_bytes("s3cret") == b"s3cret\0\0"
        packet.check_advert(adv, vrid=51, version=2, auth_type=packet.AUTH_PASS, auth_data=b"s3cret",
                            interval_cs=100, addr_count=2)
        # byte-exact re-encoding: same header, addresses, auth data and checksum as keepalived
        assert reencode(rec) == ipv4_payload(frames[got.index(rec)][2])
    prios = [r.advert.priority for r in got]
    assert prios[:-1] == [150] * (len(prios) - 1) and prios[-1] == 0  # SIGTERM: priority-0 resignation
    assert_interval_spacing([ts for ts, _e, _l in frames[:-1]], 1.0)
    with pytest.raises(PacketError) as err:
        packet.check_advert(got[0].advert, vrid=51, version=2, auth_type=packet.AUTH_PASS, auth_data="s3cretX")
    assert err.value.reason == "auth"


def test_keepalived_v2_unicast():
    frames = read_pcap("keepalived-v2-unicast.pcap")
    got = [packet.parse_ipv4(l3) for _ts, _et, l3 in frames]
    assert len(got) >= 3
    for (_ts, _et, l3), rec in zip(frames, got):
        assert (rec.src, rec.dst, rec.ttl, rec.checksum_form) == (SRC, "198.51.100.2", 255, "plain")
        assert (rec.advert.version, rec.advert.vrid, rec.advert.auth_type) == (2, 54, 0)
        assert rec.advert.auth_data == b"\0" * 8
        assert rec.advert.addresses == ("198.51.100.54",)
        assert reencode(rec) == ipv4_payload(l3)
    assert [r.advert.priority for r in got][-2:] == [100, 0]


def test_keepalived_v3_ipv4_uses_pseudo_header_checksum():
    frames = read_pcap("keepalived-v3-ipv4.pcap")
    got = [packet.parse_ipv4(l3) for _ts, _et, l3 in frames]
    assert len(got) >= 5
    for (_ts, _et, l3), rec in zip(frames, got):
        adv = rec.advert
        assert rec.checksum_form == "pseudo"
        assert (adv.version, adv.vrid, adv.interval_cs, adv.addresses) == (3, 52, 50, ("198.51.100.52",))
        assert adv.interval == 0.5
        payload = ipv4_payload(l3)
        assert reencode(rec, pseudo=True) == payload
        # the RFC 9568 form differs only in the checksum field, and is accepted as "plain"
        plain = reencode(rec, pseudo=False)
        assert plain[:6] == payload[:6] and plain[8:] == payload[8:] and plain[6:8] != payload[6:8]
        assert packet.decode(plain, rec.src, rec.dst) == (adv, "plain")
    assert [r.advert.priority for r in got][-2:] == [120, 0]
    assert_interval_spacing([ts for ts, _e, _l in frames[:-1]], 0.5)


def test_keepalived_v3_ipv6():
    frames = read_pcap("keepalived-v3-ipv6.pcap")
    assert len(frames) >= 3
    prios = []
    for _ts, et, l3 in frames:
        assert et == 0x86DD
        src, dst, hlim, nxt, payload = ipv6_parts(l3)
        assert nxt == packet.IPPROTO_VRRP and dst == packet.MCAST_GROUP6
        assert ipaddress.IPv6Address(src).is_link_local
        rec = packet.parse_ipv6(payload, src, dst, hlim)
        adv = rec.advert
        assert (rec.ttl, rec.checksum_form, adv.family) == (255, "pseudo", 6)
        assert (adv.version, adv.vrid, adv.interval_cs) == (3, 53, 100)
        assert adv.addresses == ("fe80::53:1", "2001:db8::53")
        assert packet.encode(adv, src, dst) == payload
        # IPv6 has no plain form: the same payload against another source fails the checksum
        with pytest.raises(PacketError) as err:
            packet.decode(payload, "fe80::99", dst, family=6)
        assert err.value.reason == "checksum"
        prios.append(adv.priority)
    assert prios[-2:] == [110, 0]


# --- hand-computed bytes ----------------------------------------------------------------------------

def test_v2_golden_bytes_by_hand():
    # words 2101 6401 0001 c633 640a sum to 1af40 -> folded af41 -> checksum 50be
    adv = Advert(version=2, vrid=1, priority=100, interval_cs=100, addresses=("198.51.100.10",))
    wire = packet.encode(adv, SRC, MCAST)
    assert wire == bytes.fromhex("21016401000150be c633640a 0000000000000000")
    assert packet.decode(wire, SRC, MCAST) == (Advert(2, 1, 100, 100, ("198.51.100.10",), 0, b"\0" * 8), "plain")


def test_v3_golden_bytes_by_hand_both_forms():
    adv = Advert(version=3, vrid=1, priority=100, interval_cs=100, addresses=("198.51.100.10",))
    # RFC 9568 form: words 3101 6401 0064 c633 640a sum to 1bfa3 -> folded bfa4 -> checksum 405b
    plain = packet.encode(adv, SRC, MCAST, pseudo_header_checksum=False)
    assert plain == bytes.fromhex("310164010064405bc633640a")
    # keepalived form adds c633 6401 e000 0012 0070 000c (pseudo-header) -> checksum d5ad
    words = [0x3101, 0x6401, 0x0064, 0xC633, 0x640A, 0xC633, 0x6401, 0xE000, 0x0012, 0x0070, 0x000C]
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    pseudo = packet.encode(adv, SRC, MCAST)
    assert pseudo[6:8] == struct.pack("!H", ~total & 0xFFFF)
    assert pseudo[:6] + pseudo[8:] == plain[:6] + plain[8:]
    assert packet.decode(plain, SRC, MCAST)[1] == "plain"
    assert packet.decode(pseudo, SRC, MCAST)[1] == "pseudo"
    # a pseudo-header checksum made for another source is wrong in both forms
    with pytest.raises(PacketError) as err:
        packet.decode(pseudo, "198.51.100.3", MCAST)
    assert err.value.reason == "checksum"


def test_v3_unicast_accepts_old_keepalived_multicast_pseudo_header():
    adv = Advert(version=3, vrid=7, priority=90, interval_cs=100, addresses=("198.51.100.70",))
    old_style = packet.encode(adv, SRC, MCAST)  # keepalived < 2.0 summed with the group even on unicast
    assert packet.decode(old_style, SRC, "198.51.100.2") == (adv, "pseudo")


@pytest.mark.parametrize("adv", [
    Advert(2, 255, 255, 25500, ("198.51.100.1", "198.51.100.2", "198.51.100.3"), 1, b"abcdefgh"),
    Advert(2, 1, 1, 100, ()),
    Advert(3, 200, 0, 4095, ("198.51.100.9",)),
    Advert(3, 9, 254, 1, tuple("198.51.100.%d" % i for i in range(1, 21))),
    Advert(3, 10, 100, 300, ("fe80::1", "2001:db8::10", "2001:db8::11"), family=6),
])
@pytest.mark.parametrize("pseudo", [True, False])
def test_round_trip(adv, pseudo):
    src, dst = (SRC, MCAST) if adv.family == 4 else ("fe80::2", "ff02::12")
    wire = packet.encode(adv, src, dst, pseudo_header_checksum=pseudo)
    got, form = packet.decode(wire, src, dst, family=adv.family)
    if adv.version == 2:
        assert got == Advert(adv.version, adv.vrid, adv.priority, adv.interval_cs, adv.addresses, adv.auth_type,
                             adv.auth_data.ljust(8, b"\0"), adv.family)
        assert form == "plain"
    else:
        assert got == adv
        assert form == ("pseudo" if pseudo or adv.family == 6 else "plain")
    dgram = packet.build_ipv4(wire, src, dst) if adv.family == 4 else None
    if dgram:
        rec = packet.parse_ipv4(dgram)
        assert (rec.src, rec.dst, rec.ttl, rec.advert) == (src, dst, 255, got)


def test_auth_pass_bytes_as_keepalived():
    assert packet.auth_pass_bytes("pw") == b"pw\0\0\0\0\0\0"
    assert packet.auth_pass_bytes("longpassword") == b"longpass"  # keepalived truncates to 8
    assert packet.auth_pass_bytes(b"12345678") == b"12345678"


@pytest.mark.parametrize("adv", [
    Advert(2, 1, 100, 150, ("198.51.100.1",)),       # v2 interval is whole seconds
    Advert(2, 1, 100, 0, ("198.51.100.1",)),
    Advert(3, 1, 100, 4096, ("198.51.100.1",)),      # 12-bit field
    Advert(3, 1, 100, 0, ("198.51.100.1",)),
    Advert(3, 0, 100, 100, ("198.51.100.1",)),       # VRID 1..255
    Advert(3, 1, 256, 100, ("198.51.100.1",)),
    Advert(3, 1, 100, 100, ("2001:db8::1",)),        # family 4 with an IPv6 address
    Advert(2, 1, 100, 100, ("2001:db8::1",), family=6),
    Advert(4, 1, 100, 100, ("198.51.100.1",)),
])
def test_encode_refuses_what_cannot_go_on_the_wire(adv):
    with pytest.raises(ValueError):
        packet.encode(adv, SRC, MCAST)


# --- every drop reason --------------------------------------------------------------------------------

def _v3(**kw):
    fields = dict(version=3, vrid=5, priority=100, interval_cs=100, addresses=("198.51.100.50",))
    fields.update(kw)
    return packet.encode(Advert(**fields), SRC, MCAST)


def _v2(**kw):
    fields = dict(version=2, vrid=5, priority=100, interval_cs=100, addresses=("198.51.100.50",),
                  auth_type=1, auth_data=packet.auth_pass_bytes("pw"))
    fields.update(kw)
    return packet.encode(Advert(**fields), SRC, MCAST)


def _fix_v2_checksum(wire):
    wire = bytearray(wire)
    wire[6:8] = b"\0\0"
    wire[6:8] = struct.pack("!H", packet.inet_checksum(bytes(wire)))
    return bytes(wire)


def _fix_v3_checksum(wire, src=SRC, dst=MCAST):
    wire = bytearray(wire)
    wire[6:8] = b"\0\0"
    pseudo = inet.pseudo_header(src, dst, len(wire), packet.IPPROTO_VRRP)
    wire[6:8] = struct.pack("!H", packet.inet_checksum(pseudo + bytes(wire)))
    return bytes(wire)


def _reason(payload, family=4, src=SRC, dst=MCAST):
    with pytest.raises(PacketError) as err:
        packet.decode(payload, src, dst, family=family)
    assert err.value.reason in packet.DROP_REASONS
    return err.value.reason


def test_drop_version():
    wire = bytearray(_v3())
    wire[0] = 0x41
    assert _reason(_fix_v3_checksum(wire)) == "version"
    wire[0] = 0x11
    assert _reason(_fix_v3_checksum(wire)) == "version"


def test_drop_type():
    wire = bytearray(_v3())
    wire[0] = 0x32
    assert _reason(_fix_v3_checksum(wire)) == "type"
    wire = bytearray(_v2())
    wire[0] = 0x20
    assert _reason(_fix_v2_checksum(wire)) == "type"


def test_drop_length():
    assert _reason(b"\x31\x05\x64") == "length"
    assert _reason(_v3()[:-1]) == "length"           # an address cut short
    assert _reason(_v2()[:-8]) == "length"           # v2 without its 8 bytes of auth data
    assert _reason(_v3(addresses=())[:7]) == "length"
    with pytest.raises(PacketError) as err:
        packet.parse_ipv4(packet.build_ipv4(_v3(), SRC, MCAST)[:-2])
    assert err.value.reason == "length"
    with pytest.raises(PacketError) as err:
        packet.parse_ipv4(b"\x45\x00")
    assert err.value.reason == "length"


def test_drop_addr_count():
    wire = bytearray(_v3(addresses=("198.51.100.50", "198.51.100.51")))
    wire[3] = 1                                       # count says 1, length carries 2
    assert _reason(_fix_v3_checksum(wire)) == "addr_count"
    assert _reason(_fix_v3_checksum(_v3() + b"\0\0")) == "addr_count"
    adv = packet.decode(_v3(), SRC, MCAST)[0]
    with pytest.raises(PacketError) as err:
        packet.check_advert(adv, vrid=5, version=3, addr_count=2)
    assert err.value.reason == "addr_count"


def test_drop_checksum():
    wire = bytearray(_v2())
    wire[7] ^= 1
    assert _reason(bytes(wire)) == "checksum"
    wire = bytearray(_v3())
    wire[2] = 101                                      # priority changed in flight
    assert _reason(bytes(wire)) == "checksum"
    plain = _v3(vrid=6)
    plain = packet.encode(packet.decode(plain, SRC, MCAST)[0], SRC, MCAST, pseudo_header_checksum=False)
    bad = bytearray(plain)
    bad[-1] ^= 0x80
    assert _reason(bytes(bad)) == "checksum"


def test_drop_interval_zero():
    wire = bytearray(_v3())
    wire[4:6] = b"\xf0\x00"                          # reserved bits set, interval 0
    assert _reason(_fix_v3_checksum(wire)) == "interval"
    wire[4:6] = b"\xf0\x64"                          # reserved bits are ignored on receive
    assert packet.decode(_fix_v3_checksum(wire), SRC, MCAST)[0].interval_cs == 100
    wire = bytearray(_v2())
    wire[5] = 0
    assert _reason(_fix_v2_checksum(wire)) == "interval"


def test_drop_auth_type():
    wire = bytearray(_v2())
    wire[4] = 3
    assert _reason(_fix_v2_checksum(wire)) == "auth_type"
    adv = packet.decode(_v2(), SRC, MCAST)[0]
    with pytest.raises(PacketError) as err:
        packet.check_advert(adv, vrid=5, version=2, auth_type=packet.AUTH_NONE)
    assert err.value.reason == "auth_type"
    ah = bytearray(packet.build_ipv4(_v2(), SRC, MCAST))
    ah[9] = packet.IPPROTO_AH
    with pytest.raises(PacketError) as err:
        packet.parse_ipv4(bytes(ah))
    assert err.value.reason == "auth_type"


def test_drop_auth_and_vrid_and_version_and_v2_interval_mismatch():
    adv = packet.decode(_v2(), SRC, MCAST)[0]
    packet.check_advert(adv, vrid=5, version=2, auth_type=1, auth_data="pw", interval_cs=100, addr_count=1)
    cases = [
        (dict(vrid=5, version=2, auth_type=1, auth_data="PW"), "auth"),
        (dict(vrid=6, version=2, auth_type=1, auth_data="pw"), "vrid"),
        (dict(vrid=5, version=3), "version"),
        (dict(vrid=5, version=2, auth_type=1, auth_data="pw", interval_cs=200), "interval"),
    ]
    for kwargs, reason in cases:
        with pytest.raises(PacketError) as err:
            packet.check_advert(adv, **kwargs)
        assert err.value.reason == reason
    # v3 adverts carry the master's interval, which backups adopt: no interval rule
    v3 = packet.decode(_v3(interval_cs=300), SRC, MCAST)[0]
    packet.check_advert(v3, vrid=5, version=3, interval_cs=100)


def test_drop_ttl_and_protocol_and_family():
    for ttl in (1, 64, 254):
        with pytest.raises(PacketError) as err:
            packet.parse_ipv4(packet.build_ipv4(_v3(), SRC, MCAST, ttl=ttl))
        assert err.value.reason == "ttl"
    # unicast peers: keepalived skips the TTL rule
    assert packet.parse_ipv4(packet.build_ipv4(_v3(), SRC, MCAST, ttl=64), check_ttl=False).ttl == 64
    with pytest.raises(PacketError) as err:
        packet.parse_ipv6(b"", "fe80::1", "ff02::12", 64)
    assert err.value.reason == "ttl"
    udp = bytearray(packet.build_ipv4(_v3(), SRC, MCAST))
    udp[9] = 17
    with pytest.raises(PacketError) as err:
        packet.parse_ipv4(bytes(udp))
    assert err.value.reason == "type"
    v6 = bytearray(packet.build_ipv4(_v3(), SRC, MCAST))
    v6[0] = 0x65
    with pytest.raises(PacketError) as err:
        packet.parse_ipv4(bytes(v6))
    assert err.value.reason == "family"
    # VRRPv2 over IPv6 is decoded (keepalived 2.2.7 sends it): an IPv4 message read as IPv6 is too short
    assert _reason(_v2(), family=6, src="fe80::1", dst="ff02::12") == "length"
    assert _reason(_v3(), family=5) == "family"


def test_packet_error_reasons_are_closed():
    assert set(packet.DROP_REASONS) == {"ttl", "version", "type", "length", "checksum", "vrid", "auth_type",
                                        "auth", "interval", "family", "addr_count"}
    with pytest.raises(ValueError):
        raise PacketError("nonsense")
    err = PacketError("ttl", "TTL 64")
    assert isinstance(err, ValueError) and err.reason == "ttl" and str(err) == "ttl: TTL 64"
