# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vrrp_script_files
short_description: The floating.vip.vrrp role's script files as source and file name
version_added: 0.1.0
description:
  - Turns the role's C(vrrp_script_files) (source paths, or dictionaries with C(src) and an optional C(name)) into
    a list of dictionaries C({src, name}), C(name) being the file name in the script directory (the source's
    base name unless given).
  - With O(directory), each also gets C(path). With O(contents) too (the files' texts in order, as the
    C(ansible.builtin.file) lookup returns them), the result is what M(floating.vip.vrrp_deployed) expects of
    each file instead - C({path, sha256, mode, owner, group}), root-owned and C(0755).
  - The role validated the list before (P(floating.vip.vrrp_role_errors#filter)); anything else fails.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The role's C(vrrp_script_files).
    type: list
    elements: raw
    required: true
  directory:
    description: The script directory.
    type: str
  contents:
    description: The files' contents, in the order of the input.
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: The files the role ships
  ansible.builtin.debug:
    msg: "{{ ['files/check_web.sh', {'src': 'files/db.sh', 'name': 'check_db'}] | floating.vip.vrrp_script_files }}"
"""

RETURN = r"""
_value:
  description: "C({src, name}) per file."
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import script_file_items


def _vrrp_script_files(value, directory=None, contents=None):
    try:
        return script_file_items(value, directory, contents)
    except ValueError as exc:
        raise AnsibleFilterError("floating.vip.vrrp_script_files: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"vrrp_script_files": _vrrp_script_files}
