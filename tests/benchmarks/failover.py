# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover benchmark: vipd pairs and keepalived pairs side by side, on the namespace lab.

For each implementation and VRRP version (v2 advert_int 1 s, v3 advert_int 0.1 s) a lab with two
servers and a client runs REPS cycles of:

  start both (server1 priority 150, server2 100)   -> start-to-master time of server1
  hard failure of server1 (SIGKILL + link down)    -> client-visible outage, GARPs on the wire
  server1 back (VIPs flushed as by a reboot)       -> outage while it preempts
  graceful stop of server1 (SIGTERM)               -> outage of the planned switchover

The client probes the VIP with ICMP echo every 5 ms (tests/benchmarks/prober.py); the outage is
the longest run of unanswered probes (first lost send -> next answered send). GARPs are counted on
the bridge (tcpdump in the switch namespace). Then, as master alone, 1 and 20 instances: CPU
seconds over IDLE seconds and RSS, from /proc (keepalived: parent + VRRP child).

Not a test: it prints a table, with the issue's targets and PASS/FAIL next to the numbers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import threading
import time
from typing import Dict, List, Optional

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.benchmarks.prober import ProbeProcess  # noqa: E402
from tests.integration.peers import VIP, Capture, InstanceSpec, Node, render_config, stop_all  # noqa: E402
from tests.lab import Lab, wait_until  # noqa: E402

HIGH, LOW = 150, 100
ADVERT_INT = {2: 1.0, 3: 0.1}
SETTLE = 0.3  # probing before an event and after recovery, seconds
FAILURES = os.path.join(os.environ.get("TMPDIR", "/tmp"), "floating-vip-bench-failures")
GARP_WINDOW = 6.5  # > garp_master_delay (5 s): the delayed second burst is counted too (first rep)


def log(msg: str):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def _pair_config(version: int, priority: int) -> str:
    return render_config([InstanceSpec(priority=priority, version=version, advert_int=ADVERT_INT[version])],
                         notify_script="@NOTIFY@", router_id="bench")


def _servers_do_not_forward(lab: Lab):
    """Servers as in production: no IP forwarding. (New namespaces inherit the machine's setting; with
    forwarding on, an old master queues the VIP's packets and forwards them once the new master
    answers ARP, which hides the outage.)"""
    for host in lab.server_names():
        lab.run(host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], check=True)


def _reset(lab: Lab):
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
        lab.run(host, ["ip", "addr", "del", VIP + "/24", "dev", "eth0"])


def _outage(result: dict) -> float:
    """Seconds; an outage still open when probing stopped is a failed measurement (None)."""
    if result["gaps"] and result["gaps"][0].get("open"):
        return float("nan")
    return result["outage"]


def _save_logs(lab: Lab, name: str) -> str:
    """Copy the daemons' logs and the capture out of the lab before it is torn down."""
    dest = os.path.join(FAILURES, "%s-%s" % (name, lab.prefix.rstrip("-")))
    shutil.copytree(os.path.join(lab.workdir, "peers"), dest, ignore=shutil.ignore_patterns("*.sock"), dirs_exist_ok=True)
    return dest


def failover_runs(impl: str, version: int, reps: int, interval: float) -> Dict[str, List[float]]:
    out: Dict[str, List[float]] = {"start_to_master": [], "hard": [], "hard_from_last_advert": [], "preempt": [], "graceful": [],
                                   "graceful_silence": [], "garps_1s": [], "garps_window": []}
    lab = Lab(servers=2, clients=1)
    lab.up()
    _servers_do_not_forward(lab)
    capture = Capture(lab).start()
    nodes: List[Node] = []
    try:
        for rep in range(reps):
            probes: List[ProbeProcess] = []
            try:
                _one_cycle(lab, capture, impl, version, rep, interval, out, nodes, probes)
            except Exception as exc:
                # One bad cycle is a result, not the end of the run: keep the daemons' logs, go on.
                saved = _save_logs(lab, "%s-v%d-rep%d" % (impl, version, rep + 1))
                log("%s v%d rep %d FAILED: %s (logs: %s)" % (impl, version, rep + 1, exc, saved))
                out.setdefault("failures", []).append("rep %d: %s" % (rep + 1, exc))
                for key, values in out.items():
                    if key not in ("failures", "garps_window") and len(values) < rep + 1:
                        values.append(float("nan"))
                for probe in probes:
                    probe.kill()
            stop_all(nodes)
    finally:
        stop_all(nodes)
        capture.stop()
        problems = lab.down()
        if problems:
            log("lab teardown problems: %s" % problems)
    return out


