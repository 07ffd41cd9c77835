# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ifupdown: one file per address under /etc/network/interfaces.d/.

ifupdown (0.7+) accepts several `iface` stanzas for the same interface and applies all of
them when the interface comes up, so an extra address is its own stanza:

    iface eth0 inet static
        address 198.51.100.10/24

(`inet6 static` for IPv6). The file names use only [A-Za-z0-9_-] because Debian's
`source-directory` skips names with dots; `source /etc/network/interfaces.d/*` reads any name.
The interface itself must be brought up by ifupdown (`auto eth0` / `allow-hotplug eth0`).
The interface name and the address are checked by type before they are written (values.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from typing import Optional

from . import values

NEW_FILE_MODE = 0o644
HEADER = "# Managed by floating.vip (vip_secondary); changes here are overwritten."


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def path_for(interfaces_d_dir: str, ifname: str, cidr: str) -> str:
    ip = str(values.interface(cidr).ip)
    return os.path.join(interfaces_d_dir, "floating-vip-%s-%s" % (safe_name(values.ifname(ifname)), safe_name(ip)))


def render(old_text: Optional[str], ifname: str, cidr: Optional[str], extra=()) -> Optional[str]:
    """The whole file (it is ours alone); cidr=None deletes it (returns None). extra: more stanza lines (a route)."""
    name = values.ifname(ifname)
    if cidr is None:
        return None
    iface = values.interface(cidr)
    family = "inet" if iface.version == 4 else "inet6"
    new = "%s\niface %s %s static\n    address %s\n" % (HEADER, name, family, iface.with_prefixlen) + "".join(line + "\n" for line in extra)
    return old_text if old_text == new else new
