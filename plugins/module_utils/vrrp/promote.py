# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""promote_secondaries as keepalived 2.2.7 (vrrp_if_config.c set/reset_promote_secondaries()).

An instance with `promote_secondaries` sets net.ipv4.conf.IF.promote_secondaries=1 on its interface when it
was 0 (so removing a VIP that is the primary address of its subnet promotes the other addresses instead of
deleting them), and the last such instance on that interface puts 0 back when it goes. An interface that
already had 1 is left alone.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from .vmac import SYSCTL_ROOT, VmacError, read_sysctl, write_sysctl


class PromoteSecondaries:
    def __init__(self, root=SYSCTL_ROOT):
        self.root = root
        self.ours = {}  # ifname -> True when vipd set it to 1 (and puts 0 back), False when it was already 1

    def sync(self, wanted, log=None) -> None:
        """Make the set of interfaces with promote_secondaries held by vipd equal to ``wanted``."""
        for ifname in sorted(set(wanted)):
            if ifname in self.ours:
                continue
            if read_sysctl("ipv4", ifname, "promote_secondaries", self.root) == 1:
                self.ours[ifname] = False
                continue
            try:
                write_sysctl("ipv4", ifname, "promote_secondaries", 1, self.root)
                self.ours[ifname] = True
            except VmacError as exc:
                if log is not None:
                    log("promote_secondaries: %s" % exc)
        for ifname in [i for i in self.ours if i not in wanted]:
            if self.ours.pop(ifname):
                try:
                    write_sysctl("ipv4", ifname, "promote_secondaries", 0, self.root)
                except VmacError:
                    pass  # the interface went away

    def release_all(self) -> None:
        self.sync(())
