# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a VRRP node -- vipd or keepalived 2.2.7 -- on a lab host, from one keepalived-syntax config.

The compatibility promise is that the same config text drives both implementations, so a
:class:`Node` takes exactly one config text (see :func:`render_config`) and an ``impl`` name.
The node runs inside the lab host (its network, mount, UTS and PID namespaces, via
:meth:`Lab.popen`), and dies at the latest with the lab.

State queries:

- vipd: the control socket (the same JSON that ``vipd status --json`` prints).
- keepalived: the last "(VI_1) Entering X STATE" line of its log (its notify scripts run
  unordered, see :meth:`Node.state`; they only feed :meth:`Node.notify_log`), and
  :meth:`Node.holds` looks at the host's addresses; invalid packets come from its SIGUSR2
  stats file (``$TMPDIR/keepalived.stats``, a private TMPDIR per node) and from its log lines.

Packets on the wire: :class:`Capture` runs tcpdump on the lab's bridge (in the switch
namespace) and parses the pcap itself, so adverts per source and GARPs per sender are counted
on the wire, not as the daemons report them.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from tests.lab import Lab, wait_until
from tests.lab.lab import BRIDGE, _children, _proc_starttime

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIPD = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
IMPLS = ("vipd", "keepalived")
VIP = "198.51.100.100"

# keepalived 2.2.7 log lines that mean a received packet was refused or misread (strings of the
# 2.2.7 binary: vrrp.c receive checks). Any of them in an interop run is a failure.
KEEPALIVED_RX_ERRORS = re.compile(
    r"vrrp packet too (short|long)|invalid TTL/HL|wrong version|received a \d+ auth|received an invalid passwd"
    r"|advertisement interval mismatch|Invalid packet type|unexpected ip number count|ip_tot_len mismatch"
    r"|Setting unicast VRRPv3 checksum to old version|icast packet but received|expected \d+ VIPs but received"
    r"|not present in MASTER advert|not a unicast peer|TTL/HL \d+ not in range|Invalid auth type"
    r"|Invalid VRRPv3 checksum|AH header|IPSEC-AH")

_COMPILED: set = set()


def compile_engine() -> None:
    """Compile the engine that the launcher loads, once per process, as the role does on a host (roles/vrrp/tasks/
    vipd.yml). Where Python writes no bytecode (PYTHONDONTWRITEBYTECODE, as on the test VMs, or the unit's read-only
    engine) every vipd start would compile it again: 0.2-0.3 s of each start, which the benchmarks would count."""
    engine = os.environ.get("VIPD_ENGINE_DIR") or os.path.join(REPO, "plugins", "module_utils")
    if engine not in _COMPILED:
        _COMPILED.add(engine)
        subprocess.run([sys.executable, "-m", "compileall", "-q", engine], capture_output=True, timeout=300, check=True)


class PeerError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------- config
@dataclass
class InstanceSpec:
    """One vrrp_instance, written in keepalived syntax that both implementations read."""

    name: str = "VI_1"
    vrid: int = 51
    priority: int = 100
    version: int = 2
    advert_int: float = 1.0
    vips: Sequence[str] = (VIP + "/24",)
    interface: str = "eth0"
    state: str = "BACKUP"
    unicast_src_ip: Optional[str] = None
    unicast_peers: Sequence[str] = ()
    nopreempt: bool = False
    auth_pass: Optional[str] = None
    garp_master_delay: Optional[int] = None


def _fmt_interval(value: float) -> str:
    return ("%d" % value) if float(value).is_integer() else ("%g" % value)


