# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vrrp role with a routed instance against the namespace lab (vipd in pidfile mode, each host's own /etc):
vipd runs the vipd_routed block, the master holds the VIP as proto 201 routes, the FRR block lands in the host's
/etc/frr/frr.conf (and stays put on a re-run), a routed VIP inside the lab's shared subnet warns, and the
keepalived back end refuses a routed instance before anything is deployed."""
from __future__ import annotations

import json
import os

import pytest

from tests.lab import wait_until

from .conftest import REPO, run_playbook

pytestmark = pytest.mark.lab

VIP = "198.51.100.77"  # inside the lab's 198.51.100.0/24: the role warns


def routed_play(backend: str = "vipd") -> str:
    return """---
- name: Routed VIP on the lab's servers
  hosts: servers
  gather_facts: false
  vars:
    peers: {server1: 198.51.100.11, server2: 198.51.100.12}
  pre_tasks:
    - name: Namespace-lab settings
      ansible.builtin.include_vars: %s
  roles:
    - role: floating.vip.vrrp
      vars:
        vrrp_backend: %s
        vrrp_instances:
          - name: VIP_R
            interface: eth0
            virtual_router_id: 14
            priority: "{{ 150 if inventory_hostname == 'server1' else 100 }}"
            version: 3
            advert_int: 0.2
            unicast_src_ip: "{{ peers[inventory_hostname] }}"
            unicast_peers: "{{ peers | dict2items | rejectattr('key', 'equalto', inventory_hostname) | map(attribute='value') | list }}"
            virtual_ipaddresses: [%s]
            routed: {protocol: 201}
        vrrp_routed_bgp_asn: "{{ 65001 if inventory_hostname == 'server1' else 65002 }}"
        vrrp_routed_bgp_neighbors:
          - {address: 198.51.100.1, remote_as: 65000}
""" % (os.path.join(REPO, "playbooks", "vars", "vrrp_lab.yml"), backend, VIP)


def local_routes(lab, host):
    proc = lab.run(host, ["ip", "-j", "route", "show", "table", "local", "proto", "201"])
    return [r.get("dst") for r in json.loads(proc.stdout or "[]")]


def test_role_deploys_a_routed_instance_and_the_frr_block(lab):
    first = run_playbook(lab, routed_play())
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    warnings = [w for res in first.results.get("server1", []) for w in res.get("warnings", [])]
    assert any("routed VIP %s lies in eth0's subnet 198.51.100.0/24" % VIP in w for w in warnings), warnings
    wait_until(lambda: local_routes(lab, "server1") == [VIP] and local_routes(lab, "server2") == [], timeout=15,
               interval=0.1, what="server1 holding the routed VIP")
    frr_conf = lab.read_etc("server1", "/etc/frr/frr.conf")
    assert "! BEGIN floating.vip routed VIPs\n" in frr_conf and "! END floating.vip routed VIPs\n" in frr_conf
    assert "ip prefix-list FLOATING-VIP-V4 seq 5 permit %s/32\n" % VIP in frr_conf
    assert "router bgp 65001\n" in frr_conf and " neighbor 198.51.100.1 remote-as 65000\n" in frr_conf
    assert "router bgp 65002\n" in lab.read_etc("server2", "/etc/frr/frr.conf")
    assert "bgpd=yes" in (lab.read_etc("server1", "/etc/frr/daemons") or "")
    conf = lab.read_etc("server1", "/etc/vipd/vipd.conf")
    assert "    vipd_routed {\n        protocol 201\n    }\n" in conf
    again = run_playbook(lab, routed_play())
    assert again.rc == 0 and again.changed("server1") == 0, again.stdout[-3000:]


def test_keepalived_backend_refuses_a_routed_instance(lab):
    run = run_playbook(lab, routed_play("keepalived"))
    assert run.rc != 0
    failed = [res for res in run.results.get("server1", []) if res.get("failed")]
    assert failed and "routed VIPs (vipd_routed) are vipd's own: keepalived has no route mode" in failed[0].get("msg", ""), failed
    assert lab.read_etc("server1", "/etc/frr/frr.conf") in (None, "") or "floating.vip" not in lab.read_etc("server1", "/etc/frr/frr.conf")
