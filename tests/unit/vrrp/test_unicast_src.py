# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7's vrrp_check_packet() for unicast instances: the source of a unicast advert is checked only with
check_unicast_src / vrrp_check_unicast_src; a multicast advert is never accepted by a unicast instance (and the
reverse); unicast_fault_no_peer. Parsing and the receive path, no network."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, daemon, dumps, packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine
from tests.unit.vrrp.fakes import StillClock

A, B, C = "198.51.100.1", "198.51.100.2", "198.51.100.3"
CONF = """global_defs {
    router_id lab1
%s}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
%s    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""
PEERS = "    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n" % (A, B)


def _runtime(tmp_path, global_line="", inst_line=PEERS):
    text = CONF % (global_line, inst_line)
    path = tmp_path / "vipd.conf"
    path.write_text(text)
    d = daemon.Daemon(str(path))
    d.loop = StillClock()
    d.cfg = config.parse_text(text, str(path))
    rt = daemon.InstanceRuntime(d, d.cfg.instances["VI_1"])
    rt.src_ip = A
    rt.machine = Machine(rt.params())
    rt.machine.start(d.now())
    d.instances["VI_1"] = rt
    return rt


def _rec(src=B, dst=A, priority=150, ttl=64):
    advert = packet.Advert(version=2, vrid=51, priority=priority, interval_cs=100, family=4, addresses=("198.51.100.100",))
    return SimpleNamespace(advert=advert, src=src, ttl=ttl, dst=dst)


def test_by_default_a_unicast_advert_from_any_source_is_accepted(tmp_path):
    rt = _runtime(tmp_path)
    assert rt.validate(_rec(src=B)) is None
    assert rt.validate(_rec(src=C)) is None     # not a listed peer: keepalived 2.2.7 accepts it too
    rt.on_advert(_rec(src=C))
    assert rt.machine.master_ip == C and rt.counters["adverts_in"] == 1 and rt.drops == {}


@pytest.mark.parametrize("global_line,inst_line", [("", PEERS + "    check_unicast_src\n"),
                                                   ("    vrrp_check_unicast_src\n", PEERS)])
def test_check_unicast_src_drops_other_sources_and_counts_them(tmp_path, global_line, inst_line):
    rt = _runtime(tmp_path, global_line, inst_line)
    assert rt.cfg.check_unicast_src
    assert rt.validate(_rec(src=B)) is None
    rt.on_advert(_rec(src=C))
    assert rt.drops == {"peer": 1} and rt.machine.master_ip is None and rt.counters["adverts_in"] == 0


def test_the_source_check_comes_after_the_address_check_and_skip_check_adv_addr_spares_both(tmp_path):
    rt = _runtime(tmp_path, "", PEERS + "    check_unicast_src\n    skip_check_adv_addr\n")
    rt.on_advert(_rec(src=B))
    assert rt.machine.master_ip == B
    # keepalived skips the whole check_vip_addr block, source check included, for the master it follows
    rt.cfg.unicast_peers = [C]
    assert rt.validate(_rec(src=B)) is None
    assert rt.validate(_rec(src="198.51.100.4")) == "peer"


def test_a_unicast_instance_drops_multicast_adverts_even_from_a_peer(tmp_path):
    rt = _runtime(tmp_path)
    rt.on_advert(_rec(src=B, dst="224.0.0.18", ttl=255))
    assert rt.drops == {"cast": 1} and rt.machine.master_ip is None
    # keepalived counts it in addr_list_err ("Expected unicast packet but received multicast packet")
    assert dumps.stats_of(rt)["addr_list_err"] == 1


def test_a_multicast_instance_drops_unicast_adverts(tmp_path):
    rt = _runtime(tmp_path, "", "")
    assert not rt.unicast
    assert rt.validate(_rec(src=B, dst=A, ttl=255)) == "cast"
    assert rt.validate(_rec(src=B, dst="224.0.0.18", ttl=255)) is None
    assert rt.validate(_rec(src=B, dst="224.0.0.18", ttl=64)) == "ttl"


def test_ipv6_destinations_are_told_apart():
    assert daemon._is_multicast("ff02::12") and daemon._is_multicast("FF02::12%eth0")
    assert not daemon._is_multicast("2001:db8::1") and not daemon._is_multicast("fe80::1")
    assert daemon._is_multicast("224.0.0.18") and daemon._is_multicast("239.255.255.255")
    assert not daemon._is_multicast("198.51.100.1") and not daemon._is_multicast("") and not daemon._is_multicast(None)


# ---------------------------------------------------------------- unicast_fault_no_peer (parsing)

def _parse(inst_line):
    return config.parse_text(CONF % ("", inst_line), "k.conf")


def test_unicast_fault_no_peer_without_peers_is_a_run_time_fault_not_a_config_error():
    cfg = _parse("    unicast_fault_no_peer\n")
    inst = cfg.instances["VI_1"]
    assert inst.unicast_fault_no_peer and not inst.unicast_peers
    # keepalived logs it (no report_config_error): `keepalived -t` passes, so must `vipd check`
    assert [m.check_fails for m in cfg.warnings] == [False]
    assert "Cannot use unicast without any peers" in cfg.warnings[0].reason and cfg.warnings[0].line == 10


def test_unicast_fault_no_peer_with_peers_changes_nothing():
    cfg = _parse(PEERS + "    unicast_fault_no_peer\n")
    assert cfg.instances["VI_1"].unicast_peers == [B] and cfg.warnings == []


def test_check_unicast_src_alone_is_a_unicast_keyword_without_peers():
    # keepalived sets VRRP_FLAG_UNICAST_CONFIGURED for it: the deprecated "defaulting to multicast" report
    cfg = _parse("    check_unicast_src\n")
    assert any("Defaulting to multicast" in m.reason and m.check_fails and m.line == 10 for m in cfg.warnings)


@pytest.mark.parametrize("line", ["    check_unicast_src yes\n", "    unicast_fault_no_peer 1\n"])
def test_flags_take_no_value(line):
    with pytest.raises(config.ConfigError) as err:
        _parse(PEERS + line)
    assert "k.conf:14: keyword" in str(err.value) and "takes no value" in str(err.value)


def test_flags_render_and_read_back():
    inst = _parse(PEERS + "    check_unicast_src\n    unicast_fault_no_peer\n").instances["VI_1"]
    back = config.parse_text(config_render.render_instance(inst)).instances["VI_1"]
    assert back.check_unicast_src and back.unicast_fault_no_peer
