# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Namespace lab: hosts on one bridge, each with its own network stack and copy-on-write /etc."""
from __future__ import annotations

from .lab import Host, Lab, LabError, wait_until

__all__ = ["Host", "Lab", "LabError", "wait_until"]
