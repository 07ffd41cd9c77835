# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's Prometheus endpoint for real: two daemons in lab namespaces, a real Prometheus server (Debian's package)
scraping both, its HTTP API asked who the master is before and after a switchover; `promtool check metrics` on the
scraped text (with a hostile instance name); the HTTP answers and the bind rules of the running daemon."""
from __future__ import annotations

import os
import shutil

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.lab.lab import wait_until

from .conftest import REPO, run_playbook
from .prometheus import PrometheusServer, ns_http, promtool_check_metrics
from .vipd_helpers import VIP, Cluster, instance_conf, launcher

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(shutil.which("prometheus") is None or shutil.which("promtool") is None,
                                 reason="Debian's prometheus package (prometheus, promtool) is not installed")]

PORT = 9650
# Quotes and backslashes, as a keepalived-syntax quoted name keeps them (and a non-ASCII letter).
HOSTILE = 'VI \\"db\\" \\\\ é'
HOSTILE_CONF = '"%s"' % HOSTILE


@pytest.fixture
def cluster(lab):
    c = Cluster(lab)
    try:
        yield c
    finally:
        c.kill()


def _samples(text, metric, **labels):
    return [s.value for fam in text_string_to_metric_families(text) for s in fam.samples
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]


def test_prometheus_scrapes_vipd_and_sees_the_master_move(lab, cluster):
    ip2 = lab.ip("server2")
    master = cluster.node("server1", instance_conf(name=HOSTILE_CONF, priority=150))
    backup = cluster.node("server2", instance_conf(priority=100))
    master.start(extra_args=["--metrics-listen", "127.0.0.1:%d" % PORT])
    # server2 binds its lab address so that the Prometheus in server1 reaches it: only with the explicit flag.
    refused = launcher("run", "-f", backup.conf_path, "--pidfile", backup.pidfile, "--control-socket", backup.socket,
                       "--metrics-listen", "%s:%d" % (ip2, PORT), netns=backup.netns)
    assert refused.returncode == 2 and "is not a loopback address" in refused.stderr and "--metrics-allow-remote" in refused.stderr
    assert not os.path.exists(backup.pidfile)
    backup.start(extra_args=["--metrics-listen", "%s:%d" % (ip2, PORT), "--metrics-allow-remote"])
    master.wait_state("MASTER", name=HOSTILE)
    backup.wait_state("BACKUP")

    status, text = ns_http(master.netns, "http://127.0.0.1:%d/metrics" % PORT)
    assert status == 200
    lint = promtool_check_metrics(text)
    assert lint.returncode == 0 and lint.stdout == "" and lint.stderr == "", (lint.stdout, lint.stderr, text[:3000])
    assert _samples(text, "vipd_instance_state", instance=HOSTILE, state="MASTER") == [1]
    assert _samples(text, "vipd_instance_master_info", instance=HOSTILE, master=lab.ip("server1")) == [1]
    for path, method, code in (("/", "GET", 404), ("/metrics", "POST", 405), ("/metrics", "PUT", 405)):
        assert ns_http(master.netns, "http://127.0.0.1:%d%s" % (PORT, path), method=method)[0] == code
    # A second daemon cannot take the port: it says so and does not start.
    busy = launcher("run", "-f", master.conf_path, "--pidfile", master.pidfile + ".2", "--control-socket", master.socket + ".2",
                    "--metrics-listen", "127.0.0.1:%d" % PORT, netns=master.netns)
    assert busy.returncode == 1 and ("cannot serve metrics on 127.0.0.1 port %d" % PORT) in busy.stderr, busy.stderr

    prom = PrometheusServer(master.netns, ["127.0.0.1:%d" % PORT, "%s:%d" % (ip2, PORT)]).start()
    try:
        prom.wait_query("up", lambda r: len(r) == 2 and all(x["value"][1] == "1" for x in r), what="both targets up")
        # "Which host is master": the scrape target's `instance`; vipd's own `instance` label becomes exported_instance.
        who = prom.wait_query('vipd_instance_state{state="MASTER"} == 1', lambda r: len(r) == 1, what="one master")
        assert who[0]["metric"]["instance"] == "127.0.0.1:%d" % PORT and who[0]["metric"]["exported_instance"] == HOSTILE
        assert who[0]["metric"]["vrid"] == "51" and who[0]["metric"]["family"] == "ipv4"
        info = prom.query('vipd_instance_master_info{master="%s"}' % lab.ip("server1"))
        assert sorted(x["metric"]["instance"] for x in info) == sorted(["127.0.0.1:%d" % PORT, "%s:%d" % (ip2, PORT)])
        assert prom.query('vipd_build_info{job="vipd"}')[0]["metric"]["version"]

        master.signal(15)  # SIGTERM: make-before-break resignation; server2 takes over
        assert master.wait_exit() == 0
        backup.wait_state("MASTER")
        who = prom.wait_query('vipd_instance_state{state="MASTER"} == 1',
                              lambda r: [x["metric"]["instance"] for x in r] == ["%s:%d" % (ip2, PORT)], what="server2 master")
        flips = prom.wait_query('vipd_instance_transitions_total{from="BACKUP",to="MASTER"}', lambda r: len(r) == 1 and r[0]["value"][1] == "1",
                                what="server2's BACKUP->MASTER counted")
        assert flips[0]["metric"]["exported_instance"] == "VI_1"
        assert cluster.holders(VIP) == ["server2"]
    finally:
        prom.stop()
    status, text = ns_http(backup.netns, "http://%s:%d/metrics" % (ip2, PORT))
    assert status == 200 and promtool_check_metrics(text).returncode == 0


def test_role_variable_vrrp_metrics_listen(lab):
    """playbooks/vrrp_pair.yml (role floating.vip.vrrp) with vrrp_metrics_listen: each host serves its metrics; a
    non-loopback address without vrrp_metrics_allow_remote is refused before anything is deployed."""
    pair = os.path.join(REPO, "playbooks", "vrrp_pair.yml")
    bad = run_playbook(lab, pair, structured=False, extra_vars={"vrrp_metrics_listen": "0.0.0.0:%d" % PORT})
    assert bad.rc != 0 and "vrrp_metrics_listen: '0.0.0.0:%d' is not a loopback address" % PORT in bad.stdout, bad.stdout[-3000:]
    assert "vrrp_metrics_allow_remote: true" in bad.stdout
    assert lab.read_etc("server1", "/etc/vipd/vipd.conf") is None  # refused before anything was written
    run = run_playbook(lab, pair, extra_vars={"vrrp_metrics_listen": "127.0.0.1:%d" % PORT})
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for host, state in (("server1", "MASTER"), ("server2", "BACKUP")):
        def scraped():
            status, text = ns_http(lab.host(host).netns, "http://127.0.0.1:%d/metrics" % PORT)
            return text if status == 200 and _samples(text, "vipd_instance_state", instance="VI_SERVICE", state=state) == [1] else None
        text = wait_until(scraped, timeout=15, interval=0.3, what="%s's metrics with VI_SERVICE %s" % (host, state))
        assert promtool_check_metrics(text).returncode == 0
        assert _samples(text, "vipd_tracker_status", kind="check", name="chk_service", status="ok") == [1]
