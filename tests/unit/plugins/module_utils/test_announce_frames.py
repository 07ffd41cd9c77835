# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""announce.py: frame bytes (pure), checked by hand, by tcpdump's decoder and against arping."""
from __future__ import annotations

import ipaddress
import shutil
import struct
import subprocess

import pytest

from ansible_collections.floating.vip.plugins.module_utils import announce, inet

MAC = "02:00:5e:10:00:01"
MACB = bytes.fromhex("02005e100001")


def test_garp_request_bytes():
    frame = announce.garp_frame(MAC, "198.51.100.10", "request")
    assert len(frame) == 60 and frame[42:] == b"\x00" * 18
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == MACB and frame[12:14] == b"\x08\x06"
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)
    assert frame[22:28] == MACB and frame[28:32] == bytes([198, 51, 100, 10])
    assert frame[32:38] == b"\xff" * 6 and frame[38:42] == bytes([198, 51, 100, 10])


def test_garp_reply_bytes():
    frame = announce.garp_frame(MACB, ipaddress.IPv4Address("198.51.100.10"), "reply")
    assert struct.unpack("!H", frame[20:22])[0] == 2
    assert frame[32:38] == MACB  # arping -A puts the sender MAC in the target field
    assert frame[:6] == b"\xff" * 6


@pytest.mark.parametrize("bad", [dict(form="both"), dict(ipv4="2001:db8::1"), dict(mac="02:00:5e:10:00")])
def test_garp_rejects_bad_input(bad):
    args = dict(mac=MAC, ipv4="198.51.100.10", form="request")
    args.update(bad)
    with pytest.raises(ValueError):
        announce.garp_frame(args["mac"], args["ipv4"], args["form"])


def test_checksum_rfc1071_example():
    # RFC 1071 section 3 worked example: sum of these words is 0xddf2, checksum its complement.
    assert inet.inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == (~0xddf2) & 0xFFFF


def test_na_bytes():
    frame = announce.na_frame(MAC, "2001:db8::10")
    assert len(frame) == 86
    assert frame[:6] == bytes.fromhex("333300000001") and frame[6:12] == MACB and frame[12:14] == b"\x86\xdd"
    ver_tc_fl, plen, nxt, hlim = struct.unpack("!IHBB", frame[14:22])
    assert ver_tc_fl >> 28 == 6 and plen == 32 and nxt == 58 and hlim == 255
    src, dst = frame[22:38], frame[38:54]
    assert src == ipaddress.IPv6Address("2001:db8::10").packed
    assert dst == ipaddress.IPv6Address("ff02::1").packed
    icmp = frame[54:]
    assert icmp[0] == 136 and icmp[1] == 0
    flags = struct.unpack("!I", icmp[4:8])[0]
    assert flags == 0x20000000  # Override only: unsolicited, not a router
    assert icmp[8:24] == src
    assert icmp[24:26] == b"\x02\x01" and icmp[26:32] == MACB
    # A correct checksum makes the one's complement sum over pseudo-header + message zero.
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    assert inet.inet_checksum(pseudo + icmp) == 0


def test_na_router_flag_and_source():
    frame = announce.na_frame(MAC, "2001:db8::10", src_ip="fe80::1", router=True)
    assert frame[22:38] == ipaddress.IPv6Address("fe80::1").packed
    assert struct.unpack("!I", frame[58:62])[0] == 0xA0000000


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcpdump_decodes_frames(tmp_path):
    frames = [announce.garp_frame(MAC, "198.51.100.10", "request"),
              announce.garp_frame(MAC, "198.51.100.10", "reply"),
              announce.na_frame(MAC, "2001:db8::10")]
    pcap = tmp_path / "f.pcap"
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for frame in frames:
        data += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    pcap.write_bytes(data)
    out = subprocess.run(["tcpdump", "-e", "-vv", "-n", "-r", str(pcap)], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    lines = out.splitlines()
    assert "Request who-has 198.51.100.10 (ff:ff:ff:ff:ff:ff) tell 198.51.100.10" in lines[0]
    assert "Reply 198.51.100.10 is-at 02:00:5e:10:00:01" in lines[1]
    assert "[icmp6 sum ok]" in out and "neighbor advertisement" in out and "tgt is 2001:db8::10" in out
    assert "Flags [override]" in out and "hlim 255" in out
