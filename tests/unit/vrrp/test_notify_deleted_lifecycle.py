# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 notify_deleted (an instance removed by a reload) and global startup_script / shutdown_script:
parsing, the notify calls (recorded, no daemon), and real runs of small scripts in a temporary directory."""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, lifecycle, notifications, script_security, supervisor
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import State

INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
%s    notify_fault /bin/true
    notify_stop /bin/false
    notify /bin/echo
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


def parse(lines="", head=""):
    return config.parse_text(head + INSTANCE % lines, "k.conf")


# ---------------------------------------------------------------- notify_deleted: parsing

def test_notify_deleted_with_and_without_a_script():
    i = parse("    notify_deleted\n").instances["VI_1"]
    assert i.notify_deleted and i.notify_deleted_script is None
    i = parse('    notify_deleted "/bin/echo gone" nobody\n').instances["VI_1"]
    assert i.notify_deleted and i.notify_deleted_script == "/bin/echo gone" and i.notify_users["notify_deleted"] == ["nobody"]
    assert not parse().instances["VI_1"].notify_deleted


def test_notify_deleted_twice_is_reported_and_the_first_kept():
    cfg = parse("    notify_deleted /bin/true\n    notify_deleted /bin/false\n")
    assert cfg.instances["VI_1"].notify_deleted_script == "/bin/true"
    assert [(m.line, m.check_fails) for m in cfg.warnings if "already specified" in m.reason] == [(5, True)]


def test_notify_deleted_renders_and_reads_back():
    i = parse('    notify_deleted "/bin/echo gone" nobody\n').instances["VI_1"]
    back = config.parse_text(config_render.render_instance(i)).instances["VI_1"]
    assert (back.notify_deleted, back.notify_deleted_script, back.notify_users["notify_deleted"]) == (True, "/bin/echo gone", ["nobody"])


# ---------------------------------------------------------------- notify_deleted: the calls

class _Notifier:
    def __init__(self):
        self.calls = []

    def fire(self, owner, hook, command, extra=None, user="", group=None):
        self.calls.append((hook, command, list(extra or [])))


def _stopped(cfg, old, removed, reason):
    """The supervisor's decisions for VI_1's STOPPED transition, carried out by notifications.Notifications.emit()."""
    sup = supervisor.Supervisor()
    sup.configure(cfg)
    h = notifications.Notifications()
    h.notifier = _Notifier()
    view = supervisor.View(State.STOPPED, cfg.instances["VI_1"].priority, has_machine=False, forced_stop=True)
    for decision in sup.on_transition("VI_1", cfg.instances["VI_1"], view, old, State.STOPPED, reason, removed, {}, False, 0.0):
        h.emit(decision)
    return h.notifier.calls


def _removed(cfg, old):
    return _stopped(cfg, old, True, "removed from the configuration")


def test_removed_without_notify_deleted_notifies_fault_as_keepalived():
    calls = _removed(parse(), State.MASTER)
    assert calls == [("notify_fault", "/bin/true", []), ("notify", "/bin/echo", ["INSTANCE", "VI_1", "FAULT", "100"])]


def test_removed_while_in_fault_without_notify_deleted_notifies_nothing():
    assert _removed(parse(), State.FAULT) == []


@pytest.mark.parametrize("old", [State.MASTER, State.BACKUP, State.FAULT])
def test_removed_with_notify_deleted_notifies_deleted(old):
    calls = _removed(parse("    notify_deleted /bin/echo\n"), old)
    assert calls == [("notify_deleted", "/bin/echo", []), ("notify", "/bin/echo", ["INSTANCE", "VI_1", "DELETED", "100"])]


def test_removed_with_a_bare_notify_deleted_runs_only_the_generic_notify():
    calls = _removed(parse("    notify_deleted\n"), State.BACKUP)
    assert calls == [("notify", "/bin/echo", ["INSTANCE", "VI_1", "DELETED", "100"])]


def test_a_plain_stop_still_notifies_stop():
    calls = _stopped(parse("    notify_deleted\n"), State.MASTER, False, "stopped")
    assert calls[0] == ("notify_stop", "/bin/false", [])


# ---------------------------------------------------------------- startup_script / shutdown_script: parsing

GLOBAL = "global_defs {\n%s}\n"


def test_scripts_and_timeouts_parse_with_keepalived_defaults():
    g = parse(head=GLOBAL % "    startup_script \"/bin/echo up\"\n    shutdown_script /bin/true nobody\n").global_defs
    assert (g.startup_script, g.startup_script_timeout, g.shutdown_script, g.shutdown_script_timeout) == ("/bin/echo up", 10, "/bin/true", 10)
    assert g.notify_users["shutdown_script"] == ["nobody"]
    g = parse(head=GLOBAL % "    startup_script /bin/true\n    startup_script_timeout 1000\n    shutdown_script_timeout 1\n").global_defs
    assert (g.startup_script_timeout, g.shutdown_script_timeout) == (1000, 1)


@pytest.mark.parametrize("line", ["startup_script_timeout 0", "startup_script_timeout 1001", "shutdown_script_timeout x",
                                  "shutdown_script_timeout"])
def test_bad_timeouts_are_errors_at_their_line(line):
    with pytest.raises(config.ConfigError) as err:
        parse(head=GLOBAL % ("    startup_script /bin/true\n    %s\n" % line))
    assert str(err.value).startswith("k.conf:3: ")


def test_a_second_script_is_reported_and_the_first_kept():
    cfg = parse(head=GLOBAL % "    startup_script /bin/true\n    startup_script /bin/false\n")
    assert cfg.global_defs.startup_script == "/bin/true"
    assert any(m.line == 3 and m.check_fails and "already specified" in m.reason for m in cfg.warnings)


def test_without_script_security_an_existing_script_is_reported_as_keepalived_does(tmp_path):
    path = tmp_path / "k.conf"
    path.write_text(GLOBAL % "    startup_script /bin/true\n" + INSTANCE % "")
    cfg = script_security.load(str(path))
    assert any("start/shutdown scripts are being executed but script_security not enabled" in m.reason for m in cfg.warnings)
    path.write_text(GLOBAL % "    enable_script_security\n    startup_script /bin/true\n" + INSTANCE % "")
    assert not any("SECURITY" in m.reason for m in script_security.load(str(path)).warnings)


# ---------------------------------------------------------------- startup_script / shutdown_script: real runs

def _script(tmp_path, body):
    path = tmp_path / "s.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_a_script_runs_and_its_success_is_reported(tmp_path):
    out = tmp_path / "ran"
    g = parse(head=GLOBAL % ('    startup_script "%s %s"\n' % (_script(tmp_path, 'echo "$1" > "$2"\n'), out))).global_defs
    g.startup_script = "%s started %s" % (_script(tmp_path, 'echo "$1" > "$2"\n'), out)
    assert asyncio.run(lifecycle.run(g, "startup_script")) is True
    assert out.read_text() == "started\n"


def test_a_failing_script_is_reported_and_nothing_else_happens(tmp_path, caplog):
    g = parse().global_defs
    g.shutdown_script = _script(tmp_path, "exit 3\n")
    with caplog.at_level("INFO", logger="vipd"):
        assert asyncio.run(lifecycle.run(g, "shutdown_script")) is False
    assert "shutdown script failed: exit 3" in caplog.text


def test_a_script_that_runs_too_long_is_killed_at_its_timeout(tmp_path, caplog):
    g = parse().global_defs
    g.startup_script = _script(tmp_path, "sleep 30\n")
    g.startup_script_timeout = 1
    started = time.monotonic()
    with caplog.at_level("INFO", logger="vipd"):
        assert asyncio.run(lifecycle.run(g, "startup_script")) is False
    assert time.monotonic() - started < 10
    assert "startup script timed out" in caplog.text


def test_no_script_runs_nothing():
    assert asyncio.run(lifecycle.run(parse().global_defs, "startup_script")) is False


def test_what_the_script_leaves_behind_is_left_alone(tmp_path):
    pidfile = tmp_path / "pid"
    g = parse().global_defs
    g.startup_script = _script(tmp_path, 'sleep 20 & echo $! > "%s"\n' % pidfile)
    assert asyncio.run(lifecycle.run(g, "startup_script")) is True
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)   # still running: keepalived does not kill a finished script's children either
    finally:
        os.kill(pid, 9)


def test_scripts_are_checked_like_every_script(tmp_path):
    path = tmp_path / "k.conf"
    head = "global_defs {\n    enable_script_security\n    startup_script /nonexistent/vipd-up.sh\n}\n"
    path.write_text(head + INSTANCE % "")
    # keepalived -t passes a missing startup script (it only does not run it): a warning at its line
    cfg = script_security.load(str(path))
    assert [(m.line, "is not found: it will not run" in m.reason) for m in cfg.warnings] == [(3, True)]
    path.write_text(head + INSTANCE % "    notify_deleted /nonexistent/vipd-gone.sh\n")
    with pytest.raises(config.ConfigError) as err:
        script_security.load(str(path))
    assert "k.conf:5: vrrp_instance VI_1 notify_deleted: script /nonexistent/vipd-gone.sh is not found" in str(err.value)
    path.write_text("global_defs {\n    shutdown_script /bin/true vipd_no_such_user\n}\n" + INSTANCE % "")
    with pytest.raises(config.ConfigError) as err:
        script_security.load(str(path))
    assert "k.conf:2: global_defs shutdown_script: script user 'vipd_no_such_user' does not exist" in str(err.value)
