# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vrrp_routed_errors
short_description: Problems of the floating.vip.vrrp role's routed-VIP (BGP speaker) variables
version_added: 0.1.0
description:
  - Checks the C(vrrp_routed_*) variables (speaker, ASN, router id, neighbours, BGP timers, BFD) and returns every
    problem as C(VARIABLE - reason); an empty list when there is none.
  - With C(vrrp_routed_speaker=external) only the speaker's name is checked (another role configures it).
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The variables, by name.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad speaker variables
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join('; ') }}"
  vars:
    errors: "{{ {'vrrp_routed_speaker': 'frr', 'vrrp_routed_bgp_asn': 65001} | floating.vip.vrrp_routed_errors }}"
"""

RETURN = r"""
_value:
  description: "The problems found, C(VARIABLE: reason) each."
  type: list
  elements: str
"""

from ansible_collections.floating.vip.plugins.plugin_utils.routed_speaker import speaker_errors


class FilterModule(object):
    def filters(self):
        return {"vrrp_routed_errors": speaker_errors}
