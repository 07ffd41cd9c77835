# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: keepalived_line
short_description: A value as one raw line of a keepalived-syntax file
version_added: 0.1.0
description:
  - Returns the string as it is when it is one line - no control characters (tabs included) and no line
    separators - so that it can be written as one raw line of a configuration (the vrrp role's escape hatch).
  - What the line says is not checked here; the role checks that the braces of a list of raw lines balance, and
    C(vipd check) or C(keepalived -t) check the whole file. The message never contains the value.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The line.
    type: str
    required: true
seealso:
  - plugin: floating.vip.keepalived_word
    plugin_type: filter
"""

EXAMPLES = r"""
- name: A raw configuration line
  ansible.builtin.debug:
    msg: "{{ 'vrrp_garp_master_refresh 60' | floating.vip.keepalived_line }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import KeepalivedTextError, keepalived_line


def _keepalived_line(value):
    try:
        return keepalived_line(value)
    except KeepalivedTextError as exc:
        raise AnsibleFilterError("floating.vip.keepalived_line: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"keepalived_line": _keepalived_line}
