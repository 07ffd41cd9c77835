# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What decides an instance's effective priority and FAULT besides VRRP itself.

- InstanceTracking (pure): every tracked object of one instance -- scripts / vipd_checks, interfaces
  (track_interface and the instance's own interface), track_file values, track_process quorums
  (value: have_quorum, weighted as a script's success) -- folded into
  (effective priority, fault reasons, pending) exactly as keepalived 2.2.7 adds its weights.
- LinkMonitor: link up/down from an rtnetlink socket (RTMGRP_LINK events plus a dump), read in the
  asyncio loop, in the daemon's own network namespace; no pyroute2 and no /sys (which may belong to
  another namespace when vipd was started through nsenter).
- read_track_file(): keepalived's track_file value (strtol of the first bytes; missing or empty = 0).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import re
import socket
import struct
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .. import inet
from .tracking_rules import FAULT, clamp_priority, weight_contribution

IFF_UP = 0x1
IFF_RUNNING = 0x40
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTMGRP_LINK = 1
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
_IFINFOMSG = struct.Struct("=BBHiII")  # family, pad, type, index, flags, change


# ---------------------------------------------------------------- pure folding

@dataclass
class Tracked:
    kind: str            # "script" | "interface" | "own_interface" | "file" | "process"
    name: str
    weight: int = 0
    reverse: bool = False
    value: object = None  # script/interface: True/False/None (unknown); file: int


def file_effect(weight: int, reverse: bool, value: int):
    """keepalived track_file.c: weight 0 -> non-zero is FAULT; else value*weight, -254 or below is FAULT."""
    mult = -1 if reverse else 1
    if weight == 0:
        return FAULT if (value != 0) == (mult == 1) else 0
    effect = max(-254, min(253, value * weight * mult))
    return FAULT if effect == -254 else effect


def effect_of(item: Tracked):
    if item.kind == "own_interface":
        return FAULT if item.value is False else 0
    if item.kind == "file":
        return file_effect(item.weight, item.reverse, int(item.value or 0))
    return weight_contribution(item.weight, item.reverse, item.value)


@dataclass
class Evaluation:
    priority: int
    faults: List[str] = field(default_factory=list)
    pending: List[str] = field(default_factory=list)

    @property
    def fault_reason(self) -> str:
        return "; ".join(self.faults)


class InstanceTracking:
    """The tracked objects of one instance and their current values."""

    def __init__(self, base_priority: int):
        self.base = int(base_priority)
        self.items: Dict[Tuple[str, str], Tracked] = {}

    def add(self, kind: str, name: str, weight: Optional[int] = 0, reverse: bool = False, value=None) -> None:
        self.items[(kind, name)] = Tracked(kind, name, int(weight or 0), reverse, value)

    def update(self, kind: str, name: str, value) -> bool:
        item = self.items.get((kind, name))
        if item is None or item.value == value:
            return False
        item.value = value
        return True

    def evaluate(self) -> Evaluation:
        total = 0
        ev = Evaluation(priority=self.base)
        for item in self.items.values():
            if item.kind == "script" and item.value is None and item.weight == 0:
                ev.pending.append("%s %s" % (item.kind, item.name))
                continue
            effect = effect_of(item)
            if effect == FAULT:
                ev.faults.append(_fault_text(item))
            else:
                total += effect
        ev.priority = clamp_priority(self.base, total)
        return ev


def _fault_text(item: Tracked) -> str:
    if item.kind in ("interface", "own_interface"):
        return "%sinterface %s down" % ("tracked " if item.kind == "interface" else "", item.name)
    if item.kind == "file":
        return "track_file %s value %s" % (item.name, item.value)
    if item.kind == "process":
        # keepalived: "entering FAULT state (tracked process NAME quorum not achieved)"
        return "tracked process %s quorum %s" % (item.name, "achieved (reverse)" if item.value else "not achieved")
    return "%s %s %s" % ("check", item.name, "succeeded (reverse)" if item.value else "failed")


# ---------------------------------------------------------------- track_file

STRTOL_RE = re.compile(r"^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def read_track_file(path: str) -> int:
    """Value as keepalived reads it: strtol(buf, NULL, 0) of the first 127 bytes; unreadable or empty = 0."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(127).decode("ascii", "replace")
    except OSError:
        return 0
    match = STRTOL_RE.match(text)
    if not match:
        return 0
    digits = match.group(2)
    if digits[:2].lower() == "0x":
        value = int(digits, 16)
    elif digits.startswith("0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    return -value if match.group(1) == "-" else value


# ---------------------------------------------------------------- links over rtnetlink

def parse_link_messages(data: bytes) -> List[Tuple[int, str, int, int, Optional[bytes]]]:
    """(msg type, ifname, flags, index, link-layer address or None) of each RTM_NEWLINK / RTM_DELLINK in a netlink
    datagram."""
    out = []
    for kind, _flags, _seq, offset, length in inet.netlink_messages(data):
        if kind in (RTM_NEWLINK, RTM_DELLINK) and length >= 32:
            _family, _pad, _type, index, flags, _change = _IFINFOMSG.unpack_from(data, offset + 16)
            name = mac = None
            for rta_type, payload in inet.netlink_attributes(data, offset + 32, offset + length):
                if rta_type == IFLA_IFNAME:
                    name = payload.split(b"\0", 1)[0].decode("utf-8", "replace")
                elif rta_type == IFLA_ADDRESS:
                    mac = bytes(payload)
            if name is not None:
                out.append((kind, name, flags, index, mac))
    return out


def link_is_usable(flags: int) -> bool:
    # keepalived's IF_ISUP: administratively up and running (carrier).
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)


class LinkMonitor:
    """Every link's usable state in this network namespace, kept current from kernel events.

    on_index(name, index) is called when a link of that name exists under an index not seen for it before: at the
    first dump, and when the link was deleted and created again (a VLAN after ifdown / ifup, a veth, a bond), whose
    sockets bound to the old index receive and send nothing any more. on_deleted(name) when it is deleted.
    on_mac(name) when a link keeps its index but its link-layer address changes (a bond's failover with
    fail_over_mac, a MAC set by hand): neighbours still send to the old one.
    """

    def __init__(self, on_change: Callable[[str, bool], None], on_index: Optional[Callable[[str, int], None]] = None,
                 on_deleted: Optional[Callable[[str], None]] = None, on_mac: Optional[Callable[[str], None]] = None):
        self.on_change = on_change
        self.on_index = on_index
        self.on_deleted = on_deleted
        self.on_mac = on_mac
        self.state: Dict[str, bool] = {}
        self.index: Dict[str, int] = {}
        self.mac: Dict[str, bytes] = {}
        self.sock: Optional[socket.socket] = None
        self.loop = None

    def open(self, loop) -> None:
        self.loop = loop
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.bind((0, RTMGRP_LINK))
        sock.setblocking(False)
        self.sock = sock
        self._dump()
        loop.add_reader(sock.fileno(), self._readable)

    def _dump(self) -> None:
        # rtgenmsg (family AF_UNSPEC) padded to ifinfomsg's size, as iproute2 sends it.
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0)
        header = inet.NLMSG_HEADER.pack(inet.NLMSG_HEADER.size + len(body), RTM_GETLINK, inet.NLM_F_REQUEST | inet.NLM_F_DUMP, 1, 0)
        self.sock.send(header + body)

    def _readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == 105:  # ENOBUFS: events were lost; ask for the whole picture again
                    self._dump()
                    continue
                return
            for kind, name, flags, index, mac in parse_link_messages(data):
                known = self.index.get(name)
                if kind == RTM_DELLINK:
                    if known is not None and known != index:
                        continue  # about a link of that name gone before, not the one there now
                    self.index.pop(name, None)
                    self.mac.pop(name, None)
                    up = False
                else:
                    up = link_is_usable(flags)
                    if known != index:
                        self.index[name] = index
                        self.mac.pop(name, None)  # a new link: its address is not a change
                        if self.on_index is not None:
                            self.on_index(name, index)  # before on_change: a link back up finds its sockets reopened
                    if mac:
                        seen, self.mac[name] = self.mac.get(name), mac
                        if seen is not None and seen != mac and self.on_mac is not None:
                            self.on_mac(name)
                old = self.state.get(name)
                self.state[name] = up
                if old != up:
                    self.on_change(name, up)
                if kind == RTM_DELLINK and known is not None and self.on_deleted is not None:
                    self.on_deleted(name)  # after on_change: what it makes again comes back as a new link

    def is_up(self, name: str) -> Optional[bool]:
        return self.state.get(name)

    def close(self) -> None:
        if self.sock is not None:
            if self.loop is not None:
                self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
