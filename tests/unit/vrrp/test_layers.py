"""The layering of docs/development.md, held by the imports: the pure files (wire format, state machine,
supervisor, tracking arithmetic, GARP pacing, config model and renderer) import nothing that does I/O; the
config package imports nothing that talks to the network or runs processes (it reads files and nothing else);
modules import only Ansible and module_utils."""

from __future__ import absolute_import, division, print_function

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins")
ENGINE = os.path.join(ROOT, "module_utils", "vrrp")

IO_MODULES = {"socket", "asyncio", "subprocess", "select", "selectors", "signal", "threading", "multiprocessing",
              "time", "pyroute2", "ssl", "smtplib", "http", "urllib", "ctypes", "fcntl", "pwd", "grp", "shutil",
              "importlib", "logging"}
PURE = ["packet.py", "machine.py", "supervisor.py", "tracking_rules.py", "garp.py", "config_model.py",
        "config_keywords.py", "config_render.py", "config_checks.py"]
# config.py and config_syntax.py read files (os, stat, glob) but nothing else
CONFIG = {"config.py": IO_MODULES, "config_syntax.py": IO_MODULES}


def _imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", PURE)
def test_pure_files_import_no_io(name):
    bad = (_imports(os.path.join(ENGINE, name)) & (IO_MODULES | {"os", "stat", "glob"}))
    assert not bad, "%s imports %s" % (name, sorted(bad))


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_config_reads_files_and_nothing_else(name):
    bad = _imports(os.path.join(ENGINE, name)) & CONFIG[name]
    assert not bad, "%s imports %s" % (name, sorted(bad))


def test_modules_import_only_ansible_and_module_utils():
    modules = os.path.join(ROOT, "modules")
    allowed = {"__future__", "ansible", "ansible_collections", "typing", "traceback"}
    for name in sorted(os.listdir(modules)):
        if name.endswith(".py") and name != "__init__.py":
            bad = _imports(os.path.join(modules, name)) - allowed
            assert not bad, "plugins/modules/%s imports %s: its logic belongs in module_utils" % (name, sorted(bad))


def test_the_scan_sees_an_io_import(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("import socket\nfrom asyncio import sleep\nfrom . import packet\n")
    assert _imports(str(path)) == {"socket", "asyncio"}
