# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Election / preemption cycles in a loop: failures per N cycles, and time to master.

Each scenario (pair x VRRP version x mode) gets its own lab (2 servers on a bridge) and runs
--cycles cycles of:

  election   both daemons stopped, VIP flushed; start the low-priority node (100) and wait until it
             is up, then the high-priority one (150): time until the high node is master and holds
             the VIP and the low node is BACKUP without it (what test_interop_keepalived waits for),
             which must then hold at every sample for max(3 x advert_int, 1 s) (its _steady());
  preemption hard failure of the high node (SIGKILL + link down); once the low node is master,
             the high node comes back (VIP flushed as by a reboot, link up, daemon started): time
             until it is master again and the low node BACKUP without the VIP.

Each wait is bounded by --timeout (default: Master_Down_Interval of the low node + 10 s, the
interop test's own bound). A failing cycle keeps the daemons' logs, their notify logs and a tcpdump
capture of the bridge (pcap) under --results (default /tmp/floating-vip-election-cycles/), plus a
diagnosis: what each node says it is, what it really holds, and keepalived's own data dump.

Pairs are "HIGH-LOW" implementations: vipd-vipd, vipd-keepalived, keepalived-vipd,
keepalived-keepalived (the reference: a failure there is the harness's, not vipd's).
Not a test: prints "scenario | cycles | failures | p50/p95/max time-to-master" (target: 0 failures in 500).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from typing import Dict, List, Optional

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration.peers import VIP, Capture, InstanceSpec, Node, render_config, stop_all  # noqa: E402
from tests.lab import Lab, wait_until  # noqa: E402

HIGH, LOW = 150, 100
ADVERT_INT = {2: 1.0, 3: 0.2}  # as test_interop_keepalived
RESULTS = os.path.join(os.environ.get("TMPDIR", "/tmp"), "floating-vip-election-cycles")
PAIRS = ("vipd-vipd", "vipd-keepalived", "keepalived-vipd", "keepalived-keepalived")
_print_lock = threading.Lock()
STOP = threading.Event()  # SIGINT/SIGTERM: every scenario ends after its current cycle and tears its lab down


def log(msg: str) -> None:
    with _print_lock:
        sys.stderr.write("[election %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()


def master_down(priority: int, advert_int: float) -> float:
    return 3 * advert_int + (256 - priority) * advert_int / 256.0


class Scenario:
    def __init__(self, pair: str, version: int, mode: str):
        self.pair, self.version, self.mode = pair, version, mode
        self.high_impl, self.low_impl = pair.split("-")
        self.adv = ADVERT_INT[version]
        self.times: Dict[str, List[float]] = {"election": [], "preemption": []}
        self.failures: List[str] = []
        self.cycles = 0
        self.error = ""

    @property
    def name(self) -> str:
        return "%s v%d %s" % (self.pair, self.version, self.mode)

    @property
    def slug(self) -> str:
        return "%s-v%d-%s" % (self.pair, self.version, self.mode)

    def config(self, priority: int, own_ip: str, peer_ip: str) -> str:
        spec = InstanceSpec(priority=priority, version=self.version, advert_int=self.adv)
        if self.mode == "unicast":
            spec.unicast_src_ip, spec.unicast_peers = own_ip, (peer_ip,)
        return render_config([spec], notify_script="@NOTIFY@", router_id="cycles")


def _reset(lab: Lab) -> None:
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
        lab.run(host, ["ip", "addr", "del", VIP + "/24", "dev", "eth0"])


def _settled(high: Node, low: Node) -> bool:
    """The interop test's condition: high master holding the VIP, low BACKUP without it."""
    return high.is_master() and low.state() == "BACKUP" and not low.holds()


def _keepalived_data_state(node: Node) -> str:
    """keepalived's own account (SIGUSR1 data dump), independent of the notify scripts."""
    if node.impl != "keepalived" or not node.running():
        return "-"
    path = os.path.join(node.tmpdir, "keepalived.data")
    try:
        if os.path.exists(path):
            os.unlink(path)
        os.kill(node.main_pid, signal.SIGUSR1)
        wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=5, interval=0.02, what="data dump")
        time.sleep(0.05)
        with open(path, errors="replace") as f:
            states = [line.strip() for line in f  # the instance's line, not the interfaces' "State = UP, RUNNING"
                      if line.strip().split(" = ", 1)[-1] in ("INIT", "BACKUP", "MASTER", "FAULT", "STOP")]
        return ", ".join(states) or "?"
    except (OSError, TimeoutError) as exc:
        return "error: %s" % exc


def diagnose(high: Node, low: Node) -> str:
    lines = []
    for role, node in (("high", high), ("low", low)):
        try:
            with open(os.path.join(node.dir, "state.VI_1")) as f:
                state_file = f.read().strip()
        except OSError:
            state_file = "-"
        lines.append("%s %s: running=%s reported=%s holds_vip=%s keepalived_data=%s notify_state_file=%s notify_log=%s" % (
            role, node, node.running(), node.state(), node.holds(), _keepalived_data_state(node), state_file, node.notify_log()[-6:]))
    return "\n".join(lines)


def _wait_settled(high: Node, low: Node, timeout: float, started: float, what: str, steady: float) -> float:
    """Seconds from ``started`` until settled; then it must stay settled for ``steady`` seconds (every
    sample), as test_interop_keepalived's _steady() checks after each election."""
    wait_until(lambda: _settled(high, low), timeout=timeout, interval=0.02, what=what)
    took = time.monotonic() - started
    deadline = time.monotonic() + steady
    for _sample in range(int(steady / 0.05) + 2):
        if not _settled(high, low):
            raise AssertionError("%s: settled after %.2fs, then not: high %s/%s, low %s/%s" % (
                what, took, high.state(), "VIP" if high.holds() else "no VIP", low.state(), "VIP" if low.holds() else "no VIP"))
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return took


def low_flip(frames, high_ip: str, low_ip: str) -> Optional[float]:
    """Seconds the low node was master during the election (its first advert -> the high node's first), or None.

    The shorter, the closer its MASTER and BACKUP transitions (and their notify scripts) follow each other.
    """
    low = [f.ts for f in frames if f.kind == "vrrp" and f.src_ip == low_ip and f.priority == LOW]
    high = [f.ts for f in frames if f.kind == "vrrp" and f.src_ip == high_ip and f.priority == HIGH]
    if not low or not high or low[0] > high[0]:
        return None
    return high[0] - low[0]


def slow_notify_master(node: Node, delay: float) -> None:
    """Make the node's notify_master script start ``delay`` seconds late, as on a loaded machine.

    keepalived runs notify scripts without waiting for the previous one: a late notify_master can
    finish after the notify_backup of a later transition. The harness must not take the last
    script to finish for the current state (issue 9's intermittent election failure).
    """
    slow = os.path.join(node.dir, "slow-notify.sh")
    with open(slow, "w") as f:
        f.write("#!/bin/sh\nsleep %g\nexec %s \"$@\"\n" % (delay, node.notify_script))
    os.chmod(slow, 0o755)
    text = node.config_text.replace('notify_master "%s ' % node.notify_script, 'notify_master "%s ' % slow)
    with open(node.config_path, "w") as f:
        f.write(text)


def one_cycle(lab: Lab, sc: Scenario, cycle: int, timeout: float, nodes: List[Node], capture: Capture,
              notify_delay: float = 0.0) -> Dict[str, float]:
    ip1, ip2 = lab.ip("server1"), lab.ip("server2")
    _reset(lab)
    high = Node(lab, "server1", sc.high_impl, sc.config(HIGH, ip1, ip2), tag="c%d" % cycle)
    low = Node(lab, "server2", sc.low_impl, sc.config(LOW, ip2, ip1), tag="c%d" % cycle)
    if notify_delay > 0:
        for node in (high, low):
            slow_notify_master(node, notify_delay)
    nodes[:] = [high, low]
    out = {}
    low.start()
    high.start(wait=False)
    steady = max(3 * sc.adv, 1.0)
    out["election"] = _wait_settled(high, low, timeout, high.started_at, "election (%s master)" % high, steady)
    flip = low_flip(capture.read(), ip1, ip2)
    if flip is not None:
        out["low_flip"] = flip
    # Preemption back after a hard failure (the failover benchmark's cycle).
    high.hard_fail()
    wait_until(low.is_master, timeout=timeout, interval=0.02, what="takeover by %s" % low)
    high.flush_vips()
    high.link(True)
    high.start(wait=False)
    out["preemption"] = _wait_settled(high, low, timeout, high.started_at, "preemption back to %s" % high, steady)
    return out


def run_scenario(sc: Scenario, cycles: int, timeout: Optional[float], results: str, keep_going: bool,
                 notify_delay: float = 0.0) -> None:
    lab = Lab(servers=2, clients=0)
    nodes: List[Node] = []
    bound = timeout if timeout else master_down(LOW, sc.adv) + 10
    try:
        lab.up()
        for cycle in range(1, cycles + 1):
            if STOP.is_set():
                break
            capture = Capture(lab, path=os.path.join(lab.workdir, "cycle-%d.pcap" % cycle)).start()
            failed, diag = None, ""
            try:
                got = one_cycle(lab, sc, cycle, bound, nodes, capture, notify_delay)
                for key, value in got.items():
                    sc.times.setdefault(key, []).append(value)
            except Exception as exc:  # one failed cycle is a result: keep the evidence, go on
                failed = "cycle %d: %s" % (cycle, exc)
                diag = diagnose(*nodes) if len(nodes) == 2 else ""
            finally:
                capture.stop()
            sc.cycles = cycle
            if failed:
                dest = os.path.join(results, "%s-cycle%d-%s" % (sc.slug, cycle, time.strftime("%H%M%S")))
                os.makedirs(dest, exist_ok=True)
                for node in nodes:
                    shutil.copytree(node.dir, os.path.join(dest, os.path.basename(node.dir)),
                                    ignore=shutil.ignore_patterns("*.sock"), dirs_exist_ok=True)
                shutil.copy(capture.path, os.path.join(dest, "bridge.pcap"))
                with open(os.path.join(dest, "diagnosis.txt"), "w") as f:
                    f.write(failed + "\n" + diag + "\n")
                sc.failures.append(failed)
                log("%s %s FAILED (kept in %s)\n%s" % (sc.name, failed, dest, diag))
            else:
                for node in nodes:  # passing cycles keep nothing
                    shutil.rmtree(node.dir, ignore_errors=True)
                os.unlink(capture.path)
            stop_all(nodes)
            if cycle % 10 == 0 or cycle == cycles:
                log("%s: %d/%d cycles, %d failures" % (sc.name, cycle, cycles, len(sc.failures)))
            if failed and not keep_going:
                break
    except Exception as exc:
        sc.error = str(exc)
        log("%s: aborted: %s" % (sc.name, exc))
    finally:
        stop_all(nodes)
        problems = lab.down()
        if problems:
            log("lab teardown problems: %s" % problems)


def percentile(values: List[float], q: float) -> float:
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return float("nan")
    idx = min(len(vals) - 1, max(0, int(math.ceil(q * len(vals))) - 1))
    return vals[idx]


def render_table(scenarios: List[Scenario]) -> str:
    rows = [("scenario", "cycles", "failures", "election p50/p95/max", "preemption p50/p95/max", "low MASTER->BACKUP min/p50")]
    for sc in scenarios:
        cells = []
        for key in ("election", "preemption"):
            vals = sc.times[key]
            cells.append("/".join("%.2f" % percentile(vals, q) for q in (0.5, 0.95, 1.0)) + " s" if vals else "n/a")
        flips = sc.times.get("low_flip", [])
        flip = "%.3f/%.3f s (%d)" % (min(flips), percentile(flips, 0.5), len(flips)) if flips else "-"
        rows.append((sc.name + (" (aborted: %s)" % sc.error[:60] if sc.error else ""), str(sc.cycles),
                     str(len(sc.failures)), cells[0], cells[1], flip))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="VRRP election/preemption cycles in a loop, failures per N cycles")
    p.add_argument("--cycles", type=int, default=100, help="cycles per scenario (default 100)")
    p.add_argument("--timeout", type=float, default=0.0,
                   help="bound of each wait, seconds (default: Master_Down_Interval of the low node + 10)")
    p.add_argument("--pairs", default="vipd-vipd,vipd-keepalived", help="HIGH-LOW pairs, comma list (%s)" % ", ".join(PAIRS))
    p.add_argument("--versions", default="2,3", help="VRRP versions, comma list (default 2,3)")
    p.add_argument("--modes", default="multicast,unicast", help="comma list (default multicast,unicast)")
    p.add_argument("--jobs", type=int, default=1, help="scenarios run at once, each in its own lab (default 1)")
    p.add_argument("--results", default=RESULTS, help="where failing cycles keep logs and pcaps (default %s)" % RESULTS)
    p.add_argument("--slow-notify", type=float, default=0.0, metavar="SECONDS",
                   help="start every notify_master script this late (a loaded machine; default 0)")
    p.add_argument("--stop-on-failure", action="store_true", help="end a scenario at its first failing cycle")
    p.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    args = p.parse_args(argv)
    args.pairs = [x for x in args.pairs.split(",") if x]
    args.versions = [int(v) for v in args.versions.split(",") if v]
    args.modes = [m for m in args.modes.split(",") if m]
    bad = [x for x in args.pairs if x not in PAIRS] + [m for m in args.modes if m not in ("multicast", "unicast")]
    bad += [str(v) for v in args.versions if v not in (2, 3)]
    if bad:
        p.error("unknown pair/mode/version: %s" % ", ".join(bad))
    if args.cycles < 1 or args.jobs < 1 or args.timeout < 0 or args.slow_notify < 0:
        p.error("--cycles and --jobs must be at least 1, --timeout and --slow-notify not negative")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.stderr.write("the benchmark needs root (network namespaces)\n")
        return 2
    if any("keepalived" in p for p in args.pairs) and shutil.which("keepalived") is None:
        sys.stderr.write("keepalived is not installed (apt-get install keepalived), or pass --pairs vipd-vipd\n")
        return 2
    os.makedirs(args.results, exist_ok=True)
    scenarios = [Scenario(pair, version, mode) for version in args.versions for mode in args.modes for pair in args.pairs]
    started = time.monotonic()
    todo = list(scenarios)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                sc = todo.pop(0)
            log("%s x %d" % (sc.name, args.cycles))
            run_scenario(sc, args.cycles, args.timeout or None, args.results, not args.stop_on_failure, args.slow_notify)

    def stop(signum, _frame):
        if not STOP.is_set():
            log("%s: finishing the current cycles, then the table" % signal.Signals(signum).name)
        STOP.set()

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    threads = [threading.Thread(target=worker) for _job in range(min(args.jobs, len(scenarios)))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"scenario": sc.name, "cycles": sc.cycles, "failures": sc.failures, "times": sc.times, "error": sc.error}
                       for sc in scenarios], f, indent=2)
    total = sum(len(sc.failures) for sc in scenarios)
    print("floating.vip election cycles: %d cycles per scenario%s, %s, kernel %s, %.0fs; failures kept in %s"
          % (args.cycles, ", notify_master %gs late" % args.slow_notify if args.slow_notify else "", time.strftime("%Y-%m-%d"),
             os.uname().release, time.monotonic() - started, args.results))
    print(render_table(scenarios))
    print("%d failures in %d cycles" % (total, sum(sc.cycles for sc in scenarios)))
    return 1 if total or any(sc.error for sc in scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
