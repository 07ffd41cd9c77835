# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes shared by the unit tests that drive a daemon's runtimes by hand."""
from __future__ import annotations

from types import SimpleNamespace


class StillClock:
    """The injected loop: a settable time (`t`); timers are handed out, recorded nowhere and never run."""

    def __init__(self, t: float = 500.0):
        self.t = t

    def time(self):
        return self.t

    def call_at(self, when, callback, *args):
        return SimpleNamespace(when=lambda: when, cancel=lambda: None, cancelled=lambda: False)
