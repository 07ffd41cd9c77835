# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd health checks, tracking, notify, email and sync groups with real daemons in lab namespaces.

Services run in each server namespace (tests/integration/health_service.py), killed by PID. Failover
times are asserted against the protocol's arithmetic (fall x interval + check timeout +
Master_Down_Interval) with a generous tolerance; the benchmark measures them precisely.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from typing import Optional

import pytest

from tests.lab.lab import wait_until

from .peers import Node, render_config, InstanceSpec
from .vipd_helpers import VIP, Cluster, instance_conf

pytestmark = pytest.mark.lab

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICE = os.path.join(HERE, "health_service.py")
HTTP_PORT, TCP_PORT = 8080, 9000
ADVERT = 0.2
TOLERANCE = 2.5


def mdi(priority: int, advert: float = ADVERT) -> float:
    """RFC 5798 Master_Down_Interval of a backup with this priority."""
    return 3 * advert + (256 - priority) * advert / 256


class Service:
    """health_service.py in one lab host's namespace."""

    def __init__(self, lab, host: str):
        self.lab, self.host = lab, host
        self.ip = lab.ip(host)
        self.status_file = os.path.join(lab.workdir, "status-" + host)
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Service":
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.host(self.host).netns, sys.executable, SERVICE, self.ip, str(HTTP_PORT),
                                      str(TCP_PORT), self.status_file], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready, _w, _x = select.select([self.proc.stdout], [], [], 10)
        assert ready and self.proc.stdout.readline().strip() == "ready", "service on %s did not start" % self.host
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)  # the process this test started, by PID
            self.proc.wait(timeout=10)

    def set_status(self, code: int) -> None:
        with open(self.status_file, "w") as handle:
            handle.write("%d\n" % code)


@pytest.fixture
def env(lab):
    cluster = Cluster(lab)
    services = {h: Service(lab, h) for h in lab.server_names()}
    try:
        yield lab, cluster, services
    finally:
        cluster.kill()
        for svc in services.values():
            svc.stop()


def check_block(host_ip: str, kind: str = "http", weight: int = -100, interval: float = 0.3, rise: int = 2, fall: int = 2) -> str:
    port = HTTP_PORT if kind == "http" else TCP_PORT
    lines = ["vipd_check svc {", "    type %s" % kind, "    host %s" % host_ip, "    port %d" % port]
    if kind == "http":
        lines += ["    path /health", "    expect_status 200", "    expect_body healthy"]
    lines += ["    interval %s" % interval, "    timeout %s" % interval, "    rise %d" % rise, "    fall %d" % fall, "    weight %d" % weight, "}", ""]
    return "\n".join(lines)


def wait_holder(cluster, host: str, timeout: float = 20.0, vip: str = VIP) -> float:
    """Seconds until `host` is the only holder of the VIP (bounded)."""
    start = time.monotonic()
    wait_until(lambda: cluster.holders(vip) == [host], timeout=timeout, interval=0.02, what="%s sole holder of %s" % (host, vip))
    return time.monotonic() - start


def start_pair(lab, cluster, services, kind="http", weight=-100, extra="", global_defs=""):
    nodes = {}
    for host, prio in (("server1", 150), ("server2", 100)):
        services[host].start()
        conf = global_defs + check_block(lab.ip(host), kind, weight) + instance_conf(priority=prio, advert_int=ADVERT,
                                                                                     extra="track_script {\n    svc\n}\n" + extra)
        nodes[host] = cluster.node(host, conf).start()
    wait_holder(cluster, "server1")
    return nodes


# ---------------------------------------------------------------- HTTP and TCP checks move the VIP

def test_http_500_moves_vip_to_backup_and_rise_brings_it_back(env):
    lab, cluster, services = env
    nodes = start_pair(lab, cluster, services, "http", weight=-100)
    assert nodes["server1"].instance()["effective_priority"] == 150
    services["server1"].set_status(500)
    took = wait_holder(cluster, "server2")
    # fall x interval (+ one check timeout) until the priority drops to 50, then server2's Master_Down_Interval
    assert took < 2 * 0.3 + 0.3 + mdi(100) + TOLERANCE, took
    inst = nodes["server1"].wait_state("BACKUP")
    assert inst["effective_priority"] == 50
    services["server1"].set_status(200)
    took = wait_holder(cluster, "server1")
    # rise x interval, then server1 (150 > 100, preempt) takes over at server2's next advert or its own timer
    assert took < 2 * 0.3 + 0.3 + mdi(150) + TOLERANCE, took
    assert nodes["server1"].instance()["effective_priority"] == 150


