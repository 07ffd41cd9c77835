# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed-node Python matrix, run for real (docs/development.md, "Supported Pythons").

- vip_alias / vip_secondary's code (static_vip, persist, addresses, announce, inet) under Python 3.6 (RHEL 8's
  platform Python) to 3.13: the pure parts (rc.local / ifcfg / ifupdown / networkd renderers, validators,
  parsers, GARP/NA frames) give the same JSON as on the controller, and static_vip.execute() adds, keeps,
  persists and removes a VIP on a veth in a namespace of its own, with pyroute2 for that Python.
- vipd (the engine, launcher) under 3.8 to 3.13: `vipd check` of a configuration, and `vipd run` taking a VIP.

A listed interpreter that is missing FAILS (tests/pythons/targets.py says how to provide it); nothing is skipped.
ansible-test sanity's compile test covers syntax only, for the Pythons of the ansible-core that runs it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.lab.lab import wait_until
from tests.pythons import targets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(REPO, "tests", "pythons", "static_vip_driver.py")
LAUNCHER = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
VIP = "198.51.100.10"
CONF = """global_defs {
    router_id py_matrix
    enable_script_security
    script_user root
}
vrrp_script chk_true {
    script "/bin/true"
    interval 1
    weight -10
}
vrrp_instance VI_PY {
    state MASTER
    interface %(dev)s
    virtual_router_id 61
    priority 200
    advert_int 0.5
    version 3
    track_script {
        chk_true
    }
    virtual_ipaddress {
        %(vip)s/24 dev %(dev)s label %(dev)s:1
    }
}
"""


def interpreter(version: str) -> str:
    path = targets.find(version)
    if path is None:
        pytest.fail(targets.missing_message(version))
    return path


def run(argv, env=None, timeout=60, netns=None):
    if netns:
        argv = ["ip", "netns", "exec", netns] + list(argv)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})), check=False)


@pytest.fixture(scope="module")
def controller_pure():
    proc = run([sys.executable, DRIVER, "pure"])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version", targets.STATIC_VIP_PYTHONS)
def test_static_vip_pure_parts_match_the_controller(version, controller_pure):
    python = interpreter(version)
    proc = run([python, DRIVER, "pure"], env={"PYTHONPATH": ""})
    assert proc.returncode == 0, "%s:\n%s" % (python, proc.stderr[-3000:])
    got = json.loads(proc.stdout)
    assert got.pop("python") == version
    want = dict(controller_pure)
    want.pop("python")
    assert sorted(k for k in want if got.get(k) != want[k]) == []
    assert got == want


@pytest.fixture
def netns(request):
    if os.geteuid() != 0:
        pytest.fail("this test needs root (network namespaces)")
    name = "fvpy-%d-%s" % (os.getpid(), request.node.callspec.id.replace(".", ""))
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        for argv in (["ip", "link", "add", "vp0", "type", "veth", "peer", "name", "vp1"],
                     ["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "vp0", "up"], ["ip", "link", "set", "vp1", "up"],
                     ["ip", "addr", "add", "198.51.100.2/24", "dev", "vp0"]):
            subprocess.run(["ip", "-n", name] + argv[1:], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10, check=False)


@pytest.mark.lab
@pytest.mark.parametrize("version", targets.STATIC_VIP_PYTHONS)
def test_static_vip_execute_on_a_real_interface(version, netns, tmp_path):
    python = interpreter(version)
    site = targets.site_dir(version)
    proc = run([python, DRIVER, "netlink", "vp0", str(tmp_path)], env={"PYTHONPATH": site}, netns=netns)
    assert proc.returncode == 0, "%s:\n%s" % (python, proc.stderr[-3000:])
    steps = json.loads(proc.stdout)
    assert steps["python"] == version
    base = ["198.51.100.2/24"]
    assert steps["check"]["changed"] is True and steps["check"]["addresses"] == base          # check mode touches nothing
    assert steps["apply"]["changed"] is True and steps["apply"]["addresses"] == sorted(base + [VIP + "/24"])
    assert steps["apply"]["files"] == ["ifcfg-vp0:0", "rc.local"]
    assert steps["again"]["changed"] is False and steps["again"]["files"] == []               # idempotent
    assert steps["remove"]["changed"] is True and steps["remove"]["addresses"] == base
    assert "floating.vip" not in steps["rc_local"] and not (tmp_path / "ifcfg-vp0:0").exists()


@pytest.mark.parametrize("version", targets.VIPD_PYTHONS)
def test_vipd_check_runs(version, tmp_path):
    python = interpreter(version)
    site = targets.site_dir(version)
    good = tmp_path / "good.conf"
    good.write_text(CONF % {"dev": "eth0", "vip": VIP})
    proc = run([python, LAUNCHER, "check", "-f", str(good)], env={"PYTHONPATH": site})
    assert proc.returncode == 0, proc.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text((CONF % {"dev": "eth0", "vip": VIP}).replace("priority 200", "priority 300"))
    proc = run([python, LAUNCHER, "check", "--syntax-only", "-f", str(bad)])
    assert proc.returncode == 1 and ("%s:" % bad) in proc.stderr and "priority" in proc.stderr, proc.stderr


@pytest.mark.lab
@pytest.mark.parametrize("version", targets.VIPD_PYTHONS)
def test_vipd_runs_and_takes_the_vip(version, netns, tmp_path):
    python = interpreter(version)
    site = targets.site_dir(version)
    conf = tmp_path / "vipd.conf"
    conf.write_text(CONF % {"dev": "vp0", "vip": VIP})
    sock = str(tmp_path / "vipd.sock")
    log = open(tmp_path / "vipd.log", "w")
    proc = subprocess.Popen(["ip", "netns", "exec", netns, python, LAUNCHER, "run", "-f", str(conf), "--pidfile",
                             str(tmp_path / "vipd.pid"), "--control-socket", sock, "--state-dir", str(tmp_path / "state")],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=site))
    log.close()
    try:
        def master():
            if proc.poll() is not None:
                raise AssertionError("vipd exited: %s" % (tmp_path / "vipd.log").read_text()[-3000:])
            status = run([python, LAUNCHER, "status", "--json", "--control-socket", sock], env={"PYTHONPATH": site})
            seen[:] = [json.loads(status.stdout)] if status.returncode == 0 else []
            return bool(seen) and seen[0]["instances"][0]["state"] == "MASTER"
        seen = []
        wait_until(master, timeout=20, interval=0.2, what="vipd on Python %s MASTER" % version)
        # asyncio.Runner (3.11) takes the loop whose timerfd runs the election timers on time (timer_selector.py);
        # before it, asyncio's own loop (3.13 has os.timerfd_*, 3.11 and 3.12 go through ctypes)
        wanted = "timerfd" if tuple(int(x) for x in version.split(".")) >= (3, 11) else "epoll"
        assert seen[0]["timers"] == wanted, seen[0].get("timers")
        addrs = run(["ip", "-n", netns, "-4", "addr", "show", "dev", "vp0"]).stdout
        assert VIP + "/24" in addrs and "vp0:1" in addrs
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert VIP + "/24" not in run(["ip", "-n", netns, "-4", "addr", "show", "dev", "vp0"]).stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
