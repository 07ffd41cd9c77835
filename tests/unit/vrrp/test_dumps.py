# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's dumps as vipd writes them (dumps.py): the JSON of SIGRTMIN+2 with keepalived 2.2.7's keys, order and
number formats, the .data/.stats layouts that keepalived exporters parse, SIGRTMAX-1's clearing, TMPDIR, and never a
password. The golden key lists below were captured from Debian's keepalived 2.2.7 (built with --enable-json) on a
two-instance config (tests/integration/test_vipd_dumps.py compares against the live daemon)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import tempfile

from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, daemon, dumps
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Transition
from tests.unit.vrrp.fakes import StillClock

A = "198.51.100.1"
# keepalived 2.2.7 vrrp_json.c, Debian's build (VRRP_AUTH, VMAC, NFTABLES): the keys of "data", in order, for a v2
# instance with auth, VIPs, excluded VIPs and a tracked interface ("auth_data" left out: vipd never writes it).
KEEPALIVED_DATA_KEYS = [
    "iname", "dont_track_primary", "skip_check_adv_addr", "strict_mode", "vmac_ifname", "ifp_ifname", "master_priority",
    "last_transition", "garp_delay", "garp_refresh", "garp_rep", "garp_refresh_rep", "garp_lower_prio_delay",
    "garp_lower_prio_rep", "lower_prio_no_advert", "higher_prio_send_advert", "vrid", "base_priority", "effective_priority",
    "vipset", "promote_secondaries", "adver_int", "master_adver_int", "accept", "nopreempt", "preempt_delay", "state",
    "wantstate", "version", "smtp_alert", "notify_deleted", "vips", "evips", "track_ifp", "auth_type"]
KEEPALIVED_STATS_KEYS = [
    "advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err", "advert_interval_err", "ip_ttl_err",
    "invalid_type_rcvd", "addr_list_err", "invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd",
    "pri_zero_sent"]

CONF = """global_defs {
    router_id lab1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cr3tpw
    }
    virtual_ipaddress {
        198.51.100.100/24 dev eth0
        198.51.100.101/24 dev eth0 label eth0:1
    }
    virtual_ipaddress_excluded {
        198.51.100.150/24
    }
    track_interface {
        eth1 weight 5
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 0.5
    version 3
    virtual_ipaddress {
        2001:db8::100/64
    }
}
"""


def _daemon(tmp_path, text=CONF):
    path = tmp_path / "vipd.conf"
    path.write_text(text)
    d = daemon.Daemon(str(path))
    d.loop = StillClock()
    d.cfg = config.parse_text(text, str(path))
    for name, inst in d.cfg.instances.items():
        rt = daemon.InstanceRuntime(d, inst)
        rt.src_ip = A if inst.family == 4 else "fe80::1"
        rt.machine = Machine(rt.params())
        for act in rt.machine.start(d.now() - 5) + rt.machine.on_timer(d.now()):
            if isinstance(act, Transition):
                rt.last_transition = {"monotonic": d.now(), "old": str(act.old), "new": str(act.new)}
        rt.vips_held = [s.cidr for s in inst.vips + inst.excluded_vips]
        d.instances[name] = rt
    return d


