# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A routed lab for VIPs across subnets: a "fabric" router running BGP, two servers in their own subnets, a client.

::

                      +-----------------------------+
                      |  PREFIX-fabric  AS 65000    |
                      |  FRR zebra + bgpd (+ bfdd)  |
                      +--s1-----------s2-------c1---+
          198.51.100.1/26 |    198.51.100.65/26 |  203.0.113.1/26
                          |             |       |
     198.51.100.2/26 eth0 |  eth0 198.51.100.66/26   eth0 203.0.113.2/26
     +--------------------+-+  +--------+-------------+  +--------------+
     | PREFIX-server1        |  | PREFIX-server2        |  | PREFIX-client |
     | AS 65001, vipd + FRR  |  | AS 65002, vipd + FRR  |  | prober        |
     | VIP 203.0.113.200 on  |  | (the same VIP, on lo  |  +--------------+
     | lo while master       |  | while master)         |
     +-----------------------+  +-----------------------+

The servers share no link: they elect over unicast VRRP through the fabric (one hop: TTL 254 on arrival), and
the master's host route for the VIP reaches the fabric by eBGP. Every namespace has the unique PREFIX; all
addresses are in 198.51.100.0/24 and 203.0.113.0/24; down() kills every daemon it started (by PID) and deletes
the namespaces, whatever happened before.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional

from . import frr
from .lab import LabError, _sh, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIP = "203.0.113.200"
FABRIC_ASN = 65000
SERVERS = {  # name: (fabric port, fabric address, server address, ASN)
    "server1": ("s1", "198.51.100.1", "198.51.100.2", 65001),
    "server2": ("s2", "198.51.100.65", "198.51.100.66", 65002),
}
BFD_PROFILE = "floating-vip"  # the role's profile name (plugin_utils/routed_speaker.py)
BFD_INTERVAL_MS, BFD_MULTIPLIER = 100, 3  # a dead peer is declared after 300 ms
BFD_CONF = "bfd\n profile %s\n  receive-interval %d\n  transmit-interval %d\n  detect-multiplier %d\n exit\nexit\n" % (
    BFD_PROFILE, BFD_INTERVAL_MS, BFD_INTERVAL_MS, BFD_MULTIPLIER)
CLIENT = ("c1", "203.0.113.1", "203.0.113.2")
PLEN = 26
VIPD_PROTOCOL = 201
VIPD_METRIC = 4197  # vipd_routed metric: the fabric sees it as the MED


@dataclass
class Host:
    name: str
    netns: str
    ifname: str = "eth0"


def _role_renderer():
    """plugins/plugin_utils/routed_speaker.py (it imports nothing of Ansible, only the collection's inet.py), from the
    checkout's .build/collections link (hack/bootstrap.sh makes it): the lab's servers run exactly the FRR block the
    vrrp role installs."""
    root = os.path.join(REPO, ".build", "collections")
    if root not in sys.path:
        sys.path.insert(0, root)
    from ansible_collections.floating.vip.plugins.plugin_utils import routed_speaker  # pylint: disable=import-outside-toplevel
    return routed_speaker


def server_frr_conf(name: str, bfd: bool = False, keepalive: int = 1, hold: int = 3, static_vips=()) -> str:
    """A server's speaker: the role's FRR block (eBGP to the fabric, redistributing only the routed VIPs)."""
    _port, fabric_ip, own_ip, asn = SERVERS[name]
    variables = {
        "vrrp_instances": [{"name": "VIP_R", "routed": {}, "virtual_ipaddresses": [VIP]}],
        "vrrp_routed_speaker": "frr", "vrrp_routed_bgp_asn": asn, "vrrp_routed_bgp_router_id": own_ip,
        "vrrp_routed_bgp_neighbors": [{"address": fabric_ip, "remote_as": FABRIC_ASN}],
        "vrrp_routed_bgp_keepalive": keepalive, "vrrp_routed_bgp_hold": hold, "vrrp_routed_bfd": bfd,
        "vrrp_routed_bfd_interval_ms": BFD_INTERVAL_MS, "vrrp_routed_bfd_multiplier": BFD_MULTIPLIER,
        "vrrp_routed_static_vips": list(static_vips),
    }
    return "hostname %s\n" % name + _role_renderer().frr_config(variables)


