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
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
from typing import List, Optional

from .atomic import PersistError

SHEBANG = "#!/bin/sh"
NEW_FILE_MODE = 0o755
MARK = "floating.vip"


def markers(ifname: str, address: str):
    ip = str(ipaddress.ip_interface(str(address)).ip)
    return ("# BEGIN %s %s %s" % (MARK, ifname, ip), "# END %s %s %s" % (MARK, ifname, ip))


def command(ifname: str, cidr: str, label: Optional[str] = None, broadcast: Optional[str] = None) -> str:
    """The boot-time command: iproute2 syntax, the same change the module makes over netlink."""
    iface = ipaddress.ip_interface(str(cidr))
    parts = ["ip"] + (["-6"] if iface.version == 6 else []) + ["addr", "add", iface.with_prefixlen]
    if broadcast and iface.version == 4:
        parts += ["brd", str(broadcast)]
    parts += ["dev", ifname]
    if label and label != ifname and iface.version == 4:
        parts += ["label", label]
    return " ".join(parts) + " || true"


def _find_block(lines, begin, end, path):
    start = stop = None
    for i, line in enumerate(lines):
        if line.rstrip() == begin:
            if start is not None:
                raise PersistError("%s: duplicate marker %r (line %d)" % (path, begin, i + 1))
            start = i
        elif line.rstrip() == end:
            if start is None or stop is not None:
                raise PersistError("%s: marker %r without its BEGIN (line %d)" % (path, end, i + 1))
            stop = i
    if start is not None and stop is None:
        raise PersistError("%s: marker %r has no END line" % (path, begin))
    return start, stop


def _trailing_exit(lines):
    """Index of a final `exit 0` (only blank/comment lines after it), else None."""
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        return i if stripped in ("exit 0", "exit") else None
    return None


def render(old_text: Optional[str], ifname: str, address: str, body: Optional[List[str]],
           path: str = "rc.local") -> Optional[str]:
    """Return the new file text. body=None removes the block; the file itself is never deleted."""
    begin, end = markers(ifname, address)
    if old_text is None:
        if body is None:
            return None
        return "\n".join([SHEBANG, "", begin] + list(body) + [end, "", "exit 0", ""])
    lines = old_text.splitlines()
    start, stop = _find_block(lines, begin, end, path)
    block = [] if body is None else [begin] + list(body) + [end]
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
