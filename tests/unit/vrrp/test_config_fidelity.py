# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 fidelity of the config reader (issue 10): vrrp_strict / strict_mode, `vipd check`
agreeing with `keepalived -t`, and keepalived's config-reader features.

The parity corpus (tests/unit/fixtures/configs/parity/*.conf) records in each file's first lines the
verdict of the real `keepalived -t` (`# parity: ok|fail`), what keepalived says (`# keepalived: ...`) and
what vipd says (`# vipd: ...`); tests/integration/test_check_parity.py proves keepalived still agrees.
`# vipd-differs: VERDICT REASON` marks a documented difference (vipd's verdict is then VERDICT).
"""
from __future__ import annotations

import glob
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, config, config_render, config_keywords, config_syntax, packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.abspath(os.path.join(HERE, "..", "fixtures", "configs", "parity"))
PARITY_FILES = sorted(glob.glob(os.path.join(PARITY, "*.conf")))
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parity_header(path):
    """{'parity': 'ok'|'fail', 'keepalived': text, 'vipd': text, 'vipd-differs': text} from the leading comments."""
    head = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("# "):
                break
            key, _sep, value = line[2:].rstrip("\n").partition(": ")
            head[key] = value
    return head


def test_the_parity_corpus_is_large_and_covers_both_verdicts():
    verdicts = [parity_header(p).get("parity") for p in PARITY_FILES]
    assert len(PARITY_FILES) >= 40
    assert set(verdicts) == {"ok", "fail"}
    assert verdicts.count("ok") >= 15 and verdicts.count("fail") >= 25


@pytest.mark.parametrize("path", PARITY_FILES, ids=[os.path.basename(p) for p in PARITY_FILES])
def test_vipd_check_gives_keepalived_t_verdict(path, capsys):
    head = parity_header(path)
    expected = head["parity"]
    if "vipd-differs" in head:
        expected = head["vipd-differs"].split()[0]
    status = cli.cmd_check(path, syntax_only=True)
    err = capsys.readouterr().err
    assert (status == 0) == (expected == "ok"), err
    if expected == "fail":
        assert err.strip(), "a refusal says why"
    if "vipd" in head:
        assert head["vipd"] in err
    # Every line vipd prints is FILE:LINE: ... or its summary line, never a raw control character.
    for line in err.splitlines():
        assert line.isprintable()
        assert line.startswith(path + ":") or line.startswith("vipd check: "), line


# ------------------------------------------------------------------ vrrp_strict / strict_mode

VI = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n%s virtual_ipaddress {\n  %s\n }\n}\n"
STRICT = "global_defs {\n vrrp_strict\n}\n"
AUTH = " authentication {\n  auth_type PASS\n  auth_pass secret12\n }\n"


def parse(text):
    cfg = config.parse_text(text, "t.conf")
    return cfg, cfg.instances["VI_1"], [str(m) for m in cfg.warnings], [m for m in cfg.warnings if m.check_fails]


def test_strict_drops_authentication_with_keepalived_log_line_and_never_the_password():
    cfg, inst, warnings, fails = parse(STRICT + VI % (" state BACKUP\n priority 100\n" + AUTH, "198.51.100.10/24"))
    assert inst.strict_mode and cfg.global_defs.vrrp_strict
    assert inst.auth_type is None and inst.auth_pass is None
    assert "t.conf:9: warning: (VI_1) Strict mode does not support authentication. Ignoring." in warnings
    assert len(fails) == 1 and all("secret" not in w for w in warnings)
    # Without strict mode the same instance keeps PASS authentication.
    _cfg, inst, _w, fails = parse(VI % (" state BACKUP\n priority 100\n" + AUTH, "198.51.100.10/24"))
    assert inst.auth_type == "PASS" and inst.auth_pass == "secret12" and not fails


def test_strict_defaults_and_fixups_follow_keepalived():
    _cfg, inst, _w, fails = parse(STRICT + VI % (" state BACKUP\n priority 100\n", "198.51.100.10/24"))
    assert not fails
    assert (inst.garp_lower_prio_repeat, inst.garp_lower_prio_delay) == (0, 0)
    assert inst.lower_prio_no_advert is True and inst.higher_prio_send_advert is False
    assert inst.accept is False  # no_accept unless the address owner
    _cfg, owner, _w, fails = parse(STRICT + VI % (" state MASTER\n priority 255\n", "198.51.100.10/24"))
    assert owner.accept is True and owner.state == "MASTER" and not fails
    # state MASTER must match being the address owner: fixed up (BACKUP), reported.
    _cfg, inst, warnings, fails = parse(STRICT + VI % (" state MASTER\n priority 100\n", "198.51.100.10/24"))
    assert inst.state == "BACKUP" and len(fails) == 1 and "State MASTER must match being address owner" in warnings[-1]
    _cfg, inst, _w, fails = parse(STRICT + VI % (" state BACKUP\n priority 255\n", "198.51.100.10/24"))
    assert inst.state == "MASTER" and len(fails) == 1
    # preempt_delay, explicit lower-priority GARPs, higher_prio_send_advert, v2 accept: reset and reported.
    body = (" priority 100\n preempt_delay 5\n garp_lower_prio_repeat 2\n garp_lower_prio_delay 3\n"
            " lower_prio_no_advert false\n higher_prio_send_advert\n accept\n")
    _cfg, inst, warnings, fails = parse(STRICT + VI % (body, "198.51.100.10/24"))
    assert inst.preempt_delay == 0 and inst.garp_lower_prio_repeat == 0 and inst.garp_lower_prio_delay == 0
    assert inst.lower_prio_no_advert is True and inst.higher_prio_send_advert is False and inst.accept is False
    assert len(fails) == 6
    # ... but accept is kept with VRRPv3.
    _cfg, inst, _w, fails = parse(STRICT + VI % (" priority 100\n version 3\n accept\n", "198.51.100.10/24"))
    assert inst.accept is True and not fails


def test_strict_mode_of_the_instance_overrides_vrrp_strict():
    _cfg, inst, _w, fails = parse(STRICT + VI % (" strict_mode off\n priority 100\n" + AUTH, "198.51.100.10/24"))
    assert not inst.strict_mode and inst.auth_type == "PASS" and not fails
    _cfg, inst, _w, fails = parse(VI % (" strict_mode\n priority 100\n" + AUTH, "198.51.100.10/24"))
    assert inst.strict_mode and inst.auth_type is None and len(fails) == 1
    with pytest.raises(ConfigError):
        config.parse_text(VI % (" strict_mode maybe\n", "198.51.100.10/24"), "t.conf")


def test_strict_ipv6_rules():
    _cfg, inst, _w, fails = parse(STRICT + VI % (" version 2\n", "fe80::10/64\n  2001:db8::10/64"))
    assert inst.version == 3 and len(fails) == 1
    _cfg, inst, warnings, fails = parse(STRICT + VI % ("", "2001:db8::10/64"))
    assert len(fails) == 1 and "first IPv6 VIP address must be link local" in warnings[-1]
    # Not strict: keepalived 2.2.7 sends VRRPv2 over IPv6 (seen on the wire), and so does vipd, with a warning
    # that keepalived -t does not fail on.
    _cfg, inst, warnings, fails = parse(VI % (" version 2\n", "2001:db8::10/64"))
    assert inst.version == 2 and inst.family == 6 and not fails and "non-standard VRRPv2 adverts over IPv6" in warnings[-1]
    # `version 2` after the IPv6 VIPs is ignored (keepalived: conflicts with the deduced version 3).
    _cfg, inst, _w, fails = parse(VI.replace(" virtual_ipaddress", " virtual_ipaddress_x").replace(
        "virtual_ipaddress_x {\n  %s\n }\n}", " virtual_ipaddress {\n  %s\n }\n version 2\n}") % ("", "2001:db8::10/64"))
    assert inst.version == 3 and len(fails) == 1
    # AH authentication is dropped with IPv6, as keepalived.
    _cfg, inst, _w, fails = parse(VI % (" version 2\n authentication {\n  auth_type AH\n  auth_pass x\n }\n", "2001:db8::10/64"))
    assert inst.auth_type is None and len(fails) == 1


def test_strict_changes_the_fingerprint_so_a_reload_applies_it():
    _c, plain, _w, _f = parse(VI % (" priority 100\n", "198.51.100.10/24"))
    _c, strict, _w, _f = parse(STRICT + VI % (" priority 100\n", "198.51.100.10/24"))
    assert plain.fingerprint() != strict.fingerprint()


def test_vrrp_strict_and_strict_mode_are_implemented_not_warned():
    assert "vrrp_strict" not in config_keywords.GLOBAL_DEFS and "strict_mode" not in config_keywords.VRRP_INSTANCE
    assert {"vrrp_strict", "strict_mode"} <= config_keywords.IMPLEMENTED
    _cfg, _inst, warnings, _f = parse(STRICT + VI % ("", "198.51.100.10/24"))
    assert not any("not implemented" in w for w in warnings)
    # The firewall side (no_accept by default) is enforced with keepalived's nftables tables (firewall.py):
    # nothing is warned as missing.
    assert not any("firewall" in w for w in warnings)


strict_options = st.fixed_dictionaries({}, optional={
    "state": st.sampled_from(["MASTER", "BACKUP"]),
    "priority": st.sampled_from(["1", "100", "254", "255"]),
    "version": st.sampled_from(["2", "3"]),
    "nopreempt": st.just(""),
    "preempt_delay": st.sampled_from(["0", "5"]),
    "advert_int": st.sampled_from(["1", "1.5", "0.55"]),
    "garp_lower_prio_repeat": st.sampled_from(["0", "2"]),
    "garp_lower_prio_delay": st.sampled_from(["0", "4"]),
    "lower_prio_no_advert": st.sampled_from(["", "false", "true"]),
    "higher_prio_send_advert": st.sampled_from(["", "false"]),
    "accept": st.just(""),
    "no_accept": st.just(""),
    "strict_mode": st.sampled_from(["", "off", "on"]),
    "authentication": st.sampled_from(["PASS", "AH"]),
})


@SETTINGS
@given(options=strict_options, global_strict=st.booleans(), ipv6=st.booleans())
def test_any_strict_combination_parses_to_a_strict_consistent_instance(options, global_strict, ipv6):
    body = ""
    for key, value in options.items():
        if key == "authentication":
            body += " authentication {\n  auth_type %s\n  auth_pass secret12\n }\n" % value
        else:
            body += " %s %s\n" % (key, value)
    vip = "fe80::10/64\n  2001:db8::10/64" if ipv6 else "198.51.100.10/24"
    text = (STRICT if global_strict else "") + VI % (body, vip)
    try:
        cfg = config.parse_text(text, "t.conf")
    except ConfigError as exc:
        raise AssertionError("every such combination is valid for keepalived: %s" % exc.errors) from exc
    inst = cfg.instances["VI_1"]
    assert all("secret" not in str(m) for m in cfg.warnings)
    if inst.strict_mode:
        assert inst.auth_type is None and inst.preempt_delay == 0
        assert (inst.state == "MASTER") == (inst.priority == 255) or "state" not in options
        assert inst.garp_lower_prio_repeat == 0 and inst.garp_lower_prio_delay == 0
        assert inst.lower_prio_no_advert is True and inst.higher_prio_send_advert is False
        assert inst.accept is not None
        if inst.version == 2 and inst.priority != 255:
            assert inst.accept is False
    if inst.version == 3:
        assert inst.auth_type is None
    if inst.state == "MASTER":
        assert not inst.nopreempt and inst.preempt_delay == 0
    # The rendered instance reads back the same (the strict fix-ups are stable).
    again = config.parse_text((STRICT if inst.strict_mode and global_strict else "") + config_render.render_instance(inst), "r.conf")
    assert again.instances["VI_1"].state == inst.state and again.instances["VI_1"].auth_type == inst.auth_type


# ------------------------------------------------------------------ keepalived's config reader (lib/parser.c)

INST = ("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n%s virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n")


def test_definitions_and_their_use():
    text = "$IF=eth0\n$PRIO=150\n" + INST % " priority ${PRIO}\n unicast_peer {\n  198.51.100.2\n }\n"
    text = text.replace("interface eth0", "interface $IF")
    inst = config.parse_text(text, "t.conf").instances["VI_1"]
    assert inst.interface == "eth0" and inst.priority == 150
    # A blank before '=' is no definition (keepalived: unknown keyword); $NAME glued to other text is not used.
    with pytest.raises(ConfigError, match="unknown keyword '\\$X'"):
        config.parse_text("$X =1\n" + INST % "", "t.conf")
    with pytest.raises(ConfigError, match="invalid IP address"):
        config.parse_text("$V=198.51.100.1\n" + INST.replace("198.51.100.10/24", "$V/24") % "", "t.conf")
    assert config.parse_text("$V=198.51.100.1\n" + INST.replace("198.51.100.10/24", "${V}/24") % "",
                             "t.conf").instances["VI_1"].vips[0].cidr == "198.51.100.1/24"


def test_multiline_definition_expands_to_lines_each_its_own_statement():
    text = ("$AUTH=authentication { \\\n auth_type PASS \\\n auth_pass secret1 \\\n}\n" + INST % " $AUTH\n priority 90\n")
    inst = config.parse_text(text, "t.conf").instances["VI_1"]
    assert (inst.auth_type, inst.auth_pass, inst.priority) == ("PASS", "secret1", 90)


def test_conditional_lines_follow_the_system_id(monkeypatch):
    text = INST % "@lb1 priority 200\n@^lb1 priority 100\n@lb1\n"
    monkeypatch.setattr(config_syntax, "CONFIG_ID", "lb1")
    assert config.parse_text(text, "t.conf").instances["VI_1"].priority == 200
    monkeypatch.setattr(config_syntax, "CONFIG_ID", "lb2")
    assert config.parse_text(text, "t.conf").instances["VI_1"].priority == 100
    monkeypatch.setattr(config_syntax, "CONFIG_ID", None)  # the host name up to its first '.'
    assert config_syntax.system_id() == os.uname().nodename.split(".")[0]


def test_cli_config_id_option(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(config_syntax, "CONFIG_ID", None)
    path = tmp_path / "k.conf"
    path.write_text(INST % "@lb1 bogus_keyword\n")
    assert cli.main(["check", "--syntax-only", "-i", "lb2", "-f", str(path)]) == 0
    assert cli.main(["check", "--syntax-only", "-i", "lb1", "-f", str(path)]) == 1
    assert "bogus_keyword" in capsys.readouterr().err


def test_seq_generates_lines():
    text = ("$I=vrrp_instance VI_$N { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { \\\n"
            "  198.51.100.${N}/24 \\\n } \\\n}\n~SEQ(N, 10, 5, 20) $I\n~SEQx(H, 10, 11) vrrp_script s_$H { \\\n")
    text = text.replace("~SEQx(H, 10, 11) vrrp_script s_$H { \\\n", "")
    cfg = config.parse_text(text, "t.conf")
    assert {n: i.vrid for n, i in cfg.instances.items()} == {"VI_10": 10, "VI_15": 15, "VI_20": 20}
    src = config_syntax.Source()
    tokens = config_syntax.lex_text("~SEQx(H, 10, 11) router_id r$H\n", "t.conf", src)
    assert [t.value for t in tokens] == ["router_id", "ra", "router_id", "rb"] and not src.messages
    for bad in ("~SEQ(N, 1, -1, 3) x\n", "~SEQ(N) x\n", "~SEQx(N, -1, 2) x\n", "~SEQ(N, 1, 1000000) x\n", "~LST(a) x\n"):
        src = config_syntax.Source()
        config_syntax.lex_text(bad, "t.conf", src)
        assert [m.level for m in src.messages] == ["error"], bad


def test_expansion_is_bounded():
    src = config_syntax.Source()
    config_syntax.lex_text("$A=$A $A\nrouter_id $A\n", "t.conf", src)
    assert len(src.messages) == 1 and src.messages[0].level == "error"
    src = config_syntax.Source()
    config_syntax.lex_text("$A=$B$B\n" + "".join("$%s=${%s}${%s}\n" % (c, chr(ord(c) + 1), chr(ord(c) + 1)) for c in "BCDEFGHIJKLMNOPQRSTUVWXY")
                           + "$Z=xxxxxxxxxxxxxxxx\nrouter_id ${A}\n", "t.conf", src)
    assert any("longer than" in m.reason for m in src.messages)


def test_include_variants(tmp_path):
    (tmp_path / "a.inc").write_text("vrrp_script a {\n script /bin/true\n}\n")
    (tmp_path / "b.inc").write_text("vrrp_script b {\n script /bin/true\n}\n")
    main = tmp_path / "k.conf"

    def load(line):
        main.write_text(line + "\n" + INST % "")
        return config.load(str(main))
    assert sorted(load("include {a,b}.inc").scripts) == ["a", "b"]
    assert sorted(load("includea a.inc").scripts) == ["a"]
    assert sorted(load("include {a,c}.inc").scripts) == ["a"]  # a missing brace alternative: only includeb/a fail
    for line, reason in (("includeb {a,c}.inc", "a file it names is missing"), ("includew *.none", "matches no file"),
                         ("includer none.inc", "not found"), ("includem none.inc", "not found")):
        with pytest.raises(ConfigError, match=reason):
            load(line)
    assert any("matches no file" in str(w) for w in load("include *.none").warnings)  # plain include: a warning


def test_a_definition_from_an_included_file_is_never_shown(tmp_path):
    (tmp_path / "defs.inc").write_text("$SECRETWORD=Zq9secret\n")
    main = tmp_path / "k.conf"
    main.write_text("include defs.inc\nglobal_defs {\n $SECRETWORD\n router_id x$SECRETWORD\n}\n")
    with pytest.raises(ConfigError) as info:
        config.load(str(main))
    assert all("Zq9" not in str(m) for m in info.value.messages) and info.value.errors


value_text = st.text(alphabet=st.one_of(st.sampled_from("\r\t \\$@~{}#!\"'\x85\u2028\x0b\x0c\x00"), st.characters(blacklist_categories=("Cs",))),
                     max_size=40).filter(lambda v: "\n" not in v)


@SETTINGS
@given(value=value_text, use=st.sampled_from(["router_id $X", "router_id ${X}", "$X", "@h router_id $X", "~SEQ(N, 1, 2) router_id $X$N"]))
def test_any_definition_value_gives_a_clean_result_and_no_extra_line(value, use):
    text = "$X=%s\nglobal_defs {\n %s\n}\n" % (value, use)
    try:
        cfg = config.parse_text(text, "t.conf")
    except ConfigError as exc:
        messages = exc.messages
        assert exc.errors
    else:
        messages = cfg.warnings
        assert "\n" not in (cfg.global_defs.router_id or "") and "\u2028" not in (cfg.global_defs.router_id or "")
    for m in messages:
        assert str(m).isprintable() and 1 <= m.line <= 4


@SETTINGS
@given(lines=st.lists(st.one_of(value_text, st.sampled_from(["$A=x \\", "$B=${A}y", "~SEQ(N,1,3) $A", "@^h $B", "\\", "$A", "include *.none"])),
                      max_size=12))
def test_any_reader_soup_gives_config_or_config_error(lines):
    try:
        config.parse_text("\n".join(lines) + "\n", "/nonexistent-dir/t.conf")
    except ConfigError as exc:
        assert exc.errors and all(str(m).isprintable() for m in exc.messages)


def test_vrrpv2_over_ipv6_roundtrip_with_keepalived_checksum():
    """keepalived 2.2.7's VRRPv2 over IPv6: v2 header, no auth data, IPv6 pseudo-header checksum (IPV6_CHECKSUM)."""
    src, dst = "fe80::1", "ff02::12"
    advert = packet.Advert(version=2, vrid=51, priority=200, interval_cs=100, addresses=("2001:db8::10",),
                           auth_type=packet.AUTH_NONE, auth_data=b"", family=6)
    wire = packet.encode(advert, src, dst)
    assert len(wire) == 8 + 16 and wire[0] == 0x21  # 24 bytes, as keepalived sends (seen on the wire)
    assert packet.inet_checksum(wire) != 0  # not the plain v2 checksum ...
    back, form = packet.decode(wire, src, dst, family=6)  # ... but the pseudo-header one
    assert (back.version, back.priority, back.addresses, back.interval_cs, form) == (2, 200, ("2001:db8::10",), 100, packet.CHECKSUM_PSEUDO)
    with pytest.raises(packet.PacketError, match="checksum"):
        packet.decode(wire, "fe80::2", dst, family=6)


def test_sync_group_tracking_weight_keeps_member_weights():
    text = ("vrrp_script chk {\n script /bin/true\n weight -20\n}\n" + INST % " track_script {\n  chk\n }\n track_interface {\n  eth3 weight 10\n }\n"
            + "vrrp_sync_group G {\n group {\n  VI_1\n }\n%s}\n")
    cfg = config.parse_text(text % "", "t.conf")
    assert cfg.instances["VI_1"].track_scripts == [] and cfg.instances["VI_1"].track_interfaces == [("eth3", 0)]
    cfg = config.parse_text(text % " sync_group_tracking_weight\n", "t.conf")
    assert cfg.instances["VI_1"].track_scripts == [("chk", None)] and cfg.instances["VI_1"].track_interfaces == [("eth3", 10)]
    assert [w.reason for w in cfg.warnings if w.check_fails] == ["Sync group G has only 1 virtual router(s) - this probably isn't what you want"]
    assert cfg.sync_groups["G"].tracking_weight
    assert "sync_group_tracking_weight" in config_render.render_config(cfg)
    assert config.parse_text(config_render.render_config(cfg), "r.conf").sync_groups["G"].tracking_weight
    cfg = config.parse_text(text % " global_tracking\n", "t.conf")  # deprecated spelling: reported, same effect
    assert cfg.sync_groups["G"].tracking_weight and any("global_tracking is deprecated" in w.reason for w in cfg.warnings if w.check_fails)


@pytest.mark.parametrize("text, want", [("1.0703125", 1.070313), ("1.07031249", 1.070312), ("0.0000005", 0.000001),
                                        ("2.1234560", 2.123456)])
def test_more_than_six_decimal_places_is_a_fixup_rounded_half_up_as_keepalived(text, want):
    cfg = config.parse_text("vrrp_instance V {\n interface eth0\n virtual_router_id 5\n preempt_delay %s\n"
                            " virtual_ipaddress {\n  198.51.100.9/24\n }\n}\n" % text, "t.conf")
    assert cfg.instances["V"].preempt_delay == want
    assert [w.line for w in cfg.warnings] == [4]
    assert "too many decimal places" in cfg.warnings[0].reason


def test_vrrp_min_garp_renders_and_reads_back():
    """vrrp_min_garp sets garp_master_refresh_repeat to 0, which no keyword accepts: the render keeps it global."""
    cfg = config.parse_text("global_defs {\n vrrp_min_garp\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 5\n"
                            " virtual_ipaddress {\n  198.51.100.9/24\n }\n}\n", "t.conf")
    assert cfg.instances["V"].garp_master_refresh_repeat == 0
    again = config.parse_text(config_render.render_config(cfg), "t.conf")
    assert again.instances["V"].fingerprint() == cfg.instances["V"].fingerprint()
