# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's own tools, tested: the outage prober and the bridge capture."""
from __future__ import annotations

import time

import pytest

from tests.benchmarks.prober import ProbeProcess, checksum, echo_request, summarize

from .peers import VIP, Capture, parse_keepalived_stats


def test_summarize_finds_runs_of_lost_probes():
    sent = [i * 0.005 for i in range(10)]
    gaps = summarize(sent, {0, 1, 2, 6, 7, 9}, 0.005)
    # Probes 3..5 lost (3 probes, 15 ms), then 8 (5 ms).
    assert [(g["lost"], round(g["end"] - g["start"], 6)) for g in gaps] == [(3, 0.015), (1, 0.005)]
    assert summarize(sent, set(range(10)), 0.005) == []
    open_gap = summarize(sent, {0, 1}, 0.005)[0]
    assert open_gap["open"] and open_gap["lost"] == 8


def test_echo_request_checksum_verifies():
    pkt = echo_request(0x1234, 7)
    assert pkt[0] == 8 and checksum(pkt) == 0


def test_keepalived_stats_parser():
    text = ("VRRP Instance: VI_1\n  Advertisements:\n    Received: 4\n    Sent: 9\n  Became master: 1\n"
            "  Packet Errors:\n    Length: 0\n    TTL: 2\n  Authentication Errors:\n    Failure: 1\n"
            "VRRP Instance: VI_2\n  Advertisements:\n    Received: 1\n    Sent: 0\n")
    stats = parse_keepalived_stats(text)
    assert stats["Advertisements/Received"] == 5 and stats["Advertisements/Sent"] == 9
    assert stats["Packet Errors/TTL"] == 2 and stats["Authentication Errors/Failure"] == 1
    assert stats["Became master"] == 1
    assert parse_keepalived_stats(text, "VI_2") == {"Advertisements/Received": 1, "Advertisements/Sent": 0}


@pytest.mark.lab
def test_prober_counts_replies_and_detects_a_gap(lab_factory):
    lab = lab_factory(servers=1, clients=1)
    client = lab.host("client1").netns
    lab.run("server1", ["ip", "addr", "add", VIP + "/24", "dev", "eth0"], check=True)
    assert lab.ping("client1", VIP)

    steady = ProbeProcess(client, VIP, workdir=lab.workdir).start()
    time.sleep(1.0)
    result = steady.finish()
    # 1 s at 5 ms: about 200 probes (scheduling may slip a little), every one answered.
    assert 150 <= result["sent"] <= 210, result
    assert result["received"] == result["sent"], result
    assert result["gaps"] == [] and result["outage"] == 0.0

    # Remove the address for ~0.4 s: the prober must see one gap of about that length.
    capture = Capture(lab).start()
    gappy = ProbeProcess(client, VIP, workdir=lab.workdir).start()
    try:
        time.sleep(0.3)
        removed = time.monotonic()
        lab.run("server1", ["ip", "addr", "del", VIP + "/24", "dev", "eth0"], check=True)
        time.sleep(0.4)
        lab.run("server1", ["ip", "addr", "add", VIP + "/24", "dev", "eth0"], check=True)
        restored = time.monotonic()
        # Announce the address like a new master would: the capture must count it.
        lab.run("server1", ["arping", "-U", "-S", VIP, "-c", "3", "-W", "0.05", "-I", "eth0", VIP])
        time.sleep(0.3)
    finally:
        result = gappy.finish()
        capture.stop()
    assert result["received"] < result["sent"]
    longest = result["gaps"][0]
    assert not longest.get("open")
    assert 0.25 <= result["outage"] <= (restored - removed) + 0.1, result
    # The gap lies between the moments the address went and came back (same monotonic clock).
    assert removed - 0.05 <= longest["start"] and longest["end"] <= restored + 0.1, (removed, restored, longest)
    assert len(result["gaps"]) == 1, result["gaps"]
    assert capture.garps(VIP) == {lab.mac("server1"): 3}
