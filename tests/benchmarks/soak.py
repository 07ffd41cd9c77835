# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Soak benchmark (issue 9): a 3-node group with 20 VRIDs under random faults, probes on every VIP.

    python tests/benchmarks/soak.py --minutes 5 --impl both [--seed 1]

Each implementation gets its own namespace lab: three servers run 20 VRRPv3 instances (advert_int 0.3 s), every
node master of about a third of them (priorities 150/120/100 rotate per VRID); a client probes all 20 VIPs (each
every 50 ms) and records which MAC answers; ``ip monitor`` in every server tracks who holds which VIP with its
link up. Until the time is up, a random fault from the fault suite's list is injected, then the group must
settle (every VIP owned by its highest-priority node only):

  partition  one node's VRRP dropped on the bridge for 2-5 s (nftables in the switch namespace), then healed
  loss       25 % random VRRP loss on the bridge for 5-10 s
  kill       SIGKILL a node and cut its link; 3 s later restart it behind the cut, then link up
  reload     10 SIGHUPs at 100 ms with the same config, a half-written file and 3 SIGHUPs, the full file again
  flap       a node's link down 1-3 s, then 5 fast down/up flaps

Printed: faults injected per kind, failovers (sole-owner changes), the longest client-visible gap per fault kind,
VIP-seconds with two owners outside partitions, VIP-seconds with no owner, daemon crashes, and lost or half-written
config (a SIGUSR1 data dump that does not list all 20 instances after a reload). Not a test: numbers, no verdict.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration.faults import Firewall, MacProbe, OwnerWatch  # noqa: E402
from tests.integration.peers import InstanceSpec, Node, render_config, stop_all  # noqa: E402
from tests.lab import Lab, wait_until  # noqa: E402

HOSTS = ("server1", "server2", "server3")
PRIOS = (150, 120, 100)
ADV = 0.3
KINDS = ("partition", "loss", "kill", "reload", "flap")
MDI_MAX = 3 * ADV + (256 - min(PRIOS)) * ADV / 256.0


