# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vip_alias and vip_secondary through real ansible-playbook runs against namespace lab hosts.

Every assertion reads the real state: addresses through ``ip -j addr`` in the host's namespace, files
through the host's own /etc overlay, the client's neighbour table through ``ip neigh``.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import time

import pytest

from tests.lab import Lab, wait_until

from .conftest import playbook, run_playbook

pytestmark = pytest.mark.lab

VIP = "198.51.100.100"
VIP6 = "2001:db8:5100::100"
IFCFG_DIR = "/etc/sysconfig/network-scripts"


def alias(**opts) -> dict:
    args = {"interface": "eth0", "label": "eth0:0", "address": VIP + "/24", "persist": []}
    args.update(opts)
    return {"name": "vip_alias %s" % args.get("state", "present"), "floating.vip.vip_alias": args}


def secondary(**opts) -> dict:
    args = {"interface": "eth0", "persist": []}
    args.update(opts)
    return {"name": "vip_secondary %s %s" % (args["address"], args.get("state", "present")),
            "floating.vip.vip_secondary": args}


def mkdir(path: str) -> dict:
    # RHEL hosts have it; the lab's Debian-based hosts get it in their own /etc.
    return {"name": "Create %s" % path, "ansible.builtin.file": {"path": path, "state": "directory", "mode": "0755"}}


def held(lab: Lab, host: str, address: str):
    """The addr_info entry for ``address`` on the host's eth0, or None."""
    for info in lab.addresses(host):
        if info.get("local") == address:
            return info
    return None


def ok(run, *hosts):
    failed = ["%s: %s: %s" % (host, r["_task"], r.get("msg")) for host, results in run.results.items()
              for r in results if r.get("failed")]
    assert run.rc == 0, "ansible-playbook failed: %s\n%s\n%s" % (failed, run.stdout[-2000:], run.stderr[-2000:])
    for host in hosts:
        assert run.stats[host]["failed"] == 0 and run.stats[host]["unreachable"] == 0
    return run


def files_in_upper(lab: Lab, host: str):
    """Every file the host wrote to its /etc (relative paths), read from its overlay upper dir."""
    upper = lab.host(host).upper
    out = {}
    for root, _dirs, files in os.walk(upper):
        for f in files:
            path = os.path.join(root, f)
            if os.path.isfile(path):
                out["/etc/" + os.path.relpath(path, upper)] = open(path, errors="replace").read()
    return out


# --------------------------------------------------------------------------- vip_alias runtime

def test_alias_add_is_idempotent_and_reachable(lab):
    run = ok(run_playbook(lab, playbook(("server1", [alias()]))), "server1")
    assert run.changed("server1") == 1
    info = held(lab, "server1", VIP)
    assert info and info["prefixlen"] == 24 and info["label"] == "eth0:0"
    assert info.get("broadcast") == "198.51.100.255"
    shown = lab.run("server1", ["ip", "addr", "show", "dev", "eth0"], check=True).stdout
    assert "eth0:0" in shown and VIP + "/24" in shown
    # Only server1 holds it, and its own address is untouched.
    assert held(lab, "server2", VIP) is None and held(lab, "server1", lab.ip("server1"))["label"] == "eth0"
    assert lab.ping("client1", VIP)
    assert lab.neigh("client1", VIP) == lab.mac("server1")

    again = ok(run_playbook(lab, playbook(("server1", [alias()]))), "server1")
    assert again.changed("server1") == 0
    assert len([i for i in lab.addresses("server1") if i.get("local") == VIP]) == 1


def test_alias_relabel_change_prefix_remove(lab):
    ok(run_playbook(lab, playbook(("server1", [alias()]))), "server1")

    relabel = ok(run_playbook(lab, playbook(("server1", [alias(label="eth0:7")]))), "server1")
    assert relabel.changed("server1") == 1
    matches = [i for i in lab.addresses("server1") if i.get("local") == VIP]
    assert len(matches) == 1 and matches[0]["label"] == "eth0:7" and matches[0]["prefixlen"] == 24

    # An index label becomes <interface>:<n>.
    index = ok(run_playbook(lab, playbook(("server1", [alias(label="3")]))), "server1")
    assert index.changed("server1") == 1 and held(lab, "server1", VIP)["label"] == "eth0:3"

    prefix = ok(run_playbook(lab, playbook(("server1", [alias(label="eth0:3", address=VIP,
                                                              netmask="255.255.255.128")]))), "server1")
    assert prefix.changed("server1") == 1
    info = held(lab, "server1", VIP)
    assert info["prefixlen"] == 25 and info["label"] == "eth0:3" and info.get("broadcast") == "198.51.100.127"
    assert lab.ping("client1", VIP)

    remove = ok(run_playbook(lab, playbook(("server1", [alias(label="eth0:3", address=VIP + "/25",
                                                              state="absent")]))), "server1")
    assert remove.changed("server1") == 1
    assert held(lab, "server1", VIP) is None
    assert held(lab, "server1", lab.ip("server1")) is not None, "absent removed more than the VIP"
    gone = ok(run_playbook(lab, playbook(("server1", [alias(label="eth0:3", address=VIP + "/25",
                                                            state="absent")]))), "server1")
    assert gone.changed("server1") == 0


