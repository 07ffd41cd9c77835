# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, clock: only monotonic time drives the protocol. The wall clock jumping by an hour (NTP step, a
manual `date -s`, a VM resumed) must cause no transition, no early or late advert, no takeover.

- A master/backup pair exchanging adverts on an injected monotonic clock, with time.time and datetime
  jumping +-1 h (examples and any jump sequence with hypothesis): the election happens once, then nothing.
- The same pair on a real asyncio loop (the loop clock is what Daemon.now() returns) with the wall clock
  patched to jump while it runs.
- No engine module reads the wall clock outside the few functions that only format times for humans.
"""
from __future__ import annotations

import ast
import asyncio
import datetime
import os
import time
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import daemon
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, SendAdvert, State, Transition

A, B = "198.51.100.1", "198.51.100.2"
ENGINE = os.path.join(os.path.dirname(daemon.__file__))


class WallClock:
    """time.time() (and datetime.now) = real time + an offset the test moves."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        real_time = time.time
        real_datetime = datetime.datetime

        class JumpyDatetime(real_datetime):
            @classmethod
            def now(cls, tz=None):
                return real_datetime.now(tz) + datetime.timedelta(seconds=self_ref.offset)
        self_ref = self
        monkeypatch.setattr(time, "time", lambda: real_time() + self.offset)
        monkeypatch.setattr(datetime, "datetime", JumpyDatetime)


def _pair(advert_int=1.0, version=2):
    m = Machine(Params(vrid=51, priority=150, advert_int=advert_int, version=version, primary_ip=A))
    b = Machine(Params(vrid=51, priority=100, advert_int=advert_int, version=version, primary_ip=B))
    return m, b


def _simulate(m, b, until, step, on_step=None, start=1000.0):
    """Adverts delivered at once between the two; returns the transitions after the first election."""
    log = []
    now = start
    for mach in (m, b):
        mach.start(now)
    elected = False
    for _i in range(int((until - start) / step) + 1):
        if on_step:
            on_step(now)
        for mach, peer, ip in ((m, b, A), (b, m, B)):
            acts = mach.on_timer(now)
            for act in acts:
                if isinstance(act, SendAdvert):
                    acts += peer.on_advert(now, ip, act.priority, int(round(mach.advert_int * 100)))
                if isinstance(act, Transition) and elected:
                    log.append((now, ip, act))
        if not elected and m.state == State.MASTER and b.state == State.BACKUP:
            elected = True
        now += step
    assert elected
    return log


@pytest.mark.parametrize("jump", [3600.0, -3600.0, 86400.0 * 365, -1e9])
def test_wall_clock_jump_causes_no_transition(monkeypatch, jump):
    wall = WallClock(monkeypatch)
    m, b = _pair()
    before = time.time()

    def on_step(now):
        if now >= 1010.0:
            wall.offset = jump
        if now >= 1020.0:
            wall.offset = -jump
    assert _simulate(m, b, 1040.0, 0.05, on_step) == []
    assert abs(time.time() - before) > 3000  # the jump really happened around the machines
    assert m.state == State.MASTER and b.state == State.BACKUP


@settings(max_examples=200, deadline=None)
@given(jumps=st.lists(st.tuples(st.floats(1001.0, 1030.0), st.floats(-1e7, 1e7, allow_nan=False)), max_size=8),
       version=st.sampled_from([2, 3]))
def test_any_wall_clock_jumps_cause_no_transition(jumps, version):
    offsets = sorted(jumps)
    state = {"offset": 0.0}
    real_time = time.time

    def on_step(now):
        for at, off in offsets:
            if at <= now:
                state["offset"] = off
    time.time = lambda: real_time() + state["offset"]  # restored below; monkeypatch is function-scoped
    try:
        m, b = _pair(advert_int=1.0 if version == 2 else 0.5, version=version)
        assert _simulate(m, b, 1032.0, 0.05, on_step) == []
    finally:
        time.time = real_time


def test_daemon_now_is_the_loop_clock_and_the_loop_clock_is_monotonic():
    fake = SimpleNamespace(loop=SimpleNamespace(time=lambda: 42.5))
    assert daemon.Daemon.now(fake) == 42.5
    loop = asyncio.new_event_loop()
    try:
        assert abs(loop.time() - time.monotonic()) < 1.0
    finally:
        loop.close()


