# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Makes `ansible_collections.floating.vip` importable from the checkout for every unit test."""
from __future__ import annotations

import os
import sys
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _collections_root():
    root = os.path.join(REPO, ".build", "collections")
    plugins = os.path.join(root, "ansible_collections", "floating", "vip", "plugins")
    if os.path.isdir(plugins) and os.path.samefile(plugins, os.path.join(REPO, "plugins")):
        return root
    # Fresh checkout without `make setup`: a private link pointing at this checkout.
    root = tempfile.mkdtemp(prefix="fvu-coll-")
    os.makedirs(os.path.join(root, "ansible_collections", "floating"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "floating", "vip"))
    return root


COLLECTIONS = _collections_root()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture(autouse=True)
def _keep_umask():
    """vipd sets the process umask from the config (keepalived's umask, default 0177); tests that run a Daemon's
    reload in this process must not change the mode of files later tests create."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)
