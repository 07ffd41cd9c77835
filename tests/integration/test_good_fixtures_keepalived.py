# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real `keepalived -t` accepts every configuration the unit tests call good (their seeds and good
corpus), inside a throwaway namespace holding the interfaces each file names (keepalived -t checks them)."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from .conftest import ensure_collection_link

if ensure_collection_link() not in sys.path:
    sys.path.insert(0, ensure_collection_link())
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config  # noqa: E402  pylint: disable=wrong-import-position

CONFIGS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "unit", "fixtures", "configs"))
GOOD_FILES = sorted(glob.glob(os.path.join(CONFIGS, "seeds", "*.conf")) + glob.glob(os.path.join(CONFIGS, "good", "*.conf")))


def _interfaces(cfg):
    names = []
    for inst in cfg.instances.values():
        for name in [inst.interface] + [v.dev for v in inst.vips + inst.excluded_vips] + \
                [n for n, _w in inst.track_interfaces]:
            if name and name not in names:
                names.append(name)
    return names


@pytest.mark.keepalived
@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed (Debian: apt-get install keepalived)")
@pytest.mark.parametrize("path", GOOD_FILES, ids=[os.path.basename(p) for p in GOOD_FILES])
def test_good_fixture_is_keepalived_good(path, tmp_path):
    """`keepalived -t` exits 0 on every fixture we call good, inside a netns holding its interfaces."""
    cfg = config.load(path)
    ns = "fvcfg-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
    try:
        names = _interfaces(cfg)
        if len(names) % 2:
            names.append("fvfill0")
        for a, b in zip(names[0::2], names[1::2]):
            subprocess.run(["ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b], check=True, timeout=20)
            for dev in (a, b):
                subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True, timeout=20)
        proc = subprocess.run(["ip", "netns", "exec", ns, "keepalived", "-t", "-n", "-l", "-f", os.path.abspath(path),
                               "-p", str(tmp_path / "k.pid"), "-r", str(tmp_path / "v.pid")],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, "keepalived -t rejected %s:\n%s%s" % (path, proc.stdout, proc.stderr)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)
