# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A master whose VIP someone deletes (an admin, a network tool reloading the interface), with real daemons in a
fresh lab, vipd beside keepalived 2.2.7 running the same steps: keepalived's behaviour is the reference.

keepalived (set_vrrp_backup) leaves MASTER with a priority-0 advert and takes the VIP back after its own Skew_Time,
before the backup, which heard the priority 0, waits out its longer one: the backup never takes over. vipd used to
wait a full Master_Down_Interval without priority 0, so the backup's own Master_Down_Interval could run out first:
the VIP moved there and back, and in the unicast case below both hosts stayed MASTER for good (the host with only
the VIP left on the subnet asked for its peer's MAC from the VIP, which the peer, holding the VIP too, ignored).
"""
from __future__ import annotations

import threading
import time

import pytest

from tests.lab import wait_until

from .peers import VIP, InstanceSpec, Node, elected_pair, render_config

pytestmark = [pytest.mark.lab]

HIGH, LOW = 150, 100
IMPLS = ["vipd", pytest.param("keepalived", marks=pytest.mark.keepalived)]
SERVER1, SERVER2 = "198.51.100.11", "198.51.100.12"


def _skew(priority: int, advert_int: float) -> float:
    return (256 - priority) * advert_int / 256.0


class _Watch:
    """Polls both nodes' states every 50 ms in a thread, so that a short takeover by the backup is seen."""

    def __init__(self, high: Node, low: Node):
        self.high, self.low = high, low
        self.seen = []  # (monotonic, high state, low state), on each change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for _poll in range(2000):  # bounded: 100 s
            if self._stop.wait(0.05):
                return
            states = (self.high.state(), self.low.state())
            if not self.seen or self.seen[-1][1:] != states:
                self.seen.append((time.monotonic(),) + states)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def low_states(self) -> set:
        return set(s[2] for s in self.seen)


def _elected(lab, impl, specs):
    """(HIGH on server1, LOW on server2, a capture of the link), elected and settled: the backup follows the master's
    adverts."""
    return elected_pair(lab, impl, render_config([specs[0]], router_id="vipdel"), render_config([specs[1]], router_id="vipdel"),
                        "del", settle=4 * specs[0].advert_int)


@pytest.mark.parametrize("impl", IMPLS)
def test_a_master_whose_vip_is_deleted_sends_priority_zero_and_takes_it_back_before_the_backup(lab, impl):
    advert_int = 1.0
    specs = [InstanceSpec(priority=HIGH, version=3, advert_int=advert_int),
             InstanceSpec(priority=LOW, version=3, advert_int=advert_int)]
    with _elected(lab, impl, specs) as (high, low, capture):
        with _Watch(high, low) as watch:
            wall, start = time.time(), time.monotonic()
            lab.run("server1", ["ip", "addr", "del", VIP + "/24", "dev", "eth0"], check=True)
            # back within its Skew_Time (0.41 s) and scheduling slack, far below Master_Down_Interval (3.41 s)
            wait_until(high.is_master, timeout=3 * advert_int, interval=0.02, what="%s master again" % impl)
            back = time.monotonic() - start
            time.sleep(2 * advert_int + _skew(LOW, advert_int))  # past the backup's Skew_Time and more
        resigned = [f for f in capture.read() if f.kind == "vrrp" and f.src_ip == SERVER1 and f.priority == 0
                    and f.ts >= wall - 0.05]
        assert resigned, "no priority-0 advert from the master that lost its VIP"
        assert back < 3 * advert_int, back
        assert watch.low_states() == {"BACKUP"}, watch.seen
        assert high.is_master() and not low.holds()
        assert lab.ping("client1", VIP, timeout=1)


@pytest.mark.parametrize("impl", IMPLS)
def test_a_unicast_master_whose_addresses_are_all_flushed_stays_the_only_master(lab, impl):
    """A configured unicast_src_ip that is deleted with every other address: keepalived goes on sending from it
    (it is not tracked without track_src_ip) and takes its VIP back at once; so must vipd."""
    advert_int = 0.2
    specs = [InstanceSpec(priority=HIGH, version=3, advert_int=advert_int, unicast_src_ip=SERVER1, unicast_peers=(SERVER2,)),
             InstanceSpec(priority=LOW, version=3, advert_int=advert_int, unicast_src_ip=SERVER2, unicast_peers=(SERVER1,))]
    with _elected(lab, impl, specs) as (high, low, capture):
        with _Watch(high, low) as watch:
            lab.run("server1", ["ip", "addr", "flush", "dev", "eth0", "scope", "global"], check=True)
            time.sleep(3.0)
            wall = time.time()
            time.sleep(1.0)
        assert (high.state(), low.state()) == ("MASTER", "BACKUP"), watch.seen
        assert watch.low_states() == {"BACKUP"}, watch.seen
        assert high.holds() and not low.holds()
        sources = set(f.src_ip for f in capture.read() if f.kind == "vrrp" and f.ts > wall)
        assert sources == {SERVER1}, sources


def _address_storm(count: int = 250) -> str:
    """An `ip -batch` script that adds and deletes ``count`` host addresses on lo twice: a few thousand rtnetlink
    notifications, more than a stopped daemon's socket buffer holds."""
    lines = ["addr add 203.0.113.%d/32 dev lo" % n for n in range(1, count + 1)]
    lines += ["addr del 203.0.113.%d/32 dev lo" % n for n in range(1, count + 1)]
    return "\n".join(lines * 2) + "\n"


def test_a_vip_deletion_lost_in_a_netlink_overrun_is_still_seen(lab):
    """The master stalls (SIGSTOP) while thousands of address changes overrun its rtnetlink buffer, and its VIP is
    deleted in the same stall, so the kernel drops that notification too. vipd checks the VIPs it holds when
    notifications were lost, steps back and takes the VIP back. keepalived 2.2.7 in the same run stayed MASTER
    without the VIP, and nobody answered for it."""
    advert_int = 1.0
    specs = [InstanceSpec(priority=HIGH, version=3, advert_int=advert_int),
             InstanceSpec(priority=LOW, version=3, advert_int=advert_int)]
    with _elected(lab, "vipd", specs) as (high, low, _capture):
        with _Watch(high, low) as watch:
            with high.stalled():  # shorter than the backup's Master_Down_Interval (3.6 s)
                lab.run("server1", ["ip", "-batch", "-"], check=True, input=_address_storm())
                lab.run("server1", ["ip", "addr", "del", VIP + "/24", "dev", "eth0"], check=True)
            wait_until(lambda: high.is_master() and high.holds(), timeout=3 * advert_int, interval=0.05,
                       what="vipd holding its VIP again")
            time.sleep(1.0)
        log = high.log_text()
        assert "rtnetlink notifications were lost" in log and "VIP %s/24 deleted" % VIP in log, high.log_tail()
        assert watch.low_states() == {"BACKUP"}, watch.seen
        assert lab.ping("client1", VIP, timeout=1)
