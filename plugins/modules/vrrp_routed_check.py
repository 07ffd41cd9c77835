#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vrrp_routed_check
short_description: Check that a host can announce routed VIPs
version_added: 0.1.0
description:
  - Routed VIPs (vipd's C(vipd_routed) block) reach the network only through a BGP speaker on the same host,
    which redistributes the host routes vipd installs. This module fails with a clear message when no speaker
    is installed, and warns about each routed VIP that lies inside a subnet of one of the host's interfaces
    (neighbours on that link would ARP for it and nobody answers - a routed VIP belongs to no link).
  - The C(floating.vip.vrrp) role calls it before deploying an instance with C(routed).
  - Changes nothing, in check mode or not.
author:
  - floating.vip developers (@floating-vip)
options:
  instances:
    description:
      - The role's C(vrrp_instances); the VIPs (C(virtual_ipaddresses), C(virtual_ipaddresses_excluded)) of those
        with C(routed) are checked, strings C(A[/len] ...) or dicts with C(address).
    type: list
    elements: dict
    required: true
  vips:
    description: Static routed VIPs (M(floating.vip.vip_secondary) with a route) checked as well.
    type: list
    elements: str
    default: []
  speaker:
    description:
      - V(frr) needs FRR's bgpd; V(external) accepts any BGP speaker found (FRR, BIRD, GoBGP, ExaBGP).
    type: str
    choices: [frr, external]
    default: frr
extends_documentation_fragment:
  - floating.vip.read_only
seealso:
  - module: floating.vip.vrrp_instance
"""

EXAMPLES = r"""
- name: Refuse routed VIPs on a host without a BGP speaker
  floating.vip.vrrp_routed_check:
    instances:
      - name: VIP_R
        routed: {}
        virtual_ipaddresses: [203.0.113.200]
    speaker: frr
"""

RETURN = r"""
vips:
  description: The routed VIPs checked.
  returned: success
  type: list
  elements: str
  sample: [203.0.113.200]
speaker:
  description: The BGP speaker's program that was found.
  returned: success
  type: str
  sample: /usr/lib/frr/bgpd
shared:
  description: Routed VIPs inside a connected subnet (each also reported as a warning).
  returned: success
  type: list
  elements: dict
  sample: [{vip: 198.51.100.200, interface: eth0, network: 198.51.100.0/24}]
"""

import ipaddress
import json
import os

from ansible.module_utils.basic import AnsibleModule

FRR_BGPD = ("/usr/lib/frr/bgpd", "/usr/libexec/frr/bgpd", "/usr/sbin/bgpd")
OTHER_SPEAKERS = ("bird", "bird2", "gobgpd", "exabgp")


def find_speaker(module, speaker):
    for path in FRR_BGPD:
        if os.access(path, os.X_OK):
            return path
    if speaker == "external":
        for name in OTHER_SPEAKERS:
            path = module.get_bin_path(name)
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


def main():
    module = AnsibleModule(
        argument_spec=dict(instances=dict(type="list", elements="dict", required=True),
                           vips=dict(type="list", elements="str", default=[]),
                           speaker=dict(type="str", choices=["frr", "external"], default="frr")),
        supports_check_mode=True,
    )
    try:
        vips = routed_vips(module.params["instances"])
        for text in module.params["vips"]:
            ip = ipaddress.ip_interface(text.strip()).ip
            if ip not in vips:
                vips.append(ip)
    except ValueError as exc:
        module.fail_json(msg="instances: %s" % exc)
    if not vips:
        module.exit_json(changed=False, vips=[], speaker=None, shared=[])
    speaker = find_speaker(module, module.params["speaker"])
    if speaker is None:
        looked = list(FRR_BGPD) + (list(OTHER_SPEAKERS) if module.params["speaker"] == "external" else [])
        module.fail_json(msg="routed VIPs (%s) need a BGP speaker on this host to announce them, and none is installed "
                             "(looked for %s): install FRR (Debian: apt-get install frr) or, with vrrp_routed_speaker: external, "
                             "BIRD, GoBGP or ExaBGP" % (", ".join(str(v) for v in vips), ", ".join(looked)))
    ip = module.get_bin_path("ip", required=True)
    rc, out, err = module.run_command([ip, "-j", "addr", "show"])
    if rc != 0:
        module.fail_json(msg="ip -j addr show failed: %s" % err.strip())
    try:
        shared = shared_subnets(vips, json.loads(out or "[]"))
    except ValueError as exc:
        module.fail_json(msg="cannot read ip -j addr show: %s" % exc)
    for item in shared:
        module.warn("routed VIP %s lies in %s's subnet %s: hosts on that link will look for it there (ARP/ND) and find "
                    "nobody; pick a VIP outside every connected subnet" % (item["vip"], item["interface"], item["network"]))
    module.exit_json(changed=False, vips=[str(v) for v in vips], speaker=speaker, shared=shared)


if __name__ == "__main__":
    main()
