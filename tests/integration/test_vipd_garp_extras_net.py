# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 global and instance options of issue 10 with real daemons in lab namespaces, vipd beside
keepalived, the same config text on both and keepalived's behaviour the reference:
vrrp_min_garp (one GARP per VIP on taking over, no delayed burst) and garp_extra_if N all (every N s one GARP
on each other interface holding a VIP; here the base interface of a use_vmac instance) seen on the wire;
promote_secondaries set on the interface while the daemon runs and put back after; umask (default and set)
read on the notify FIFO each creates.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

from tests.lab import wait_until

from .peers import VIP, Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

VMAC_NAME, VMAC_MAC = "vrrp.51", "00:00:5e:00:01:33"
EXTRA = "2001:db8:55::5"  # an IPv6 eVIP of this IPv4 instance: on eth0, not on the VMAC (keepalived's rule)


def _conf(global_lines="", instance_lines="", extra=""):
    text = render_config([InstanceSpec(priority=150, version=3, advert_int=0.2)], router_id="garpx")
    text = text.replace("global_defs {", "global_defs {\n" + global_lines, 1)
    return text.replace("    virtual_ipaddress {", instance_lines + extra + "    virtual_ipaddress {", 1)


def _cleanup(lab, host="server1"):
    lab.run(host, ["ip", "link", "del", VMAC_NAME])
    lab.run(host, ["ip", "addr", "del", VIP + "/24", "dev", "eth0"])
    lab.run(host, ["ip", "addr", "del", EXTRA + "/64", "dev", "eth0"])
    lab.run(host, ["nft", "delete", "table", "ip", "keepalived"])
    lab.run(host, ["nft", "delete", "table", "ip6", "keepalived"])
    lab.run(host, ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_ignore; echo 0 > /proc/sys/net/ipv4/conf/eth0/arp_filter; "
                               "echo 0 > /proc/sys/net/ipv4/conf/eth0/promote_secondaries"])


class NaCapture:
    """tcpdump in the server's own namespace on eth0: unsolicited neighbour advertisements, one text line each."""

    def __init__(self, lab, host):
        self.path = os.path.join(lab.workdir, "peers", "na-%d.txt" % int(time.monotonic() * 1000))
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.out = open(self.path, "w")
        self.err = open(self.path + ".err", "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.host(host).netns, "tcpdump", "-i", "eth0", "-n", "-e", "-tt", "-l",
                                      "-U", "--immediate-mode", "icmp6 and ip6[40] == 136"],
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err, start_new_session=True)
        wait_until(lambda: self.proc.poll() is not None or "listening on" in open(self.path + ".err").read(), timeout=10,
                   interval=0.02, what="tcpdump to listen")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.out.close()
        self.err.close()

    def adverts(self, target):
        """[(time, source MAC)] of the NAs for target."""
        out = []
        with open(self.path) as f:
            for line in f:
                words = line.split()
                if "tgt is %s," % target in line and len(words) > 1:
                    out.append((float(words[0]), words[1]))
        return out


