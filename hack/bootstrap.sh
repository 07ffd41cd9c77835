#!/usr/bin/env bash
# Installs everything `make demo` and `make test` need on a fresh Debian 12 root machine:
# Debian packages, then a venv pinned to requirements/*.txt. Idempotent; reuses the cached venv
# when its requirements hash matches, rebuilds it otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/floating-vip/venv}"
# podman/runc/debootstrap: Molecule scenarios build their images locally (no registry here).
# prometheus (with promtool): the metrics tests scrape vipd with a real server in a lab namespace.
# frr: the routed-VIP tests run zebra/bgpd/bfdd per lab namespace.
APT_PACKAGES=(iproute2 iputils-ping arping tcpdump nftables keepalived frr python3-venv kmod podman runc debootstrap uidmap prometheus)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # policy-rc.d keeps apt from starting keepalived's, FRR's and prometheus' own system services: tests run their own.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
for service in keepalived frr prometheus; do
  if command -v systemctl >/dev/null && systemctl is-enabled "$service" >/dev/null 2>&1; then
    systemctl disable --now "$service" >/dev/null 2>&1 || true
  fi
done

want=$(cat requirements/*.txt | sha256sum | cut -c1-16)
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements-hash" 2>/dev/null)" != "$want" ]]; then
  echo "bootstrap: creating venv $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements/test.txt -r requirements/molecule.txt 2> >(grep -v "is ignored: it is neither" >&2)
  echo "$want" >"$VENV/.requirements-hash"
fi

# ansible-test --venv downloads a pip bootstrap script from a host this machine cannot reach;
# ensurepip does the same job offline (ENV.md).
pipver=$(grep -oP "pip='\K[0-9.]+" "$VENV"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
if [[ -n "$pipver" ]]; then
  stub="$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"
  if [[ ! -s "$stub" ]]; then
    mkdir -p "$(dirname "$stub")"
    echo 'import ensurepip; ensurepip.bootstrap()' >"$stub"
  fi
fi

# The collection must sit under ansible_collections/floating/vip for ansible and ansible-test.
mkdir -p .build/collections/ansible_collections/floating
ln -sfn ../../../.. .build/collections/ansible_collections/floating/vip
echo "bootstrap: ready (venv $VENV)"
