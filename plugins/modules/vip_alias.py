#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: vip_alias
short_description: Manage a labelled IPv4 alias address (eth0:0) with optional persistence
version_added: 0.1.0
description:
  - Does what C(ifconfig eth0:0 198.51.100.7 netmask 255.255.255.0 up) does, idempotently, over netlink
    (pyroute2); it never runs C(ip) or C(ifconfig).
  - If the address is already on the interface with another prefix, label or broadcast, it is changed.
  - O(state=absent) removes the address from the interface and from the persistence back ends
    listed in O(persist), and leaves every other address alone.
  - Persistence files are validated and computed first, written atomically (temporary file and
    rename), and restored if the runtime change then fails.
  - Every value is checked by type before anything is written (interface name, address without a zone
    index, label, broadcast, gateway); a value with a control character or line separator is refused.
    Each word of the rc.local line is shell-quoted.
  - A persistence file that is a symbolic link is followed only to a file of the same name below the
    link's own directory (RHEL's C(/etc/rc.local -> rc.d/rc.local) is written through, the link kept);
    other links, FIFOs and devices are refused.
  - See C(docs/static-vips.md) in the collection for exactly what each back end writes.
author:
  - floating.vip developers (@floating-vip)
requirements:
  - pyroute2 on the managed host
  - root (CAP_NET_ADMIN, and CAP_NET_RAW to announce)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Predicts exactly the C(changed), files and address set of a real run; sends nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the interface's address set and every changed file, before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  interface:
    description: Parent interface, for example C(eth0).
    type: str
    required: true
  label:
    description:
      - The alias label, either in full (C(eth0:0)) or as an index (C(0) becomes C(<interface>:0)).
      - Must start with O(interface) followed by C(:), at most 15 characters.
      - Required with O(state=present). With O(state=absent) it selects the C(ifcfg-<label>) file to
        remove; without it, every C(ifcfg-<interface>:*) file holding O(address) is removed.
    type: str
  address:
    description:
      - IPv4 address with its prefix, C(A.B.C.D/len) or C(A.B.C.D/netmask), or a bare address with O(netmask).
    type: str
    required: true
  netmask:
    description: Netmask (C(255.255.255.0)) or prefix length (C(24)) when O(address) has none.
    type: str
  broadcast:
    description: Broadcast address. Default is the subnet's broadcast address (none for /31 and /32).
    type: str
  state:
    description:
      - Whether the alias should exist, C(present) or C(absent).
      - The module checks the value itself (no C(choices) in the argument spec) so that its error message
        never echoes a control character from the input.
    type: str
    default: present
  persist:
    description:
      - Where to make the alias survive a reboot. An empty list changes the runtime only.
      - Each item is one of C(rc_local), C(ifcfg) (checked by the module).
      - C(rc_local) keeps one managed block per address in O(rc_local_path).
      - C(ifcfg) writes C(ifcfg-<label>) in O(ifcfg_dir) as initscripts reads it.
    type: list
    elements: str
    default: []
  announce:
    description:
      - Rounds of gratuitous ARP sent after the address is added or changed; each round sends a
        request and a reply (as C(arping -U) and C(arping -A)). C(0) disables; at most C(100).
    type: int
    default: 3
  backup:
    description: Keep a timestamped copy of every file changed.
    type: bool
    default: false
  force:
    description: Add the address even when another interface already holds it (that one is left as it is).
    type: bool
    default: false
  gateway:
    description: C(GATEWAY) written to the ifcfg file; an IPv4 address (checked even when O(persist) has no C(ifcfg)).
    type: str
  hwaddr:
    description: Copy the parent interface's MAC address into the ifcfg file as C(HWADDR).
    type: bool
    default: false
  rc_local_path:
    description: The rc.local file. Created with C(#!/bin/sh) and mode 0755 when missing.
    type: path
    default: /etc/rc.local
  ifcfg_dir:
    description: Directory of the ifcfg files. It must exist.
    type: path
    default: /etc/sysconfig/network-scripts
seealso:
  - module: floating.vip.vip_secondary
notes:
  - Aliases are an IPv4 concept; use M(floating.vip.vip_secondary) for IPv6.
  - The rc.local line is C(ip addr add A/len brd B dev IF label IF:N || true).
"""

EXAMPLES = r"""
- name: Equivalent of "ifconfig eth0:0 198.51.100.10 netmask 255.255.255.0 up", kept across reboots
  floating.vip.vip_alias:
    interface: eth0
    label: 0
    address: 198.51.100.10
    netmask: 255.255.255.0
    persist: [rc_local, ifcfg]
    backup: true

- name: Remove it again, runtime and both files
  floating.vip.vip_alias:
    interface: eth0
    label: eth0:0
    address: 198.51.100.10/24
    state: absent
    persist: [rc_local, ifcfg]
"""

RETURN = r"""
interface:
  description: The parent interface.
  returned: always
  type: str
  sample: eth0
address:
  description: The address managed, normalised to C(A/len).
  returned: always
  type: str
  sample: 198.51.100.10/24
label:
  description: The full label.
  returned: always
  type: str
  sample: eth0:0
action:
  description: What the runtime change was, C(add), C(change), C(remove) or C(none).
  returned: always
  type: str
  sample: add
addresses_before:
  description: The interface's addresses (C(A/len)) before the task.
  returned: always
  type: list
  elements: str
  sample: [198.51.100.1/24]
addresses_after:
  description: The interface's addresses after the task (predicted in check mode).
  returned: always
  type: list
  elements: str
  sample: [198.51.100.1/24, 198.51.100.10/24]
files:
  description: Persistence files written or removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/rc.local, /etc/sysconfig/network-scripts/ifcfg-eth0:0]
backups:
  description: Backup copies made because of O(backup).
  returned: always
  type: list
  elements: str
  sample: ["/etc/rc.local.2024-01-01@10:00:00~"]
announced:
  description: Gratuitous ARP frames sent (0 in check mode).
  returned: always
  type: int
  sample: 6
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.floating.vip.plugins.module_utils.static_vip import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interface=dict(type="str", required=True),
            label=dict(type="str"),
            address=dict(type="str", required=True),
            netmask=dict(type="str"),
            broadcast=dict(type="str"),
            state=dict(type="str", default="present"),  # checked by static_vip (safe error messages)
            persist=dict(type="list", elements="str", default=[]),
            announce=dict(type="int", default=3),
            backup=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            gateway=dict(type="str"),
            hwaddr=dict(type="bool", default=False),
            rc_local_path=dict(type="path", default="/etc/rc.local"),
            ifcfg_dir=dict(type="path", default="/etc/sysconfig/network-scripts"),
        ),
        required_if=[("state", "present", ("label",))],
        supports_check_mode=True,
    )
    run_module(module, "alias")


if __name__ == "__main__":
    main()
