# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 per-instance / global keywords: vrrp_startup_delay (machine, injected clock), vrrp_mcast_group4/6,
unicast_ttl (frames built without a socket), the VRRP process scheduling keywords (procprio, fake system calls)."""
from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, firewall, machine, netio, packet, procprio
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError


def _global(body, instance_extra=""):
    return ("global_defs {\n%s}\nvrrp_instance A {\n interface eth1\n virtual_router_id 9\n%s"
            " virtual_ipaddress {\n 198.51.100.10/24\n }\n}\n" % (body, instance_extra))


def _errors(text):
    with pytest.raises(ConfigError) as info:
        config.parse_text(text, "t.conf")
    return [str(m) for m in info.value.errors]


# ------------------------------------------------------------------ vrrp_startup_delay

def _machine(priority=100, version=3, advert_int=1.0):
    return machine.Machine(machine.Params(vrid=9, priority=priority, advert_int=advert_int, version=version,
                                          primary_ip="198.51.100.2"))


def test_startup_delay_pushes_the_master_down_timer_as_keepalived():
    m = _machine()
    m.delayed_start = 100.0 + 5.0  # vrrp_startup_delay 5 at t=100
    m.start(100.0)
    assert m.next_deadline == pytest.approx(105.0 + m.master_down_interval)
    assert m.on_timer(104.9 + m.master_down_interval) == []
    assert m.state == machine.State.BACKUP
    # an advert heard during the delay re-arms from the end of the delay too
    m.on_advert(102.0, "198.51.100.3", 150, 100)
    assert m.next_deadline == pytest.approx(105.0 + m.master_down_interval)
    # once the delay is over the RFC timer applies again
    m.on_advert(106.0, "198.51.100.3", 150, 100)
    assert m.next_deadline == pytest.approx(106.0 + m.master_down_interval)
    m.on_timer(106.0 + m.master_down_interval)
    assert m.state == machine.State.MASTER


def test_no_startup_delay_is_the_rfc_timer():
    m = _machine()
    m.start(10.0)
    assert m.next_deadline == pytest.approx(10.0 + m.master_down_interval)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1000), st.floats(0, 100), st.integers(1, 254))
def test_startup_delay_never_shortens_the_wait(start, delay, priority):
    """Whatever the delay: a backup never becomes master before max(start, end of delay) + Master_Down_Interval."""
    m = _machine(priority=priority)
    m.delayed_start = start + delay if delay else 0.0
    m.start(start)
    earliest = max(start, start + delay) + m.master_down_interval
    assert m.next_deadline >= earliest - 1e-9


def test_startup_delay_config():
    g = config.parse_text(_global(" vrrp_startup_delay 2.5\n")).global_defs
    assert g.vrrp_startup_delay == 2.5
    assert config.parse_text(_global("")).global_defs.vrrp_startup_delay == 0.0
    assert _errors(_global(" vrrp_startup_delay -1\n"))[0].startswith("t.conf:2: vrrp_startup_delay '-1' is not valid")


# ------------------------------------------------------------------ multicast groups

def test_mcast_groups_defaults_and_values():
    g = config.parse_text(_global("")).global_defs
    assert (g.vrrp_mcast_group4, g.vrrp_mcast_group6) == ("224.0.0.18", "ff02::12")
    cfg = config.parse_text(_global(" vrrp_mcast_group4 224.0.0.19\n vrrp_mcast_group6 ff02::1:12\n"))
    assert (cfg.global_defs.vrrp_mcast_group4, cfg.global_defs.vrrp_mcast_group6) == ("224.0.0.19", "ff02::1:12")
    assert cfg.warnings == []
    cfg = config.parse_text(_global(" vrrp_mcast_group6 ff05::12\n"), "t.conf")
    assert [str(w) for w in cfg.warnings] == [
        "t.conf:2: warning: vrrp_mcast_group6 ff05::12 should be link-local multicast (as keepalived)"]


@pytest.mark.parametrize("line, error", [
    ("vrrp_mcast_group4 198.51.100.1", "t.conf:2: vrrp_mcast_group4 '198.51.100.1' is not an IPv4 multicast address"),
    ("vrrp_mcast_group4 ff02::12", "t.conf:2: vrrp_mcast_group4 'ff02::12' is not an IPv4 multicast address"),
    ("vrrp_mcast_group6 224.0.0.18", "t.conf:2: vrrp_mcast_group6 '224.0.0.18' is not an IPv6 multicast address"),
    ("vrrp_mcast_group4 nope", "t.conf:2: vrrp_mcast_group4 'nope' is not an IP address"),
])
def test_mcast_group_errors(line, error):
    assert _errors(_global(" %s\n" % line)) == [error]


# ------------------------------------------------------------------ unicast_ttl

PEERS = " unicast_peer {\n 198.51.100.3\n }\n"


def test_unicast_ttl_parse_render_and_refusal():
    inst = config.parse_text(_global("", " unicast_ttl 7\n" + PEERS)).instances["A"]
    assert inst.unicast_ttl == 7
    assert config.parse_text(config_render.render_instance(inst)).instances["A"].fingerprint() == inst.fingerprint()
    assert config.parse_text(_global("", PEERS)).instances["A"].unicast_ttl is None
    assert _errors(_global("", " unicast_ttl 7\n")) == [
        "t.conf:6: unicast_ttl needs unicast_peer: keepalived 2.2.7 would then send multicast adverts with TTL 0, "
        "which every peer drops"]
    assert _errors(_global("", " unicast_ttl 256\n" + PEERS))[0].startswith("t.conf:6: unicast_ttl '256' is not valid")


def _bare_channel(family):
    channel = netio.Channel.__new__(netio.Channel)
    channel.family, channel.ifname = family, "eth1"
    return channel


def test_frame_carries_the_ttl():
    payload = packet.encode(packet.Advert(version=3, vrid=9, priority=100, interval_cs=100, addresses=("198.51.100.10",)),
                            "198.51.100.2", "198.51.100.3")
    frame = _bare_channel(4).frame(payload, "198.51.100.2", "198.51.100.3", ttl=7)
    assert frame[8] == 7
    assert packet.parse_ipv4(frame, check_ttl=False).ttl == 7
    assert _bare_channel(4).frame(payload, "198.51.100.2", "224.0.0.18")[8] == 255


# ------------------------------------------------------------------ process scheduling

class FakeCalls:
    def __init__(self, fail=()):
        self.done = []
        self.fail = fail

    def _call(self, name, *args):
        if name in self.fail:
            raise OSError(1, "Operation not permitted")
        self.done.append((name,) + args)

    def setpriority(self, value):
        self._call("nice", value)

    def set_rr(self, priority):
        self._call("rr", priority)

    def rr_min(self):
        return 1

    def set_rttime(self, limit):
        self._call("rttime", limit)

    def mlockall(self):
        self._call("mlockall")

    def set_affinity(self, cpus):
        self._call("affinity", tuple(cpus))


def _prio(body, fail=()):
    g = config.parse_text(_global(body)).global_defs
    logs = []
    calls = FakeCalls(fail)
    return procprio.ProcessPriority(g, logs.append, calls), calls, logs


def test_scheduling_keywords_applied_as_keepalived():
    p, calls, logs = _prio(" vrrp_rt_priority 10\n vrrp_rlimit_rttime 5000\n vrrp_no_swap\n vrrp_cpu_affinity 0\n")
    p.apply()
    assert calls.done == [("rr", 10), ("rttime", 5000), ("affinity", (0,)), ("mlockall",)] and logs == []
    p, calls, logs = _prio(" vrrp_priority -5\n")
    p.apply()
    assert calls.done == [("nice", -5)]
    p, calls, logs = _prio("")
    p.apply()
    assert calls.done == [] and p.late(10.0) is None  # max_auto_priority off by default (keepalived: 0)


def test_failures_are_logged_not_fatal():
    p, calls, logs = _prio(" vrrp_rt_priority 10\n vrrp_no_swap\n", fail=("rr", "mlockall"))
    p.apply()
    assert calls.done == [] and len(logs) == 2 and p.rt_priority == 0


def test_max_auto_priority_raises_one_step_per_late_wakeup():
    p, calls, logs = _prio(" max_auto_priority 3\n min_auto_priority_delay 500000\n")
    assert p.late(0.4) is None
    assert [p.late(0.6), p.late(0.6), p.late(0.6), p.late(0.6)] == [1, 2, 3, None]
    assert calls.done == [("rr", 1), ("rttime", 10000), ("rr", 2), ("rttime", 10000), ("rr", 3), ("rttime", 10000)]
    assert logs == ["Set realtime priority 1", "Set realtime priority 2", "Set realtime priority 3"]
    assert config.parse_text(_global(" max_auto_priority\n")).global_defs.max_auto_priority == 99
    assert config.parse_text(_global(" max_auto_priority -1\n")).global_defs.max_auto_priority == 0


@pytest.mark.parametrize("line", ["vrrp_priority 20", "vrrp_rt_priority 0", "vrrp_rt_priority 100", "max_auto_priority 100",
                                  "min_auto_priority_delay 0", "vrrp_cpu_affinity x", "vrrp_rlimit_rttime 0",
                                  "vrrp_no_swap yes"])
def test_scheduling_keyword_errors(line):
    errors = _errors(_global(" %s\n" % line))
    assert len(errors) == 1 and errors[0].startswith("t.conf:2: ")


def test_rlimit_rtime_is_the_deprecated_name_and_minimum_two():
    assert config.parse_text(_global(" vrrp_rlimit_rtime 1\n")).global_defs.vrrp_rlimit_rttime == 2


def test_ipv6_hop_limit_ancillary():
    sent = []

    class Sock:
        def sendmsg(self, buffers, ancillary, flags, address):
            sent.append((ancillary, address))

    channel = _bare_channel(6)
    channel.sock, channel.ifindex, channel._v6_ancillary = Sock(), 3, {}
    channel.send_frame(b"x", "2001:db8::2", "2001:db8::3", ttl=9)
    channel.send_frame(b"x", "2001:db8::2", "ff02::12")
    levels = [[(lvl, kind) for lvl, kind, _v in anc] for anc, _a in sent]
    assert levels[0] == [(socket.IPPROTO_IPV6, netio.IPV6_PKTINFO), (socket.IPPROTO_IPV6, netio.IPV6_HOPLIMIT)]
    assert struct.unpack("=i", sent[0][0][1][2])[0] == 9
    assert levels[1] == [(socket.IPPROTO_IPV6, netio.IPV6_PKTINFO)]


# ------------------------------------------------------------------ accept mode (firewall.py, nft scripts recorded)

def _inst(extra="", glob=""):
    return config.parse_text(_global(glob, extra)).instances["A"]


@pytest.mark.parametrize("extra, strict, version, want", [
    ("", False, 2, True),  # keepalived's default without vrrp_strict: accept
    ("", True, 2, False),  # vrrp_strict: no accept unless asked
    (" no_accept\n", False, 2, False),
    (" accept\n", True, 3, True),
    (" accept\n", True, 2, False),  # "accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
    (" no_accept\n priority 255\n", True, 2, True),  # the address owner always accepts
])
def test_accept_mode_rules(extra, strict, version, want):
    inst = _inst(extra + " version %d\n" % version)
    assert firewall.accept_mode(inst, strict) is want


def test_firewall_scripts_as_keepalived_tables():
    scripts = []
    fw = firewall.AcceptFirewall(run=scripts.append)
    fw.block(["198.51.100.10/24", "2001:db8::10/64", "198.51.100.11"])
    fw.block(["198.51.100.10/24"])  # already blocked: nothing sent
    fw.unblock(["198.51.100.10/24", "198.51.100.99/24"])
    fw.teardown()
    text = "".join(scripts)
    assert "add chain ip keepalived in { type filter hook input priority -1; policy accept; }" in text
    assert "add rule ip keepalived in ip daddr @vips drop" in text and "add rule ip keepalived out ip saddr @vips drop" in text
    assert "add rule ip6 keepalived in icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept" in text
    assert "add element ip keepalived vips { 198.51.100.10, 198.51.100.11 }" in text
    assert "add element ip6 keepalived vips { 2001:db8::10 }" in text
    assert scripts[-3:] == ["delete element ip keepalived vips { 198.51.100.10 }\n", "delete table ip keepalived\n",
                            "delete table ip6 keepalived\n"]
    assert sum("add element" in s for s in scripts) == 2


def test_firewall_failure_is_our_error():
    def fail(_script):
        raise firewall.FirewallError("nft failed: no")

    with pytest.raises(firewall.FirewallError):
        firewall.AcceptFirewall(run=fail).block(["198.51.100.10"])


def test_mld_reports_of_a_vmac_move_to_its_base_as_keepalived():
    scripts = []
    fw = firewall.AcceptFirewall(run=scripts.append)
    fw.move_mld("vrrp.51", "eth0")
    fw.move_mld("vrrp.51", "eth0")  # already there: nothing sent
    fw.move_mld("vrrp.52", "eth1")
    fw.unmove_mld("vrrp.51")
    fw.unmove_mld("vrrp.51")  # gone already: nothing sent
    fw.move_mld("vrrp.53", "eth0")  # the map and its rule stay: only the element is added
    text = "".join(scripts)
    assert text.count("add rule ip6 keepalived out icmpv6 type mld2-listener-report "
                      "dup to ip6 daddr device oif map @vmac_map drop") == 1
    assert text.count("add map ip6 keepalived vmac_map { type iface_index : iface_index; }") == 1
    assert [s for s in scripts if "element" in s] == [
        'add element ip6 keepalived vmac_map { "vrrp.51" : "eth0" }\n', 'add element ip6 keepalived vmac_map { "vrrp.52" : "eth1" }\n',
        'delete element ip6 keepalived vmac_map { "vrrp.51" }\n', 'add element ip6 keepalived vmac_map { "vrrp.53" : "eth0" }\n']
    fw.teardown()
    assert scripts[-1] == "delete table ip6 keepalived\n" and fw.vmac_map == {} and not fw.vmac_rule
