# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9's known defects, on the injected clock: split-brain heal (keepalived 2.2.7's garp_lower_prio_*,
lower_prio_no_advert, higher_prio_send_advert), in-place reload (make-before-break priority change),
signal handling and dumps, and refusing to run without pyroute2."""
from __future__ import annotations

import os
import signal

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils import addresses
from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, config, daemon
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import (
    AddVips, Machine, Params, RemoveVips, SendAdvert, SendGarp, State, Transition)

A, B = "198.51.100.1", "198.51.100.2"
T0 = 1000.0


def params(priority=100, advert_int=1.0, version=2, ip=A, **kw):
    return Params(vrid=51, priority=priority, advert_int=advert_int, version=version, primary_ip=ip, **kw)


def master(priority=100, now=T0, **kw):
    mach = Machine(params(priority, **kw))
    mach.start(now - 10)
    mach.on_timer(mach.next_deadline)
    assert mach.state == State.MASTER
    mach.next_deadline = now + mach.params.advert_int
    return mach


def backup(priority=100, now=T0, **kw):
    mach = Machine(params(priority, **kw))
    mach.start(now)
    return mach


# ---- split-brain heal ------------------------------------------------------------------------------------

def test_master_hearing_lower_priority_reannounces_by_default():
    mach = master(150)
    acts = mach.on_advert(T0 + 0.2, B, 100, 100)
    assert acts == [SendAdvert(150), SendGarp("lower_prio")]
    assert mach.state == State.MASTER


def test_lower_prio_no_advert_still_reannounces_and_garp_can_be_off():
    assert master(150, lower_prio_advert=False).on_advert(T0 + 0.2, B, 100, 100) == [SendGarp("lower_prio")]
    assert master(150, lower_prio_garp=False).on_advert(T0 + 0.2, B, 100, 100) == [SendAdvert(150)]
    assert master(150, lower_prio_advert=False, lower_prio_garp=False).on_advert(T0 + 0.2, B, 100, 100) == []


def test_higher_prio_send_advert_answers_before_yielding():
    mach = master(100, higher_prio_send_advert=True)
    acts = mach.on_advert(T0 + 0.2, B, 150, 100)
    assert acts[0] == SendAdvert(100) and acts[1] == RemoveVips()
    assert isinstance(acts[-1], Transition) and acts[-1].new == State.BACKUP
    # equal priority, higher address: the same answer
    mach = master(100, ip=A, higher_prio_send_advert=True)
    assert mach.on_advert(T0 + 0.2, B, 100, 100)[0] == SendAdvert(100)
    # off by default (keepalived)
    assert master(100).on_advert(T0 + 0.2, B, 150, 100)[0] == RemoveVips()


def _heal(winner_first: bool, higher_prio_send_advert: bool):
    """Two masters after a partition; one advert of each crosses, one of them may be lost. Returns the actions."""
    win = master(150, ip=B, higher_prio_send_advert=higher_prio_send_advert)
    lose = master(100, ip=A, higher_prio_send_advert=higher_prio_send_advert)
    win_acts = []
    if winner_first:
        # the winner's advert reaches the loser; the loser's own advert was lost in the partition's last moment
        lose_acts = lose.on_advert(T0 + 0.1, B, 150, 100)
        for act in lose_acts:
            if isinstance(act, SendAdvert):
                win_acts += win.on_advert(T0 + 0.1005, A, act.priority, 100)
    else:
        win_acts += win.on_advert(T0 + 0.1, A, 100, 100)
        lose_acts = [a for act in win_acts if isinstance(act, SendAdvert) for a in lose.on_advert(T0 + 0.1005, B, act.priority, 100)]
    return win, lose, win_acts, lose_acts


@pytest.mark.parametrize("winner_first", [True, False])
def test_split_brain_heal_winner_reannounces_whichever_advert_crosses_first(winner_first):
    win, lose, win_acts, lose_acts = _heal(winner_first, higher_prio_send_advert=True)
    assert win.state == State.MASTER and lose.state == State.BACKUP
    assert RemoveVips() in lose_acts
    assert SendGarp("lower_prio") in win_acts


def test_split_brain_heal_without_higher_prio_send_advert_misses_the_reannounce_when_the_winner_speaks_first():
    # keepalived's default: only the loser's advert makes the winner re-announce (the gap the option closes)
    win, lose, win_acts, _lose = _heal(True, higher_prio_send_advert=False)
    assert lose.state == State.BACKUP and win_acts == []
    win, lose, win_acts, _lose = _heal(False, higher_prio_send_advert=False)
    assert SendGarp("lower_prio") in win_acts


# ---- reload in place -------------------------------------------------------------------------------------

def test_master_priority_lowered_by_reload_is_make_before_break():
    old = master(150, ip=A)
    peer = backup(100, ip=B, now=T0)
    peer.on_advert(T0, A, 150, 100)                  # the peer follows the master
    acts = old.reconfigure(T0 + 0.1, params(50, ip=A))
    assert acts == [SendAdvert(50)]                  # the new priority goes out at once, VIPs kept
    assert old.state == State.MASTER and old.effective_priority == 50
    held = True
    now = T0 + 0.1
    assert peer.on_advert(now, A, 50, 100) == []     # preempting: the lower master's adverts are ignored
    events = []
    for _step in range(100):                         # bounded: each step is one advert interval or the peer's timer
        now = min(old.next_deadline, peer.next_deadline)
        if peer.next_deadline <= old.next_deadline:
            for act in peer.on_timer(now):
                if isinstance(act, AddVips):
                    events.append(("peer adds", now))
                if isinstance(act, SendAdvert):
                    for reply in old.on_advert(now, B, act.priority, 100):
                        if isinstance(reply, RemoveVips):
                            held = False
                            events.append(("old removes", now))
        else:
            for act in old.on_timer(now):
                assert not isinstance(act, RemoveVips)
                if isinstance(act, SendAdvert):
                    peer.on_advert(now, A, act.priority, 100)
        if not held:
            break
    assert events[0][0] == "peer adds" and events[1][0] == "old removes" and events[0][1] <= events[1][1]
    assert peer.state == State.MASTER and old.state == State.BACKUP
    # bounded: the peer took over within one Master_Down_Interval of the last higher advert it accepted
    assert events[0][1] - T0 <= peer.master_down_interval + 1e-9


def test_backup_reconfigure_moves_deadline_by_skew_and_restarts_on_new_interval():
    mach = backup(100)
    mach.on_advert(T0 + 1, B, 200, 100)
    deadline = mach.next_deadline
    old_skew = mach.skew_time
    assert mach.reconfigure(T0 + 1.5, params(200)) == []
    assert mach.state == State.BACKUP and mach.effective_priority == 200
    assert mach.next_deadline == pytest.approx(deadline + mach.skew_time - old_skew)
    mach.reconfigure(T0 + 2, params(200, advert_int=2.0))
    assert mach.next_deadline == pytest.approx(T0 + 2 + mach.master_down_interval)


def test_reconfigure_keeps_v3_backup_adopted_interval_and_owner_takes_over():
    mach = backup(100, version=3, advert_int=1.0)
    mach.on_advert(T0 + 1, B, 200, 50)
    mach.reconfigure(T0 + 1.1, params(120, version=3, advert_int=1.0))
    assert mach.advert_int == 0.5
    acts = mach.reconfigure(T0 + 1.2, params(255, version=3, advert_int=1.0))
    assert AddVips() in acts and mach.state == State.MASTER


def test_reconfigure_refuses_identity_changes_and_bad_values():
    mach = master(100)
    with pytest.raises(ValueError):
        mach.reconfigure(T0, params(100, version=3))
    with pytest.raises(ValueError):
        mach.reconfigure(T0, Params(vrid=52, priority=100, advert_int=1.0, version=2, primary_ip=A))
    with pytest.raises(ValueError):
        mach.reconfigure(T0, params(0))


def test_reconfigure_tracking_priority_and_preempt():
    mach = master(150)
    assert mach.reconfigure(T0 + 0.1, params(150, preempt=False), effective_priority=140) == [SendAdvert(140)]
    assert mach.preempt is False and mach.effective_priority == 140
    assert mach.reconfigure(T0 + 0.2, params(150, preempt=False), effective_priority=140) == []


EVENTS = st.lists(st.one_of(
    st.tuples(st.just("advert"), st.floats(0.001, 5), st.sampled_from([A, B, "198.51.100.3"]), st.integers(0, 255), st.integers(0, 4095)),
    st.tuples(st.just("timer"), st.floats(0.001, 5)),
    st.tuples(st.just("reload"), st.floats(0.001, 5), st.integers(1, 255), st.sampled_from([0.5, 1.0, 2.0]), st.booleans(),
              st.integers(1, 254)),
    st.tuples(st.just("fault"), st.floats(0.001, 5)),
    st.tuples(st.just("recover"), st.floats(0.001, 5)),
), max_size=40)
from tests.unit.vrrp.fakes import StillClock


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from([2, 3]), prio=st.integers(1, 255), events=EVENTS,
       lower=st.booleans(), garp=st.booleans(), higher=st.booleans())
def test_property_vips_follow_state_and_reload_never_drops_them(version, prio, events, lower, garp, higher):
    """Any sequence of adverts, timers, reloads and faults: VIPs are held exactly while MASTER, a reload never
    removes them, a Transition is the last action of its batch, and nothing raises."""
    mach = Machine(params(prio, version=version, lower_prio_advert=lower, lower_prio_garp=garp, higher_prio_send_advert=higher))
    now = T0
    held = False

    def run(acts, from_reload=False):
        nonlocal held
        kinds = [type(a) for a in acts]
        assert Transition not in kinds[:-1]
        for act in acts:
            if isinstance(act, AddVips):
                held = True
            elif isinstance(act, RemoveVips):
                assert not from_reload
                held = False
        assert held == (mach.state == State.MASTER)

    run(mach.start(now))
    for event in events:
        now += event[1]
        if event[0] == "advert":
            run(mach.on_advert(now, event[2], event[3], event[4]))
        elif event[0] == "timer":
            if mach.next_deadline is not None:
                now = max(now, mach.next_deadline)
            run(mach.on_timer(now))
        elif event[0] == "reload":
            run(mach.reconfigure(now, params(event[2], version=version, advert_int=event[3], preempt=event[4],
                                             lower_prio_advert=lower, lower_prio_garp=garp, higher_prio_send_advert=higher),
                                 effective_priority=event[5]), from_reload=True)
        elif event[0] == "fault":
            run(mach.fault(now, "test"))
        else:
            run(mach.recover(now))


# ---- signals and dumps -----------------------------------------------------------------------------------

# signal(7), Linux: default action Term or Core, catchable.
DEFAULT_TERMINATE = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGUSR1", "SIGSEGV",
                     "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
                     "SIGIO", "SIGPWR", "SIGSYS"]
HARDWARE_FAULTS = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL"}


def test_every_catchable_terminating_signal_is_handled():
    resign = set(daemon.resign_signals())
    dumps = {signal.SIGRTMIN + 2, signal.SIGRTMAX - 1}  # keepalived's JSON and STATS_CLEAR
    handled = resign | dumps | {signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE}
    for name in DEFAULT_TERMINATE:
        num = getattr(signal, name, None) or daemon.LINUX_SIGNAL_NUMBERS[name]
        if name in HARDWARE_FAULTS:
            assert num not in handled, name
        else:
            assert num in handled, name
    for num in range(signal.SIGRTMIN, signal.SIGRTMAX + 1):
        assert (num in resign) != (num in dumps), num
    assert daemon.sig_json() == signal.SIGRTMIN + 2 and daemon.sig_stats_clear() == signal.SIGRTMAX - 1
    assert not resign & {signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE, signal.SIGKILL, signal.SIGSTOP,
                         signal.SIGCHLD}
    assert daemon.signal_name(signal.SIGTERM) == "SIGTERM"
    assert daemon.signal_name(signal.SIGRTMIN + 3) == "SIGRTMIN+3"


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
    higher_prio_send_advert
    virtual_ipaddress {
        198.51.100.100/24 dev eth0
    }
}
"""


