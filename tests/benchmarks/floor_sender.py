# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python floor of a VRRP master's idle CPU (issue 11): vipd's send pattern with no VRRP work.

An asyncio loop sends, every --interval seconds on one phase-locked timer (as vipd's masters share one, beat.py),
--count advert-sized datagrams back to back to 224.0.0.18 on eth0 from a raw socket, and does nothing else.
They carry IP protocol 253 (RFC 3692, for experiments), not 112: the same path through the kernel up to the
protocol, and no VRRP daemon on the link hears them. Run inside a lab host next to a vipd master, it shows what
the interpreter, the event loop and the kernel's send path cost for that traffic: the part of a master's CPU
that no change to vipd's own code can remove. Prints one JSON line: {"sent": N, "cpu": seconds (schedstat)}.

    ip netns exec <host> python3 floor_sender.py --seconds 10 --count 1 --interval 1 [--ifname eth0]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct

from floor_receiver import WARM_UP, cpu_seconds  # the same warm-up and clock as the receiver's floor

PROTOCOL = 253
GROUP = "224.0.0.18"


def open_socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, PROTOCOL)
    sock.setsockopt(socket.SOL_SOCKET, 25, ifname.encode() + b"\0")  # SO_BINDTODEVICE
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    sock.setblocking(False)
    return sock


def datagrams(count: int):
    """A VRRPv3 advert's 12 bytes with one IPv4 address per VRID (what vipd's one-VIP instances send)."""
    return [struct.pack("!BBBBHH4s", 0x31, vrid, 150, 1, 100, 0, socket.inet_aton("198.51.100.%d" % (30 + vrid % 170)))
            for vrid in range(1, count + 1)]


async def send(sock: socket.socket, frames, interval: float, seconds: float):
    loop = asyncio.get_running_loop()
    sent = [0]
    done = loop.create_future()
    end = loop.time() + WARM_UP + seconds
    marks = {}

    def beat(when: float):
        for frame in frames:
            sock.sendto(frame, (GROUP, 0))
        sent[0] += len(frames)
        if "cpu" not in marks and when >= end - seconds:
            marks["cpu"], marks["sent"] = cpu_seconds(), sent[0]
        if when >= end:
            done.set_result((sent[0] - marks["sent"], cpu_seconds() - marks["cpu"]))
            return
        loop.call_at(when + interval, beat, when + interval)  # phase-locked, as vipd's adverts

    first = loop.time() + interval
    loop.call_at(first, beat, first)
    return await done


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--count", type=int, default=1, help="datagrams per interval (one per instance)")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--ifname", default="eth0")
    args = p.parse_args()
    sock = open_socket(args.ifname)
    sent, cpu = asyncio.run(send(sock, datagrams(args.count), args.interval, args.seconds))
    print(json.dumps({"sent": sent, "cpu": round(cpu, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
