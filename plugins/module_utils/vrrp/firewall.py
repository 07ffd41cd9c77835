# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accept mode as keepalived 2.2.7 enforces it (vrrp_firewall.c, vrrp_nftables.c, Debian's NFTABLES build).

A master that is not the address owner and not in accept mode must not accept packets addressed to its
VIPs (RFC 5798 Accept_Mode): keepalived puts the VIPs of such an instance in the nftables set `vips` of
its tables `ip keepalived` / `ip6 keepalived` while it is master, with `ip daddr @vips drop` on input and
`ip saddr @vips drop` on output (chains at priority -1; IPv6 neighbour solicitations and advertisements
stay accepted so the VIP still resolves). vipd builds the same tables with nft(8), in its own network
namespace, creates them on first use and deletes them at exit.

Accept mode is on by default, off with `no_accept`, and off by default under `vrrp_strict` (keepalived's
vrrp_complete_instance()); an address owner (priority 255) always accepts.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
import subprocess

TABLE = "keepalived"
NFT_TIMEOUT = 5.0

SETUP = {
    4: """add table ip {t}
add chain ip {t} in {{ type filter hook input priority -1; policy accept; }}
add chain ip {t} out {{ type filter hook output priority -1; policy accept; }}
add set ip {t} vips {{ type ipv4_addr; }}
add rule ip {t} in ip daddr @vips drop
add rule ip {t} out ip saddr @vips drop
""",
    6: """add table ip6 {t}
add chain ip6 {t} in {{ type filter hook input priority -1; policy accept; }}
add chain ip6 {t} out {{ type filter hook output priority -1; policy accept; }}
add set ip6 {t} vips {{ type ipv6_addr; }}
add rule ip6 {t} in icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept
add rule ip6 {t} out icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept
add rule ip6 {t} in ip6 daddr @vips drop
add rule ip6 {t} out ip6 saddr @vips drop
""",
}


# keepalived's setup_rule_move_igmp(): an MLD report leaving a VMAC leaves from its base interface instead
VMAC_SETUP = """add map ip6 {t} vmac_map {{ type iface_index : iface_index; }}
add rule ip6 {t} out icmpv6 type mld2-listener-report dup to ip6 daddr device oif map @vmac_map drop
"""


class FirewallError(Exception):
    """nft failed or is missing."""


def accept_mode(instance, strict=False):
    """keepalived's effective accept mode of an instance (True: the master accepts packets to its VIPs)."""
    if instance.priority == 255:
        return True
    accept = getattr(instance, "accept", None)
    strict = bool(strict or getattr(instance, "strict_mode", False))
    if accept is None:
        return not strict
    if accept and strict and instance.version == 2:
        return False  # keepalived: "accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
    return bool(accept)


def _nft_runner(script):
    import shutil  # only here: shutil costs the daemon 0.6 MB of RSS
    nft = shutil.which("nft") or "/usr/sbin/nft"
    try:
        proc = subprocess.run([nft, "-f", "-"], input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=NFT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FirewallError("cannot run nft: %s" % exc)
    if proc.returncode != 0:
        raise FirewallError("nft failed: %s" % " ".join(proc.stderr.split())[:300])


class AcceptFirewall:
    """The `keepalived` nftables tables of this namespace; run(script) is injectable for tests."""

    def __init__(self, run=None, table=TABLE):
        self.run = run or _nft_runner
        self.table = table
        self.ready = set()  # families whose table is set up
        self.members = {4: set(), 6: set()}
        self.vmac_map = {}  # VMAC -> base, in the map vmac_map
        self.vmac_rule = False  # the map and its rule are in the ip6 table

    def _setup(self, family):
        if family in self.ready:
            return
        fam = "ip" if family == 4 else "ip6"
        # As keepalived at start: whatever a previous run left is removed first.
        script = "add table %s %s\ndelete table %s %s\n" % (fam, self.table, fam, self.table)
        self.run(script + SETUP[family].format(t=self.table))
        self.ready.add(family)

    @staticmethod
    def _split(addresses):
        out = {4: [], 6: []}
        for text in addresses:
            ip = ipaddress.ip_interface(text).ip
            out[ip.version].append(str(ip))
        return out

    def block(self, addresses):
        """Drop traffic to and from these VIPs (a no-accept instance became master)."""
        for family, ips in self._split(addresses).items():
            new = [ip for ip in ips if ip not in self.members[family]]
            if not new:
                continue
            self._setup(family)
            fam = "ip" if family == 4 else "ip6"
            self.run("add element %s %s vips { %s }\n" % (fam, self.table, ", ".join(new)))
            self.members[family].update(new)

    def unblock(self, addresses):
        """The instance left master: its VIPs leave the set."""
        for family, ips in self._split(addresses).items():
            old = [ip for ip in ips if ip in self.members[family]]
            if not old:
                continue
            fam = "ip" if family == 4 else "ip6"
            self.members[family].difference_update(old)
            self.run("delete element %s %s vips { %s }\n" % (fam, self.table, ", ".join(old)))

    def move_mld(self, vmac, base):
        """MLD reports of the macvlan `vmac` leave from `base`, with its MAC (names are validated interface names)."""
        if self.vmac_map.get(vmac) == base:
            return
        self._setup(6)
        if not self.vmac_rule:
            self.run(VMAC_SETUP.format(t=self.table))
            self.vmac_rule = True
        self.unmove_mld(vmac)
        self.run('add element ip6 %s vmac_map { "%s" : "%s" }\n' % (self.table, vmac, base))
        self.vmac_map[vmac] = base

    def unmove_mld(self, vmac):
        """Before the macvlan goes (nft resolves the name): its element leaves the map."""
        base = self.vmac_map.pop(vmac, None)
        if base is not None:
            self.run('delete element ip6 %s vmac_map { "%s" }\n' % (self.table, vmac))

    def teardown(self):
        """At exit, as keepalived: the tables go."""
        for family in sorted(self.ready):
            fam = "ip" if family == 4 else "ip6"
            self.run("delete table %s %s\n" % (fam, self.table))
        self.ready.clear()
        self.members = {4: set(), 6: set()}
        self.vmac_map = {}
        self.vmac_rule = False
