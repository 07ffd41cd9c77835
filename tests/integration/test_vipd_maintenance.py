# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`vipd maintenance on|off` on three real vipd nodes in lab namespaces, a client probing the VIP every 10 ms.

The master hands over make-before-break (0 probes lost) and stays BACKUP across a reload and a restart
although it has the highest priority; `off` lets it preempt back (0 lost). A backup in maintenance never
takes over, even with every other router gone.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.benchmarks.prober import ProbeProcess

from .vipd_helpers import VIP, Cluster, instance_conf, launcher

pytestmark = pytest.mark.lab

PRIOS = {"server1": 150, "server2": 140, "server3": 130}


def maintenance(node, *args):
    proc = launcher("maintenance", *args, "--json", "--control-socket", node.socket)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def stays(node, state, seconds):
    """The node is in `state` at every check over `seconds` (bounded loop)."""
    deadline = time.monotonic() + seconds
    for _check in range(int(seconds / 0.1) + 1):
        assert node.state() == state, node.log()[-3000:]
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)


def test_maintenance_hands_over_without_loss_and_persists(lab_factory):
    lab = lab_factory(servers=3, clients=1)
    cluster = Cluster(lab)
    prober = None
    try:
        nodes = dict((h, cluster.node(h, instance_conf(priority=p)).start()) for h, p in PRIOS.items())
        s1, s2, s3 = nodes["server1"], nodes["server2"], nodes["server3"]
        s1.wait_state("MASTER")
        s2.wait_state("BACKUP")
        s3.wait_state("BACKUP")
        mdi = s2.instance()["advert_int"] * 3 + 1.0
        prober = ProbeProcess(lab.host("client1").netns, VIP, interval=0.01, workdir=lab.workdir).start()
        time.sleep(0.5)

        reply = maintenance(s1, "on", "--all")
        assert reply["changed"] == ["VI_1"] and reply["maintenance"]["all"] is True
        s2.wait_state("MASTER")
        s1.wait_state("BACKUP")
        assert s1.instance()["maintenance"] is True and cluster.holders() == ["server2"]
        assert maintenance(s1, "on", "VI_1")["changed"] == []          # idempotent
        stays(s1, "BACKUP", 2 * mdi)                                    # priority 150 > 140, yet no preemption
        human = launcher("status", "--control-socket", s1.socket).stdout
        assert "maintenance (never takes over" in human and "VI_1" in human.splitlines()[-1]

        s1.signal(signal.SIGHUP)                                        # reload
        stays(s1, "BACKUP", mdi)
        s1.signal(signal.SIGTERM)                                       # restart: BACKUP resigns without a blip
        assert s1.wait_exit() == 0
        with open(os.path.join(s1.state_dir, "maintenance.json")) as handle:
            assert json.load(handle) == {"version": 1, "all": True, "instances": []}
        s1.start()
        s1.wait_state("BACKUP")
        stays(s1, "BACKUP", 2 * mdi)
        assert s1.instance()["maintenance"] is True and s1.status()["maintenance"]["all"] is True

        reply = maintenance(s1, "off", "VI_1")
        assert reply["changed"] == ["VI_1"]
        s1.wait_state("MASTER", timeout=2 * mdi + 5)                    # preempts back as configured
        s2.wait_state("BACKUP")
        time.sleep(0.5)
        result = prober.finish()
        prober = None
        assert result["sent"] > 300 and result["received"] == result["sent"], result
        assert result["gaps"] == [], result

        # A backup in maintenance never takes over, even when nobody else is alive.
        maintenance(s3, "on", "VI_1")
        s2.kill()
        s1.kill()
        stays(s3, "BACKUP", 2 * mdi)
        assert not s3.has_vip()
        bad = launcher("maintenance", "on", "NOPE", "--control-socket", s3.socket)
        assert bad.returncode == 1 and "no instance 'NOPE'" in bad.stderr
    finally:
        if prober is not None:
            prober.kill()
        cluster.kill()
