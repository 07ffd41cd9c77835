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


def _module_level(tree):
    """The nodes that run when the module is imported: not the bodies of its functions (a deferred import there,
    such as config.py's extension hook, is a documented choice of the caller, not a layer's dependency)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo += [child for child in ast.iter_child_nodes(node)
                 if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]


def _relative_targets(path):
    """The files that path imports relatively when it is imported (from . import x, from .x import y, from ..x)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = []
    for node in _module_level(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = os.path.dirname(path)
            for _up in range(node.level - 1):
                base = os.path.dirname(base)
            parts = node.module.split(".") if node.module else []
            stem = os.path.join(base, *parts)
            candidates = [stem + ".py"] if parts else []
            candidates += [os.path.join(stem, a.name + ".py") for a in node.names]
            found += [c for c in candidates if os.path.isfile(c)]
    return found


def _reached(path):
    """path and every file it imports relatively at module level, and so on."""
    seen, todo = set(), [os.path.abspath(path)]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += [os.path.abspath(t) for t in _relative_targets(current)]
    return seen


@pytest.mark.parametrize("name", PURE)
def test_pure_files_reach_no_io_through_the_files_they_import(name):
    """A relative import is no way around the rule: everything a pure file imports, and what that imports, does
    no I/O (the configuration's file readers, which config_render's keyword table lives in, read files only).
    A GARP pacer that imported the event loop's timer module to schedule on time was such a way around."""
    for path in sorted(_reached(os.path.join(ENGINE, name))):
        allowed = CONFIG.get(os.path.basename(path)) if os.path.dirname(path) == os.path.abspath(ENGINE) else None
        bad = _imports(path) & (IO_MODULES if allowed is not None else IO_MODULES | {"os", "stat", "glob"})
        assert not bad, "%s reaches %s, which imports %s" % (name, os.path.relpath(path, ROOT), sorted(bad))


def test_the_reach_follows_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "io_part.py").write_text("import asyncio\n")
    (pkg / "sub" / "pure.py").write_text("from .. import io_part\nfrom .other import x\n\n\ndef later():\n    from . import deferred\n")
    (pkg / "sub" / "deferred.py").write_text("import socket\n")
    (pkg / "sub" / "other.py").write_text("x = 1\n")
    reached = {os.path.relpath(p, str(pkg)) for p in _reached(str(pkg / "sub" / "pure.py"))}
    assert reached == {"io_part.py", os.path.join("sub", "pure.py"), os.path.join("sub", "other.py")}


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
