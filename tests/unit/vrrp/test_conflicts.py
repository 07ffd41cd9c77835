# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRID conflicts (conflicts.py and its use by the daemon), on an injected clock: what differs, one record per source,
a log line at most once per source and minute, a bounded table (least recently seen evicted), records that age
out, and the advert still handled as before (dropped by the same rule, counted by the same reason)."""
from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, config, conflicts, daemon, machine, packet

OURS = ("198.51.100.100",)
REF2 = conflicts.Reference(2, 100, packet.AUTH_PASS, packet.auth_pass_bytes("s3cr3t"), OURS)
REF3 = conflicts.Reference(3, 20, packet.AUTH_NONE, b"", OURS)


def _advert(version=2, interval_cs=100, addresses=OURS, auth_type=packet.AUTH_PASS, password="s3cr3t"):
    if version == 3:
        auth_type, password = packet.AUTH_NONE, ""
    return packet.Advert(version=version, vrid=51, priority=100, interval_cs=interval_cs, addresses=tuple(addresses),
                         auth_type=auth_type, auth_data=packet.auth_pass_bytes(password) if auth_type == packet.AUTH_PASS else b"")


@pytest.mark.parametrize("advert, ref, expected", [
    (_advert(), REF2, ()),
    (_advert(addresses=("198.51.100.100", "198.51.100.101")), REF2, ("vips",)),
    (_advert(addresses=("203.0.113.9",)), REF2, ("vips",)),
    (_advert(interval_cs=300), REF2, ("interval",)),
    (_advert(password="other"), REF2, ("authentication",)),
    (_advert(auth_type=packet.AUTH_NONE), REF2, ("authentication",)),
    (_advert(version=3, interval_cs=100), REF2, ("version",)),  # a v3 advert carries no authentication to compare
    (_advert(version=3, interval_cs=20), REF3, ()),
    (_advert(version=3, interval_cs=100, addresses=("203.0.113.9",)), REF3, ("vips", "interval")),
    (_advert(version=2, interval_cs=100, addresses=("203.0.113.9",), password="x"), REF3, ("vips", "interval", "version")),
])
def test_differences_name_what_differs_in_a_fixed_order(advert, ref, expected):
    assert conflicts.differences(ref, advert) == expected


def test_address_order_is_not_a_difference():
    ref = conflicts.Reference(3, 100, 0, b"", ("198.51.100.1", "198.51.100.2"))
    assert conflicts.differences(ref, _advert(version=3, interval_cs=100, addresses=("198.51.100.2", "198.51.100.1"))) == ()


def test_a_source_is_logged_once_per_minute_on_the_injected_clock():
    table = conflicts.ConflictTable()
    logged = []
    for second in range(0, 181):  # one conflicting advert a second for three minutes
        entry = table.record("198.51.100.20", ("vips",), 1000.0 + second)
        if entry is not None:
            logged.append((second, table.logged(entry)))
    assert logged == [(0, 1), (60, 60), (120, 60), (180, 60)]
    assert table.entries["198.51.100.20"].count == 181 and table.total == 181


def test_two_sources_have_their_own_rate_limit():
    table = conflicts.ConflictTable()
    assert table.record("198.51.100.20", ("vips",), 0.0) is not None
    assert table.record("198.51.100.21", ("interval",), 1.0) is not None  # another source: its own first line
    assert table.record("198.51.100.20", ("vips",), 59.9) is None
    assert table.record("198.51.100.21", ("interval",), 60.5) is None
    assert table.record("198.51.100.20", ("vips",), 60.0) is not None
    assert table.record("198.51.100.21", ("interval",), 61.0) is not None


def test_table_is_bounded_and_evicts_the_least_recently_seen():
    table = conflicts.ConflictTable(max_sources=64)
    for i in range(64):
        table.record("203.0.113.%d" % i, ("vips",), float(i))
    table.record("203.0.113.0", ("vips",), 100.0)  # seen again: now the most recent
    table.record("198.51.100.200", ("vips",), 101.0)  # the 65th source pushes out the least recently seen: .1
    assert len(table.entries) == 64 and table.evicted == 1
    assert "203.0.113.1" not in table.entries and "203.0.113.0" in table.entries and "198.51.100.200" in table.entries
    for i in range(1000):  # a flood of forged sources never grows it
        table.record("2001:db8::%x" % i, ("vips",), 200.0 + i)
    assert len(table.entries) == 64 and table.total == 64 + 2 + 1000


def test_records_age_out_and_status_lists_the_active_ones_most_recent_first():
    table = conflicts.ConflictTable(expire_after=300.0)
    table.record("198.51.100.20", ("vips", "interval"), 10.0)
    table.record("198.51.100.21", ("authentication",), 200.0)
    table.record("198.51.100.21", ("authentication",), 250.0)
    wall = 1_800_000_000.0
    status = table.status(300.0, wall_now=wall)
    assert [s["source"] for s in status] == ["198.51.100.21", "198.51.100.20"]
    assert status[0] == {"source": "198.51.100.21", "differs": ["authentication"], "count": 2,
                         "first_seen": conflicts.iso(wall - 100.0), "last_seen": conflicts.iso(wall - 50.0)}
    assert status[1]["differs"] == ["vips", "interval"] and status[1]["count"] == 1
    assert [s["source"] for s in table.status(311.0, wall_now=wall)] == ["198.51.100.21"]  # .20 silent for 301 s
    assert table.status(600.0, wall_now=wall) == [] and table.total == 3  # the counter never goes back


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99), st.floats(0, 5, allow_nan=False)), max_size=300))
def test_any_sequence_keeps_the_bounds_and_the_rate_limit(events):
    table = conflicts.ConflictTable(max_sources=8, log_every=60.0, expire_after=300.0)
    now, last_log = 0.0, {}
    for source_index, step in events:
        now += step
        source = "203.0.113.%d" % source_index
        entry = table.record(source, ("vips",), now)
        if entry is not None:
            previous = last_log.get(source)
            # a source logs again only after a minute, or after it left the table (evicted or expired) and came back
            assert previous is None or now - previous >= 60.0 or table.entries[source].first_seen == now
            last_log[source] = now
        assert len(table.entries) <= 8
    assert table.total == len(events)
    assert all(s["count"] >= 1 for s in table.status(now, 1.8e9))


# ---- in the daemon --------------------------------------------------------------------------------------------------

CONF = """vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


