# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/config.py: the seeds' configs, a corpus of bad configs with exact `file:line: reason`,
warnings for known-unimplemented keywords, lexer corners, includes, render round trips, and
(when keepalived is installed) proof that every "good" fixture is also good for `keepalived -t`."""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import glob
import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils import inet
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_keywords, config_render, config_syntax, script_runner, script_security
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_syntax import Source, split_line

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.abspath(os.path.join(HERE, "..", "fixtures", "configs"))
SEEDS = os.path.join(CONFIGS, "seeds")
BAD = os.path.join(CONFIGS, "bad")
GOOD = os.path.join(CONFIGS, "good")
WARN = os.path.join(CONFIGS, "warn")

GOOD_FILES = sorted(glob.glob(os.path.join(SEEDS, "*.conf")) + glob.glob(os.path.join(GOOD, "*.conf")))
BAD_FILES = sorted(glob.glob(os.path.join(BAD, "*.conf")))


def _errors(text, name="t.conf"):
    with pytest.raises(ConfigError) as info:
        config.parse_text(text, name)
    return [str(m) for m in info.value.errors]


# ------------------------------------------------------------------ seeds

SEED_EXPECT = {
    "002_lc1.conf": dict(state="MASTER", interface="enp7s0f0", vrid=51, priority=101, advert_int=1.0,
                         auth_type="PASS", auth_pass="123456", nopreempt=False, vips=["172.24.8.150/32"]),
    "002_lc7.conf": dict(state="MASTER", interface="enp7s0f0", vrid=51, priority=100, advert_int=1.0,
                         auth_type="PASS", auth_pass="123456", nopreempt=False, vips=["172.24.8.150/32"]),
    "003_mysql_ha.conf": dict(state="BACKUP", interface="eth1", vrid=51, priority=150, advert_int=1.0,
                              auth_type="PASS", auth_pass="1111", nopreempt=True, vips=["192.168.0.88/32"]),
}


def test_every_seed_fixture_has_expectations():
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(SEEDS, "*.conf"))) == sorted(SEED_EXPECT)


@pytest.mark.parametrize("name", sorted(SEED_EXPECT))
def test_seed_parses_unchanged(name):
    cfg = config.load(os.path.join(SEEDS, name))
    assert cfg.warnings == []
    assert list(cfg.instances) == ["VI_1"]
    inst = cfg.instances["VI_1"]
    want = dict(SEED_EXPECT[name])
    assert [v.cidr for v in inst.vips] == want.pop("vips")
    for key, value in want.items():
        assert getattr(inst, key) == value, key
    # keepalived defaults for everything the seeds leave out
    assert (inst.version, inst.garp_master_delay, inst.garp_master_repeat, inst.preempt_delay) == (2, 5, 5, 0.0)
    assert inst.vips[0].dev is None and inst.vips[0].label is None
    assert inst.source == (os.path.join(SEEDS, name), 11 if name.startswith("003") else 1)


def test_seed_global_defs():
    g = config.load(os.path.join(SEEDS, "003_mysql_ha.conf")).global_defs
    assert g.notification_email == ["saltstack@163.com"]
    assert g.notification_email_from == "dba@dbserver.com"
    assert (g.smtp_server, g.smtp_port, g.smtp_connect_timeout) == ("127.0.0.1", 25, 30)
    assert g.router_id == "MySQL-HA"
    assert g.vrrp_version == 2


@pytest.mark.parametrize("name", sorted(SEED_EXPECT))
def test_seed_fixture_is_verbatim(name):
    """Each fixture still has the bytes copied from its seed (README.txt says which, SHA256SUMS pins them)."""
    with open(os.path.join(SEEDS, "SHA256SUMS"), encoding="ascii") as f:
        pins = dict(reversed(line.split()) for line in f if line.strip())
    with open(os.path.join(SEEDS, name), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == pins[name]


# ------------------------------------------------------------------ bad corpus

def test_bad_corpus_is_large_enough():
    assert len(BAD_FILES) >= 25
    for path in BAD_FILES:
        assert os.path.exists(path[:-5] + ".expected"), path


@pytest.mark.parametrize("path", BAD_FILES, ids=[os.path.basename(p) for p in BAD_FILES])
def test_bad_config_reports_exact_errors(path, monkeypatch):
    monkeypatch.chdir(BAD)
    with open(path[:-5] + ".expected", encoding="utf-8") as f:
        expected = [line for line in f.read().splitlines() if line]
    with pytest.raises(ConfigError) as info:
        config.load(os.path.basename(path))
    assert [str(m) for m in info.value.messages] == expected
    assert info.value.errors, "a bad config must hold at least one error"
    assert str(info.value) == "\n".join(str(m) for m in info.value.errors)


def test_all_errors_are_collected_across_instances():
    text = ("vrrp_instance A {\n interface eth1\n virtual_router_id 0\n virtual_ipaddress {\n 198.51.100.1\n }\n}\n"
            "vrrp_instance B {\n interface eth1\n virtual_router_id 2\n priority 900\n"
            " virtual_ipaddress {\n 198.51.100.2\n }\n}\n")
    assert _errors(text) == [
        "t.conf:3: virtual_router_id '0' is not valid: must be an integer from 1 to 255",
        "t.conf:11: priority '900' is not valid: must be an integer from 1 to 255",
    ]


# ------------------------------------------------------------------ warnings

def test_known_unimplemented_keywords_are_warnings(monkeypatch):
    # Only keywords with no effect on what vipd does are warnings, each saying why (issue 10).
    monkeypatch.chdir(WARN)
    cfg = config.load("unimplemented.conf")
    lvs = "vipd does no LVS (IPVS); hosts that need LVS use the role's keepalived back end (vrrp_backend: keepalived)"
    noeff = "has no effect on vipd and is ignored: "
    assert [str(w) for w in cfg.warnings] == [
        "unimplemented.conf:3: warning: keepalived keyword 'enable_snmp_vrrp' " + noeff
        + "vipd has no SNMP agent (its state is in the status JSON)",
        "unimplemented.conf:4: warning: keepalived keyword 'vrrp_iptables' " + noeff + config_keywords.WARNED["vrrp_iptables"],
        "unimplemented.conf:5: warning: keepalived keyword 'lvs_sync_daemon' " + noeff + lvs,
        "unimplemented.conf:10: warning: keepalived keyword 'virtual_server' " + noeff + lvs,
        "unimplemented.conf:20: warning: nopreempt has no effect with priority 255; ignored (as keepalived)",
        "unimplemented.conf:22: warning: keepalived keyword 'debug' " + noeff + "logging only",
        "unimplemented.conf:23: warning: VRRPv2 advert_int 1.4 must be whole seconds; rounded to 1 (as keepalived)",
        "unimplemented.conf:26: warning: auth_pass is longer than 8 characters; only its first 8 are used (as keepalived)",
        "unimplemented.conf:29: warning: keepalived virtual_ipaddress option '-nodad' " + noeff
        + config_keywords.VIP_WARNED_V4["-nodad"],
    ]
    inst = cfg.instances["VI_1"]
    # state MASTER without priority means priority 255 in keepalived (address owner)
    assert (inst.priority, inst.state, inst.nopreempt) == (255, "MASTER", False)
    assert (inst.auth_pass, inst.advert_int) == ("toolongp", 1.0)
    assert cfg.warnings[0].level == "warning" and cfg.warnings[0].reason.startswith("keepalived keyword 'enable_snmp_vrrp'")


def test_every_unimplemented_keyword_is_classified_with_a_reason():
    kw = config_keywords
    assert not set(kw.WARNED) & set(kw.REFUSED)
    for section, words in kw.UNIMPLEMENTED.items():
        for word in words:
            refused, reason = kw.verdict(section, word)
            assert reason and reason[-1] not in ".;: ", (section, word)
            assert refused == (word in kw.REFUSED or (section == "vrrp_sync_group" and word in kw.SYNC_GROUP_REFUSED))
    # No stale entries: every reason belongs to a keyword vipd knows and does not implement.
    known_unimplemented = set().union(*kw.UNIMPLEMENTED.values())
    assert set(kw.WARNED) | set(kw.REFUSED) <= known_unimplemented
    for option in kw.VIP_OPTIONS:
        assert kw.VIP_REFUSED.get(option) or kw.VIP_WARNED.get(option) or kw.VIP_NOT_KEEPALIVED.get(option), option
    for option in kw.UNICAST_PEER_OPTIONS:
        assert kw.UNICAST_PEER_REFUSED.get(option), option
    # The examples.
    assert {"use_ipvlan", "vrf", "track_bfd", "dynamic_interfaces", "mcast_dst_ip", "track_src_ip",
            "net_namespace", "instance", "fifo_write_vrrp_states_on_reload"} <= set(kw.REFUSED)
    # Implemented since (issue 10): keepalived 2.2.7's semantics, not refused.
    assert not {"unicast_fault_no_peer", "check_unicast_src", "vrrp_check_unicast_src", "down_timer_adverts",
                "vrrp_down_timer_adverts", "notify_deleted", "startup_script", "shutdown_script",
                "default_interface", "use_vmac_addr", "promote_secondaries", "garp_extra_if", "vrrp_min_garp",
                "vmac_garp_intvl", "umask", "smtp_helo_name", "no_email_faults"} & (set(kw.REFUSED) | set(kw.WARNED))
    assert kw.SYNC_GROUP == {"track_bfd"}
    assert {"virtual_server", "enable_snmp_vrrp", "enable_dbus", "log_unknown_vrids", "kernel_rx_buf_size",
            "vrrp_iptables", "nftables", "checker_priority", "bfd_priority", "lvs_flush"} <= set(kw.WARNED)


BASE = ("vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n virtual_ipaddress {\n"
        " 198.51.100.10/24\n }\n}\n")
_SECTION_TEXT = {
    "root": "%s 1\n" + BASE,
    "global_defs": "global_defs {\n %s 1\n}\n" + BASE,
    "vrrp_instance": BASE.replace(" virtual_router_id 51\n", " virtual_router_id 51\n %s 1\n"),
    "vrrp_sync_group": BASE + BASE.replace("VI_1", "VI_2").replace("51", "52")
    + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n %s {\n eth2\n }\n}\n",
}
_CASES = sorted((section, word) for section, words in config_keywords.UNIMPLEMENTED.items() for word in words)


@pytest.mark.parametrize("section,word", _CASES, ids=["%s-%s" % c for c in _CASES])
def test_unimplemented_keyword_is_refused_or_warned_with_its_reason(section, word):
    refused, reason = config_keywords.verdict(section, word)
    text = _SECTION_TEXT[section] % word
    line = text.splitlines().index([ln for ln in text.splitlines() if ln.strip().startswith(word + " ")][0]) + 1
    if refused:
        errors = _errors(text)
        assert errors == ["t.conf:%d: keepalived keyword '%s' changes %s and is not implemented by vipd: remove it or use "
                          "the role's keepalived back end (vrrp_backend: keepalived)" % (line, word, reason)]
    else:
        cfg = config.parse_text(text, "t.conf")
        assert "t.conf:%d: warning: keepalived keyword '%s' has no effect on vipd and is ignored: %s" % (line, word, reason) in [
            str(w) for w in cfg.warnings]


@pytest.mark.parametrize("option", sorted(config_keywords.VIP_OPTIONS))
def test_virtual_ipaddress_options_refused_or_warned(option):
    value = " 0" if option in ("peer", "preferred_lft", "track_group") else ""
    if option == "peer":
        value = " 2001:db8::2"
    text = BASE.replace("198.51.100.10/24", "2001:db8::10/64 %s%s" % (option, value))
    if option in config_keywords.VIP_REFUSED:
        assert _errors(text) == ["t.conf:5: keepalived virtual_ipaddress option '%s' changes %s and is not implemented by vipd: "
                                 "remove it or use the role's keepalived back end (vrrp_backend: keepalived)"
                                 % (option, config_keywords.VIP_REFUSED[option])]
    else:
        # keepalived reports it (keepalived -t fails) and ignores it at run time: a fixup (vipd check fails on it).
        cfg = config.parse_text(text, "t.conf")
        assert [(str(w), w.check_fails) for w in cfg.warnings] == [
            ("t.conf:5: warning: virtual_ipaddress option '%s' ignored: %s" % (option, config_keywords.VIP_NOT_KEEPALIVED[option]),
             True)]
        assert cfg.instances["VI_1"].vips[0].cidr == "2001:db8::10/64"


@pytest.mark.parametrize("globals_,inst_line,expect", [
    ("", "", None),                                            # unset everywhere: off (None reads as off)
    (" smtp_alert\n", "", True),                               # global smtp_alert without value: on
    (" smtp_alert false\n", "", False),
    (" smtp_alert_vrrp\n", "", True),
    (" smtp_alert on\n smtp_alert_vrrp off\n", "", False),    # smtp_alert_vrrp wins over smtp_alert
    (" smtp_alert_vrrp off\n smtp_alert on\n", "", False),    # whatever the order
    (" smtp_alert_vrrp\n", " smtp_alert false\n", False),      # the instance's own setting wins
    (" smtp_alert false\n", " smtp_alert\n", True),
])
def test_global_smtp_alert_defaults_as_keepalived(globals_, inst_line, expect):
    # keepalived 2.2.7 vrrp_complete_instance() / vrrp_complete_init(): an unset smtp_alert of an instance or a
    # sync group takes smtp_alert_vrrp, else smtp_alert, else off.
    text = ("global_defs {\n" + globals_ + "}\n" + BASE.replace(" interface eth1\n", " interface eth1\n" + inst_line)
            + BASE.replace("VI_1", "VI_2").replace("51", "52")
            + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n")
    cfg = config.parse_text(text, "t.conf")
    assert not cfg.warnings
    assert cfg.instances["VI_1"].smtp_alert is expect
    group_default = {"": None, " smtp_alert\n": True, " smtp_alert false\n": False}.get(globals_, None)
    if "smtp_alert_vrrp" in globals_:
        group_default = "smtp_alert_vrrp\n" in globals_
    assert cfg.instances["VI_2"].smtp_alert is group_default
    assert cfg.sync_groups["G"].smtp_alert is group_default
    # The rendered config reads back the same.
    again = config.parse_text(config_render.render_config(cfg), "r.conf")
    assert [i.smtp_alert for i in again.instances.values()] == [i.smtp_alert for i in cfg.instances.values()]
    g, g2 = cfg.global_defs, again.global_defs
    assert (g2.smtp_alert, g2.smtp_alert_vrrp) == (g.smtp_alert, g.smtp_alert_vrrp)


def test_global_smtp_alert_bad_value_is_an_error():
    errors = _errors("global_defs {\n smtp_alert_vrrp maybe\n}\n" + BASE)
    assert errors == ["t.conf:2: keyword 'smtp_alert_vrrp' takes an optional true/false, got 'maybe'"]


def test_nodad_on_ipv4_vip_is_a_warning_not_an_error():
    cfg = config.parse_text(BASE.replace("198.51.100.10/24", "198.51.100.10/24 -nodad"), "t.conf")
    assert [w.reason for w in cfg.warnings] == [
        "keepalived virtual_ipaddress option '-nodad' has no effect on vipd and is ignored: "
        + config_keywords.VIP_WARNED_V4["-nodad"]]
    assert cfg.instances["VI_1"].vips[0].cidr == "198.51.100.10/24"


def test_keepalived_priority_state_derivation():
    base = "vrrp_instance V {\n interface eth1\n virtual_router_id 1\n%s virtual_ipaddress {\n 198.51.100.1\n }\n}\n"
    assert config.parse_text(base % "").instances["V"].priority == 100
    assert config.parse_text(base % "").instances["V"].state == "BACKUP"
    assert config.parse_text(base % " priority 255\n").instances["V"].state == "MASTER"
    assert config.parse_text(base % " state MASTER\n priority 120\n").instances["V"].priority == 120


def test_v3_advert_int_rounding_and_ipv6_forces_v3():
    text = ("vrrp_instance V {\n interface eth1\n virtual_router_id 1\n version 3\n advert_int 0.125\n"
            " virtual_ipaddress {\n 198.51.100.1\n }\n}\n"
            "vrrp_instance W {\n interface eth1\n virtual_router_id 1\n virtual_ipaddress {\n 2001:db8::1\n }\n"
            " authentication {\n auth_type PASS\n auth_pass x\n }\n}\n")
    cfg = config.parse_text(text, "t.conf")
    assert cfg.instances["V"].advert_int == 0.13
    assert cfg.instances["W"].version == 3 and cfg.instances["W"].family == 6
    assert cfg.instances["W"].vips[0].cidr == "2001:db8::1/128"
    assert cfg.instances["W"].auth_type is None
    assert [str(w) for w in cfg.warnings] == [
        "t.conf:5: warning: VRRPv3 advert_int 0.125 must be in units of 10 ms; rounded to 0.13 (as keepalived)",
        "t.conf:16: warning: authentication is ignored with VRRP version 3 (as keepalived)",
    ]


def test_sync_group_member_tracking_weights_are_ignored_as_keepalived():
    text = ("vrrp_script chk {\n script /bin/true\n weight -20\n}\n"
            "vrrp_instance A {\n interface eth1\n virtual_router_id 1\n virtual_ipaddress {\n 198.51.100.1\n }\n"
            " track_script {\n chk\n }\n track_interface {\n eth2\n eth3 weight 10\n }\n}\n"
            "vrrp_sync_group G {\n group {\n A\n }\n}\n")
    cfg = config.parse_text(text, "t.conf")
    a = cfg.instances["A"]
    assert a.track_scripts == []  # keepalived 2.2.7 stops tracking a weighted script of a sync-group member
    assert a.track_interfaces == [("eth2", None), ("eth3", 0)]
    assert [str(w) for w in cfg.warnings] == [
        "t.conf:12: warning: weight of tracked script chk ignored: vrrp_instance A is in a sync group (as keepalived); it is not tracked at all",
        "t.conf:16: warning: weight of tracked interface eth3 ignored: vrrp_instance A is in a sync group (as keepalived)",
        "t.conf:19: warning: Sync group G has only 1 virtual router(s) - this probably isn't what you want",
    ]
    assert cfg.sync_group_of("A").name == "G"


# ------------------------------------------------------------------ lexer

@pytest.mark.parametrize("line, tokens", [
    ("vrrp_instance VI_1{", ["vrrp_instance", "VI_1", "{"]),
    ("global_defs{router_id x}", ["global_defs", "{", "router_id", "x", "}"]),
    ("state MASTER # comment", ["state", "MASTER"]),
    ("state MASTER ! comment", ["state", "MASTER"]),
    ('notify "/bin/a b#c!d" tail', ["notify", "/bin/a b#c!d", "tail"]),
    ("auth_pass ab\\#cd", ["auth_pass", "ab#cd"]),
    ("  \t ", []),
    ("# only a comment", []),
])
def test_split_line(line, tokens):
    src = Source()
    assert [t.value for t in split_line(line, "f", 7, src)] == tokens
    assert src.messages == []


def test_quoted_token_is_not_a_brace_and_lines_are_tracked():
    src = Source()
    toks = split_line('x "{" }', "f", 3, src)
    assert [(t.value, t.quoted, t.is_open, t.is_close, t.line) for t in toks] == [
        ("x", False, False, False, 3), ("{", True, False, False, 3), ("}", False, False, True, 3)]


# ------------------------------------------------------------------ good fixtures and includes

def test_full_fixture_values():
    cfg = config.load(os.path.join(GOOD, "full_v2.conf"))
    assert cfg.warnings == []
    g = cfg.global_defs
    assert g.notification_email == ["ops@example.com", "dba@example.com"]
    assert (g.smtp_server, g.smtp_port, g.smtp_connect_timeout, g.router_id) == ("127.0.0.1", 2525, 10, "LVS_DEVEL")
    assert (g.enable_script_security, g.script_user) == (True, "root")
    s = cfg.scripts["chk_haproxy"]
    assert (s.script, s.interval, s.timeout, s.weight, s.rise, s.fall, s.init_fail) == \
        ("/bin/true haproxy", 2.0, 3.0, -20, 2, 3, True)
    assert cfg.scripts["chk_tcp"].timeout is None
    i = cfg.instances["VI_1"]
    assert (i.state, i.interface, i.vrid, i.priority, i.advert_int, i.nopreempt) == ("BACKUP", "vethA", 51, 150, 2.0, True)
    assert (i.auth_type, i.auth_pass, i.unicast_src_ip) == ("PASS", "s3cret", "198.51.100.1")
    assert i.unicast_peers == ["198.51.100.2", "198.51.100.3"]
    assert [(v.cidr, v.brd, v.dev, v.scope, v.label) for v in i.vips] == [
        ("198.51.100.10/24", None, "vethA", None, "vethA:1"),
        ("198.51.100.11/24", "198.51.100.255", "vethA", "global", "vethA:2"),
        ("198.51.100.12/32", None, None, None, None)]
    assert [v.cidr for v in i.excluded_vips] == ["203.0.113.10/24", "2001:db8::10/64"]
    assert i.track_interfaces == [("vethB", None), ("vethC", 5)]
    assert i.track_scripts == [("chk_haproxy", None), ("chk_tcp", 20)]
    assert (i.notify_master, i.notify_backup, i.notify_fault) == ("/bin/true master", "/bin/true", "/bin/true fault")
    assert (i.notify_stop, i.notify, i.smtp_alert, i.dont_track_primary) == ("/bin/true", "/bin/true", True, True)
    assert (i.garp_master_delay, i.garp_master_repeat, i.garp_master_refresh, i.garp_master_refresh_repeat) == (3, 4, 60, 2)
    assert list(cfg.instances) == ["VI_1", "VI_2", "VI_3"]
    assert cfg.instances["VI_2"].priority == 100 and cfg.instances["VI_2"].state == "MASTER"
    grp = cfg.sync_groups["VG_1"]
    assert (grp.instances, grp.notify_master, grp.smtp_alert) == (["VI_2", "VI_3"], "/bin/true group master", True)


def test_v3_fixture_and_global_version():
    cfg = config.load(os.path.join(GOOD, "v3_ipv6.conf"))
    fast, v6, owner = cfg.instances["V4_FAST"], cfg.instances["V6"], cfg.instances["OWNER"]
    assert (fast.version, fast.advert_int, fast.preempt_delay, fast.state) == (3, 0.1, 2.5, "BACKUP")
    # same VRID on the same interface is fine across address families
    assert (v6.vrid, v6.family, v6.unicast_peers, v6.native_ipv6) == (10, 6, ["2001:db8::2"], True)
    assert (owner.version, owner.priority, owner.state) == (2, 255, "MASTER")


def test_glued_braces_and_comments():
    cfg = config.load(os.path.join(GOOD, "glued_comments.conf"))
    assert cfg.global_defs.router_id == "edge-1"
    g = cfg.instances["VI_G"]
    assert (g.state, g.priority, g.notify_master) == ("BACKUP", 90, "/bin/true a#b!c")
    assert [(v.cidr, v.dev) for v in g.vips] == [("198.51.100.77/24", "vethA")]
    h = cfg.instances["VI_H"]
    assert (h.vrid, [v.cidr for v in h.vips], h.source[1]) == (78, ["203.0.113.78/24"], 13)


def test_include_glob_relative_to_including_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # includes resolve against the file's directory, not the cwd
    cfg = config.load(os.path.join(GOOD, "with_include.conf"))
    assert list(cfg.instances) == ["INC_1", "INC_2"]
    assert cfg.instances["INC_1"].track_scripts == [("chk_inc", None)]
    assert cfg.instances["INC_1"].source == (os.path.join(GOOD, "include.d", "10-vi1.conf"), 1)
    assert [os.path.basename(f) for f in cfg.files] == ["with_include.conf", "scripts.inc", "10-vi1.conf", "20-vi2.conf"]


def test_include_loop_and_empty_glob(tmp_path):
    (tmp_path / "a.conf").write_text("include b.conf\ninclude none/*.conf\n")
    (tmp_path / "b.conf").write_text("\ninclude a.conf\n")
    with pytest.raises(ConfigError) as info:
        config.load(str(tmp_path / "a.conf"))
    msgs = [str(m) for m in info.value.messages]
    assert msgs == ["%s:2: warning: include pattern 'none/*.conf' matches no file" % (tmp_path / "a.conf"),
                    "%s:2: include of (not shown) refused: it is already included in this configuration "
                    "(a file is read at most once: include loop?)" % (tmp_path / "b.conf")]


def test_unreadable_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.load(str(tmp_path / "nope.conf"))
    assert "cannot read" in str(info.value)


# ------------------------------------------------------------------ render round trip and fingerprint

@pytest.mark.parametrize("path", GOOD_FILES, ids=[os.path.basename(p) for p in GOOD_FILES])
def test_render_round_trip(path):
    cfg = config.load(path)
    again = config.parse_text(config_render.render_config(cfg), "rendered.conf")
    assert again.instances == cfg.instances
    assert again.scripts == cfg.scripts
    assert again.sync_groups == cfg.sync_groups
    assert again.global_defs == cfg.global_defs
    scripts = "".join(config_render.render_script(s) for s in cfg.scripts.values())
    for inst in cfg.instances.values():
        back = config.parse_text(scripts + config_render.render_instance(inst), "one.conf").instances[inst.name]
        assert back == inst
        assert back.fingerprint() == inst.fingerprint()


def test_fingerprint_ignores_source_but_not_behaviour():
    cfg = config.load(os.path.join(SEEDS, "002_lc1.conf"))
    inst = cfg.instances["VI_1"]
    moved = config.parse_text("\n\n" + config_render.render_instance(inst), "elsewhere.conf").instances["VI_1"]
    assert moved.source != inst.source and moved.fingerprint() == inst.fingerprint()
    for change in ("priority", "advert_int"):
        other = config.parse_text(config_render.render_instance(inst).replace(
            "%s %s" % (change, "101" if change == "priority" else "1"), "%s 7" % change)).instances["VI_1"]
        assert other.fingerprint() != inst.fingerprint()


def _every_instance():
    out = []
    for path in GOOD_FILES:
        try:
            out += list(config.load(path).instances.values())
        except ConfigError:
            pass
    return out


EVERY_INSTANCE = _every_instance()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_reload_keeps_an_instance_exactly_when_its_fingerprint_is_the_same(data):
    """The reload compares instances with == (fast); that must mean what equal fingerprints mean: mix the fields
    of the test configurations' instances (each value as the parser gave it) and compare both ways."""
    base = data.draw(st.sampled_from(EVERY_INSTANCE))
    other = data.draw(st.sampled_from(EVERY_INSTANCE))
    names = [f.name for f in dataclasses.fields(base)]
    taken = data.draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    mixed = dataclasses.replace(base, **dict((n, copy.deepcopy(getattr(other, n))) for n in taken))
    assert (mixed == base) == (mixed.fingerprint() == base.fingerprint())