def log(msg: str):
    sys.stderr.write("[soak %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def vips(n: int) -> List[str]:
    return ["198.51.100.%d" % (150 + i) for i in range(n)]


def config_for(host_index: int, n: int, options: Sequence[str] = ()) -> str:
    specs = []
    for i, vip in enumerate(vips(n)):
        prio = PRIOS[(i + host_index) % 3]
        specs.append(InstanceSpec(name="VI_%d" % (i + 1), vrid=101 + i, priority=prio, version=3, advert_int=ADV, vips=(vip + "/24",)))
    text = render_config(specs, notify_script="@NOTIFY@", router_id="soak")
    # extra keywords for every vrrp_instance (e.g. higher_prio_send_advert), the same text for both implementations
    return text.replace("    version 3\n", "    version 3\n" + "".join("    %s\n" % o for o in options))


class Soak:
    def __init__(self, impl: str, minutes: float, seed: int, n: int, options: Sequence[str] = ()):
        self.impl, self.minutes, self.n, self.options = impl, minutes, n, list(options)
        self.rng = random.Random(seed)
        self.vips = vips(n)
        # the base master of VIP i: the host whose rotation gives it priority 150
        self.expected = {vip: HOSTS[(-i) % 3] for i, vip in enumerate(self.vips)}
        self.faults: Dict[str, int] = dict((k, 0) for k in KINDS)
        self.gaps: Dict[str, float] = dict((k, 0.0) for k in KINDS)
        self.windows: List[tuple] = []  # (kind, start, end)
        self.partitions: List[tuple] = []
        self.crashes = 0
        self.lost_config = 0
        self.unsettled = 0
        self.killed = set()

    # ------------------------------------------------------------ plumbing
    def settled(self) -> bool:
        if not all(self.watch.owners(v) == [self.expected[v]] for v in self.vips):
            return False
        # and the client's neighbour entries point at the owners (or are gone): a stranded client is not settled
        h = self.lab.host("client1")
        proc = subprocess.run(["ip", "-n", h.netns, "-j", "neigh", "show", "dev", h.ifname], stdout=subprocess.PIPE, text=True,
                              timeout=10, check=False)
        for entry in json.loads(proc.stdout or "[]"):
            vip, mac = entry.get("dst"), (entry.get("lladdr") or "").lower()
            if vip in self.expected and mac and "FAILED" not in entry.get("state", []) and mac != self.lab.mac(self.expected[vip]).lower():
                return False
        return True

    def settle(self, timeout: float = 30.0) -> float:
        try:
            wait_until(self.settled, timeout=timeout, interval=0.05, what="every VIP on its highest-priority node")
        except TimeoutError:
            self.unsettled += 1
            log("not settled after %.0fs: %s" % (timeout, {v: self.watch.owners(v) for v in self.vips if self.watch.owners(v) != [self.expected[v]]}))
        return time.monotonic()

    def check_crashes(self):
        for host, node in self.nodes.items():
            if host not in self.killed and not node.running():
                self.crashes += 1
                log("CRASH: %s\n%s" % (node, node.log_tail(20)))
                node.link(True)
                node.start()

    def restart_behind_cut(self, node: Node):
        node.start(wait=False)
        try:
            wait_until(lambda: not any(node.holds(v) for v in self.vips), timeout=5, interval=0.05, what="leftover VIPs dropped")
        except TimeoutError:
            log("%s kept leftover VIPs behind a cut link" % node)
        node.link(True)
        node.wait_ready()

    def instances_in_dump(self, node: Node) -> Optional[int]:
        path = os.path.join(node.tmpdir, "keepalived.data")
        if os.path.exists(path):
            os.unlink(path)
        os.kill(node.main_pid, signal.SIGUSR1)
        try:
            wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=10, interval=0.05, what="data dump")
        except TimeoutError:
            return None
        time.sleep(0.2)
        with open(path, errors="replace") as f:
            return len(re.findall(r"^ VRRP Instance = ", f.read(), re.M))

    # ------------------------------------------------------------ faults
    def fault_partition(self, host):
        self.fw.isolate(host)
        time.sleep(self.rng.uniform(2, 5))
        self.fw.clear()
        return time.monotonic()

    def fault_loss(self, _host):
        self.fw.loss(25)
        time.sleep(self.rng.uniform(5, 10))
        self.fw.clear()
        return None

    def fault_kill(self, host):
        node = self.nodes[host]
        self.killed.add(host)
        node.hard_fail()
        time.sleep(3)
        self.restart_behind_cut(node)
        self.killed.discard(host)
        return None

    def fault_reload(self, host):
        node = self.nodes[host]
        for _i in range(10):
            os.kill(node.main_pid, signal.SIGHUP)
            time.sleep(0.1)
        full = node.config_text
        self._write(node, full[:len(full) // 2])
        for _i in range(3):
            os.kill(node.main_pid, signal.SIGHUP)
            time.sleep(0.1)
        time.sleep(0.5)
        count = self.instances_in_dump(node)
        if count != self.n:
            self.lost_config += 1
            log("%s runs %s of %d instances after a half-written config" % (node, count, self.n))
        self._write(node, full)
        os.kill(node.main_pid, signal.SIGHUP)
        time.sleep(1.0)
        count = self.instances_in_dump(node)
        if count != self.n:
            self.lost_config += 1
            log("%s runs %s of %d instances after the full config" % (node, count, self.n))
        return None

    @staticmethod
    def _write(node: Node, text: str):
        tmp = node.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, node.config_path)

    def fault_flap(self, host):
        node = self.nodes[host]
        node.link(False)
        time.sleep(self.rng.uniform(1, 3))
        node.link(True)
        time.sleep(1.0)
        for _i in range(5):
            node.link(False)
            time.sleep(0.05)
            node.link(True)
            time.sleep(0.05)
        return None

    # ------------------------------------------------------------ run
    def run(self) -> dict:
        lab = self.lab = Lab(servers=3, clients=1)
        self.nodes: Dict[str, Node] = {}
        self.watch = None
        probe = None
        try:
            lab.up()
            for host in HOSTS:
                lab.run(host, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], check=True)
            self.fw = Firewall(lab)
            self.watch = OwnerWatch(lab, list(HOSTS), self.vips).start()
            for idx, host in enumerate(HOSTS):
                self.nodes[host] = Node(lab, host, self.impl, config_for(idx, self.n, self.options), tag="soak").start()
            t_start = self.settle(timeout=60)
            probe = MacProbe(lab, "client1", self.vips, interval=0.05).start()
            deadline = time.monotonic() + self.minutes * 60
            while time.monotonic() < deadline:
                self.check_crashes()
                kind, host = self.rng.choice(KINDS), self.rng.choice(HOSTS)
                self.faults[kind] += 1
                log("%s on %s" % (kind, host))
                start = time.monotonic()
                heal = getattr(self, "fault_" + kind)(host)
                end = self.settle()
                if heal is not None:
                    self.partitions.append((start, heal + MDI_MAX + ADV))
                self.windows.append((kind, start, end))
                time.sleep(self.rng.uniform(1, 2))
            self.check_crashes()
            t_end = time.monotonic()
            result = probe.finish()
            probe = None
            two_by_kind = dict((k, 0.0) for k in KINDS)
            for kind, start, end in self.windows:
                for v in self.vips:
                    secs, longest = self.watch.seconds(v, lambda c: c >= 2, start, end, exclude=self.partitions)
                    two_by_kind[kind] += secs
                    if longest > ADV:
                        log("%s at +%.1fs: two owners of %s for %.2fs: %s" % (kind, start - t_start, v, longest, [
                            (round(a - t_start, 3), round(b - a, 3), sorted(o)) for a, b, o in self.watch.intervals(v, start, end) if len(o) >= 2]))
                gap, vip = max((result.longest_gap(v, start, end + 0.5), v) for v in self.vips)
                self.gaps[kind] = max(self.gaps[kind], gap)
                if gap > 1.0:
                    log("%s at +%.1fs: %.2fs gap on %s (answered by %s)" % (kind, start - t_start, gap, vip, result.macs(vip, start, end + 0.5)))
            two = [self.watch.seconds(v, lambda c: c >= 2, t_start, t_end, exclude=self.partitions) for v in self.vips]
            # the same without the loss windows too (a spurious takeover under loss lasts until the loser hears the master)
            lossy = [(start, end) for kind, start, end in self.windows if kind == "loss"]
            two_quiet = [self.watch.seconds(v, lambda c: c >= 2, t_start, t_end, exclude=self.partitions + lossy) for v in self.vips]
            none = [self.watch.seconds(v, lambda c: c == 0, t_start, t_end) for v in self.vips]
            failovers = sum(max(0, len(self.watch.owner_changes(v, t_start, t_end)) - 1) for v in self.vips)
            tracebacks = sum(n.log_text().count("Traceback") for n in self.nodes.values())
            out = {"impl": self.impl, "seconds": t_end - t_start, "faults": dict(self.faults), "failovers": failovers,
                   "gaps": dict(self.gaps), "two_owner_s": sum(t for t, _lg in two), "two_owner_longest": max(lg for _t, lg in two),
                   "two_owner_by_kind": two_by_kind, "two_owner_quiet_s": sum(t for t, _lg in two_quiet),
                   "two_owner_quiet_longest": max(lg for _t, lg in two_quiet),
                   "no_owner_s": sum(t for t, _lg in none), "no_owner_longest": max(lg for _t, lg in none),
                   "crashes": self.crashes + tracebacks, "lost_config": self.lost_config, "unsettled": self.unsettled,
                   "probes": sum(result.sent(v) for v in self.vips), "lost_probes": sum(result.lost(v) for v in self.vips)}
            log("result: %s" % json.dumps(out, sort_keys=True))
            return out
        finally:
            if probe is not None:
                probe.kill()
            if self.watch is not None:
                self.watch.stop()
            stop_all(list(self.nodes.values()))
            if os.environ.get("SOAK_KEEP_LOGS"):
                try:
                    shutil.copytree(os.path.join(lab.workdir, "peers"), os.environ["SOAK_KEEP_LOGS"] + "-" + self.impl,
                                    ignore=shutil.ignore_patterns("*.sock"), dirs_exist_ok=True)
                except (OSError, shutil.Error) as exc:
                    log("could not keep the logs: %s" % exc)
            lab.down()


