# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vrrp_role_errors
short_description: Problems of the floating.vip.vrrp role's variables
version_added: 0.1.0
description:
  - "Checks a dictionary of the role's variables (C(vrrp_global), C(vrrp_scripts), C(vrrp_instances),
    C(vrrp_sync_groups), the path variables, C(vrrp_extra_capabilities)) and returns every problem as
    C(WHERE: reason); an empty list when there is none."
  - No string may contain control characters or line separators; names, interface names, users, e-mail
    addresses and host names must be in their alphabets; addresses must be IP addresses; script commands
    must split as keepalived splits them.
  - Messages never contain C(auth_pass), and other values only escaped.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The variables, by name.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad variables
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join('; ') }}"
  vars:
    errors: "{{ {'vrrp_instances': vrrp_instances} | floating.vip.vrrp_role_errors }}"
"""

RETURN = r"""
_value:
  description: "The problems found, C(WHERE: reason) each."
  type: list
  elements: str
"""

from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import role_errors


class FilterModule(object):
    def filters(self):
        return {"vrrp_role_errors": role_errors}