def test_render_quotes_commands_with_spaces():
    text = config_render.render_instance(config.load(os.path.join(GOOD, "full_v2.conf")).instances["VI_1"])
    assert '    notify_master "/bin/true master"\n' in text
    assert "        198.51.100.11/24 brd 198.51.100.255 dev vethA scope global label vethA:2\n" in text


# ------------------------------------------------------------------ extension hooks

def test_register_block_and_instance_keyword():
    seen = []

    def block(ctx, node):
        seen.append((node.keyword, node.values, [c.keyword for c in node.children]))
        ctx.config.extensions.setdefault(node.keyword, {})[node.values[0]] = len(node.children)
        if node.values[0] == "bad":
            ctx.error(node, "bad check")

    def kw(ctx, node, inst):
        inst.extensions["track_check"] = node.values

    config.register_block("example_block", block)
    config.register_instance_keyword("track_check", kw, render=lambda i: ["track_check %s" % " ".join(i.extensions["track_check"])])
    try:
        text = ("example_block web {\n  tcp 198.51.100.5 80\n}\n"
                "vrrp_instance V {\n interface eth1\n virtual_router_id 1\n track_check web\n"
                " virtual_ipaddress {\n 198.51.100.1\n }\n}\n")
        cfg = config.parse_text(text, "x.conf")
        assert seen == [("example_block", ["web"], ["tcp"])]
        assert cfg.extensions == {"example_block": {"web": 1}}
        inst = cfg.instances["V"]
        assert inst.extensions == {"track_check": ["web"]}
        back = config.parse_text(text.split("vrrp_instance", maxsplit=1)[0] + config_render.render_instance(inst)).instances["V"]
        assert back == inst
        assert _errors("example_block bad {\n}\n", "y.conf") == ["y.conf:1: bad check"]
    finally:
        config.BLOCK_HANDLERS.pop("example_block", None)
        config.INSTANCE_KEYWORDS.pop("track_check", None)
    assert _errors("example_block web {\n}\n", "z.conf") == ["z.conf:1: unknown keyword 'example_block'"]


