#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout placed under ansible_collections/floating/vip
# (ansible-test resolves the real path, so a symlink is not enough).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/sanity/ansible_collections/floating/vip
rm -rf "$dest" && mkdir -p "$dest"
tar -c --exclude=./.build --exclude=./.git --exclude=./tests/output --exclude='__pycache__' \
    --exclude=./.pytest_cache . | tar -x -C "$dest"
cd "$dest"
ansible-test sanity --venv --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    --color no "$@"
