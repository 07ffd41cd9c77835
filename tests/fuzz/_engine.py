# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load plugins/module_utils as the package `vipd_engine`, as roles/vrrp/files/vipd does (no Ansible needed),
with atheris coverage instrumentation on the engine's own modules only."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENGINE_DIR = os.path.join(REPO, "plugins", "module_utils")
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures")


def load(*modules):
    """Import vipd_engine.<module> for each name, instrumented for atheris; returns them in order."""
    import atheris  # pylint: disable=import-outside-toplevel

    if "vipd_engine" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "vipd_engine", os.path.join(ENGINE_DIR, "__init__.py"), submodule_search_locations=[ENGINE_DIR])
        package = importlib.util.module_from_spec(spec)
        sys.modules["vipd_engine"] = package
        spec.loader.exec_module(package)
    with atheris.instrument_imports(include=["vipd_engine"]):
        return [importlib.import_module("vipd_engine." + name) for name in modules]
