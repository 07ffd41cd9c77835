#!/usr/bin/env bash
# Everything `make test` runs, in order: sanity, lint, then every pytest suite (the last line is pytest's count).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ansible-test sanity"
hack/sanity.sh
echo "== ansible-lint (production profile, offline)"
ansible-lint --offline --profile production playbooks roles
echo "== pytest (unit, integration on the namespace lab)"
export FLOATING_VIP_NO_SKIP=1  # tests/conftest.py: a skip fails the run
exec python -m pytest tests/unit tests/integration -ra "$@"
