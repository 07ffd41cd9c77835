# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the vrrp_routed_check module checks: a BGP speaker is installed for the routed VIPs, and no routed VIP lies
in a connected subnet. Runs without Ansible: the module passes its params and three callables (which, run_command,
warn) and gets (result, message) back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os

FRR_BGPD = ("/usr/lib/frr/bgpd", "/usr/libexec/frr/bgpd", "/usr/sbin/bgpd")
OTHER_SPEAKERS = ("bird", "bird2", "gobgpd", "exabgp")


def find_speaker(speaker, which):
    """FRR's bgpd, or with `external` any speaker `which(name)` finds; None when there is none."""
    for path in FRR_BGPD:
        if os.access(path, os.X_OK):
            return path
    if speaker == "external":
        for name in OTHER_SPEAKERS:
            path = which(name)
            if path:
                return path
    return None


def shared_subnets(vips, addr_json):
    """[{vip, interface, network}] for each VIP inside a connected (non-host) subnet, from `ip -j addr` output."""
    out = []
    for link in addr_json or []:
        for info in link.get("addr_info") or []:
            if info.get("scope") == "host" or info.get("local") is None or info.get("prefixlen") is None:
                continue
            try:
                network = ipaddress.ip_interface("%s/%s" % (info["local"], info["prefixlen"])).network
            except ValueError:
                continue
            if network.prefixlen == network.max_prefixlen:
                continue
            for vip in vips:
                if vip.version == network.version and vip in network:
                    out.append({"vip": str(vip), "interface": link.get("ifname"), "network": str(network)})
    return out


def routed_vips(instances):
    """The addresses of the VIPs of instances with `routed` (as in plugin_utils/routed_speaker.routed_vips)."""
    out = []
    for inst in instances:
        if inst.get("routed") is None:
            continue
        for item in list(inst.get("virtual_ipaddresses") or []) + list(inst.get("virtual_ipaddresses_excluded") or []):
            text = item.get("address") if isinstance(item, dict) else str(item).split()[0]
            ip = ipaddress.ip_interface(str(text).strip()).ip
            if ip not in out:
                out.append(ip)
    return out


def check(params, which, run_command, warn):
    """The module's work: (result, None) or (result, failure message). which(name, required=False) -> path or None
    (AnsibleModule.get_bin_path); run_command(argv) -> (rc, stdout, stderr); warn(text)."""
    try:
        vips = routed_vips(params["instances"])
        for text in params["vips"]:
            ip = ipaddress.ip_interface(text.strip()).ip
            if ip not in vips:
                vips.append(ip)
    except ValueError as exc:
        return {}, "instances: %s" % exc
    if not vips:
        return dict(changed=False, vips=[], speaker=None, shared=[]), None
    speaker = find_speaker(params["speaker"], which)
    if speaker is None:
        looked = list(FRR_BGPD) + (list(OTHER_SPEAKERS) if params["speaker"] == "external" else [])
        return {}, ("routed VIPs (%s) need a BGP speaker on this host to announce them, and none is installed "
                    "(looked for %s): install FRR (Debian: apt-get install frr) or, with vrrp_routed_speaker: external, "
                    "BIRD, GoBGP or ExaBGP" % (", ".join(str(v) for v in vips), ", ".join(looked)))
    ip = which("ip", required=True)  # AnsibleModule.get_bin_path fails the module itself when ip is missing
    rc, out, err = run_command([ip, "-j", "addr", "show"])
    if rc != 0:
        return {}, "ip -j addr show failed: %s" % err.strip()
    try:
        shared = shared_subnets(vips, json.loads(out or "[]"))
    except ValueError as exc:
        return {}, "cannot read ip -j addr show: %s" % exc
    for item in shared:
        warn("routed VIP %s lies in %s's subnet %s: hosts on that link will look for it there (ARP/ND) and find "
             "nobody; pick a VIP outside every connected subnet" % (item["vip"], item["interface"], item["network"]))
    return dict(changed=False, vips=[str(v) for v in vips], speaker=speaker, shared=shared), None