def _one_cycle(lab: Lab, capture: Capture, impl: str, version: int, rep: int, interval: float,
               out: Dict[str, List[float]], nodes: List[Node], probes: List[ProbeProcess]):
    """One start / hard failure / preemption / graceful stop cycle; appends one value per metric."""
    adv = ADVERT_INT[version]
    client_ns = lab.host("client1").netns
    _reset(lab)
    high = Node(lab, "server1", impl, _pair_config(version, HIGH), tag="r%d" % rep)
    low = Node(lab, "server2", impl, _pair_config(version, LOW), tag="r%d" % rep)
    nodes[:] = [high, low]
    low.start(wait=False)
    high.start(wait=False)
    wait_until(high.holds, timeout=30, interval=0.005, what="%s to hold the VIP" % high)
    out["start_to_master"].append(time.monotonic() - high.started_at)
    wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(), timeout=30,
               interval=0.02, what="election")
    wait_until(lambda: lab.ping("client1", VIP, timeout=1), timeout=10, interval=0.1, what="VIP reachable")

    # Hard failure.
    probe = ProbeProcess(client_ns, VIP, interval, workdir=lab.workdir)
    probes.append(probe)
    probe.start()
    time.sleep(SETTLE)
    fail_wall = time.time()
    wall_minus_mono = fail_wall - time.monotonic()  # pcap stamps are wall clock, the prober's monotonic
    high.hard_fail()
    wait_until(low.is_master, timeout=30, interval=0.005, what="takeover")
    time.sleep(SETTLE)
    result = probe.finish()
    out["hard"].append(_outage(result))
    if rep == 0:
        time.sleep(max(0.0, GARP_WINDOW - SETTLE))
    frames = capture.read()
    # The outage depends on where in its advert interval the master died; measured from the dead
    # master's last advert instead, it is Master_Down_Interval plus the implementation's own delay.
    last_advert = [f.ts for f in frames if f.kind == "vrrp" and f.src_ip == lab.ip("server1") and f.ts < fail_wall]
    if result["gaps"] and last_advert and not math.isnan(out["hard"][-1]):
        out["hard_from_last_advert"].append(result["gaps"][0]["end"] - (last_advert[-1] - wall_minus_mono))
    else:
        out["hard_from_last_advert"].append(float("nan"))
    takeover = [f.ts for f in frames if f.kind == "arp" and f.ts >= fail_wall and f.src_mac == lab.mac("server2")
                and f.arp_sender_ip == VIP]
    first = takeover[0] if takeover else fail_wall
    out["garps_1s"].append(capture.garps(VIP, frames, since=first, until=first + 1.0).get(lab.mac("server2"), 0))
    if rep == 0:
        out["garps_window"].append(capture.garps(VIP, frames, since=first, until=first + GARP_WINDOW)
                                   .get(lab.mac("server2"), 0))

    # Back, preempting.
    high.flush_vips()
    high.link(True)
    probe = ProbeProcess(client_ns, VIP, interval, workdir=lab.workdir)
    probes.append(probe)
    probe.start()
    time.sleep(SETTLE)
    high.start(wait=False)
    wait_until(lambda: high.is_master() and not low.holds(), timeout=30, interval=0.005, what="preemption")
    time.sleep(SETTLE)
    out["preempt"].append(_outage(probe.finish()))

    # Graceful.
    time.sleep(2 * adv)
    probe = ProbeProcess(client_ns, VIP, interval, workdir=lab.workdir)
    probes.append(probe)
    probe.start()
    time.sleep(SETTLE)
    high.terminate()
    wait_until(low.is_master, timeout=30, interval=0.005, what="takeover after SIGTERM")
    high.stop()
    time.sleep(SETTLE)
    result = probe.finish()
    out["graceful"].append(_outage(result))
    out["graceful_silence"].append(result["silence"])
    log("%s v%d rep %d: hard %.3fs preempt %.3fs graceful %.3fs start->master %.2fs garps %d"
        % (impl, version, rep + 1, out["hard"][-1], out["preempt"][-1], out["graceful"][-1],
           out["start_to_master"][-1], out["garps_1s"][-1]))