# ------------------------------------------------------------------ security: lines, includes, secrets, scripts

VI = ("vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n%s virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n")


def _messages(text=None, name="t.conf", path=None):
    """Every message (errors and warnings) of a parse that may succeed or fail."""
    try:
        cfg = config.load(path) if path else config.parse_text(text, name)
    except ConfigError as exc:
        return [str(m) for m in exc.messages]
    return [str(m) for m in cfg.warnings]


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e"])
def test_only_newline_ends_a_line(sep):
    """keepalived reads lines with fgets(): U+2028, NEL, \\x1c-\\x1e are part of a word, not line breaks."""
    text = "global_defs {\n router_id a%sb\n}\nbogus%sx\n" % (sep, sep)
    msgs = _messages(text)
    # ... and vipd refuses such a character in a word (a name holding one could not be rendered back).
    control = "control character or line separator in a word (not allowed; use printable characters)"
    assert msgs == ["t.conf:2: " + control, "t.conf:4: " + control,
                    "t.conf:4: unknown keyword %s" % inet.safe_repr("bogus%sx" % sep)]
    assert all(sep not in m for m in msgs)
    assert _messages('global_defs {\n router_id "a%sb" # comment %s ok\n}\n' % (sep, sep)) == ["t.conf:2: " + control]
    assert config.parse_text('global_defs {\n router_id edge # comment %s ok\n}\n' % sep, "t.conf").global_defs.router_id == "edge"


