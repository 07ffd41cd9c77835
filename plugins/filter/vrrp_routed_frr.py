# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vrrp_routed_frr
short_description: The FRR configuration block that announces routed VIPs
version_added: 0.1.0
description:
  - "From the role's variables (C(vrrp_instances) with C(routed), C(vrrp_routed_bgp_*), C(vrrp_routed_bfd*)) builds the
    frr.conf block: a prefix-list of exactly the routed VIPs, a route-map over it, C(redistribute kernel route-map),
    eBGP neighbours with the given timers and C(advertisement-interval 0), and an optional BFD profile."
  - Fails when the variables have a problem (see P(floating.vip.vrrp_routed_errors#filter)).
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The variables, by name.
    type: dict
    required: true
seealso:
  - plugin: floating.vip.vrrp_routed_errors
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the block
  ansible.builtin.debug:
    msg: "{{ {'vrrp_instances': vrrp_instances, 'vrrp_routed_bgp_asn': 65001,
              'vrrp_routed_bgp_neighbors': [{'address': '198.51.100.1', 'remote_as': 65000}]} | floating.vip.vrrp_routed_frr }}"
"""

RETURN = r"""
_value:
  description: frr.conf lines, newline-terminated.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.routed_speaker import frr_config


def _frr(variables):
    try:
        return frr_config(variables)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("floating.vip.vrrp_routed_frr: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"vrrp_routed_frr": _frr}
