# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's pid file: written at start (refused while another vipd holds it), removed at exit."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import os
from typing import Optional


def write(path: Optional[str]) -> None:
    """Our pid in `path` (nothing when empty), atomically; RuntimeError when a live vipd's pid is there."""
    if not path:
        return
    try:
        with open(path) as handle:
            other = int(handle.read().strip() or 0)
        if other and other != os.getpid() and os.path.exists("/proc/%d" % other):
            with open("/proc/%d/cmdline" % other, "rb") as handle:
                if b"vipd" in handle.read():
                    raise RuntimeError("another vipd (pid %d) holds %s" % (other, path))
    except (OSError, ValueError):
        pass
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as handle:
        handle.write("%d\n" % os.getpid())
        os.fchmod(handle.fileno(), 0o644)  # as keepalived's pidfile.c, whatever the umask
    os.rename(tmp, path)


def remove(path: Optional[str]) -> None:
    if not path:
        return
    try:
        os.unlink(path)
    except OSError:
        pass
