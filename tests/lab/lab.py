# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab of namespace hosts on one bridge, each with its own copy-on-write /etc.

Layout for a lab with prefix ``fvab12-``::

    netns fvab12-sw        bridge br0, one veth port per host (named after the host)
    netns fvab12-server1   eth0 (veth peer), lo; a holder process owns a private mount,
    netns fvab12-client1   UTS and PID namespace with /etc overlaid on the real one

Nothing is created in the root network namespace: the bridge lives in its own namespace and
every veth is created there with its peer moved straight into the host's namespace.
Addresses come only from 198.51.100.0/24 and 2001:db8::/32.

A holder is ``ip netns exec NS unshare --mount --uts --pid --fork --mount-proc ...`` whose
forked child mounts the overlay and execs ``sleep infinity``; that child's PID is what
``nsenter`` (and Ansible's community.docker.nsenter connection) targets. Killing it ends the
host's PID namespace, so every process started inside through :meth:`Lab.run`/:meth:`Lab.popen`
dies with it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

STATE_ROOT = os.path.join(tempfile.gettempdir(), "floating-vip-lab")
SUBNET4 = "198.51.100.0/24"
SUBNET6 = "2001:db8:5100::/64"
SERVER_BASE = 10  # server1 = .11, server2 = .12, ...
CLIENT_BASE = 200  # client1 = .201, ...
BRIDGE = "br0"
IFNAME = "eth0"


class LabError(RuntimeError):
    pass


def _sh(argv: Sequence[str], check: bool = True, timeout: float = 30, **kw) -> subprocess.CompletedProcess:
    """Run a command, capture text output; a failure names the command and its stderr."""
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False, **kw)
    if check and proc.returncode != 0:
        raise LabError("%s failed (rc=%d): %s" % (" ".join(argv), proc.returncode, proc.stderr.strip()))
    return proc


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; bounded in time and in count.

    Returns the truthy value; raises TimeoutError naming ``what`` otherwise.
    """
    deadline = time.monotonic() + timeout
    attempts = max(1, int(timeout / interval) + 1)
    for _attempt in range(attempts):
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))


def _proc_starttime(pid: int) -> Optional[str]:
    """Field 22 of /proc/PID/stat: with the PID it identifies a process even after PID reuse."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # comm (field 2) may hold spaces; fields after the closing parenthesis are plain.
    return stat.rsplit(")", 1)[1].split()[19]


def _children(pid: int) -> List[int]:
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


@dataclass
class Host:
    name: str  # inventory name: server1, client1
    role: str  # "server" | "client"
    netns: str
    ip: str
    ip6: str
    mac: str
    ifname: str = IFNAME
    port: str = ""  # the bridge port (in the switch namespace)
    pid: int = 0  # holder: nsenter / Ansible target
    starttime: str = ""  # holder's start time, guards kill against PID reuse
    launcher_pid: int = 0  # the `ip netns exec ... unshare` process
    upper: str = ""  # overlay upper dir: what this host wrote to /etc

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(SUBNET4).prefixlen