def test_empty_virtual_ipaddress_block_is_an_error():
    assert _messages((VI % "").replace("  198.51.100.10/24\n", "")) == [
        "t.conf:4: vrrp_instance VI_1 has no 'virtual_ipaddress' (at least one VIP is required)"]


@pytest.mark.parametrize("sep", ["\x0b", "\x0c", "\r"])
def test_vertical_tab_form_feed_and_cr_are_blanks_not_line_breaks(sep):
    """keepalived's blanks are ' \\t\\f\\n\\r\\v': inside a line they separate words; a line still ends only at \\n."""
    assert _messages("global_defs {\n router_id a%sb\n}\n" % sep) == [
        "t.conf:2: keyword 'router_id' takes one value, got 2"]
    cfg = config.parse_text("global_defs {\r\n router_id edge%s\r\n}\r\n" % sep, "t.conf")
    assert cfg.global_defs.router_id == "edge"


def test_crlf_file_parses_like_lf(tmp_path):
    text = open(os.path.join(SEEDS, "003_mysql_ha.conf"), encoding="utf-8").read()
    (tmp_path / "crlf.conf").write_bytes(text.replace("\n", "\r\n").encode())
    assert config.load(str(tmp_path / "crlf.conf")).instances == config.load(os.path.join(SEEDS, "003_mysql_ha.conf")).instances