def test_tcp_service_stopped_weight_0_faults_master(env):
    lab, cluster, services = env
    nodes = start_pair(lab, cluster, services, "tcp", weight=0)
    services["server1"].stop()
    took = wait_holder(cluster, "server2")
    # FAULT sends priority 0: the backup waits only Skew_Time
    assert took < 2 * 0.3 + 0.3 + mdi(100) + TOLERANCE, took
    inst = nodes["server1"].wait_state("FAULT")
    assert inst["vips_held"] == [] and "svc" in inst["fault_causes"]["tracking"]
    services["server1"].start()
    wait_holder(cluster, "server1")
    assert nodes["server1"].state() == "MASTER"


# ---------------------------------------------------------------- interface tracking

def test_tracked_link_down_faults_and_backup_takes_over(env):
    lab, cluster, _services = env
    ns = lab.host("server1").netns
    # A veth pair inside server1: taking t1 down drops t0's carrier, as a pulled cable would.
    subprocess.run(["ip", "-n", ns, "link", "add", "t0", "type", "veth", "peer", "name", "t1"], check=True, timeout=10)
    subprocess.run(["ip", "-n", ns, "link", "set", "t0", "up"], check=True, timeout=10)
    subprocess.run(["ip", "-n", ns, "link", "set", "t1", "up"], check=True, timeout=10)
    one = cluster.node("server1", instance_conf(priority=150, advert_int=ADVERT, extra="track_interface {\n    t0\n}\n")).start()
    cluster.node("server2", instance_conf(priority=100, advert_int=ADVERT)).start()
    wait_holder(cluster, "server1")
    subprocess.run(["ip", "-n", ns, "link", "set", "t1", "down"], check=True, timeout=10)
    took = wait_holder(cluster, "server2")
    assert took < mdi(100) + TOLERANCE
    inst = one.wait_state("FAULT")
    assert inst["vips_held"] == [] and "t0 down" in inst["fault_causes"]["tracking"]
    subprocess.run(["ip", "-n", ns, "link", "set", "t1", "up"], check=True, timeout=10)
    wait_holder(cluster, "server1")


def test_own_interface_down_is_fault_and_releases_the_vip(env):
    lab, cluster, _services = env
    one = cluster.node("server1", instance_conf(priority=150, advert_int=ADVERT)).start()
    cluster.node("server2", instance_conf(priority=100, advert_int=ADVERT)).start()
    wait_holder(cluster, "server1")
    cluster.link("server1", False)
    wait_until(lambda: cluster.holders() == ["server2"], timeout=mdi(100) + TOLERANCE + 5, interval=0.02, what="server2 takes over")
    inst = one.wait_state("FAULT")
    assert inst["vips_held"] == [] and "eth0 down" in inst["fault_causes"]["tracking"]
    cluster.link("server1", True)
    wait_holder(cluster, "server1")


# ---------------------------------------------------------------- notify hooks

NOTIFY_SH = "#!/bin/sh\necho \"$(basename $0) $*\" >> %s\n"


def test_each_transition_runs_the_right_hook_with_keepalived_arguments(env):
    lab, cluster, services = env
    log = os.path.join(lab.workdir, "notify.log")
    hooks = {}
    for name in ("master", "backup", "fault", "generic"):
        path = os.path.join(lab.workdir, "hook-" + name)
        with open(path, "w") as handle:
            handle.write(NOTIFY_SH % log)
        os.chmod(path, 0o755)
        hooks[name] = path
    extra = "\n".join(['notify_master "%s m1"' % hooks["master"], "notify_backup %s" % hooks["backup"],
                       "notify_fault %s" % hooks["fault"], "notify %s" % hooks["generic"]]) + "\n"
    services["server1"].start()
    services["server2"].start()
    one = cluster.node("server1", check_block(lab.ip("server1"), "tcp", weight=0) + instance_conf(
        priority=150, advert_int=ADVERT, extra="track_script {\n    svc\n}\n" + extra)).start()
    cluster.node("server2", instance_conf(priority=100, advert_int=ADVERT)).start()
    wait_holder(cluster, "server1")
    services["server1"].stop()
    one.wait_state("FAULT")
    services["server1"].start()
    wait_holder(cluster, "server1")

    def lines():
        try:
            with open(log) as handle:
                return handle.read().splitlines()
        except OSError:
            return []
    expected = ["hook-backup ", "hook-generic INSTANCE VI_1 BACKUP 150", "hook-master m1", "hook-generic INSTANCE VI_1 MASTER 150",
                "hook-fault ", "hook-generic INSTANCE VI_1 FAULT 150", "hook-backup ", "hook-generic INSTANCE VI_1 BACKUP 150",
                "hook-master m1", "hook-generic INSTANCE VI_1 MASTER 150"]
    wait_until(lambda: len(lines()) >= len(expected), timeout=10, interval=0.05, what="notify lines")
    got = [line.rstrip() for line in lines()]
    # hooks of one transition run concurrently; transitions are far enough apart to be ordered
    pairs = [sorted(got[i:i + 2]) for i in range(0, len(got), 2)]
    assert pairs == [sorted(x.rstrip() for x in expected[i:i + 2]) for i in range(0, len(expected), 2)], got


