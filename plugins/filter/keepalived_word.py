# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: keepalived_word
short_description: A value as one token of a keepalived-syntax file
version_added: 0.1.0
description:
  - Returns the value (a string or a number) as it is when keepalived and vipd read it as exactly one token.
  - Fails for anything else (white space, quotes, backslash, C(#), C(!), braces, C($), control characters,
    line separators, an empty string), so a template can never write more or less than the one token it meant.
    The message never contains the value (it may be a password).
  - Script command lines use P(floating.vip.keepalived_quote#filter) instead.
author:
  - floating.vip developers (@floating-vip)
options:
  _input:
    description: The value.
    type: raw
    required: true
seealso:
  - plugin: floating.vip.keepalived_quote
    plugin_type: filter
"""

EXAMPLES = r"""
- name: An interface line
  ansible.builtin.debug:
    msg: "interface {{ 'eth0' | floating.vip.keepalived_word }}"
"""

RETURN = r"""
_value:
  description: The value as text.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import KeepalivedTextError, keepalived_word


def _keepalived_word(value):
    try:
        return keepalived_word(value)
    except KeepalivedTextError as exc:
        raise AnsibleFilterError("floating.vip.keepalived_word: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"keepalived_word": _keepalived_word}
