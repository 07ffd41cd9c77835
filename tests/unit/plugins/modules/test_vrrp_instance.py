# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_instance and vrrp_info: file logic (render, validate, cross-file VRID, idempotence) and the real
modules run as Ansible runs them (JSON args on a file, JSON result on stdout), in temp directories."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

# tests/unit/conftest.py puts the collection on sys.path (it makes the link farm when needed).
from ansible_collections.floating.vip.plugins.module_utils import vrrp_instance_file as vif
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# The collections root this very import resolved through, for the module subprocesses.
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(vif.__file__), *[".."] * 5))
MODULES = os.path.join(REPO, "plugins", "modules")


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="fvu-vrrp-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def base(**kw):
    p = dict(name="VI_DB", state="present", initial_state="BACKUP", interface="eth0", virtual_router_id=51, priority=150,
             advert_int=1.0, version=None, preempt=True, preempt_delay=None, authentication=None, unicast_src_ip=None,
             unicast_peers=None, virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1"],
             virtual_ipaddresses_excluded=[], track_interfaces=[], track_scripts=[])
    p.update(kw)
    return p


def run_module(name, args, check=False, diff=False, env=None, netns=None):
    """Run plugins/modules/NAME.py the way Ansible does (args file), return (rc, result dict)."""
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    full_env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    try:
        prefix = ["ip", "netns", "exec", netns] if netns else []
        proc = subprocess.run(prefix + [sys.executable, os.path.join(MODULES, name + ".py"), handle.name],
                              capture_output=True, text=True, timeout=60, env=full_env, check=False)
    finally:
        os.unlink(handle.name)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))


def module_args(tmp, **kw):
    args = dict(name="VI_DB", interface="eth0", virtual_router_id=51, priority=150,
                virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1"], conf_dir=os.path.join(tmp, "conf.d"),
                main_config=os.path.join(tmp, "vipd.conf"), control_socket=os.path.join(tmp, "vipd.sock"),
                pidfile=os.path.join(tmp, "vipd.pid"))
    args.update(kw)
    return args


# ------------------------------------------------------------------ rendering and validation

def test_structured_options_render_canonical_keepalived_text(tmp):
    p = base(initial_state="MASTER", version=3, advert_int=0.5, unicast_src_ip="198.51.100.11",
             unicast_peers=["198.51.100.12"],
             virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1", {"address": "198.51.100.51/24", "dev": "eth0", "scope": "global"}],
             virtual_ipaddresses_excluded=[{"address": "2001:db8::50/64", "dev": "eth0"}],
             track_interfaces=["eth1", {"interface": "eth2", "weight": -10}], notify_master="/bin/echo promote db",
             garp_master_delay=2, garp_master_refresh=60)
    content, inst, warnings = vif.render(p, os.path.join(tmp, "VI_DB.conf"))
    assert content.startswith(vif.HEADER)
    assert inst.state == "MASTER" and inst.version == 3 and inst.advert_int == 0.5 and inst.vrid == 51
    assert [v.cidr for v in inst.vips] == ["198.51.100.50/24", "198.51.100.51/24"]
    assert inst.vips[0].label == "eth0:1" and inst.vips[1].scope == "global"
    assert [v.cidr for v in inst.excluded_vips] == ["2001:db8::50/64"]
    assert inst.track_interfaces == [("eth1", None), ("eth2", -10)]
    assert inst.unicast_peers == ["198.51.100.12"] and inst.garp_master_delay == 2 and inst.garp_master_refresh == 60
    assert '    notify_master "/bin/echo promote db"\n' in content
    # The file is exactly what the daemon's parser reads back.
    again = config.parse_text(content, "x.conf").instances["VI_DB"]
    assert again.fingerprint() == inst.fingerprint()
    assert warnings == []