def idle_run(impl: str, instances: int, seconds: float, results: dict, key: str):
    """Alone as master of ``instances`` instances (v2, advert_int 1): CPU seconds over ``seconds``, RSS."""
    lab = Lab(servers=1, clients=0)
    node = None
    try:
        lab.up()
        specs = [InstanceSpec(name="VI_%d" % i, vrid=i, priority=HIGH, version=2, advert_int=1.0,
                              vips=("198.51.100.%d/24" % (100 + i),)) for i in range(1, instances + 1)]
        node = Node(lab, "server1", impl, render_config(specs, notify_script="@NOTIFY@", router_id="idle"))
        node.start()
        wait_until(lambda: all(node.state(s.name) == "MASTER" for s in specs), timeout=60, interval=0.2,
                   what="%d instances master" % instances)
        time.sleep(1.0)  # past the GARP burst
        cpu0 = node.resources()[0]
        time.sleep(seconds)
        cpu1, rss = node.resources()
        # The second GARP burst (garp_master_delay) falls inside the window for both: same work.
        results[key] = {"cpu": cpu1 - cpu0, "rss_kb": rss, "pids": len(node.pids())}
    except Exception as exc:  # reported in the table, the other runs go on
        results[key] = {"error": str(exc)}
    finally:
        if node is not None:
            stop_all([node])
        lab.down()


def _stats(values: List[float]):
    vals = [v for v in values if not math.isnan(v)]  # drop failed measurements
    if not vals:
        return None
    return min(vals), statistics.median(vals), max(vals), len(values) - len(vals)


def _fmt(values: List[float], scale: float = 1000.0, unit: str = "ms", digits: int = 0) -> str:
    s = _stats(values)
    if s is None:
        return "n/a"
    fmt = "%%.%df" % digits
    text = "/".join(fmt % (v * scale) for v in s[:3]) + " " + unit
    if s[3]:
        text += " (%d failed)" % s[3]
    return text


def _median(values: List[float]) -> Optional[float]:
    s = _stats(values)
    return s[1] if s else None


