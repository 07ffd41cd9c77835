# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed-node Python matrix (docs/development.md, "Supported Pythons") and how the tests find it.

Interpreters: FLOATING_VIP_PYTHON_3_6 (etc.) when set, else pyenv's ~/.pyenv/versions/3.6.*/bin/python, else
python3.6 on PATH (pyenv's shims excluded: they fail for versions that are not selected). A listed one that is
missing fails the tests; nothing is skipped.

pyroute2 per interpreter: wheels downloaded once with the controller's pip (PyPI) and unpacked under
~/.cache/floating-vip/target-pythons/X.Y/, put on PYTHONPATH of the driver only; no system Python is touched.
pyroute2 0.9 needs 3.9+, so 3.6-3.8 get 0.7.3 (with importlib_metadata below 3.8, as pyroute2 asks).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import zipfile
from typing import List, Optional

STATIC_VIP_PYTHONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
VIPD_PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
RUNTIME_PYROUTE2 = "pyroute2==0.9.7"  # requirements/runtime.txt
OLD_PYROUTE2 = ["pyroute2==0.7.3"]
PY36_37_EXTRA = ["importlib_metadata==4.8.3", "zipp==3.6.0", "typing_extensions==4.1.1"]
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "floating-vip", "target-pythons")


def pins(version: str) -> List[str]:
    minor = int(version.split(".")[1])
    if minor >= 9:
        return [RUNTIME_PYROUTE2]
    return OLD_PYROUTE2 + (PY36_37_EXTRA if minor < 8 else [])


def find(version: str) -> Optional[str]:
    override = os.environ.get("FLOATING_VIP_PYTHON_" + version.replace(".", "_"))
    if override:
        return override if os.access(override, os.X_OK) else None
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.[0-9]*/bin/python" % version)))
    if found:
        return found[-1]
    path = shutil.which("python" + version)
    if path and "/shims/" not in path:
        return path
    return None


def missing_message(version: str) -> str:
    return ("Python %s is part of the supported matrix but was not found (FLOATING_VIP_PYTHON_%s, "
            "~/.pyenv/versions/%s.*, python%s on PATH): install it, e.g. `pyenv install %s` (docs/development.md)"
            % (version, version.replace(".", "_"), version, version, version))


def site_dir(version: str) -> str:
    """A directory holding pyroute2 (and what it needs) for this Python, downloaded and unpacked once."""
    wanted = pins(version)
    target = os.path.join(CACHE, version)
    stamp = os.path.join(target, ".pins")
    try:
        with open(stamp) as handle:
            if handle.read().split() == wanted:
                return target
    except OSError:
        pass
    wheels = os.path.join(CACHE, "wheels")
    os.makedirs(wheels, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
                           "--only-binary=:all:", "--python-version", version, "-d", wheels] + wanted,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError("cannot download %s for Python %s: %s" % (" ".join(wanted), version, proc.stderr[-1500:]))
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    for pin in wanted:
        name, ver = pin.split("==")
        matches = glob.glob(os.path.join(wheels, "%s-%s-*.whl" % (name.replace("-", "_"), ver)))
        if not matches:
            raise RuntimeError("no wheel for %s in %s" % (pin, wheels))
        with zipfile.ZipFile(matches[0]) as wheel:
            wheel.extractall(target)
    with open(stamp, "w") as handle:
        handle.write(" ".join(wanted) + "\n")
    return target