def test_alias_check_mode_changes_nothing(lab):
    task = [mkdir(IFCFG_DIR), alias(persist=["rc_local", "ifcfg"])]
    # The directory exists first (as on RHEL): check mode then has only the module's work to predict.
    ok(run_playbook(lab, playbook(("server1", [mkdir(IFCFG_DIR)]))), "server1")
    before_files = files_in_upper(lab, "server1")
    check = ok(run_playbook(lab, playbook(("server1", task)), check=True), "server1")
    assert check.result("server1")["changed"] is True and check.changed("server1") == 1
    assert held(lab, "server1", VIP) is None
    assert files_in_upper(lab, "server1") == before_files
    assert lab.read_etc("server1", "/etc/rc.local") == (open("/etc/rc.local").read()
                                                        if os.path.exists("/etc/rc.local") else None)

    ok(run_playbook(lab, playbook(("server1", task))), "server1")
    snapshot = files_in_upper(lab, "server1")
    assert held(lab, "server1", VIP) is not None

    # The prediction for a run with nothing to do is "no change"...
    same = ok(run_playbook(lab, playbook(("server1", task)), check=True), "server1")
    assert same.changed("server1") == 0
    # ...and for a removal "changed", while nothing is removed.
    removal = ok(run_playbook(lab, playbook(("server1", [alias(persist=["rc_local", "ifcfg"], state="absent")])),
                              check=True), "server1")
    assert removal.changed("server1") == 1
    assert held(lab, "server1", VIP) is not None
    assert files_in_upper(lab, "server1") == snapshot


def test_alias_diff_shows_before_and_after(lab):
    run = ok(run_playbook(lab, playbook(("server1", [mkdir(IFCFG_DIR), alias(persist=["rc_local", "ifcfg"])])),
                          diff=True, structured=False), "server1")
    out = run.stdout
    assert "--- before" in out and "+++ after" in out, out
    added = [line for line in out.splitlines() if line.startswith("+") and VIP in line]
    assert added, "the diff shows no added line with the VIP:\n" + out
    assert "rc.local" in out and "ifcfg-eth0:0" in out, out
    # Removing shows the VIP on the before side.
    gone = ok(run_playbook(lab, playbook(("server1", [alias(persist=["rc_local", "ifcfg"], state="absent")])),
                           diff=True, structured=False), "server1")
    assert [line for line in gone.stdout.splitlines() if line.startswith("-") and VIP in line], gone.stdout


# --------------------------------------------------------------------------- vip_alias persistence

