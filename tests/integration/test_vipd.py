# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd for real: daemons in lab namespaces, a client on the same bridge.

Behaviour is asserted through `vipd status --json`, the addresses on each host and the
client's neighbour table, always with bounded polling (never a sleep-and-hope).
"""
from __future__ import annotations

import os
import signal
import socket

import pytest

from tests.lab.lab import wait_until

from .vipd_helpers import VIP, VIP2, Cluster, instance_conf, launcher, sample_holders

pytestmark = pytest.mark.lab


@pytest.fixture
def cluster(lab):
    c = Cluster(lab)
    try:
        yield c
    finally:
        c.kill()


# ---------------------------------------------------------------- vipd check (no root needed)

def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_check_valid_config_exit_0(tmp_path):
    text = "global_defs {\n    router_id A\n}\n" + instance_conf(priority=150, auth_pass="s3cret", version=2, advert_int=1)
    conf = _write(tmp_path, "ok.conf", text)
    proc = launcher("check", "-f", conf)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_check_reports_every_error_with_file_line(tmp_path):
    text = instance_conf(vrid=300, priority=100, extra="bogus_keyword 1")
    conf = _write(tmp_path, "bad.conf", text)
    proc = launcher("check", "-f", conf)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    vrid_line = text.splitlines().index("    virtual_router_id 300") + 1
    bogus_line = text.splitlines().index("    bogus_keyword 1") + 1
    assert any(line.startswith("%s:%d: " % (conf, vrid_line)) and "virtual_router_id" in line for line in lines), lines
    assert any(line.startswith("%s:%d: " % (conf, bogus_line)) and "bogus_keyword" in line for line in lines), lines


def test_check_warning_only_exits_0(tmp_path):
    text = instance_conf(extra="kernel_rx_buf_size 65536")
    conf = _write(tmp_path, "warn.conf", text)
    proc = launcher("check", "-f", conf)
    assert proc.returncode == 0, proc.stderr
    line = text.splitlines().index("    kernel_rx_buf_size 65536") + 1
    assert "%s:%d: " % (conf, line) in proc.stderr and "kernel_rx_buf_size" in proc.stderr


def test_check_missing_file_fails(tmp_path):
    missing = str(tmp_path / "nope.conf")
    proc = launcher("check", "-f", missing)
    assert proc.returncode != 0
    assert proc.stderr.startswith(missing + ":")


def test_status_without_daemon_fails(tmp_path):
    proc = launcher("status", "--control-socket", str(tmp_path / "none.sock"))
    assert proc.returncode != 0
    assert "cannot reach" in proc.stderr


# ---------------------------------------------------------------- daemons on the lab

def test_election_hard_failure_stale_vip_and_preemption_back(lab, cluster):
    n1 = cluster.node("server1", instance_conf(priority=150)).start()
    n2 = cluster.node("server2", instance_conf(priority=100)).start()
    n1.wait_state("MASTER")
    n2.wait_state("BACKUP")
    wait_until(lambda: cluster.holders() == ["server1"], timeout=10, what="VIP only on server1")
    status1 = n1.instance()
    assert status1["vips_held"] == [VIP + "/24"]
    assert status1["master"] == lab.ip("server1")
    wait_until(lambda: n2.instance()["master"] == lab.ip("server1"), timeout=10, what="backup to learn the master")
    # The client resolves the VIP to server1 (GARP or ARP reply).
    assert lab.ping("client1", VIP)
    assert lab.neigh("client1", VIP) == lab.mac("server1")

    # Hard failure: the daemon is SIGKILLed (its VIP stays behind) and its link goes down.
    n1.kill()
    cluster.link("server1", up=False)
    n2.wait_state("MASTER", timeout=10)
    wait_until(n2.has_vip, timeout=10, what="VIP on server2")
    # Without any traffic from the client, server2's gratuitous ARP updates the client's cache.
    wait_until(lambda: lab.neigh("client1", VIP) == lab.mac("server2"), timeout=10, what="client neighbour entry to move to server2")
    assert n2.instance()["counters"]["garps_sent"] >= 5

    # server1 comes back with the VIP left by the crash: it must not claim it, it starts BACKUP,
    # drops the stale VIP, then preempts (higher priority) and takes the VIP back.
    assert n1.has_vip()
    cluster.link("server1", up=True)
    n1.start()
    n1.wait_state("MASTER", timeout=15)
    n2.wait_state("BACKUP", timeout=10)
    wait_until(lambda: cluster.holders() == ["server1"], timeout=10, what="VIP back on server1 only")
    log1 = n1.log()
    assert "already present at start; starting as BACKUP" in log1
    restart = log1[log1.index("already present at start"):]
    first = next(line for line in restart.splitlines() if "VI_1: " in line and " -> " in line)
    assert "-> BACKUP" in first, first
    wait_until(lambda: lab.neigh("client1", VIP) == lab.mac("server1"), timeout=10, what="client neighbour entry back to server1")
    assert n1.instance()["counters"]["drops"] == {}


def test_graceful_resignation_is_make_before_break(lab, cluster):
    n1 = cluster.node("server1", instance_conf(priority=150, advert_int=1, version=2)).start()
    n2 = cluster.node("server2", instance_conf(priority=100, advert_int=1, version=2)).start()
    n1.wait_state("MASTER")
    n2.wait_state("BACKUP")
    wait_until(lambda: cluster.holders() == ["server1"], timeout=10, what="VIP only on server1")

    n1.signal(signal.SIGTERM)
    # server1 is sampled before server2: a sample with neither would be a real gap.
    samples = sample_holders(cluster, ["server1", "server2"], until=lambda: not n1.running, timeout=15)
    assert n1.wait_exit(timeout=15) == 0
    assert [] not in samples, "VIP held by nobody during the switchover"
    assert cluster.holders() == ["server2"]
    inst2 = n2.instance()
    assert inst2["state"] == "MASTER"
    assert inst2["counters"]["priority_zero_in"] >= 1
    log1 = n1.log()
    # The old master released the VIP only after hearing the new master (not on its timeout).
    assert "VIPs removed" in log1
    assert "MASTER -> STOPPED (resigned: new master %s seen" % lab.ip("server2") in log1
    assert "vipd stopped" in log1


def test_nopreempt_keeps_the_running_master(lab, cluster):
    n2 = cluster.node("server2", instance_conf(priority=100)).start()
    n2.wait_state("MASTER")
    n1 = cluster.node("server1", instance_conf(priority=150, extra="nopreempt")).start()
    n1.wait_state("BACKUP")
    # 20 adverts from the lower-priority master (4 s at 0.2 s) and still BACKUP.
    wait_until(lambda: n1.instance()["counters"]["adverts_in"] >= 20, timeout=15, what="20 adverts heard")
    assert n1.state() == "BACKUP"
    assert n2.state() == "MASTER"
    assert cluster.holders() == ["server2"]


def test_preempt_delay_waits_before_taking_over(lab, cluster):
    n2 = cluster.node("server2", instance_conf(priority=100)).start()
    n2.wait_state("MASTER")
    n1 = cluster.node("server1", instance_conf(priority=150, extra="preempt_delay 3")).start()
    n1.wait_state("MASTER", timeout=20)
    n2.wait_state("BACKUP")
    # It listened to the lower-priority master for ~3 s (15 adverts at 0.2 s) before preempting.
    assert n1.instance()["counters"]["adverts_in"] >= 8
    wait_until(lambda: cluster.holders() == ["server1"], timeout=10, what="VIP on server1 only")


def test_unicast_mode(lab, cluster):
    ip1, ip2 = lab.ip("server1"), lab.ip("server2")
    uni1 = "unicast_src_ip %s\nunicast_peer {\n    %s\n}" % (ip1, ip2)
    uni2 = "unicast_src_ip %s\nunicast_peer {\n    %s\n}" % (ip2, ip1)
    n1 = cluster.node("server1", instance_conf(priority=150, extra=uni1)).start()
    n2 = cluster.node("server2", instance_conf(priority=100, extra=uni2)).start()
    n1.wait_state("MASTER")
    n2.wait_state("BACKUP")
    inst2 = n2.instance()
    assert inst2["mode"] == "unicast"
    wait_until(lambda: n2.instance()["counters"]["adverts_in"] >= 5, timeout=10, what="unicast adverts received")
    n1.kill()
    n2.wait_state("MASTER", timeout=10)
    wait_until(n2.has_vip, timeout=10, what="VIP on server2")
    assert n2.instance()["counters"]["drops"] == {}


def test_pass_auth_mismatch_is_ignored_and_counted(lab, cluster):
    n1 = cluster.node("server1", instance_conf(priority=150, version=2, advert_int=1, auth_pass="alpha")).start()
    n2 = cluster.node("server2", instance_conf(priority=100, version=2, advert_int=1, auth_pass="bravo")).start()
    # Neither accepts the other's adverts: both end up MASTER, as two keepalived would.
    n1.wait_state("MASTER")
    n2.wait_state("MASTER", timeout=15)
    wait_until(lambda: n2.instance()["counters"]["drops"].get("auth", 0) >= 2, timeout=10, what="auth drops counted on server2")
    wait_until(lambda: n1.instance()["counters"]["drops"].get("auth", 0) >= 2, timeout=10, what="auth drops counted on server1")
    assert n2.instance()["counters"]["adverts_in"] == 0
    assert n1.instance()["counters"]["adverts_in"] == 0


def test_reload_keeps_unchanged_instance_and_refuses_bad_config(lab, cluster):
    def conf(prio2):
        return (instance_conf("VI_1", vrid=51, priority=150, vips=(VIP + "/24",))
                + instance_conf("VI_2", vrid=52, priority=prio2, vips=(VIP2 + "/24",)))
    n1 = cluster.node("server1", conf(150)).start()
    n1.wait_state("MASTER", "VI_1")
    n1.wait_state("MASTER", "VI_2")
    before = n1.instance("VI_1")
    assert before["counters"]["transitions"] == 2  # INIT -> BACKUP -> MASTER
    before2 = n1.instance("VI_2")

    # VI_2 changes (priority), VI_1 does not.
    n1.write_conf(conf(120))
    n1.signal(signal.SIGHUP)
    wait_until(lambda: n1.status()["reloads"]["ok"] == 1, timeout=10, what="reload applied")
    n1.wait_state("MASTER", "VI_2")
    after = n1.instance("VI_1")
    assert after["state"] == "MASTER"
    assert after["counters"]["transitions"] == before["counters"]["transitions"]
    assert after["last_transition"] == before["last_transition"]
    assert after["vips_held"] == [VIP + "/24"]
    assert n1.instance("VI_2")["priority"] == 120
    log = n1.log()
    assert "VI_1: VIPs removed" not in log
    # A priority change is applied in place (issue 9): no restart, no VIP removed, no transition.
    assert "VI_2: MASTER -> STOPPED" not in log and "VI_2: VIPs removed" not in log
    assert "VI_2: priority 150 -> 120 by reload" in log
    assert n1.instance("VI_2")["counters"]["transitions"] == before2["counters"]["transitions"]
    assert n1.has_vip(VIP) and n1.has_vip(VIP2)

    # A broken file is refused, every error logged as file:line, and the running config stays.
    n1.write_conf(conf(120).replace("virtual_router_id 52", "virtual_router_id 999"))
    n1.signal(signal.SIGHUP)
    wait_until(lambda: n1.status()["reloads"]["failed"] == 1, timeout=10, what="reload refused")
    assert "reload refused: %s:" % n1.conf_path in n1.log()
    assert n1.state("VI_1") == "MASTER" and n1.state("VI_2") == "MASTER"
    assert n1.instance("VI_1")["counters"]["transitions"] == before["counters"]["transitions"]
    assert n1.running

    # reload over the control socket reports the same refusal.
    proc = launcher("reload", "--control-socket", n1.socket)
    assert proc.returncode != 0 and "virtual_router_id" in proc.stderr


def test_resign_command_over_control_socket(lab, cluster):
    n1 = cluster.node("server1", instance_conf(priority=150)).start()
    n1.wait_state("MASTER")
    proc = launcher("resign", "--control-socket", n1.socket)
    assert proc.returncode == 0, proc.stderr
    assert n1.wait_exit(timeout=15) == 0
    assert not n1.has_vip()
    assert not os.path.exists(n1.socket) and not os.path.exists(n1.pidfile)


def test_ipv6_vrrpv3_election_and_failover(lab, cluster):
    vip6 = "2001:db8:5100::100"
    n1 = cluster.node("server1", instance_conf(priority=150, vips=(vip6 + "/64",))).start()
    n2 = cluster.node("server2", instance_conf(priority=100, vips=(vip6 + "/64",))).start()
    n1.wait_state("MASTER")
    n2.wait_state("BACKUP")
    inst1 = n1.instance()
    assert inst1["family"] == 6 and inst1["source_ip"].startswith("fe80::")
    wait_until(lambda: n2.instance()["master"] == inst1["source_ip"], timeout=10, what="backup to hear the IPv6 master")

    def has6(host):
        return vip6 in [a.get("local") for a in lab.addresses(host, family=6)]
    wait_until(lambda: has6("server1") and not has6("server2"), timeout=10, what="IPv6 VIP on server1 only")
    assert lab.ping("client1", vip6)
    assert lab.neigh("client1", vip6) == lab.mac("server1")
    n1.kill()
    n2.wait_state("MASTER", timeout=10)
    wait_until(lambda: has6("server2"), timeout=10, what="IPv6 VIP on server2")
    # The unsolicited neighbour advertisement moves the client's entry without any client traffic.
    wait_until(lambda: lab.neigh("client1", vip6) == lab.mac("server2"), timeout=10, what="client neighbour entry to move to server2")
    assert n2.instance()["counters"]["drops"] == {}


def test_notify_scripts_get_keepalived_arguments(lab, cluster):
    out = os.path.join(lab.workdir, "notify.out")
    hook = os.path.join(lab.workdir, "hook.sh")
    with open(hook, "w") as handle:
        handle.write('#!/bin/sh\necho "$*" >> %s\n' % out)
    os.chmod(hook, 0o755)
    # `notify` gets keepalived's arguments appended; notify_master runs exactly as written (no shell).
    extra = "notify %s\nnotify_master \"%s master-hook\"" % (hook, hook)
    n1 = cluster.node("server1", instance_conf(priority=150, extra=extra)).start()
    n1.wait_state("MASTER")

    def lines():
        try:
            with open(out) as handle:
                return handle.read().split("\n")
        except OSError:
            return []
    wait_until(lambda: "INSTANCE VI_1 MASTER 150" in lines() and "master-hook" in lines(), timeout=10, what="notify scripts to run")
    assert "INSTANCE VI_1 BACKUP 150" in lines()


def test_sd_notify_ready_and_table_status(lab, cluster):
    path = os.path.join(lab.workdir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        sock.settimeout(15)
        n1 = cluster.node("server1", instance_conf(priority=150)).start(env={"NOTIFY_SOCKET": path})
        assert sock.recv(256) == b"READY=1"
    finally:
        sock.close()
    n1.wait_state("MASTER")
    proc = launcher("status", "--control-socket", n1.socket)
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.splitlines()[:2]
    assert header.split()[:4] == ["INSTANCE", "IFACE", "VRID", "STATE"]
    assert row.split()[:7] == ["VI_1", "eth0", "51", "MASTER", "150", "150", lab.ip("server1")]
