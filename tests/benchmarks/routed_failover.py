# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed-VIP failover benchmark (issue 14): client-visible outage when the VIP is a BGP-announced host route.

The routed lab (tests/lab/routed.py): a fabric router and two servers in their own /26s, each server running vipd
(VRRPv3, advert_int 0.2 s, unicast across the fabric, vipd_routed) and FRR (eBGP, keepalive 1 s, hold 3 s), a
client behind the fabric probing the VIP every 10 ms. Per repetition a fresh lab, then one of:

  hard          server1's vipd and bgpd SIGKILLed (the fabric sees the TCP session close)
  silent        server1 isolated by nftables, links up (the fabric waits for the BGP hold timer)
  silent + BFD  the same with FRR's bfdd on every session (100 ms x 3)
  graceful      SIGTERM to server1's vipd (make-before-break: withdraw_delay 1 s)

keepalived has no route mode: its column shows n/a; the L2 VRRP numbers to compare with are failover.py's rows
(docs/benchmarks.md). Not a test: prints a table "metric | vipd | keepalived | target | result".
"""
from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration import routed_scenarios as rs  # noqa: E402
from tests.lab import frr  # noqa: E402
from tests.lab.routed import BFD_INTERVAL_MS, BFD_MULTIPLIER, RoutedLab  # noqa: E402

KEEPALIVED = "n/a (no route mode)"
CONVERGENCE = 1.0  # allowed on top of the protocol timers (zebra, bgpd, the fabric's FIB)
CASES = (("hard", "hard", False), ("silent", "silent", False), ("silent+bfd", "silent", True), ("graceful", "graceful", False))


def log(msg: str) -> None:
    sys.stderr.write("[routed-bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def one_run(scenario: str, bfd: bool) -> dict:
    lab = RoutedLab()
    nodes = []
    try:
        lab.up()
        s1, s2 = rs.start_pair(lab, nodes, bfd=bfd)
        return rs.run(lab, s1, s2, scenario)
    finally:
        for node in nodes:
            node.kill()
        problems = lab.down()
        if problems:
            log("cleanup problems: %s" % problems)


def bound(case: str) -> float:
    mdi = rs.master_down_interval(100)
    if case == "hard":
        return mdi + CONVERGENCE
    if case == "silent":
        return max(rs.HOLD, mdi) + CONVERGENCE
    if case == "silent+bfd":
        return max(BFD_INTERVAL_MS * BFD_MULTIPLIER / 1000.0, mdi) + CONVERGENCE
    return 0.0


def _fmt(values) -> str:
    if not values:
        return "n/a"
    ms = sorted(v * 1000 for v in values)
    return "%.0f/%.0f/%.0f ms" % (ms[0], ms[len(ms) // 2], ms[-1])


def render_table(results: dict) -> str:
    rows = [("Metric (min/median/max)", "vipd", "keepalived", "Target", "Result")]
    labels = {"hard": "routed hard failure (vipd+bgpd killed) outage", "silent": "routed silent failure (hold 3 s) outage",
              "silent+bfd": "routed silent failure (BFD 100 ms x 3) outage", "graceful": "routed graceful stop outage"}
    for case, _scenario, _bfd in CASES:
        values = results.get(case)
        if values is None:
            continue
        if case == "graceful":
            target = "0 probes lost"
            verdict = "PASS" if values and all(v == 0 for v in results.get("graceful_lost", [])) else "FAIL"
        else:
            target = "<= %.2f s (timers + %.1f s)" % (bound(case), CONVERGENCE)
            verdict = "PASS" if values and max(values) <= bound(case) else "FAIL"
        rows.append((labels[case], _fmt(values), KEEPALIVED, target, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per scenario (default 3)")
    parser.add_argument("--cases", default=",".join(c for c, _s, _b in CASES), help="comma-separated subset of the scenarios")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("routed failover benchmark: needs root (network namespaces)")
        return 1
    missing = frr.available()
    if missing:
        print("routed failover benchmark: FRR is not installed (%s); hack/bootstrap.sh installs it" % missing)
        return 1
    wanted = set(args.cases.split(","))
    results = {}
    started = time.monotonic()
    for case, scenario, bfd in CASES:
        if case not in wanted:
            continue
        results[case] = []
        for rep in range(max(1, args.reps)):
            result = one_run(scenario, bfd)
            log("%s #%d: outage %.3f s, %d lost of %d" % (case, rep + 1, result["outage"], result["lost"], result["sent"]))
            results[case].append(result["outage"])
            if case == "graceful":
                results.setdefault("graceful_lost", []).append(result["lost"])
    print("floating.vip routed failover benchmark: %d reps, probe every %g ms, VRRPv3 advert %g s, BGP %d/%d s, %.0fs"
          % (args.reps, rs.PROBE_INTERVAL * 1000, rs.ADVERT_INT, rs.KEEPALIVE, rs.HOLD, time.monotonic() - started))
    print(render_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