def split_bfd(config: str):
    """(bgpd's part, bfdd's part) of an integrated frr.conf: vtysh dispatches the `bfd` block to bfdd; a daemon run
    with its own -f file must not see the other's commands."""
    bgp, bfd, inside = [], [], False
    for line in config.splitlines(True):
        if line.rstrip() == "bfd":
            inside = True
        (bfd if inside else bgp).append(line)
        if inside and line.rstrip() == "exit":
            inside = False
    return "".join(bgp), "".join(bfd)


def fabric_frr_conf(bfd: bool = False, keepalive: int = 1, hold: int = 3) -> str:
    lines = ["hostname fabric", "router bgp %d" % FABRIC_ASN, " bgp router-id %s" % CLIENT[1], " no bgp ebgp-requires-policy"]
    for name, (_port, _fabric_ip, own_ip, asn) in sorted(SERVERS.items()):
        lines += [" neighbor %s remote-as %d" % (own_ip, asn), " neighbor %s timers %d %d" % (own_ip, keepalive, hold),
                  " neighbor %s timers connect 1" % own_ip, " neighbor %s advertisement-interval 0" % own_ip]
        if bfd:
            lines.append(" neighbor %s bfd profile %s" % (own_ip, BFD_PROFILE))
    return "\n".join(lines + ["exit", ""])


