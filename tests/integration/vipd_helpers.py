# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run real vipd daemons inside lab hosts and read their state.

Each daemon is started with ``ip netns exec`` (not nsenter): it then keeps the PID we see, so
signals go to exactly the process this test started. Pid file, control socket and log live in
the lab's work directory, so several daemons run side by side.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from tests.lab import Lab
from tests.lab.lab import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
VIP = "198.51.100.100"
VIP2 = "198.51.100.101"


def launcher(*args: str, timeout: float = 20, netns: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run the launcher with this interpreter (it has pyroute2), optionally inside a namespace."""
    argv = [sys.executable, LAUNCHER] + list(args)
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)


def instance_conf(name: str = "VI_1", vrid: int = 51, priority: int = 100, vips=(VIP + "/24",), version: int = 3,
                  advert_int: float = 0.2, state: str = "BACKUP", auth_pass: Optional[str] = None, extra: str = "") -> str:
    lines = ["vrrp_instance %s {" % name, "    state %s" % state, "    interface eth0", "    virtual_router_id %d" % vrid,
             "    priority %d" % priority, "    advert_int %s" % advert_int, "    version %d" % version]
    if auth_pass:
        lines += ["    authentication {", "        auth_type PASS", "        auth_pass %s" % auth_pass, "    }"]
    lines += ["    " + line for line in extra.strip().splitlines() if line.strip()]
    lines += ["    virtual_ipaddress {"] + ["        %s dev eth0" % v for v in vips] + ["    }", "}"]
    return "\n".join(lines) + "\n"


class VipdNode:
    """One vipd process in one lab host."""

    def __init__(self, lab: Lab, host: str, conf: str):
        self.lab = lab
        self.host = host
        self.netns = lab.host(host).netns
        base = os.path.join(lab.workdir, "vipd-" + host)
        os.makedirs(base, exist_ok=True)
        self.conf_path = os.path.join(base, "vipd.conf")
        self.pidfile = os.path.join(base, "vipd.pid")
        self.socket = os.path.join(base, "vipd.sock")
        self.log_path = os.path.join(base, "vipd.log")
        self.state_dir = os.path.join(base, "state")  # maintenance.json: never the machine's /var/lib/vipd
        self.proc: Optional[subprocess.Popen] = None
        self.write_conf(conf)

    def write_conf(self, conf: str) -> None:
        with open(self.conf_path, "w") as handle:
            handle.write(conf)
        os.chmod(self.conf_path, 0o600)

    def start(self, env: Optional[dict] = None, extra_args: Sequence[str] = ()) -> "VipdNode":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "a")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, sys.executable, LAUNCHER, "run", "-f", self.conf_path, "--pidfile", self.pidfile,
                 "--control-socket", self.socket, "--log-level", "debug", "--state-dir", self.state_dir] + list(extra_args),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        finally:
            log.close()
        wait_until(lambda: self.proc.poll() is not None or self.try_status() is not None, timeout=15, what="vipd on %s to answer" % self.host)
        assert self.proc.poll() is None, "vipd on %s exited rc=%s:\n%s" % (self.host, self.proc.returncode, self.log())
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            with open(self.log_path) as handle:
                return handle.read()
        except OSError:
            return ""

    def try_status(self) -> Optional[dict]:
        if not os.path.exists(self.socket):
            return None
        proc = launcher("status", "--json", "--control-socket", self.socket, timeout=10)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)

    def status(self) -> dict:
        data = self.try_status()
        assert data is not None, "no status from vipd on %s:\n%s" % (self.host, self.log()[-3000:])
        return data

    def instance(self, name: str = "VI_1") -> dict:
        for inst in self.status()["instances"]:
            if inst["name"] == name:
                return inst
        raise AssertionError("no instance %s on %s" % (name, self.host))

    def state(self, name: str = "VI_1") -> str:
        return self.instance(name)["state"]

    def wait_state(self, state: str, name: str = "VI_1", timeout: float = 15) -> dict:
        def reached():
            inst = self.instance(name)
            return inst if inst["state"] == state else None
        try:
            return wait_until(reached, timeout=timeout, interval=0.1, what="%s %s on %s" % (name, state, self.host))
        except TimeoutError:
            raise AssertionError("%s on %s never reached %s; log:\n%s" % (name, self.host, state, self.log()[-4000:]))

    def signal(self, sig: int) -> None:
        assert self.running
        os.kill(self.proc.pid, sig)  # the process this test started, by PID

    def wait_exit(self, timeout: float = 20) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.running:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def has_vip(self, vip: str = VIP) -> bool:
        return vip in [a.get("local") for a in self.lab.addresses(self.host, family=4)]


class Cluster:
    """The nodes of one test; kill() in a finally stops every daemon it started."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.nodes: Dict[str, VipdNode] = {}

    def node(self, host: str, conf: str) -> VipdNode:
        node = VipdNode(self.lab, host, conf)
        self.nodes[host] = node
        return node

    def kill(self) -> None:
        for node in self.nodes.values():
            node.kill()

    def holders(self, vip: str = VIP) -> List[str]:
        return [host for host, node in self.nodes.items() if node.has_vip(vip)]

    def link(self, host: str, up: bool) -> None:
        h = self.lab.host(host)
        subprocess.run(["ip", "-n", h.netns, "link", "set", h.ifname, "up" if up else "down"], check=True, timeout=10)


def sample_holders(cluster: Cluster, hosts: List[str], until, vip: str = VIP, timeout: float = 20, interval: float = 0.01) -> List[List[str]]:
    """Sample who holds the VIP, hosts in the given order, until ``until()`` is true (bounded)."""
    samples = []
    deadline = time.monotonic() + timeout
    for _sample in range(int(timeout / interval) + 1):
        samples.append([h for h in hosts if cluster.nodes[h].has_vip(vip)])
        if until() or time.monotonic() > deadline:
            break
        time.sleep(interval)
    return samples