def _daemon_with_master(tmp_path):
    path = tmp_path / "vipd.conf"
    path.write_text(CONF)
    d = daemon.Daemon(str(path))
    d.loop = StillClock()
    d.cfg = config.parse_text(CONF, str(path))
    rt = daemon.InstanceRuntime(d, d.cfg.instances["VI_1"])
    rt.src_ip = A
    rt.machine = Machine(rt.params())
    for act in rt.machine.start(d.now() - 5) + rt.machine.on_timer(d.now()):
        if isinstance(act, Transition):
            rt.last_transition = {"monotonic": d.now(), "old": str(act.old), "new": str(act.new)}
    rt.vips_held = ["198.51.100.100/24"]
    rt.counters.update(adverts_in=4, adverts_out=9, became_master=1)
    rt.drops = {"ttl": 2, "auth": 1}
    d.instances["VI_1"] = rt
    return d


def test_data_and_stats_dumps_follow_keepalived_and_are_atomic(tmp_path, monkeypatch):
    d = _daemon_with_master(tmp_path)
    out = tmp_path / "dumps"
    out.mkdir()
    monkeypatch.setenv("TMPDIR", str(out))
    (out / "keepalived.data").write_text("old\n")
    path = d.dump_data()
    assert path == str(out / "keepalived.data")
    text = (out / "keepalived.data").read_text()
    for line in ("------< Global definitions >------", " Router ID = lab1", "------< VRRP Topology >------", " VRRP Instance = VI_1",
                 "   State = MASTER", "   Virtual Router ID = 51", "   Priority = 150", "   Effective priority = 150",
                 "   Advert interval = 1 sec", "   Send advert after receive higher priority advert = true",
                 "   Gratuitous ARP lower priority repeat = 5", "   Authentication type = SIMPLE_PASSWORD",
                 "     198.51.100.100/24 dev eth0 scope global set"):
        assert line in text.splitlines(), line
    assert "s3cr3tpw" not in text and "Password" not in text
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    d.dump_stats()
    stats = (out / "keepalived.stats").read_text().splitlines()
    assert stats[:5] == ["VRRP Instance: VI_1", "  Advertisements:", "    Received: 4", "    Sent: 9", "  Became master: 1"]
    assert "    TTL: 2" in stats and "    Failure: 1" in stats and "  Priority Zero:" in stats
    assert sorted(os.listdir(out)) == ["keepalived.data", "keepalived.stats"]   # no temp file left


