# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Python floor of a VRRP backup's idle CPU (issue 11): vipd's receive pattern with no VRRP work.

An asyncio loop watches a raw protocol-112 socket joined to 224.0.0.18 on eth0 and reads it as vipd does
(recv until EAGAIN; after a read of two or more, a 1 ms pause and another read, at most 8 times), keeping each
datagram in a dict by its bytes and nothing else. Run inside a lab host next to a vipd backup, it shows what
the interpreter and the event loop cost for the same traffic: the part of vipd's CPU that no change to vipd's
own code can remove. Prints one JSON line: {"packets": N, "cpu": seconds (schedstat), "reads": wakeups that read}.

With --due MDI it reads as a vipd backup whose interface has only backups does (vrrp/reading.py): not as
adverts arrive but when a deadline is due. The datagrams wait in the socket's buffer; each is read with its
kernel arrival stamp, the last stamp per VRID is kept, and the next read is at the earliest of those plus MDI
(the Master_Down_Interval). That is the floor of vipd's rows where every instance on the link is a backup.

    ip netns exec <host> python3 floor_receiver.py --seconds 10 [--ifname eth0] [--due 0.36]
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


SO_TIMESTAMPNS, SO_RCVBUFFORCE = 35, 33
STAMP = struct.Struct("=qq")


async def receive(sock: socket.socket, seconds: float) -> Tuple[int, float, int]:
    seen = {}
    count = [0]
    wakeups = [0]

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
        wakeups[0] += 1
        for _round in range(ROUNDS):
            if drain() < 2:
                return
            time.sleep(PAUSE)
    asyncio.get_running_loop().add_reader(sock.fileno(), readable)
    return await _window(seconds, count, wakeups)


async def receive_when_due(sock: socket.socket, seconds: float, mdi: float) -> Tuple[int, float, int]:
    """Read when the earliest deadline (last arrival of a VRID + mdi) is due, as vipd's quiet channels."""
    loop = asyncio.get_running_loop()
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)  # as vipd's netio.LAZY_RCVBUF
    last = {}
    count = [0]
    wakeups = [0]
    offset = time.time() - time.monotonic()  # stamps are wall time; the loop's clock is monotonic

    def due():
        wakeups[0] += 1
        reads = 0
        while reads < 4096:
            try:
                data, ancdata, _flags, _addr = sock.recvmsg(2048, 64)
            except BlockingIOError:
                break
            reads += 1
            for _level, kind, value in ancdata:
                if kind == SO_TIMESTAMPNS:
                    sec, nsec = STAMP.unpack_from(value)
                    last[data[20:22]] = sec + nsec / 1e9 - offset  # VRRP version/type and VRID
        count[0] += reads
        first = min(last.values()) + mdi if last else loop.time() + mdi
        loop.call_at(max(first, loop.time() + 0.001), due)

    loop.call_later(mdi, due)
    return await _window(seconds, count, wakeups)


async def _window(seconds: float, count: list, wakeups: list) -> Tuple[int, float, int]:
    # Warm up first, as the daemon it stands for has (it settled for seconds before its window): a fresh
    # process pays page faults and the interpreter's specialisation on its first passes through this code.
    await asyncio.sleep(WARM_UP)
    before, first, woke = cpu_seconds(), count[0], wakeups[0]
    await asyncio.sleep(seconds)
    return count[0] - first, cpu_seconds() - before, wakeups[0] - woke


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--ifname", default="eth0")
    p.add_argument("--due", type=float, default=None, help="read when due: the Master_Down_Interval in seconds")
    args = p.parse_args()
    sock = open_socket(args.ifname)
    if args.due is not None and args.due <= 0:
        p.error("--due must be positive")
    run = receive(sock, args.seconds) if args.due is None else receive_when_due(sock, args.seconds, args.due)
    packets, cpu, reads = asyncio.run(run)
    print(json.dumps({"packets": packets, "cpu": round(cpu, 4), "reads": reads}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
