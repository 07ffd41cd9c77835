# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd-networkd: a drop-in per address for the interface's .network file.

    /etc/systemd/network/<name>.network.d/floating-vip-<address>.conf
    [Network]
    Address=198.51.100.10/24

`Address=` in a drop-in adds to the addresses of the .network file. Which .network file:
`networkd_file` when given (a name inside networkd_dir, or an absolute path); otherwise the
first `*.network` in networkd_dir, in lexical order as networkd itself picks, whose [Match]
Name= (space-separated, shell globs, `!` negation) matches the interface. Files under /run and
/usr/lib are not searched: name the file when it lives there. A .network file that is a symlink to
/dev/null (systemd's way to mask a file) is skipped, as networkd does; any other file that cannot be
read safely (see atomic.resolve) is an error rather than a guess. The address is checked by type
before it is written (values.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re
from typing import List, Optional

from . import values
from .atomic import PersistError, read_text
from ..inet import safe_repr

NEW_FILE_MODE = 0o644
HEADER = "# Managed by floating.vip (vip_secondary); changes here are overwritten."


def _names(text: str) -> List[str]:
    """The Name= patterns of a .network file's [Match] section (later lines add; empty resets)."""
    section, names = None, []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "Match" and "=" in line:
            key, value = line.split("=", 1)
            if key.strip() == "Name":
                names = names + value.split() if value.strip() else []
    return names


def matches(text: str, ifname: str) -> bool:
    names = _names(text)
    if not names:
        return False
    negated = all(n.startswith("!") for n in names)
    if negated:
        return not any(fnmatch.fnmatchcase(ifname, n[1:]) for n in names)
    return any(fnmatch.fnmatchcase(ifname, n) for n in names if not n.startswith("!"))


def find_network_file(networkd_dir: str, ifname: str, networkd_file: Optional[str] = None) -> str:
    values.ifname(ifname)
    values.one_line(networkd_dir, "networkd_dir")
    if networkd_file:
        values.one_line(networkd_file, "networkd_file")
        path = networkd_file if os.path.isabs(networkd_file) else os.path.join(networkd_dir, networkd_file)
        if not path.endswith(".network"):
            raise PersistError("networkd_file %s must name a .network file" % safe_repr(networkd_file))
        return path
    try:
        names = sorted(n for n in os.listdir(networkd_dir) if n.endswith(".network"))
    except (OSError, ValueError) as exc:
        raise PersistError("cannot read %s: %s" % (safe_repr(networkd_dir), getattr(exc, "strerror", None) or exc))
    for name in names:
        path = os.path.join(networkd_dir, name)
        if os.path.islink(path) and os.path.realpath(path) == os.devnull:
            continue  # masked
        text = read_text(path)
        if text is not None and matches(text, ifname):
            return path
    raise PersistError("no .network file in %s matches interface %s; create one or set networkd_file" % (safe_repr(networkd_dir), ifname))


def path_for(network_file: str, cidr: str) -> str:
    ip = str(values.interface(cidr).ip)
    return os.path.join(network_file + ".d", "floating-vip-%s.conf" % re.sub(r"[^A-Za-z0-9_.-]", "_", ip))


def render(old_text: Optional[str], cidr: Optional[str], extra: str = "") -> Optional[str]:
    """The whole drop-in (it is ours alone); cidr=None deletes it (returns None). extra: more sections (a [Route])."""
    if cidr is None:
        return None
    iface = values.interface(cidr)
    new = "%s\n[Network]\nAddress=%s\n" % (HEADER, iface.with_prefixlen) + extra
    return old_text if old_text == new else new