def render_config(instances: Sequence[InstanceSpec], notify_script: Optional[str] = None, router_id: str = "lab") -> str:
    """keepalived.conf text; with ``notify_script`` every state change runs ``SCRIPT INSTANCE STATE``."""
    lines = ["global_defs {", "    router_id %s" % router_id, "    script_user root", "}", ""]
    for inst in instances:
        lines += ["vrrp_instance %s {" % inst.name,
                  "    state %s" % inst.state,
                  "    interface %s" % inst.interface,
                  "    virtual_router_id %d" % inst.vrid,
                  "    priority %d" % inst.priority,
                  "    advert_int %s" % _fmt_interval(inst.advert_int),
                  "    version %d" % inst.version]
        if inst.nopreempt:
            lines.append("    nopreempt")
        if inst.garp_master_delay is not None:
            lines.append("    garp_master_delay %d" % inst.garp_master_delay)
        if inst.auth_pass:
            lines += ["    authentication {", "        auth_type PASS", "        auth_pass %s" % inst.auth_pass, "    }"]
        if inst.unicast_peers:
            if inst.unicast_src_ip:
                lines.append("    unicast_src_ip %s" % inst.unicast_src_ip)
            lines.append("    unicast_peer {")
            lines += ["        %s" % peer for peer in inst.unicast_peers]
            lines.append("    }")
        lines.append("    virtual_ipaddress {")
        lines += ["        %s" % vip for vip in inst.vips]
        lines.append("    }")
        if notify_script:
            for state in ("MASTER", "BACKUP", "FAULT"):
                lines.append('    notify_%s "%s %s %s"' % (state.lower(), notify_script, inst.name, state))
        lines += ["}", ""]
    return "\n".join(lines)


NOTIFY_SH = """#!/bin/sh
# $1 instance, $2 state: the state in state.$1 (atomically; own temp file, as two runs may overlap), and a log line.
# keepalived does not wait for one notify script before the next: the LAST state written is not always the current one.
printf '%%s\\n' "$2" > "%(dir)s/state.$1.$$" && mv -f "%(dir)s/state.$1.$$" "%(dir)s/state.$1"
echo "$1 $2" >> "%(dir)s/notify.log"
"""