class RoutedLab:
    """The namespaces and links above, plus one FRR speaker per router-like host (started by start_bgp())."""

    def __init__(self, prefix: Optional[str] = None, workdir: Optional[str] = None):
        self.prefix = prefix or "fvr%s-" % secrets.token_hex(2)
        self.workdir = workdir or tempfile.mkdtemp(prefix=self.prefix)
        os.chmod(self.workdir, 0o755)  # FRR's daemons run as user frr and keep their files in subdirectories
        self.hosts: Dict[str, Host] = {n: Host(n, self.prefix + n) for n in ("fabric", "server1", "server2", "client")}
        self.speakers: Dict[str, frr.Speaker] = {}

    # ---- the vipd_helpers.VipdNode interface (host(), workdir, addresses()) --------------------------

    def host(self, name: str) -> Host:
        return self.hosts[name]

    def addresses(self, name: str, family: Optional[int] = None) -> List[dict]:
        """The VIPs host ``name`` holds, as addr_info-like dicts: a routed VIP is a `local` route in table local."""
        argv = ["ip", "-n", self.hosts[name].netns, "-j"] + (["-%d" % family] if family else [])
        data = json.loads(_sh(argv + ["route", "show", "table", "local", "proto", str(VIPD_PROTOCOL)]).stdout or "[]")
        return [{"local": r.get("dst", "").split("/")[0]} for r in data if r.get("type") == "local"]

    # ---- build and tear down -------------------------------------------------------------------------

    def ns(self, name: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return _sh(["ip", "netns", "exec", self.hosts[name].netns] + list(argv), check=check, timeout=timeout)

    def up(self) -> "RoutedLab":
        for host in self.hosts.values():
            _sh(["ip", "netns", "add", host.netns])
            _sh(["ip", "-n", host.netns, "link", "set", "lo", "up"])
        fabric = self.hosts["fabric"].netns
        links = [(port, name, fabric_ip, own_ip) for name, (port, fabric_ip, own_ip, _asn) in SERVERS.items()]
        links.append((CLIENT[0], "client", CLIENT[1], CLIENT[2]))
        for port, name, fabric_ip, own_ip in links:
            host = self.hosts[name].netns
            # created inside the fabric namespace, the peer moved straight into the host's: nothing in the root namespace
            _sh(["ip", "-n", fabric, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host])
            _sh(["ip", "-n", fabric, "addr", "add", "%s/%d" % (fabric_ip, PLEN), "dev", port])
            _sh(["ip", "-n", fabric, "link", "set", port, "up"])
            _sh(["ip", "-n", host, "addr", "add", "%s/%d" % (own_ip, PLEN), "dev", "eth0"])
            _sh(["ip", "-n", host, "link", "set", "eth0", "up"])
            _sh(["ip", "-n", host, "route", "add", "default", "via", fabric_ip])
        self.ns("fabric", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        return self

    def start_bgp(self, bfd: bool = False, keepalive: int = 1, hold: int = 3, static_vips=()) -> None:
        self.speakers["fabric"] = frr.Speaker(self.hosts["fabric"].netns, os.path.join(self.workdir, "frr-fabric"),
                                              fabric_frr_conf(bfd, keepalive, hold), bfd=bfd, bfd_config=BFD_CONF).start()
        for name in SERVERS:
            bgp, bfd_part = split_bfd(server_frr_conf(name, bfd, keepalive, hold, static_vips))
            self.speakers[name] = frr.Speaker(self.hosts[name].netns, os.path.join(self.workdir, "frr-" + name), bgp, bfd=bfd,
                                              bfd_config=bfd_part).start()

    def wait_sessions(self, timeout: float = 30) -> None:
        def established():
            dead = ["%s in %s" % (d, s.netns) for s in self.speakers.values() for d in ("zebra", "bgpd") if not s.running(d)]
            if dead:
                raise LabError("FRR exited: %s\n%s" % (", ".join(dead), "\n".join(s.log("bgpd") for s in self.speakers.values())))
            out = self.speakers["fabric"].vtysh("show bgp summary json")
            try:
                peers = json.loads(out)["ipv4Unicast"]["peers"]
            except (ValueError, KeyError):
                return False
            return all(peers.get(SERVERS[n][2], {}).get("state") == "Established" for n in SERVERS)
        try:
            wait_until(established, timeout=timeout, interval=0.2, what="BGP sessions established")
        except TimeoutError:
            fabric = self.speakers["fabric"]
            raise LabError("BGP sessions not up:\n%s\n%s" % (fabric.vtysh("show bgp summary"), fabric.log("bgpd")))

    def vip_next_hop(self, vip: str = VIP) -> Optional[str]:
        """The fabric's kernel route for the VIP: the server it points to, or None."""
        data = json.loads(_sh(["ip", "-n", self.hosts["fabric"].netns, "-j", "route", "show", "%s/32" % vip]).stdout or "[]")
        for route in data:
            gateway = route.get("gateway")
            for name, (_port, _fabric_ip, own_ip, _asn) in SERVERS.items():
                if gateway == own_ip:
                    return name
        return None

    def host_routes(self, name: str, protocol: int = VIPD_PROTOCOL) -> List[str]:
        """vipd's announce routes in table main of host ``name``."""
        data = json.loads(_sh(["ip", "-n", self.hosts[name].netns, "-j", "route", "show", "proto", str(protocol)]).stdout or "[]")
        return [r.get("dst") for r in data]

    def isolate(self, name: str) -> None:
        """A host that goes silent (frozen, cable cut past the switch): nftables drops all it sends and receives,
        its links stay up, so the fabric only learns it from the BGP hold timer (or BFD)."""
        script = "table inet fvip_isolate {\n chain i { type filter hook input priority -300; policy drop; }\n" \
                 " chain o { type filter hook output priority -300; policy drop; }\n}\n"
        subprocess.run(["ip", "netns", "exec", self.hosts[name].netns, "nft", "-f", "-"], input=script, text=True, check=True, timeout=10)

    def down(self) -> List[str]:
        """Kill every daemon started here (by PID), delete the namespaces; returns problems (empty when clean)."""
        problems = []
        for speaker in self.speakers.values():
            try:
                speaker.stop()
            except Exception as exc:  # pylint: disable=broad-except  # go on tearing down
                problems.append("stopping FRR in %s: %s" % (speaker.netns, exc))
        existing = set(_sh(["ip", "netns", "list"], check=False).stdout.split())
        for host in self.hosts.values():
            if host.netns in existing:
                proc = _sh(["ip", "netns", "del", host.netns], check=False)
                if proc.returncode != 0:
                    problems.append("ip netns del %s: %s" % (host.netns, proc.stderr.strip()))
        shutil.rmtree(self.workdir, ignore_errors=True)
        return problems

    def __enter__(self) -> "RoutedLab":
        try:
            return self.up()
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc) -> None:
        self.down()
