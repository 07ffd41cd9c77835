# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/etc/rc.local: one managed block per (interface, address) between marker lines.

    # BEGIN floating.vip eth0 198.51.100.10
    ip addr add 198.51.100.10/24 brd 198.51.100.255 dev eth0 label eth0:0 || true
    # END floating.vip eth0 198.51.100.10

The marker names the address without its prefix, so a changed prefix or label replaces the
block in place. `|| true` keeps a `#!/bin/sh -e` rc.local (Debian's historical default) running
when the address is already there.

rc.local runs as root at boot, so nothing from the input reaches it as shell text: every value is
checked by type here (interface name, address without zone index, label, IPv4 broadcast), whoever
the caller is, and every word of the command is quoted with shlex.quote. Marker lines are built
from the same checked values, and body lines with a line separator are refused, so a block is
always exactly the lines intended. The file is split on "\\n" only (as sh reads it), so the lines
around the block are kept byte for byte.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex
from typing import List, Optional

from . import values
from .atomic import PersistError

SHEBANG = "#!/bin/sh"
NEW_FILE_MODE = 0o755
MARK = "floating.vip"


def markers(ifname: str, address: str):
    name = values.ifname(ifname)
    ip = str(values.interface(address).ip)
    return ("# BEGIN %s %s %s" % (MARK, name, ip), "# END %s %s %s" % (MARK, name, ip))


def argv(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None) -> List[str]:
    """The boot-time command as words (checked): iproute2 syntax, the change the module makes over netlink."""
    name = values.ifname(ifname)
    iface = values.interface(cidr)
    parts = ["ip"] + (["-6"] if iface.version == 6 else []) + ["addr", "add", iface.with_prefixlen]
    if broadcast and iface.version == 4:
        parts += ["brd", str(values.address(broadcast, 4, "broadcast"))]
    parts += ["dev", name]
    if label and label != name and iface.version == 4:
        text = values.label(label)
        if not text.startswith(name + ":"):
            raise PersistError("label %s does not belong to interface %s" % (values.safe_repr(text), name))
        parts += ["label", text]
    return parts


def command(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None) -> str:
    """The boot-time line: argv() quoted word by word for sh, then `|| true`."""
    return " ".join(shlex.quote(word) for word in argv(ifname, cidr, label, broadcast)) + " || true"


def split_lines(text: str) -> List[str]:
    """Lines as sh sees them: split on \\n only; a final newline ends the last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _find_block(lines, begin, end, path):
    start = stop = None
    for i, line in enumerate(lines):
        if line.rstrip() == begin:
            if start is not None:
                raise PersistError("%s:%d: duplicate marker %r (first at line %d)" % (path, i + 1, begin, start + 1))
            start = i
        elif line.rstrip() == end:
            if start is None or stop is not None:
                raise PersistError("%s:%d: marker %r without its BEGIN" % (path, i + 1, end))
            stop = i
    if start is not None and stop is None:
        raise PersistError("%s:%d: marker %r has no END line" % (path, start + 1, begin))
    return start, stop


def _trailing_exit(lines):
    """Index of a final `exit 0` (only blank/comment lines after it), else None."""
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        return i if stripped in ("exit 0", "exit") else None
    return None


def _body(body: List[str]) -> List[str]:
    if isinstance(body, str):
        raise PersistError("block body must be a list of lines, not one string")
    return [values.one_line(line, "rc.local line") for line in body]


def render(old_text: Optional[str], ifname: str, address: str, body: Optional[List[str]],
           path: str = "rc.local") -> Optional[str]:
    """Return the new file text. body=None removes the block; the file itself is never deleted."""
    begin, end = markers(ifname, address)
    body = None if body is None else _body(body)
    if old_text is None:
        if body is None:
            return None
        return "\n".join([SHEBANG, "", begin] + body + [end, "", "exit 0", ""])
    path = values.safe_repr(path, 200)[1:-1]
    lines = split_lines(old_text)
    start, stop = _find_block(lines, begin, end, path)
    block = [] if body is None else [begin] + body + [end]
    if start is not None:
        if body is None and 0 < start and stop + 1 < len(lines) and not lines[start - 1].strip() \
                and not lines[stop + 1].strip():
            stop += 1  # the blank line that framed the block goes with it, leaving one, not two
        lines[start:stop + 1] = block
    elif body is None:
        return old_text
    else:
        at = _trailing_exit(lines)
        if at is None:
            lines += block
        else:
            lines[at:at] = block
    new = "\n".join(lines) + "\n"
    return old_text if new.rstrip("\n") == old_text.rstrip("\n") else new