def test_nul_in_a_line_is_an_error():
    assert _messages("global_defs {\n router_id a\x00b\n}\n") == [
        "t.conf:2: NUL character in the line (keepalived ignores the rest of the line)"]


def test_malformed_values_are_config_errors_not_exceptions():
    for text in ("vrrp_instance A {\n priority %s\n}\n" % ("9" * 5000),
                 VI % " advert_int %s\n" % ("1" * 5000),
                 VI.replace("198.51.100.10/24", "198.51.100.10/24 scope \u00b2"),
                 VI.replace("198.51.100.10/24", "198.51.100.10/\u0661\u0662"),
                 "{" * 5000 + "}" * 4000,
                 "vrrp_instance A {\n" * 3000,
                 VI % ' notify "/bin/a \\"b\n'):
        with pytest.raises(ConfigError):
            config.parse_text(text, "t.conf")


def test_blocks_nest_at_most_max_depth():
    text = "".join("b%d {\n" % i for i in range(40)) + "}\n" * 40
    assert _messages(text)[0] == "t.conf:1: unknown keyword 'b0'"
    assert "t.conf:17: blocks nest more than 16 deep; this block is ignored" in _messages(text)


def test_included_file_text_is_never_echoed(tmp_path):
    secret = "root:$6$Zq9SecretHash$abcdef:19000:0:99999:7:::"
    (tmp_path / "shadow").write_text(secret + "\nvrrp_instance Zq9name {\n priority Zq9prio\n state Zq9st\n}\n")
    (tmp_path / "main.conf").write_text("include shadow\nbogus_Main\n")
    msgs = _messages(path=str(tmp_path / "main.conf"))
    shadow = str(tmp_path / "shadow")
    assert "%s:1: unknown keyword (not shown)" % shadow in msgs
    assert "%s:3: priority (not shown) is not valid: must be an integer from 1 to 255" % shadow in msgs
    assert "%s:4: state (not shown) is not valid: must be MASTER or BACKUP" % shadow in msgs
    assert "%s:2: unknown keyword 'bogus_Main'" % (tmp_path / "main.conf") in msgs  # the main file's own text is shown
    assert not [m for m in msgs if "Zq9" in m or "$6$" in m]


