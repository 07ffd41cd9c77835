# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's source address changing under it (its interface renumbered), with real daemons in a fresh lab,
vipd beside keepalived 2.2.7 running the same steps: keepalived's behaviour is the reference.

Without a configured source an instance sends from its interface's primary address. vipd read it once, at start:
it went on sending from an address the host no longer had, and stayed MASTER where keepalived enters FAULT
because the interface has no address left (InstanceRuntime.check_source, supervisor.on_source).
"""
from __future__ import annotations

import time

import pytest

from tests.lab import wait_until

from .peers import VIP, Capture, InstanceSpec, elected_pair, render_config

pytestmark = [pytest.mark.lab]

HIGH, LOW = 150, 100
IMPLS = ["vipd", pytest.param("keepalived", marks=pytest.mark.keepalived)]


def _conf(priority: int) -> str:
    return render_config([InstanceSpec(priority=priority, version=3, advert_int=0.2)], router_id="source")


def _sources(capture: Capture, since: float) -> set:
    return set(fr.src_ip for fr in capture.read() if fr.kind == "vrrp" and fr.ts > since)


def _elected(lab, impl):
    """(HIGH on server1, LOW on server2, a capture of the link), elected."""
    return elected_pair(lab, impl, _conf(HIGH), _conf(LOW), "src")


@pytest.mark.parametrize("impl", IMPLS)
def test_a_master_whose_interface_loses_its_last_address_is_in_fault_until_one_comes(lab, impl):
    with _elected(lab, impl) as (high, low, capture):
        lab.run("server1", ["ip", "addr", "flush", "dev", "eth0", "scope", "global"], check=True)
        wait_until(lambda: high.state() == "FAULT" and low.state() == "MASTER", timeout=10, interval=0.1,
                   what="%s in FAULT, the backup master" % impl)
        time.sleep(1.0)
        assert high.state() == "FAULT"
        since = time.time() + 0.5
        lab.run("server1", ["ip", "addr", "add", "198.51.100.31/24", "dev", "eth0"], check=True)
        wait_until(lambda: high.state() == "MASTER" and low.state() == "BACKUP", timeout=15, interval=0.1,
                   what="%s master again" % impl)
        time.sleep(1.0)
        assert _sources(capture, since) >= {"198.51.100.31"}
        assert "198.51.100.11" not in _sources(capture, since)


@pytest.mark.parametrize("impl", IMPLS)
def test_a_master_renumbered_in_place_sends_from_its_new_address_and_stays_master(lab, impl):
    with _elected(lab, impl) as (high, low, capture):
        lab.run("server1", ["sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1"], check=True)
        lab.run("server1", ["ip", "addr", "add", "198.51.100.21/24", "dev", "eth0"], check=True)
        lab.run("server1", ["ip", "addr", "del", "198.51.100.11/24", "dev", "eth0"], check=True)
        since = time.time() + 0.5
        time.sleep(2.0)
        assert (high.state(), low.state()) == ("MASTER", "BACKUP")
        assert _sources(capture, since) == {"198.51.100.21"}
        assert lab.ping("client1", VIP, timeout=1)
