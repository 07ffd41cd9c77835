#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vrrp_maintenance
short_description: Put a vipd host in or out of maintenance (hand over the VIPs and stay BACKUP)
version_added: 0.1.0
description:
  - Asks the local vipd over its control socket to put instances in maintenance (C(vipd maintenance on)) or
    to take them out (C(vipd maintenance off)).
  - In maintenance a master hands over make-before-break, as on a planned stop (a priority-0 advert; its
    VIPs stay until the new master's first advert), and then stays BACKUP. The host never takes over while
    in maintenance, not even when no other router is alive; a warning says so when nobody took over.
  - Maintenance is kept by vipd under its state directory (C(vipd run --state-dir), C(/var/lib/vipd) by
    default), so it outlives reloads, restarts and reboots until it is turned off.
  - Changed only when the set of instances in maintenance changes; check mode predicts it from the live state.
author:
  - floating.vip developers (@floating-vip)
options:
  state:
    description:
      - V(enabled) puts the instances in maintenance, V(disabled) takes them out (they then preempt as configured).
    type: str
    required: true
    choices: [enabled, disabled]
  instances:
    description:
      - Instance names. Empty (the default) means every instance of the host, also ones a later reload adds.
    type: list
    elements: str
    default: []
  control_socket:
    description: vipd's control socket (C(vipd run --control-socket)).
    type: path
    default: /run/vipd/vipd.sock
  wait:
    description:
      - With V(enabled), wait until none of the instances is MASTER (the handover is done); with V(disabled),
        until each one runs again (BACKUP, MASTER or FAULT).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the daemon and for the handover.
    type: float
    default: 30
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The instances in maintenance before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
seealso:
  - module: floating.vip.vrrp_info
"""

EXAMPLES = r"""
- name: Drain this host (the VIPs move to a peer without a lost packet)
  floating.vip.vrrp_maintenance:
    state: enabled

- name: Maintenance for one instance only
  floating.vip.vrrp_maintenance:
    state: enabled
    instances: [VI_DB]
    control_socket: /run/vipd/vipd.sock

- name: Back in service
  floating.vip.vrrp_maintenance:
    state: disabled
"""

RETURN = r"""
maintenance:
  description: The instances in maintenance after the task (in check mode, the ones that would be).
  returned: success
  type: list
  elements: str
  sample: [VI_1]
instances:
  description:
    - Per instance, its state, whether it is in maintenance, the current master's address, and C(handed_over)
      (BACKUP with another router as master).
  returned: success
  type: dict
  sample: {"VI_1": {"state": "BACKUP", "maintenance": true, "master": "198.51.100.12", "handed_over": true}}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.floating.vip.plugins.module_utils import vrrp_maintenance
from ansible_collections.floating.vip.plugins.module_utils.vrrp import paths


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", required=True, choices=["enabled", "disabled"]),
            instances=dict(type="list", elements="str", default=[]),
            control_socket=dict(type="path", default=paths.CONTROL_SOCKET),
            wait=dict(type="bool", default=True),
            timeout=dict(type="float", default=30),
        ),
        supports_check_mode=True,
    )
    result, msg = vrrp_maintenance.execute(module.params, module.check_mode, module._diff, module.warn)
    if msg is not None:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