def test_string_and_dict_vips_are_the_same_instance(tmp):
    path = os.path.join(tmp, "VI_DB.conf")
    a = vif.render(base(virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1"]), path)[0]
    b = vif.render(base(virtual_ipaddresses=[{"address": "198.51.100.50/24", "dev": "eth0", "label": "eth0:1"}]), path)[0]
    assert a == b


@pytest.mark.parametrize("change, reason", [
    (dict(virtual_router_id=256), "virtual_router_id"),
    (dict(priority=0), "priority"),
    (dict(virtual_ipaddresses=["198.51.100.300/24"]), "is not an IP address"),
    (dict(virtual_ipaddresses=[]), "at least one VIP"),
    (dict(virtual_ipaddresses=["198.51.100.50/24 dev eth0 bogus"]), "unsupported option 'bogus'"),
    (dict(track_scripts=["chk_nothing"]), "no vrrp_script chk_nothing"),
    (dict(authentication={"auth_type": "PASS", "auth_pass": None}), "needs an auth_pass"),
])
def test_invalid_instances_fail_with_the_parser_reason(tmp, change, reason):
    with pytest.raises(vif.InstanceFileError) as err:
        vif.render(base(**change), os.path.join(tmp, "VI_DB.conf"))
    assert reason in str(err.value)


@pytest.mark.parametrize("change", [
    dict(virtual_ipaddresses=["198.51.100.50/24 }\nvrrp_instance EVIL {"]),
    dict(virtual_ipaddresses=[{"address": "198.51.100.50/24", "label": "a b"}]),
    dict(virtual_ipaddresses=[{"address": "198.51.100.50/24", "colour": "red"}]),
    dict(notify_master='/bin/x"; reboot'),
    dict(interface="eth0 {"),
])
def test_values_cannot_escape_their_line(tmp, change):
    with pytest.raises(vif.InstanceFileError):
        vif.build_text(base(**change))


def test_track_scripts_resolve_against_the_main_config(tmp):
    main = os.path.join(tmp, "vipd.conf")
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    with open(main, "w") as f:
        f.write("global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 1\n}\n"
                "vrrp_script chk_db {\n    script \"/bin/true\"\n    interval 2\n}\ninclude %s/*.conf\n" % conf_d)
    pl = vif.plan(base(track_scripts=[{"name": "chk_db", "weight": -20}]), conf_d, main)
    assert pl.instance.track_scripts == [("chk_db", -20)]
    # The global defaults of the main config are what the daemon will apply, and the file pins them.
    assert pl.instance.version == 3 and pl.instance.garp_master_delay == 1
    vif.apply(pl)
    # The whole configuration, as the daemon loads it, holds the instance.
    assert list(config.load(main).instances) == ["VI_DB"]


@pytest.mark.parametrize("globals_text, expected", [
    ("vrrp_garp_master_repeat 3\n    vrrp_garp_master_refresh 60\n    vrrp_garp_interval 0.25",
     dict(garp_master_repeat=3, garp_master_refresh=60, garp_interval=0.25, garp_master_delay=5, garp_master_refresh_repeat=1)),
    # vrrp_min_garp: refresh_repeat 0, which no keyword takes: restated as vrrp_min_garp, not as a value
    ("vrrp_min_garp\n    vrrp_garp_master_delay 2",
     dict(garp_master_repeat=1, garp_master_refresh=0, garp_master_delay=2, garp_master_refresh_repeat=0)),
])
def test_main_config_garp_globals_reach_the_instance(tmp, globals_text, expected):
    main = os.path.join(tmp, "vipd.conf")
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    with open(main, "w") as f:
        f.write("global_defs {\n    %s\n}\ninclude %s/*.conf\n" % (globals_text, conf_d))
    pl = vif.plan(base(), conf_d, main)
    assert {k: getattr(pl.instance, k) for k in expected} == expected
    vif.apply(pl)
    loaded = config.load(main).instances["VI_DB"]
    assert {k: getattr(loaded, k) for k in expected} == expected


# ------------------------------------------------------------------ plan/apply: idempotence, mode, cross-file

def test_apply_is_atomic_0600_and_idempotent(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    pl = vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "s3cret"}), conf_d)
    assert pl.changed and pl.before is None
    vif.apply(pl)
    assert stat.S_IMODE(os.stat(pl.path).st_mode) == 0o600
    assert "auth_pass s3cret" in open(pl.path).read()
    assert os.listdir(conf_d) == ["VI_DB.conf"]  # no temp file left behind
    again = vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "s3cret"}), conf_d)
    assert not again.changed
    # A loosened mode is a change on its own, and is put back.
    os.chmod(pl.path, 0o644)
    loose = vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "s3cret"}), conf_d)
    assert loose.changed and loose.before == loose.after
    vif.apply(loose)
    assert stat.S_IMODE(os.stat(pl.path).st_mode) == 0o600


def test_diff_masks_passwords(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    vif.apply(vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "old-pw"}), conf_d))
    pl = vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "new-pw"}), conf_d)
    assert pl.changed
    diff = pl.diff()
    assert "old-pw" not in diff["before"] and "new-pw" not in diff["after"]
    assert "auth_pass ********" in diff["after"]


