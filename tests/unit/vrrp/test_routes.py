# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/config_routes.py and vrrp/routes.py: keepalived 2.2.7's route/rule syntax (alloc_route(), alloc_rule()),
its defaults, what vipd refuses, render round trips, and the netlink messages built (no socket needed)."""
from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils import addresses
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, config_routes, routes
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_routes import (
    RULE_START_PRIORITY, RTPROT_KEEPALIVED, RouteSpec, RouteSyntaxError, RuleSpec, parse_route, parse_rule,
)

TABLES = {"vip": 100}


def route(text):
    return parse_route(text.split(), TABLES)


def rule(text, counters=None):
    return parse_rule(text.split(), TABLES, counters)


def _instance(body):
    return ("vrrp_instance A {\n interface eth1\n virtual_router_id 9\n virtual_ipaddress {\n 198.51.100.10/24\n }\n"
            + body + "}\n")


# ------------------------------------------------------------------ routes

def test_route_defaults_are_keepalived_defaults():
    spec, warnings = route("203.0.113.0/24 dev eth1")
    assert spec == RouteSpec(family=4, dst="203.0.113.0/24", dev="eth1")
    assert (spec.table, spec.type, spec.protocol, spec.scope, spec.no_track) == (254, "unicast", RTPROT_KEEPALIVED, None, False)
    assert warnings == []


def test_route_every_option():
    spec, warnings = route("src 198.51.100.10 to 203.0.113.0/25 via inet 198.51.100.1 dev eth1 table vip metric 7 "
                           "scope link tos 0x10 onlink append")
    assert spec == RouteSpec(family=4, dst="203.0.113.0/25", src="198.51.100.10", via="198.51.100.1", dev="eth1",
                             table=100, metric=7, scope=253, tos=16, onlink=True, mode="append")
    assert warnings == []
    spec, _w = route("inet6 2001:db8:1::/64 from 2001:db8::/64 via 2001:db8::1 oif eth1 preference 5 table 4000")
    assert (spec.family, spec.dst, spec.from_, spec.via, spec.dev, spec.metric, spec.table) == (
        6, "2001:db8:1::/64", "2001:db8::/64", "2001:db8::1", "eth1", 5, 4000)


@pytest.mark.parametrize("kind", ["blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "multicast"])
def test_route_types(kind):
    spec, _w = route("%s 203.0.113.0/24 table 5" % kind)
    assert spec.type == kind and spec.table == 5


def test_default_route_and_family():
    assert route("default via 198.51.100.1 dev eth1")[0].dst == "0.0.0.0/0"
    assert route("default via 2001:db8::1")[0].dst == "::/0"
    assert route("inet6 unreachable default")[0] == RouteSpec(family=6, dst="::/0", type="unreachable", no_track=True)
    # an IPv6 default route renders with its family: "default" alone reads back as IPv4 (found by hypothesis)
    spec = route("default inet6")[0]
    assert spec.render().split()[:2] == ["inet6", "default"] and route(spec.render())[0] == spec


def test_route_without_dev_is_not_tracked_as_keepalived():
    spec, _w = route("203.0.113.0/24 via 198.51.100.1")
    assert spec.no_track is True and spec.protocol == RTPROT_KEEPALIVED


def test_route_protocol_reset_when_tracked():
    spec, warnings = route("203.0.113.0/24 dev eth1 protocol static")
    assert spec.protocol == RTPROT_KEEPALIVED
    assert warnings == ["route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol"]
    assert route("203.0.113.0/24 dev eth1 protocol static no_track")[0].protocol == 4


def test_gw_is_deprecated_but_accepted():
    spec, warnings = route("203.0.113.0/24 gw 198.51.100.1")
    assert spec.via == "198.51.100.1" and warnings == ['"gw" for routes is deprecated. Please use "via"']


@pytest.mark.parametrize("text, reason", [
    ("via 198.51.100.1", "route must have a destination"),
    ("203.0.113.0/24 via 2001:db8::1", "cannot mix IPv4 and IPv6 addresses for route"),
    ("203.0.113.0/24 from 198.51.100.0/24", "route from address only supported with IPv6"),
    ("203.0.113.0/24 table nosuch", "routing table not found"),
    ("203.0.113.0/24 metric -1", "invalid metric"),
    ("203.0.113.0/24 metric 4294967296", "metric out of range (0-4294967295)"),
    ("203.0.113.0/24 dev", "option 'dev' needs a value"),
    ("203.0.113.0/24 dev bad/name", "invalid route interface"),
    ("203.0.113.0/24 scope bogus", "invalid scope"),
    ("nonsense", "invalid route destination (unknown route keyword)"),
    ("203.0.113.0/24 nexthop via 198.51.100.1", "route option 'nexthop' (multipath routes) is not implemented by vipd"),
    ("203.0.113.0/24 mtu 1400", "route option 'mtu' (route metrics) is not implemented by vipd"),
    ("203.0.113.0/24 vrf blue", "route option 'vrf' (VRF tables) is not implemented by vipd"),
    ("203.0.113.0/24 dev eth1 track_group g", "route option 'track_group' (static track groups) is not implemented by vipd"),
])
def test_route_errors(text, reason):
    with pytest.raises(RouteSyntaxError) as info:
        route(text)
    assert str(info.value).startswith(reason)


# ------------------------------------------------------------------ rules

def test_rule_options():
    spec, warnings = rule("from 198.51.100.10 to 203.0.113.0/24 not table vip preference 50 tos 4 fwmark 0x10/0xff "
                          "iif eth1 oif eth2")
    assert spec == RuleSpec(family=4, priority=50, table=100, from_="198.51.100.10/32", to="203.0.113.0/24", invert=True,
                            tos=4, fwmark=16, fwmask=255, iif="eth1", oif="eth2")
    assert warnings == []


def test_rule_actions():
    assert rule("from all blackhole preference 5")[0].action == 6
    assert rule("type unreachable preference 5")[0].action == 7
    assert rule("prohibit preference 5")[0].action == 8
    assert rule("nop preference 5")[0].action == 3
    spec = rule("goto 100 preference 5")[0]
    assert (spec.action, spec.goto) == (2, 100)


def test_rule_without_preference_counts_down_as_keepalived():
    counters = {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY}
    first, warnings = rule("from 198.51.100.1 table 5", counters)
    second, _w = rule("from 198.51.100.2 table 5", counters)
    v6, _w = rule("from 2001:db8::1 table 5", counters)
    assert (first.priority, second.priority, v6.priority) == (30000, 29999, 30000)
    assert warnings == ["rule has no preference specified - setting to 30000. This is probably not what you want."]


@pytest.mark.parametrize("text, reason", [
    ("from 198.51.100.10", "no action specified for rule"),
    ("from 198.51.100.10 table 0", "table 0 is not valid"),
    ("table 5 blackhole", "cannot specify more than one of"),
    ("goto 10", "invalid rule - goto target specified without preference"),
    ("goto 10 preference 20", "invalid rule - preference >= goto target"),
    ("from 2001:db8::/64 to 203.0.113.0/24 table 5", "cannot mix IPv4 and IPv6 addresses for rule"),
    ("fwmark -1 table 5", "invalid rule fwmark"),
    ("local preference 3", "invalid rule action"),
    ("bogus", "unknown rule option"),
    ("uidrange 1-2 table 5", "rule option 'uidrange' (uid ranges) is not implemented by vipd"),
])
def test_rule_errors(text, reason):
    with pytest.raises(RouteSyntaxError) as info:
        rule(text)
    assert str(info.value).startswith(reason)


# ------------------------------------------------------------------ in a config

def test_config_blocks_and_render_round_trip():
    text = _instance(" virtual_routes {\n  203.0.113.0/24 via 198.51.100.1 dev eth1 table 7\n }\n"
                     " virtual_rules {\n  from 198.51.100.10 table 7\n }\n")
    text += ("static_routes {\n 192.0.2.0/24 dev eth1\n}\nstatic_rules {\n to 192.0.2.0/24 table 8 preference 9\n}\n"
             "static_ipaddress {\n 203.0.113.9/32 dev lo\n}\n")
    cfg = config.parse_text(text, "t.conf")
    inst = cfg.instances["A"]
    assert config_routes.routes_of(inst, "virtual_routes") == [
        RouteSpec(family=4, dst="203.0.113.0/24", via="198.51.100.1", dev="eth1", table=7)]
    assert [r.priority for r in config_routes.routes_of(inst, "virtual_rules")] == [30000]
    assert [str(w) for w in cfg.warnings] == [
        "t.conf:11: warning: rule has no preference specified - setting to 30000. This is probably not what you want."]
    assert config_routes.routes_of(cfg, "static_routes")[0].dst == "192.0.2.0/24"
    assert config_routes.routes_of(cfg, "static_rules")[0].priority == 9
    assert [v.cidr for v in config_routes.routes_of(cfg, "static_ipaddress")] == ["203.0.113.9/32"]
    again = config.parse_text(config_render.render_instance(inst)).instances["A"]
    assert again.fingerprint() == inst.fingerprint()
    # a route change is a behaviour change: a reload must not keep the instance as it was
    other = config.parse_text(text.replace("table 7\n }\n virtual_rules", "table 6\n }\n virtual_rules")).instances["A"]
    assert other.fingerprint() != inst.fingerprint()


def test_config_errors_name_file_and_line():
    text = _instance(" virtual_routes {\n  203.0.113.0/24 encap ip id 1 dst 198.51.100.1\n }\n")
    with pytest.raises(ConfigError) as info:
        config.parse_text(text, "t.conf")
    assert [str(m) for m in info.value.errors] == [
        "t.conf:8: route option 'encap' (lightweight tunnel encapsulation) is not implemented by vipd in virtual_routes: "
        "'203.0.113.0/24 encap ip id 1 dst 198.51.100.1'"]


def test_rt_tables_file(tmp_path):
    path = tmp_path / "rt_tables"
    path.write_text("# comment\n255\tlocal\n100 vip # ours\nbad line\n")
    assert config_routes.read_rt_tables(str(path)) == {"local": 255, "vip": 100}
    assert config_routes.read_rt_tables(str(tmp_path / "missing")) == {}


# ------------------------------------------------------------------ netlink messages (encoded, not sent)

def _attrs(msg):
    return dict((a[0], a[1]) for a in msg["attrs"])


def test_route_message_as_keepalived_builds_it():
    spec = route("203.0.113.0/24 via 198.51.100.1 table 4000 metric 7 scope link onlink")[0]
    msg = routes.route_msg(spec)
    assert (msg["family"], msg["dst_len"], msg["table"], msg["proto"], msg["scope"], msg["type"], msg["flags"]) == (
        socket.AF_INET, 24, 0, 18, 253, 1, 4)
    assert _attrs(msg) == {"RTA_TABLE": 4000, "RTA_DST": "203.0.113.0", "RTA_GATEWAY": "198.51.100.1", "RTA_PRIORITY": 7}
    delete = routes.route_msg(route("blackhole default")[0], delete=True)
    assert (delete["scope"], delete["type"], delete["dst_len"]) == (255, 6, 0)
    assert "RTA_DST" not in _attrs(delete)
    msg.encode()
    delete.encode()


def test_rule_message_as_keepalived_builds_it():
    msg = routes.rule_msg(rule("from 198.51.100.0/24 not fwmark 3/7 iif eth1 table 300 preference 9")[0])
    assert (msg["family"], msg["src_len"], msg["table"], msg["action"], msg["flags"]) == (socket.AF_INET, 24, 0, 1, 2)
    assert _attrs(msg) == {"FRA_TABLE": 300, "FRA_SRC": "198.51.100.0", "FRA_PRIORITY": 9, "FRA_FWMARK": 3,
                           "FRA_FWMASK": 7, "FRA_IIFNAME": "eth1", "FRA_PROTOCOL": 18}
    msg.encode()
    goto = routes.rule_msg(rule("goto 100 preference 5 no_track")[0])
    assert _attrs(goto)["FRA_GOTO"] == 100 and "FRA_PROTOCOL" not in _attrs(goto)


def test_cross_family_gateway_is_refused_at_apply_time():
    spec = RouteSpec(family=4, dst="203.0.113.0/24", via="2001:db8::1")
    with pytest.raises(routes.RouteError):
        routes.route_msg(spec)


# ------------------------------------------------------------------ properties

WORDS = st.sampled_from(["via", "gw", "src", "from", "to", "dev", "oif", "table", "metric", "scope", "tos", "protocol",
                         "onlink", "no_track", "blackhole", "unreachable", "default", "inet", "inet6", "nexthop", "not",
                         "preference", "fwmark", "iif", "lookup", "goto", "nop", "type", "main", "link", "7",
                         "0x10/0xff", "198.51.100.1", "203.0.113.0/24", "2001:db8::/64", "eth1", "\n", "\u2028", "-1"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=10))
def test_any_words_give_a_spec_or_our_error(words):
    """Whatever the words: a spec that renders and parses back to itself, or RouteSyntaxError; nothing else."""
    for parse in (parse_route, parse_rule):
        try:
            spec, warnings = parse(words, TABLES)
        except RouteSyntaxError as exc:
            assert str(exc).isprintable()
            continue
        assert all(w.isprintable() for w in warnings)
        rendered = spec.render()
        assert rendered.isprintable()
        assert parse(rendered.split(), TABLES)[0] == spec


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_route_line_in_a_config_is_clean(line):
    """A route line of any text: a parsed config or ConfigError whose messages hold no raw control characters."""
    text = _instance(" virtual_routes {\n  203.0.113.0/24 %s\n }\n" % line.replace("{", "").replace("}", ""))
    try:
        config.parse_text(text, "t.conf")
    except ConfigError as exc:
        for message in exc.messages:
            assert str(message).isprintable(), str(message)


# ------------------------------------------------------------------ tracking: deletion notifications

def _notification(msg, kind):
    msg["header"]["type"] = kind
    msg.encode()
    return bytes(msg.data)


def test_deleted_tracked_route_and_rule_are_recognised():
    spec = route("203.0.113.0/24 via 198.51.100.1 dev eth1 table 7 metric 5")[0]
    msg = routes.route_msg(RouteSpec(family=4, dst="203.0.113.0/24", via="198.51.100.1", table=7, metric=5))
    msg["proto"] = 18
    events = routes.decode_deletions(_notification(msg, routes.RTM_DELROUTE))
    assert events == [("route", (4, "203.0.113.0/24", 7, 5))]
    assert routes.matches(*events[0], spec)
    assert not routes.matches(*events[0], route("203.0.113.0/24 via 198.51.100.1 dev eth1 table 7 metric 5 no_track")[0])
    assert not routes.matches(*events[0], route("203.0.113.0/24 dev eth1 table 8")[0])
    rspec = rule("from 198.51.100.10 table 7 preference 50")[0]
    events = routes.decode_deletions(_notification(routes.rule_msg(rspec), routes.RTM_DELRULE))
    assert events == [("rule", (4, 50, 7, "198.51.100.10/32", None))] and routes.matches(*events[0], rspec)
    # not protocol keepalived: not ours
    msg = routes.route_msg(RouteSpec(family=4, dst="203.0.113.0/24", protocol=4, no_track=True))
    assert routes.decode_deletions(_notification(msg, routes.RTM_DELROUTE)) == []


@settings(max_examples=200, deadline=None)
@given(family=st.sampled_from([socket.AF_INET, socket.AF_INET6, socket.AF_BRIDGE]), proto=st.integers(0, 255),
       table=st.integers(1, 300), kind=st.sampled_from(["route", "rule"]), rule_proto=st.one_of(st.none(), st.integers(0, 255)))
def test_only_deletions_of_protocol_keepalived_are_decoded(family, proto, table, kind, rule_proto):
    """The header is read before pyroute2 is asked (a step-back deletes the kernel's local route of every VIP):
    a route or rule of protocol keepalived (18), IPv4 or IPv6, is decoded; any other is skipped."""
    v4 = family != socket.AF_INET6
    if kind == "route":
        msg = routes.route_msg(RouteSpec(family=4 if v4 else 6, dst="203.0.113.0/24" if v4 else "2001:db8::/64", table=table))
        msg["proto"] = proto
        data = _notification(msg, routes.RTM_DELROUTE)
        ours = proto == RTPROT_KEEPALIVED
    else:
        msg = routes.rule_msg(RuleSpec(family=4 if v4 else 6, priority=50, table=table, protocol=rule_proto,
                                       from_="198.51.100.10/32" if v4 else "2001:db8::10/128"))
        data = _notification(msg, routes.RTM_DELRULE)
        ours = rule_proto == RTPROT_KEEPALIVED
    data = data[:16] + bytes((family,)) + data[17:]  # the family byte after the netlink header (pyroute2 encodes v4/v6 only)
    events = routes.decode_deletions(data)
    ours = ours and family in (socket.AF_INET, socket.AF_INET6)
    assert [k for k, _key in events] == ([kind] if ours else [])
    if ours:
        assert events[0][1][0] == (4 if v4 else 6)


def test_an_address_added_is_reported_by_its_interface_index_only():
    """The daemon looks again at the sources of the instances on that interface when one of them has none
    (InstanceRuntime.check_source); vipd's own VIPs come back as these too, so nothing more is decoded."""
    ifaddr = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 7)
    local = struct.pack("=HH4s", 8, 2, socket.inet_aton("198.51.100.31"))  # IFA_LOCAL
    data = struct.pack("=IHHII", 16 + len(ifaddr) + len(local), addresses.RTM_NEWADDR, 0, 0, 0) + ifaddr + local
    assert routes.decode_deletions(data) == [("address_added", 7)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_notification_bytes_decode_cleanly(data):
    for kind, key in routes.decode_deletions(data):
        if kind == "address_added":
            assert 0 <= key < 1 << 32
        else:
            assert kind in ("route", "rule", "address") and isinstance(key, tuple)
