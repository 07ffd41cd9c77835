# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's tracking arithmetic, pure: the rise/fall result counter of a tracked script or check, what one
tracked object adds to the priority, and the clamp of the effective priority (used by tracking.py)."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from typing import Optional

FAULT = "FAULT"  # weight_contribution() of a weight-0 tracked object that failed: the instance goes to FAULT


class RiseFall:
    """keepalived's vrrp_script result counter (0 .. rise+fall-1; OK while >= rise).

    status is None until the first result (keepalived's SCRIPT_INIT_STATE_INIT: one success or one
    failure decides), False from the start with init_fail. feed() returns True when status changed.
    """

    def __init__(self, rise: int = 1, fall: int = 1, init_fail: bool = False):
        self.rise = max(1, int(rise))
        self.fall = max(1, int(fall))
        self.init = not init_fail
        self.result = 0 if init_fail else self.rise - 1
        self.status: Optional[bool] = False if init_fail else None

    def feed(self, success: bool) -> bool:
        old = self.status
        top = self.rise + self.fall - 1
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            elif self.result != top:
                if self.result < self.rise:
                    self.status = True
                self.result = top
        else:
            if self.result > self.rise:
                self.result -= 1
            else:
                if self.result == self.rise or self.init:
                    self.status = False
                self.result = 0
        self.init = False
        return self.status != old


def weight_contribution(weight: int, reverse: bool, ok: Optional[bool]):
    """What one tracked object adds to the priority (keepalived semantics, stateless form).

    weight 0: a failure (a success with `reverse`) is FAULT, else 0. weight > 0: +weight while OK.
    weight < 0: +weight (a decrease) while failed. `reverse` flips the sign. Unknown (None): 0.
    """
    if ok is None:
        return 0
    mult = -1 if reverse else 1
    if weight == 0:
        return FAULT if ok != (mult == 1) else 0
    if weight > 0:
        return weight * mult if ok else 0
    return 0 if ok else weight * mult


def clamp_priority(base: int, total: int) -> int:
    """keepalived vrrp_set_effective_priority(): tracking never makes 255 or 0; the owner stays 255."""
    if base >= 255:
        return 255
    return max(1, min(254, base + total))


__all__ = ["FAULT", "RiseFall", "weight_contribution", "clamp_priority"]
