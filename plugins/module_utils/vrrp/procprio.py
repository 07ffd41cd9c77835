# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduling of the VRRP process as keepalived 2.2.7 sets it (lib/process.c set_process_priorities(),
increment_process_priority()): vrrp_priority (nice), vrrp_rt_priority (SCHED_RR, reset on fork, with
RLIMIT_RTTIME = vrrp_rlimit_rttime), vrrp_no_swap (mlockall), vrrp_cpu_affinity, and max_auto_priority:
when the event loop runs later than min_auto_priority_delay, the realtime priority goes up by one
(starting at SCHED_RR's minimum) until max_auto_priority.

Failures are logged, never fatal (keepalived logs and carries on). The OS calls are injectable for tests.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os

SCHED_RESET_ON_FORK = 0x40000000
RLIMIT_RTTIME = 15
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4


class OsCalls:
    """The system calls used; tests replace them."""

    def setpriority(self, value):
        os.setpriority(os.PRIO_PROCESS, 0, value)

    def set_rr(self, priority):
        os.sched_setscheduler(0, os.SCHED_RR | SCHED_RESET_ON_FORK, os.sched_param(priority))

    def rr_min(self):
        return os.sched_get_priority_min(os.SCHED_RR)

    def set_rttime(self, limit):
        import resource
        resource.setrlimit(getattr(resource, "RLIMIT_RTTIME", RLIMIT_RTTIME), (limit // 2, limit))

    def mlockall(self):
        import ctypes.util  # vrrp_lock_memory only: ctypes.util loads tempfile (0.9 MB of RSS, issue 11)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def set_affinity(self, cpus):
        os.sched_setaffinity(0, set(cpus))


class ProcessPriority:
    """What keepalived's VRRP process does with the global_defs scheduling keywords."""

    def __init__(self, global_defs, log, calls=None):
        self.g = global_defs
        self.log = log
        self.calls = calls or OsCalls()
        self.rt_priority = 0  # current SCHED_RR priority (0: not realtime)

    def apply(self):
        g = self.g
        if g.vrrp_rt_priority:
            self._realtime(g.vrrp_rt_priority)
        elif g.vrrp_priority:
            try:
                self.calls.setpriority(g.vrrp_priority)
            except OSError as exc:
                self.log("Unable to set process priority to %d - %s" % (g.vrrp_priority, exc))
        if g.vrrp_cpu_affinity:
            try:
                self.calls.set_affinity(g.vrrp_cpu_affinity)
            except (OSError, ValueError) as exc:
                self.log("Unable to set cpu affinity to %s - %s" % (" ".join(str(c) for c in g.vrrp_cpu_affinity), exc))
        if g.vrrp_no_swap:
            try:
                self.calls.mlockall()
            except (OSError, AttributeError) as exc:
                self.log("Unable to lock process in memory - %s" % (exc,))

    def _realtime(self, priority):
        try:
            self.calls.set_rr(priority)
        except (OSError, AttributeError) as exc:
            self.log("cannot raise priority to realtime %d - %s" % (priority, exc))
            return False
        self.rt_priority = priority
        try:
            self.calls.set_rttime(self.g.vrrp_rlimit_rttime)
        except (OSError, ValueError, ImportError) as exc:
            self.log("cannot set realtime rlimit - %s" % (exc,))
        return True

    def late(self, seconds):
        """The loop ran `seconds` after a deadline: keepalived's increment_process_priority()."""
        g = self.g
        if not g.max_auto_priority or seconds * 1000000 < g.min_auto_priority_delay:
            return None
        if self.rt_priority:
            if self.rt_priority >= g.max_auto_priority:
                return None
            wanted = self.rt_priority + 1
        else:
            try:
                wanted = self.calls.rr_min()
            except (OSError, AttributeError):
                return None
        if self._realtime(wanted):
            self.log("Set realtime priority %d" % wanted)
            return wanted
        return None
