#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout placed under ansible_collections/floating/vip.
# ansible-test resolves real paths (a symlink is not enough) and skips trees under hidden directories,
# so the copy lives in the cache; its tests/output (ansible-test's venvs) is kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${XDG_CACHE_HOME:-$HOME/.cache}/floating-vip/sanity"
dest="$root/ansible_collections/floating/vip"
mkdir -p "$dest"
if [[ -d "$dest/tests/output" ]]; then mv "$dest/tests/output" "$root/output.keep"; fi
rm -rf "$dest" && mkdir -p "$dest"
tar -c --exclude=./.build --exclude=./.git --exclude=./tests/output --exclude='__pycache__' \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude='.hypothesis' . | tar -x -C "$dest"
if [[ -d "$root/output.keep" ]]; then mv "$root/output.keep" "$dest/tests/output"; fi
cd "$dest"
ansible-test sanity --venv --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    --color no "$@"
