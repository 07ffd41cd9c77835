# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/track_process.py: keepalived 2.2.7's vrrp_track_process parsing, matching (comm / cmdline with
param_match exact|partial|initial), quorum and its delays (pure, injected clock), and the /proc scanner
against a fake /proc tree."""
from __future__ import annotations

import asyncio
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, track_process as tpm, tracking
from ansible_collections.floating.vip.plugins.module_utils.vrrp.tracking_rules import FAULT
from ansible_collections.floating.vip.plugins.module_utils.vrrp.track_process import QuorumState, TrackProcess, match

INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    track_process {
%s
    }
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


def parse(block, lines="        web"):
    return config.parse_text(block + INSTANCE % lines)


def proc(text):
    return tpm.processes_of(parse(text, "        " + text.split()[1]))[text.split()[1]]


# ---------------------------------------------------------------- parsing and defaults

def test_defaults_as_keepalived():
    cfg = parse("vrrp_track_process web {\n    process nginx\n}\n")
    tp = tpm.processes_of(cfg)["web"]
    assert (tp.process, tp.params, tp.param_match, tp.full_command) == ("nginx", None, None, False)
    assert (tp.quorum, tp.quorum_max, tp.weight, tp.weight_reverse, tp.terminate_delay, tp.fork_delay) == (1, 2 ** 32 - 1, 0, False, 0.0, 0.0)
    assert tpm.tracked_by(cfg.instances["VI_1"]) == [("web", 0, False)]


def test_parameters_imply_exact_full_command_and_delay_sets_both():
    tp = proc("vrrp_track_process web {\n    process /usr/sbin/nginx -g \"daemon off;\"\n    delay 2.5\n    weight -20 reverse\n}\n")
    assert (tp.process, tp.params, tp.param_match, tp.full_command) == ("/usr/sbin/nginx", ["-g", "daemon off;"], "exact", True)
    assert (tp.terminate_delay, tp.fork_delay, tp.weight, tp.weight_reverse) == (2.5, 2.5, -20, True)
    tp = proc("vrrp_track_process web {\n    process sleep 10\n    param_match initial\n    fork_delay 1\n}\n")
    assert (tp.param_match, tp.fork_delay, tp.terminate_delay) == ("initial", 1.0, 0.0)
    tp = proc("vrrp_track_process web {\n    param_match\n    process sleep\n}\n")
    assert (tp.param_match, tp.full_command, tp.params) == ("exact", True, None)
    tp = proc("vrrp_track_process web {\n    process sleep\n    full_command\n}\n")
    assert (tp.param_match, tp.full_command) == (None, True)


def test_quorum_max_zero_means_must_not_run():
    tp = proc("vrrp_track_process web {\n    process sleep\n    quorum_max 0\n}\n")
    assert (tp.quorum, tp.quorum_max) == (0, 0)
    tp = proc("vrrp_track_process web {\n    process sleep\n    quorum 2\n    quorum_max 3\n}\n")
    assert (tp.quorum, tp.quorum_max) == (2, 3)


def test_instance_weight_overrides_and_noreverse():
    text = "vrrp_track_process web {\n    process sleep\n    weight 10 reverse\n}\nvrrp_track_process db {\n    process sleep\n}\n"
    cfg = parse(text, "        web weight -30 noreverse\n        db weight 5 reverse")
    assert tpm.tracked_by(cfg.instances["VI_1"]) == [("web", -30, False), ("db", 5, True)]
    # and it renders back to the same instance
    again = config.parse_text(text + config_render.render_instance(cfg.instances["VI_1"]))
    assert tpm.tracked_by(again.instances["VI_1"]) == tpm.tracked_by(cfg.instances["VI_1"])


@pytest.mark.parametrize("block, lines, message", [
    ("vrrp_track_process web {\n    weight 1\n}\n", "        web", "has no 'process'"),
    ("vrrp_track_process web {\n    process a\n    process b\n}\n", "        web", "process is already set"),
    ("vrrp_track_process web {\n    process a\n    param_match fuzzy\n}\n", "        web", "param_match"),
    ("vrrp_track_process web {\n    process a\n    weight 255\n}\n", "        web", "weight"),
    ("vrrp_track_process web {\n    process a\n    quorum 0\n}\n", "        web", "quorum"),
    ("vrrp_track_process web {\n    process a\n    quorum 3\n    quorum_max 2\n}\n", "        web", "less than quorum"),
    ("vrrp_track_process web {\n    process a\n    quorum_max 2\n    quorum 3\n}\n", "        web", "greater than quorum_max"),
    ("vrrp_track_process web {\n    process a\n    delay 0\n}\n", "        web", "delay"),
    ("vrrp_track_process web {\n    process a\n    terminate_delay 3601\n}\n", "        web", "terminate_delay"),
    ("vrrp_track_process web {\n    process a\n    colour red\n}\n", "        web", "unknown keyword"),
    ("", "        web", "no vrrp_track_process"),
    ("vrrp_track_process web {\n    process a\n}\n", "        web\n        web", "listed twice"),
    ("vrrp_track_process web {\n    process a\n}\n", "        web weight", "NAME [weight N"),
    ("vrrp_track_process web {\n    process a\n}\n", "        web weight 3 sideways", "NAME [weight N"),
])
def test_bad_blocks_are_errors_with_file_and_line(block, lines, message):
    with pytest.raises(config.ConfigError) as err:
        parse(block, lines)
    assert message in str(err.value)
    assert "<string>:" in str(err.value)


def test_defined_after_the_instance_is_an_error_as_keepalived():
    with pytest.raises(config.ConfigError) as err:
        config.parse_text(INSTANCE % "        web" + "vrrp_track_process web {\n    process a\n}\n")
    assert "defined before vrrp_instance" in str(err.value)


def test_long_comm_name_warns():
    cfg = parse("vrrp_track_process web {\n    process a_very_long_process_name\n}\n")
    assert any("longer than 15" in str(w) for w in cfg.warnings)


# ---------------------------------------------------------------- matching

def cmd(*argv):
    return b"".join(a.encode() + b"\0" for a in argv)


def test_comm_matching_and_zombies():
    tp = TrackProcess("t", process="sleep")
    assert match(tp, b"sleep", cmd("/bin/sleep", "10"))
    assert not match(tp, b"sleeper", None)
    assert not match(tp, None, None)  # zombie
    assert tpm.parse_stat(b"123 (sle) ep) S 77 1 1") == (b"sle) ep", 77)
    assert tpm.parse_stat(b"123 (sleep) Z 77 1 1") == (None, 77)
    assert tpm.parse_stat(b"garbage") == (None, 0)


@pytest.mark.parametrize("param_match, params, argv, expected", [
    ("exact", None, ["sleep"], True),
    ("exact", None, ["sleep", "1"], False),
    ("exact", ["100", "x"], ["sleep", "100", "x"], True),
    ("exact", ["100"], ["sleep", "100", "x"], False),
    ("exact", ["100"], ["sleep", "1000"], False),
    ("partial", ["100"], ["sleep", "100", "x"], True),
    ("partial", ["100"], ["sleep", "1000"], False),
    ("partial", None, ["sleep", "anything"], True),
    ("initial", ["10"], ["sleep", "100", "x"], True),
    ("initial", ["a", "10"], ["sleep", "a", "100"], True),
    ("initial", ["a", "10"], ["sleep", "b", "100"], False),
    ("initial", ["200"], ["sleep", "100"], False),
    (None, None, ["sleep", "whatever"], True),
])
def test_param_match_as_keepalived(param_match, params, argv, expected):
    tp = TrackProcess("t", process="sleep", params=params, param_match=param_match, full_command=True)
    assert match(tp, b"ignored", cmd(*argv)) is expected


def test_full_command_compares_argv0_not_comm():
    tp = TrackProcess("t", process="/bin/sleep", full_command=True)
    assert match(tp, b"sleep", cmd("/bin/sleep", "5"))
    assert not match(tp, b"sleep", cmd("sleep", "5"))
    assert not match(tp, b"sleep", None)
    # a cmdline without any NUL (rewritten by the process): only "any parameters" matches
    assert match(TrackProcess("t", process="x", param_match="partial", full_command=True), None, b"x")
    assert not match(TrackProcess("t", process="x", param_match="exact", full_command=True), None, b"x")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([None, "exact", "partial", "initial"]), st.one_of(st.none(), st.lists(st.text(max_size=6), max_size=3)),
       st.one_of(st.none(), st.binary(max_size=40)), st.one_of(st.none(), st.binary(max_size=20)))
def test_match_never_raises_and_answers_a_bool(param_match, params, cmdline, comm):
    tp = TrackProcess("t", process="sleep", params=params, param_match=param_match, full_command=params is not None or param_match is not None)
    assert match(tp, comm, cmdline) in (True, False)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_parse_stat_never_raises(data):
    comm, ppid = tpm.parse_stat(data)
    assert comm is None or isinstance(comm, bytes)
    assert isinstance(ppid, int)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_process_line_parses_or_is_our_error(word):
    text = "vrrp_track_process web {\n    process %s\n}\n" % config_render.script_quote(word) if word.isprintable() and word else None
    if text is None:
        return
    try:
        cfg = parse(text)
    except config.ConfigError as exc:
        assert all("\n" not in str(m) for m in exc.messages)
        return
    assert tpm.processes_of(cfg)["web"].process


# ---------------------------------------------------------------- quorum and delays (injected clock)

def test_quorum_range_and_transitions():
    q = QuorumState(TrackProcess("t", process="x", quorum=2, quorum_max=3))
    assert q.initial(1) is False
    assert q.add(0.0) is True           # 2: gained
    assert q.add(0.0) is None           # 3: still in range
    assert q.add(0.0) is False          # 4 > quorum_max: lost
    assert q.remove(0.0) is True        # back to 3
    assert q.remove(0.0) is None
    assert q.remove(0.0) is False       # 1 < quorum


def test_terminate_delay_holds_the_loss_and_a_restart_cancels_it():
    q = QuorumState(TrackProcess("t", process="x", terminate_delay=2.0))
    assert q.initial(1) is True
    assert q.remove(10.0) is None and q.deadline == 12.0
    assert q.expire(11.9) is None
    assert q.add(11.0) is None and q.deadline is None   # back before the delay: never lost
    assert q.have_quorum is True
    assert q.remove(20.0) is None
    assert q.expire(22.0) is False and q.deadline is None
    # a process that stops matching (exec into something else) counts at once, no delay
    q2 = QuorumState(TrackProcess("t", process="x", terminate_delay=2.0))
    q2.initial(1)
    assert q2.remove(0.0, exited=False) is False


def test_fork_delay_only_for_forks_of_tracked_processes():
    q = QuorumState(TrackProcess("t", process="x", fork_delay=1.0))
    assert q.initial(0) is False
    assert q.add(5.0, forked=True) is None and q.deadline == 6.0
    assert q.expire(6.0) is True
    q = QuorumState(TrackProcess("t", process="x", fork_delay=1.0))
    q.initial(0)
    assert q.add(5.0, forked=False) is True  # exec: at once (keepalived check_process)
    q = QuorumState(TrackProcess("t", process="x", fork_delay=1.0))
    q.initial(0)
    q.add(5.0, forked=True)
    assert q.remove(5.5) is None and q.deadline is None and q.have_quorum is False  # gone before the delay


def test_quorum_zero_means_running_is_the_fault():
    q = QuorumState(TrackProcess("t", process="x", quorum=0, quorum_max=0))
    assert q.initial(0) is True
    assert q.add(0.0) is False
    assert q.remove(0.0) is True


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 4), st.integers(0, 6), st.lists(st.tuples(st.sampled_from("arfe"), st.floats(0, 3)), max_size=30),
       st.sampled_from([0.0, 0.5]), st.sampled_from([0.0, 0.7]))
def test_quorum_settles_to_the_range_rule(quorum, extra, steps, tdelay, fdelay):
    tp = TrackProcess("t", process="x", quorum=quorum, quorum_max=quorum + extra if quorum else extra, terminate_delay=tdelay, fork_delay=fdelay)
    if tp.quorum_max == 0:
        tp.quorum = 0
    q = QuorumState(tp)
    now = 0.0
    q.initial(0)
    for kind, dt in steps:
        now += dt
        if kind == "a":
            q.add(now, forked=False)
        elif kind == "f":
            q.add(now, forked=True)
        elif kind == "r" and q.count:
            q.remove(now)
        q.expire(now)
    q.expire(now + 10)
    assert q.count >= 0
    assert q.have_quorum == (tp.quorum <= q.count <= tp.quorum_max)


def test_process_effect_folds_like_a_script():
    t = tracking.InstanceTracking(100)
    t.add("process", "web", 0, False, False)
    ev = t.evaluate()
    assert ev.faults == ["tracked process web quorum not achieved"]
    t = tracking.InstanceTracking(100)
    t.add("process", "web", -30, False, False)
    t.add("process", "db", 20, False, True)
    assert t.evaluate().priority == 90
    t.update("process", "web", True)
    assert t.evaluate().priority == 120
    t = tracking.InstanceTracking(100)
    t.add("process", "web", 0, True, True)
    assert tracking.effect_of(t.items[("process", "web")]) == FAULT


# ---------------------------------------------------------------- the scanner on a fake /proc

def fake_proc(root, pid, comm, argv, ppid=1, state="S"):
    d = root / str(pid)
    d.mkdir()
    (d / "stat").write_bytes(b"%d (%s) %s %d 1 1 0" % (pid, comm.encode(), state.encode(), ppid))
    (d / "cmdline").write_bytes(cmd(*argv))


def test_scanner_counts_and_reports_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(tpm, "SCAN_INTERVAL", 3600)
    fake_proc(tmp_path, 10, "sleep", ["sleep", "100"])
    fake_proc(tmp_path, 11, "sleep", ["sleep", "200"])
    fake_proc(tmp_path, 12, "sleep", ["sleep", "100"], state="Z")
    (tmp_path / "self").mkdir()
    specs = {"any": TrackProcess("any", process="sleep", quorum=2),
             "hundred": TrackProcess("hundred", process="sleep", params=["100"], param_match="exact", full_command=True)}
    changes = []

    async def scenario():
        s = tpm.ProcessScanner(specs, lambda n, v: changes.append((n, v)), proc=str(tmp_path))
        s.pidfd_ok = False
        s.start(asyncio.get_running_loop())
        first = (s.have_quorum("any"), s.have_quorum("hundred"), s.states["any"].count)
        os.rename(tmp_path / "11", tmp_path / "99x")  # pid 11 exits
        s.rescan()
        fake_proc(tmp_path, 13, "sleep", ["sleep", "100"])
        s.rescan()
        described = s.describe()
        s.close()
        return first, described

    first, described = asyncio.run(scenario())
    assert first == (True, True, 2)  # the zombie does not count
    assert changes == [("any", False), ("any", True)]
    assert [d["pids"] for d in described] == [[10, 13], [10, 13]]
