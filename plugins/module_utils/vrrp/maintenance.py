# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which instances are in maintenance, kept in a small JSON file under vipd's state directory.

`vipd maintenance on|off` changes it over the control socket; the daemon reads it at start, so
maintenance outlives reloads and restarts. The file is written atomically (temp file + rename) before
any machine is told, so a crash never leaves a host in maintenance that the file does not record.

Format: {"version": 1, "all": BOOL, "instances": [NAME, ...]}. "all" covers every instance, also ones a
later reload adds. A file that cannot be read or is not of that shape is reported (Store.error, logged)
and treated as empty; it is left as it is until the next change replaces it.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import json
import os
from typing import Iterable, List, Optional, Tuple

from ..inet import safe_repr
from ..persist import atomic

FILE_NAME = "maintenance.json"
MAX_FILE = 1024 * 1024
MAX_NAME = 256


class MaintenanceError(ValueError):
    pass


def parse(text: str, path: str = FILE_NAME) -> Tuple[bool, List[str]]:
    """(all, names) from the file's text; MaintenanceError naming the file and the reason otherwise."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MaintenanceError("%s: not JSON (%s)" % (path, exc.__class__.__name__))
    if not isinstance(data, dict):
        raise MaintenanceError("%s: not a JSON object" % path)
    if data.get("version") != 1:
        raise MaintenanceError("%s: unknown version %s (expected 1)" % (path, safe_repr(data.get("version"), 40)))
    every = data.get("all", False)
    names = data.get("instances", [])
    if not isinstance(every, bool):
        raise MaintenanceError("%s: \"all\" must be true or false" % path)
    if not isinstance(names, list) or not all(valid_name(n) for n in names):
        raise MaintenanceError("%s: \"instances\" must be a list of instance names" % path)
    return every, sorted(set(names))


def valid_name(name) -> bool:
    """An instance name as keepalived's configuration can spell it: one printable word."""
    return (isinstance(name, str) and 0 < len(name) <= MAX_NAME and name.isprintable()
            and not any(ch.isspace() for ch in name))


def render(every: bool, names: Iterable[str]) -> str:
    return json.dumps({"version": 1, "all": bool(every), "instances": sorted(set(names))}, sort_keys=True) + "\n"


class Store:
    """The maintenance set of one daemon: `path` is None for a daemon without a state directory (memory only)."""

    def __init__(self, path: Optional[str]):
        self.path = path
        self.all = False
        self.names: List[str] = []
        self.error: Optional[str] = None

    @classmethod
    def in_dir(cls, state_dir: Optional[str]) -> "Store":
        return cls(os.path.join(state_dir, FILE_NAME) if state_dir else None)

    def load(self) -> "Store":
        self.error = None
        if not self.path:
            return self
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_FILE + 1)
        except FileNotFoundError:
            return self
        except OSError as exc:
            self.error = "%s: cannot read: %s" % (self.path, exc.strerror or exc)
            return self
        try:
            if len(raw) > MAX_FILE:
                raise MaintenanceError("%s: larger than %d bytes" % (self.path, MAX_FILE))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise MaintenanceError("%s: not UTF-8" % self.path)
            self.all, self.names = parse(text, self.path)
        except MaintenanceError as exc:
            self.error = str(exc)
        return self

    def covers(self, name: str) -> bool:
        return self.all or name in self.names

    def planned(self, on: bool, names: Iterable[str], every: bool, known: Iterable[str]) -> Tuple[bool, List[str]]:
        """The (all, names) that `on|off NAMES` or `on|off --all` leads to; `known` = the instances configured now."""
        known = list(known)
        if every:
            return (True, []) if on else (False, [])
        if on:
            return (True, []) if self.all else (False, sorted(set(self.names) | set(names)))
        if self.all:  # off for some while the whole host is in: the others stay in, by name
            return False, sorted(set(known) - set(names))
        return False, sorted(set(self.names) - set(names))

    def save(self, every: bool, names: Iterable[str]) -> None:
        """Write first (OSError propagates and nothing changes), then adopt."""
        names = sorted(set(names))
        if self.path:
            directory = os.path.dirname(self.path) or "."
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)
            atomic.write_text(self.path, render(every, names), mode=0o600)
        self.all, self.names, self.error = every, names, None

    def status(self) -> dict:
        return {"all": self.all, "instances": list(self.names), "file": self.path, "error": self.error}