def test_json_has_keepalived_structure_keys_and_number_formats(tmp_path, monkeypatch):
    d = _daemon(tmp_path)
    rt = d.instances["VI_1"]
    rt.counters.update(adverts_in=4, adverts_out=9, became_master=1, priority_zero_out=2)
    rt.drops = {"ttl": 2, "auth": 1, "auth_type": 3, "length": 4, "interval": 5, "addr_count": 6, "type": 7}
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    path = d.dump_json()
    assert path == str(tmp_path / "keepalived.json")
    raw = (tmp_path / "keepalived.json").read_text()
    assert raw.endswith("]\n") and raw.count("\n") == 1 and '": ' not in raw and ', "' not in raw   # compact, one line
    doc = json.loads(raw)
    assert [list(item) for item in doc] == [["data", "stats"], ["data", "stats"]]
    v1, v6 = doc[0]["data"], doc[1]["data"]
    assert list(v1) == KEEPALIVED_DATA_KEYS
    assert list(doc[0]["stats"]) == KEEPALIVED_STATS_KEYS == list(doc[1]["stats"])
    assert v1["iname"] == "VI_1" and v1["state"] == 2 and v1["wantstate"] == 2 and v1["ifp_ifname"] == "eth0" and v1["vrid"] == 51
    assert v1["vips"] == ["198.51.100.100/24 dev eth0 scope global set", "198.51.100.101/24 dev eth0 scope global label eth0:1 set"]
    assert v1["evips"] == ["198.51.100.150/24 dev eth0 scope global set"]
    assert v1["track_ifp"] == ["eth1"] and v1["auth_type"] == 1 and v1["accept"] == 1 and v1["vipset"] is True
    assert v6["vips"] == ["2001:db8::100/64 dev eth0 scope global preferred_lft forever set"] and v6["auth_type"] == 0
    assert "evips" not in v6 and "track_ifp" not in v6 and "auth_data" not in v1
    # C's %g: whole numbers without a fraction (Go's json decodes garp_delay into an int), "%f" for last_transition
    assert '"garp_delay":5,' in raw and '"adver_int":1,' in raw and '"adver_int":0.5,' in raw
    assert re.search(r'"last_transition":\d+\.\d{6},', raw)
    assert doc[0]["stats"] == {"advert_rcvd": 4, "advert_sent": 9, "become_master": 1, "release_master": 0, "packet_len_err": 4,
                               "advert_interval_err": 5, "ip_ttl_err": 2, "invalid_type_rcvd": 7, "addr_list_err": 6,
                               "invalid_authtype": 0, "authtype_mismatch": 3, "auth_failure": 1, "pri_zero_rcvd": 0,
                               "pri_zero_sent": 2}
    assert "s3cr3tpw" not in raw
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_exporter_view_of_json_and_data(tmp_path, monkeypatch):
    """What cafebazaar/keepalived-exporter reads (collector.go VRRPData / parser.go ParseVRRPData, ParseVIP)."""
    d = _daemon(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    d.dump_json()
    d.dump_data()
    for item in json.loads((tmp_path / "keepalived.json").read_text()):
        data = item["data"]
        for key in ("iname", "ifp_ifname"):
            assert isinstance(data[key], str)
        for key in ("state", "wantstate", "garp_delay", "vrid"):
            assert isinstance(data[key], int) and not isinstance(data[key], bool), key
        assert all(isinstance(v, int) for v in item["stats"].values())
        for vip in data["vips"]:
            args = vip.split(" ")
            assert len(args) >= 3 and args[1] == "dev" and args[2] == "eth0"
    # the exporter's text parser: " VRRP Instance = X" opens an instance, "   Key = value" lines, "     VIP" array lines
    found, instance, key = {}, None, None
    for line in (tmp_path / "keepalived.data").read_text().splitlines():
        if line.startswith(" VRRP Instance") and "=" in line:
            instance = line.split("=")[1].strip()
            found[instance] = {"vips": []}
        elif line.startswith("   ") and instance:
            if line.startswith("     "):
                if key == "Virtual IP":
                    found[instance]["vips"].append(line.strip())
                continue
            sep = "=" if "=" in line else ":" if ":" in line else None
            if sep is None:
                continue
            key, _sep, val = line.strip().partition(sep)
            key = key.strip().split(" (")[0]
            found[instance][key] = val.strip()
        else:
            instance = None
    assert found["VI_1"]["State"] == "MASTER" and found["VI_1"]["Wantstate"] == "MASTER"
    assert found["VI_1"]["Interface"] == "eth0" and found["VI_1"]["Gratuitous ARP delay"] == "5"
    assert found["VI_1"]["Virtual Router ID"] == "51" and len(found["VI_1"]["vips"]) == 2
    assert found["VI_6"]["Advert interval"] == "500 milli-sec"


def test_data_sections_and_no_password(tmp_path, monkeypatch):
    text = CONF.replace("vrrp_instance VI_6", """vrrp_script chk {
    script "/bin/true"
    interval 2
    weight -10
}
vrrp_sync_group G1 {
    group {
        VI_6
    }
}
vrrp_instance VI_6""").replace("    version 3\n", "    version 3\n    track_script {\n        chk\n    }\n")
    d = _daemon(tmp_path, text)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    d.dump_data()
    data = (tmp_path / "keepalived.data").read_text()
    lines = data.splitlines()
    headers = [line for line in lines if line.startswith("------<")]
    assert headers == ["------< Global definitions >------", "------< VRRP Topology >------", "------< VRRP Sync groups >------",
                       "------< VRRP Scripts >------"]
    for line in (" VRRP default protocol version = 2", " VRRP Script = chk", "   Command = '%s'" % os.path.realpath("/bin/true"), "   Weight = -10",
                 "   Status = BAD", "   State = idle", "   Num member fault 0, num member init 0",
                 "   VRRP member instances :", "   Accept = enabled", "   Authentication type = SIMPLE_PASSWORD"):
        assert line in lines, line
    assert "s3cr3tpw" not in data and "Password" not in data


def test_stats_clear_restarts_the_dumps_but_not_vipd_counters(tmp_path, monkeypatch):
    d = _daemon(tmp_path)
    rt = d.instances["VI_1"]
    rt.counters.update(adverts_in=4, adverts_out=9)
    rt.drops = {"ttl": 2}
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    d.dump_stats_clear()
    first = (tmp_path / "keepalived.stats").read_text().splitlines()
    assert first[:4] == ["VRRP Instance: VI_1", "  Advertisements:", "    Received: 4", "    Sent: 9"] and "    TTL: 2" in first
    rt.counters["adverts_out"] += 3
    d.dump_stats()
    second = (tmp_path / "keepalived.stats").read_text().splitlines()
    assert second[2:4] == ["    Received: 0", "    Sent: 3"] and "    TTL: 0" in second
    assert json.loads(dumps.json_text(d))[0]["stats"]["advert_sent"] == 3
    assert rt.counters["adverts_out"] == 12 and rt.drops["ttl"] == 2          # vipd status keeps counting


def test_no_instance_no_json_file_and_relative_tmpdir_means_tmp(tmp_path, monkeypatch):
    path = tmp_path / "vipd.conf"
    path.write_text("global_defs {\n}\n")
    d = daemon.Daemon(str(path))
    d.cfg = config.parse_text("global_defs {\n}\n", str(path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert d.dump_json() is None and not (tmp_path / "keepalived.json").exists()
    monkeypatch.setenv("TMPDIR", "relative/dir")
    assert dumps.dump_dir() == "/tmp"
    monkeypatch.delenv("TMPDIR")
    assert dumps.dump_dir() == "/tmp"


def test_signal_numbers_match_keepalived():
    # keepalived --signum=JSON / STATS_CLEAR on Linux glibc: 36 / 63
    assert daemon.sig_json() == signal.SIGRTMIN + 2
    assert daemon.sig_stats_clear() == signal.SIGRTMAX - 1
    assert daemon.sig_json() not in daemon.resign_signals() and daemon.sig_stats_clear() not in daemon.resign_signals()


def test_cmd_str_quotes_words_as_keepalived():
    assert dumps.cmd_str('/bin/true "a b" c') == "'%s' 'a b' 'c'" % os.path.realpath("/bin/true")
    assert dumps.cmd_str("/no/such/prog x") == "'/no/such/prog' 'x'"
    assert dumps.cmd_str("<file") == "<file"
    assert dumps.cmd_str(r"/x a\nb") == "'/x' 'a\\nb'"          # a C escape in the config: shown escaped, one line
    assert dumps.cmd_str(None) is None and dumps.cmd_str("") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_cmd_str_of_any_text_is_one_printable_line(text):
    shown = dumps.cmd_str(text)
    assert shown is None or (shown.isprintable() and "\n" not in shown)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_one_valid_json_string_without_raw_controls(value):
    encoded = dumps._encode(value)   # pylint: disable=protected-access
    assert json.loads(encoded) == value
    assert all(32 <= ord(c) < 127 for c in encoded)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["adverts_in", "adverts_out", "became_master", "priority_zero_in"]), max_size=30),
       st.lists(st.sampled_from(["ttl", "auth", "auth_type", "length", "interval", "addr_count", "type", "vrid", "checksum"]),
                max_size=30),
       st.lists(st.booleans(), max_size=4))
def test_stats_are_never_negative_and_json_always_parses(counts, drops, clears):
    with tempfile.TemporaryDirectory() as tmp:
        d = _daemon(pathlib.Path(tmp))
        rt = d.instances["VI_1"]
        for clear in clears:
            for name in counts:
                rt.counters[name] += 1
            for name in drops:
                rt.drops[name] = rt.drops.get(name, 0) + 1
            text = dumps.stats_text(d, clear=clear)
            assert all(int(line.rsplit(": ", 1)[1]) >= 0 for line in text.splitlines() if line.startswith("    "))
            doc = json.loads(dumps.json_text(d))
            assert all(v >= 0 for item in doc for v in item["stats"].values())