@pytest.mark.parametrize("impl", ["vipd", "keepalived"])
def test_min_garp_and_garp_extra_if_on_the_wire(module_lab, impl):
    lab = module_lab
    _cleanup(lab)
    mac = lab.run("server1", ["cat", "/sys/class/net/eth0/address"], check=True).stdout.strip()
    conf = _conf(global_lines="    vrrp_min_garp\n", instance_lines="    use_vmac\n    garp_extra_if 1 all\n",
                 extra="    virtual_ipaddress_excluded {\n        %s/64\n    }\n" % EXTRA)
    node = Node(lab, "server1", impl, conf, tag="garpx-" + impl)
    capture = Capture(lab).start()
    nas = NaCapture(lab, "server1")
    try:
        node.start()
        wait_until(lambda: node.state() == "MASTER", timeout=15, interval=0.05, what="%s master" % node)
        t_master = time.time()
        time.sleep(6.5)  # past keepalived's default garp_master_delay (5 s): vrrp_min_garp sends no second burst
        frames = capture.read()
        addrs = lab.run("server1", ["ip", "-o", "addr", "show"], check=True).stdout
        assert node.stop() == 0
    finally:
        capture.stop()
        nas.stop()
        problems = stop_all([node])
        _cleanup(lab)
    assert not problems, problems
    # keepalived's placement: the IPv4 VIP on the VMAC, the IPv6 eVIP on the interface itself
    assert any(l.split()[1] == VMAC_NAME and " %s/24 " % VIP in l for l in addrs.splitlines()), addrs
    assert any(l.split()[1] == "eth0" and " %s/64 " % EXTRA in l for l in addrs.splitlines()), addrs
    # vrrp_min_garp: one GARP for the VIP on taking over and none later (the VMAC's MAC is in every advert)
    assert capture.garps(VIP, frames) == {VMAC_MAC: 1}, capture.garps(VIP, frames)
    # garp_extra_if 1 all: the eVIP on eth0 is announced from eth0's MAC about every second (keepalived checks the
    # timer when it sends an advert: every 1 s to 1.2 s with advert_int 0.2), after its one NA on taking over.
    seen = nas.adverts(EXTRA)
    assert seen and set(m for _t, m in seen) == {mac}, seen
    steady = [t for t, _m in seen if t > t_master + 0.5]
    assert 5 <= len(steady) <= 7, (impl, [round(t - t_master, 2) for t, _m in seen])
    gaps = [b - a for a, b in zip(steady, steady[1:])]
    assert all(0.9 <= g <= 1.35 for g in gaps), (impl, gaps)


@pytest.mark.parametrize("impl", ["vipd", "keepalived"])
def test_promote_secondaries_and_umask_as_keepalived(module_lab, impl):
    lab = module_lab
    _cleanup(lab)

    def promote():
        return lab.run("server1", ["cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries"], check=True).stdout.strip()

    nodes = []
    try:
        for umask, mode in (("", 0o600), ("    umask 0022\n", 0o644)):
            tag = "umask-%s-%s" % (impl, "set" if umask else "default")
            fifo = os.path.join(lab.workdir, "peers", tag + ".fifo")
            conf = _conf(global_lines='%s    vrrp_notify_fifo "%s"\n' % (umask, fifo), instance_lines="    promote_secondaries\n")
            node = Node(lab, "server1", impl, conf, tag=tag)
            nodes.append(node)
            assert promote() == "0"
            node.start()
            wait_until(lambda: node.state() == "MASTER" and os.path.exists(fifo), timeout=15, interval=0.05, what="%s master" % node)
            # keepalived's default umask 0177 makes its FIFO (created 0644) 0600; umask 0022 leaves 0644
            assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_IMODE(os.stat(fifo).st_mode) == mode, (impl, oct(os.stat(fifo).st_mode))
            assert promote() == "1"
            assert node.stop() == 0
            assert promote() == "0"  # it was 0 before: put back
    finally:
        problems = stop_all(nodes)
        _cleanup(lab)
    assert not problems, problems


@pytest.mark.parametrize("impl", ["vipd", "keepalived"])
def test_garp_extra_if_without_all_announces_on_use_vmac_addr_vmacs(module_lab, impl):
    """garp_extra_if 1 (no 'all'): only VMACs of use_vmac_addr / per-VIP use_vmac get the periodic NAs, from the
    VMAC's own MAC (here the IPv6 eVIP of an IPv4 instance, on a VMAC 00:00:5e:00:02:33 of eth0)."""
    lab = module_lab
    _cleanup(lab)
    conf = _conf(global_lines="    vrrp_min_garp\n", instance_lines="    use_vmac_addr\n    garp_extra_if 1\n",
                 extra="    virtual_ipaddress_excluded {\n        %s/64\n    }\n" % EXTRA)
    node = Node(lab, "server1", impl, conf, tag="garpxaddr-" + impl)
    nas = NaCapture(lab, "server1")
    try:
        node.start()
        wait_until(node.is_master, timeout=15, interval=0.05, what="%s master" % node)
        t_master = time.time()
        time.sleep(4.5)
        assert node.stop() == 0
    finally:
        nas.stop()
        problems = stop_all([node])
        _cleanup(lab)
    assert not problems, problems
    seen = nas.adverts(EXTRA)
    assert seen and set(m for _t, m in seen) == {"00:00:5e:00:02:33"}, seen
    steady = [t for t, _m in seen if t > t_master + 0.5]
    assert 3 <= len(steady) <= 5, (impl, [round(t - t_master, 2) for t, _m in seen])
