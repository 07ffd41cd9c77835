#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vrrp_instance
short_description: Manage one VRRP instance as a keepalived-syntax file for vipd or keepalived
version_added: 0.1.0
description:
  - Writes one C(vrrp_instance) block to C(CONF_DIR/NAME.conf), a directory the main vipd or keepalived
    configuration includes (the C(floating.vip.vrrp) role writes C(include /etc/vipd/conf.d/*.conf)).
  - The instance is built from structured options, validated with the same parser vipd uses (and with
    C(keepalived -t) for O(backend=keepalived) when keepalived is installed), and written only when valid.
    An invalid instance fails with every reason and leaves the host as it was.
  - Refuses an instance whose name, or whose VRID on the same interface and address family, is already
    used by another file the daemon reads (the other files of O(conf_dir) and the main configuration).
  - The file is written atomically (temp file and rename) with mode C(0600), since it may hold C(auth_pass).
author:
  - floating.vip developers (@floating-vip)
options:
  name:
    description:
      - Instance name (C(vrrp_instance NAME)); also the file name C(NAME.conf) in O(conf_dir).
      - 1-64 characters from letters, digits and C(_ . -), not starting with C(.) or C(-). The file must be
        a regular file directly inside O(conf_dir) (a symbolic link there is refused).
    type: str
    required: true
  state:
    description: Whether the instance file exists.
    type: str
    choices: [present, absent]
    default: present
  initial_state:
    description: keepalived's C(state) keyword, the state the instance starts in.
    type: str
    choices: [MASTER, BACKUP]
    default: BACKUP
  interface:
    description: Interface the instance runs on. Required with O(state=present).
    type: str
  virtual_router_id:
    description: VRID, 1 to 255. Required with O(state=present).
    type: int
    aliases: [vrid]
  priority:
    description: Priority, 1 to 255 (255 is the address owner).
    type: int
    default: 100
  advert_int:
    description: Advertisement interval in seconds (VRRPv3 allows fractions down to 0.01).
    type: float
    default: 1
  version:
    description: VRRP version for this instance; the global C(vrrp_version) (default 2) when omitted.
    type: int
    choices: [2, 3]
  preempt:
    description: C(false) writes C(nopreempt) (keepalived requires O(initial_state=BACKUP) for it to act).
    type: bool
    default: true
  preempt_delay:
    description: Seconds to wait before preempting a lower-priority master after start.
    type: float
  authentication:
    description: VRRPv2 authentication.
    type: dict
    suboptions:
      auth_type:
        description: C(PASS) (simple password) or C(AH).
        type: str
        choices: [PASS, AH]
        default: PASS
      auth_pass:
        description:
          - Password, 1-64 printable ASCII characters without spaces, quotes, backslash, C(#), C(!), C({), C(}) or C($).
          - keepalived uses the first 8 characters; a longer one is cut to 8 in the file, with a warning.
          - Never shown in results, diffs, warnings or errors.
        type: str
  unicast_src_ip:
    description: Source address for unicast adverts.
    type: str
  unicast_peers:
    description: Peers that receive unicast adverts instead of the multicast group.
    type: list
    elements: str
  virtual_ipaddresses:
    description:
      - The VIPs. Each item is either a string in keepalived's own syntax
        (C(198.51.100.50/24 dev eth0 label eth0:1)) or a dict with C(address) (C(A/len)) and optional
        C(dev), C(label), C(scope), C(brd).
    type: list
    elements: raw
    default: []
  virtual_ipaddresses_excluded:
    description: Addresses managed like VIPs but not carried in adverts; items as O(virtual_ipaddresses).
    type: list
    elements: raw
    default: []
  track_interfaces:
    description: Interfaces whose failure moves the instance to FAULT (or lowers its priority by C(weight)).
      Items are C(IFNAME), C(IFNAME weight N) or a dict C(interface)/C(weight).
    type: list
    elements: raw
    default: []
  track_scripts:
    description: C(vrrp_script) names (defined in the main configuration) tracked by this instance.
      Items are C(NAME), C(NAME weight N) or a dict C(name)/C(weight).
    type: list
    elements: raw
    default: []
  notify_master:
    description:
      - Command run on becoming MASTER, split as keepalived splits it (quotes group words, a backslash
        escapes the next character); the value is written so that keepalived reads back exactly this text.
      - No control characters or line separators, not even as backslash escapes.
    type: str
  notify_backup:
    description: Command run on becoming BACKUP.
    type: str
  notify_fault:
    description: Command run on entering FAULT.
    type: str
  notify_stop:
    description: Command run when the instance stops.
    type: str
  notify:
    description: Command run on every transition with keepalived's arguments (C(INSTANCE name STATE priority)).
    type: str
  smtp_alert:
    description: Send an e-mail on transitions (global C(smtp_server) needed).
    type: bool
  garp_master_delay:
    description: Seconds after becoming MASTER before the second burst of gratuitous ARPs.
    type: int
  garp_master_repeat:
    description: Gratuitous ARPs per burst.
    type: int
  garp_master_refresh:
    description: Seconds between periodic gratuitous ARP refreshes while MASTER (0 = off).
    type: int
  garp_master_refresh_repeat:
    description: Gratuitous ARPs per refresh.
    type: int
  garp_interval:
    description: Seconds between gratuitous ARPs of a burst.
    type: float
  backend:
    description: Which daemon reads the file; sets the defaults of O(conf_dir), O(main_config) and O(pidfile).
    type: str
    choices: [vipd, keepalived]
    default: vipd
  conf_dir:
    description: Directory of instance files; C(/etc/vipd/conf.d) for vipd, C(/etc/keepalived/conf.d) for keepalived.
    type: path
  main_config:
    description:
      - Main configuration, loaded (with its includes) for the cross-file checks and, for keepalived,
        for C(keepalived -t). C(/etc/vipd/vipd.conf) or C(/etc/keepalived/keepalived.conf).
    type: path
  validate_keepalived:
    description: With O(backend=keepalived), also run C(keepalived -t) when keepalived is installed.
    type: bool
    default: true
  reload:
    description:
      - Reload the running daemon when the file changed. vipd is asked over its control socket (a refused
        configuration restores the previous file and fails); otherwise SIGHUP goes to the PID in O(pidfile),
        once C(/proc/PID/cmdline) shows that PID is vipd (or keepalived for O(backend=keepalived)).
      - Nothing is done when the daemon is not running; a pidfile naming another process (a stale pidfile)
        is not signalled, and a warning says so.
      - Errors of the daemon about files other than the instance file are reported as C(FILE:LINE) only.
    type: bool
    default: false
  control_socket:
    description: vipd's control socket.
    type: path
    default: /run/vipd/vipd.sock
  pidfile:
    description: PID file of the daemon for SIGHUP; C(/run/vipd/vipd.pid) or C(/run/keepalived.pid).
    type: path
extends_documentation_fragment: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Validates, plans and diffs exactly as a real run; writes and reloads nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the instance file before and after, C(auth_pass) masked.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Diffs and returned content show C(auth_pass) as C(********).
seealso:
  - module: floating.vip.vrrp_info
"""

EXAMPLES = r"""
- name: A VRRP instance for the database VIP
  floating.vip.vrrp_instance:
    name: VI_DB
    interface: eth0
    virtual_router_id: 51
    priority: 150
    initial_state: MASTER
    authentication:
      auth_pass: "{{ vault_vrrp_pass }}"
    virtual_ipaddresses:
      - 198.51.100.50/24 dev eth0 label eth0:1
      - address: 2001:db8::50/64
        dev: eth0
    track_scripts:
      - name: chk_mysql
        weight: -20
    notify_master: /usr/local/bin/db-promote
    reload: true

- name: The same instance for a keepalived host
  floating.vip.vrrp_instance:
    name: VI_DB
    backend: keepalived
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [198.51.100.50/24]

- name: Remove it
  floating.vip.vrrp_instance:
    name: VI_DB
    state: absent
    reload: true
"""

RETURN = r"""
path:
  description: The instance file.
  returned: always
  type: str
  sample: /etc/vipd/conf.d/VI_DB.conf
content:
  description: The file content as written (or to be written), C(auth_pass) masked. Empty for O(state=absent).
  returned: always
  type: str
instance:
  description: The instance as the parser read it (C(auth_pass) left out).
  returned: when O(state=present)
  type: dict
  sample: {"name": "VI_DB", "interface": "eth0", "vrid": 51, "priority": 150, "vips": [{"cidr": "198.51.100.50/24"}]}
parser_warnings:
  description: Warnings of the parser and the cross-file check (also emitted as task warnings).
  returned: always
  type: list
  elements: str
reloaded:
  description: Whether the daemon was reloaded.
  returned: always
  type: bool
reload_detail:
  description: How the daemon was reloaded, or why it was not.
  returned: when O(reload=true) and the file changed
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.floating.vip.plugins.module_utils.vrrp import paths
from ansible_collections.floating.vip.plugins.module_utils.vrrp_instance_task import execute

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    initial_state=dict(type="str", choices=["MASTER", "BACKUP"], default="BACKUP"),
    interface=dict(type="str"),
    virtual_router_id=dict(type="int", aliases=["vrid"]),
    priority=dict(type="int", default=100),
    advert_int=dict(type="float", default=1),
    version=dict(type="int", choices=[2, 3]),
    preempt=dict(type="bool", default=True),
    preempt_delay=dict(type="float"),
    authentication=dict(type="dict", options=dict(
        auth_type=dict(type="str", choices=["PASS", "AH"], default="PASS"),
        auth_pass=dict(type="str", no_log=True),
    )),
    unicast_src_ip=dict(type="str"),
    unicast_peers=dict(type="list", elements="str"),
    virtual_ipaddresses=dict(type="list", elements="raw", default=[]),
    virtual_ipaddresses_excluded=dict(type="list", elements="raw", default=[]),
    track_interfaces=dict(type="list", elements="raw", default=[]),
    track_scripts=dict(type="list", elements="raw", default=[]),
    notify_master=dict(type="str"),
    notify_backup=dict(type="str"),
    notify_fault=dict(type="str"),
    notify_stop=dict(type="str"),
    notify=dict(type="str"),
    smtp_alert=dict(type="bool"),
    garp_master_delay=dict(type="int"),
    garp_master_repeat=dict(type="int"),
    garp_master_refresh=dict(type="int"),
    garp_master_refresh_repeat=dict(type="int"),
    garp_interval=dict(type="float"),
    backend=dict(type="str", choices=["vipd", "keepalived"], default="vipd"),
    conf_dir=dict(type="path"),
    main_config=dict(type="path"),
    validate_keepalived=dict(type="bool", default=True),
    reload=dict(type="bool", default=False),
    control_socket=dict(type="path", default=paths.CONTROL_SOCKET),
    pidfile=dict(type="path"),
)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ("interface", "virtual_router_id"))],
        supports_check_mode=True,
    )
    result, msg = execute(module.params, module.check_mode, module._diff, module.warn)
    if msg is not None:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
