# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_ipaddress options of keepalived 2.2.7's vrrp_ipaddress.c (issue 10): home, -nodad, mngtmpaddr,
noprefixroute, autojoin, preferred_lft, no_track parsed with keepalived's defaults, rendered back, and bad values
refused at FILE:LINE."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render

VI = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  %s\n }\n}\n"


def vip(line):
    cfg = config.parse_text(VI % line, "t.conf")
    return cfg.instances["VI_1"].vips[0], [str(w) for w in cfg.warnings]


def error(line):
    with pytest.raises(config.ConfigError) as info:
        config.parse_text(VI % line, "t.conf")
    return [str(m) for m in info.value.errors]


def test_flag_words_set_their_ifa_bits():
    spec, warnings = vip("2001:db8::1/64 home mngtmpaddr noprefixroute autojoin no_track")
    assert spec.flags == 0x10 | 0x100 | 0x200 | 0x400 and spec.no_track and not warnings
    assert spec.netlink_options() == {"flags": 0x710, "nodad": True, "preferred_lft": None}
    spec, _w = vip("198.51.100.10/24 noprefixroute")
    assert spec.netlink_options() == {"flags": 0x200, "nodad": True, "preferred_lft": None}  # nodad: IPv6 only (netio)


def test_ipv6_defaults_are_keepalived_s_nodad_and_deprecated_host_vips():
    spec, _w = vip("2001:db8::1/128")
    assert spec.netlink_options() == {"flags": 0, "nodad": True, "preferred_lft": 0}  # /128: deprecated
    spec, _w = vip("2001:db8::1/64")
    assert spec.netlink_options()["preferred_lft"] is None  # forever: no IFA_CACHEINFO
    spec, _w = vip("2001:db8::1")  # no prefix: /128
    assert spec.effective_preferred_lft() == 0


def test_minus_nodad_and_preferred_lft():
    spec, _w = vip("2001:db8::1/128 -nodad preferred_lft forever")
    assert spec.netlink_options() == {"flags": 0, "nodad": False, "preferred_lft": None}
    spec, _w = vip("2001:db8::1/64 preferred_lft 0")
    assert spec.effective_preferred_lft() == 0
    spec, _w = vip("2001:db8::1/64 preferred_lft 4294967295")
    assert spec.effective_preferred_lft() is None


def test_ipv4_minus_nodad_and_preferred_lft_are_warned_as_keepalived_ignores_them():
    spec, warnings = vip("198.51.100.10/24 -nodad preferred_lft 30")
    assert spec.preferred_lft is None and not spec.dad
    assert any("t.conf:5: warning:" in w and "'-nodad'" in w for w in warnings)
    assert any("t.conf:5: warning:" in w and "'preferred_lft'" in w for w in warnings)


@pytest.mark.parametrize("value", ["-1", "4294967296", "x", "1.5", "forever2"])
def test_bad_preferred_lft_is_an_error_at_its_line(value):
    assert error("2001:db8::1/64 preferred_lft %s" % value) == [
        "t.conf:5: preferred_lft '%s' is not valid: must be an integer from 0 to 4294967295" % value]


def test_preferred_lft_needs_a_value_and_peer_stays_refused():
    assert error("2001:db8::1/64 preferred_lft") == ["t.conf:5: option 'preferred_lft' needs a value in virtual_ipaddress"]
    assert "t.conf:5: keepalived virtual_ipaddress option 'peer'" in error("198.51.100.10 peer 198.51.100.11/24")[0]


def test_options_render_back_to_the_same_spec():
    for line in ("2001:db8::1/128 home -nodad mngtmpaddr noprefixroute autojoin no_track preferred_lft 30",
                 "2001:db8::1/64 preferred_lft forever", "198.51.100.10/24 dev eth0 label eth0:1 noprefixroute no_track"):
        spec, _w = vip(line)
        assert config_render.render_vip(spec).split() == line.split()
        again, _w = vip(config_render.render_vip(spec))
        assert again == spec


WORDS = ["home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track"]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=8), lft=st.one_of(st.none(), st.integers(0, 2 ** 32 - 1)),
       plen=st.integers(1, 128))
def test_any_option_set_parses_and_round_trips(words, lft, plen):
    line = "2001:db8::1/%d %s" % (plen, " ".join(words)) + ("" if lft is None else " preferred_lft %d" % lft)
    spec, warnings = vip(line)
    assert not warnings
    assert spec.dad == ("-nodad" in words) and spec.no_track == ("no_track" in words)
    assert spec.flags == sum(bit for w, bit in config.VIP_FLAG_WORDS if w in words)
    want = lft if lft is not None else (0 if plen == 128 else 2 ** 32 - 1)
    assert spec.effective_preferred_lft() == (None if want == 2 ** 32 - 1 else want)
    again, _w = vip(config_render.render_vip(spec))
    assert again == spec


def test_address_deletions_are_decoded_from_rtnetlink_notifications():
    import struct
    from ansible_collections.floating.vip.plugins.module_utils import addresses
    from ansible_collections.floating.vip.plugins.module_utils.vrrp import routes

    def deladdr(cidr, index):
        msg = bytearray(addresses._newaddr_request(1, index, addresses.parse_cidr(cidr), None, None, None, False))  # pylint: disable=protected-access
        struct.pack_into("=H", msg, 4, addresses.RTM_DELADDR)
        return bytes(msg)
    newaddr = addresses._newaddr_request(2, 3, addresses.parse_cidr("198.51.100.9/24"), None, None, None, False)  # pylint: disable=protected-access
    data = deladdr("198.51.100.10/24", 3) + newaddr + deladdr("2001:db8::5/64", 4) + b"\x08\x00\x00"
    events = routes.decode_deletions(data)
    # an address added: only its interface, for the sources (daemon.check_sources)
    assert events == [("address", (3, 4, "198.51.100.10")), ("address_added", 3), ("address", (4, 6, "2001:db8::5"))]
    assert not routes.matches("address", events[0][1], config.VipSpec(cidr="198.51.100.10/24"))  # routes never match it
