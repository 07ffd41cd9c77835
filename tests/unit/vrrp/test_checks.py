# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/tracking_rules.py, probes.py, script_runner.py, check_runner.py, config_checks.py, script_security.py and
tracking.py: keepalived's rise/fall/weight arithmetic, FAULT with an injected clock, the script runner (timeout kills
the process group, no orphans), vipd_check parsing, script security."""
from __future__ import annotations

import ast
import asyncio
import os
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import (
    check_runner, config, config_checks, config_render, packet, probes, script_runner, script_security, tracking,
)
from ansible_collections.floating.vip.plugins.module_utils.vrrp.tracking_rules import FAULT, RiseFall, clamp_priority, weight_contribution
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, State, Transition
from ansible_collections.floating.vip.plugins.module_utils.vrrp.tracking import InstanceTracking, file_effect

T0 = 1000.0
INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    track_script {
        %s
    }
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


# ------------------------------------------------------------------ rise / fall (keepalived's counter)

def feed_all(rf, results):
    return [(rf.feed(r), rf.status) for r in results]


def test_rise_fall_first_result_decides_then_counts():
    rf = RiseFall(rise=2, fall=3)
    assert rf.status is None
    # one success is enough at start (keepalived: result = rise - 1)
    assert rf.feed(True) and rf.status is True
    # three failures needed to fail, the third flips
    assert feed_all(rf, [False, False]) == [(False, True), (False, True)]
    assert rf.feed(False) and rf.status is False
    # then two successes to rise again
    assert rf.feed(True) is False and rf.status is False
    assert rf.feed(True) is True and rf.status is True


def test_rise_fall_first_failure_decides_at_start():
    rf = RiseFall(rise=3, fall=3)
    assert rf.feed(False) and rf.status is False
    assert feed_all(rf, [True, True]) == [(False, False), (False, False)]
    assert rf.feed(True) and rf.status is True


def test_init_fail_starts_failed_and_needs_rise():
    rf = RiseFall(rise=2, fall=1, init_fail=True)
    assert rf.status is False
    assert rf.feed(True) is False
    assert rf.feed(True) is True and rf.status is True


def test_interleaved_results_reset_the_count():
    rf = RiseFall(rise=1, fall=2)
    rf.feed(True)
    # fail, succeed, fail: never two failures in a row below the top -> stays OK
    assert feed_all(rf, [False, True, False, True]) == [(False, True)] * 4
    assert feed_all(rf, [False, False]) == [(False, True), (True, False)]


# ------------------------------------------------------------------ weights (keepalived process_script_update_priority)

@pytest.mark.parametrize("weight, reverse, ok, effect", [
    (0, False, True, 0), (0, False, False, FAULT), (0, True, True, FAULT), (0, True, False, 0),
    (20, False, True, 20), (20, False, False, 0), (-20, False, True, 0), (-20, False, False, -20),
    (20, True, True, -20), (20, True, False, 0), (-20, True, True, 0), (-20, True, False, 20),
    (-20, False, None, 0), (0, False, None, 0),
])
def test_weight_contribution(weight, reverse, ok, effect):
    assert weight_contribution(weight, reverse, ok) == effect


@pytest.mark.parametrize("base, total, prio", [(100, 200, 254), (100, -150, 1), (254, 50, 254), (1, -1, 1), (255, -100, 255),
                                               (100, -99, 1), (100, 154, 254), (100, 153, 253)])
def test_effective_priority_never_255_or_0(base, total, prio):
    assert clamp_priority(base, total) == prio


@pytest.mark.parametrize("weight, reverse, value, effect", [
    (0, False, 0, 0), (0, False, 3, FAULT), (0, True, 0, FAULT), (0, True, 5, 0),
    (1, False, -30, -30), (10, False, 5, 50), (10, True, 5, -50), (1, False, -254, FAULT), (100, False, -3, FAULT),
    (100, False, 3, 253),
])
def test_track_file_effect(weight, reverse, value, effect):
    assert file_effect(weight, reverse, value) == effect


def test_instance_tracking_sums_weights_and_reports_faults():
    t = InstanceTracking(100)
    t.add("script", "chk_up", 30, value=True)
    t.add("script", "chk_down", -50, value=False)
    t.add("interface", "eth1", -10, value=False)
    t.add("file", "f", 2, value=4)
    ev = t.evaluate()
    assert (ev.priority, ev.faults, ev.pending) == (100 + 30 - 50 - 10 + 8, [], [])
    t.add("own_interface", "eth0", 0, value=False)
    t.add("script", "gate", 0, value=None)
    ev = t.evaluate()
    assert ev.faults == ["interface eth0 down"] and ev.pending == ["script gate"]
    assert t.update("own_interface", "eth0", True) and not t.update("own_interface", "eth0", True)
    assert t.update("script", "gate", True)
    assert t.evaluate().faults == [] and t.evaluate().pending == []


# ------------------------------------------------------------------ FAULT and priority through the machine, injected clock

def drive(results, interval=2.0, rise=2, fall=3, weight=0, base=100):
    """Feed check results every `interval` from T0 into RiseFall -> InstanceTracking -> Machine; return the transitions."""
    mach = Machine(Params(vrid=51, priority=base, advert_int=1.0, version=2, primary_ip="198.51.100.1"))
    mach.start(T0)
    rf = RiseFall(rise, fall)
    t = InstanceTracking(base)
    t.add("script", "chk", weight)
    log = []
    now = T0
    for ok in results:
        now += interval
        if mach.next_deadline is not None and now >= mach.next_deadline:
            log += [a for a in mach.on_timer(mach.next_deadline) if isinstance(a, Transition)]
        if rf.feed(ok):
            t.update("script", "chk", rf.status)
            ev = t.evaluate()
            mach.set_priority(now, ev.priority)
            if ev.faults and mach.state != State.FAULT:
                log += [a for a in mach.fault(now, ev.fault_reason) if isinstance(a, Transition)]
            elif not ev.faults and mach.state == State.FAULT:
                log += [a for a in mach.recover(now) if isinstance(a, Transition)]
    return mach, [(a.old, a.new, a.time if hasattr(a, "time") else None) for a in log], log


def test_weight_zero_fault_after_fall_failures_and_recovery_after_rise():
    mach, _trans, log = drive([True, True, False, False, False, True, True], interval=2.0, rise=2, fall=3, weight=0)
    states = [(a.old, a.new) for a in log]
    # T0+3.6: master (no peer); the 3rd consecutive failure (T0+10) -> FAULT; the 2nd success (T0+14) -> BACKUP
    assert states == [(State.BACKUP, State.MASTER), (State.MASTER, State.FAULT), (State.FAULT, State.BACKUP)]
    assert "failed" in log[1].reason
    assert mach.state == State.BACKUP


def test_negative_weight_lowers_priority_without_fault():
    mach, _t, log = drive([True, False], weight=-60, rise=1, fall=1)
    assert mach.effective_priority == 40
    assert all(a.new != State.FAULT for a in log)
    mach2, _t, _l = drive([True, False, True], weight=-60, rise=1, fall=1)
    assert mach2.effective_priority == 100


def test_positive_weight_raises_priority_but_never_to_255():
    mach, _t, _l = drive([True], weight=200, rise=1, fall=1, base=100)
    assert mach.effective_priority == 254


def test_master_with_failed_check_advertises_lower_priority():
    mach = Machine(Params(vrid=51, priority=150, advert_int=1.0, version=2, primary_ip="198.51.100.1"))
    mach.start(T0)
    mach.on_timer(mach.next_deadline)
    assert mach.state == State.MASTER
    t = InstanceTracking(150)
    t.add("script", "chk", -100, value=False)
    mach.set_priority(T0 + 5, t.evaluate().priority)
    sends = mach.on_timer(mach.next_deadline)
    assert [a.priority for a in sends if hasattr(a, "priority")] == [50]


# ------------------------------------------------------------------ the script runner (real processes)

def run(coro):
    return asyncio.run(coro)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    for _attempt in range(int(timeout / 0.05) + 1):
        if not _alive(pid) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return not _alive(pid)


def test_script_exit_status(tmp_path):
    assert run(script_runner.run_script(["/bin/true"], 5)).ok
    res = run(script_runner.run_script(["/bin/sh", "-c", "exit 3"], 5))
    assert (res.ok, res.detail) == (False, "exit 3")
    res = run(script_runner.run_script([str(tmp_path / "missing")], 5))
    assert not res.ok and "cannot start" in res.detail


def test_hanging_script_is_killed_at_timeout_with_its_group(tmp_path):
    pids = tmp_path / "pids"
    # the shell ignores TERM, so the KILL after the grace period is needed; its child sleeps too
    script = "trap '' TERM; sleep 300 & echo $! > %s; echo $$ >> %s; wait" % (pids, pids)
    started = time.monotonic()
    res = run(script_runner.run_script(["/bin/sh", "-c", script], 0.5))
    assert not res.ok and "timed out" in res.detail
    assert time.monotonic() - started < 0.5 + script_runner.TERM_GRACE + 3
    for pid in [int(p) for p in pids.read_text().split()]:
        assert _wait_gone(pid), "pid %d survived the timeout" % pid


def test_forking_script_leaves_no_orphan(tmp_path):
    pidfile = tmp_path / "child"
    res = run(script_runner.run_script(["/bin/sh", "-c", "sleep 300 & echo $! > %s; exit 0" % pidfile], 5))
    assert res.ok
    child = int(pidfile.read_text())
    assert _wait_gone(child), "background child %d outlived its check" % child


def test_runner_counts_timeout_as_failure():
    script = config.VrrpScript(name="hang", script="/bin/sleep 30", interval=1.0, timeout=0.3, weight=0, rise=1, fall=1)
    seen = []
    runner = check_runner.CheckRunner(script, None, lambda name, ok, detail: seen.append((name, ok, detail)))

    async def once():
        runner.feed(await runner.probe())
    run(once())
    assert seen and seen[0][:2] == ("hang", False) and "timed out" in seen[0][2]
    assert (runner.runs, runner.failures, runner.status) == (1, 1, False)


# ------------------------------------------------------------------ keepalived's script quoting

@pytest.mark.parametrize("line, argv", [
    ('notify "/bin/sh -c \'echo \\"$*\\" >> /tmp/x\'"', ["/bin/sh", "-c", 'echo "$*" >> /tmp/x']),
    ('notify "/usr/bin/logger -t \\"vip d\\" hi"', ["/usr/bin/logger", "-t", "vip d", "hi"]),
    ("notify /bin/true", ["/bin/true"]),
    ('notify "/bin/printf a\\\\tb"', ["/bin/printf", "a\tb"]),
])
def test_notify_command_split_as_keepalived(line, argv):
    cfg = config.parse_text(INSTANCE.replace("track_script {\n        %s\n    }", line), "q.conf")
    command = cfg.instances["VI_1"].notify
    assert config.split_command(command) == argv
    # and it renders back to the same command
    again = config.parse_text(config_render.render_instance(cfg.instances["VI_1"]), "r.conf").instances["VI_1"]
    assert again.notify == command


def test_split_command_errors():
    with pytest.raises(ValueError):
        config.split_command("/bin/sh -c 'unterminated")
    assert config.split_command("a\\x41 '' \\101") == ["aA", "", "A"]


# ------------------------------------------------------------------ the vipd_check block

def test_vipd_check_block_parses_and_is_trackable():
    text = """vipd_check web {
    type https
    host 198.51.100.11
    port 8443
    path /health
    expect_status 204
    expect_body ok
    tls_verify off
    interval 0.5
    timeout 0.4
    rise 2
    fall 3
    weight -30
}
""" + INSTANCE % "web"
    cfg = config.parse_text(text, "c.conf")
    chk = config_checks.builtins_of(cfg)["web"]
    assert (chk.type, chk.host, chk.port, chk.path, chk.expect_status, chk.expect_body, chk.tls_verify) == \
        ("https", "198.51.100.11", 8443, "/health", 204, "ok", False)
    assert (chk.interval, chk.timeout, chk.rise, chk.fall, chk.weight) == (0.5, 0.4, 2, 3, -30)
    assert cfg.scripts["web"].weight == -30 and cfg.instances["VI_1"].track_scripts == [("web", None)]


def test_vipd_check_errors_carry_file_and_line():
    text = "vipd_check c {\n    type smtp\n    host 198.51.100.1\n    bogus 1\n}\nvipd_check d {\n    type tcp\n    host 198.51.100.1\n}\n"
    with pytest.raises(config.ConfigError) as info:
        config.parse_text(text, "e.conf")
    msgs = [str(m) for m in info.value.errors]
    assert "e.conf:2: vipd_check type 'smtp' is not valid: must be one of tcp, http, https, icmp" in msgs
    assert "e.conf:4: unknown keyword 'bogus' in vipd_check" in msgs
    assert "e.conf:6: vipd_check d of type tcp needs a 'port'" in msgs


def test_vipd_check_defaults_timeout_to_interval_and_icmp_needs_an_address():
    cfg = config.parse_text("vipd_check p {\n type icmp\n host 2001:db8::1\n interval 2\n}\n", "p.conf")
    assert config_checks.builtins_of(cfg)["p"].timeout == 2.0
    with pytest.raises(config.ConfigError) as info:
        config.parse_text("vipd_check p {\n type icmp\n host gw.example\n}\n", "p.conf")
    assert "needs an IP address" in str(info.value)


# ------------------------------------------------------------------ script security

def _script(tmp_path, mode):
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(folder), 0o755)
    path = folder / "chk.sh"
    path.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(str(path), mode)
    return str(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks assume root-owned files")
def test_world_writable_script_refused_with_enable_script_security(tmp_path):
    path = _script(tmp_path, 0o777)
    assert "writable by every user" in script_security.insecure_reason(path)
    text = "global_defs {\n    enable_script_security\n}\nvrrp_script chk {\n    script %s\n}\n" % path + INSTANCE % "chk"
    with pytest.raises(config.ConfigError) as info:
        script_security.parse_text(text, "s.conf")
    assert "s.conf:4: vrrp_script chk: unsafe script %s refused by enable_script_security: %s is writable by every user" \
        % (path, path) in [str(m) for m in info.value.errors]
    # without enable_script_security: a warning only (keepalived logs it and runs the script)
    cfg = script_security.parse_text(text.replace("    enable_script_security\n", ""), "s.conf")
    assert any("unsafe permissions" in str(w) for w in cfg.warnings)
    # the parser alone reads the text and nothing else: host checks are the caller's (vipd check / run / reload)
    assert not [w for w in config.parse_text(text, "s.conf").warnings if "script" in str(w)]


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership checks assume root-owned files")
def test_safe_script_and_group_writable_parent(tmp_path):
    path = _script(tmp_path, 0o755)
    assert script_security.insecure_reason(path) is None
    os.chown(str(tmp_path / "bin"), 0, 100)
    os.chmod(str(tmp_path / "bin"), 0o775)
    assert "writable by group" in script_security.insecure_reason(path)
    os.chown(path, 1000, 0)
    assert script_security.insecure_reason(path) == "%s is owned by uid 1000, not root" % path


# ------------------------------------------------------------------ pure helpers of the probes and the link monitor

def test_echo_request_checksum_and_reply_parsing():
    req = probes.echo_request(0x1234, 7, 4, b"x")
    assert packet.inet_checksum(req) == 0
    reply = bytes([0x45]) + bytes(19) + struct.pack("!BBHHH", 0, 0, 0, 0x1234, 7)
    assert probes.parse_echo_reply(reply, 4) == (0x1234, 7)
    assert probes.parse_echo_reply(struct.pack("!BBHHH", 129, 0, 0, 1, 2), 6) == (1, 2)
    assert probes.parse_echo_reply(struct.pack("!BBHHH", 128, 0, 0, 1, 2), 6) is None


def test_parse_link_messages():
    name = b"eth1\0"
    rta = struct.pack("=HH", 4 + len(name), tracking.IFLA_IFNAME) + name + b"\0" * ((4 - len(name) % 4) % 4)
    body = struct.pack("=BBHiII", 0, 0, 1, 3, tracking.IFF_UP | tracking.IFF_RUNNING, 0) + rta
    msg = struct.pack("=IHHII", 16 + len(body), tracking.RTM_NEWLINK, 0, 0, 0) + body
    assert tracking.parse_link_messages(msg + msg.replace(struct.pack("=H", tracking.RTM_NEWLINK), struct.pack("=H", 17), 1)) == \
        [(16, "eth1", 0x41, 3, None), (17, "eth1", 0x41, 3, None)]
    assert tracking.parse_link_messages(_link_msg(16, "eth1", 3, True, b"\x02\0\0\0\x01\x01")) == \
        [(16, "eth1", 0x41, 3, b"\x02\0\0\0\x01\x01")]
    assert tracking.link_is_usable(tracking.IFF_UP) is False


def _link_msg(kind, name, index, up, mac=None):
    raw = name.encode() + b"\0"
    rta = struct.pack("=HH", 4 + len(raw), tracking.IFLA_IFNAME) + raw + b"\0" * ((4 - len(raw) % 4) % 4)
    if mac is not None:  # IFLA_ADDRESS, padded to 4 bytes
        rta += struct.pack("=HH", 4 + len(mac), tracking.IFLA_ADDRESS) + mac + b"\0" * ((4 - len(mac) % 4) % 4)
    flags = tracking.IFF_UP | tracking.IFF_RUNNING if up else 0
    body = struct.pack("=BBHiII", 0, 0, 1, index, flags, 0) + rta
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


class _Datagrams:
    def __init__(self, datagrams):
        self.datagrams = list(datagrams)

    def recv(self, _size):
        if not self.datagrams:
            raise BlockingIOError()
        return self.datagrams.pop(0)


def test_the_link_monitor_tells_a_link_created_again_under_the_same_name():
    """Sockets stay bound to a link's index: the daemon reopens them when a name comes back under a new index
    (on_index, before the link is reported up) and makes its VMACs again when they are deleted (on_deleted)."""
    calls = []
    mon = tracking.LinkMonitor(lambda n, up: calls.append(("up" if up else "down", n)),
                               lambda n, i: calls.append(("index", n, i)), lambda n: calls.append(("deleted", n)))
    new, gone = tracking.RTM_NEWLINK, tracking.RTM_DELLINK
    mon.sock = _Datagrams([_link_msg(new, "eth0", 3, True) + _link_msg(new, "vrrp.51", 4, True),  # the first dump
                           _link_msg(new, "eth0", 3, False), _link_msg(new, "eth0", 3, True),  # down and up: same link
                           _link_msg(gone, "eth0", 3, False),
                           _link_msg(new, "eth0", 7, False), _link_msg(new, "eth0", 7, True),  # created again
                           _link_msg(gone, "eth0", 3, False)])  # a late word about the old one: not the new one
    mon._readable()  # pylint: disable=protected-access
    assert calls == [("index", "eth0", 3), ("up", "eth0"), ("index", "vrrp.51", 4), ("up", "vrrp.51"),
                     ("down", "eth0"), ("up", "eth0"),
                     ("down", "eth0"), ("deleted", "eth0"),
                     ("index", "eth0", 7), ("up", "eth0")]
    assert mon.index == {"eth0": 7, "vrrp.51": 4} and mon.is_up("eth0")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 80))
def test_any_link_notification_bytes_parse_cleanly(noise, cut):
    """Whatever arrives on the link monitor's socket (noise, a real message cut short, both): a list of well-formed
    tuples, never an exception."""
    real = _link_msg(tracking.RTM_NEWLINK, "eth0", 3, True, b"\x02\0\0\0\x01\x01")
    for data in (noise, real[:cut], real[:cut] + noise, noise + real):
        for kind, name, flags, index, mac in tracking.parse_link_messages(data):
            assert kind in (tracking.RTM_NEWLINK, tracking.RTM_DELLINK) and isinstance(name, str)
            assert isinstance(flags, int) and isinstance(index, int) and (mac is None or isinstance(mac, bytes))


def test_the_link_monitor_tells_a_new_mac_on_the_same_link_only():
    """on_mac: the same index with another link-layer address (a bond's failover with fail_over_mac, a MAC set by
    hand); not a link's first address, not the same one again, not a link created again with another one."""
    calls = []
    mon = tracking.LinkMonitor(lambda n, up: None, None, None, calls.append)
    new, gone = tracking.RTM_NEWLINK, tracking.RTM_DELLINK
    a, b, c = b"\x02\0\0\0\x01\x01", b"\x02\0\0\0\x0a\x0a", b"\x02\0\0\0\x0b\x0b"
    mon.sock = _Datagrams([_link_msg(new, "eth0", 3, True, a),  # the first dump
                           _link_msg(new, "eth0", 3, False, a), _link_msg(new, "eth0", 3, True),  # no address: no change
                           _link_msg(new, "eth0", 3, True, b),  # changed: told
                           _link_msg(new, "eth0", 3, True, b),
                           _link_msg(gone, "eth0", 3, False, b), _link_msg(new, "eth0", 8, True, c),  # created again
                           _link_msg(new, "eth0", 8, True, a)])  # changed: told
    mon._readable()  # pylint: disable=protected-access
    assert calls == ["eth0", "eth0"]
    assert mon.mac == {"eth0": a}


@pytest.mark.parametrize("text, value", [("12\n", 12), ("-30", -30), ("0x10", 16), ("010", 8), ("", 0), ("abc", 0), (" 7 x", 7)])
def test_read_track_file_as_strtol(tmp_path, text, value):
    path = tmp_path / "f"
    path.write_text(text)
    assert tracking.read_track_file(str(path)) == value
    assert tracking.read_track_file(str(tmp_path / "missing")) == 0


def test_config_modules_read_files_and_nothing_else():
    # Host checks of scripts live in script_security.py (run by vipd check / run / reload), not in parsing.
    for module in (config, config_checks):
        with open(module.__file__) as f:
            tree = ast.parse(f.read())
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert not names & {"os", "shutil", "importlib", "pwd", "grp", "stat", "subprocess", "socket"}, module.__name__
