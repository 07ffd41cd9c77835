# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regression for issue 9's intermittent election failure: the harness's view of keepalived's state.

test_mixed_pair[v2-multicast-vipd_high-keepalived_low] once timed out waiting for the election
("vipd on server1 master") in a clean-clone CI run. The election there is a preemption: keepalived
(priority 100) becomes master first, vipd (150) takes over a few hundred ms later, so keepalived goes
MASTER -> BACKUP in quick succession. keepalived forks each notify script without waiting for the
previous one; when notify_master runs late (a loaded machine), it finishes after notify_backup, and
the state file the harness read said MASTER for good while keepalived was BACKUP.

Here notify_master is made deterministically late (it sleeps first) and the flip is forced: the
harness must still say BACKUP, and the waits built on it must succeed.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.lab import Lab, wait_until

from .peers import InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

LATE = 4.0  # seconds notify_master sleeps before it writes the state


def _config(priority: int) -> str:
    return render_config([InstanceSpec(priority=priority, version=3, advert_int=0.2)], notify_script="@NOTIFY@", router_id="order")


def test_keepalived_state_follows_keepalived_not_the_last_notify_script():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces and mounts)")
    lab = Lab(servers=2, clients=0)
    nodes = []
    try:
        lab.up()
        low = Node(lab, "server2", "keepalived", _config(100), tag="order")
        late = os.path.join(low.dir, "late-notify.sh")
        with open(late, "w") as f:
            f.write("#!/bin/sh\nsleep %g\nexec %s \"$@\"\n" % (LATE, low.notify_script))
        os.chmod(late, 0o755)
        with open(low.config_path, "w") as f:
            f.write(low.config_text.replace('notify_master "%s ' % low.notify_script, 'notify_master "%s ' % late))
        high = Node(lab, "server1", "vipd", _config(150), tag="order")
        nodes = [high, low]

        low.start()
        # keepalived master (it holds the VIP), its notify_master now sleeping; vipd then preempts it.
        wait_until(low.holds, timeout=10, interval=0.02, what="%s to take the VIP" % low)
        became_master = time.monotonic()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(), timeout=10, interval=0.02,
                   what="election (%s master)" % high)
        assert time.monotonic() - became_master < LATE, "the flip came after notify_master ran: nothing was tested"

        # The late notify_master finishes last: its state file now says MASTER, keepalived is BACKUP.
        wait_until(lambda: low.notify_log()[-1:] == ["VI_1 MASTER"], timeout=LATE + 5, interval=0.05,
                   what="the late notify_master")
        assert low.notify_log() == ["VI_1 BACKUP", "VI_1 BACKUP", "VI_1 MASTER"], low.notify_log()
        with open(os.path.join(low.dir, "state.VI_1")) as f:
            assert f.read().strip() == "MASTER"
        assert low.state() == "BACKUP", low.log_tail()
        assert not low.is_master() and not low.holds() and high.is_master()
        assert [line.split(") ")[-1] for line in low.log_text().splitlines() if "Entering" in line] == \
            ["Entering BACKUP STATE (init)", "Entering MASTER STATE", "Entering BACKUP STATE"]
    finally:
        problems = stop_all(nodes)
        problems += lab.down()
        assert not problems, problems