def test_dump_failure_is_logged_not_raised(tmp_path, monkeypatch):
    d = _daemon_with_master(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    assert d.dump_data() is None and d.dump_stats() is None


# ---- missing pyroute2 ------------------------------------------------------------------------------------

def test_run_refuses_to_start_without_pyroute2(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "v.conf"
    conf.write_text(CONF)
    monkeypatch.setattr(addresses, "HAS_PYROUTE2", False)
    monkeypatch.setattr(addresses, "PYROUTE2_IMPORT_ERROR", ImportError("No module named 'pyroute2'"))
    assert cli.main(["run", "-f", str(conf), "--pidfile", str(tmp_path / "p"), "--control-socket", str(tmp_path / "s")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "pyroute2" in err[0] and "apt install python3-pyroute2" in err[0] and "pip install pyroute2" in err[0]
    assert not (tmp_path / "p").exists()
    assert cli.main(["check", "-f", str(conf)]) == 1
    assert "apt install python3-pyroute2" in capsys.readouterr().err
    assert cli.main(["check", "--syntax-only", "-f", str(conf)]) == 0
    assert capsys.readouterr().err == ""


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_property_missing_dependency_line_is_one_clean_line(text):
    saved = addresses.HAS_PYROUTE2, addresses.PYROUTE2_IMPORT_ERROR
    addresses.HAS_PYROUTE2, addresses.PYROUTE2_IMPORT_ERROR = False, ImportError(text)
    try:
        line = cli.missing_dependency()
    finally:
        addresses.HAS_PYROUTE2, addresses.PYROUTE2_IMPORT_ERROR = saved
    assert line.startswith("vipd: missing dependency pyroute2")
    assert len(line.splitlines()) == 1 and all(c.isprintable() for c in line)
