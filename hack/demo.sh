#!/usr/bin/env bash
# `make demo`: a lab of namespace hosts, a VIP alias on server1 persisted to rc.local and ifcfg, the client
# reaching it, then the VIP moved to server2 and the client's ARP entry following the gratuitous ARP alone.
# Then, on the same lab, a VRRP pair run by vipd fails over live and preempts back (hack/demo_vrrp.sh).
# Everything happens inside network namespaces this script creates (198.51.100.0/24) and is torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV="${VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/floating-vip/venv}"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$REPO/.build/collections"
export ANSIBLE_CONFIG="$REPO/tests/ansible.cfg"
export ANSIBLE_NOCOLOR=1
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

VIP=198.51.100.100
PLAYBOOK=playbooks/demo_static_vip.yml

[[ $(id -u) == 0 ]] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }

n=0
if [[ -t 1 ]]; then B=$'\033[1m' R=$'\033[0m'; else B="" R=""; fi
step() { n=$((n + 1)); printf '\n%s== Step %d: %s%s\n' "$B" "$n" "$1" "$R"; }
say() { printf '   %s\n' "$@"; }
# Shows a command and its output; a failing command is reported, not fatal (the checks below decide).
show() { printf '   $ %s\n' "$*"; { "$@" 2>&1 || echo "(exit status $?)"; } | sed 's/^/   | /'; }
lab() { python -m tests.lab "$@"; }
on() { local host=$1; shift; lab exec "$PREFIX" "$host" -- "$@"; }
neigh_mac() { ip -n "${PREFIX}client1" neigh show to "$VIP" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2 || true; }

PREFIX="" TCPDUMP_PID="" PROBER_PID="" WORK=$(mktemp -d /tmp/floating-vip-demo.XXXXXX)
cleanup() {
  local rc=$?
  [[ -n $TCPDUMP_PID ]] && kill "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  if [[ -n $PROBER_PID ]]; then kill "$PROBER_PID" 2>/dev/null; wait "$PROBER_PID" 2>/dev/null || true; fi
  if [[ -n $PREFIX ]]; then
    step "Tear the lab down"
    lab down "$PREFIX" && say "namespaces ${PREFIX}* and their /etc overlays are gone"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Build the lab: two servers and a client, each a network namespace with its own /etc"
PREFIX=$(lab up)
INVENTORY=$(lab path "$PREFIX" inventory)
say "All hosts sit on one bridge in namespace ${PREFIX}sw; nothing is added to this machine's own network."
show lab status "$PREFIX"
S1_MAC=$(python -c "from tests.lab import Lab; print(Lab.load('$PREFIX').mac('server1'))")
S2_MAC=$(python -c "from tests.lab import Lab; print(Lab.load('$PREFIX').mac('server2'))")
CLIENT_MAC=$(python -c "from tests.lab import Lab; print(Lab.load('$PREFIX').mac('client1'))")
say "Ansible reaches each host through its own namespaces (community.docker.nsenter): $INVENTORY"

step "Put VIP $VIP/24 on server1 as alias eth0:0, persisted to rc.local and ifcfg"
say "ansible-playbook -i INVENTORY $PLAYBOOK   (vip_owner defaults to server1)"
ansible-playbook -i "$INVENTORY" "$PLAYBOOK" | sed 's/^/   | /'
show on server1 ip addr show dev eth0 label eth0:0

step "What server1 will re-apply at boot (its own /etc; the real /etc is untouched)"
show on server1 cat /etc/rc.local
show on server1 cat /etc/sysconfig/network-scripts/ifcfg-eth0:0
say "This machine's own /etc/rc.local is $( [[ -e /etc/rc.local ]] && echo "present (not ours)" || echo "absent" ) - the lab hosts write to overlays."

step "The client reaches the VIP; its ARP entry is server1's MAC ($S1_MAC)"
show on client1 ping -n -c 2 -W 2 "$VIP"
show ip -n "${PREFIX}client1" neigh show to "$VIP"
[[ $(neigh_mac) == "$S1_MAC" ]] && say "OK: $VIP -> $S1_MAC (server1)" || { say "UNEXPECTED: $(neigh_mac)"; exit 1; }

step "Move the VIP: remove it from server1, add it on server2, which announces it with gratuitous ARP"
say "Meanwhile tcpdump watches ARP on the client, to show the client itself asks nothing."
ip netns exec "${PREFIX}client1" tcpdump -i eth0 -n -e -U -w "$WORK/arp.pcap" arp 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
say "ansible-playbook -i INVENTORY $PLAYBOOK -e vip_owner=server2"
ansible-playbook -i "$INVENTORY" "$PLAYBOOK" -e vip_owner=server2 | sed 's/^/   | /'
AFTER=$(neigh_mac)

step "Right after the play: the client's ARP entry for $VIP"
show ip -n "${PREFIX}client1" neigh show to "$VIP"
kill "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=""
say "ARP frames the client saw or sent during the move:"
show tcpdump -r "$WORK/arp.pcap" -n -e
requests=$(tcpdump -r "$WORK/arp.pcap" -n -e "ether src $CLIENT_MAC and arp[6:2] = 1" 2>/dev/null | wc -l)
if [[ $AFTER == "$S2_MAC" && $requests == 0 ]]; then
  say "OK: $VIP -> $S2_MAC (server2), learnt from server2's gratuitous ARP; the client sent $requests ARP requests."
else
  say "UNEXPECTED: entry $AFTER (server2 is $S2_MAC), client ARP requests: $requests"; exit 1
fi
show on server1 ip addr show dev eth0 label eth0:0
show on server2 ip addr show dev eth0 label eth0:0
show on client1 ping -n -c 2 -W 2 "$VIP"
say "server1's rc.local and ifcfg-eth0:0 no longer carry the VIP; server2's do:"
show on server1 ls /etc/sysconfig/network-scripts/
show on server1 cat /etc/rc.local
show on server2 cat /etc/sysconfig/network-scripts/ifcfg-eth0:0

# Part two, on the same lab: a VRRP pair with vipd, a hard failure under a 5 ms probe, preemption back.
# shellcheck source=hack/demo_vrrp.sh
source hack/demo_vrrp.sh
