"""The collection builds with ansible-galaxy, installs, and ansible-doc renders what it installed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def _run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    _run([str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)])
    tarballs = list(work.glob("floating-vip-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    dest = work / "collections"
    # Only the fresh install may be visible: `make test` points ANSIBLE_COLLECTIONS_PATH at the checkout,
    # where ansible-galaxy would find floating.vip "already installed" and install nothing.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(dest))
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(dest), str(tarballs[0])], env=env)
    return dest


def test_tarball_leaves_out_development_files(installed):
    root = installed / "ansible_collections" / "floating" / "vip"
    assert (root / "MANIFEST.json").is_file()
    for unwanted in (".ci", "hack", ".build", "tests/output"):
        assert not (root / unwanted).exists(), unwanted


def test_modules_present():
    assert {"vip_alias", "vip_secondary"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_installed_module(installed, module):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))
    out = _run([str(BIN / "ansible-doc"), "-t", "module", "floating.vip." + module], env=env).stdout
    assert "floating.vip." + module in out
    assert "OPTIONS" in out and "EXAMPLES" in out and "RETURN VALUES" in out
