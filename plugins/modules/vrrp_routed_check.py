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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.floating.vip.plugins.module_utils import routed_check


def main():
    module = AnsibleModule(
        argument_spec=dict(instances=dict(type="list", elements="dict", required=True),
                           vips=dict(type="list", elements="str", default=[]),
                           speaker=dict(type="str", choices=["frr", "external"], default="frr")),
        supports_check_mode=True,
    )
    result, msg = routed_check.check(module.params, module.get_bin_path, module.run_command, module.warn)
    if msg is not None:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
