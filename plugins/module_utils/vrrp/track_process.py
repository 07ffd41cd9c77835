# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7's `vrrp_track_process` / `track_process`, without the process-event connector.

keepalived learns of forks, execs and exits from the kernel's proc connector, which delivers nothing
inside a network namespace other than the initial one. vipd instead:
- scans /proc on a timer (SCAN_INTERVAL, at most MAX_SCAN_PIDS entries a scan), matching each process
  as keepalived's read_procs()/check_process() do: /proc/PID/stat's comm (15 characters, zombies skipped)
  or, with full_command / parameters / param_match, argv[0] and the NUL-separated parameters of
  /proc/PID/cmdline (exact, partial or initial);
- holds a pidfd (os.pidfd_open, Linux 5.3+) of each matched process, read in the event loop: an exit is
  seen at once, not at the next scan;
- counts the matches and decides quorum (quorum <= count <= quorum_max) with keepalived's delays:
  `terminate_delay` before a loss counts, `fork_delay` before a gain by a child of a tracked process
  counts (`delay` sets both); a new process found by exec (not a fork of a tracked one) counts at once.

Pure parts (no I/O, testable alone): TrackProcess (the block), match(), QuorumState. The I/O part:
ProcessScanner. Parsing registers itself with config.py (vrrp_track_process block, track_process
instance keyword).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

from . import config, config_render

LOG = logging.getLogger("vipd")

EXT_BLOCK = "vrrp_track_process"
EXT_KEY = "track_process"
UINT_MAX = 2 ** 32 - 1
COMM_LEN = 15          # TASK_COMM_LEN - 1
SCAN_INTERVAL = 1.0    # seconds between /proc scans (exits are seen at once through pidfds)
MAX_SCAN_PIDS = 65536  # a scan reads at most this many /proc entries
MAX_PIDFDS = 1024      # beyond this many matched processes, exits are seen by the scan only


# ---------------------------------------------------------------- model

@dataclass
class TrackProcess:
    """`vrrp_track_process NAME { process PATH [PARAMS...]; param_match ...; quorum N; ... }`."""

    name: str
    process: str = ""
    params: Optional[List[str]] = None  # None: no parameters given
    param_match: Optional[str] = None   # None (name only), "exact", "partial" or "initial"
    full_command: bool = False          # match argv[0] of cmdline, not comm
    quorum: int = 1
    quorum_max: int = UINT_MAX
    weight: int = 0
    weight_reverse: bool = False
    terminate_delay: float = 0.0
    fork_delay: float = 0.0
    source: Tuple[str, int] = field(default=("", 0), compare=False)

    def params_blob(self) -> Optional[bytes]:
        if self.params is None:
            return None
        return b"".join(os.fsencode(p) + b"\0" for p in self.params)

    def cmdline_bytes_needed(self) -> int:
        """keepalived's vrrp_max_process_name_len for this process (path, NUL, parameters)."""
        return len(os.fsencode(self.process)) + 1 + len(self.params_blob() or b"")


def processes_of(cfg) -> Dict[str, TrackProcess]:
    return (getattr(cfg, "extensions", None) or {}).get(EXT_BLOCK, {})


def tracked_by(instance) -> List[Tuple[str, int, bool]]:
    """(name, weight, reverse) of each track_process line of an instance (weights already resolved)."""
    return [tuple(item) for item in (getattr(instance, "extensions", None) or {}).get(EXT_KEY, [])]


# ---------------------------------------------------------------- matching (pure)

def check_params(tp: TrackProcess, params: Optional[bytes]) -> bool:
    """keepalived track_process.c check_params(); `params` None: the cmdline had no NUL after argv[0]."""
    expected = tp.params_blob()
    if tp.param_match == "exact" and expected is None and params == b"":
        return True
    if params is None:
        # keepalived's negative length: only "any parameters" accepts it.
        return tp.param_match != "exact" and expected is None
    want = expected or b""
    if len(params) < len(want):
        return False
    if tp.param_match == "exact":
        return len(params) == len(want) and params == want
    if expected is None:
        return True
    if tp.param_match == "partial":
        return params.startswith(want)
    # initial: the last parameter given only has to start the process's parameter
    return len(want) == 1 or params.startswith(want[:-1])