@dataclass
class Lab:
    """Build with :meth:`up`, always tear down with :meth:`down` (or use it as a context manager)."""

    servers: int = 2
    clients: int = 1
    prefix: str = ""
    workdir: str = ""
    dad: bool = False  # IPv6 duplicate address detection (off: addresses usable at once)
    hosts: Dict[str, Host] = field(default_factory=dict)
    switch: str = ""
    python: str = field(default_factory=lambda: sys.executable)

    def __post_init__(self):
        if not self.prefix:
            self.prefix = "fv%s-" % secrets.token_hex(2)
        if len(self.prefix) > 7:
            raise LabError("prefix %r too long (at most 7 characters)" % self.prefix)
        if not 1 <= self.servers <= 40 or not 0 <= self.clients <= 40:
            raise LabError("servers must be 1..40 and clients 0..40")
        if not self.workdir:
            self.workdir = os.path.join(STATE_ROOT, self.prefix.rstrip("-"))
        self.switch = self.prefix + "sw"
        self._launchers: Dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ plan
    def _plan(self):
        net4 = ipaddress.ip_network(SUBNET4)
        net6 = ipaddress.ip_network(SUBNET6)
        plan = [("server", i, SERVER_BASE + i) for i in range(1, self.servers + 1)]
        plan += [("client", j, CLIENT_BASE + j) for j in range(1, self.clients + 1)]
        for role, idx, octet in plan:
            name = "%s%d" % (role, idx)
            self.hosts[name] = Host(
                name=name, role=role, netns=self.prefix + name,
                ip=str(net4.network_address + octet), ip6=str(net6.network_address + int(str(octet), 16)),  # ::11 for .11: easy to read
                # Locally administered and readable: 02:00:00:00:<1 server|2 client>:<index>.
                mac="02:00:00:00:%02x:%02x" % (1 if role == "server" else 2, idx),
                port=name,
            )

    @property
    def state_file(self) -> str:
        return os.path.join(self.workdir, "lab.json")

    @property
    def inventory_path(self) -> str:
        return os.path.join(self.workdir, "inventory.yml")

    def server_names(self) -> List[str]:
        return [h.name for h in self.hosts.values() if h.role == "server"]

    def client_names(self) -> List[str]:
        return [h.name for h in self.hosts.values() if h.role == "client"]

    # ------------------------------------------------------------------ up
    def up(self) -> "Lab":
        if os.getuid() != 0:
            raise LabError("the lab needs root (network namespaces, mounts)")
        self._plan()
        existing = set(_sh(["ip", "netns", "list"]).stdout.split())
        clash = [n for n in [self.switch] + [h.netns for h in self.hosts.values()] if n in existing]
        if clash:
            raise LabError("namespaces already exist: %s" % ", ".join(clash))
        os.makedirs(self.workdir, exist_ok=False)
        try:
            self._save()  # saved early and after each step: `down` can clean a half-built lab
            self._build_switch()
            for host in self.hosts.values():
                self._build_host(host)
                self._save()
            for host in self.hosts.values():
                self._start_holder(host)
                self._save()
            self.write_inventory()
            self._save()
        except BaseException:
            self.down()
            raise
        return self

    def _build_switch(self):
        sw = self.switch
        _sh(["ip", "netns", "add", sw])
        _sh(["ip", "-n", sw, "link", "set", "lo", "up"])
        # No STP delay and no multicast snooping: VRRP/ND multicast must reach every port at once.
        _sh(["ip", "-n", sw, "link", "add", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state", "0",
             "mcast_snooping", "0"])
        _sh(["ip", "-n", sw, "link", "set", BRIDGE, "up"])

    def _build_host(self, host: Host):
        ns = host.netns
        _sh(["ip", "netns", "add", ns])
        if not self.dad:
            # Before the veth arrives, so eth0 is created with DAD already off.
            for conf in ("all", "default"):
                _sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.accept_dad=0" % conf])
        _sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        self._plug(host)

    def _plug(self, host: Host):
        """The host's eth0: a veth whose other end is a port of the bridge, with the host's MAC and addresses."""
        ns = host.netns
        # Created inside the switch namespace, peer moved straight into the host: the root
        # namespace never sees either end.
        _sh(["ip", "-n", self.switch, "link", "add", host.port, "type", "veth",
             "peer", "name", host.ifname, "netns", ns])
        _sh(["ip", "-n", self.switch, "link", "set", host.port, "master", BRIDGE])
        _sh(["ip", "-n", self.switch, "link", "set", host.port, "up"])
        _sh(["ip", "-n", ns, "link", "set", host.ifname, "address", host.mac])
        if not self.dad:
            _sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.%s.accept_dad=0" % host.ifname])
        _sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (host.ip, host.prefixlen), "brd", "+", "dev", host.ifname])
        _sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (host.ip6, ipaddress.ip_network(SUBNET6).prefixlen),
             "dev", host.ifname, "nodad"])
        _sh(["ip", "-n", ns, "link", "set", host.ifname, "up"])

    def unplug(self, name: str):
        """Delete the host's eth0, with its bridge port."""
        _sh(["ip", "-n", self.switch, "link", "del", self.host(name).port])

    def plug(self, name: str):
        """Create the host's eth0 again as it was (after unplug())."""
        self._plug(self.host(name))

    def recreate_link(self, name: str, gap: float = 0.5):
        """Delete the host's eth0 and, ``gap`` seconds later, create it again as it was: a link deleted and created
        again under the same name, as a VLAN after ifdown / ifup."""
        self.unplug(name)
        time.sleep(gap)
        self.plug(name)

    def _start_holder(self, host: Host):
        base = os.path.join(self.workdir, host.name)
        upper, work = os.path.join(base, "upper"), os.path.join(base, "work")
        os.makedirs(upper)
        os.makedirs(work)
        host.upper = upper
        script = ("mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc && hostname %s && "
                  "exec sleep infinity" % (upper, work, host.name))
        argv = ["ip", "netns", "exec", host.netns, "unshare", "--mount", "--uts", "--pid", "--fork",
                "--mount-proc", "--propagation", "private", "sh", "-c", script]
        # New session and no inherited pipes: the holder outlives a CLI `up` and ignores its ^C.
        launcher = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        self._launchers[host.name] = launcher
        host.launcher_pid = launcher.pid

        def holder_ready():
            if launcher.poll() is not None:
                raise LabError("holder for %s exited with rc=%s" % (host.name, launcher.returncode))
            # ip execs unshare (same PID); unshare forks sh, which execs sleep once /etc is mounted.
            for child in _children(launcher.pid):
                if _comm(child) == "sleep":
                    return child
            return None

        host.pid = wait_until(holder_ready, timeout=10, interval=0.02, what="holder of %s" % host.name)
        host.starttime = _proc_starttime(host.pid) or ""

    # ------------------------------------------------------------------ down
    def down(self) -> List[str]:
        """Remove everything this lab created; safe to call twice and on a half-built lab.

        Returns a list of problems (empty when everything went away).
        """
        problems: List[str] = []
        for host in self.hosts.values():
            self._kill_holder(host, problems)
        for launcher in self._launchers.values():
            try:
                launcher.wait(timeout=5)
            except subprocess.TimeoutExpired:
                problems.append("launcher %d did not exit" % launcher.pid)
        self._launchers.clear()
        existing = set(_sh(["ip", "netns", "list"], check=False).stdout.split())
        # Hosts first, then the switch: deleting a namespace destroys its veth ends.
        for ns in [h.netns for h in self.hosts.values()] + [self.switch]:
            if ns and ns in existing:
                proc = _sh(["ip", "netns", "delete", ns], check=False)
                if proc.returncode != 0:
                    problems.append("ip netns delete %s: %s" % (ns, proc.stderr.strip()))
        if self.workdir and os.path.isdir(self.workdir) and os.path.basename(self.workdir).startswith(
                self.prefix.rstrip("-")):
            shutil.rmtree(self.workdir, ignore_errors=True)
            if os.path.exists(self.workdir):
                problems.append("could not remove %s" % self.workdir)
        return problems

    def _kill_holder(self, host: Host, problems: List[str]):
        pid = host.pid
        if not pid or not host.starttime:
            # Never became ready: end the launcher we started (its whole session is ours).
            launcher = self._launchers.get(host.name)
            if launcher is not None and launcher.poll() is None:
                os.killpg(launcher.pid, signal.SIGKILL)
            return
        if _proc_starttime(pid) != host.starttime:
            return  # already gone (or the PID now belongs to someone else: leave it alone)
        # The holder is PID 1 of its PID namespace: only SIGKILL reaches it from outside, and its
        # death kills every process inside that namespace.
        os.kill(pid, signal.SIGKILL)
        try:
            wait_until(lambda: _proc_starttime(pid) != host.starttime, timeout=5, interval=0.02,
                       what="holder %d of %s to exit" % (pid, host.name))
        except TimeoutError as exc:
            problems.append(str(exc))

    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, *exc):
        self.down()
        return False

    # ------------------------------------------------------------------ state
    def _save(self):
        data = {k: getattr(self, k) for k in ("servers", "clients", "prefix", "workdir", "dad", "switch", "python")}
        data["hosts"] = {name: asdict(h) for name, h in self.hosts.items()}
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.state_file)

    @classmethod
    def load(cls, prefix_or_dir: str) -> "Lab":
        """Re-attach to a lab built by another process (the CLI's `up`)."""
        path = prefix_or_dir
        if not os.path.isdir(path):
            path = os.path.join(STATE_ROOT, prefix_or_dir.rstrip("-"))
        with open(os.path.join(path, "lab.json")) as f:
            data = json.load(f)
        hosts = data.pop("hosts")
        data.pop("switch", None)
        lab = cls(**data)
        lab.hosts = {name: Host(**h) for name, h in hosts.items()}
        return lab

    @staticmethod
    def saved() -> List[str]:
        if not os.path.isdir(STATE_ROOT):
            return []
        return sorted(d for d in os.listdir(STATE_ROOT) if os.path.exists(os.path.join(STATE_ROOT, d, "lab.json")))

    # ------------------------------------------------------------------ inventory
    def inventory(self) -> dict:
        def hostvars(h: Host) -> dict:
            return {
                "ansible_connection": "community.docker.nsenter",
                "ansible_nsenter_pid": h.pid,
                # Lab hosts share this machine's filesystem (all but /etc), so the venv's Python,
                # which has pyroute2, is there too.
                "ansible_python_interpreter": self.python,
                "lab_ip": h.ip,
                "lab_ip6": h.ip6,
                "lab_mac": h.mac,
                "lab_ifname": h.ifname,
                "lab_netns": h.netns,
                "lab_prefixlen": h.prefixlen,
            }
        groups = {}
        for role in ("server", "client"):
            groups[role + "s"] = {"hosts": {h.name: hostvars(h) for h in self.hosts.values() if h.role == role}}
        return {"all": {"children": groups, "vars": {"lab_prefix": self.prefix, "lab_subnet": SUBNET4,
                                                     "lab_subnet6": SUBNET6}}}

    def inventory_yaml(self) -> str:
        try:
            import yaml
            return "---\n" + yaml.safe_dump(self.inventory(), default_flow_style=False, sort_keys=False)
        except ImportError:  # JSON is YAML: the inventory still loads
            return json.dumps(self.inventory(), indent=2) + "\n"

    def write_inventory(self, path: Optional[str] = None) -> str:
        path = path or self.inventory_path
        with open(path, "w") as f:
            f.write(self.inventory_yaml())
        return path

    # ------------------------------------------------------------------ helpers
    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise LabError("no lab host %r (have: %s)" % (name, ", ".join(self.hosts))) from None

    def mac(self, name: str) -> str:
        return self.host(name).mac

    def ip(self, name: str) -> str:
        return self.host(name).ip

    def nsenter_argv(self, name: str) -> List[str]:
        """Prefix that enters a host as Ansible does: its net, mount (own /etc), UTS and PID namespaces."""
        h = self.host(name)
        if not h.pid:
            raise LabError("host %s has no holder process" % name)
        return ["nsenter", "--target", str(h.pid), "--net", "--mount", "--uts", "--pid", "--"]

    def run(self, name: str, argv: Sequence[str], check: bool = False, timeout: float = 30,
            input: Optional[str] = None) -> subprocess.CompletedProcess:
        """Run ``argv`` inside host ``name``; stdout/stderr captured as text."""
        return _sh(self.nsenter_argv(name) + list(argv), check=check, timeout=timeout, input=input)

    def popen(self, name: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Start a background process inside host ``name``; it dies at the latest with the lab."""
        return subprocess.Popen(self.nsenter_argv(name) + list(argv), **kw)

    def read_etc(self, name: str, path: str) -> Optional[str]:
        """Content of a file as host ``name`` sees it (its own /etc), or None when absent."""
        proc = self.run(name, ["cat", path])
        return proc.stdout if proc.returncode == 0 else None

    def neigh(self, client: str, ip: str) -> Optional[str]:
        """The link-layer address ``client`` holds for ``ip`` (lower case), or None without a usable entry."""
        h = self.host(client)
        proc = _sh(["ip", "-n", h.netns, "-j", "neigh", "show", "to", ip, "dev", h.ifname], check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            return None
        for entry in json.loads(proc.stdout):
            if entry.get("dst") == ip and entry.get("lladdr") and "FAILED" not in entry.get("state", []):
                return entry["lladdr"].lower()
        return None

    def ping(self, client: str, ip: str, count: int = 1, timeout: int = 2) -> bool:
        proc = self.run(client, ["ping", "-n", "-q", "-c", str(count), "-W", str(timeout), ip],
                        timeout=count * timeout + 5)
        return proc.returncode == 0

    def addresses(self, name: str, family: Optional[int] = None) -> List[dict]:
        """``ip -j addr show dev eth0`` inside the host: list of addr_info dicts (local, prefixlen, label, ...)."""
        h = self.host(name)
        argv = ["ip", "-n", h.netns, "-j"]
        if family:
            argv.append("-%d" % family)
        proc = _sh(argv + ["addr", "show", "dev", h.ifname])
        data = json.loads(proc.stdout or "[]")
        return data[0].get("addr_info", []) if data else []

    def alive(self) -> Dict[str, bool]:
        """Per host: is its holder still the process we started?"""
        return {name: bool(h.pid) and _proc_starttime(h.pid) == h.starttime for name, h in self.hosts.items()}

    def namespaces(self) -> List[str]:
        existing = set(_sh(["ip", "netns", "list"], check=False).stdout.split())
        return [ns for ns in [self.switch] + [h.netns for h in self.hosts.values()] if ns in existing]

    wait_until = staticmethod(wait_until)
