# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vrrp role's re-run fast path on the namespace lab: one floating.vip.vrrp_deployed call per host
skips every deploy task when the deployment really matches, and does not when it has drifted (a hand edit
of the configuration, a stopped daemon): then the full path repairs it and says so, in check mode too."""
from __future__ import annotations

import os

import pytest

from tests.lab import wait_until

from .conftest import REPO, run_playbook
from .test_vrrp_role import holders, vipd_pid, wait_holder

pytestmark = pytest.mark.lab

PAIR = os.path.join(REPO, "playbooks", "vrrp_pair.yml")
CHECK_TASK = "Compare the deployed state with the expected one"
ROLE_TASKS = ("Compare the deployed state", "Deploy", "Optional kernel settings", "Kernel settings", "No kernel settings",
              "Engine version", "Launcher directory", "Deploy the launcher", "Configuration directories",
              "Main configuration", "Run vipd", "Run directory", "Start vipd unless it runs")


ROLE = "floating.vip.vrrp : "


def check_result(run, host):
    return [r for r in run.results[host] if r["_task"] == ROLE + CHECK_TASK][0]


def ran(run, host):
    """Names of the role's deploy tasks that ran (not skipped) on host, without the role prefix."""
    names = [r["_task"][len(ROLE):] for r in run.results[host] if r["_task"].startswith(ROLE) and not r.get("skipped")]
    return [n for n in names if n.startswith(ROLE_TASKS)]


def test_clean_rerun_takes_the_fast_path_and_drift_does_not(lab):
    first = run_playbook(lab, PAIR)
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-2000:]
    # A first deployment has nothing in place: the full path runs.
    assert not check_result(first, "server1")["matches"]
    assert "Start vipd unless it runs" in ran(first, "server1")
    wait_holder(lab, "server1")

    # Clean re-run: one call per host, everything matched, every deploy task skipped, nothing changed.
    again = run_playbook(lab, PAIR)
    assert again.rc == 0, again.stdout[-3000:]
    for host in ("server1", "server2"):
        res = check_result(again, host)
        assert res["matches"] and res["drift"] == [], res["drift"]
        assert res["daemon"]["running"] and res["daemon"]["pid"] == vipd_pid(lab, host)
        assert ran(again, host) == [CHECK_TASK], ran(again, host)
        assert again.changed(host) == 0

    # Hand edit on server2: check mode sees it (and changes nothing), with a diff.
    conf = "/etc/vipd/vipd.conf"
    good = lab.read_etc("server2", conf)
    lab.run("server2", ["sh", "-c", "sed -i 's/priority 140/priority 141/' " + conf], check=True)
    assert lab.read_etc("server2", conf) != good
    dry = run_playbook(lab, PAIR, check=True, diff=True)
    assert dry.rc == 0, dry.stdout[-3000:]
    assert check_result(dry, "server2")["drift"] == [conf + ": content differs"]
    assert dry.changed("server2") >= 1 and dry.changed("server1") == 0
    assert "Main configuration" in ran(dry, "server2") and ran(dry, "server1") == [CHECK_TASK]
    assert lab.read_etc("server2", conf) != good

    # The real run repairs it (template + reload over the control socket) without restarting vipd.
    pid = vipd_pid(lab, "server2")
    fix = run_playbook(lab, PAIR)
    assert fix.rc == 0, fix.stdout[-3000:]
    assert fix.changed("server2") == 2 and fix.changed("server1") == 0, fix.stats  # the template and the reload
    assert lab.read_etc("server2", conf) == good and vipd_pid(lab, "server2") == pid
    assert ran(fix, "server1") == [CHECK_TASK]

    # A stopped daemon is drift too: the re-run starts it again and reports it.
    lab.run("server1", ["kill", "-TERM", str(vipd_pid(lab, "server1"))], check=True)
    wait_holder(lab, "server2")
    stopped = run_playbook(lab, PAIR)
    assert stopped.rc == 0, stopped.stdout[-3000:]
    assert any("no live process" in d for d in check_result(stopped, "server1")["drift"])
    assert stopped.changed("server1") == 1 and stopped.changed("server2") == 0, stopped.stats
    wait_holder(lab, "server1")

    # Repaired: the next re-run is the fast path again everywhere.
    final = run_playbook(lab, PAIR)
    assert final.rc == 0 and all(ran(final, h) == [CHECK_TASK] for h in ("server1", "server2")), final.stdout[-3000:]
    assert holders(lab) == ["server1"]


def test_fast_rerun_off_runs_the_full_path(lab):
    assert run_playbook(lab, PAIR).rc == 0
    wait_until(lambda: holders(lab) == ["server1"], timeout=15, interval=0.1, what="server1 master")
    full = run_playbook(lab, PAIR, extra_vars={"vrrp_fast_rerun": False})
    assert full.rc == 0 and full.changed("server1") == 0 and full.changed("server2") == 0, full.stats
    assert "Main configuration" in ran(full, "server1") and CHECK_TASK not in ran(full, "server1")