def match(tp: TrackProcess, comm: Optional[bytes], cmdline: Optional[bytes]) -> bool:
    """Does a process with this comm (None: zombie/unknown) and cmdline (None: unreadable) count for tp?"""
    path = os.fsencode(tp.process)
    if tp.full_command:
        if cmdline is None:
            return False
        name, sep, rest = cmdline.partition(b"\0")
        if name != path:
            return False
        params = rest if sep else None
    else:
        if comm is None or comm != path:
            return False
        params = b""
    if tp.param_match is None:
        return True
    return check_params(tp, params)


def parse_stat(data: bytes) -> Tuple[Optional[bytes], int]:
    """(comm, ppid) from /proc/PID/stat; comm None for a zombie or an unreadable line."""
    start = data.find(b"(")
    end = data.rfind(b")")
    if start < 0 or end < start:
        return None, 0
    comm = data[start + 1:end]
    rest = data[end + 2:].split()
    if not rest:
        return None, 0
    ppid = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 0
    return (None if rest[0] == b"Z" else comm), ppid


# ---------------------------------------------------------------- quorum (pure)

class QuorumState:
    """Process count and quorum of one vrrp_track_process, as keepalived's track_process.c moves them.

    Every method returns the new have_quorum when it changed, else None. `deadline` is when expire()
    must be called next (a pending fork_delay / terminate_delay), or None.
    """

    def __init__(self, tp: TrackProcess):
        self.tp = tp
        self.count = 0
        self.have_quorum = False
        self.timer: Optional[Tuple[str, float]] = None  # ("fork" | "terminate", deadline)

    @property
    def deadline(self) -> Optional[float]:
        return self.timer[1] if self.timer else None

    def _in_range(self) -> bool:
        return self.tp.quorum <= self.count <= self.tp.quorum_max

    def _update(self, now_up: bool) -> Optional[bool]:
        if now_up == self.have_quorum:
            return None
        self.have_quorum = now_up
        return now_up

    def initial(self, count: int) -> bool:
        """keepalived init_track_processes(): the first count decides at once, no delay."""
        self.count = count
        self.timer = None
        self.have_quorum = self._in_range()
        return self.have_quorum

    def add(self, now: float, forked: bool = False) -> Optional[bool]:
        """A matching process appeared: by fork of a tracked process (fork_delay applies) or by exec."""
        self.count += 1
        tp = self.tp
        if self.count != tp.quorum and self.count != tp.quorum_max + 1:
            return None
        if self.timer and self.timer[0] == "terminate":
            self.timer = None
        elif forked and tp.fork_delay:
            self.timer = ("fork", now + tp.fork_delay)
            return None
        return self._update(self.count == tp.quorum)

    def remove(self, now: float, exited: bool = True) -> Optional[bool]:
        """A counted process exited (terminate_delay applies) or no longer matches (exited=False: at once)."""
        old = self.count
        self.count = max(0, self.count - 1)
        tp = self.tp
        if old != tp.quorum and self.count != tp.quorum_max:
            return None
        if self.timer and self.timer[0] == "fork":
            self.timer = None
        elif exited and tp.terminate_delay:
            self.timer = ("terminate", now + tp.terminate_delay)
            return None
        return self._update(self.count == tp.quorum_max)

    def expire(self, now: float) -> Optional[bool]:
        if self.timer is None or now < self.timer[1]:
            return None
        self.timer = None
        return self._update(self._in_range())


# ---------------------------------------------------------------- parsing