def _cell(fmt: str, key: str, kind: str):
    """A table cell: r[key][kind] formatted, "-" when that fault never ran."""
    def cell(r):
        return fmt % r[key][kind] if r["faults"][kind] else "-"
    return cell


def table(results: List[dict]) -> str:
    rows = [("run time (s)", lambda r: "%.0f" % r["seconds"])]
    rows += [("faults: %s" % k, _cell("%d", "faults", k)) for k in KINDS]
    rows += [("failovers (sole-owner changes)", lambda r: "%d" % r["failovers"])]
    rows += [("longest client gap: %s (s)" % k, _cell("%.2f", "gaps", k)) for k in KINDS]
    rows += [("two owners outside partitions (VIP-s, longest)", lambda r: "%.2f, %.2f" % (r["two_owner_s"], r["two_owner_longest"])),
             ("... and outside loss (VIP-s, longest)", lambda r: "%.2f, %.2f" % (r["two_owner_quiet_s"], r["two_owner_quiet_longest"]))]
    rows += [("two owners during %s (VIP-s)" % k, _cell("%.2f", "two_owner_by_kind", k)) for k in KINDS if k != "partition"]
    rows += [("no owner (VIP-s, longest)", lambda r: "%.2f, %.2f" % (r["no_owner_s"], r["no_owner_longest"])),
             ("daemon crashes", lambda r: "%d" % r["crashes"]),
             ("lost or half-written config", lambda r: "%d" % r["lost_config"]),
             ("did not settle within 30 s", lambda r: "%d" % r["unsettled"]),
             ("probes sent / unanswered", lambda r: "%d / %d" % (r["probes"], r["lost_probes"]))]
    width = max(len(name) for name, _f in rows)
    lines = ["| %s | %s |" % ("".ljust(width), " | ".join(r["impl"].ljust(10) for r in results)),
             "|%s|%s" % ("-" * (width + 2), "|".join("-" * 12 for _r in results)) + "|"]
    for name, fmt in rows:
        lines.append("| %s | %s |" % (name.ljust(width), " | ".join(fmt(r).ljust(10) for r in results)))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="fault time per implementation (default 10)")
    parser.add_argument("--impl", choices=("vipd", "keepalived", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vrids", type=int, default=20)
    parser.add_argument("--instance-option", action="append", default=[], metavar="LINE",
                        help="a keepalived keyword line added to every vrrp_instance (repeatable), e.g. higher_prio_send_advert")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("soak: needs root (network namespaces)", file=sys.stderr)
        return 2
    impls = ["vipd", "keepalived"] if args.impl == "both" else [args.impl]
    if "keepalived" in impls and shutil.which("keepalived") is None:
        print("soak: keepalived is not installed", file=sys.stderr)
        return 2
    results = []
    for impl in impls:
        log("%s: %.1f minutes, seed %d, %d VRIDs" % (impl, args.minutes, args.seed, args.vrids))
        results.append(Soak(impl, args.minutes, args.seed, args.vrids, args.instance_option).run())
    print("Soak: 3 nodes, %d VRIDs (VRRPv3, advert_int %.1f s), %.1f min per implementation, seed %d%s" % (
        args.vrids, ADV, args.minutes, args.seed, "".join(", " + o for o in args.instance_option)))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
