# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vrrp_group_peers
short_description: Fill the unicast peers of VRRP instances from an inventory group
version_added: 0.1.0
description:
  - For each instance with C(unicast_peers_from_group) (or with the role-wide O(default_group)), sets
    C(unicast_peers) to the address of every other member of that group, read from each member's host
    variables at the dotted path C(unicast_peer_address_var) (or O(default_var)). Explicit C(unicast_peers)
    stay first; duplicates are dropped.
  - Fails naming the instance, the group, the hosts and the variable when a member lacks the variable or
    its value is not an IP address of the instance's family.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The instances (the role's C(vrrp_instances)).
    type: list
    elements: dict
    required: true
  groups:
    description: The inventory's C(groups).
    type: dict
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  inventory_hostname:
    description: This host, left out of its own peers.
    type: str
    required: true
  default_group:
    description: Group for instances that do not name one; empty for none.
    type: str
    default: ""
  default_var:
    description: Address variable for instances that do not name one.
    type: str
    default: ansible_default_ipv4.address
"""

EXAMPLES = r"""
- name: Instances with their peers from the dbservers group
  ansible.builtin.debug:
    msg: "{{ vrrp_instances | floating.vip.vrrp_group_peers(groups, hostvars, inventory_hostname) }}"
  vars:
    vrrp_instances:
      - {name: VI_DB, unicast_peers_from_group: dbservers, unicast_peer_address_var: ansible_host}
"""

RETURN = r"""
_value:
  description: The instances, C(unicast_peers) filled, C(unicast_peers_from_group) and C(unicast_peer_address_var) removed.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.unicast_peers import PeerError, group_peers


def vrrp_group_peers(instances, groups, hostvars, inventory_hostname, default_group="", default_var="ansible_default_ipv4.address"):
    try:
        return group_peers(instances, groups, hostvars, inventory_hostname, default_group, default_var)
    except PeerError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"vrrp_group_peers": vrrp_group_peers}
