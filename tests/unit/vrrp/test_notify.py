# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/notify.py (one run per hook at a time, coalescing, keepalived arguments) and vrrp/mailer.py messages."""
from __future__ import annotations

import asyncio

from ansible_collections.floating.vip.plugins.module_utils.vrrp import mailer, notify


def test_generic_arguments_as_keepalived():
    assert notify.generic_args("INSTANCE", "VI_1", "MASTER", 150) == ["INSTANCE", "VI_1", "MASTER", "150"]
    assert notify.generic_args("GROUP", "G", "STOPPED", 0) == ["GROUP", "G", "STOP", "0"]
    assert notify.notify_argv('/bin/sh -c \'echo "$*"\' x', ["A"]) == ["/bin/sh", "-c", 'echo "$*"', "x", "A"]


def test_one_run_at_a_time_per_owner_in_order(tmp_path):
    out = tmp_path / "out"
    gate = tmp_path / "gate"
    # The first run waits for the gate file (bounded), so later firings find it running.
    cmd = "/bin/sh -c 'for i in $(seq 100); do [ -e %s ] && break; sleep 0.05; done; echo \"$*\" >> %s' hook" % (gate, out)

    async def scenario():
        n = notify.Notifier(asyncio.get_running_loop(), timeout=20)
        n.fire("VI_1", "notify", cmd, ["BACKUP"])
        n.fire("VI_1", "notify_master", cmd, ["MASTER"])
        n.fire("VI_1", "notify", cmd, ["FAULT"])
        n.fire("VI_2", "notify", cmd, ["OTHER"])   # another owner: runs at once, in parallel
        running = sorted(n.running)
        gate.write_text("go")
        await n.drain(15)
        return n, running

    n, running = asyncio.run(scenario())
    assert running == ["VI_1", "VI_2"]
    lines = out.read_text().splitlines()
    # VI_1's hooks ran one after the other, in the order fired (none lost); VI_2's alongside, in any order.
    assert [line for line in lines if line != "OTHER"] == ["BACKUP", "MASTER", "FAULT"]
    assert lines.count("OTHER") == 1 and len(lines) == 4
    assert (n.runs, n.coalesced) == (4, 0)


def test_mail_message_names_instance_and_both_states():
    msg = mailer.build_message("lb1", "vipd@lb1", ["ops@example.com", "dba@example.com"], "INSTANCE", "VI_1", "BACKUP", "MASTER", 150,
                               "higher priority")
    assert msg["Subject"] == "[lb1] VRRP Instance VI_1 - Entering MASTER state"
    assert msg["To"] == "ops@example.com, dba@example.com"
    body = msg.get_content()
    assert "Old state: BACKUP" in body and "New state: MASTER" in body and "now owning VRRP VIPs" in body
    assert mailer.Mailer(None, None, recipients=["a@b"]).alert("INSTANCE", "VI_1", "BACKUP", "MASTER", 1) is None