class _Loop:
    """The daemon's clock (loop.time) moved by the test; timers are recorded, never run."""

    def __init__(self):
        self.t = 1000.0

    def time(self):
        return self.t

    def call_at(self, when, callback, *args):
        return _Handle(when)

    def call_later(self, delay, callback, *args):
        return _Handle(self.t + delay)

    def call_soon(self, callback, *args):
        return self.call_later(0, callback, *args)


class _Handle:
    def __init__(self, when):
        self._when = when

    def when(self):
        return self._when

    def cancel(self):
        pass

    def cancelled(self):
        return False


def _runtime(tmp_path, text=CONF):
    path = tmp_path / "vipd.conf"
    path.write_text(text)
    d = daemon.Daemon(str(path))
    d.loop = _Loop()
    d.cfg = config.parse_text(text, str(path))
    rt = daemon.InstanceRuntime(d, d.cfg.instances["VI_1"])
    rt.src_ip = "198.51.100.11"
    rt.machine = machine.Machine(rt.params())
    rt.machine.start(d.now())
    d.instances["VI_1"] = rt
    return d, rt


def _received(src, **kw):
    advert = _advert(**kw)
    frame = packet.build_ipv4(packet.encode(advert, src, "224.0.0.18"), src, "224.0.0.18")
    return packet.parse_ipv4(frame)


def test_daemon_records_a_foreign_group_and_still_drops_its_adverts(tmp_path, caplog):
    d, rt = _runtime(tmp_path)
    caplog.set_level(logging.WARNING, logger="vipd")
    for second in range(0, 130):
        d.loop.t = 1000.0 + second
        rt.on_advert(_received("198.51.100.20", addresses=("203.0.113.9",)))  # same VRID, other VIPs
    rt.on_advert(_received("198.51.100.12"))  # our own group's peer: no conflict, accepted
    status = rt.status()
    assert [(c["source"], c["differs"], c["count"]) for c in status["conflicts"]] == [("198.51.100.20", ["vips"], 130)]
    assert status["counters"]["conflicts"] == 130
    assert rt.drops == {"addr_list": 130}  # dropped by the same rule as before (one address, not ours)
    assert rt.counters["adverts_in"] == 1 and rt.machine.master_ip == "198.51.100.12"
    lines = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage()]
    assert len(lines) == 3, lines  # at 0 s, 60 s and 120 s
    assert "VI_1: VRID 51 conflict: advert from 198.51.100.20 for our VRID differs in vips (1 advert(s)" in lines[0]
    assert "(60 advert(s) since the last message)" in lines[1]
    assert "s3cr3t" not in caplog.text


def test_daemon_names_interval_and_authentication_and_a_reload_forgets(tmp_path):
    d, rt = _runtime(tmp_path)
    rt.on_advert(_received("198.51.100.20", interval_cs=300, password="wrong"))
    assert rt.status()["conflicts"][0]["differs"] == ["interval", "authentication"]
    assert rt.drops == {"auth": 1}
    rt.update_in_place(config.parse_text(CONF.replace("advert_int 1", "advert_int 3"), "x").instances["VI_1"])
    assert rt.status()["conflicts"] == []  # recorded against the old configuration
    rt.on_advert(_received("198.51.100.20", interval_cs=300, password="wrong"))
    assert rt.status()["conflicts"][0]["differs"] == ["authentication"]  # the interval now matches


def test_status_text_shows_conflicts_under_the_table(tmp_path):
    d, rt = _runtime(tmp_path)
    assert "CONFLICT" not in cli.format_status(d.status())
    rt.on_advert(_received("198.51.100.20", version=3, interval_cs=100))
    text = cli.format_status(d.status())
    assert "CONFLICT VI_1 vrid 51: 198.51.100.20 differs in version (1 advert(s), last " in text


def test_our_own_looped_back_advert_is_no_conflict(tmp_path):
    d, rt = _runtime(tmp_path)
    rt.on_advert(_received(rt.src_ip, addresses=("203.0.113.9",)))  # our source address: another socket's loopback
    assert rt.status()["conflicts"] == [] and rt.conflicts.total == 0 and rt.drops == {}