# ---------------------------------------------------------------- email

def _maildir_messages(path):
    out = []
    for sub in ("new", "cur"):
        folder = os.path.join(path, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name)) as handle:
                out.append(handle.read())
    return out


def test_one_mail_per_transition_and_a_dead_server_changes_nothing(env):
    lab, cluster, services = env
    maildir = os.path.join(lab.workdir, "maildir")
    sink = subprocess.Popen(["ip", "netns", "exec", lab.host("server1").netns, sys.executable, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:2525",
                             "-c", "aiosmtpd.handlers.Mailbox", maildir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening():
            out = subprocess.run(["ip", "netns", "exec", lab.host("server1").netns, "ss", "-ltn"], capture_output=True, text=True, timeout=10,
                                 check=False).stdout
            return "127.0.0.1:2525" in out
        wait_until(listening, timeout=15, interval=0.1, what="SMTP sink")
        gdefs = ("global_defs {\n    router_id lab1\n    notification_email {\n        ops@example.com\n    }\n"
                 "    notification_email_from vipd@example.com\n    smtp_server 127.0.0.1 2525\n    smtp_connect_timeout 3\n}\n")
        nodes = start_pair(lab, cluster, services, "tcp", weight=0, extra="smtp_alert\n", global_defs=gdefs)
        services["server1"].stop()
        nodes["server1"].wait_state("FAULT")
        wait_holder(cluster, "server2")
        expected = [("INIT", "BACKUP"), ("BACKUP", "MASTER"), ("MASTER", "FAULT")]
        wait_until(lambda: len(_maildir_messages(maildir)) >= len(expected), timeout=15, interval=0.1, what="3 mails")
        mails = _maildir_messages(maildir)
        assert len(mails) == len(expected)
        for (old, new), mail in zip(expected, sorted(mails, key=lambda m: expected.index(
                next(p for p in expected if "Old state: %s\n" % p[0] in m and "New state: %s\n" % p[1] in m)))):
            assert "Subject: [lab1] VRRP Instance VI_1 - Entering %s state" % new in mail
            assert "VRRP Instance: VI_1" in mail and "Old state: %s" % old in mail and "New state: %s" % new in mail
    finally:
        if sink.poll() is None:
            os.kill(sink.pid, signal.SIGKILL)
            sink.wait(timeout=10)
    # No SMTP server listening any more: failover back and forth happens exactly as without mail.
    services["server1"].start()
    took = wait_holder(cluster, "server1")
    assert took < 2 * 0.3 + 0.3 + mdi(150) + TOLERANCE
    services["server1"].stop()
    took = wait_holder(cluster, "server2")
    assert took < 2 * 0.3 + 0.3 + mdi(100) + TOLERANCE, took
    status = nodes["server1"].status()
    wait_until(lambda: nodes["server1"].status()["health"]["mail"]["failed"] >= 2, timeout=15, interval=0.2, what="failed sends counted")
    assert status["instances"][0]["counters"]["adverts_out"] > 0


# ---------------------------------------------------------------- sync group across two links

def _second_link(lab, hosts):
    """A second bridge in the lab's switch namespace with eth1 in each host (203.0.113.0/24)."""
    sw = lab.switch
    subprocess.run(["ip", "-n", sw, "link", "add", "br1", "type", "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"],
                   check=True, timeout=10)
    subprocess.run(["ip", "-n", sw, "link", "set", "br1", "up"], check=True, timeout=10)
    for i, host in enumerate(hosts, 1):
        ns = lab.host(host).netns
        port = "%s-b" % host
        subprocess.run(["ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth1", "netns", ns], check=True, timeout=10)
        subprocess.run(["ip", "-n", sw, "link", "set", port, "master", "br1"], check=True, timeout=10)
        subprocess.run(["ip", "-n", sw, "link", "set", port, "up"], check=True, timeout=10)
        subprocess.run(["ip", "-n", ns, "addr", "add", "203.0.113.%d/24" % (10 + i), "dev", "eth1"], check=True, timeout=10)
        subprocess.run(["ip", "-n", ns, "link", "set", "eth1", "up"], check=True, timeout=10)


def _remove_second_link(lab, hosts):
    for host in hosts:
        subprocess.run(["ip", "-n", lab.switch, "link", "del", "%s-b" % host], check=False, timeout=10)
    subprocess.run(["ip", "-n", lab.switch, "link", "del", "br1"], check=False, timeout=10)


VIP_B = "203.0.113.100"


def _holds(lab, host, vip, dev):
    out = subprocess.run(["ip", "-n", lab.host(host).netns, "-4", "-o", "addr", "show", "dev", dev], capture_output=True, text=True, timeout=10,
                         check=False).stdout
    return (" %s/" % vip) in out


def test_sync_group_moves_both_instances_when_one_link_fails(env):
    lab, cluster, _services = env
    hosts = ["server1", "server2"]
    _second_link(lab, hosts)
    log = os.path.join(lab.workdir, "group.log")
    hook = os.path.join(lab.workdir, "group-hook")
    with open(hook, "w") as handle:
        handle.write("#!/bin/sh\necho \"$*\" >> %s\n" % log)
    os.chmod(hook, 0o755)
    try:
        for host, prio in (("server1", 150), ("server2", 100)):
            second = instance_conf(name="VI_2", vrid=52, priority=prio, advert_int=ADVERT, vips=(VIP_B + "/24",)).replace(
                "interface eth0", "interface eth1").replace("dev eth0", "dev eth1")
            group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n    notify %s\n}\n" % (hook if host == "server1" else "/bin/true")
            cluster.node(host, instance_conf(priority=prio, advert_int=ADVERT) + second + group).start()
        wait_until(lambda: _holds(lab, "server1", VIP, "eth0") and _holds(lab, "server1", VIP_B, "eth1"), timeout=15, interval=0.05,
                   what="server1 holds both VIPs")
        subprocess.run(["ip", "-n", lab.host("server1").netns, "link", "set", "eth1", "down"], check=True, timeout=10)
        wait_until(lambda: _holds(lab, "server2", VIP, "eth0") and _holds(lab, "server2", VIP_B, "eth1")
                   and not _holds(lab, "server1", VIP, "eth0"), timeout=mdi(100) + TOLERANCE + 3, interval=0.02, what="server2 holds both VIPs")
        one = cluster.nodes["server1"]
        assert one.state("VI_1") == "FAULT" and "sync group G" in one.instance("VI_1")["fault_causes"]["group"]
        subprocess.run(["ip", "-n", lab.host("server1").netns, "link", "set", "eth1", "up"], check=True, timeout=10)
        wait_until(lambda: _holds(lab, "server1", VIP, "eth0") and _holds(lab, "server1", VIP_B, "eth1")
                   and not _holds(lab, "server2", VIP, "eth0"), timeout=15, interval=0.05, what="server1 holds both again")
        wait_until(lambda: os.path.exists(log) and open(log).read().count("MASTER") >= 2, timeout=10, interval=0.1, what="group notify")
        with open(log) as handle:
            lines = handle.read().splitlines()
        assert "GROUP G MASTER 0" in lines and "GROUP G FAULT 0" in lines
        assert lines.index("GROUP G FAULT 0") < len(lines) - 1 - lines[::-1].index("GROUP G MASTER 0")
    finally:
        cluster.kill()
        _remove_second_link(lab, hosts)


# ---------------------------------------------------------------- interop with keepalived

def test_vipd_check_failure_hands_vip_to_keepalived_and_back(env):
    lab, cluster, services = env
    services["server1"].start()
    vipd = cluster.node("server1", check_block(lab.ip("server1"), "tcp", weight=-100) + instance_conf(
        priority=150, advert_int=1, version=2, extra="track_script {\n    svc\n}\n")).start()
    ka = Node(lab, "server2", "keepalived", render_config([InstanceSpec(priority=100, version=2, advert_int=1.0)], notify_script="@NOTIFY@")).start()
    try:
        wait_until(lambda: vipd.has_vip() and not ka.holds(), timeout=20, interval=0.05, what="vipd master")
        services["server1"].stop()
        start = time.monotonic()
        wait_until(lambda: ka.holds() and not vipd.has_vip(), timeout=20, interval=0.02, what="keepalived takes over")
        # v2, advert 1 s: fall x interval + timeout, then keepalived's Master_Down_Interval (3 + skew)
        assert time.monotonic() - start < 2 * 0.3 + 0.3 + 3 + (256 - 100) / 256 + TOLERANCE
        assert vipd.instance()["effective_priority"] == 50
        services["server1"].start()
        wait_until(lambda: vipd.has_vip() and not ka.holds(), timeout=20, interval=0.05, what="vipd back")
        assert vipd.state() == "MASTER" and ka.state() == "BACKUP"
        assert not ka.invalid_packets() and not vipd.instance()["counters"]["drops"]
    finally:
        ka.kill()
