# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7's vrrp_down_timer_adverts (global) / down_timer_adverts (instance): parsing, and the
Master_Down_Interval of the pure state machine on the injected clock (VRRP_MS_DOWN_TIMER)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import AddVips, Machine, Params, SendAdvert, State
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Transition

INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
%s    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


def parse(global_lines="", inst_lines=""):
    head = "global_defs {\n%s}\n" % global_lines if global_lines else ""
    return config.parse_text(head + INSTANCE % inst_lines, "k.conf")


def test_default_is_three_as_the_rfc():
    assert parse().instances["VI_1"].down_timer_adverts == 3


def test_global_sets_the_default_and_the_instance_overrides_it():
    assert parse("    vrrp_down_timer_adverts 5\n").instances["VI_1"].down_timer_adverts == 5
    assert parse("    vrrp_down_timer_adverts 5\n", "    down_timer_adverts 1\n").instances["VI_1"].down_timer_adverts == 1
    assert parse("", "    down_timer_adverts 100\n").instances["VI_1"].down_timer_adverts == 100


@pytest.mark.parametrize("value", ["0", "101", "-1", "2.5", "x", "1e2"])
def test_out_of_range_is_an_error_at_its_line(value):
    with pytest.raises(config.ConfigError) as err:
        parse("", "    down_timer_adverts %s\n" % value)
    assert "k.conf:5: down_timer_adverts" in str(err.value) and "from 1 to 100" in str(err.value)
    with pytest.raises(config.ConfigError) as err:
        parse("    vrrp_down_timer_adverts %s\n" % value)
    assert "k.conf:2: vrrp_down_timer_adverts" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789+-.x", min_size=1, max_size=6))
def test_any_word_is_either_a_count_from_1_to_100_or_an_error(word):
    try:
        n = parse("", "    down_timer_adverts %s\n" % word).instances["VI_1"].down_timer_adverts
    except config.ConfigError as exc:
        assert all(m.file == "k.conf" and m.line == 5 for m in exc.errors)
        return
    assert 1 <= n <= 100 and n == int(word)


def test_strict_mode_resets_it_to_three_and_reports_it():
    cfg = parse("    vrrp_strict\n", "    down_timer_adverts 5\n")
    assert cfg.instances["VI_1"].down_timer_adverts == 3
    assert any("incompatible with strict mode" in m.reason and m.check_fails for m in cfg.warnings)


def test_it_renders_and_reads_back():
    inst = parse("", "    down_timer_adverts 7\n").instances["VI_1"]
    text = config_render.render_instance(inst)
    assert "down_timer_adverts 7" in text
    assert config.parse_text(text).instances["VI_1"].down_timer_adverts == 7


# ---------------------------------------------------------------- the state machine (injected clock)

def _backup(n, version=2, advert_int=1.0, priority=100):
    m = Machine(Params(vrid=1, priority=priority, advert_int=advert_int, version=version, primary_ip="198.51.100.1",
                       down_timer_adverts=n))
    m.start(0.0)
    assert m.state == State.BACKUP
    return m


@pytest.mark.parametrize("n", [1, 2, 3, 5, 100])
def test_v2_master_down_interval_is_n_intervals_plus_skew(n):
    m = _backup(n)
    skew = (256 - 100) / 256.0
    assert m.master_down_interval == pytest.approx(n * 1.0 + skew)
    assert m.next_deadline == pytest.approx(n + skew)
    # an advert restarts the wait at the same length
    m.on_advert(10.0, "198.51.100.2", 150, 100)
    assert m.next_deadline == pytest.approx(10.0 + n + skew)
    assert m.on_timer(10.0 + n + skew - 0.001) == []
    actions = m.on_timer(10.0 + n + skew)
    assert isinstance(actions[0], AddVips) and isinstance(actions[-1], Transition) and m.state == State.MASTER


def test_v3_uses_the_masters_interval():
    m = _backup(2, version=3, advert_int=1.0)
    m.on_advert(0.0, "198.51.100.2", 150, 50)   # the master advertises 0.5 s
    skew = (256 - 100) * 50 / 256.0 / 100.0
    assert m.next_deadline == pytest.approx(2 * 0.5 + skew)


def test_a_master_that_stops_answering_is_replaced_sooner_with_one_advert():
    fast, slow = _backup(1), _backup(3)
    for m in (fast, slow):
        m.on_advert(0.0, "198.51.100.2", 150, 100)
    assert fast.on_timer(1.7)[-1] == Transition(State.BACKUP, State.MASTER, "no advert from master 198.51.100.2 within master_down_interval")
    assert slow.on_timer(1.7) == [] and slow.state == State.BACKUP


def test_a_reload_that_changes_it_restarts_a_backups_wait():
    m = _backup(3)
    m.on_advert(0.0, "198.51.100.2", 150, 100)
    m.reconfigure(1.0, Params(vrid=1, priority=100, advert_int=1.0, version=2, primary_ip="198.51.100.1", down_timer_adverts=10))
    assert m.next_deadline == pytest.approx(1.0 + 10 + (256 - 100) / 256.0)


def test_a_master_keeps_its_interval_whatever_the_count():
    m = Machine(Params(vrid=1, priority=255, advert_int=1.0, version=2, down_timer_adverts=1))
    m.start(0.0)
    assert m.state == State.MASTER and m.on_timer(1.0) == [SendAdvert(255)] and m.next_deadline == 2.0


@pytest.mark.parametrize("n", [0, 101])
def test_params_out_of_range_are_refused(n):
    with pytest.raises(ValueError):
        Machine(Params(vrid=1, priority=100, advert_int=1.0, version=2, down_timer_adverts=n))