def test_auth_pass_is_never_echoed():
    msgs = _messages(VI % " authentication {\n  auth_type PASS\n  auth_pass Zq9longsecret\n }\n")
    assert msgs == ["t.conf:6: warning: auth_pass is longer than 8 characters; only its first 8 are used (as keepalived)"]
    for line in ("auth_pass Zq9a\tZq9b", "auth_pass Zq9a } Zq9b { Zq9c", 'auth_pass "Zq9a', "auth_pass Zq9a Zq9b } Zq9c x",
                 "auth_type Zq9 auth_pass Zq9", "auth_pass {Zq9", "auth_pass Zq9}}}} Zq9"):
        msgs = _messages(VI % (" authentication {\n  auth_type PASS\n  %s\n }\n" % line))
        assert msgs and not [m for m in msgs if "Zq9" in m], (line, msgs)


def test_include_of_fifo_device_and_executable_is_refused_at_once(tmp_path):
    os.mkfifo(str(tmp_path / "fifo"))
    (tmp_path / "exec.conf").write_text("")
    os.chmod(str(tmp_path / "exec.conf"), 0o755)
    os.mkdir(str(tmp_path / "dir"))
    (tmp_path / "main.conf").write_text("include fifo\ninclude /dev/zero\ninclude exec.conf\ninclude dir\n")
    main = str(tmp_path / "main.conf")
    assert _messages(path=main) == [
        "%s:1: include of %s refused: it is not a regular file (keepalived skips it)" % (main, tmp_path / "fifo"),
        "%s:2: include of /dev/zero refused: it is not a regular file (keepalived skips it)" % main,
        "%s:3: include of %s refused: it is executable (keepalived skips such a file)" % (main, tmp_path / "exec.conf"),
        "%s:4: include of %s refused: it is a directory" % (main, tmp_path / "dir")]


