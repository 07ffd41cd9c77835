# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""initscripts ifcfg files: `ifcfg-eth0:0` alias files and IPADDRn/PREFIXn secondaries.

initscripts sources these files as shell, so they are parsed as shell assignments: one
`KEY=value` per line (value quoted '...' or "..." or bare), comments and blank lines. Anything
else (two words, unbalanced quotes, a command) is refused as malformed rather than guessed at.
Lines are edited in place: unknown keys, comments and order survive.

Every value written is checked by type first (alias_values, render_secondary), and set() itself
refuses a key that is not a shell name and a value holding a control character or a line
separator, then quotes the value for sh (bare only when every character is inert, else single
quotes), so initscripts and our reader see the same single line. Reader errors are PersistError
`file:line: reason`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shlex
from typing import Dict, List, Optional

from . import values as check
from .atomic import PersistError
from ..inet import safe_repr

ASSIGN = re.compile(r"\A[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z")
KEY = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
BARE = re.compile(r"\A[A-Za-z0-9_.:/@+,%=-]*\Z")
INDEXED = re.compile(r"\A(IPADDR|PREFIX|NETMASK|BROADCAST)([0-9]*)\Z")
NEW_FILE_MODE = 0o644


def path_for(ifcfg_dir: str, device: str) -> str:
    """ifcfg-<device>; device is an interface name or an alias label (checked: no `/`, no `..`)."""
    return os.path.join(ifcfg_dir, "ifcfg-%s" % check.label(device, "device"))


def quote(value: str) -> str:
    """Bare when safe, else single quotes: sh and our parser then read back the same bytes."""
    check.one_line(value, "value")
    if BARE.match(value):
        return value
    return "'%s'" % value.replace("'", "'\\''")


def _expands(raw: str) -> bool:
    """True when sh would expand something ($, `) outside single quotes: we cannot know the value."""
    quoted = None
    escaped = False
    for char in raw:
        if escaped:
            escaped = False
        elif quoted == "'":
            if char == "'":
                quoted = None
        elif char == "\\":
            escaped = True
        elif char in "$`":
            return True
        elif quoted == '"':
            if char == '"':
                quoted = None
        elif char in "'\"":
            quoted = char
        elif char == "#":
            break
    return False


class IfcfgFile:
    """Lines of one ifcfg file; `values` holds the parsed assignments."""

    def __init__(self, text: str = "", path: str = "ifcfg"):
        self.path = path
        self.lines = text.split("\n")  # as sh splits lines
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.keys = []  # per line: key or None
        self.values = {}  # type: Dict[str, str]
        self.line_of = {}  # type: Dict[str, int]
        for no, line in enumerate(self.lines, 1):
            stripped = line.strip(" \t")
            if not stripped or stripped.startswith("#"):
                self.keys.append(None)
                continue
            match = ASSIGN.match(line)
            if not match:
                raise PersistError("%s:%d: malformed line (expected KEY=value): %s" % (path, no, safe_repr(stripped)))
            if match.group(2)[:1] in (" ", "\t"):
                raise PersistError("%s:%d: malformed value for %s: blank after '=' (sh would run the rest as a command)"
                                   % (path, no, match.group(1)))
            if _expands(match.group(2)):
                raise PersistError("%s:%d: value of %s uses shell expansion ($ or `), which cannot be read safely"
                                   % (path, no, match.group(1)))
            try:
                words = shlex.split(match.group(2), comments=True, posix=True)
            except ValueError as exc:
                raise PersistError("%s:%d: malformed value for %s: %s" % (path, no, match.group(1), exc))
            if len(words) > 1:
                raise PersistError("%s:%d: malformed value for %s: unquoted spaces" % (path, no, match.group(1)))
            if _bare_hash(match.group(2)):
                raise PersistError("%s:%d: value of %s has an unquoted '#' inside a word (sh and this reader"
                                   " would disagree); quote it" % (path, no, match.group(1)))
            self.keys.append(match.group(1))
            self.values[match.group(1)] = words[0] if words else ""  # shell: the last assignment wins
            self.line_of[match.group(1)] = no

    def get(self, key: str) -> Optional[str]:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not KEY.match(key):
            raise PersistError("%s: invalid key %s" % (self.path, safe_repr(key)))
        try:
            line = "%s=%s" % (key, quote(value))
        except PersistError as exc:
            raise PersistError("%s: %s: %s" % (self.path, key, exc))
        idx = [i for i, k in enumerate(self.keys) if k == key]
        if idx:
            if self.values.get(key) != value:
                for i in idx:
                    self.lines[i] = line
        else:
            self.lines.append(line)
            self.keys.append(key)
        self.values[key] = value

    def remove(self, key: str) -> None:
        keep = [(line, k) for line, k in zip(self.lines, self.keys) if k != key]
        self.lines = [pair[0] for pair in keep]
        self.keys = [pair[1] for pair in keep]
        self.values.pop(key, None)
        self.line_of.pop(key, None)

    def rename(self, old: str, new: str) -> None:
        for i, k in enumerate(self.keys):
            if k == old:
                self.lines[i] = self.lines[i].replace(old, new, 1)
                self.keys[i] = new
        if old in self.values:
            self.values[new] = self.values.pop(old)
        if old in self.line_of:
            self.line_of[new] = self.line_of.pop(old)

    def where(self, key: str) -> str:
        """`path:line` of the assignment of key that counts (the last), for error messages."""
        return "%s:%d" % (self.path, self.line_of.get(key, 0))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""


def parse(text: str, path: str = "ifcfg") -> IfcfgFile:
    return IfcfgFile(text, path)


