# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: keepalived_quote
short_description: A script command line quoted for a keepalived-syntax file
version_added: 0.1.0
description:
  - Returns the text to write after C(script) or C(notify_*) so that keepalived 2.2.7 and vipd read the command back
    exactly as given; its argv is the command split as keepalived splits it (words, C('...') and C("...") groups,
    backslash escapes).
  - Quoting and escaping are vipd's own (the engine's C(config_render.script_quote)).
  - Fails for control characters, line separators, an unterminated quote or an empty command.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The command line.
    type: str
    required: true
seealso:
  - plugin: floating.vip.keepalived_word
    plugin_type: filter
"""

EXAMPLES = r"""
- name: A notify line
  ansible.builtin.debug:
    msg: "notify_master {{ '/usr/local/bin/notify \"on master\"' | floating.vip.keepalived_quote }}"
"""

RETURN = r"""
_value:
  description: The command as keepalived-syntax text (bare, or double-quoted with backslash escapes).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import KeepalivedTextError, keepalived_quote


def _keepalived_quote(value):
    try:
        return keepalived_quote(value)
    except KeepalivedTextError as exc:
        raise AnsibleFilterError("floating.vip.keepalived_quote: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"keepalived_quote": _keepalived_quote}