def _block(ctx, node):
    name = ctx.block_name(node)
    if name is None or not ctx.need_block(node):
        return
    tp = TrackProcess(name=name, source=(node.file, node.line))
    ok = True
    for child in node.children:
        k = child.keyword
        if k == "process":
            if not ctx.no_block(child):
                ok = False
            elif not child.args:
                ctx.error(child, "keyword 'process' needs a process name")
                ok = False
            elif tp.process:
                ctx.error(child, "vrrp_track_process %s: process is already set" % ctx.show(node, name, True))
                ok = False
            else:
                values = child.values
                tp.process = values[0]
                if len(values) > 1:
                    tp.params = values[1:]
                    if tp.param_match is None:
                        tp.param_match = "exact"
                    tp.full_command = True
        elif k == "param_match":
            if not ctx.no_block(child):
                ok = False
            elif not child.args:
                tp.param_match, tp.full_command = "exact", True
            elif len(child.args) == 1 and child.values[0] in ("initial", "partial"):
                tp.param_match, tp.full_command = child.values[0], True
            else:
                ctx.error(child, "param_match %s is not valid: must be initial or partial (or nothing for exact)"
                          % ctx.show(child, " ".join(child.values)))
                ok = False
        elif k == "weight":
            found = ctx.weight(child, child.values if ctx.no_block(child) else [], 254, "vrrp_track_process weight",
                               "weight takes N [reverse]")
            if found is None:
                ok = False
            else:
                tp.weight, tp.weight_reverse = found[0], found[1] is not None
        elif k == "quorum":
            value = ctx.integer(child, 1, 65535)
            if value is None:
                ok = False
            elif value > tp.quorum_max:
                ctx.error(child, "quorum %d is greater than quorum_max %d" % (value, tp.quorum_max))
                ok = False
            else:
                tp.quorum = value
        elif k == "quorum_max":
            value = ctx.integer(child, 0, 65535)
            if value is None:
                ok = False
            elif (value or tp.quorum > 1) and value < tp.quorum:
                ctx.error(child, "quorum_max %d is less than quorum %d" % (value, tp.quorum))
                ok = False
            else:
                # keepalived: quorum_max 0 means "no such process may run" (quorum 0)
                tp.quorum_max = value
                if value == 0:
                    tp.quorum = 0
                elif not tp.quorum:
                    tp.quorum = 1
        elif k in ("delay", "terminate_delay", "fork_delay"):
            value = ctx.seconds(child, "0.000001", 3600)
            if value is None:
                ok = False
            else:
                if k != "fork_delay":
                    tp.terminate_delay = value
                if k != "terminate_delay":
                    tp.fork_delay = value
        elif k == "full_command":
            tp.full_command = ctx.flag(child)
        else:
            ctx.unknown(child, "vrrp_track_process")
            ok = False
    if not tp.process:
        ctx.error(node, "vrrp_track_process %s has no 'process'" % ctx.show(node, name, True))
        return
    if not tp.full_command and len(os.fsencode(tp.process)) > COMM_LEN:
        ctx.warning(node, "vrrp_track_process %s: process name is longer than %d characters and can never match a "
                    "process's comm (as keepalived); add full_command to match the command line"
                    % (ctx.show(node, name, True), COMM_LEN))
    procs = ctx.config.extensions.setdefault(EXT_BLOCK, {})
    if name in procs:
        ctx.error(node, "vrrp_track_process %s is defined twice" % ctx.show(node, name, True))
    elif ok:
        procs[name] = tp
    else:
        ctx.config.extensions.setdefault(EXT_BLOCK + ".broken", set()).add(name)


def _instance_keyword(ctx, node, inst):
    """`track_process { NAME [weight N [reverse|noreverse]] }`: resolved now, as keepalived (defined before)."""
    if not ctx.need_block(node):
        return
    procs = ctx.config.extensions.get(EXT_BLOCK, {})
    broken = ctx.config.extensions.get(EXT_BLOCK + ".broken", set())
    items = inst.extensions.setdefault(EXT_KEY, [])
    for line in node.children:
        if not ctx.no_block(line):
            continue
        name = line.keyword
        words = line.values
        tp = procs.get(name)
        if tp is None:
            if name not in broken:
                ctx.error(line, "track_process: no vrrp_track_process %s is defined before %s %s"
                          % (ctx.show(line, name, True), "vrrp_sync_group" if hasattr(inst, "instances") else "vrrp_instance",
                             ctx.show(line, inst.name, True)))
            continue
        if any(item[0] == name for item in items):
            ctx.error(line, "track_process %s is listed twice" % ctx.show(line, name, True))
            continue
        weight, reverse = tp.weight, tp.weight_reverse
        if words:
            found = ctx.weight(line, words, 254, "track_process weight", "track_process line takes NAME [weight N [reverse|noreverse]]",
                               after_keyword=False, reverse_words=("reverse", "noreverse"))
            if found is None:
                continue
            weight = found[0]
            if found[1] is not None:
                reverse = found[1] == "reverse"
        items.append([name, weight, reverse])


