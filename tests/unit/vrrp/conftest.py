# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Makes `ansible_collections.floating.vip` importable from the checkout for the VRRP engine tests."""
from __future__ import annotations

import os
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures", "vrrp")


def _collections_root():
    root = os.path.join(REPO, ".build", "collections")
    plugins = os.path.join(root, "ansible_collections", "floating", "vip", "plugins")
    if os.path.isdir(plugins) and os.path.samefile(plugins, os.path.join(REPO, "plugins")):
        return root
    # fresh checkout without `make setup`: a private link pointing at this checkout
    root = tempfile.mkdtemp(prefix="fvu-vrrp-coll-")
    os.makedirs(os.path.join(root, "ansible_collections", "floating"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "floating", "vip"))
    return root


_ROOT = _collections_root()
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
