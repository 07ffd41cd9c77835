# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python floor of a VRRP backup's idle CPU (issue 11): vipd's receive pattern with no VRRP work.

An asyncio loop watches a raw protocol-112 socket joined to 224.0.0.18 on eth0 and reads it as vipd does
(recv until EAGAIN; after a read of two or more, a 1 ms pause and another read, at most 8 times), keeping each
datagram in a dict by its bytes and nothing else. Run inside a lab host next to a vipd backup, it shows what
the interpreter and the event loop cost for the same traffic: the part of vipd's CPU that no change to vipd's
own code can remove. Prints one JSON line: {"packets": N, "cpu": seconds (schedstat)}.

    ip netns exec <host> python3 floor_receiver.py --seconds 10 [--ifname eth0]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import time
from typing import Tuple

PAUSE, ROUNDS = 0.001, 8  # as vipd's daemon.RX_PAUSE / RX_ROUNDS
WARM_UP = 3.0  # seconds of receiving before the measured window


def cpu_seconds() -> float:
    with open("/proc/self/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def open_socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, 25, ifname.encode() + b"\0")  # SO_BINDTODEVICE
    mreq = struct.pack("=4s4si", socket.inet_aton("224.0.0.18"), socket.inet_aton("0.0.0.0"), socket.if_nametoindex(ifname))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setblocking(False)
    return sock


async def receive(sock: socket.socket, seconds: float) -> Tuple[int, float]:
    seen = {}
    count = [0]

    def drain() -> int:
        reads = 0
        while reads < 256:
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                break
            seen[data] = True
            reads += 1
        count[0] += reads
        return reads

    def readable():
        for _round in range(ROUNDS):
            if drain() < 2:
                return
            time.sleep(PAUSE)
    asyncio.get_running_loop().add_reader(sock.fileno(), readable)
    # Warm up first, as the daemon it stands for has (it settled for seconds before its window): a fresh
    # process pays page faults and the interpreter's specialisation on its first passes through this code.
    await asyncio.sleep(WARM_UP)
    before, first = cpu_seconds(), count[0]
    await asyncio.sleep(seconds)
    return count[0] - first, cpu_seconds() - before


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--ifname", default="eth0")
    args = p.parse_args()
    sock = open_socket(args.ifname)
    packets, cpu = asyncio.run(receive(sock, args.seconds))
    print(json.dumps({"packets": packets, "cpu": round(cpu, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
