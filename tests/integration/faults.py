# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection and observation for the fault suite and the soak benchmark (issue 9).

- :class:`Firewall`: nftables in the lab's *switch* namespace (a bridge-family table), so VRRP loss and
  partitions happen on the wire between hosts; the hosts' own stacks and the machine's firewall are untouched.
  A capture inside a host then sees exactly what that host received.
- :class:`OwnerWatch`: ``ip -o monitor link address`` in every server's namespace, time-stamped with
  CLOCK_MONOTONIC on arrival: who holds which VIP with its link up (an "owner"), as intervals.
- :class:`MacProbe`: a client probing one or more VIPs with ICMP echo every few ms, sent through the client's
  own stack (so it follows its neighbour table, as a real client), replies read on an AF_PACKET socket so the
  answering MAC is recorded per probe. Run as ``python faults.py probe ...`` inside the client's namespace.

Only namespaces a test created are touched; processes started here are stopped by their own handle.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Set, Tuple

if __package__ in (None, ""):  # run as a script (the prober inside a namespace): make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.benchmarks.prober import checksum  # noqa: E402

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4


# ---------------------------------------------------------------------------------------- firewall
class Firewall:
    """VRRP faults on the lab's bridge: ``nft`` in the switch namespace, table ``bridge fvfault``."""

    TABLE = "fvfault"

    def __init__(self, lab):
        self.lab = lab
        self.ns = lab.switch
        self._nft("add table bridge %s" % self.TABLE)
        self._nft("add chain bridge %s f { type filter hook forward priority 0 ; }" % self.TABLE)
        self.rules: List[str] = []

    def _nft(self, command: str):
        proc = subprocess.run(["ip", "netns", "exec", self.ns, "nft"] + command.split(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=10, check=False)
        if proc.returncode != 0:
            raise RuntimeError("nft %s: %s" % (command, proc.stderr.strip()))

    def _add(self, rule: str):
        self._nft("add rule bridge %s f %s" % (self.TABLE, rule))
        self.rules.append(rule)

    def clear(self):
        """Heal: every VRRP frame passes again."""
        self._nft("flush chain bridge %s f" % self.TABLE)
        self.rules = []

    def partition(self, a: str, b: str):
        """Drop VRRP between hosts ``a`` and ``b`` (both directions); the client still reaches both."""
        self._add('iifname "%s" oifname "%s" ip protocol 112 drop' % (a, b))
        self._add('iifname "%s" oifname "%s" ip protocol 112 drop' % (b, a))

    def isolate(self, host: str):
        """Drop every VRRP frame to and from ``host``."""
        self._add('iifname "%s" ip protocol 112 drop' % host)
        self._add('oifname "%s" ip protocol 112 drop' % host)

    def loss(self, percent: int, to_host: Optional[str] = None):
        """Drop ``percent`` % of VRRP frames at random, each receiver's copy independently (per output port)."""
        where = ('oifname "%s" ' % to_host) if to_host else ""
        self._add("%sip protocol 112 numgen random mod 100 < %d drop" % (where, int(percent)))


# ---------------------------------------------------------------------------------------- owners
_ADDR = re.compile(r"^(Deleted )?\d+: (\S+)\s+inet (\S+)/\d+")
_LINK = re.compile(r"^(Deleted )?\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)>")


class OwnerWatch:
    """Who owns which IPv4 VIP over time: the VIP on the host's eth0 and that link usable (up, carrier)."""

    def __init__(self, lab, hosts: Sequence[str], vips: Sequence[str]):
        self.lab, self.hosts, self.vips = lab, list(hosts), set(vips)
        self.lock = threading.Lock()
        self.held: Dict[str, Set[str]] = {h: set() for h in hosts}
        self.up: Dict[str, bool] = {h: True for h in hosts}
        self.events: List[Tuple[float, Dict[str, frozenset]]] = []  # (monotonic, owners per VIP) after each change
        self.procs: List[subprocess.Popen] = []
        self.threads: List[threading.Thread] = []
        self.t0 = 0.0

    def start(self) -> "OwnerWatch":
        for host in self.hosts:
            h = self.lab.host(host)
            proc = subprocess.Popen(["ip", "-n", h.netns, "-o", "monitor", "link", "address"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
            self.procs.append(proc)
            thread = threading.Thread(target=self._read, args=(host, h.ifname, proc), daemon=True)
            thread.start()
            self.threads.append(thread)
        time.sleep(0.2)  # the monitors subscribe before the dump, so nothing falls between them
        with self.lock:
            for host in self.hosts:
                h = self.lab.host(host)
                self.held[host] = set(a["local"] for a in self.lab.addresses(host, family=4)) & self.vips
                out = subprocess.run(["ip", "-n", h.netns, "-j", "link", "show", "dev", h.ifname], stdout=subprocess.PIPE,
                                     text=True, timeout=10, check=True).stdout
                flags = json.loads(out)[0].get("flags", [])
                self.up[host] = "UP" in flags and "LOWER_UP" in flags and "NO-CARRIER" not in flags
            self.t0 = time.monotonic()
            self._record(self.t0)
        return self

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for thread in self.threads:
            thread.join(timeout=5)

    def _read(self, host: str, ifname: str, proc: subprocess.Popen):
        for line in proc.stdout:
            now = time.monotonic()
            m = _ADDR.match(line)
            if m:
                deleted, dev, ip = m.group(1), m.group(2), m.group(3)
                if dev != ifname or ip not in self.vips:
                    continue
                with self.lock:
                    (self.held[host].discard if deleted else self.held[host].add)(ip)
                    self._record(now)
                continue
            m = _LINK.match(line)
            if m and m.group(2) == ifname and not m.group(1):
                flags = m.group(3).split(",")
                with self.lock:
                    self.up[host] = "UP" in flags and "LOWER_UP" in flags and "NO-CARRIER" not in flags
                    self._record(now)

    def _owners_now(self) -> Dict[str, frozenset]:
        return {vip: frozenset(h for h in self.hosts if vip in self.held[h] and self.up[h]) for vip in self.vips}

    def _record(self, now: float):
        owners = self._owners_now()
        if not self.events or self.events[-1][1] != owners:
            self.events.append((now, owners))

    def owners(self, vip: str) -> List[str]:
        with self.lock:
            return sorted(self._owners_now()[vip])

    def holders(self, vip: str) -> List[str]:
        """Hosts with the VIP configured, link up or not."""
        with self.lock:
            return sorted(h for h in self.hosts if vip in self.held[h])

    def intervals(self, vip: str, since: float = 0.0, until: Optional[float] = None) -> List[Tuple[float, float, frozenset]]:
        """(start, end, owners) pieces covering [since, until] (until defaults to now)."""
        until = time.monotonic() if until is None else until
        with self.lock:
            events = list(self.events)
        out = []
        for i, (t, owners) in enumerate(events):
            end = events[i + 1][0] if i + 1 < len(events) else until
            start, end = max(t, since), min(end, until)
            if end > start:
                out.append((start, end, owners[vip]))
        return out

    def seconds(self, vip: str, count_pred, since: float = 0.0, until: Optional[float] = None,
                exclude: Sequence[Tuple[float, float]] = ()) -> Tuple[float, float]:
        """(total seconds, longest stretch) where count_pred(number of owners) holds, minus the excluded windows."""
        total, longest, run_end, run = 0.0, 0.0, None, 0.0
        for start, end, owners in self.intervals(vip, since, until):
            if not count_pred(len(owners)):
                run_end = None
                continue
            for piece_start, piece_end in _subtract((start, end), exclude):
                total += piece_end - piece_start
                run = run + (piece_end - piece_start) if run_end is not None and abs(piece_start - run_end) < 1e-9 else piece_end - piece_start
                run_end = piece_end
                longest = max(longest, run)
        return total, longest

    def owner_changes(self, vip: str, since: float = 0.0, until: Optional[float] = None) -> List[Tuple[float, str]]:
        """(time, new sole owner) each time a different host becomes the only owner."""
        out, last = [], None
        for start, _end, owners in self.intervals(vip, since, until):
            if len(owners) == 1:
                (owner,) = owners
                if owner != last:
                    out.append((start, owner))
                last = owner
        return out


def _subtract(span: Tuple[float, float], exclude: Sequence[Tuple[float, float]]) -> List[Tuple[float, float]]:
    pieces = [span]
    for a, b in exclude:
        nxt = []
        for s, e in pieces:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if s < a:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        pieces = nxt
    return pieces


# ---------------------------------------------------------------------------------------- MAC prober
def echo_request(ident: int, seq: int) -> bytes:
    payload = b"fvip-macp" + struct.pack("!I", seq)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
    return struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq & 0xFFFF) + payload


def parse_frame(frame: bytes, ident: int) -> Optional[Tuple[str, str, int]]:
    """(source MAC, source IP, sequence) of one of our echo replies in an Ethernet frame, else None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 1 or len(ip) < ihl + 21:
        return None
    icmp = ip[ihl:]
    if icmp[0] != 0 or struct.unpack("!H", icmp[4:6])[0] != ident or icmp[8:17] != b"fvip-macp":
        return None
    mac = ":".join("%02x" % b for b in frame[6:12])
    return mac, socket.inet_ntoa(ip[12:16]), struct.unpack("!I", icmp[17:21])[0]


def probe_main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="probe VIPs, record the answering MAC per probe")
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between probes to one target")
    parser.add_argument("--ifname", default="eth0")
    parser.add_argument("--ready-file")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    ident = (os.getpid() ^ int(time.time() * 1000)) & 0xFFFF
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # replies are read on rx; this one only sends
    tx.setblocking(False)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    rx.bind((args.ifname, ETH_P_IP))
    rx.setblocking(False)
    n = len(args.targets)
    sent: List[float] = []       # monotonic send time per sequence number; target = seq % n
    reply: Dict[int, Tuple[str, float]] = {}
    stop = []
    signal.signal(signal.SIGINT, lambda *_a: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_a: stop.append(1))
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("%d\n" % os.getpid())
    step = args.interval / n
    next_send = time.monotonic()
    grace_until = None
    while True:
        now = time.monotonic()
        if stop and grace_until is None:
            grace_until = now + 0.3
        if grace_until is not None and now >= grace_until:
            break
        if grace_until is None and now >= next_send:
            seq = len(sent)
            sent.append(now)
            try:
                tx.sendto(echo_request(ident, seq), (args.targets[seq % n], 0))
            except OSError:
                pass  # no neighbour / route: unanswered
            next_send += step
            if next_send < now:
                next_send = now + step
        wait = max(0.0, min(next_send, grace_until or next_send) - time.monotonic())
        try:
            readable, _w, _x = select.select([rx, tx], [], [], wait)
        except InterruptedError:
            continue
        if tx in readable:
            try:
                while tx.recv(2048):
                    pass
            except OSError:
                pass
        if rx in readable:
            while True:
                try:
                    frame, addr = rx.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                got = parse_frame(frame, ident)
                if got and got[2] < len(sent) and got[2] not in reply and got[1] == args.targets[got[2] % n]:
                    reply[got[2]] = (got[0], time.monotonic())
    data = {"targets": args.targets, "sent": sent,
            "reply": {str(s): [m, t] for s, (m, t) in reply.items()}}
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, args.out)
    return 0


class ProbeResult:
    def __init__(self, data: dict):
        self.targets = data["targets"]
        n = len(self.targets)
        replies = data["reply"]
        self.per: Dict[str, List[Tuple[float, Optional[str], float]]] = {t: [] for t in self.targets}
        for seq, t_sent in enumerate(data["sent"]):
            got = replies.get(str(seq))
            self.per[self.targets[seq % n]].append((t_sent, got[0] if got else None, (got[1] - t_sent) if got else 0.0))

    def probes(self, target: str, since: float = 0.0, until: float = float("inf")):
        return [p for p in self.per[target] if since <= p[0] < until]

    def lost(self, target: str, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for p in self.probes(target, since, until) if p[1] is None)

    def sent(self, target: str, since: float = 0.0, until: float = float("inf")) -> int:
        return len(self.probes(target, since, until))

    def longest_gap(self, target: str, since: float = 0.0, until: float = float("inf")) -> float:
        """Longest client-visible outage: first unanswered send -> next answered send (open at the end: to the last send)."""
        longest, start, last = 0.0, None, None
        for t, mac, _rtt in self.probes(target, since, until):
            last = t
            if mac is None:
                start = t if start is None else start
            elif start is not None:
                longest, start = max(longest, t - start), None
        if start is not None and last is not None:
            longest = max(longest, last - start)
        return longest

    def settled_on(self, target: str, mac: str, since: float) -> Optional[float]:
        """Send time of the first probe after ``since`` from which every answer came from ``mac``, or None."""
        settled = None
        for t, got, _rtt in self.probes(target, since):
            if got is None:
                continue
            if got == mac:
                settled = t if settled is None else settled
            else:
                settled = None
        return settled

    def macs(self, target: str, since: float = 0.0, until: float = float("inf")) -> Dict[str, int]:
        out: Dict[str, int] = {}
        for _t, mac, _rtt in self.probes(target, since, until):
            if mac:
                out[mac] = out.get(mac, 0) + 1
        return out


class MacProbe:
    """Controller side of the prober: start inside the client's namespace, finish() -> ProbeResult."""

    def __init__(self, lab, client: str, targets: Sequence[str], interval: float = 0.005):
        self.lab, self.client, self.targets, self.interval = lab, client, list(targets), interval
        stamp = "%d-%d" % (os.getpid(), int(time.monotonic() * 1e6))
        self.ready = os.path.join(lab.workdir, "macprobe-%s.ready" % stamp)
        self.out = os.path.join(lab.workdir, "macprobe-%s.json" % stamp)
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 10.0) -> "MacProbe":
        h = self.lab.host(self.client)
        argv = ["ip", "netns", "exec", h.netns, sys.executable, os.path.abspath(__file__), "probe", "--interval", str(self.interval),
                "--ifname", h.ifname, "--ready-file", self.ready, "--out", self.out] + self.targets
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        for _attempt in range(int(timeout / 0.01) + 1):
            if os.path.exists(self.ready) or self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if not os.path.exists(self.ready):
            self.kill()
            raise RuntimeError("MAC prober did not start: %s" % (self.proc.stderr.read() if self.proc.stderr else ""))
        return self

    def finish(self, timeout: float = 30.0) -> ProbeResult:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        _out, err = self.proc.communicate(timeout=timeout)
        if self.proc.returncode != 0 or not os.path.exists(self.out):
            raise RuntimeError("MAC prober failed (rc=%s): %s" % (self.proc.returncode, err))
        with open(self.out) as f:
            data = json.load(f)
        for path in (self.ready, self.out):
            if os.path.exists(path):
                os.unlink(path)
        return ProbeResult(data)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


# ---------------------------------------------------------------------------------------- capture
class HostCapture:
    """tcpdump inside one host's namespace (after the switch's firewall): what that host really received."""

    def __init__(self, lab, host: str, expr: str = "vrrp"):
        self.lab, self.host, self.expr = lab, host, expr
        self.path = os.path.join(lab.workdir, "cap-%s-%d.pcap" % (host, int(time.monotonic() * 1000)))
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "HostCapture":
        h = self.lab.host(self.host)
        self._err = open(self.path + ".err", "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", h.netns, "tcpdump", "-i", h.ifname, "-n", "-U", "--immediate-mode", "-s", "128",
                                      "-Z", "root", "-Q", "in", "-w", self.path, self.expr],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._err)
        deadline = time.monotonic() + 10
        for _attempt in range(500):
            with open(self.path + ".err") as f:
                if "listening on" in f.read() or self.proc.poll() is not None or time.monotonic() > deadline:
                    break
            time.sleep(0.02)
        if self.proc.poll() is not None:
            raise RuntimeError("tcpdump failed: %s" % open(self.path + ".err").read())
        return self

    def wait_for_frames(self, timeout: float = 5.0) -> None:
        """Until the file holds a frame (tcpdump -U writes each as it comes): "listening on" can come before the
        capture sees anything, and a test that judges what arrived before an event needs it seeing from the start."""
        deadline = time.monotonic() + timeout
        for _attempt in range(1000):
            if os.path.getsize(self.path) > 24 or time.monotonic() > deadline:  # 24: the pcap file header
                break
            time.sleep(0.02)
        if os.path.getsize(self.path) <= 24:
            raise RuntimeError("capture on %s saw no frame in %.0f s" % (self.host, timeout))

    def stop(self):
        from tests.integration.peers import parse_pcap
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._err.close()
        with open(self.path, "rb") as f:
            return parse_pcap(f.read())


def log_times(log: str, needle: str) -> List[float]:
    """Wall times of vipd log lines containing ``needle`` ('YYYY-MM-DD HH:MM:SS,mmm ...')."""
    out = []
    for line in log.splitlines():
        if needle in line and len(line) > 23 and line[4] == "-" and line[19] == ",":
            stamp = line[:23]
            try:
                out.append(time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + int(stamp[20:23]) / 1000.0)
            except ValueError:
                continue
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        sys.exit(probe_main(sys.argv[2:]))
    sys.exit("usage: faults.py probe [--interval S] [--ifname IF] --out FILE TARGET...")