def render_table(results: dict, args) -> str:
    interval_ms = args.interval * 1000
    rows = [("Metric (min/median/max)", "vipd", "keepalived", "Target", "Result")]
    fo = results.get("failover", {})
    for version in ([] if args.skip_failover else args.versions):
        v = fo.get("vipd/v%d" % version, {})
        k = fo.get("keepalived/v%d" % version, {})
        tag = "v%d adv %gs" % (version, ADVERT_INT[version])
        vm, km = _median(v.get("hard", [])), _median(k.get("hard", []))
        verdict = "-"
        if vm is not None and km:
            verdict = "PASS" if abs(vm - km) <= 0.05 * km else "FAIL"
            verdict += " (%+.1f%%)" % (100.0 * (vm - km) / km)
        rows.append(("%s hard failure outage" % tag, _fmt(v.get("hard", [])), _fmt(k.get("hard", [])),
                     "median within 5% of keepalived", verdict))
        vm, km = _median(v.get("hard_from_last_advert", [])), _median(k.get("hard_from_last_advert", []))
        verdict = "-"
        if vm is not None and km:
            verdict = ("PASS" if abs(vm - km) <= 0.05 * km else "FAIL") + " (%+.1f%%)" % (100.0 * (vm - km) / km)
        rows.append(("%s hard failure, dead master's last advert -> first reply" % tag, _fmt(v.get("hard_from_last_advert", [])),
                     _fmt(k.get("hard_from_last_advert", [])), "median within 5% of keepalived", verdict))
        gm = _median(v.get("graceful", []))
        rows.append(("%s graceful stop outage" % tag, _fmt(v.get("graceful", [])), _fmt(k.get("graceful", [])),
                     "median <= %g ms (1 probe)" % interval_ms,
                     "-" if gm is None else ("PASS" if gm <= args.interval + 1e-9 else "FAIL")))
        rows.append(("%s graceful stop, longest reply silence" % tag, _fmt(v.get("graceful_silence", [])),
                     _fmt(k.get("graceful_silence", [])), "", ""))
        rows.append(("%s preemption back outage" % tag, _fmt(v.get("preempt", [])), _fmt(k.get("preempt", [])), "", ""))
        rows.append(("%s start to master" % tag, _fmt(v.get("start_to_master", []), 1.0, "s", 2),
                     _fmt(k.get("start_to_master", []), 1.0, "s", 2), "", ""))
        rows.append(("%s GARPs per takeover, 1 s" % tag, _fmt(v.get("garps_1s", []), 1.0, ""),
                     _fmt(k.get("garps_1s", []), 1.0, ""), "", ""))
        rows.append(("%s GARPs per takeover, %.1f s" % (tag, GARP_WINDOW), _fmt(v.get("garps_window", []), 1.0, ""),
                     _fmt(k.get("garps_window", []), 1.0, ""), "", ""))
    idle = results.get("idle", {})
    for n in ([] if args.skip_idle else args.idle_instances):
        v, k = idle.get("vipd/%d" % n, {}), idle.get("keepalived/%d" % n, {})

        def cell(d, field, fmt):
            if "error" in d:
                return "error: " + d["error"][:40]
            return fmt % d[field] if field in d else "n/a"
        verdict = "-"
        if "cpu" in v and "cpu" in k:
            verdict = "PASS" if v["cpu"] <= 2 * k["cpu"] else "FAIL"
            if k["cpu"] > 0:
                verdict += " (%.1fx)" % (v["cpu"] / k["cpu"])
        rows.append(("CPU s over %gs as master, %d inst" % (args.idle_seconds, n), cell(v, "cpu", "%.3f s"),
                     cell(k, "cpu", "%.3f s"), "<= 2x keepalived", verdict))
        rows.append(("RSS as master, %d inst" % n, cell(v, "rss_kb", "%d kB"), cell(k, "rss_kb", "%d kB"),
                     "<= 30 MB", "-" if "rss_kb" not in v else ("PASS" if v["rss_kb"] <= 30 * 1024 else "FAIL")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="vipd vs keepalived failover benchmark on the namespace lab")
    p.add_argument("--reps", type=int, default=5, help="repetitions per implementation and version (default 5)")
    p.add_argument("--interval", type=float, default=0.005, help="client probe interval, seconds (default 0.005)")
    p.add_argument("--impls", default="vipd,keepalived", help="comma list (default vipd,keepalived)")
    p.add_argument("--versions", default="2,3", help="VRRP versions, comma list (default 2,3)")
    p.add_argument("--idle-seconds", type=float, default=60.0, help="CPU measurement window (default 60)")
    p.add_argument("--idle-instances", default="1,20", help="instance counts for the idle run (default 1,20)")
    p.add_argument("--skip-failover", action="store_true")
    p.add_argument("--skip-idle", action="store_true")
    p.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    args = p.parse_args(argv)
    args.impls = [i for i in args.impls.split(",") if i]
    args.versions = [int(v) for v in args.versions.split(",") if v]
    args.idle_instances = [int(n) for n in args.idle_instances.split(",") if n]
    if args.reps < 1:
        p.error("--reps must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.stderr.write("the benchmark needs root (network namespaces)\n")
        return 2
    results: dict = {"failover": {}, "idle": {}, "args": {k: getattr(args, k) for k in vars(args)}}
    started = time.monotonic()
    if not args.skip_idle:
        # The idle runs are independent labs, measured at the same time (2 x 2 idle daemons).
        log("idle runs: %s x %s instances, %gs" % (args.impls, args.idle_instances, args.idle_seconds))
        threads = [threading.Thread(target=idle_run, args=(impl, n, args.idle_seconds, results["idle"], "%s/%d" % (impl, n)))
                   for impl in args.impls for n in args.idle_instances]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if not args.skip_failover:
        for version in args.versions:
            for impl in args.impls:
                log("failover %s v%d x %d" % (impl, version, args.reps))
                try:
                    results["failover"]["%s/v%d" % (impl, version)] = failover_runs(impl, version, args.reps, args.interval)
                except Exception as exc:
                    log("failover %s v%d failed: %s" % (impl, version, exc))
                    results["failover"]["%s/v%d" % (impl, version)] = {"error": str(exc)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
    print("floating.vip failover benchmark: %d reps, probe every %g ms, %s, kernel %s, %.0fs"
          % (args.reps, args.interval * 1000, time.strftime("%Y-%m-%d"), os.uname().release, time.monotonic() - started))
    print(render_table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
