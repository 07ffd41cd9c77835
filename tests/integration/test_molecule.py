# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Molecule scenarios (extensions/molecule) run from pytest, so CI counts them.

The scenarios run side by side, ``molecule test -s NAME`` each from the collection root (molecule finds the
scenarios under extensions/molecule/ because galaxy.yml is there): destroy, syntax, create, converge,
idempotence, verify, destroy. One test per scenario reports its result. The systemd image is built once with
extensions/molecule/images/build.sh, or reused. hack/test.sh starts all that in the background before the
suite (molecule_runs.py); these tests then read its results.
"""
from __future__ import annotations

import os

import pytest

from tests.integration import molecule_runs as runs

pytestmark = [pytest.mark.molecule]


@pytest.fixture(scope="module")
def molecule_image():
    if os.geteuid() != 0:
        pytest.skip("the Molecule scenarios need root (rootful podman, debootstrap)")
    if not os.path.exists(os.path.join(runs.BIN, "molecule")):
        pytest.fail("molecule is not installed in %s: the bootstrap must install requirements/molecule.txt" % runs.BIN)
    if runs.background()[0] is None:
        proc = runs.build_image()
        assert proc.returncode == 0, "building the Molecule image failed (%s):\n%s" % (runs.BUILD, runs.tail(proc.stdout))
    return runs.IMAGE


@pytest.fixture(scope="module")
def molecule_runs(molecule_image, tmp_path_factory):
    """{scenario: [rc, output, left]}: from the background runner when hack/test.sh started one, else run here."""
    directory, pid = runs.background()
    if directory is None:
        return runs.run_scenarios(str(tmp_path_factory.mktemp("molecule")))
    results = runs.wait_results(directory, pid)
    assert "scenarios" in results, results.get("build_error") or results.get("runner_error")
    return results["scenarios"]


@pytest.mark.parametrize("scenario", [name for name, _prefix in runs.SCENARIOS])
def test_molecule_scenario(molecule_runs, scenario):
    rc, output, left = molecule_runs[scenario]
    assert rc == 0, "molecule test -s %s failed (rc %d); last %d lines:\n%s" % (scenario, rc, runs.TAIL_LINES, runs.tail(output))
    for step in ("converge", "idempotence", "verify", "destroy"):
        assert "%s: Executed: Successful" % step in output, "molecule did not run %s successfully:\n%s" % (
            step, runs.tail(output))
    assert not left, "containers left behind after molecule test -s %s: %s" % (scenario, left)