def test_pair_on_a_real_event_loop_ignores_wall_clock_jumps(monkeypatch):
    """The daemon's timer pattern (loop.call_at(machine.next_deadline)) with time.time jumping while it runs."""
    wall = WallClock(monkeypatch)
    loop = asyncio.new_event_loop()
    m, b = _pair(advert_int=0.05, version=3)
    transitions = []
    timers = {}

    def execute(mach, peer, ip, acts):
        for act in acts:
            if isinstance(act, Transition):
                transitions.append((loop.time(), ip, act.new))
            if isinstance(act, SendAdvert):
                interval = int(round(mach.advert_int * 100))
                loop.call_soon(lambda p=act.priority, i=interval: execute(peer, mach, B if ip == A else A,
                                                                          peer.on_advert(loop.time(), ip, p, i)))
        arm(mach, peer, ip)

    def arm(mach, peer, ip):
        if timers.get(ip):
            timers[ip].cancel()
        if mach.next_deadline is not None:
            timers[ip] = loop.call_at(mach.next_deadline, lambda: execute(mach, peer, ip, mach.on_timer(loop.time())))

    def jump(offset):
        wall.offset = offset

    async def scenario():
        execute(m, b, A, m.start(loop.time()))
        execute(b, m, B, b.start(loop.time()))
        await asyncio.sleep(0.5)               # election: master-down interval of ~0.17 s
        assert m.state == State.MASTER and b.state == State.BACKUP
        settled = len(transitions)
        loop.call_later(0.1, jump, 3600.0)
        loop.call_later(0.4, jump, -3600.0)
        loop.call_later(0.7, jump, 0.0)
        await asyncio.sleep(1.0)
        return settled
    try:
        settled = loop.run_until_complete(scenario())
    finally:
        for handle in timers.values():
            handle.cancel()
        loop.close()
    assert transitions[settled:] == [], transitions
    assert m.state == State.MASTER and b.state == State.BACKUP


# Code that may read the wall clock: it only formats times for humans (status, keepalived-style dumps); "*" = the whole module.
WALL_OK = {("daemon.py", "_wall"), ("daemon.py", "_epoch"), ("daemon.py", "_instance_lines"), ("dumps.py", "*"),
           ("conflicts.py", "iso"),  # formats a VRID conflict's first/last seen
           ("daemon.py", "status"),  # the wall time that goes with the loop clock, for those stamps in the status
           # the kernel stamps a datagram's arrival in wall time: the offset that brings it to the loop clock (a step
           # between two reads is detected and the stamps of that read are not used: netio.Channel._receive_timed)
           ("netio.py", "_wall")}
WALL_CALLS = {("time", "time"), ("time", "ctime"), ("time", "localtime"), ("time", "gmtime"), ("time", "strftime"),
              ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}


def _wall_clock_calls(tree):
    """(line, innermost enclosing function name or "<module>") of every wall-clock call in a module."""
    out = []

    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                base = child.func.value
                base_name = base.id if isinstance(base, ast.Name) else (base.attr if isinstance(base, ast.Attribute) else "")
                if (base_name, child.func.attr) in WALL_CALLS:
                    out.append((child.lineno, owner))
            visit(child, inner)
    visit(tree, "<module>")
    return out


def test_no_engine_module_reads_the_wall_clock_outside_display_code():
    offenders, allowed = [], 0
    for name in sorted(os.listdir(ENGINE)):
        if name.endswith(".py"):
            with open(os.path.join(ENGINE, name)) as handle:
                for line, owner in _wall_clock_calls(ast.parse(handle.read())):
                    if (name, owner) in WALL_OK or (name, "*") in WALL_OK:
                        allowed += 1
                    else:
                        offenders.append("%s:%d in %s" % (name, line, owner))
    assert offenders == []
    assert allowed >= 2  # the scan sees the display code's calls, so it would see others


def test_the_scan_finds_a_wall_clock_read_in_protocol_code():
    tree = ast.parse("import time\nclass M:\n    def on_timer(self):\n        if time.time() > self.deadline:\n            pass\n")
    assert _wall_clock_calls(tree) == [(4, "on_timer")]
