#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vrrp_deployed
short_description: Compare what a host really runs with what is expected, in one call
version_added: 0.1.0
description:
  - Reads the content (sha256), mode, owner and group of files and directories, whether a daemon behind a
    pidfile is alive (a zombie counts as dead), and systemd's view of services, then compares all of it
    with the expected values given.
  - The C(floating.vip.vrrp) role calls it first so that an idempotent re-run costs one remote call.
    When RV(matches) is true every deploy task is skipped; otherwise the role runs its full deploy path.
  - Changes nothing, in check mode or not.
author:
  - floating.vip developers (@floating-vip)
options:
  files:
    description: Regular files that must exist with this content and these attributes, or be absent.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Path on the host., type: path, required: true}
      sha256:
        description: Expected sha256 of the content (hex). Omitted, the content is not compared.
        type: str
      absent: {description: The file must not exist., type: bool, default: false}
      mode: {description: Expected permission bits in octal (for example V(0644))., type: str}
      owner: {description: Expected owner name., type: str}
      group: {description: Expected group name., type: str}
  directories:
    description: Directories that must exist with these attributes.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Path on the host., type: path, required: true}
      mode: {description: Expected permission bits in octal., type: str}
      owner: {description: Expected owner name., type: str}
      group: {description: Expected group name., type: str}
  pidfile:
    description: A daemon that must run, found by the PID in this file (alive and not a zombie).
    type: path
  services:
    description: systemd services and the state they must be in (C(systemctl show)).
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: Unit name without C(.service)., type: str, required: true}
      active: {description: "Must be active (V(true)) or stopped (V(false)); not compared when omitted.", type: bool}
      enabled: {description: "Must be enabled (V(true)) or not (V(false)); not compared when omitted.", type: bool}
extends_documentation_fragment:
  - floating.vip.read_only
seealso:
  - module: floating.vip.vrrp_info
"""

EXAMPLES = r"""
- name: Is the configuration as templated, and does vipd run?
  floating.vip.vrrp_deployed:
    files:
      - path: /etc/vipd/vipd.conf
        sha256: "{{ lookup('ansible.builtin.template', 'vrrp.conf.j2') | hash('sha256') }}"
        mode: "0600"
        owner: root
        group: root
      - path: /etc/sysctl.d/90-floating-vip.conf
        absent: true
    services:
      - {name: vipd, active: true, enabled: true}
      - {name: keepalived, active: false, enabled: false}
  register: deployed

- name: Full deployment only when something differs
  ansible.builtin.include_tasks: deploy.yml
  when: not deployed.matches
"""

RETURN = r"""
matches:
  description: Everything is as expected.
  returned: always
  type: bool
  sample: true
drift:
  description: One line per difference found (empty when RV(matches) is true).
  returned: always
  type: list
  elements: str
  sample: ["/etc/vipd/vipd.conf: content differs", "/run/vipd/vipd.pid: no live process"]
files:
  description: What was found for each file, by path (exists, type, mode, owner, group, sha256).
  returned: always
  type: dict
directories:
  description: What was found for each directory, by path (exists, type, mode, owner, group).
  returned: always
  type: dict
daemon:
  description: The pidfile, the PID in it and whether that process runs.
  returned: when O(pidfile) is given
  type: dict
  sample: {"pidfile": "/run/vipd/vipd.pid", "pid": 4242, "running": true}
services:
  description: systemd's LoadState, ActiveState and UnitFileState of each service, by name.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.floating.vip.plugins.module_utils import deployed_state


def main():
    attrs = dict(mode=dict(type="str"), owner=dict(type="str"), group=dict(type="str"))
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True), sha256=dict(type="str"),
                absent=dict(type="bool", default=False), **attrs)),
            directories=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True), **attrs)),
            pidfile=dict(type="path"),
            services=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True), active=dict(type="bool"), enabled=dict(type="bool"))),
        ),
        supports_check_mode=True,
    )

    def run_command(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C", "SYSTEMD_PAGER": ""})

    result, msg = deployed_state.run(module.params, run_command, lambda: bool(module.get_bin_path("systemctl")))
    if msg is not None:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
