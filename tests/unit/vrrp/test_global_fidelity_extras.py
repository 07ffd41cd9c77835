# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 keywords implemented for issue 10: vrrp_min_garp (global_parser.c), [vrrp_]garp_extra_if and
the deprecated [vrrp_]vmac_garp_intvl, promote_secondaries (vrrp_if_config.c), umask, smtp_helo_name and
no_email_faults (smtp.c, vrrp_notify.c): parsing with keepalived's defaults, FILE:LINE errors, and behaviour."""
from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, mailer, promote

VI = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n%s virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n"


def parse(globals_="", inst=""):
    return config.parse_text("global_defs {\n%s}\n" % globals_ + VI % inst, "t.conf")


def errors(globals_="", inst=""):
    with pytest.raises(config.ConfigError) as info:
        parse(globals_, inst)
    return [str(m) for m in info.value.errors]


# ---------------------------------------------------------------- vrrp_min_garp

def garps(cfg):
    i = cfg.instances["VI_1"]
    return (i.garp_master_repeat, i.garp_master_refresh, i.garp_master_refresh_repeat, i.garp_master_delay)


def test_min_garp_sets_one_garp_without_delay_or_refresh():
    assert garps(parse()) == (5, 0, 1, 5)
    assert garps(parse(" vrrp_min_garp\n")) == (1, 0, 0, 0)
    assert garps(parse(" vrrp_min_garp true\n")) == (1, 0, 0, 0)
    assert garps(parse(" vrrp_min_garp false\n")) == (5, 0, 1, 5)


def test_min_garp_keeps_values_set_before_it_unless_default_and_later_ones_win():
    # keepalived compares with the defaults when it reads vrrp_min_garp
    assert garps(parse(" vrrp_garp_master_repeat 3\n vrrp_min_garp\n")) == (3, 0, 0, 0)
    assert garps(parse(" vrrp_garp_master_delay 5\n vrrp_min_garp\n")) == (1, 0, 0, 0)  # equal to the default: replaced
    assert garps(parse(" vrrp_min_garp\n vrrp_garp_master_delay 2\n vrrp_garp_master_refresh 30\n")) == (1, 30, 0, 2)
    assert garps(parse(" vrrp_min_garp\n", " garp_master_repeat 4\n")) == (4, 0, 0, 0)  # the instance's own wins


def test_min_garp_bad_value_is_an_error():
    assert errors(" vrrp_min_garp maybe\n") == ["t.conf:2: keyword 'vrrp_min_garp' takes an optional true/false, got 'maybe'"]


# ---------------------------------------------------------------- garp_extra_if

def extra(cfg):
    i = cfg.instances["VI_1"]
    return i.garp_extra_if, i.garp_extra_if_all


def test_garp_extra_if_instance_and_global():
    assert extra(parse()) == (0, False)
    assert extra(parse(inst=" garp_extra_if 30 all\n")) == (30, True)
    assert extra(parse(inst=" garp_extra_if all 0\n")) == (0, True)
    assert extra(parse(" vrrp_garp_extra_if 20 all\n")) == (20, True)
    assert extra(parse(" vrrp_garp_extra_if 20 all\n", " garp_extra_if 7\n")) == (7, False)  # instance set: global unused
    assert extra(parse(" vrrp_garp_extra_if 20\n")) == (20, False)


def test_deprecated_vmac_garp_intvl_is_a_fixup_that_keepalived_t_reports():
    cfg = parse(" vrrp_vmac_garp_intvl 9 all\n", "")
    assert extra(cfg) == (9, True)
    assert [(str(w), w.check_fails) for w in cfg.warnings] == [
        ('t.conf:2: warning: Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"', True)]
    cfg = parse(inst=" vmac_garp_intvl 9 all\n")
    assert extra(cfg) == (9, True) and cfg.warnings[0].check_fails


@pytest.mark.parametrize("line,message", [
    (" garp_extra_if all\n", "t.conf:6: (VI_1): garp_extra_if specified without time"),
    (" garp_extra_if 86401\n", "t.conf:6: (VI_1): garp_extra_if '86401' invalid (all, or seconds from 0 to 86400)"),
    (" garp_extra_if some\n", "t.conf:6: (VI_1): garp_extra_if 'some' invalid (all, or seconds from 0 to 86400)"),
])
def test_garp_extra_if_errors(line, message):
    assert errors(inst=line) == [message]


def test_global_garp_extra_if_errors():
    assert errors(" vrrp_garp_extra_if 0\n") == ["t.conf:2: vrrp_garp_extra_if '0' invalid (all, or seconds from 1 to 86400)"]
    assert errors(" vrrp_garp_extra_if all\n") == ["t.conf:2: vrrp_garp_extra_if specified without time"]


# ---------------------------------------------------------------- promote_secondaries

def test_promote_secondaries_parses_and_is_ignored_with_a_vmac_as_keepalived():
    assert parse(inst=" promote_secondaries\n").instances["VI_1"].promote_secondaries
    cfg = parse(inst=" use_vmac\n promote_secondaries\n")
    assert not cfg.instances["VI_1"].promote_secondaries
    assert [(str(w), w.check_fails) for w in cfg.warnings] == [
        ("t.conf:7: warning: (VI_1) promote_secondaries is automatically set for vmacs - ignoring", True)]