# ---------------------------------------------------------------------------------------- /proc
def proc_tree(pid: int) -> List[int]:
    """``pid`` and all its descendants (outer PIDs), parents first."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        if _proc_starttime(p) is None:
            continue
        out.append(p)
        todo.extend(_children(p))
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time of one process (all its threads), in seconds.

    /proc/PID/task/TID/schedstat (nanoseconds on CPU) where the kernel has it: utime + stime in
    /proc/PID/stat count whole clock ticks (10 ms), too coarse for an idle daemon.
    """
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def rss_kb(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------- node
class Node:
    """One VRRP daemon on one lab host. ``impl`` is "vipd" or "keepalived"."""

    def __init__(self, lab: Lab, host: str, impl: str, config_text: str, tag: str = ""):
        if impl not in IMPLS:
            raise PeerError("unknown implementation %r" % impl)
        self.lab, self.host, self.impl = lab, host, impl
        self.netns = lab.host(host).netns
        self.ifname = lab.host(host).ifname
        self.dir = os.path.join(lab.workdir, "peers", "%s-%s%s" % (host, impl, ("-" + tag) if tag else ""))
        self.tmpdir = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.notify_script = os.path.join(self.dir, "notify.sh")
        with open(self.notify_script, "w") as f:
            f.write(NOTIFY_SH % {"dir": self.dir})
        os.chmod(self.notify_script, 0o755)
        self.config_text = config_text.replace("@NOTIFY@", self.notify_script)
        self.config_path = os.path.join(self.dir, "vrrp.conf")
        with open(self.config_path, "w") as f:
            f.write(self.config_text)
        os.chmod(self.config_path, 0o600)
        self.pidfile = os.path.join(self.dir, "main.pid")
        self.vrrp_pidfile = os.path.join(self.dir, "vrrp.pid")
        self.socket_path = os.path.join(self.dir, "control.sock")
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.proc: Optional[subprocess.Popen] = None
        self.main_pid = 0  # outer PID of the daemon (keepalived: the parent)
        self._main_start = ""
        self._log_offset = 0
        self.started_at = 0.0  # monotonic

    # ------------------------------------------------------------ life cycle
    def argv(self) -> List[str]:
        if self.impl == "vipd":
            return [sys.executable, VIPD, "run", "-f", self.config_path, "--pidfile", self.pidfile,
                    "--control-socket", self.socket_path, "--state-dir", os.path.join(self.dir, "state")]
        # --vrrp only, no fork, log to the console in detail; own pid files so several run at once.
        return ["keepalived", "-n", "-l", "-D", "--vrrp", "-f", self.config_path, "-p", self.pidfile,
                "-r", self.vrrp_pidfile]

    def start(self, wait: bool = True) -> "Node":
        if self.running():
            raise PeerError("%s already running" % self)
        if self.impl == "vipd":
            compile_engine()
        # Stale pid files from a killed run make keepalived refuse to start ("already running").
        for path in (self.socket_path, self.pidfile, self.vrrp_pidfile, os.path.join(self.dir, "state.VI_1")):
            if os.path.exists(path):
                os.unlink(path)
        log = open(self.log_path, "a")
        log.write("=== start %s\n" % time.strftime("%H:%M:%S"))
        log.flush()
        self._log_offset = log.tell()  # keepalived's state is read from this run's lines only (see state())
        # TMPDIR: keepalived writes keepalived.stats / keepalived.data there; /tmp is shared by lab hosts.
        env = dict(os.environ, TMPDIR=self.tmpdir, PYTHONUNBUFFERED="1")
        self.started_at = time.monotonic()
        self.proc = self.lab.popen(self.host, self.argv(), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()

        # nsenter forks (to enter the PID namespace) and waits: the daemon is its child.
        def child():
            if self.proc.poll() is not None:
                raise PeerError("%s exited at once (rc=%s): %s" % (self, self.proc.returncode, self.log_tail()))
            kids = _children(self.proc.pid)
            if not kids:
                return None
            comm = open("/proc/%d/comm" % kids[0]).read().strip() if _proc_starttime(kids[0]) else ""
            return kids[0] if comm != "nsenter" else None
        self.main_pid = wait_until(child, timeout=10, interval=0.005, what="%s process" % self)
        self._main_start = _proc_starttime(self.main_pid) or ""
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15):
        if self.impl == "vipd":
            wait_until(lambda: self._status_or_none() is not None, timeout=timeout, interval=0.05,
                       what="%s control socket" % self)
        else:
            wait_until(lambda: self.state() is not None or not self.running(), timeout=timeout, interval=0.05,
                       what="%s first state" % self)
        if not self.running():
            raise PeerError("%s died during start: %s" % (self, self.log_tail()))

    def running(self) -> bool:
        return bool(self.main_pid) and _proc_starttime(self.main_pid) == self._main_start

    def pids(self) -> List[int]:
        """Every process of this daemon (keepalived: parent and VRRP child; notify scripts excluded)."""
        if not self.running():
            return []
        return [p for p in proc_tree(self.main_pid) if _comm(p) in ("keepalived", "python", "python3", "vipd")
                or _comm(p).startswith("python")]

    @contextlib.contextmanager
    def stalled(self):
        """The daemon's processes stopped (SIGSTOP) while the block runs, then continued. nsenter passes its child's
        stop on to itself (util-linux), so the nsenter processes above the daemon are continued too."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids + ([self.proc.pid] + _children(self.proc.pid) if self.proc is not None else []):
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def terminate(self):
        """SIGTERM (graceful resignation) without waiting; see :meth:`stop`."""
        if self.running():
            os.kill(self.main_pid, signal.SIGTERM)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (graceful resignation) and wait for the exit; returns the exit status."""
        if not self.running():
            return self._reap()
        self.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PeerError("%s did not exit %.0fs after SIGTERM" % (self, timeout)) from None
        return self._reap()

    def kill(self):
        """SIGKILL every process of the daemon at once (children first: keepalived's VRRP child must
        not get a chance to resign when its parent dies)."""
        for pid in reversed(proc_tree(self.main_pid) if self.running() else []):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reap()

    def _reap(self) -> int:
        rc = 0
        if self.proc is not None:
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise PeerError("%s: nsenter did not exit" % self) from None
        self.main_pid = 0
        return rc

    def link(self, up: bool):
        self.lab.run(self.host, ["ip", "link", "set", self.ifname, "up" if up else "down"], check=True)

    def flush_vips(self, vips: Sequence[str] = (VIP + "/24",)):
        """What a reboot does to addresses a killed daemon left behind."""
        for vip in vips:
            self.lab.run(self.host, ["ip", "addr", "del", vip, "dev", self.ifname])

    def hard_fail(self):
        """A crash plus a cable cut: SIGKILL the daemon, then the host's link down."""
        self.kill()
        self.link(False)

    # ------------------------------------------------------------ state
    def _status_or_none(self) -> Optional[dict]:
        try:
            return self.status()
        except (OSError, ValueError):
            return None

    def status(self) -> dict:
        """vipd only: the control socket's status reply (what `vipd status --json` prints)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(self.socket_path)
            sock.sendall(b'{"command": "status"}\n')
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            sock.close()
        return json.loads(b"".join(chunks).decode())

    def status_cli(self) -> dict:
        """vipd only: ``vipd status --json`` run inside the host, parsed."""
        proc = self.lab.run(self.host, [sys.executable, VIPD, "status", "--json", "--control-socket", self.socket_path],
                            check=True)
        return json.loads(proc.stdout)

    def instance_status(self, name: str = "VI_1") -> Optional[dict]:
        status = self._status_or_none()
        for inst in (status or {}).get("instances", []):
            if inst.get("name") == name:
                return inst
        return None

    def state(self, name: str = "VI_1") -> Optional[str]:
        """MASTER / BACKUP / FAULT ... or None (not running, or no state yet).

        keepalived: the last "(NAME) Entering STATE" line this run logged, not the notify scripts'
        state file. keepalived forks each notify script without waiting for the previous one, so
        after MASTER -> BACKUP in quick succession (a preempted election) a notify_master that runs
        late on a loaded machine finishes last and the file says MASTER for good while keepalived
        is BACKUP: test_mixed_pair's election then timed out with vipd master (issue 9). The log
        line is written by the VRRP process itself, in order, before it runs any script.
        """
        if not self.running():
            return None
        if self.impl == "vipd":
            inst = self.instance_status(name)
            return str(inst.get("state")).upper() if inst and inst.get("state") else None
        return keepalived_state(self.log_text(self._log_offset), name)

    def notify_log(self) -> List[str]:
        try:
            with open(os.path.join(self.dir, "notify.log")) as f:
                return f.read().split("\n")[:-1]
        except OSError:
            return []

    def addresses(self) -> List[str]:
        return [a["local"] for a in self.lab.addresses(self.host, family=4)]

    def holds(self, vip: str = VIP) -> bool:
        return vip in self.addresses()

    def is_master(self, name: str = "VI_1", vip: str = VIP) -> bool:
        """Master by its own account and holding the VIP."""
        return self.state(name) == "MASTER" and self.holds(vip)

    def invalid_packets(self) -> Dict[str, int]:
        """Received packets refused or misread, by reason (only non-zero reasons)."""
        if self.impl == "vipd":
            out: Dict[str, int] = {}
            status = self._status_or_none() or {}
            for inst in status.get("instances", []) + status.get("retiring", []):
                for reason, count in ((inst.get("counters") or {}).get("drops") or {}).items():
                    if count:
                        out[reason] = out.get(reason, 0) + int(count)
            # Drops before an instance matched (e.g. a checksum the daemon could not attribute).
            for ifname, drops in (status.get("interface_drops") or {}).items():
                for reason, count in drops.items():
                    if count:
                        out["%s/%s" % (ifname, reason)] = int(count)
            return out
        out = {}
        for key, count in self.keepalived_stats().items():
            if count and (key.startswith("Packet Errors/") or key.startswith("Authentication Errors/")):
                out[key] = count
        for line in self.log_text().splitlines():
            if KEEPALIVED_RX_ERRORS.search(line):
                out["log: " + line.split(": ", 1)[-1]] = out.get("log: " + line.split(": ", 1)[-1], 0) + 1
        return out

    def counters(self, name: str = "VI_1") -> Dict[str, int]:
        """Adverts in/out as the daemon counts them (vipd status; keepalived stats file)."""
        if self.impl == "vipd":
            c = (self.instance_status(name) or {}).get("counters") or {}
            return {"adverts_in": int(c.get("adverts_in", 0)), "adverts_out": int(c.get("adverts_out", 0))}
        stats = self.keepalived_stats(name)
        return {"adverts_in": stats.get("Advertisements/Received", 0), "adverts_out": stats.get("Advertisements/Sent", 0)}

    def keepalived_stats(self, name: Optional[str] = None) -> Dict[str, int]:
        """SIGUSR2 to the parent makes the VRRP child write $TMPDIR/keepalived.stats; parsed as
        "Section/Key" -> count (summed over instances unless ``name``)."""
        if self.impl != "keepalived" or not self.running():
            return {}
        path = os.path.join(self.tmpdir, "keepalived.stats")
        if os.path.exists(path):
            os.unlink(path)
        os.kill(self.main_pid, signal.SIGUSR2)
        wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=5, interval=0.02,
                   what="keepalived stats file")
        time.sleep(0.05)  # written in one go by the child, but give it the end of the write
        with open(path) as f:
            return parse_keepalived_stats(f.read(), name)

    def log_text(self, offset: int = 0) -> str:
        """The daemon's log from byte ``offset`` on."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def resources(self) -> Tuple[float, int]:
        """(CPU seconds, RSS kB) summed over the daemon's processes."""
        pids = self.pids()
        return sum(cpu_seconds(p) for p in pids), sum(rss_kb(p) for p in pids)

    def __str__(self):
        return "%s on %s" % (self.impl, self.host)

    __repr__ = __str__


def _comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


KEEPALIVED_ENTERING = re.compile(r"\((?P<name>[^()\s]+)\) Entering (?P<state>[A-Z]+) STATE")


def keepalived_state(log_text: str, name: str = "VI_1") -> Optional[str]:
    """The state keepalived last logged for instance ``name`` ("(VI_1) Entering BACKUP STATE (init)"), or None."""
    state = None
    for match in KEEPALIVED_ENTERING.finditer(log_text):
        if match.group("name") == name:
            state = match.group("state")
    return state


def parse_keepalived_stats(text: str, name: Optional[str] = None) -> Dict[str, int]:
    out: Dict[str, int] = {}
    instance, section = None, None
    for line in text.splitlines():
        if line.startswith("VRRP Instance:"):
            instance, section = line.split(":", 1)[1].strip(), None
            continue
        if name is not None and instance != name:
            continue
        stripped = line.strip()
        key, _sep, value = stripped.partition(":")
        value = value.strip()
        if not value:
            section = key
            continue
        if value.isdigit():
            indent = len(line) - len(line.lstrip())
            full = "%s/%s" % (section, key) if section and indent > 2 else key
            out[full] = out.get(full, 0) + int(value)
    return out


def stop_all(nodes: Sequence[Node]) -> List[str]:
    """Cleanup helper: kill whatever still runs (SIGKILL by PID) and bring links back; returns problems."""
    problems = []
    for node in nodes:
        try:
            if node.running():
                node.kill()
        except Exception as exc:  # cleanup goes on for the others
            problems.append("%s: %s" % (node, exc))
    return problems


@contextlib.contextmanager
def elected_pair(lab: Lab, impl: str, high_conf: str, low_conf: str, tag: str, settle: float = 0.0):
    """Yields (a node on server1, one on server2, a capture of the link), both ``impl``, once server1 is MASTER and
    server2 BACKUP, ``settle`` seconds later; stops both afterwards and checks how they stopped. Skips the test for
    keepalived when it is not installed."""
    import pytest  # (only the tests that use this helper run under pytest)
    if impl == "keepalived" and shutil.which("keepalived") is None:
        pytest.skip("keepalived is not installed")
    capture = Capture(lab).start()
    high = Node(lab, "server1", impl, high_conf, tag=tag)
    low = Node(lab, "server2", impl, low_conf, tag=tag)
    try:
        high.start()
        low.start()
        wait_until(lambda: high.state() == "MASTER" and low.state() == "BACKUP", timeout=20, interval=0.1, what="elected")
        time.sleep(settle)
        yield high, low, capture
    finally:
        problems = stop_all([high, low])
        capture.stop()
    assert not problems, problems


# ---------------------------------------------------------------------------------------- capture
@dataclass
class Frame:
    ts: float  # pcap timestamp (wall clock)
    src_mac: str
    kind: str  # "vrrp" | "arp" | "other"
    src_ip: str = ""
    dst_ip: str = ""
    ttl: int = 0
    vrid: int = 0
    priority: int = -1
    version: int = 0
    arp_op: int = 0
    arp_sender_ip: str = ""
    arp_target_ip: str = ""


@dataclass
class Capture:
    """tcpdump on the lab's bridge (promiscuous: unicast VRRP between two ports is seen too), or on one of its
    ports (``port``: the frames that host sent)."""

    lab: Lab
    path: str = ""
    proc: Optional[subprocess.Popen] = None
    frames: List[Frame] = field(default_factory=list)
    expr: str = "vrrp or arp"
    port: str = ""  # a host name: capture what arrives from it on its bridge port

    def start(self) -> "Capture":
        if not self.path:
            os.makedirs(os.path.join(self.lab.workdir, "peers"), exist_ok=True)
            self.path = os.path.join(self.lab.workdir, "peers", "bridge-%d.pcap" % int(time.monotonic() * 1000))
        self._err = open(self.path + ".err", "w")
        where = ["-i", self.lab.host(self.port).port, "-Q", "in"] if self.port else ["-i", BRIDGE]
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.switch, "tcpdump"] + where + ["-n", "-U", "--immediate-mode", "-s", "256",
                                                                           "-Z", "root", "-w", self.path, self.expr],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err, start_new_session=True)
        wait_until(lambda: self.proc.poll() is not None or "listening on" in open(self.path + ".err").read(),
                   timeout=10, interval=0.02, what="tcpdump to listen")
        if self.proc.poll() is not None:
            raise PeerError("tcpdump failed: %s" % open(self.path + ".err").read())
        return self

    def stop(self) -> List[Frame]:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None:
            self._err.close()
        self.frames = self.read()
        return self.frames

    def read(self) -> List[Frame]:
        """Frames written so far (the pcap is flushed per packet)."""
        with open(self.path, "rb") as f:
            return parse_pcap(f.read())

    # ------------------------------------------------------------ counting
    def adverts(self, frames: Optional[List[Frame]] = None, since: float = 0.0, until: float = float("inf"),
                vrid: Optional[int] = None) -> Dict[str, int]:
        """VRRP adverts per source IP within [since, until) (pcap wall-clock times)."""
        out: Dict[str, int] = {}
        for fr in frames if frames is not None else self.frames:
            if fr.kind == "vrrp" and since <= fr.ts < until and (vrid is None or fr.vrid == vrid):
                out[fr.src_ip] = out.get(fr.src_ip, 0) + 1
        return out

    def garps(self, ip: str, frames: Optional[List[Frame]] = None, since: float = 0.0,
              until: float = float("inf")) -> Dict[str, int]:
        """Gratuitous ARPs (sender IP == target IP == ``ip``) per sender MAC."""
        out: Dict[str, int] = {}
        for fr in frames if frames is not None else self.frames:
            if fr.kind == "arp" and fr.arp_sender_ip == ip == fr.arp_target_ip and since <= fr.ts < until:
                out[fr.src_mac] = out.get(fr.src_mac, 0) + 1
        return out