def test_same_vrid_same_interface_in_another_file_is_refused(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    vif.apply(vif.plan(base(name="VI_WEB"), conf_d))
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(name="VI_DB"), conf_d)
    assert "virtual_router_id 51 on eth0 (IPv4) is already used by instance VI_WEB" in str(err.value)
    assert "VI_WEB.conf:" in str(err.value)
    # Another interface, another VRID, or the other address family: no conflict.
    assert vif.plan(base(interface="eth1", virtual_ipaddresses=["198.51.100.50/24"]), conf_d).changed
    assert vif.plan(base(virtual_router_id=52), conf_d).changed
    assert vif.plan(base(virtual_ipaddresses=["2001:db8::50/64"]), conf_d).changed
    # Nothing was written by the refused plan.
    assert os.listdir(conf_d) == ["VI_WEB.conf"]


def test_conflicts_with_the_main_config_but_not_with_itself(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    main = os.path.join(tmp, "vipd.conf")
    with open(main, "w") as f:
        f.write("vrrp_instance VI_MAIN {\n    interface eth0\n    virtual_router_id 60\n"
                "    virtual_ipaddress {\n        198.51.100.60/24\n    }\n}\ninclude %s/*.conf\n" % conf_d)
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(virtual_router_id=60), conf_d, main)
    assert "VI_MAIN at %s:1" % main in str(err.value)
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(name="VI_MAIN", virtual_router_id=61), conf_d, main)
    assert "instance VI_MAIN is already defined" in str(err.value)
    # Our own file is reached through the include: rewriting it is not a conflict with itself.
    vif.apply(vif.plan(base(), conf_d, main))
    changed = vif.plan(base(priority=90), conf_d, main)
    assert changed.changed and changed.instance.priority == 90


