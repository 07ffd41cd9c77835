# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's version: the collection's (galaxy.yml), which the deployed engine does not carry (a unit test keeps them equal)."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

VERSION = "0.1.0"
