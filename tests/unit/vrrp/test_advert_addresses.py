# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7's advert address check (vrrp_check_packet) and skip_check_adv_addr, on the injected clock."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, daemon, dumps, packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, State
from tests.unit.vrrp.fakes import StillClock

A, B = "198.51.100.1", "198.51.100.2"
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
        198.51.100.101/24
    }
}
"""


def _runtime(tmp_path, global_line="", inst_line=""):
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


def _rec(addresses, src=B, priority=150, dst="224.0.0.18"):
    advert = packet.Advert(version=2, vrid=51, priority=priority, interval_cs=100, family=4, addresses=tuple(addresses))
    return SimpleNamespace(advert=advert, src=src, ttl=255, dst=dst)


SAME = ("198.51.100.100", "198.51.100.101")


@pytest.mark.parametrize("addresses,reason", [
    (SAME, None),
    (tuple(reversed(SAME)), None),                          # order does not matter (keepalived looks each one up)
    (SAME[:1], "addr_count"),                               # "received an unexpected ip number count"
    (SAME + ("198.51.100.102",), "addr_count"),
    (("198.51.100.100", "198.51.100.199"), "addr_list"),    # "ip address associated with VRID not present"
])
def test_an_advert_must_carry_exactly_our_addresses(tmp_path, addresses, reason):
    rt = _runtime(tmp_path)
    assert rt.validate(_rec(addresses)) == reason


def test_a_dropped_advert_does_not_move_the_machine_and_is_counted(tmp_path):
    rt = _runtime(tmp_path)
    rt.on_advert(_rec(("198.51.100.100", "198.51.100.199")))
    assert rt.machine.master_ip is None and rt.counters["adverts_in"] == 0
    assert rt.drops == {"addr_list": 1}
    assert dumps.stats_of(rt)["addr_list_err"] == 1


@pytest.mark.parametrize("global_line,inst_line", [("    vrrp_skip_check_adv_addr\n", ""), ("", "    skip_check_adv_addr\n"),
                                                   ("", "    skip_check_adv_addr false\n")])  # keepalived sets it for "false" too
def test_skip_check_adv_addr_spares_only_the_followed_master(tmp_path, global_line, inst_line):
    rt = _runtime(tmp_path, global_line, inst_line)
    assert rt.cfg.skip_check_adv_addr
    # the first advert of a master is checked: it has no master yet
    assert rt.validate(_rec(SAME[:1])) == "addr_count"
    assert rt.validate(_rec(SAME)) is None
    rt.machine.on_advert(rt.daemon.now(), B, 150, 100)  # the pure machine follows B (no I/O executed)
    assert rt.machine.state == State.BACKUP and rt.machine.master_ip == B
    # the master it follows is no longer checked; another sender still is
    assert rt.validate(_rec(SAME[:1])) is None
    assert rt.validate(_rec(SAME[:1], src="198.51.100.3")) == "addr_count"


def test_without_skip_every_advert_is_checked(tmp_path):
    rt = _runtime(tmp_path)
    assert not rt.cfg.skip_check_adv_addr
    rt.machine.on_advert(rt.daemon.now(), B, 150, 100)
    assert rt.machine.master_ip == B
    assert rt.validate(_rec(SAME[:1])) == "addr_count"


def test_skip_check_adv_addr_renders_and_reads_back(tmp_path):
    rt = _runtime(tmp_path, "    vrrp_skip_check_adv_addr\n")
    again = config.parse_text(config_render.render_config(rt.daemon.cfg), "r.conf")
    assert again.global_defs.vrrp_skip_check_adv_addr and again.instances["VI_1"].skip_check_adv_addr
