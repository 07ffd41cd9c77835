#!/usr/bin/env bash
# Builds the local image the Molecule scenarios run: Debian bookworm with systemd as init, Python,
# the distro's pyroute2, keepalived (for keepalived_mix) and the client's tools. There is no registry here,
# and the scenario network is internal (no route out), so everything a scenario needs is baked in.
#
# Usage: extensions/molecule/images/build.sh [--force]
# Reuses the image when `podman image exists` says it is there AND its recipe label matches this script's
# package list (change the list and the next run rebuilds). Idempotent; safe to run concurrently (flock).
set -euo pipefail

IMAGE="${FLOATING_VIP_MOLECULE_IMAGE:-localhost/floating-vip-systemd:bookworm}"
SUITE=bookworm
# python3-apt: the role's apt tasks then run without Ansible trying to install it over the network.
PACKAGES=(
  python3 python3-apt python3-pyroute2 iproute2 systemd systemd-sysv dbus procps
  keepalived iputils-ping arping
)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$HERE/../containers.conf}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { echo "images/build.sh: $*" >&2; }

need=()
for p in podman runc debootstrap; do command -v "$p" >/dev/null || need+=("$p"); done
if ((${#need[@]})); then
  log "installing Debian packages: podman runc debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q podman runc debootstrap >/dev/null
fi

recipe=$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" | sha256sum | cut -c1-16)

current_recipe() {
  podman image inspect --format '{{ index .Config.Labels "floating.vip.recipe" }}' "$IMAGE" 2>/dev/null || true
}

# One build at a time: two scenarios started together must not debootstrap twice into the same tag.
exec 9>/var/lock/floating-vip-molecule-image.lock
flock -w 900 9 || { log "timed out waiting for another build"; exit 1; }

if ((FORCE == 0)) && podman image exists "$IMAGE" && [[ "$(current_recipe)" == "$recipe" ]]; then
  log "reusing $IMAGE (recipe $recipe)"
  exit 0
fi

# The Debian mirror this machine's apt uses (the only one reachable); deb.debian.org otherwise.
mirror="${DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
  mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$mirror" ]] || mirror=$(awk '/^deb / && $0 ~ / bookworm / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
fi

root=$(mktemp -d /var/tmp/floating-vip-rootfs.XXXXXX)
cleanup() { umount -R "$root/proc" 2>/dev/null || true; rm -rf --one-file-system "$root"; }
trap cleanup EXIT

log "debootstrap $SUITE from $mirror into $root"
start=$SECONDS
include=$(IFS=,; echo "${PACKAGES[*]}")
if ! debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$mirror" >"$root.log" 2>&1; then
  tail -30 "$root.log" >&2
  rm -f "$root.log"
  exit 1
fi
rm -f "$root.log"

# Trim what a test container never uses and what would make every container look alike.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname"
# No consoles or login prompts in a container; the rest of systemd stays stock.
for unit in getty.target console-getty.service systemd-logind.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

log "importing as $IMAGE"
tar -C "$root" -c . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL floating.vip.recipe=$recipe" \
  - "$IMAGE" >/dev/null
log "built $IMAGE in $((SECONDS - start)) s (recipe $recipe)"