def test_main_file_must_be_a_regular_file(tmp_path):
    os.mkfifo(str(tmp_path / "fifo"))
    assert _messages(path=str(tmp_path / "fifo")) == [
        "%s:0: cannot use %s: it is not a regular file (keepalived skips it)" % (tmp_path / "fifo", inet.safe_repr(str(tmp_path / "fifo"), 4096))]


def test_include_size_and_count_limits(tmp_path, monkeypatch):
    with open(str(tmp_path / "big.conf"), "wb") as f:
        f.truncate(config_syntax.MAX_FILE_BYTES + 1)  # sparse: nothing is read
    (tmp_path / "main.conf").write_text("include big.conf\n")
    main = str(tmp_path / "main.conf")
    assert _messages(path=main) == ["%s:1: include of %s refused: it is larger than 16 MiB" % (main, tmp_path / "big.conf")]
    for i in range(5):
        (tmp_path / ("x%d.inc" % i)).write_text("# %s\n" % ("x" * 100))
    (tmp_path / "main.conf").write_text("include x*.inc\n")
    monkeypatch.setattr(config_syntax, "MAX_FILES", 3)
    assert _messages(path=main) == ["%s:1: include pattern 'x*.inc' matches more than 3 files" % main]
    monkeypatch.setattr(config_syntax, "MAX_FILES", 1024)
    monkeypatch.setattr(config_syntax, "MAX_TOTAL_BYTES", 400)
    msgs = _messages(path=main)
    assert msgs and all("the configuration is too large: at most 0 MiB in all files" in m for m in msgs)


