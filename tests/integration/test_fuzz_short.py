# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The short coverage-guided fuzz of `make test`: each atheris harness (tests/fuzz) runs ~20 s from the
fixture seed corpus and must end with no finding. Needs no root; it lives here because it takes time.
Longer runs: docs/fuzzing.md."""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(REPO, "tests", "fuzz", "run.py")
SECONDS = 20


@pytest.mark.parametrize("target", ["packet", "config"])
def test_short_fuzz_finds_nothing(target, tmp_path):
    proc = subprocess.run([sys.executable, RUNNER, "--seconds", str(SECONDS), "--target", target, "--workdir", str(tmp_path)],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=SECONDS + 240, check=False)
    out = proc.stdout + proc.stderr
    base = tmp_path / target
    findings = [p for pat in ("crash-*", "timeout-*", "oom-*", "leak-*", "slow-unit-*") for p in glob.glob(str(base / pat))]
    assert proc.returncode == 0 and not findings, "fuzz %s found something:\n%s\n%s" % (target, findings, out[-4000:])
    # it really fuzzed: seeded from the fixtures, and ran many inputs through the harness
    assert len(glob.glob(str(base / "corpus" / "seed-*"))) >= 5, out
    with open(base / "fuzz.log", encoding="utf-8", errors="replace") as log:
        runs = [int(n) for n in re.findall(r"stat::number_of_executed_units: (\d+)", log.read())]
    assert runs and runs[-1] >= 1000, "too few executions: %r\n%s" % (runs, out[-2000:])
