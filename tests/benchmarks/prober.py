# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side outage prober: ICMP echo to one address every INTERVAL over a raw socket.

Run it inside the client's network namespace. It sends until DURATION passes or it gets
SIGINT/SIGTERM, waits GRACE seconds for late replies, then prints one JSON object:

    {"target", "interval", "sent", "received", "t_first", "t_last",
     "gaps": [{"start", "end", "lost"}...],   # runs of unanswered probes, longest first
     "outage": seconds,                       # longest run: first lost send -> next answered send
     "late": replies slower than MAX_RTT (counted as lost), "silence": longest time between two replies,
     "answered": [monotonic send times of answered probes, only with --times]}

Times are CLOCK_MONOTONIC seconds, the same clock every process on this machine reads (network
namespaces do not change it), so a caller can line gaps up with the events it caused.
A run of unanswered probes that lasts until the end is reported with "open": true.
"""
from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int) -> bytes:
    payload = b"fvip-probe" + struct.pack("!I", seq)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
    csum = checksum(header + payload)
    return struct.pack("!BBHHH", 8, 0, csum, ident, seq & 0xFFFF) + payload


def parse_reply(datagram: bytes, ident: int):
    """Sequence number of our echo reply in a raw IPv4 datagram, else None."""
    if len(datagram) < 20:
        return None
    ihl = (datagram[0] & 0x0F) * 4
    icmp = datagram[ihl:]
    if len(icmp) < 22 or icmp[0] != 0:
        return None
    _type, _code, _csum, rid, _seq = struct.unpack("!BBHHH", icmp[:8])
    if rid != ident or icmp[8:18] != b"fvip-probe":
        return None
    return struct.unpack("!I", icmp[18:22])[0]  # the full 32-bit sequence number


def summarize(sent_times, answered, interval, end_open=True):
    """Runs of unanswered probes, from send times and the set of answered sequence numbers."""
    gaps = []
    run_start = None
    for seq, t in enumerate(sent_times):
        if seq in answered:
            if run_start is not None:
                gaps.append({"start": sent_times[run_start], "end": t, "lost": seq - run_start})
                run_start = None
        elif run_start is None:
            run_start = seq
    if run_start is not None and end_open:
        gaps.append({"start": sent_times[run_start], "end": sent_times[-1] + interval,
                     "lost": len(sent_times) - run_start, "open": True})
    gaps.sort(key=lambda g: g["end"] - g["start"], reverse=True)
    return gaps


class Prober:
    def __init__(self, target: str, interval: float = 0.005, max_rtt: float = 0.05):
        self.target = target
        self.interval = interval
        self.max_rtt = max_rtt
        self.ident = (os.getpid() ^ int(time.time() * 1000)) & 0xFFFF
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.setblocking(False)
        self.sent = []  # monotonic send time per sequence number
        self.answered = {}  # seq -> monotonic receive time
        self.stop = False

    def _drain(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            if addr[0] != self.target:
                continue
            seq = parse_reply(data, self.ident)
            if seq is not None and seq < len(self.sent) and seq not in self.answered:
                self.answered[seq] = time.monotonic()

    def run(self, duration: float, grace: float = 0.3) -> dict:
        start = time.monotonic()
        end = start + duration if duration > 0 else float("inf")
        next_send = start
        while not self.stop:
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_send:
                seq = len(self.sent)
                self.sent.append(now)
                try:
                    self.sock.sendto(echo_request(self.ident, seq), (self.target, 0))
                except OSError:
                    pass  # no route / no neighbour yet: counts as unanswered
                # A fixed schedule: a late loop iteration does not shift later probes.
                next_send += self.interval
                if next_send < now:
                    next_send = now + self.interval
            wait = max(0.0, min(next_send, end) - time.monotonic())
            try:
                select.select([self.sock], [], [], wait)
            except InterruptedError:
                pass
            self._drain()
        drain_until = time.monotonic() + grace
        while time.monotonic() < drain_until:
            try:
                select.select([self.sock], [], [], max(0.0, drain_until - time.monotonic()))
            except InterruptedError:
                pass
            self._drain()
        return self.result()

    def result(self, times: bool = False) -> dict:
        # A reply that comes too late (held in some queue while nobody owned the address) did not
        # serve the client: it counts as lost.
        timely = set(seq for seq, t in self.answered.items() if t - self.sent[seq] <= self.max_rtt)
        gaps = summarize(self.sent, timely, self.interval)
        recv = sorted(self.answered.values())
        silence = max((b - a for a, b in zip(recv, recv[1:])), default=0.0)
        out = {
            "target": self.target, "interval": self.interval, "sent": len(self.sent), "received": len(self.answered),
            "late": len(self.answered) - len(timely), "max_rtt": self.max_rtt,
            "t_first": self.sent[0] if self.sent else None, "t_last": self.sent[-1] if self.sent else None,
            "gaps": gaps[:20], "outage": (gaps[0]["end"] - gaps[0]["start"]) if gaps else 0.0,
            "silence": silence,  # longest time between two replies received, whatever their lateness
        }
        if times:
            out["answered"] = sorted(self.sent[s] for s in self.answered)
        return out


class ProbeProcess:
    """Controller side: run this file as a prober inside a lab host's network namespace."""

    def __init__(self, netns: str, target: str, interval: float = 0.005, workdir: str = "/tmp", times: bool = False):
        self.netns, self.target, self.interval, self.times = netns, target, interval, times
        self.ready = os.path.join(workdir, "prober-%d-%d.ready" % (os.getpid(), int(time.monotonic() * 1e6)))
        self.proc = None

    def start(self, timeout: float = 10.0) -> "ProbeProcess":
        argv = ["ip", "netns", "exec", self.netns, sys.executable, os.path.abspath(__file__), self.target,
                "--interval", str(self.interval), "--ready-file", self.ready]
        if self.times:
            argv.append("--times")
        import subprocess  # controller only: the prober itself needs no subprocess
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        for _attempt in range(int(timeout / 0.005) + 1):
            if os.path.exists(self.ready) or self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        if not os.path.exists(self.ready):
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=5)
            raise RuntimeError("prober did not start: %s" % err)
        return self

    def finish(self, timeout: float = 10.0) -> dict:
        """Stop probing (SIGINT), wait for late replies, return the prober's JSON."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=timeout)
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        if self.proc.returncode != 0:
            raise RuntimeError("prober failed (rc=%s): %s" % (self.proc.returncode, err))
        return json.loads(out)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if os.path.exists(self.ready):
            os.unlink(self.ready)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("target")
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between probes (default 0.005)")
    parser.add_argument("--duration", type=float, default=0, help="seconds to run; 0 = until SIGINT/SIGTERM")
    parser.add_argument("--grace", type=float, default=0.3, help="seconds to wait for late replies at the end")
    parser.add_argument("--max-rtt", type=float, default=0.05, help="a reply later than this counts as lost (default 0.05)")
    parser.add_argument("--times", action="store_true", help="also list the send time of every answered probe")
    parser.add_argument("--ready-file", help="touched once the socket is open (callers wait for it)")
    args = parser.parse_args(argv)
    prober = Prober(args.target, args.interval, args.max_rtt)

    def on_signal(_sig, _frame):
        prober.stop = True
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("%d\n" % os.getpid())
    prober.run(args.duration, args.grace)
    json.dump(prober.result(times=args.times), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