def test_many_files_including_each_other_are_read_once(tmp_path):
    """N files that each `include *.conf`: linear work, one error per include line, no explosion."""
    for i in range(60):
        (tmp_path / ("f%02d.conf" % i)).write_text("include *.conf\n")
    msgs = _messages(path=str(tmp_path / "f00.conf"))
    assert 0 < len(msgs) <= 60
    assert all("already included in this configuration" in m or "includes nest more than 8 deep" in m for m in msgs), msgs


def _chmod_tree(path, mode):
    os.chmod(str(path), mode)


def test_missing_script_in_a_world_writable_directory(tmp_path, monkeypatch):
    """keepalived disables a script missing at load; vipd says so and never runs it later as root."""
    drop = tmp_path / "drop"
    drop.mkdir()
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(drop), 0o777)  # anybody may create the script later
    script = str(drop / "chk.sh")
    text = "vrrp_script chk {\n script %s\n}\n" % script + VI % " track_script {\n  chk\n }\n"
    secure = "global_defs {\n enable_script_security\n}\n" + text
    with pytest.raises(ConfigError) as info:
        script_security.parse_text(secure, "s.conf")
    assert "s.conf:4: vrrp_script chk: script %s is not found: disabled (as keepalived)" % script in [str(m) for m in info.value.errors]
    warnings = [str(w) for w in script_security.parse_text(text, "s.conf").warnings]
    if os.geteuid() == 0:
        assert ("s.conf:1: warning: vrrp_script chk: script %s is not found and %s is writable by every user, so a non-root user "
                "could create it: vipd never runs it as root" % (script, drop)) in warnings
    # Later, "somebody" creates it: run as root, it is refused before exec (and never executed).
    marker = tmp_path / "ran"
    with open(script, "w") as f:
        f.write("#!/bin/sh\ntouch %s\n" % marker)
    os.chmod(script, 0o755)
    monkeypatch.setattr(script_security.os, "geteuid", lambda: 0)
    res = asyncio.run(script_runner.run_script([script], 5))
    assert not res.ok and "unsafe to run as root" in res.detail
    assert not marker.exists()
    path, reason = script_security.exec_refusal([script])
    assert path is None and ("writable by every user" in reason or "not root" in reason)
    assert script_security.exec_refusal([str(tmp_path / "nope")]) == (None, "not found or not a regular file")
    assert script_security.exec_refusal(["no-such-program-zq9"]) == (None, "not found in PATH")
    assert script_security.exec_refusal([]) == (None, "empty command")


@pytest.mark.skipif(os.geteuid() != 0, reason="a root-owned safe path needs root to create (the refusal side is tested above)")
def test_safe_script_runs_and_symlinked_path_is_checked_as_resolved(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    real = tmp_path / "real"
    real.mkdir()
    os.chmod(str(real), 0o755)
    script = real / "ok.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(str(script), 0o755)
    link = tmp_path / "link"
    os.symlink(str(real), str(link))
    assert asyncio.run(script_runner.run_script([str(link / "ok.sh")], 5)).ok
    os.chmod(str(real), 0o777)  # the resolved directory becomes writable by all: refused through the link too
    assert script_security.insecure_reason(str(link / "ok.sh")) == "%s is writable by every user" % real
    assert not asyncio.run(script_runner.run_script([str(link / "ok.sh")], 5)).ok
