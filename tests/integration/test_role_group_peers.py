# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vrrp role renders unicast_peer from an inventory group (vrrp_unicast_peers_from_group): ansible-playbook on a
three-host local inventory, no lab; each host's file lists the two others and passes `vipd check`, and a member
without the address variable fails the role naming it."""
from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO, ansible_env

LAUNCHER = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
ADDR = {"db1": "198.51.100.11", "db2": "198.51.100.12", "db3": "198.51.100.13"}

PLAY = """---
- name: Render the role's configuration for each member of dbservers
  hosts: dbservers
  connection: local
  gather_facts: false
  vars:
    vrrp_unicast_peers_from_group: dbservers
    vrrp_unicast_peer_address_var: vrrp_address
    vrrp_instances:
      - {name: VI_DB, interface: eth0, virtual_router_id: 51, priority: 100,
         unicast_src_ip: "{{ vrrp_address }}", virtual_ipaddresses: ["198.51.100.50/24"]}
      - {name: VI_OTHER, interface: eth0, virtual_router_id: 52, virtual_ipaddresses: ["198.51.100.51/24"],
         unicast_peers_from_group: "", unicast_peers: ["198.51.100.99"]}
  tasks:
    - name: The role's validation (it resolves the peers)
      ansible.builtin.include_role:
        name: floating.vip.vrrp
        tasks_from: validate
        public: true
    - name: The role's template
      ansible.builtin.template:
        src: %(template)s
        dest: "%(out)s/{{ inventory_hostname }}.conf"
        mode: "0600"
      vars:
        vrrp_include_dir: "%(out)s/conf.d"
"""


def _run(tmp_path, inventory):
    (tmp_path / "inv.ini").write_text(inventory + "[all:vars]\nansible_python_interpreter=%s\n" % sys.executable)
    (tmp_path / "play.yml").write_text(PLAY % {"template": os.path.join(REPO, "roles", "vrrp", "templates", "vrrp.conf.j2"),
                                               "out": tmp_path})
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "inv.ini"), str(tmp_path / "play.yml")]
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ansible_env(), timeout=180, check=False)


def _peers(text, instance):
    block = text.split("vrrp_instance %s {" % instance, 1)[1].split("\n}", 1)[0]
    if "unicast_peer {" not in block:
        return []
    return block.split("unicast_peer {", 1)[1].split("}", 1)[0].split()


def test_group_members_become_unicast_peers(tmp_path):
    inventory = "[dbservers]\n" + "".join("%s vrrp_address=%s\n" % (h, a) for h, a in ADDR.items())
    run = _run(tmp_path, inventory)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    for host, addr in ADDR.items():
        conf = tmp_path / ("%s.conf" % host)
        text = conf.read_text()
        assert _peers(text, "VI_DB") == [a for h, a in ADDR.items() if h != host]
        assert _peers(text, "VI_OTHER") == ["198.51.100.99"]   # an instance can opt out with an empty group
        check = subprocess.run([sys.executable, LAUNCHER, "check", "--syntax-only", "-f", str(conf)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, check=False)
        assert check.returncode == 0, check.stderr


def test_a_member_without_the_address_fails_naming_it(tmp_path):
    inventory = "[dbservers]\ndb1 vrrp_address=198.51.100.11\ndb2\ndb3 vrrp_address=198.51.100.13\n"
    run = _run(tmp_path, inventory)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "host(s) db2 of group dbservers have no vrrp_address" in out, out[-3000:]
    assert not (tmp_path / "db1.conf").exists()
