# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VRID conflicts: adverts for a VRID this host runs whose configuration differs from ours.

Two groups on one segment with the same VRID (a copied keepalived.conf) drop each other's adverts
(addr_list, interval, auth...) and share the virtual MAC: nothing fails loudly until the wrong router
answers. This file compares each received advert with the instance's own configuration (what differs:
the VIP set, the advert interval, the version, the authentication) and keeps one record per source,
bounded (MAX_SOURCES, the least recently seen evicted) and aging out (EXPIRE_AFTER), with a log
decision at most once per source and LOG_EVERY seconds. Pure: the caller passes the clock (the daemon's
loop time); the advert is handled (accepted or dropped) as before, the record is kept beside it.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import time
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

from . import packet

DIFFERS = ("vips", "interval", "version", "authentication")
MAX_SOURCES = 64  # per instance: a flood of forged sources costs a bounded table
LOG_EVERY = 60.0  # seconds between two log lines about one source
EXPIRE_AFTER = 300.0  # a source silent this long is no longer reported (the foreign group was fixed or left)


class Reference:
    """What an advert of our own group carries: our version, interval, authentication and advertised VIPs."""

    __slots__ = ("version", "interval_cs", "auth_type", "auth_data", "addresses", "ordered")

    def __init__(self, version: int, interval_cs: int, auth_type: int, auth_data: bytes, addresses: Sequence[str]):
        self.version = int(version)
        self.interval_cs = int(interval_cs)
        self.auth_type = int(auth_type) if version == 2 else packet.AUTH_NONE
        self.auth_data = bytes(auth_data) if self.auth_type == packet.AUTH_PASS else b""
        self.ordered = tuple(addresses)  # our adverts' order: a peer of our group sends the same tuple (fast path)
        self.addresses = frozenset(self.ordered)


def differences(ref: Reference, advert) -> Tuple[str, ...]:
    """The names (from DIFFERS, in that order) of what `advert` (packet.Advert) carries differently from `ref`."""
    out = []
    if advert.addresses != ref.ordered and frozenset(advert.addresses) != ref.addresses:
        out.append("vips")
    if advert.interval_cs != ref.interval_cs:
        out.append("interval")
    if advert.version != ref.version:
        out.append("version")
    elif ref.version == 2:  # v3 carries no authentication
        if advert.auth_type != ref.auth_type:
            out.append("authentication")
        elif ref.auth_type == packet.AUTH_PASS and not packet._same_bytes(bytes(advert.auth_data), ref.auth_data):  # pylint: disable=protected-access
            out.append("authentication")
    return tuple(out)


class Entry:
    __slots__ = ("source", "differs", "first_seen", "last_seen", "count", "last_logged", "since_log")

    def __init__(self, source: str, differs: Tuple[str, ...], now: float):
        self.source = source
        self.differs = differs
        self.first_seen = now
        self.last_seen = now
        self.count = 0
        self.last_logged: Optional[float] = None
        self.since_log = 0  # adverts since the last log line (shown in the next one)


def iso(epoch: float) -> str:
    """Local wall time as ISO 8601 with the offset (the daemon's last_transition format): datetime's isoformat
    text (2026-12-01T06:28:40+00:00) without importing datetime (0.3 MB of RSS, issue 11). Formats, reads no clock."""
    text = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(epoch))
    return text[:-2] + ":" + text[-2:]


class ConflictTable:
    """Conflicting sources of one instance. record() per conflicting advert; status() for `vipd status`."""

    def __init__(self, max_sources: int = MAX_SOURCES, log_every: float = LOG_EVERY, expire_after: float = EXPIRE_AFTER):
        self.max_sources = max(1, int(max_sources))
        self.log_every = float(log_every)
        self.expire_after = float(expire_after)
        self.entries: "OrderedDict[str, Entry]" = OrderedDict()  # least recently seen first
        self.total = 0  # conflicting adverts ever counted (never decreases: vipd_vrid_conflict_adverts_total)
        self.evicted = 0  # sources pushed out by MAX_SOURCES

    def record(self, source: str, differs: Tuple[str, ...], now: float) -> Optional[Entry]:
        """Count one conflicting advert from `source`; the entry when it is time to log it (first advert, then at most
        once per log_every seconds), else None."""
        self.total += 1
        entry = self.entries.get(source)
        if entry is None:
            self.expire(now)
            while len(self.entries) >= self.max_sources:
                self.entries.popitem(last=False)
                self.evicted += 1
            entry = Entry(source, differs, now)
            self.entries[source] = entry
        else:
            self.entries.move_to_end(source)
        entry.count += 1
        entry.since_log += 1
        entry.last_seen = now
        entry.differs = differs
        if entry.last_logged is None or now - entry.last_logged >= self.log_every:
            entry.last_logged = now
            return entry
        return None

    def logged(self, entry: Entry) -> int:
        """The adverts counted since the previous log line about `entry` (the one being written), then restart."""
        count, entry.since_log = entry.since_log, 0
        return count

    def expire(self, now: float) -> None:
        while self.entries:
            first = next(iter(self.entries.values()))
            if now - first.last_seen < self.expire_after:
                break
            self.entries.popitem(last=False)

    def clear(self) -> None:
        """The instance's configuration changed: what differed is no longer known."""
        self.entries.clear()

    def status(self, now: float, wall_now: float) -> List[Dict[str, object]]:
        """Active conflicts, most recently seen first: {source, differs, first_seen, last_seen, count}.
        now: the loop clock the table was fed with; wall_now: the wall clock at the same moment (the caller reads both)."""
        self.expire(now)
        out = []
        for entry in reversed(self.entries.values()):
            out.append({"source": entry.source, "differs": list(entry.differs), "count": entry.count,
                        "first_seen": iso(wall_now - (now - entry.first_seen)), "last_seen": iso(wall_now - (now - entry.last_seen))})
        return out


def describe(entry: Entry, count: int) -> str:
    """One log line's text (addresses come from decoded packets: plain text)."""
    return "advert from %s for our VRID differs in %s (%d advert(s) since the last message)" % (
        entry.source, ", ".join(entry.differs), count)


__all__ = ["DIFFERS", "MAX_SOURCES", "LOG_EVERY", "EXPIRE_AFTER", "Reference", "differences", "ConflictTable", "Entry",
           "describe", "iso"]