def test_broken_neighbour_file_is_a_warning_not_a_failure(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    with open(os.path.join(conf_d, "broken.conf"), "w") as f:
        f.write("vrrp_instance X {\n    bogus_keyword 1\n}\n")
    pl = vif.plan(base(), conf_d)
    assert any("broken.conf cannot be parsed" in w for w in pl.warnings)


def test_absent_removes_the_file(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    vif.apply(vif.plan(base(), conf_d))
    pl = vif.plan(dict(name="VI_DB", state="absent"), conf_d)
    assert pl.changed
    vif.apply(pl)
    assert os.listdir(conf_d) == []
    assert not vif.plan(dict(name="VI_DB", state="absent"), conf_d).changed


# ------------------------------------------------------------------ the module, as Ansible runs it

def test_module_check_mode_diff_then_apply_then_idempotent(tmp):
    args = module_args(tmp, authentication={"auth_pass": "pw123456"})
    rc, res = run_module("vrrp_instance", args, check=True, diff=True)
    assert rc == 0 and res["changed"] is True
    assert not os.path.exists(os.path.join(tmp, "conf.d"))  # check mode wrote nothing
    assert res["diff"]["before"] == "" and "virtual_router_id 51" in res["diff"]["after"]
    assert "pw123456" not in json.dumps(res)
    rc, res = run_module("vrrp_instance", args)
    assert rc == 0 and res["changed"] is True and res["path"] == os.path.join(tmp, "conf.d", "VI_DB.conf")
    assert res["instance"]["vrid"] == 51 and "auth_pass" not in res["instance"]
    assert res["reloaded"] is False
    rc, res = run_module("vrrp_instance", args, diff=True)
    assert rc == 0 and res["changed"] is False
    rc, res = run_module("vrrp_instance", dict(args, priority=151), check=True, diff=True)
    assert res["changed"] is True and "priority 150" in res["diff"]["before"] and "priority 151" in res["diff"]["after"]
    assert "priority 150" in open(res["path"]).read()


def test_module_invalid_instance_fails_and_writes_nothing(tmp):
    rc, res = run_module("vrrp_instance", module_args(tmp, virtual_ipaddresses=["198.51.100.50/33"]))
    assert rc != 0 and res["failed"] and "prefix length" in res["msg"]
    assert not os.path.exists(os.path.join(tmp, "conf.d", "VI_DB.conf"))


def test_module_state_absent(tmp):
    args = module_args(tmp)
    assert run_module("vrrp_instance", args)[1]["changed"]
    rc, res = run_module("vrrp_instance", dict(name="VI_DB", state="absent", conf_dir=args["conf_dir"]), check=True)
    assert res["changed"] and os.path.exists(res["path"])
    rc, res = run_module("vrrp_instance", dict(name="VI_DB", state="absent", conf_dir=args["conf_dir"]))
    assert res["changed"] and not os.path.exists(res["path"])


class FakeDaemon:
    """An AF_UNIX server speaking vipd's control protocol (one JSON line in, one JSON reply out)."""

    def __init__(self, path, replies):
        self.path = path
        self.replies = replies
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        for dummy in range(4):  # bounded: a test makes at most a few requests
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data.decode())
                self.requests.append(request)
                conn.sendall(json.dumps(self.replies[request["command"]]).encode())

    def close(self):
        self.sock.close()
        self.thread.join(5)


def test_module_reload_over_the_control_socket(tmp):
    args = module_args(tmp, reload=True)
    daemon = FakeDaemon(args["control_socket"], {"reload": {"ok": True}})
    try:
        rc, res = run_module("vrrp_instance", args)
        assert rc == 0 and res["reloaded"] is True and "control socket" in res["reload_detail"]
        assert daemon.requests == [{"command": "reload"}]
        rc, res = run_module("vrrp_instance", args)  # unchanged: no reload
        assert res["changed"] is False and daemon.requests == [{"command": "reload"}]
    finally:
        daemon.close()


def test_module_refused_reload_restores_the_previous_file(tmp):
    args = module_args(tmp)
    run_module("vrrp_instance", args)
    path = os.path.join(args["conf_dir"], "VI_DB.conf")
    before = open(path).read()
    daemon = FakeDaemon(args["control_socket"], {"reload": {"ok": False, "errors": ["vipd.conf:3: something"]}})
    try:
        rc, res = run_module("vrrp_instance", dict(args, priority=99, reload=True))
    finally:
        daemon.close()
    assert rc != 0 and "refused" in res["msg"] and "vipd.conf:3" in res["msg"]
    # Another file's error is located, never quoted (it could be any file the config includes).
    assert "something" not in res["msg"]
    assert open(path).read() == before


def test_module_reload_by_sighup_to_the_pidfile(tmp):
    marker = os.path.join(tmp, "hup")
    # A stand-in daemon (started and ended here, by PID) that records SIGHUP; run as `python .../vipd run`
    # like the launcher, since only a process that is vipd gets the signal.
    code = ("import signal,sys,time\nsignal.signal(signal.SIGHUP, lambda *a: open(sys.argv[2],'w').write('hup'))\n"
            "print('ready', flush=True)\nfor _ in range(600): time.sleep(0.1)\n")
    launcher = os.path.join(tmp, "vipd")
    with open(launcher, "w") as f:
        f.write(code)
    proc = subprocess.Popen([sys.executable, launcher, "run", marker], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        args = module_args(tmp, reload=True)
        with open(args["pidfile"], "w") as f:
            f.write("%d\n" % proc.pid)
        rc, res = run_module("vrrp_instance", args)
        assert rc == 0 and res["reloaded"] is True and res["reload_detail"] == "SIGHUP to pid %d" % proc.pid
        for dummy in range(50):  # bounded: 5 s
            if os.path.exists(marker):
                break
            time.sleep(0.1)
        assert open(marker).read() == "hup"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)


def test_module_reload_without_a_daemon_is_reported(tmp):
    rc, res = run_module("vrrp_instance", module_args(tmp, reload=True))
    assert rc == 0 and res["changed"] and res["reloaded"] is False and "not running" in res["reload_detail"]


# ------------------------------------------------------------------ vrrp_info

def test_info_without_daemon_says_not_running(tmp):
    rc, res = run_module("vrrp_info", dict(control_socket=os.path.join(tmp, "none.sock")), check=True)
    assert rc == 0 and res["running"] is False and res["instances"] == [] and "no control socket" in res["msg"]
    assert res["changed"] is False


def test_info_with_a_stale_socket_says_not_running(tmp):
    path = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens: what a killed daemon leaves
    rc, res = run_module("vrrp_info", dict(control_socket=path))
    assert rc == 0 and res["running"] is False and "not running" in res["msg"]


def test_info_reads_instances_from_the_daemon(tmp):
    path = os.path.join(tmp, "vipd.sock")
    status = {"ok": True, "pid": 42, "instances": [
        {"name": "VI_DB", "interface": "eth0", "vrid": 51, "state": "MASTER", "priority": 150, "effective_priority": 150,
         "master": "198.51.100.11", "vips_held": ["198.51.100.50/24"],
         "counters": {"adverts_in": 3, "adverts_out": 40, "drops": {"auth": 1}, "transitions": 2}},
    ]}
    daemon = FakeDaemon(path, {"status": status})
    try:
        rc, res = run_module("vrrp_info", dict(control_socket=path), check=True)
    finally:
        daemon.close()
    assert rc == 0 and res["running"] is True and res["changed"] is False
    assert daemon.requests == [{"command": "status"}]
    inst = res["instances"][0]
    assert inst["vips"] == ["198.51.100.50/24"] and inst["state"] == "MASTER" and inst["counters"]["drops"] == {"auth": 1}
    assert res["daemon"]["pid"] == 42
