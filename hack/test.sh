#!/usr/bin/env bash
# Everything `make test` runs, in order: sanity, lint, then every pytest suite (the last line is pytest's count).
# The Molecule scenarios (6-7 minutes) start first, in the background, beside sanity, lint and the unit tests; the
# integration tests wait for them before their first test (tests/integration/molecule_runs.py).
set -euo pipefail
cd "$(dirname "$0")/.."
MOLECULE_RUNS=$(mktemp -d /tmp/floating-vip-molecule.XXXXXX)
python -m tests.integration.molecule_runs "$MOLECULE_RUNS" > "$MOLECULE_RUNS/runner.log" 2>&1 &
MOLECULE_PID=$!
stop_molecule() {
  # a failed step before pytest collected them: end the runner (it removes its containers), then its files
  if kill -0 "$MOLECULE_PID" 2> /dev/null; then
    kill -TERM "$MOLECULE_PID" 2> /dev/null || true
    for _ in $(seq 1 120); do kill -0 "$MOLECULE_PID" 2> /dev/null || break; sleep 1; done
  fi
  rm -rf "$MOLECULE_RUNS"
}
trap stop_molecule EXIT
export FLOATING_VIP_MOLECULE_DIR="$MOLECULE_RUNS" FLOATING_VIP_MOLECULE_PID="$MOLECULE_PID"
echo "== Molecule scenarios: started in the background (pid $MOLECULE_PID)"
echo "== ansible-test sanity"
hack/sanity.sh
echo "== ansible-lint (production profile, offline)"
ansible-lint --offline --profile production playbooks roles
echo "== pytest (unit, integration on the namespace lab)"
export FLOATING_VIP_NO_SKIP=1  # tests/conftest.py: a skip fails the run
status=0
# --durations: where the run's time goes (about 24 of its 36 minutes are the integration tests)
python -m pytest tests/unit tests/integration -ra --durations=20 "$@" || status=$?
exit "$status"
