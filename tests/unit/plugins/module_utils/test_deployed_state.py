# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""deployed_state.py (behind vrrp_deployed): real files, a fake /proc, a scripted systemctl."""
from __future__ import annotations

import grp
import hashlib
import os
import pwd

from ansible_collections.floating.vip.plugins.module_utils import deployed_state as D

ME = pwd.getpwuid(os.getuid())[0]
MY_GROUP = grp.getgrgid(os.getgid())[0]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_matching_files_and_directories(tmp_path):
    conf = tmp_path / "vipd.conf"
    conf.write_bytes(b"global_defs {\n}\n")
    conf.chmod(0o600)
    (tmp_path / "conf.d").mkdir(mode=0o755)
    (tmp_path / "conf.d").chmod(0o755)
    res = D.inspect(files=[{"path": str(conf), "sha256": sha(b"global_defs {\n}\n"), "mode": "0600", "owner": ME, "group": MY_GROUP},
                           {"path": str(tmp_path / "sysctl.conf"), "sha256": None}],
                    directories=[{"path": str(tmp_path / "conf.d"), "mode": "0755"}])
    assert res["matches"] and res["drift"] == []
    assert res["files"][str(conf)]["mode"] == "0600" and res["files"][str(conf)]["owner"] == ME
    assert res["files"][str(tmp_path / "sysctl.conf")] == {"path": str(tmp_path / "sysctl.conf"), "exists": False}


def test_every_kind_of_drift_is_named(tmp_path):
    conf = tmp_path / "vipd.conf"
    conf.write_bytes(b"edited by hand\n")
    conf.chmod(0o644)
    stray = tmp_path / "sysctl.conf"
    stray.write_text("net.ipv4.ip_nonlocal_bind = 1\n")
    notdir = tmp_path / "conf.d"
    notdir.write_text("")
    res = D.inspect(files=[{"path": str(conf), "sha256": sha(b"the template\n"), "mode": "0600", "owner": ME},
                           {"path": str(tmp_path / "missing"), "sha256": sha(b"")},
                           {"path": str(stray), "sha256": None}],
                    directories=[{"path": str(notdir), "mode": "0755"}, {"path": str(tmp_path / "run"), "mode": "0750"}])
    assert not res["matches"]
    assert res["drift"] == [
        "%s: content differs" % conf,
        "%s: mode is 0644, expected 0600" % conf,
        "%s: missing" % (tmp_path / "missing"),
        "%s: present, expected absent" % stray,
        "%s: is a file, expected a directory" % notdir,
        "%s: missing" % (tmp_path / "run"),
    ]


def test_owner_and_group_are_compared(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    drift = D.file_drift({"path": str(f), "owner": "nobody-else", "group": "nogroup-else"}, D.path_state(str(f)))
    assert drift == ["%s: owner is %s, expected nobody-else" % (f, ME), "%s: group is %s, expected nogroup-else" % (f, MY_GROUP)]


def _proc(tmp_path, pid, stat):
    d = tmp_path / "proc" / str(pid)
    d.mkdir(parents=True)
    (d / "stat").write_text(stat)
    return str(tmp_path / "proc")


def test_pidfile_alive_zombie_stale_and_missing(tmp_path):
    proc = _proc(tmp_path, 4242, "4242 (vip d) (x) S 1 4242 4242 0 -1\n")  # parentheses inside the name
    _proc(tmp_path, 4343, "4343 (python3) Z 1 4343 4343 0 -1\n")
    pidfile = tmp_path / "vipd.pid"
    pidfile.write_text("4242\n")
    assert D.pidfile_state(str(pidfile), proc) == {"pidfile": str(pidfile), "pid": 4242, "running": True}
    pidfile.write_text("4343\n")
    assert not D.pidfile_state(str(pidfile), proc)["running"]  # a zombie is dead
    pidfile.write_text("4444\n")
    assert not D.pidfile_state(str(pidfile), proc)["running"]  # stale
    pidfile.write_text("garbage")
    assert D.pidfile_state(str(pidfile), proc) == {"pidfile": str(pidfile), "pid": None, "running": False}
    assert not D.pidfile_state(str(tmp_path / "none.pid"), proc)["running"]


def test_pidfile_drift_with_the_real_proc(tmp_path):
    pidfile = tmp_path / "self.pid"
    pidfile.write_text("%d\n" % os.getpid())
    assert D.inspect(pidfile=str(pidfile))["matches"]
    pidfile.write_text("")
    assert D.inspect(pidfile=str(pidfile))["drift"] == ["%s: no live process" % pidfile]


def systemctl(states):
    calls = []

    def run(argv):
        calls.append(argv)
        unit = argv[-1][:-len(".service")]
        if unit not in states:
            return 0, "LoadState=not-found\nActiveState=inactive\nUnitFileState=\n", ""
        load, active, enabled = states[unit]
        return 0, "LoadState=%s\nActiveState=%s\nUnitFileState=%s\n" % (load, active, enabled), ""
    return run, calls


def test_services_as_systemd_reports_them():
    want = [{"name": "vipd", "active": True, "enabled": True}, {"name": "keepalived", "active": False, "enabled": False}]
    run, calls = systemctl({"vipd": ("loaded", "active", "enabled"), "keepalived": ("loaded", "inactive", "disabled")})
    res = D.inspect(services=want, run=run)
    assert res["matches"] and res["services"]["vipd"]["active_state"] == "active"
    assert calls[0][:2] == ["systemctl", "show"] and calls[0][-1] == "vipd.service"
    # keepalived not installed at all counts as stopped and not enabled.
    run, _calls = systemctl({"vipd": ("loaded", "active", "enabled")})
    assert D.inspect(services=want, run=run)["matches"]
    run, _calls = systemctl({"vipd": ("loaded", "failed", "enabled"), "keepalived": ("loaded", "active", "enabled")})
    assert D.inspect(services=want, run=run)["drift"] == [
        "vipd: failed, expected active",
        "keepalived: active, expected stopped",
        "keepalived: unit file state 'enabled', expected not enabled",
    ]
    run, _calls = systemctl({"vipd": ("loaded", "active", "disabled")})
    assert D.inspect(services=want, run=run)["drift"] == ["vipd: unit file state 'disabled', expected enabled"]
    # Not compared when not asked.
    assert D.inspect(services=[{"name": "vipd"}], run=run)["matches"]


def test_systemctl_failure_is_drift():
    res = D.inspect(services=[{"name": "vipd", "active": True}], run=lambda argv: (1, "", "Failed to connect to bus"))
    assert res["drift"] == ["vipd: Failed to connect to bus"] and not res["matches"]
