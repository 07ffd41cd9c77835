# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Playbook re-run benchmark: an idempotent re-run of playbooks/vrrp_pair.yml versus a ping play.

On a namespace lab of HOSTS servers (default 10): one first converge of vrrp_pair.yml, then REPS
(default 3) interleaved pairs of

  ansible-playbook -f FORKS ping.yml           (one ansible.builtin.ping task, gather_facts: false)
  ansible-playbook -f FORKS playbooks/vrrp_pair.yml   (must report changed=0 on every host)

each timed as a user sees it: wall clock of the whole command, Ansible's start-up included. The table
gives min and median of each and the ratio of the medians, against the issue's target (at most 2x).
A re-run that changes anything, or a play that fails, is an error, not a number.

Not a test: it prints a table with PASS/FAIL next to the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration.conftest import RECAP, REPO, ansible_env  # noqa: E402
from tests.lab import Lab  # noqa: E402

TARGET_RATIO = 2.0
PING_PLAY = """---
- name: Ping every server
  hosts: servers
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def log(msg: str):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def run_play(lab: Lab, playbook: str, forks: int, hosts: List[str], want_unchanged: bool) -> Dict[str, object]:
    """Runs one play, timed; returns seconds and the recap. Raises when it fails or is not idempotent."""
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-f", str(forks),
            "-i", lab.inventory_path, playbook]
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600, check=False)
    seconds = time.monotonic() - start
    recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
             for m in RECAP.finditer(proc.stdout)}
    problems = []
    if proc.returncode != 0:
        problems.append("rc=%d" % proc.returncode)
    if sorted(recap) != sorted(hosts):
        problems.append("recap hosts %s" % sorted(recap))
    if want_unchanged:
        problems += ["%s changed=%d" % (h, s["changed"]) for h, s in sorted(recap.items()) if s["changed"]]
    if problems:
        raise RuntimeError("%s: %s\n%s" % (os.path.basename(playbook), "; ".join(problems), proc.stdout[-3000:]))
    return {"seconds": seconds, "recap": recap}


def measure(hosts: int = 10, reps: int = 3, forks: int = 10) -> dict:
    with Lab(servers=hosts, clients=0) as lab:
        names = lab.server_names()
        ping = os.path.join(lab.workdir, "ping.yml")
        with open(ping, "w") as f:
            f.write(PING_PLAY)
        vrrp = os.path.join(REPO, "playbooks", "vrrp_pair.yml")
        log("lab %s: %d servers; first converge of vrrp_pair.yml" % (lab.prefix, hosts))
        first = run_play(lab, vrrp, forks, names, want_unchanged=False)
        log("first converge %.2f s" % first["seconds"])
        out = {"hosts": hosts, "forks": forks, "reps": reps, "first_converge": first["seconds"],
               "ping": [], "rerun": [], "rerun_ok_tasks": None}
        for rep in range(reps):  # interleaved, so slow phases of the machine hit both alike
            out["ping"].append(run_play(lab, ping, forks, names, want_unchanged=True)["seconds"])
            rerun = run_play(lab, vrrp, forks, names, want_unchanged=True)
            out["rerun"].append(rerun["seconds"])
            out["rerun_ok_tasks"] = rerun["recap"][names[0]]["ok"]
            log("rep %d: ping %.2f s, vrrp_pair.yml re-run %.2f s (changed=0 on all %d hosts)"
                % (rep + 1, out["ping"][-1], out["rerun"][-1], hosts))
    return out


def table(out: dict) -> str:
    ping_med, rerun_med = statistics.median(out["ping"]), statistics.median(out["rerun"])
    ratio = rerun_med / ping_med
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    fmt = "%-44s %8s %8s  %s"
    lines = [
        "Playbook re-run on %d lab hosts (forks %d, %d repetitions, wall clock of ansible-playbook)"
        % (out["hosts"], out["forks"], out["reps"]),
        fmt % ("play", "min s", "median s", "runs s"),
        fmt % ("ansible.builtin.ping play", "%.2f" % min(out["ping"]), "%.2f" % ping_med,
               " ".join("%.2f" % s for s in out["ping"])),
        fmt % ("vrrp_pair.yml re-run (changed=0)", "%.2f" % min(out["rerun"]), "%.2f" % rerun_med,
               " ".join("%.2f" % s for s in out["rerun"])),
        "ratio of medians %.2fx (of minimums %.2fx); target <= %.0fx: %s"
        % (ratio, min(out["rerun"]) / min(out["ping"]), TARGET_RATIO, verdict),
        "first converge %.2f s; the re-run runs %d tasks per host (ok=), the ping play 1"
        % (out["first_converge"], out["rerun_ok_tasks"]),
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="vrrp_pair.yml idempotent re-run vs a ping play on the namespace lab")
    p.add_argument("--hosts", type=int, default=10, help="lab servers (default 10)")
    p.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    p.add_argument("--forks", type=int, default=10, help="ansible-playbook -f for both plays (default 10)")
    p.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("playbook_rerun: needs root (network namespaces)", file=sys.stderr)
        return 2
    out = measure(args.hosts, args.reps, args.forks)
    print(table(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