def parse_pcap(data: bytes) -> List[Frame]:
    """Classic pcap, Ethernet link type: VRRP (IPv4 protocol 112) and ARP frames decoded."""
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    else:
        endian = ">"
    nano = struct.unpack(endian + "I", data[:4])[0] == 0xA1B23C4D
    off, frames = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if len(pkt) < incl:
            break
        ts = sec + frac / (1e9 if nano else 1e6)
        frames.append(_decode_frame(ts, pkt))
    return frames


def _mac(raw: bytes) -> str:
    return ":".join("%02x" % b for b in raw)


def _decode_frame(ts: float, pkt: bytes) -> Frame:
    src_mac = _mac(pkt[6:12]) if len(pkt) >= 14 else ""
    if len(pkt) < 14:
        return Frame(ts, src_mac, "other")
    ethertype = struct.unpack("!H", pkt[12:14])[0]
    body = pkt[14:]
    if ethertype == 0x0806 and len(body) >= 28:
        op = struct.unpack("!H", body[6:8])[0]
        return Frame(ts, src_mac, "arp", arp_op=op, arp_sender_ip=socket.inet_ntoa(body[14:18]),
                     arp_target_ip=socket.inet_ntoa(body[24:28]))
    if ethertype == 0x0800 and len(body) >= 20 and body[9] == 112:
        ihl = (body[0] & 0x0F) * 4
        vrrp = body[ihl:]
        fr = Frame(ts, src_mac, "vrrp", src_ip=socket.inet_ntoa(body[12:16]), dst_ip=socket.inet_ntoa(body[16:20]),
                   ttl=body[8])
        if len(vrrp) >= 3:
            fr.version, fr.vrid, fr.priority = vrrp[0] >> 4, vrrp[1], vrrp[2]
        return fr
    return Frame(ts, src_mac, "other")
