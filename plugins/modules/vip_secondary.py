#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: vip_secondary
short_description: Manage a secondary IPv4 or IPv6 address (no label) with optional persistence
version_added: 0.1.0
description:
  - Does what C(ip addr add 198.51.100.20/24 dev eth0) does, idempotently, over netlink (pyroute2);
    it never runs C(ip).
  - If the address is already on the interface with another prefix (or, for IPv4, a label or
    another broadcast), it is changed.
  - O(state=absent) removes the address from the interface and from the persistence back ends
    listed in O(persist), and leaves every other address alone.
  - IPv6 addresses are added without duplicate address detection (like keepalived) so they are
    usable, and announced, at once.
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
    description: Interface, for example C(eth0).
    type: str
    required: true
  address:
    description:
      - IPv4 or IPv6 address with its prefix (C(A.B.C.D/len), C(2001:db8::10/64)), or a bare
        address with O(netmask).
    type: str
    required: true
  netmask:
    description: Netmask or prefix length when O(address) has none (IPv6 takes a prefix length only).
    type: str
  broadcast:
    description: IPv4 broadcast address. Default is the subnet's broadcast address (none for /31 and /32).
    type: str
  state:
    description:
      - Whether the address should exist, C(present) or C(absent).
      - The module checks the value itself (no C(choices) in the argument spec) so that its error message
        never echoes a control character from the input.
    type: str
    default: present
  persist:
    description:
      - Where to make the address survive a reboot. An empty list changes the runtime only.
      - Each item is one of C(rc_local), C(ifcfg), C(ifupdown), C(networkd) (checked by the module).
      - C(rc_local) keeps one managed block per address in O(rc_local_path).
      - C(ifcfg) adds C(IPADDRn)/C(PREFIXn) (IPv4) or C(IPV6ADDR_SECONDARIES) (IPv6) to the
        interface's own C(ifcfg-<interface>) file in O(ifcfg_dir), which must exist.
      - C(ifupdown) writes an C(iface <interface> inet static) stanza file in O(interfaces_d_dir).
      - C(networkd) writes an C(Address=) drop-in for the interface's C(.network) file.
    type: list
    elements: str
    default: []
  announce:
    description:
      - Rounds of announcements after the address is added or changed. IPv4 sends a gratuitous ARP
        request and reply per round, IPv6 an unsolicited neighbour advertisement. C(0) disables; at most C(100).
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
  rc_local_path:
    description: The rc.local file. Created with C(#!/bin/sh) and mode 0755 when missing.
    type: path
    default: /etc/rc.local
  ifcfg_dir:
    description: Directory of the ifcfg files.
    type: path
    default: /etc/sysconfig/network-scripts
  interfaces_d_dir:
    description: ifupdown's C(interfaces.d) directory (read by C(source) in C(/etc/network/interfaces)).
    type: path
    default: /etc/network/interfaces.d
  networkd_dir:
    description: Directory searched for the interface's C(.network) file.
    type: path
    default: /etc/systemd/network
  networkd_file:
    description:
      - The C(.network) file to extend, a name inside O(networkd_dir) or an absolute path.
      - Default is the first C(*.network) file in O(networkd_dir), in lexical order, whose
        C([Match]) C(Name=) matches O(interface).
    type: str
  route:
    description:
      - A static routed VIP - besides the address (on O(interface), typically C(lo)), a host route for the host's BGP
        speaker to redistribute, C(VIP/32 dev IF proto PROTOCOL scope host) (scope link on another interface), as vipd's
        routed instances install it (see C(docs/routed-vips.md)). Persisted with the address by every O(persist) back
        end (rc.local line, ifupdown C(up)/C(down), networkd C([Route]), initscripts C(route-IF)); removed with it.
      - The address must be a host address (/32, /128). No announcement (GARP/NA) is sent for a routed VIP.
      - FRR's zebra sees the address as a connected /32 and the kernel route behind it; its C(redistribute connected)
        with a prefix-list of the VIP announces it (BIRD can match the route's protocol, C(krt_source)).
    type: dict
    suboptions:
      protocol:
        description: rtnetlink protocol of the route; the numbers of routing daemons (0-3, 11, 12, 18, 186-198) are refused.
        type: int
        default: 201
      metric:
        description: Route metric.
        type: int
seealso:
  - module: floating.vip.vip_alias
notes:
  - The rc.local line is C(ip addr add A/len brd B dev IF || true) (C(ip -6 addr add A/len dev IF || true) for IPv6).
"""

EXAMPLES = r"""
- name: A static routed VIP on loopback, announced by the host's BGP speaker
  floating.vip.vip_secondary:
    interface: lo
    address: 203.0.113.210/32
    route:
      protocol: 201
    persist: [networkd]

- name: Equivalent of "ip addr add 198.51.100.20/24 dev eth0", kept by ifupdown
  floating.vip.vip_secondary:
    interface: eth0
    address: 198.51.100.20/24
    persist: [ifupdown]

- name: An IPv6 secondary kept by systemd-networkd
  floating.vip.vip_secondary:
    interface: eth0
    address: 2001:db8::20/64
    persist: [networkd]
    networkd_file: 10-eth0.network

- name: Remove it
  floating.vip.vip_secondary:
    interface: eth0
    address: 2001:db8::20/64
    state: absent
    persist: [networkd]
"""

RETURN = r"""
route:
  description: The host route of a routed VIP (O(route)), as an C(ip route add) command; null without O(route).
  returned: always
  type: str
  sample: ip route add 203.0.113.210/32 dev lo proto 201 scope host
route_action:
  description: What was (or, in check mode, would be) done to the route - C(add), C(remove) or C(none).
  returned: always
  type: str
  sample: add
interface:
  description: The interface.
  returned: always
  type: str
  sample: eth0
address:
  description: The address managed, normalised to C(A/len).
  returned: always
  type: str
  sample: 198.51.100.20/24
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
  sample: [198.51.100.1/24, 198.51.100.20/24]
files:
  description: Persistence files written or removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/network/interfaces.d/floating-vip-eth0-198_51_100_20]
backups:
  description: Backup copies made because of O(backup).
  returned: always
  type: list
  elements: str
  sample: []
announced:
  description: Gratuitous ARP or neighbour advertisement frames sent (0 in check mode).
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
            address=dict(type="str", required=True),
            netmask=dict(type="str"),
            broadcast=dict(type="str"),
            state=dict(type="str", default="present"),  # checked by static_vip (safe error messages)
            persist=dict(type="list", elements="str", default=[]),
            announce=dict(type="int", default=3),
            backup=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            rc_local_path=dict(type="path", default="/etc/rc.local"),
            ifcfg_dir=dict(type="path", default="/etc/sysconfig/network-scripts"),
            interfaces_d_dir=dict(type="path", default="/etc/network/interfaces.d"),
            networkd_dir=dict(type="path", default="/etc/systemd/network"),
            networkd_file=dict(type="str"),
            route=dict(type="dict", options=dict(protocol=dict(type="int", default=201), metric=dict(type="int"))),
        ),
        supports_check_mode=True,
    )
    run_module(module, "secondary")


if __name__ == "__main__":
    main()
