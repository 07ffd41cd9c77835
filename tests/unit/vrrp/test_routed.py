# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/routed.py: the `vipd_routed { }` block (parsing, file:line errors, render round trip) and its pure
decisions (which host routes a master installs, which adverts the TTL rule drops)."""
from __future__ import annotations

import dataclasses
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, routed, routes
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError


def _conf(block="vipd_routed {\n  interface lo\n }\n", peers=" unicast_peer {\n  203.0.113.74\n }\n",
          vips=" 203.0.113.200\n", excluded=" 2001:db8:14::200/128\n"):
    return ("vrrp_instance R {\n interface eth0\n virtual_router_id 14\n priority 150\n unicast_src_ip 198.51.100.10\n"
            + peers + " virtual_ipaddress {\n" + vips + " }\n virtual_ipaddress_excluded {\n" + excluded + " }\n " + block + "}\n")


def _errors(text):
    with pytest.raises(ConfigError) as info:
        config.parse_text(text, "r.conf")
    return [str(m) for m in info.value.errors]


def test_defaults():
    inst = config.parse_text(_conf("vipd_routed {\n }\n")).instances["R"]
    r = routed.of(inst)
    assert (r.interface, r.protocol, r.metric, r.min_ttl, r.withdraw_delay) == ("lo", 201, None, 255, 2.0)


def test_every_option_and_round_trip():
    text = _conf("vipd_routed {\n  interface vip0\n  protocol 77\n  metric 4197\n  min_ttl 250\n  withdraw_delay 0.5\n }\n")
    inst = config.parse_text(text).instances["R"]
    r = routed.of(inst)
    assert (r.interface, r.protocol, r.metric, r.min_ttl, r.withdraw_delay) == ("vip0", 77, 4197, 250, 0.5)
    rendered = config_render.render_instance(inst)
    assert "vipd_routed {\n        interface vip0\n        protocol 77\n        metric 4197\n        min_ttl 250\n" in rendered
    again = config.parse_text(rendered).instances["R"]
    assert routed.of(again) == r
    assert again.fingerprint() == inst.fingerprint()


def test_ordinary_instance_is_not_routed():
    inst = config.parse_text(_conf(block="")).instances["R"]
    assert routed.of(inst) is None and routed.routes_of(inst) == []
    assert not routed.ttl_drop(inst, 1) and routed.withdraw_delay(inst) == 0.0
    assert "vipd_routed" not in config_render.render_instance(inst)


def test_announce_and_accept_routes_per_vip():
    inst = config.parse_text(_conf("vipd_routed {\n  protocol 77\n  metric 9\n }\n")).instances["R"]
    specs = routed.routes_of(inst)
    assert [(s.type, s.family, s.dst, s.dev, s.table, s.protocol, s.metric, s.scope, s.no_track) for s in specs] == [
        ("unicast", 4, "203.0.113.200/32", "lo", 254, 77, 9, 254, True),
        ("unicast", 6, "2001:db8:14::200/128", "lo", 254, 77, 9, 254, True),
        ("local", 4, "203.0.113.200/32", "lo", 255, 77, None, 254, True),
        ("local", 6, "2001:db8:14::200/128", "lo", 255, 77, None, 254, True)]
    # announce routes first: removed in this order, the network stops sending before the host stops accepting
    assert specs[:2] == routed.announce_routes(inst) and specs[2:] == routed.accept_routes(inst)
    other = config.parse_text(_conf("vipd_routed {\n  interface vip0\n }\n")).instances["R"]
    assert routed.routes_of(other)[0].scope == 253  # a dedicated interface: scope link


def test_route_message_carries_protocol_metric_and_scope():
    inst = config.parse_text(_conf("vipd_routed {\n  protocol 77\n  metric 9\n }\n")).instances["R"]
    spec = dataclasses.replace(routed.routes_of(inst)[0], dev=None)  # no interface lookup in a unit test
    msg = routes.route_msg(spec)
    assert (msg["family"], msg["dst_len"], msg["proto"], msg["scope"], msg["type"]) == (socket.AF_INET, 32, 77, 254, 1)
    assert dict((a[0], a[1]) for a in msg["attrs"]) == {"RTA_DST": "203.0.113.200", "RTA_PRIORITY": 9}
    msg.encode()
    local = routes.route_msg(dataclasses.replace(routed.accept_routes(inst)[0], dev=None))
    assert (local["table"], local["type"], local["proto"], local["scope"]) == (255, 2, 77, 254)
    local.encode()


def test_ttl_rule_keeps_255_by_default_and_relaxes_on_request():
    strict = config.parse_text(_conf("vipd_routed {\n }\n")).instances["R"]
    assert not routed.ttl_drop(strict, 255)
    assert routed.ttl_drop(strict, 254)  # one router away: dropped unless min_ttl says otherwise
    assert not routed.ttl_drop(strict, -1)  # hop limit unknown (IPv6 without ancillary data): kept, as keepalived
    relaxed = config.parse_text(_conf("vipd_routed {\n  min_ttl 253\n }\n")).instances["R"]
    assert [routed.ttl_drop(relaxed, t) for t in (255, 254, 253, 252, 1)] == [False, False, False, True, True]


@pytest.mark.parametrize("block, reason", [
    ("vipd_routed {\n  protocol 188\n }\n", "r.conf:16: vipd_routed protocol 188 is FRR's: pick one no routing daemon owns (default 201)"),
    ("vipd_routed {\n  protocol 18\n }\n", "r.conf:16: vipd_routed protocol 18 is keepalived's: pick one no routing daemon owns (default 201)"),
    ("vipd_routed {\n  protocol 256\n }\n", "r.conf:16: vipd_routed protocol '256' is not valid: must be an integer from 0 to 255"),
    ("vipd_routed {\n  min_ttl 0\n }\n", "r.conf:16: vipd_routed min_ttl '0' is not valid: must be an integer from 1 to 255"),
    ("vipd_routed {\n  withdraw_delay 61\n }\n",
     "r.conf:16: vipd_routed withdraw_delay '61' is not valid: must be a number of seconds from 0 to 60"),
    ("vipd_routed {\n  interface a/b\n }\n", "r.conf:16: invalid interface name 'a/b'"),
    ("vipd_routed {\n  bgp_asn 65000\n }\n", "r.conf:16: unknown keyword 'bgp_asn' in vipd_routed"),
    ("vipd_routed {\n  metric 1\n  metric 2\n }\n", "r.conf:17: vipd_routed: 'metric' is given twice"),
    ("vipd_routed lo {\n }\n", "r.conf:15: vipd_routed takes no value, only a '{ ... }' block"),
    ("vipd_routed\n", "r.conf:15: keyword 'vipd_routed' needs a '{ ... }' block"),
])
def test_block_errors_name_file_and_line(block, reason):
    errors = _errors(_conf(block))
    assert len(errors) == 1 and errors[0].startswith(reason), errors


def test_routed_instance_rules():
    assert _errors(_conf(peers="")) == [
        "r.conf:12: vipd_routed in vrrp_instance R needs unicast_peer: multicast adverts do not cross routers"]
    assert _errors(_conf(vips=" 203.0.113.200/24\n")) == [
        "r.conf:15: vipd_routed: VIP 203.0.113.200/24 of vrrp_instance R must be a host address (/32): it is announced as a host route"]
    assert _errors(_conf(vips=" 203.0.113.200 dev eth0\n")) == [
        "r.conf:15: vipd_routed: VIP 203.0.113.200/32 of vrrp_instance R has dev eth0, but routed VIPs live on lo"]
    assert config.parse_text(_conf(vips=" 203.0.113.200 dev lo\n")).instances["R"].vips[0].dev == "lo"
    twice = _errors(_conf("vipd_routed {\n }\n vipd_routed {\n }\n"))
    assert twice == ["r.conf:17: vipd_routed is given twice in vrrp_instance R"]


def test_with_use_vmac_refused():
    errors = _errors(_conf("use_vmac\n vipd_routed {\n }\n"))
    assert errors == ["r.conf:16: vipd_routed in vrrp_instance R cannot be combined with use_vmac (a routed VIP has no MAC)"]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
       st.sampled_from(["interface", "protocol", "metric", "min_ttl", "withdraw_delay", "x"]))
def test_any_value_parses_or_fails_cleanly(value, key):
    """Hostile values: a parsed block or ConfigError whose messages hold no raw control characters."""
    text = _conf("vipd_routed {\n  %s %s\n }\n" % (key, value.replace("\n", " ").replace("\r", " ")))
    try:
        inst = config.parse_text(text, "r.conf").instances["R"]
    except ConfigError as exc:
        for message in exc.messages:
            assert not any(ord(c) < 32 for c in str(message)), message
        return
    r = routed.of(inst)
    assert r is not None
    assert config.parse_text(config_render.render_instance(inst)).instances["R"].fingerprint() == inst.fingerprint()