def alias_values(device: str, cidr: str, gateway: Optional[str] = None, hwaddr: Optional[str] = None) -> Dict[str, str]:
    """The values of an alias file, each checked by type (label, IPv4 address/prefix, IPv4 gateway, MAC)."""
    iface = check.interface(cidr, 4)
    values = {"DEVICE": check.label(device, "device"), "ONBOOT": "yes", "BOOTPROTO": "static", "IPADDR": str(iface.ip),
              "NETMASK": str(iface.netmask), "PREFIX": str(iface.network.prefixlen)}
    if gateway not in (None, ""):
        values["GATEWAY"] = str(check.address(gateway, 4, "gateway"))
    if hwaddr not in (None, ""):
        values["HWADDR"] = check.mac(hwaddr)
    values["USERCTL"] = "no"
    return values


def render_alias(old_text: Optional[str], values: Optional[Dict[str, str]], path: str = "ifcfg") -> Optional[str]:
    """New text of an alias file; values=None deletes it (returns None).

    NETMASK is written unless the existing file uses PREFIX alone (ifup prefers PREFIX when
    both are set, so both are kept consistent when both exist). GATEWAY/HWADDR are only
    touched when given.
    """
    if values is None:
        if old_text is not None:
            parse(old_text, path)  # still refuse to act on a malformed file
        return None
    doc = parse(old_text or "", path)
    use_prefix = doc.get("PREFIX") is not None and doc.get("NETMASK") is None
    for key, value in values.items():
        if key == "NETMASK" and use_prefix:
            continue
        if key == "PREFIX" and not (use_prefix or doc.get("PREFIX") is not None):
            continue
        doc.set(key, value)
    new = doc.text()
    return old_text if old_text is not None and new.rstrip("\n") == old_text.rstrip("\n") else new


def _bare_hash(raw: str) -> bool:
    """True when a `#` outside quotes is inside a word: sh keeps it, shlex would start a comment."""
    quoted = None
    escaped = False
    prev = "="  # the value follows `KEY=`: a `#` right there is part of the word for sh
    for char in raw:
        if escaped:
            escaped = False
        elif quoted:
            if char == quoted:
                quoted = None
            elif char == "\\" and quoted == '"':
                escaped = True
        elif char in "'\"":
            quoted = char
        elif char == "\\":
            escaped = True
        elif char == "#":
            return prev not in " \t"
        prev = char
    return False


def _v6_word(doc: IfcfgFile, word: str):
    try:
        return check.interface(word, 6, "IPV6ADDR_SECONDARIES entry")
    except PersistError as exc:
        raise PersistError("%s: %s" % (doc.where("IPV6ADDR_SECONDARIES"), exc))


def _index_of(doc: IfcfgFile, ip: str) -> Optional[str]:
    for key, value in doc.values.items():
        match = INDEXED.match(key)
        if match and match.group(1) == "IPADDR" and value.strip() == ip:
            return match.group(2)
    return None


def _indexes(doc: IfcfgFile) -> List[int]:
    out = set()
    for key in doc.values:
        match = INDEXED.match(key)
        if match and match.group(1) == "IPADDR" and match.group(2):
            out.add(int(match.group(2)))
    return sorted(out)


def render_secondary(old_text: Optional[str], cidr: str, present: bool, path: str = "ifcfg") -> Optional[str]:
    """Add/remove a secondary in the interface's own ifcfg file.

    IPv4 uses IPADDRn/PREFIXn. initscripts reads IPADDR, IPADDR0, IPADDR1, ... and stops at the
    first missing index >= 2, so a new address takes the lowest free index >= 1 and removing one
    shifts every higher index down by one: no gap hides an address. IPv6 uses
    IPV6ADDR_SECONDARIES (space separated) and sets IPV6INIT=yes.
    """
    if old_text is None:
        if not present:
            return None
        raise PersistError("%s does not exist: secondaries are added to the interface's own ifcfg file" % path)
    iface = check.interface(cidr)
    doc = parse(old_text, path)
    ip = str(iface.ip)
    if iface.version == 6:
        current = (doc.get("IPV6ADDR_SECONDARIES") or "").split()
        kept = [c for c in current if str(_v6_word(doc, c).ip) != ip]
        if present:
            if iface.with_prefixlen in current:
                kept = current
            else:
                kept.append(iface.with_prefixlen)
            if doc.get("IPV6INIT") != "yes":
                doc.set("IPV6INIT", "yes")
        if kept:
            doc.set("IPV6ADDR_SECONDARIES", " ".join(kept))
        else:
            doc.remove("IPV6ADDR_SECONDARIES")
    else:
        idx = _index_of(doc, ip)
        if present:
            if idx is None:
                used = set(_indexes(doc))
                n = 1
                while n in used:
                    n += 1
                idx = str(n)
                doc.set("IPADDR" + idx, ip)
            doc.set("PREFIX" + idx, str(iface.network.prefixlen))
            if doc.get("NETMASK" + idx) is not None:
                doc.set("NETMASK" + idx, str(iface.netmask))
        elif idx is not None:
            for family in ("IPADDR", "PREFIX", "NETMASK", "BROADCAST"):
                doc.remove(family + idx)
            if idx and int(idx) >= 1:
                for n in _indexes(doc):
                    if n > int(idx):
                        for family in ("IPADDR", "PREFIX", "NETMASK", "BROADCAST"):
                            doc.rename("%s%d" % (family, n), "%s%d" % (family, n - 1))
    new = doc.text()
    return old_text if new.rstrip("\n") == old_text.rstrip("\n") else new
