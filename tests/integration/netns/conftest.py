# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `netns` fixture for tests of netlink and AF_PACKET code (root: these are integration tests).

Builds a throwaway network namespace (veth pair, 198.51.100.0/24 and 2001:db8::/32 only) in which
the netlink and AF_PACKET code runs for real. The namespace is always deleted.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from ..conftest import ensure_collection_link

# The tests here import the collection, and their subprocesses get the same root.
COLLECTIONS = ensure_collection_link()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

MU = "ansible_collections.floating.vip.plugins.module_utils"


def _can_netns():
    return os.geteuid() == 0 and shutil.which("ip") is not None


needs_netns = pytest.mark.skipif(not _can_netns(), reason="needs root and iproute2 for a throwaway netns")


def _ip(*args, ns=None, check=True):
    cmd = ["ip"] + (["netns", "exec", ns, "ip"] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=20)


class Netns:
    """A namespace with veth pair `vip0` (code under test) <-> `peer0` (observer)."""

    def __init__(self, name):
        self.name = name
        self.dev = "vip0"
        self.peer = "peer0"
        self.collections = COLLECTIONS

    def ip(self, *args, check=True):
        return _ip(*args, ns=self.name, check=check)

    def python(self, code, timeout=60, env=None):
        """Run Python code inside the namespace; the code prints one JSON document on its last line."""
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = COLLECTIONS + os.pathsep + full_env.get("PYTHONPATH", "")
        full_env.update(env or {})
        proc = subprocess.run(["ip", "netns", "exec", self.name, sys.executable, "-c", textwrap.dedent(code)],
                              capture_output=True, text=True, timeout=timeout, env=full_env, check=False)
        if proc.returncode != 0:
            raise AssertionError("netns python failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def run(self, argv, timeout=60, **kwargs):
        return subprocess.run(["ip", "netns", "exec", self.name] + list(argv), capture_output=True, text=True,
                              timeout=timeout, check=False, **kwargs)

    def addrs(self, dev=None):
        out = json.loads(self.ip("-j", "addr", "show", "dev", dev or self.dev).stdout)
        return sorted("%s/%s" % (a["local"], a["prefixlen"]) + ((" " + a["label"]) if a.get("label") else "")
                      for a in out[0]["addr_info"] if a.get("scope") != "link")


@pytest.fixture
def netns():
    if not _can_netns():
        pytest.skip("needs root and iproute2 for a throwaway netns")
    name = "fvu-" + uuid.uuid4().hex[:8]
    _ip("netns", "add", name)
    try:
        ns = Netns(name)
        ns.ip("link", "add", ns.dev, "type", "veth", "peer", "name", ns.peer)
        for dev in (ns.dev, ns.peer, "lo"):
            ns.ip("link", "set", dev, "up")
        # Deterministic MACs make frame assertions readable.
        ns.ip("link", "set", ns.dev, "address", "02:00:5e:10:00:01")
        ns.ip("link", "set", ns.peer, "address", "02:00:5e:10:00:02")
        ns.ip("addr", "add", "198.51.100.1/24", "dev", ns.dev)
        ns.ip("addr", "add", "198.51.100.2/24", "dev", ns.peer)
        yield ns
    finally:
        _ip("netns", "del", name, check=False)