def test_alias_persists_to_rc_local_and_ifcfg(lab):
    # A user's own rc.local: their lines stay, `exit 0` stays last.
    user_rc = "#!/bin/sh -e\n# my own boot steps\necho booted > /run/fv-booted\nexit 0\n"
    lab.run("server1", ["sh", "-c", "cat > /etc/rc.local && chmod 0755 /etc/rc.local"], input=user_rc, check=True)
    run = ok(run_playbook(lab, playbook(("server1", [mkdir(IFCFG_DIR), alias(persist=["rc_local", "ifcfg"])]))),
             "server1")
    assert run.changed("server1") == 2

    rc_local = lab.read_etc("server1", "/etc/rc.local")
    lines = rc_local.rstrip("\n").splitlines()
    assert lines[0] == "#!/bin/sh -e" and lines[-1] == "exit 0"
    assert "# my own boot steps" in lines and "echo booted > /run/fv-booted" in lines
    block = [line for line in lines if VIP in line]
    assert block, rc_local
    assert not os.path.exists("/etc/sysconfig/network-scripts/ifcfg-eth0:0"), "wrote to the real /etc"

    ifcfg = lab.read_etc("server1", IFCFG_DIR + "/ifcfg-eth0:0")
    assert ifcfg is not None
    keys = _source(lab, "server1", IFCFG_DIR + "/ifcfg-eth0:0",
                   ["DEVICE", "ONBOOT", "BOOTPROTO", "IPADDR", "NETMASK", "PREFIX", "USERCTL"])
    assert keys["DEVICE"] == "eth0:0" and keys["ONBOOT"] == "yes" and keys["BOOTPROTO"] == "static"
    assert keys["IPADDR"] == VIP and (keys["NETMASK"] == "255.255.255.0" or keys["PREFIX"] == "24")
    assert keys["USERCTL"] == "no"

    # The rc.local block really brings the VIP back: drop it at runtime, run rc.local as boot would.
    lab.run("server1", ["ip", "addr", "del", VIP + "/24", "dev", "eth0"], check=True)
    assert held(lab, "server1", VIP) is None
    boot = lab.run("server1", ["sh", "/etc/rc.local"])
    assert boot.returncode == 0, boot.stderr
    info = held(lab, "server1", VIP)
    assert info and info["label"] == "eth0:0" and info["prefixlen"] == 24

    again = ok(run_playbook(lab, playbook(("server1", [mkdir(IFCFG_DIR), alias(persist=["rc_local", "ifcfg"])]))),
               "server1")
    assert again.changed("server1") == 0

    ok(run_playbook(lab, playbook(("server1", [alias(persist=["rc_local", "ifcfg"], state="absent")]))), "server1")
    assert held(lab, "server1", VIP) is None
    assert lab.read_etc("server1", IFCFG_DIR + "/ifcfg-eth0:0") is None
    # The user's file is back exactly as it was.
    restored = lab.read_etc("server1", "/etc/rc.local")
    assert restored == user_rc, restored


def test_alias_creates_rc_local_executable(lab):
    ok(run_playbook(lab, playbook(("server2", [alias(persist=["rc_local"], rc_local_path="/etc/rc.local")]))),
       "server2")
    rc_local = lab.read_etc("server2", "/etc/rc.local")
    assert rc_local.startswith("#!/bin/sh\n") and VIP in rc_local
    mode = lab.run("server2", ["stat", "-c", "%a", "/etc/rc.local"], check=True).stdout.strip()
    assert mode == "755"
    assert lab.read_etc("server1", "/etc/rc.local") is None or VIP not in lab.read_etc("server1", "/etc/rc.local")


def test_alias_bad_interface_fails_and_changes_nothing(lab):
    run = run_playbook(lab, playbook(("server1", [alias(interface="nope0", label="nope0:0",
                                                        persist=["rc_local"])])))
    assert run.rc != 0 and run.stats["server1"]["failed"] == 1
    assert "nope0" in run.result("server1")["msg"]
    assert held(lab, "server1", VIP) is None
    assert lab.read_etc("server1", "/etc/rc.local") == (open("/etc/rc.local").read()
                                                        if os.path.exists("/etc/rc.local") else None)