def _render_instance(inst) -> List[str]:
    items = tracked_by(inst)
    if not items:
        return []
    # explicit weight and (no)reverse: the line reads back the same whatever the block's defaults are
    return (["track_process {"] + ["    %s weight %d %s" % (config_render.quote_token(n, "track_process name"), w, "reverse" if r else "noreverse")
                                   for n, w, r in items] + ["}"])


config.register_block(EXT_BLOCK, _block)
config.register_instance_keyword(EXT_KEY, _instance_keyword, _render_instance)


# ---------------------------------------------------------------- the scanner (I/O)

class ProcessScanner:
    """Keeps every tracked process's QuorumState current; calls on_change(name, have_quorum)."""

    def __init__(self, specs: Dict[str, TrackProcess], on_change: Callable[[str, bool], None], proc: str = "/proc"):
        self.specs = dict(specs)
        self.on_change = on_change
        self.proc = proc
        self.states = dict((name, QuorumState(tp)) for name, tp in self.specs.items())
        self.pids: Dict[str, Set[int]] = dict((name, set()) for name in self.specs)
        self.pidfds: Dict[int, int] = {}
        self.loop = None
        self.scan_handle = None
        self.timer_handles: Dict[str, object] = {}
        self.use_cmdline = any(tp.full_command for tp in self.specs.values())
        self.cmdline_len = max([tp.cmdline_bytes_needed() for tp in self.specs.values()] or [0]) + 2
        self.truncated = False
        self.pidfd_ok = hasattr(os, "pidfd_open")

    # ---- reading /proc ----

    def _read(self, path: str, size: int) -> Optional[bytes]:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            return os.read(fd, size)
        except OSError:
            return None
        finally:
            os.close(fd)

    def read_process(self, pid: int) -> Optional[Tuple[Optional[bytes], Optional[bytes], int]]:
        """(comm, cmdline, ppid) of a pid, or None when it is gone."""
        base = "%s/%d/" % (self.proc, pid)
        stat = self._read(base + "stat", 512)
        if stat is None:
            return None
        comm, ppid = parse_stat(stat)
        if comm is None:
            return None  # a zombie (its cmdline is empty: keepalived never counts one either)
        cmdline = self._read(base + "cmdline", self.cmdline_len) if self.use_cmdline else None
        return comm, cmdline, ppid

    def snapshot(self) -> Dict[str, Dict[int, int]]:
        """{name: {pid: ppid}} of every matching process now (at most MAX_SCAN_PIDS entries read)."""
        found: Dict[str, Dict[int, int]] = dict((name, {}) for name in self.specs)
        seen = 0
        try:
            entries = os.scandir(self.proc)
        except OSError as exc:
            LOG.error("track_process: cannot read %s: %s", self.proc, exc)
            return found
        with entries:
            for entry in entries:
                if not entry.name.isdigit():
                    continue
                seen += 1
                if seen > MAX_SCAN_PIDS:
                    if not self.truncated:
                        LOG.warning("track_process: more than %d processes, the scan stops there", MAX_SCAN_PIDS)
                    self.truncated = True
                    break
                pid = int(entry.name)
                info = self.read_process(pid)
                if info is None:
                    continue
                comm, cmdline, ppid = info
                for name, tp in self.specs.items():
                    if match(tp, comm, cmdline):
                        found[name][pid] = ppid
        return found

    # ---- life cycle ----

    def start(self, loop) -> None:
        """First scan (synchronous: the instances attach with a known quorum), then the timer."""
        self.loop = loop
        snap = self.snapshot()
        for name, pids in snap.items():
            self.pids[name] = set(pids)
            have = self.states[name].initial(len(pids))
            LOG.info("track_process %s: %d process(es), quorum %s", name, len(pids), "achieved" if have else "not achieved")
        self._watch_all()
        self._schedule_scan()

    def have_quorum(self, name: str) -> Optional[bool]:
        state = self.states.get(name)
        return state.have_quorum if state is not None else None

    def close(self) -> None:
        if self.scan_handle is not None:
            self.scan_handle.cancel()
            self.scan_handle = None
        for handle in self.timer_handles.values():
            handle.cancel()
        self.timer_handles = {}
        for pid in list(self.pidfds):
            self._unwatch(pid)

    def _schedule_scan(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.scan_handle = self.loop.call_later(SCAN_INTERVAL, self._on_scan_timer)

    def _on_scan_timer(self) -> None:
        self.scan_handle = None
        try:
            self.rescan()
        finally:
            self._schedule_scan()

    # ---- changes ----

    def rescan(self) -> None:
        now = self.loop.time()
        snap = self.snapshot()
        for name, found in snap.items():
            state = self.states[name]
            old = self.pids[name]
            before = set(old)
            for pid in sorted(old - set(found)):
                old.discard(pid)
                exited = not os.path.exists("%s/%d" % (self.proc, pid))
                self._changed(name, state.remove(now, exited=exited))
            for pid in sorted(set(found) - old):
                old.add(pid)
                # keepalived counts a fork of a tracked process (fork_delay) apart from an exec (at once)
                self._changed(name, state.add(now, forked=found[pid] in before))
            self._arm(name)
        self._watch_all()

    def process_exited(self, pid: int) -> None:
        """A pidfd said `pid` is gone: count the exit now."""
        self._unwatch(pid)
        now = self.loop.time()
        for name, pids in self.pids.items():
            if pid in pids:
                pids.discard(pid)
                self._changed(name, self.states[name].remove(now, exited=True))
                self._arm(name)

    def _changed(self, name: str, result: Optional[bool]) -> None:
        if result is None:
            return
        state = self.states[name]
        LOG.info("track_process %s: quorum %s (%d process(es), quorum %d..%d)", name, "gained" if result else "lost",
                 state.count, state.tp.quorum, state.tp.quorum_max)
        self.on_change(name, result)

    def _arm(self, name: str) -> None:
        handle = self.timer_handles.pop(name, None)
        if handle is not None:
            handle.cancel()
        deadline = self.states[name].deadline
        if deadline is not None and self.loop is not None:
            self.timer_handles[name] = self.loop.call_at(deadline, self._expire, name)

    def _expire(self, name: str) -> None:
        self.timer_handles.pop(name, None)
        state = self.states.get(name)
        if state is not None:
            self._changed(name, state.expire(self.loop.time()))
            self._arm(name)

    # ---- pidfds ----

    def _watch_all(self) -> None:
        wanted = set().union(*self.pids.values()) if self.pids else set()
        for pid in list(self.pidfds):
            if pid not in wanted:
                self._unwatch(pid)
        if not self.pidfd_ok or self.loop is None:
            return
        for pid in sorted(wanted):
            if pid in self.pidfds or len(self.pidfds) >= MAX_PIDFDS:
                continue
            try:
                fd = os.pidfd_open(pid)
            except OSError as exc:
                if exc.errno in (38, 1):  # ENOSYS / EPERM: no pidfds here, the scan alone then
                    self.pidfd_ok = False
                    return
                continue  # gone already: the next scan counts it
            self.pidfds[pid] = fd
            self.loop.add_reader(fd, self.process_exited, pid)

    def _unwatch(self, pid: int) -> None:
        fd = self.pidfds.pop(pid, None)
        if fd is None:
            return
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(fd)
        os.close(fd)

    def describe(self) -> List[dict]:
        out = []
        for name, state in self.states.items():
            tp = state.tp
            out.append({"name": name, "process": tp.process, "count": state.count, "quorum": tp.quorum,
                        "quorum_max": tp.quorum_max, "have_quorum": state.have_quorum,
                        "pending": state.timer[0] if state.timer else None, "pids": sorted(self.pids.get(name, ()))})
        return out


__all__ = ["TrackProcess", "QuorumState", "ProcessScanner", "match", "check_params", "parse_stat", "processes_of",
           "tracked_by", "EXT_BLOCK", "EXT_KEY"]
