# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11: the doorbell of a channel read when due, on a real kernel (namespace lab).

A real netio.Channel in server1, its doorbell set for some VRIDs; server2 sends adverts of every kind (ours and
another router's VRID, priority 0 or not, the interval counted with or another). The doorbell must hold exactly
the datagrams that bell.run() says ring (the unit tests prove bell.run against the rule), the data socket every
datagram, and each arrival time (the kernel's stamp on the loop's clock) must fall within the sending.
"""
from __future__ import annotations

import json
import os
import sys
import time

import pytest

from .conftest import ensure_collection_link

RECEIVER = r"""
import json, sys, time
from ansible_collections.floating.vip.plugins.module_utils.vrrp import bell, netio
family, wait, payloads = int(sys.argv[1]), float(sys.argv[2]), [bytes.fromhex(p) for p in sys.argv[3].split(",")]
vrids = [1, 2, 3]
keys = [bell.key(1, 3, 100), bell.key(3, 3, 50)]  # VRID 2: no master counted with yet, everything rings
channel = netio.Channel("eth0", family)
if channel.bell is None:
    print(json.dumps({"error": "no doorbell"}), flush=True)
    sys.exit(1)
channel.set_bell(keys, vrids)
channel.receive(time.monotonic(), lambda item: None)  # starts the clock comparison
print("ready", flush=True)
time.sleep(wait)
rang = []
while True:
    try:
        rang.append(channel.bell.recv(2048).hex())
    except BlockingIOError:
        break
arrivals = []
channel.receive(time.monotonic(), lambda item: arrivals.append(channel.arrival))
insns = bell.program(6, keys, vrids)  # the payloads as sent: at the VRRP header, as an IPv6 socket reads
expected = [p.hex() for p in payloads if bell.run(insns, p, 6) == bell.RING]
print(json.dumps({"rang": rang, "expected": expected, "reads": channel.reads, "arrivals": arrivals}), flush=True)
"""

SENDER = r"""
import socket, sys
family, payloads = int(sys.argv[1]), sys.argv[2].split(",")
if family == 4:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, 25, b"eth0\0")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    for p in payloads:
        sock.sendto(bytes.fromhex(p), ("224.0.0.18", 0))
else:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, 25, b"eth0\0")
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    index = socket.if_nametoindex("eth0")
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    for p in payloads:
        sock.sendto(bytes.fromhex(p), ("ff02::12", 0, 0, index))
"""


def _payload(version, vrid, priority, low):
    return bytes([(version << 4) | 1, vrid, priority, 1, low >> 8, low & 0xFF, 0, 0]) + bytes(4 if version else 0)


@pytest.mark.parametrize("family", [4, 6])
def test_the_kernel_rings_the_doorbell_exactly_as_its_program_says(lab, family):
    env = dict(os.environ, PYTHONPATH=ensure_collection_link())
    payloads = [_payload(3, vrid, prio, low) for vrid in (1, 2, 3, 9) for prio in (150, 0) for low in (100, 50)]
    wire = ",".join(p.hex() for p in payloads)
    receiver = lab.popen("server1", [sys.executable, "-c", RECEIVER, str(family), "3", wire],
                         stdout=-1, stderr=-1, text=True, env=env)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        before = time.monotonic()
        sent = lab.run("server2", [sys.executable, "-c", SENDER, str(family), wire], timeout=30)
        after = time.monotonic()
        assert sent.returncode == 0, sent.stderr
        out, err = receiver.communicate(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait(timeout=10)
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err}
    assert "error" not in result, result
    rang = [bytes.fromhex(h) for h in result["rang"]]
    rang_payloads = [(r[(r[0] & 0x0F) * 4:] if family == 4 else r).hex() for r in rang]
    assert rang_payloads == result["expected"]
    # what rang: every priority 0 (8, VRID 9's too); else VRID 2 always (2), VRIDs 1 and 3 off their interval (2)
    assert len(result["expected"]) == 8 + 2 + 2
    assert result["reads"] == len(payloads)  # the data socket holds them all
    assert len(result["arrivals"]) == len(payloads)
    assert all(before - 0.01 <= at <= after + 0.01 for at in result["arrivals"]), (before, after, result["arrivals"])