def _source(lab: Lab, host: str, path: str, keys):
    """Read an ifcfg file the way initscripts do: source it with sh, print the variables."""
    script = ". %s; %s" % (shlex.quote(path), "; ".join('printf "%%s=%%s\\n" %s "$%s"' % (k, k) for k in keys))
    out = lab.run(host, ["sh", "-c", "set -e; " + script], check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


# --------------------------------------------------------------------------- vip_secondary

def test_secondary_ipv4_and_ipv6_with_ifupdown_and_networkd(lab):
    network = {"name": "The host's own .network file for eth0 (what networkd drop-ins extend)",
               "ansible.builtin.copy": {"dest": "/etc/systemd/network/10-eth0.network", "mode": "0644",
                                        "content": "[Match]\nName=eth0\n\n[Network]\nAddress=%s/24\n" % lab.ip("server1")}}
    tasks = [mkdir("/etc/network/interfaces.d"), mkdir("/etc/systemd/network"), network,
             secondary(address="198.51.100.120/24", persist=["ifupdown", "networkd"]),
             secondary(address=VIP6 + "/64", persist=["ifupdown", "networkd"])]
    run = ok(run_playbook(lab, playbook(("server1", tasks))), "server1")
    assert run.changed("server1") >= 2
    v4, v6 = held(lab, "server1", "198.51.100.120"), held(lab, "server1", VIP6)
    assert v4 and v4["prefixlen"] == 24 and v4.get("label") == "eth0"  # a secondary: no alias label
    assert v6 and v6["prefixlen"] == 64
    assert lab.ping("client1", "198.51.100.120") and lab.ping("client1", VIP6)
    assert lab.neigh("client1", VIP6) == lab.mac("server1")

    written = files_in_upper(lab, "server1")
    ifupdown = {p: t for p, t in written.items() if p.startswith("/etc/network/interfaces.d/")}
    networkd = {p: t for p, t in written.items() if p.startswith("/etc/systemd/network/")}
    assert ifupdown and networkd, sorted(written)
    text = "\n".join(ifupdown.values())
    assert "eth0" in text and "198.51.100.120" in text and VIP6 in text, text
    net = "\n".join(networkd.values())
    assert "Address=198.51.100.120/24" in net and "Address=%s/64" % VIP6 in net, net
    dropins = [p for p in networkd if p.startswith("/etc/systemd/network/10-eth0.network.d/") and p.endswith(".conf")]
    assert len(dropins) == 2, sorted(networkd)
    assert "[Network]" in networkd[dropins[0]]
    # The user's .network file itself is left as it was.
    assert networkd["/etc/systemd/network/10-eth0.network"] == "[Match]\nName=eth0\n\n[Network]\nAddress=%s/24\n" % (
        lab.ip("server1"))
    assert not os.path.exists("/etc/network/interfaces.d") or not any(
        "198.51.100.120" in open(os.path.join("/etc/network/interfaces.d", f)).read()
        for f in os.listdir("/etc/network/interfaces.d"))

    again = ok(run_playbook(lab, playbook(("server1", tasks))), "server1")
    assert again.changed("server1") == 0

    absent = [secondary(address="198.51.100.120/24", persist=["ifupdown", "networkd"], state="absent"),
              secondary(address=VIP6 + "/64", persist=["ifupdown", "networkd"], state="absent")]
    ok(run_playbook(lab, playbook(("server1", absent))), "server1")
    assert held(lab, "server1", "198.51.100.120") is None and held(lab, "server1", VIP6) is None
    left = "\n".join(t for p, t in files_in_upper(lab, "server1").items()
                     if p.startswith(("/etc/network/", "/etc/systemd/network/")))
    assert "198.51.100.120" not in left and VIP6 not in left


def test_secondary_rc_local_and_ifcfg(lab):
    own = "# written by the installer\nDEVICE=eth0\nBOOTPROTO=static\nONBOOT=yes\nIPADDR=%s\nPREFIX=24\nMTU=1500\n" % (
        lab.ip("server2"))
    ifcfg_eth0 = {"name": "The interface's own ifcfg file, as on a RHEL host",
                  "ansible.builtin.copy": {"dest": IFCFG_DIR + "/ifcfg-eth0", "content": own, "mode": "0644"}}
    tasks = [mkdir(IFCFG_DIR), ifcfg_eth0,
             secondary(address="198.51.100.121/24", persist=["rc_local", "ifcfg"]),
             secondary(address="198.51.100.122", netmask="255.255.255.0", persist=["rc_local", "ifcfg"])]
    ok(run_playbook(lab, playbook(("server2", tasks))), "server2")
    assert held(lab, "server2", "198.51.100.121") and held(lab, "server2", "198.51.100.122")
    ifcfg_path = IFCFG_DIR + "/ifcfg-eth0"
    text = lab.read_etc("server2", ifcfg_path)
    assert text is not None
    names = ["IPADDR", "PREFIX", "MTU"] + ["IPADDR%d" % i for i in range(0, 10)] + ["PREFIX%d" % i for i in range(0, 10)]
    keys = _source(lab, "server2", ifcfg_path, names)
    pairs = {(keys["IPADDR%d" % i], keys["PREFIX%d" % i]) for i in range(0, 10) if keys["IPADDR%d" % i]}
    assert {("198.51.100.121", "24"), ("198.51.100.122", "24")} <= pairs, text
    # The user's own keys and comment are kept.
    assert keys["IPADDR"] == lab.ip("server2") and keys["PREFIX"] == "24" and keys["MTU"] == "1500", text
    assert "# written by the installer" in text
    rc_local = lab.read_etc("server2", "/etc/rc.local")
    assert "198.51.100.121" in rc_local and "198.51.100.122" in rc_local

    ok(run_playbook(lab, playbook(("server2", [secondary(address="198.51.100.121/24", persist=["rc_local", "ifcfg"],
                                                         state="absent")]))), "server2")
    assert held(lab, "server2", "198.51.100.121") is None and held(lab, "server2", "198.51.100.122")
    keys = _source(lab, "server2", ifcfg_path, names)
    assert "198.51.100.121" not in keys.values() and "198.51.100.122" in keys.values()
    assert keys["IPADDR"] == lab.ip("server2") and keys["MTU"] == "1500"
    rc_local = lab.read_etc("server2", "/etc/rc.local")
    assert "198.51.100.121" not in rc_local and "198.51.100.122" in rc_local


# --------------------------------------------------------------------------- announce: the client follows

class ArpWatch:
    """tcpdump in the client's namespace, to prove the client itself sent no ARP request.

    tcpdump prints decoded frames to a file we opened (no -w: tcpdump would open that file only after
    dropping root). Before the watch is handed out, a canary (server1's gratuitous ARP for its own
    primary address) must show up, so an empty capture can only mean no frame, never a deaf tcpdump.
    """

    def __init__(self, lab: Lab, client: str):
        self.lab, self.client = lab, client
        self.text = os.path.join(lab.workdir, "arp-%s.txt" % client)
        self.proc = None

    def _lines(self):
        with open(self.text) as f:
            return f.read().splitlines()

    def __enter__(self):
        h = self.lab.host(self.client)
        self.out = open(self.text, "w")
        self.err = open(self.text + ".err", "w+")
        self.proc = subprocess.Popen(["ip", "netns", "exec", h.netns, "tcpdump", "-i", h.ifname, "-n", "-e", "-l", "arp"],
                                     stdout=self.out, stderr=self.err)
        wait_until(lambda: "listening" in open(self.text + ".err").read() or self.proc.poll() is not None,
                   timeout=10, what="tcpdump to listen")
        assert self.proc.poll() is None, open(self.text + ".err").read()
        canary = self.lab.ip("server1")
        canary_src = self.lab.mac("server1")
        wait_until(lambda: self.lab.run("server1", ["arping", "-q", "-U", "-c", "1", "-I", "eth0", canary]) is not None
                   and any(canary_src in line and canary in line for line in self._lines()),
                   timeout=10, interval=0.5, what="tcpdump to see the canary gratuitous ARP")
        self.skip = len(self._lines())
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.out.close()
        self.err.close()
        return False

    def frames(self, src_mac: str, requests_only: bool = False) -> list:
        """ARP frames seen after the canary, sent from src_mac (tcpdump -e: the source MAC is the 2nd field)."""
        lines = self._lines()[self.skip:]
        return [line for line in lines if len(line.split()) > 1 and line.split()[1] == src_mac
                and (not requests_only or " Request " in line)]


def _vip_on_server1_seen_by_client(lab: Lab):
    ok(run_playbook(lab, playbook(("server1", [alias()]))), "server1")
    assert lab.ping("client1", VIP)
    assert lab.neigh("client1", VIP) == lab.mac("server1")
    # Linux ignores a changed lladdr within arp locktime (1 s) of the last update.
    time.sleep(1.2)


def _move(announce: int) -> str:
    return playbook(("server1", [alias(state="absent")]), ("server2", [alias(announce=announce)]))


def test_client_arp_entry_follows_the_vip_by_garp(lab):
    _vip_on_server1_seen_by_client(lab)
    client_mac = lab.mac("client1")
    with ArpWatch(lab, "client1") as watch:
        run = ok(run_playbook(lab, _move(announce=3)), "server1", "server2")
        entry = lab.neigh("client1", VIP)  # right after the play, before the client sends anything
    assert entry == lab.mac("server2"), "client still maps %s to %s" % (VIP, entry)
    assert held(lab, "server1", VIP) is None and held(lab, "server2", VIP)["label"] == "eth0:0"
    requests = watch.frames(client_mac, requests_only=True)
    assert requests == [], "the client asked on its own: %s" % requests
    garps = watch.frames(lab.mac("server2"))
    assert len(garps) >= 3 and all(VIP in g for g in garps), garps
    assert run.result("server2")["changed"] is True
    assert lab.ping("client1", VIP)


def test_without_announce_the_client_keeps_the_old_mac(lab):
    # The control for the test above: the entry moved because of the gratuitous ARP, nothing else.
    _vip_on_server1_seen_by_client(lab)
    with ArpWatch(lab, "client1") as watch:
        ok(run_playbook(lab, _move(announce=0)), "server1", "server2")
        entry = lab.neigh("client1", VIP)
    assert entry == lab.mac("server1")
    assert watch.frames(lab.mac("server2")) == []
