# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRID conflicts for real: a vipd pair and, on the same bridge, a foreign keepalived 2.2.7 group that copied the
VRID but has other VIPs and another advert interval and password (the classic copy-paste outage). vipd keeps its election (the
foreign adverts are dropped as before), and reports the conflict: `vipd status` (human and --json), one log line per
source and minute, the metrics endpoint, and playbooks/status.yml failing with the hosts named."""
from __future__ import annotations

import os
import shutil
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.lab.lab import wait_until

from .conftest import run_playbook
from .peers import InstanceSpec, Node, render_config
from .prometheus import ns_http, promtool_check_metrics
from .vipd_helpers import LAUNCHER, REPO, VIP, Cluster, instance_conf

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

FOREIGN_VIP = "198.51.100.150"
PORT = 9650
STATUS = os.path.join(REPO, "playbooks", "status.yml")


def test_foreign_keepalived_group_with_the_same_vrid_is_reported(lab_factory):
    lab = lab_factory(servers=3, clients=0)
    cluster = Cluster(lab)
    # The foreign group advertises faster than ours: keepalived 2.2.7 restarts a master's advert timer on every
    # packet it receives, even one it drops, so a foreign master slower than our adverts would hardly ever send.
    foreign = Node(lab, "server3", "keepalived", render_config(
        [InstanceSpec(vrid=51, priority=200, version=2, advert_int=1, auth_pass="foreign1", vips=(FOREIGN_VIP + "/24",),
                      state="MASTER")], router_id="foreign"))
    try:
        ours = dict((host, cluster.node(host, instance_conf(priority=prio, version=2, advert_int=2)))
                    for host, prio in (("server1", 150), ("server2", 100)))
        for node in ours.values():
            node.start(extra_args=["--metrics-listen", "127.0.0.1:%d" % PORT])
        ours["server1"].wait_state("MASTER")
        ours["server2"].wait_state("BACKUP")
        foreign.start()
        wait_until(lambda: foreign.holds(FOREIGN_VIP), timeout=20, what="the foreign group master")
        source = lab.ip("server3")

        def conflict(host):
            items = ours[host].instance()["conflicts"]
            return items if items and items[0]["count"] >= 3 else None
        for host in ours:
            try:
                items = wait_until(lambda: conflict(host), timeout=20, interval=0.2, what="conflict seen on %s" % host)
            except TimeoutError:
                raise AssertionError("no conflict on %s: %s\n%s\nkeepalived: %s" % (
                    host, ours[host].instance(), ours[host].log()[-3000:], foreign.log_tail())) from None
            assert [(c["source"], c["differs"]) for c in items] == [(source, ["vips", "interval", "authentication"])], items
            assert items[0]["last_seen"] >= items[0]["first_seen"]
        # Handled as before: the foreign adverts (priority 200) are dropped, our election is untouched.
        inst = ours["server1"].instance()
        assert inst["state"] == "MASTER" and ours["server2"].state() == "BACKUP" and cluster.holders(VIP) == ["server1"]
        assert inst["counters"]["drops"].get("auth_type", 0) >= 3 and inst["counters"]["conflicts"] >= 3

        human = lab.run("server1", [sys.executable, LAUNCHER, "status", "--control-socket", ours["server1"].socket], check=True).stdout
        assert "CONFLICT VI_1 vrid 51: %s differs in vips,interval,authentication (" % source in human, human
        # Logged once for this source (the test lasts well under the minute of the rate limit), without the VIPs' owner's secrets.
        lines = [line for line in ours["server1"].log().splitlines() if "VRID 51 conflict" in line]
        assert len(lines) == 1 and ("advert from %s for our VRID differs in vips, interval, authentication" % source) in lines[0], lines

        status, text = ns_http(ours["server1"].netns, "http://127.0.0.1:%d/metrics" % PORT)
        assert status == 200 and promtool_check_metrics(text).returncode == 0
        found = dict((s.name, s) for fam in text_string_to_metric_families(text) for s in fam.samples
                     if s.name.startswith("vipd_vrid_conflict") and s.labels.get("source", source) == source)
        assert found["vipd_vrid_conflicts_total"].value >= 3 and found["vipd_vrid_conflict_sources"].value == 1
        assert found["vipd_vrid_conflict_info"].labels["differs"] == "vips,interval,authentication"
        assert found["vipd_vrid_conflict_adverts_total"].value >= 3

        run = run_playbook(lab, STATUS, structured=False, extra_vars={
            "vrrp_status_hosts": "server1:server2",
            "vrrp_control_socket": os.path.join(lab.workdir, "vipd-{{ inventory_hostname }}", "vipd.sock")})
        assert run.rc != 0, run.stdout[-3000:]
        assert "VRID conflicts on server1, server2:" in run.stdout, run.stdout[-3000:]
        assert "server1 VI_1 (VRID 51) hears %s differing in vips,interval,authentication" % source in run.stdout, run.stdout[-3000:]

        # The foreign group is stopped: the conflict stays listed (seen at most 5 minutes ago), its count stops growing.
        foreign.stop()
        before = ours["server1"].instance()["conflicts"][0]["count"]
        wait_until(lambda: ours["server1"].instance()["counters"]["adverts_out"] >= inst["counters"]["adverts_out"] + 4,
                   timeout=15, what="four more adverts of ours")
        assert ours["server1"].instance()["conflicts"][0]["count"] == before
    finally:
        if foreign.running():
            foreign.kill()
        cluster.kill()
