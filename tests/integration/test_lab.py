# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Self test of the namespace lab: hosts reach each other, own /etc each, nothing left after down()."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.lab import Lab, wait_until
from tests.lab.lab import _proc_starttime

from .conftest import REPO, play, run_playbook

pytestmark = pytest.mark.lab


def _netns_list():
    return subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True, check=True).stdout


def test_hosts_reach_each_other(lab):
    assert lab.server_names() == ["server1", "server2"] and lab.client_names() == ["client1"]
    for src in lab.hosts:
        for dst, h in lab.hosts.items():
            if src != dst:
                assert lab.ping(src, h.ip), "%s cannot ping %s (%s)" % (src, dst, h.ip)
    assert lab.ping("client1", lab.host("server2").ip6)
    # The client learnt each server's MAC, the one the lab assigned.
    for server in lab.server_names():
        assert lab.neigh("client1", lab.ip(server)) == lab.mac(server)
    assert lab.neigh("client1", "198.51.100.99") is None


def test_hosts_have_own_identity_and_etc(lab):
    for name in lab.hosts:
        assert lab.run(name, ["hostname"], check=True).stdout.strip() == name
    marker = "/etc/fv-lab-selftest-%s" % lab.prefix.rstrip("-")
    lab.run("server1", ["sh", "-c", "echo only-server1 > %s" % marker], check=True)
    assert lab.read_etc("server1", marker) == "only-server1\n"
    assert lab.read_etc("server2", marker) is None
    assert lab.read_etc("client1", marker) is None
    assert not os.path.exists(marker), "a lab host wrote through to the real /etc"
    # The write landed in server1's overlay upper dir, and the rest of /etc is still the real one.
    assert os.path.exists(os.path.join(lab.host("server1").upper, os.path.basename(marker)))
    assert lab.read_etc("server2", "/etc/hostname") == open("/etc/hostname").read()


def test_run_popen_and_wait_until(lab):
    proc = lab.popen("server2", ["sleep", "600"])
    try:
        # Inside the host's own PID namespace the holder is PID 1.
        assert lab.run("server2", ["cat", "/proc/1/comm"], check=True).stdout.strip() == "sleep"
        lab.ping("client1", lab.ip("server2"))
        assert wait_until(lambda: lab.neigh("client1", lab.ip("server2")), timeout=5, interval=0.1,
                          what="ARP entry") == lab.mac("server2")
        with pytest.raises(TimeoutError):
            wait_until(lambda: False, timeout=0.3, interval=0.1, what="never")
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_ansible_reaches_hosts(lab):
    run = run_playbook(lab, play("all", """\
    - name: Write a file into this host's own /etc
      ansible.builtin.copy:
        dest: /etc/fv-lab-ansible
        content: "{{ inventory_hostname }} {{ lab_ip }} {{ lab_mac }}\\n"
        mode: "0644"
"""))
    assert run.rc == 0, run.stdout + run.stderr
    for name, h in lab.hosts.items():
        assert run.changed(name) == 1
        assert lab.read_etc(name, "/etc/fv-lab-ansible") == "%s %s %s\n" % (name, h.ip, h.mac)
    assert not os.path.exists("/etc/fv-lab-ansible")


def test_down_leaves_nothing(lab_factory):
    lab = lab_factory(servers=3, clients=2)
    assert len(lab.hosts) == 5 and all(lab.alive().values())
    assert lab.ping("client2", lab.ip("server3"))
    pids = {name: (h.pid, h.starttime) for name, h in lab.hosts.items()}
    child = lab.popen("server1", ["sleep", "600"])
    assert lab.down() == []
    assert lab.namespaces() == []
    names = _netns_list()
    assert lab.prefix not in names
    for name, (pid, start) in pids.items():
        assert _proc_starttime(pid) != start, "holder of %s survived" % name
    # A process started inside a host dies with the host's PID namespace.
    assert child.wait(timeout=5) is not None
    assert not os.path.exists(lab.workdir)
    assert lab.down() == []  # idempotent


def test_parallel_labs_do_not_collide(lab_factory):
    a, b = lab_factory(servers=1), lab_factory(servers=1)
    assert a.prefix != b.prefix
    # Same addresses, separate bridges: each client reaches only its own lab's server.
    assert a.ping("client1", a.ip("server1")) and b.ping("client1", b.ip("server1"))
    a.run("server1", ["ip", "link", "set", "eth0", "down"], check=True)
    assert not a.ping("client1", a.ip("server1"), timeout=1)
    assert b.ping("client1", b.ip("server1"))


def test_cli_up_status_down():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    env = dict(os.environ, PYTHONPATH=REPO)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "tests.lab"] + list(args), cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, check=False)

    up = cli("up", "--servers", "1")
    assert up.returncode == 0, up.stderr
    prefix = up.stdout.strip()
    try:
        lab = Lab.load(prefix)
        assert lab.ping("client1", lab.ip("server1"))
        status = cli("status", prefix)
        assert status.returncode == 0 and "server1" in status.stdout and "DEAD" not in status.stdout
        inv = cli("inventory", prefix)
        assert "community.docker.nsenter" in inv.stdout and "ansible_nsenter_pid: %d" % lab.host("server1").pid in inv.stdout
        assert cli("path", prefix).stdout.strip() == lab.inventory_path
        assert cli("exec", prefix, "server1", "--", "hostname").stdout.strip() == "server1"
        assert cli("exec", prefix, "server1", "--", "false").returncode == 1
    finally:
        down = cli("down", prefix)
    assert down.returncode == 0, down.stderr
    assert prefix + "sw" not in _netns_list()
