# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_track_process in lab namespaces, vipd tracking a process, keepalived 2.2.7 as its peer.

The tracked process is a `sleep` with a distinctive argument, started by the test inside the vipd
host's namespaces (the daemon's /proc) and killed by its PID. The kernel's process-event connector
delivers nothing there: vipd sees the exit through a pidfd and the restart through its /proc scan.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess

import pytest

from tests.lab.lab import wait_until

from .peers import Node, stop_all

pytestmark = pytest.mark.lab

VIP = "198.51.100.100"


def conf(priority, track="", block=""):
    return ("global_defs {\n    router_id lab\n    script_user root\n}\n" + block +
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    priority %d\n"
            "    advert_int 1\n    version 2\n%s    virtual_ipaddress {\n        %s/24\n    }\n}\n" % (priority, track, VIP))


def start_sleep(lab, host, arg):
    proc = lab.popen(host, ["sleep", arg], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


def kill_sleep(proc):
    # nsenter forks the sleep as its child: kill that child (started by this test) and nsenter itself.
    for pid in _children(proc.pid) + [proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


@pytest.mark.parametrize("weight", [None, -100])
def test_killed_process_moves_vip_to_keepalived_and_restart_brings_it_back(lab, weight):
    arg = "%d.%04d" % (4000 + random.randint(0, 999), random.randint(0, 9999))  # distinctive argv, a valid duration
    block = "vrrp_track_process SLEEPER {\n    process sleep %s\n    param_match\n%s}\n" % (arg, "    weight %d\n" % weight if weight else "")
    sleeper = start_sleep(lab, "server1", arg)
    nodes = []
    try:
        wait_until(lambda: _children(sleeper.pid), timeout=10, what="the tracked sleep")
        high = Node(lab, "server1", "vipd", conf(150, "    track_process {\n        SLEEPER\n    }\n", block), tag="tp")
        low = Node(lab, "server2", "keepalived", conf(100), tag="tp")
        nodes = [high.start(), low.start()]
        wait_until(lambda: high.is_master() and low.state() == "BACKUP", timeout=20, what="vipd master with its process running")
        inst = high.instance_status()
        assert inst["effective_priority"] == 150
        assert [(t["value"], t["effect"]) for t in inst["tracking"] if t["kind"] == "process" and t["name"] == "SLEEPER"] == [(True, 0)]

        kill_sleep(sleeper)
        if weight is None:
            # weight 0: quorum lost is FAULT (keepalived: "tracked process SLEEPER quorum not achieved")
            wait_until(lambda: high.state() == "FAULT", timeout=5, interval=0.05, what="vipd FAULT after the kill")
        else:
            wait_until(lambda: (high.instance_status() or {}).get("effective_priority") == 50, timeout=5, interval=0.05,
                       what="priority 150 - 100 after the kill")
        wait_until(lambda: low.is_master() and not high.holds(), timeout=15, what="keepalived takes over")

        sleeper = start_sleep(lab, "server1", arg)
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(), timeout=20,
                   what="vipd back to master once the process runs again")
        assert high.instance_status()["effective_priority"] == 150
    finally:
        kill_sleep(sleeper)
        problems = stop_all(nodes)
    assert not problems, problems
