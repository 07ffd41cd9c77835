# The second half of `make demo`, sourced by hack/demo.sh on the same lab (its helpers step/say/show/on,
# PREFIX, INVENTORY, S1_MAC, S2_MAC, WORK and its EXIT trap, which tears the lab down).
# server1 and server2 become a VRRP pair run by vipd (playbooks/vrrp_pair.yml); a client probes the VRRP
# VIP every 5 ms while server1 fails hard (vipd SIGKILLed, link cut), then restarted by re-running the play.

VRRP_VIP=198.51.100.50
VRRP_PLAYBOOK=playbooks/vrrp_pair.yml
# Where playbooks/vars/vrrp_lab.yml puts vipd on a lab host (its own /etc).
LAB_VIPD=(env VIPD_ENGINE_DIR=/etc/vipd/lab/module_utils python /etc/vipd/lab/vipd)
LAB_SOCK=/etc/vipd/lab/run/vipd.sock
LAB_PIDFILE=/etc/vipd/lab/run/vipd.pid

vrrp_mac() { ip -n "${PREFIX}client1" neigh show to "$VRRP_VIP" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2 || true; }
# The VRRP state of a server's instance, read from its vipd over the control socket; DOWN when none answers.
vrrp_state() {
  on "$1" "${LAB_VIPD[@]}" status --json --control-socket "$LAB_SOCK" 2>/dev/null \
    | python -c 'import json, sys; print(json.load(sys.stdin)["instances"][0]["state"])' 2>/dev/null || echo DOWN
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls, bounded in time and count; fails the demo on timeout.
wait_for() {
  local limit=$1 what=$2 i end=$((SECONDS + $1)); shift 2
  for ((i = 0; i < limit * 10 && SECONDS <= end; i++)); do "$@" && return 0; sleep 0.1; done
  say "UNEXPECTED: no $what within ${limit} s"; return 1
}
is_master() { [[ $(vrrp_state "$1") == MASTER ]]; }
elapsed_since() { python -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"; }
arp_is() { [[ $(vrrp_mac) == "$1" ]]; }
# The play's output is long: its recap is shown, all of it only when it fails.
play() {
  if ansible-playbook -i "$INVENTORY" "$@" >"$WORK/play.log" 2>&1; then
    sed -n '/PLAY RECAP/,$p' "$WORK/play.log" | sed '/^$/d; s/^/   | /'
  else
    sed 's/^/   | /' "$WORK/play.log"; say "UNEXPECTED: ansible-playbook $* failed"; return 1
  fi
}
fleet() {
  say "ansible-playbook -i INVENTORY playbooks/status.yml   (fails unless exactly one MASTER)"
  ansible-playbook -i "$INVENTORY" playbooks/status.yml >"$WORK/status.log" 2>&1 \
    || { sed 's/^/   | /' "$WORK/status.log"; say "UNEXPECTED: status.yml failed"; return 1; }
  # The fleet table is the debug message of one task; print just its lines.
  sed -n '/TASK \[Fleet table\]/,/TASK \[/p' "$WORK/status.log" | sed -n 's/^ *- \(HOST .*\|server.*\)$/\1/p' | sed 's/^/   | /'
}
# The prober (tests/benchmarks/prober.py) runs in the client's namespace until SIGINT, then prints JSON.
probe_start() {
  rm -f "$WORK/probe.ready"
  ip netns exec "${PREFIX}client1" python tests/benchmarks/prober.py "$VRRP_VIP" --interval 0.005 \
    --ready-file "$WORK/probe.ready" >"$WORK/probe.json" 2>"$WORK/probe.err" &
  PROBER_PID=$!
  wait_for 10 "prober start" test -e "$WORK/probe.ready"
}
probe_stop() {
  kill -INT "$PROBER_PID"; wait "$PROBER_PID" || true; PROBER_PID=""
  python - "$WORK/probe.json" <<'EOF' | sed 's/^/   | /'
import json, sys
r = json.load(open(sys.argv[1]))
lost = r["sent"] - r["received"] + r["late"]
print("probes sent %d, answered in time %d, lost %d (every %.0f ms)" % (r["sent"], r["sent"] - lost, lost, r["interval"] * 1000))
print("longest gap the client saw: %.1f ms%s" % (r["outage"] * 1000, " (still open!)" if r["gaps"] and r["gaps"][0].get("open") else ""))
EOF
}

step "Make server1 and server2 a VRRP pair for VIP $VRRP_VIP, run by vipd"
say "ansible-playbook -i INVENTORY $VRRP_PLAYBOOK   (VIP ${VRRP_VIP}/24, VRID 50)"
say "server1 comes first: priority 150; server2: 140. On the lab, vipd runs from each host's own /etc."
play "$VRRP_PLAYBOOK" -e "vrrp_pair_vip=${VRRP_VIP}/24"
say "Both start in BACKUP; server1 takes over after Master_Down_Interval (3 x 1 s + skew)."
wait_for 10 "MASTER on server1" is_master server1

step "Who is master: the fleet table from floating.vip.vrrp_info"
fleet
show on server1 "${LAB_VIPD[@]}" status --control-socket "$LAB_SOCK"

step "The client reaches $VRRP_VIP; its ARP entry is server1's MAC ($S1_MAC)"
show on client1 ping -n -c 2 -W 2 "$VRRP_VIP"
show ip -n "${PREFIX}client1" neigh show to "$VRRP_VIP"
arp_is "$S1_MAC" && say "OK: $VRRP_VIP -> $S1_MAC (server1)" || { say "UNEXPECTED: $(vrrp_mac)"; exit 1; }

step "Hard failure of server1: its vipd SIGKILLed and its link cut, while the client probes the VIP every 5 ms"
probe_start
sleep 0.5
VIPD_PID=$(on server1 cat "$LAB_PIDFILE")
say "server1's vipd is PID $VIPD_PID (in server1's PID namespace):  kill -KILL $VIPD_PID"
KILLED_AT=$EPOCHREALTIME
on server1 kill -KILL "$VIPD_PID"
say "and the host drops off the network:  ip link set eth0 down"
on server1 ip link set eth0 down
say "No priority-0 advert goes out: server2 notices only when the adverts stop, after"
say "Master_Down_Interval = 3 x 1 s + (256 - 140)/256 s = 3.45 s; then it adds the VIP and sends gratuitous ARP."
wait_for 10 "MASTER on server2" is_master server2
say "server2 reports MASTER $(elapsed_since "$KILLED_AT") s after the kill (polled through its control socket; the"
say "interval runs from server1's last advert, which went out up to 1 s before the kill)."
wait_for 5 "client ARP entry -> server2" arp_is "$S2_MAC"
sleep 1
probe_stop
say "The longest gap above is the client-visible outage of a dead master: about Master_Down_Interval,"
say "the floor the protocol sets (keepalived's is the same: see the hard-failure rows in docs/benchmarks.md)."

step "After the failover: server2 is master and the client's ARP entry is server2's MAC ($S2_MAC)"
fleet
show ip -n "${PREFIX}client1" neigh show to "$VRRP_VIP"
arp_is "$S2_MAC" && say "OK: $VRRP_VIP -> $S2_MAC (server2), learnt from server2's gratuitous ARP" || { say "UNEXPECTED: $(vrrp_mac)"; exit 1; }
say "A killed daemon cannot clean up: server1 still holds the address on its dead link;"
say "its vipd removes it when it starts again, before it takes anything back."
show on server1 ip -br addr show dev eth0

step "server1 comes back: link up, vipd restarted (re-run the play); watch it preempt: priority 150 > 140"
on server1 ip link set eth0 up
probe_start
say "ansible-playbook -i INVENTORY $VRRP_PLAYBOOK   (the play starts vipd again where it is not running)"
play "$VRRP_PLAYBOOK" -e "vrrp_pair_vip=${VRRP_VIP}/24"
say "server1's vipd starts in BACKUP and removes the address it left behind; it ignores server2's lower"
say "priority adverts, so after its own Master_Down_Interval it takes over and sends gratuitous ARP,"
say "and server2 steps back to BACKUP when it sees server1's higher-priority advert."
wait_for 15 "MASTER on server1 again" is_master server1
wait_for 5 "client ARP entry -> server1" arp_is "$S1_MAC"
sleep 1
probe_stop
fleet
show ip -n "${PREFIX}client1" neigh show to "$VRRP_VIP"
arp_is "$S1_MAC" && say "OK: $VRRP_VIP -> $S1_MAC (server1) again, through its gratuitous ARP" || { say "UNEXPECTED: $(vrrp_mac)"; exit 1; }
