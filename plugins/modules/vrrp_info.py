#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vrrp_info
short_description: Live VRRP state of the local vipd
version_added: 0.1.0
description:
  - Asks the local vipd over its control socket for the state of every instance (state, priority,
    current master, VIPs held, counters).
  - When vipd is not running, returns RV(running=false) with a message instead of failing, so a play
    across a fleet can tell stopped nodes from failed tasks.
  - Changes nothing.
author:
  - floating.vip developers (@floating-vip)
options:
  control_socket:
    description: vipd's control socket (C(vipd run --control-socket)).
    type: path
    default: /run/vipd/vipd.sock
  timeout:
    description: Seconds to wait for the daemon's answer.
    type: float
    default: 5
extends_documentation_fragment:
  - floating.vip.read_only
seealso:
  - module: floating.vip.vrrp_instance
"""

EXAMPLES = r"""
- name: Read VRRP state
  floating.vip.vrrp_info:
  register: vrrp

- name: This host must be master of VRID 51
  ansible.builtin.assert:
    that: vrrp.instances | selectattr('vrid', 'equalto', 51) | map(attribute='state') | list == ['MASTER']
"""

RETURN = r"""
running:
  description: Whether vipd answered on the control socket.
  returned: always
  type: bool
msg:
  description: Why vipd is considered not running.
  returned: when RV(running=false)
  type: str
instances:
  description: One entry per configured instance.
  returned: always (empty when vipd is not running)
  type: list
  elements: dict
  contains:
    name: {description: Instance name., type: str}
    interface: {description: Interface., type: str}
    vrid: {description: Virtual router id., type: int}
    state: {description: "C(INIT), C(BACKUP), C(MASTER), C(FAULT) or C(STOPPED).", type: str}
    priority: {description: Configured priority., type: int}
    effective_priority: {description: Priority after tracking weights., type: int}
    master: {description: Address of the current master (this host's own address when it is master)., type: str}
    vips: {description: VIPs this host holds now., type: list, elements: str}
    counters: {description: "Adverts in/out, drops by reason, transitions.", type: dict}
    last_transition: {description: "The last transition (time, old, new, reason).", type: dict}
    conflicts:
      description:
        - "VRID conflicts: sources of adverts for this VRID whose VIPs, interval, version or authentication differ from
          this instance's configuration, seen in the last 5 minutes, most recent first."
        - "Each is a dict with C(source), C(differs) (a list of C(vips), C(interval), C(version), C(authentication)),
          C(count), C(first_seen) and C(last_seen)."
      type: list
      elements: dict
  sample: [{"name": "VI_1", "interface": "eth0", "vrid": 51, "state": "MASTER", "priority": 150,
            "effective_priority": 150, "master": "198.51.100.11", "vips": ["198.51.100.50/24"],
            "counters": {"adverts_in": 0, "adverts_out": 42, "drops": {}, "transitions": 2}}]
daemon:
  description: What the daemon says about itself (everything in its reply besides the instances).
  returned: when RV(running=true)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.floating.vip.plugins.module_utils import vrrp_status
from ansible_collections.floating.vip.plugins.module_utils.vrrp import paths


def main():
    module = AnsibleModule(
        argument_spec=dict(
            control_socket=dict(type="path", default=paths.CONTROL_SOCKET),
            timeout=dict(type="float", default=5),
        ),
        supports_check_mode=True,
    )
    result = vrrp_status.read_status(module.params["control_socket"], timeout=module.params["timeout"])
    if result.get("error"):
        module.fail_json(msg=result.pop("error"), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