def test_promote_secondaries_set_when_zero_and_put_back_by_the_last_user(tmp_path):
    root = tmp_path / "net"
    for ifname, value in (("eth0", "0"), ("eth1", "1")):
        (root / "ipv4" / "conf" / ifname).mkdir(parents=True)
        (root / "ipv4" / "conf" / ifname / "promote_secondaries").write_text(value + "\n")

    def value(ifname):
        return (root / "ipv4" / "conf" / ifname / "promote_secondaries").read_text().strip()

    p = promote.PromoteSecondaries(str(root))
    logged = []
    p.sync({"eth0", "eth1", "nosuch0"}, logged.append)
    assert value("eth0") == "1" and value("eth1") == "1" and len(logged) == 1 and "nosuch0" in logged[0]
    p.sync({"eth0"})
    assert value("eth1") == "1"  # it was 1 before: left alone
    p.release_all()
    assert value("eth0") == "0" and value("eth1") == "1"


# ---------------------------------------------------------------- umask

@pytest.mark.parametrize("words,mask", [("0022", 0o022), ("022", 0o022), ("18", 0o022), ("0x12", 0o022), ("0", 0),
                                        ("IWGRP|IWOTH", 0o022), ("IWGRP | IWOTH", 0o022), ("IRWXU", None),
                                        ("IXUSR|IRGRP|IWGRP|IXGRP|IROTH|IWOTH|IXOTH", 0o177)])
def test_umask_values(words, mask):
    if mask is None:
        assert errors(" umask %s\n" % words)[0].startswith("t.conf:2: invalid umask")
    else:
        assert parse(" umask %s\n" % words).global_defs.umask == mask


def test_umask_default_is_keepalived_s_and_bad_values_are_errors():
    assert parse().global_defs.umask == 0o177
    assert errors(" umask 0778\n") == ["t.conf:2: invalid umask value '0778'"]
    assert errors(" umask 01000\n") == ["t.conf:2: invalid umask value '01000'"]
    assert errors(" umask 022 033\n") == ["t.conf:2: Extra parameter(s) to umask option"]
    assert errors(" umask IWGRP|\n")[0].startswith("t.conf:2: invalid umask")


@settings(max_examples=200, deadline=None)
@given(mask=st.integers(0, 0o777), form=st.sampled_from(["0%o", "%d", "0x%x", "names"]))
def test_umask_any_form_reads_back(mask, form):
    if form == "names":
        names = [n for n, bit in sorted(config.UMASK_BITS.items()) if mask & bit]
        if not names:
            return
        text = "|".join(names)
    else:
        text = form % mask
    assert parse(" umask %s\n" % text).global_defs.umask == mask


# ---------------------------------------------------------------- mail

def test_smtp_helo_name_and_no_email_faults_parse():
    g = parse(" smtp_helo_name lb1.example.com\n no_email_faults\n").global_defs
    assert g.smtp_helo_name == "lb1.example.com" and g.no_email_faults
    g = parse().global_defs
    assert g.smtp_helo_name is None and not g.no_email_faults


class FakeLoop:
    def __init__(self):
        self.sent = []

    def run_in_executor(self, _executor, func, msg):
        self.sent.append(msg["Subject"])
        future = asyncio.Future(loop=asyncio.new_event_loop())
        future.set_result(None)
        return future


def test_no_email_faults_skips_fault_and_the_return_to_the_state_mailed_last():
    loop = FakeLoop()
    m = mailer.Mailer(loop, "smtp.example.com", recipients=["ops@example.com"], router_id="lb1", no_email_faults=True)
    for old, new in (("INIT", "BACKUP"), ("BACKUP", "MASTER"), ("MASTER", "FAULT"), ("FAULT", "MASTER"), ("MASTER", "BACKUP")):
        m.alert("INSTANCE", "VI_1", old, new, 100)
    # keepalived vrrp_smtp_notifier(): FAULT not mailed, and MASTER again is the state mailed last
    assert loop.sent == ["[lb1] VRRP Instance VI_1 - Entering BACKUP state", "[lb1] VRRP Instance VI_1 - Entering MASTER state",
                         "[lb1] VRRP Instance VI_1 - Entering BACKUP state"]
    loop = FakeLoop()
    m = mailer.Mailer(loop, "smtp.example.com", recipients=["ops@example.com"], router_id="lb1")
    for old, new in (("BACKUP", "MASTER"), ("MASTER", "FAULT"), ("FAULT", "MASTER")):
        m.alert("INSTANCE", "VI_1", old, new, 100)
    assert len(loop.sent) == 3
    if m.executor is not None:
        m.close()


def test_helo_name_defaults_to_the_host_name():
    assert mailer.Mailer(None, "smtp.example.com").helo_name == os.uname().nodename
    assert mailer.Mailer(None, "smtp.example.com", helo_name="lb1.example.com").helo_name == "lb1.example.com"
