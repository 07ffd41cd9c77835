# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notify fidelity with keepalived 2.2.7: `notify_* SCRIPT [USER [GROUP]]`, the default script user,
notify_fifo / vrrp_notify_fifo lines, notify_priority_changes, notify_master_rx_lower_pri, strict order."""
from __future__ import annotations

import asyncio
import os
import pwd

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, notify, script_security
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_model import GlobalDefs

INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
%s
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


def inst(lines, head=""):
    return config.parse_text(head + INSTANCE % lines).instances["VI_1"]


# ---------------------------------------------------------------- parsing

def test_user_and_group_words_are_not_arguments():
    i = inst('    notify_master "/bin/echo a b" nobody nogroup\n    notify_backup /bin/true nobody\n    notify /bin/true')
    assert i.notify_master == "/bin/echo a b" and i.notify_users["notify_master"] == ["nobody", "nogroup"]
    assert i.notify_backup == "/bin/true" and i.notify_users["notify_backup"] == ["nobody"]
    assert "notify" not in i.notify_users
    # a later line replaces an earlier one, users included
    i = inst('    notify_master /bin/true nobody\n    notify_master /bin/false')
    assert (i.notify_master, i.notify_users) == ("/bin/false", {})


def test_more_words_than_script_user_group_is_an_error():
    with pytest.raises(config.ConfigError) as err:
        inst("    notify_master /bin/echo promote the db")
    assert "SCRIPT [USER [GROUP]]" in str(err.value) and "<string>:4:" in str(err.value)


def test_unknown_user_is_an_error():
    text = INSTANCE % "    notify_fault /bin/true no_such_user_vipd"
    with pytest.raises(config.ConfigError) as err:
        script_security.parse_text(text)  # a host check (pwd): not run by the parser itself
    assert "does not exist" in str(err.value)
    assert config.parse_text(text).instances["VI_1"].notify_users["notify_fault"] == ["no_such_user_vipd"]


def test_new_keywords_parse_and_render_back():
    head = ("global_defs {\n    notify_fifo /run/k.fifo nobody\n    notify_fifo_script \"/bin/cat -u\" nobody\n"
            "    vrrp_notify_fifo /run/v.fifo\n    vrrp_notify_priority_changes\n}\n")
    cfg = config.parse_text(head + INSTANCE % ('    notify_master_rx_lower_pri "/bin/echo rx" nobody\n    notify_priority_changes false\n'
                                               '    notify_stop /bin/true root'))
    g, i = cfg.global_defs, cfg.instances["VI_1"]
    assert (g.notify_fifo, g.notify_fifo_script, g.vrrp_notify_fifo, g.vrrp_notify_priority_changes) == (
        ["/run/k.fifo", "nobody"], "/bin/cat -u", ["/run/v.fifo"], True)
    assert g.notify_users == {"notify_fifo_script": ["nobody"]}
    assert (i.notify_master_rx_lower_pri, i.notify_priority_changes) == ("/bin/echo rx", False)
    assert i.notify_users == {"notify_master_rx_lower_pri": ["nobody"], "notify_stop": ["root"]}
    again = config.parse_text(config_render.render_config(cfg))
    assert again.instances["VI_1"] == i
    assert again.global_defs == g


def test_sync_group_users_and_priority_changes():
    text = INSTANCE % "" + "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    notify_backup /bin/true nobody\n    notify_priority_changes\n}\n"
    grp = config.parse_text(text).sync_groups["G"]
    assert (grp.notify_users, grp.notify_priority_changes) == ({"notify_backup": ["nobody"]}, True)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=30), st.lists(st.text(min_size=1, max_size=12), max_size=3))
def test_any_notify_line_parses_or_is_our_error_and_renders_back(script, users):
    words = [script] + users
    try:
        line = "    notify_backup " + " ".join([config_render.script_quote(script)] + [config_render.quote_token(u) for u in users])
    except ValueError:
        return  # cannot be written in keepalived syntax at all
    try:
        i = inst(line)
    except config.ConfigError as exc:
        for m in exc.messages:
            assert "\n" not in str(m) and "\u2028" not in str(m)
        return
    assert i.notify_backup == words[0]
    assert i.notify_users.get("notify_backup", []) == words[1:]
    assert config.parse_text(config_render.render_instance(i)).instances["VI_1"].notify_users == i.notify_users


# ---------------------------------------------------------------- users

def test_default_script_user_as_keepalived(monkeypatch):
    assert notify.default_script_user(GlobalDefs(script_user="nobody", script_group="nogroup")) == ("nobody", "nogroup")
    assert notify.default_script_user(GlobalDefs(script_user="root")) == (None, None)

    nobody = pwd.getpwnam("nobody")

    def exists(name):
        if name == "keepalived_script":
            return nobody
        raise KeyError(name)

    monkeypatch.setattr(notify.pwd, "getpwnam", exists)
    assert notify.default_script_user(GlobalDefs()) == ("keepalived_script", None)

    def missing(name):
        raise KeyError(name)

    monkeypatch.setattr(notify.pwd, "getpwnam", missing)
    assert notify.default_script_user(GlobalDefs()) == (None, None)


def test_hook_user_prefers_the_line():
    i = inst("    notify_master /bin/true nobody nogroup\n    notify_backup /bin/true")
    assert notify.hook_user(i, "notify_master", ("x", None)) == ("nobody", "nogroup")
    assert notify.hook_user(i, "notify_backup", ("x", "y")) == ("x", "y")


# ---------------------------------------------------------------- fifo lines and the fifo itself

def test_fifo_lines_as_keepalived():
    assert notify.fifo_line("INSTANCE", "VI_1", "MASTER", 100) == b'INSTANCE "VI_1" MASTER 100\n'
    assert notify.fifo_line("GROUP", "G", "STOPPED", 0) == b'GROUP "G" STOP 0\n'
    assert notify.fifo_line("INSTANCE", "VI_1", "MASTER_RX_LOWER_PRI", 150) == b'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150\n'


def test_fifo_is_created_written_and_removed(tmp_path):
    path = str(tmp_path / "notify.fifo")
    fifo = notify.Fifo(path, [])
    fifo.open(None)
    try:
        assert os.path.exists(path) and oct(os.stat(path).st_mode & 0o777) == oct(0o644)
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        fifo.write(notify.fifo_line("INSTANCE", "VI_1", "BACKUP", 100))
        fifo.write(notify.fifo_line("INSTANCE", "VI_1", "MASTER", 100))
        assert os.read(reader, 4096) == b'INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\n'
        os.close(reader)
    finally:
        fifo.close()
    assert not os.path.exists(path)


def test_fifo_that_nobody_reads_never_blocks(tmp_path):
    fifo = notify.Fifo(str(tmp_path / "f"), [])
    fifo.open(None)
    try:
        for count in range(5000):  # far beyond a pipe's 64 KiB
            fifo.write(notify.fifo_line("INSTANCE", "VI_1", "BACKUP", count % 255))
        assert fifo.dropped > 0 and fifo.written > 0
    finally:
        fifo.close()


def test_the_fifo_script_gets_the_last_lines_written_before_exit(tmp_path, monkeypatch):
    """At exit vipd writes INSTANCE ... STOP and closes: the script reads it, then the end of file, and ends by
    itself. It was sent SIGTERM at once, and under load lost the STOP line (CI, test_vipd_fidelity_notify)."""
    from ansible_collections.floating.vip.plugins.module_utils.vrrp import notifications
    out, ready, script = tmp_path / "out", tmp_path / "ready", tmp_path / "reader.sh"
    # a slow reader: it opens the fifo at once, as fifo scripts do, and reads later; a stop signal sent before it
    # reads loses every line
    script.write_text('#!/bin/sh\nexec 3< "$1"\ntouch %s\nsleep 0.3\nexec cat <&3 >> %s\n' % (ready, out))
    script.chmod(0o755)
    monkeypatch.setattr(script_security, "exec_refusal", lambda argv, user, group: (argv[0], None))

    async def run():
        fifo = notify.Fifo(str(tmp_path / "notify.fifo"), [], script=str(script))
        fifo.open(asyncio.get_running_loop())
        for _wait in range(500):  # the script has the fifo open (at most 5 s)
            if ready.exists():
                break
            await asyncio.sleep(0.01)
        n = notifications.Notifications()
        n.fifos = [fifo]
        fifo.write(notify.fifo_line("INSTANCE", "VI_1", "MASTER", 150))
        fifo.write(notify.fifo_line("INSTANCE", "VI_1", "STOP", 150))
        proc = fifo.proc
        await n.close(timeout=1.0)
        return proc
    proc = asyncio.run(run())
    assert out.read_text() == 'INSTANCE "VI_1" MASTER 150\nINSTANCE "VI_1" STOP 150\n'
    assert proc.returncode == 0  # ended by itself, at the end of file
    assert not (tmp_path / "notify.fifo").exists()


# ---------------------------------------------------------------- order

def test_queue_is_bounded_and_keeps_the_latest(tmp_path, monkeypatch):
    monkeypatch.setattr(notify, "QUEUE_MAX", 3)
    out = tmp_path / "out"
    cmd = "/bin/sh -c 'echo \"$*\" >> %s' hook" % out

    async def scenario():
        n = notify.Notifier(asyncio.get_running_loop(), timeout=10)
        for k in range(8):
            n.fire("VI_1", "notify", cmd, [str(k)])
        await n.drain(10)
        return n

    n = asyncio.run(scenario())
    # all 8 were fired before the first could start: the 3 latest ran, in order
    assert out.read_text().split() == ["5", "6", "7"]
    assert n.coalesced == 5
