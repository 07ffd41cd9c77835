# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rolling_maintenance.yml on three lab hosts deployed by playbooks/vrrp_pair.yml, a client probing the
VIP every 10 ms through the whole roll: every host drained, its vipd restarted (the maintenance task here, in
place of the example's reboot), brought back; 0 probes lost. Then the module's check mode, diff and idempotence."""
from __future__ import annotations

import os

import pytest

from tests.benchmarks.prober import ProbeProcess
from tests.lab.lab import wait_until

from .conftest import REPO, play, run_playbook

pytestmark = pytest.mark.lab

PAIR = os.path.join(REPO, "playbooks", "vrrp_pair.yml")
ROLL = os.path.join(REPO, "playbooks", "rolling_maintenance.yml")
VIP = "198.51.100.50"
SOCKET = "/etc/vipd/lab/run/vipd.sock"

# The maintenance task of the test: restart vipd (SIGTERM, bounded wait, start again with the role's own tasks).
RESTART_TASKS = """---
- name: Stop vipd
  ansible.builtin.shell: |
    set -eu
    pid=$(cat {{ vrrp_pidfile | quote }})
    kill -TERM "$pid"
    i=0
    while [ $i -lt 200 ]; do
      state=$(awk '{ sub(/.*\\) /, ""); print $1 }' /proc/$pid/stat 2>/dev/null || echo gone)
      [ "$state" = Z ] || [ "$state" = gone ] && exit 0
      sleep 0.1; i=$((i + 1))
    done
    exit 1
  changed_when: true

- name: Start vipd again
  ansible.builtin.include_role:
    name: floating.vip.vrrp
    tasks_from: service_none.yml
"""


def holders(lab):
    return [n for n in lab.server_names() if any(a.get("local") == VIP for a in lab.addresses(n, 4))]


def test_rolling_maintenance_loses_no_probe(lab_factory, tmp_path):
    lab = lab_factory(servers=3, clients=1)
    assert run_playbook(lab, PAIR, timeout=300).rc == 0
    wait_until(lambda: holders(lab) == ["server1"], timeout=20, interval=0.1, what="server1 alone holding the VIP")
    tasks = tmp_path / "restart_vipd.yml"
    tasks.write_text(RESTART_TASKS)
    prober = ProbeProcess(lab.host("client1").netns, VIP, interval=0.01, workdir=lab.workdir).start()
    try:
        roll = run_playbook(lab, ROLL, extra_vars={"rolling_maintenance_reboot": False, "rolling_maintenance_tasks": str(tasks)},
                            timeout=600, structured=False)
        # the returned host (priority 150) preempts back after Master_Down_Interval
        wait_until(lambda: holders(lab) == ["server1"], timeout=20, interval=0.1, what="server1 master again")
    finally:
        result = prober.finish()
    assert roll.rc == 0, roll.stdout[-6000:] + roll.stderr[-2000:]
    for host in lab.server_names():
        assert roll.stats[host]["failed"] == 0 and roll.stats[host]["changed"] >= 3, roll.stats
    assert roll.stdout.count("TASK [Drain") == 3 and roll.stdout.count("TASK [Back in service]") == 3
    assert result["sent"] > 500 and result["received"] == result["sent"], result
    assert result["gaps"] == [], result

    # The module alone: check mode predicts, diff shows the set, a second run changes nothing.
    tasks_yaml = """
    - name: Predict
      floating.vip.vrrp_maintenance: {state: enabled, instances: [VI_SERVICE], control_socket: %(s)s}
      check_mode: true
      register: predicted
    - name: Still master after check mode
      floating.vip.vrrp_info: {control_socket: %(s)s}
      register: info
    - name: Drain
      floating.vip.vrrp_maintenance: {state: enabled, control_socket: %(s)s}
      register: drained
    - name: Again
      floating.vip.vrrp_maintenance: {state: enabled, instances: [VI_SERVICE], control_socket: %(s)s}
      register: again
    - name: Unknown instance
      floating.vip.vrrp_maintenance: {state: enabled, instances: [NOPE], control_socket: %(s)s}
      register: unknown
      ignore_errors: true
    - name: Back
      floating.vip.vrrp_maintenance: {state: disabled, control_socket: %(s)s}
      register: back
    - name: Verdict
      ansible.builtin.assert:
        that:
          - predicted is changed and predicted.diff.after.maintenance == ['VI_SERVICE'] and predicted.diff.before.maintenance == []
          - info.instances[0].state == 'MASTER'
          - drained is changed and drained.instances.VI_SERVICE.handed_over and drained.instances.VI_SERVICE.state == 'BACKUP'
          - again is not changed
          - unknown is failed and 'NOPE' in unknown.msg
          - back is changed and back.maintenance == []
""" % {"s": SOCKET}
    run = run_playbook(lab, play("server1", tasks_yaml), diff=True, timeout=120, structured=False)
    assert run.rc == 0, run.stdout[-5000:]
