# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Molecule scenarios (extensions/molecule) run from pytest, so CI counts them.

The scenarios run side by side, ``molecule test -s NAME`` each from the collection root (molecule finds the
scenarios under extensions/molecule/ because galaxy.yml is there): destroy, syntax, create, converge,
idempotence, verify, destroy. One test per scenario reports its result. The systemd image is built once with
extensions/molecule/images/build.sh, or reused.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import ensure_collection_link

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(REPO, "extensions", "molecule")
CONTAINERS_CONF = os.path.join(MOLECULE_DIR, "containers.conf")
BUILD = os.path.join(MOLECULE_DIR, "images", "build.sh")
BIN = os.path.dirname(sys.executable)
TAIL_LINES = 120

pytestmark = [pytest.mark.molecule]


def _env() -> dict:
    env = dict(os.environ)
    env.update({
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "CONTAINERS_CONF": CONTAINERS_CONF,
        "ANSIBLE_COLLECTIONS_PATH": ensure_collection_link(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    })
    # molecule writes its own ansible.cfg into the scenario's ephemeral directory and points ANSIBLE_CONFIG at it.
    env.pop("ANSIBLE_CONFIG", None)
    return env


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                          timeout=120, check=False)


def _leftovers(prefix: str) -> list:
    """Containers and networks of ours still present (every one in a scenario is named PREFIX...)."""
    names = []
    for container in json.loads(_podman("ps", "-a", "--format", "json").stdout or "[]"):
        names += [n for n in container.get("Names", []) if n.startswith(prefix)]
    names += [n for n in _podman("network", "ls", "--format", "{{.Name}}").stdout.split() if n.startswith(prefix.rstrip("-"))]
    return names


def _clean_up(scenario: str, prefix: str) -> list:
    """After molecule died before its own destroy: molecule destroy, then podman directly (molecule may be what broke)."""
    if not _leftovers(prefix):
        return []
    subprocess.run([os.path.join(BIN, "molecule"), "destroy", "-s", scenario], cwd=REPO, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=_env(), timeout=300, check=False)
    left = _leftovers(prefix)
    for name in left:
        if _podman("container", "exists", name).returncode == 0:
            _podman("rm", "--force", "--time", "5", name)
    for name in left:
        if _podman("network", "exists", name).returncode == 0:
            _podman("network", "rm", name)
    return left


@pytest.fixture(scope="module")
def molecule_image():
    if os.geteuid() != 0:
        pytest.skip("the Molecule scenarios need root (rootful podman, debootstrap)")
    if not os.path.exists(os.path.join(BIN, "molecule")):
        pytest.fail("molecule is not installed in %s: the bootstrap must install requirements/molecule.txt" % BIN)
    proc = subprocess.run([BUILD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), timeout=1200,
                          check=False)
    assert proc.returncode == 0, "building the Molecule image failed (%s):\n%s" % (BUILD, _tail(proc.stdout))
    return "localhost/floating-vip-systemd:bookworm"


SCENARIOS = [
    ("default", "fv-mol-default-"),
    ("keepalived_mix", "fv-mol-kamix-"),
    ("group_peers", "fv-mol-peers-"),
]
SCENARIO_TIMEOUT = 1500


@pytest.fixture(scope="module")
def molecule_runs(molecule_image, tmp_path_factory):
    """``molecule test`` of every scenario, side by side: each has its own container names, podman network,
    subnet (203.0.113.16/28, .32/28, .48/28) and ephemeral directory, so they share nothing but the image,
    and the wall time is the slowest scenario's rather than the sum. Returns {scenario: (rc, output, left)}."""
    assert shutil.which("podman"), "podman is missing although the image build installs it"
    logs = tmp_path_factory.mktemp("molecule")
    running = {}
    results = {}
    try:
        for scenario, _prefix in SCENARIOS:
            log = open(os.path.join(str(logs), scenario + ".log"), "w")
            running[scenario] = (subprocess.Popen([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=REPO,
                                                  stdout=log, stderr=subprocess.STDOUT, text=True, env=_env()), log)
        deadline = time.monotonic() + SCENARIO_TIMEOUT  # one bound for all: they run at the same time
        for scenario, (proc, log) in running.items():
            try:
                rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait(timeout=60)
            log.close()
            with open(log.name) as f:
                results[scenario] = [rc, f.read(), []]
    finally:
        for scenario, (proc, log) in running.items():
            if proc.poll() is None:  # an exception above: end what we started
                proc.kill()
                proc.wait(timeout=60)
            log.close()
        # Each sequence ends with destroy; this only finds something when molecule itself died (timeout, crash).
        for scenario, prefix in SCENARIOS:
            left = _clean_up(scenario, prefix)
            if scenario in results:
                results[scenario][2] = left
    return results


@pytest.mark.parametrize("scenario", [name for name, _prefix in SCENARIOS])
def test_molecule_scenario(molecule_runs, scenario):
    rc, output, left = molecule_runs[scenario]
    assert rc == 0, "molecule test -s %s failed (rc %d); last %d lines:\n%s" % (scenario, rc, TAIL_LINES, _tail(output))
    for step in ("converge", "idempotence", "verify", "destroy"):
        assert "%s: Executed: Successful" % step in output, "molecule did not run %s successfully:\n%s" % (
            step, _tail(output))
    assert not left, "containers left behind after molecule test -s %s: %s" % (scenario, left)
