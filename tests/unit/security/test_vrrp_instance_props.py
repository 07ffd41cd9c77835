# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_instance under hostile values: examples of each reported defect, and hypothesis properties that
make the class impossible.

- Any value of any option (any text, line separators, odd types) -> a plan or our own InstanceFileError
  (the module: an Outcome, i.e. exit_json/fail_json), never another exception. An accepted plan's file
  parses back to exactly the intended instance, one statement per line, and no value holds a line separator.
- Any name -> a path directly inside conf_dir, or refused; nothing outside conf_dir is read, written or deleted.
- auth_pass is never in a message, warning, diff or result, not even its effective first 8 characters.
- SIGHUP goes only to a process that is vipd (or keepalived).
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils import vrrp_instance_file as vif
from ansible_collections.floating.vip.plugins.module_utils.persist import atomic
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render
from ansible_collections.floating.vip.plugins.module_utils import vrrp_instance_task as task

FEW = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(vif.__file__), *[".."] * 5))
SEPARATORS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t", "\u202e"]
LINE_BREAKING = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="fvu-vrrpsec-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def base(**kw):
    p = dict(name="VI_DB", state="present", initial_state="BACKUP", interface="eth0", virtual_router_id=51, priority=150,
             advert_int=1.0, version=None, preempt=True, preempt_delay=None, authentication=None, unicast_src_ip=None,
             unicast_peers=None, virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1"],
             virtual_ipaddresses_excluded=[], track_interfaces=[], track_scripts=[], notify_master=None,
             notify_backup=None, notify_fault=None, notify_stop=None, notify=None, smtp_alert=None,
             garp_master_delay=None, garp_master_repeat=None, garp_master_refresh=None, garp_master_refresh_repeat=None,
             garp_interval=None, backend="vipd", conf_dir=None, main_config=None, validate_keepalived=True, reload=False,
             control_socket="/nonexistent/vipd.sock", pidfile=None)
    p.update(kw)
    return p


def run_module(args, check=False, diff=False):
    """plugins/modules/vrrp_instance.py as Ansible runs it: (rc, JSON result)."""
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, os.path.join(REPO, "plugins", "modules", "vrrp_instance.py"), handle.name],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
    finally:
        os.unlink(handle.name)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))


def module_args(tmp, **kw):
    args = dict(name="VI_DB", interface="eth0", virtual_router_id=51, virtual_ipaddresses=["198.51.100.50/24"],
                conf_dir=os.path.join(tmp, "conf.d"), main_config=os.path.join(tmp, "vipd.conf"),
                control_socket=os.path.join(tmp, "vipd.sock"), pidfile=os.path.join(tmp, "vipd.pid"))
    args.update(kw)
    return args


def warnings_of(res):
    """Task warnings as text (ansible-core 2.19 returns WarningSummary dicts, older versions strings)."""
    out = []
    for w in res.get("warnings", []):
        out.append(w.get("event", {}).get("msg", json.dumps(w)) if isinstance(w, dict) else str(w))
    return out


def assert_clean(text):
    """No raw control character or line separator (messages are one line, values are escaped)."""
    assert vif.unsafe_char(text) is None, repr(text)


# ------------------------------------------------------------------ 3. path traversal

@pytest.mark.parametrize("name", ["../vipd", "../victim", "/etc/passwd", "a/b", ".hidden", ".", "..", "", "x" * 65,
                                  "VI\x00", "VI\n", "-rf", "VI DB", "VI\u2028"])
def test_unsafe_names_are_refused_before_any_file_access(tmp, name):
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    victim = os.path.join(tmp, "victim.conf")
    with open(victim, "w") as f:
        f.write("keep me\n")
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(dict(name=name, state="absent"), conf_d)
    assert_clean(str(err.value))
    with pytest.raises(vif.InstanceFileError):
        vif.plan(base(name=name), conf_d)
    assert open(victim).read() == "keep me\n" and os.listdir(conf_d) == []


def test_module_traversal_name_overwrites_nothing(tmp):
    args = module_args(tmp)
    with open(args["main_config"], "w") as f:
        f.write("global_defs {\n    router_id main\n}\n")
    rc, res = run_module(dict(args, name="../vipd"))
    assert rc != 0 and res["failed"] and "invalid name" in res["msg"]
    assert open(args["main_config"]).read() == "global_defs {\n    router_id main\n}\n"
    rc, res = run_module(dict(name="../vipd", state="absent", conf_dir=args["conf_dir"]))
    assert rc != 0 and os.path.exists(args["main_config"])


def test_symlink_or_special_file_at_the_instance_path_is_refused(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    os.mkdir(conf_d)
    target = os.path.join(tmp, "shadow")
    with open(target, "w") as f:
        f.write("root:secret-hash\n")
    os.symlink(target, os.path.join(conf_d, "VI_DB.conf"))
    for state in ("present", "absent"):
        with pytest.raises(vif.InstanceFileError) as err:
            vif.plan(base(state=state), conf_d)
        assert "symbolic link" in str(err.value) and "secret-hash" not in str(err.value)
    assert open(target).read() == "root:secret-hash\n" and os.path.islink(os.path.join(conf_d, "VI_DB.conf"))
    # A link to a file of the same name elsewhere is no better.
    os.unlink(os.path.join(conf_d, "VI_DB.conf"))
    other = os.path.join(tmp, "elsewhere")
    os.mkdir(other)
    os.symlink(os.path.join(other, "VI_DB.conf"), os.path.join(conf_d, "VI_DB.conf"))
    with pytest.raises(vif.InstanceFileError):
        vif.plan(base(), conf_d)
    os.unlink(os.path.join(conf_d, "VI_DB.conf"))
    os.mkfifo(os.path.join(conf_d, "VI_DB.conf"))
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(), conf_d)
    assert "not a regular file" in str(err.value)
    os.unlink(os.path.join(conf_d, "VI_DB.conf"))
    os.mkdir(os.path.join(conf_d, "VI_DB.conf"))
    with pytest.raises(vif.InstanceFileError):
        vif.plan(base(state="absent"), conf_d)


def test_a_symlinked_conf_dir_is_followed_and_the_file_stays_inside_it(tmp):
    real = os.path.join(tmp, "real.d")
    os.mkdir(real)
    link = os.path.join(tmp, "conf.d")
    os.symlink(real, link)
    pl = vif.plan(base(), link)
    vif.apply(pl)
    assert os.listdir(real) == ["VI_DB.conf"] and not os.path.islink(os.path.join(real, "VI_DB.conf"))


def test_a_file_swapped_for_a_link_after_plan_is_not_written_through(tmp):
    conf_d = os.path.join(tmp, "conf.d")
    pl = vif.plan(base(), conf_d)
    os.mkdir(conf_d)
    target = os.path.join(tmp, "target")
    with open(target, "w") as f:
        f.write("untouched\n")
    os.symlink(target, pl.path)
    with pytest.raises(vif.InstanceFileError):
        vif.apply(pl)
    assert open(target).read() == "untouched\n"


@FEW
@given(name=st.one_of(st.text(max_size=80), st.sampled_from(["..", ".", "../x", "/abs", "a/../../b", "VI_1", "include"]),
                      st.integers(), st.none(), st.binary(max_size=8)))
def test_any_name_is_a_path_inside_conf_dir_or_refused(name):
    conf_d = tempfile.mkdtemp(prefix="fvu-vrrpsec-name-")
    try:
        try:
            path = vif.check_path(vif.instance_path(conf_d, name))
        except vif.InstanceFileError as exc:
            assert_clean(str(exc))
            return
        assert isinstance(name, str) and vif.NAME_RE.match(name)
        assert os.path.dirname(os.path.realpath(path)) == os.path.realpath(conf_d)
        assert os.path.basename(path) == name + ".conf"
    finally:
        shutil.rmtree(conf_d, ignore_errors=True)


# ------------------------------------------------------------------ 4. line separators, includes

@pytest.mark.parametrize("sep", SEPARATORS)
def test_unicast_peer_with_a_line_separator_cannot_include_a_file(tmp, sep):
    secret = os.path.join(tmp, "shadow")
    with open(secret, "w") as f:
        f.write("root:$6$verysecrethash:19000:0:99999:7:::\n")
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(unicast_peers=["198.51.100.2%sinclude %s" % (sep, secret)]), os.path.join(tmp, "conf.d"))
    assert "verysecrethash" not in str(err.value)
    assert_clean(str(err.value))


@pytest.mark.parametrize("option, value", [
    ("interface", "eth0\u2028include /etc/shadow"),
    ("unicast_src_ip", "198.51.100.1\x0binclude /etc/shadow"),
    ("notify_master", "/bin/true\x85include /etc/shadow"),
    ("notify", "/bin/true\rinclude /etc/shadow"),
    ("virtual_ipaddresses", ["198.51.100.50/24\x1cinclude /etc/shadow"]),
    ("virtual_ipaddresses", [{"address": "198.51.100.50/24", "label": "eth0:1\u2029x"}]),
    ("track_interfaces", ["eth1\x0cinclude /etc/shadow"]),
    ("track_scripts", [{"name": "chk\x1e", "weight": 1}]),
    ("unicast_src_ip", "fe80::1%eth0\u2028include"),  # a zone index could carry anything
])
def test_every_value_refuses_line_separators(tmp, option, value):
    with pytest.raises(vif.InstanceFileError) as err:
        vif.build_text(base(**{option: value}))
    assert_clean(str(err.value))


def test_module_error_never_quotes_an_included_file(tmp):
    args = module_args(tmp)
    secret = os.path.join(tmp, "shadow")
    with open(secret, "w") as f:
        f.write("root:$6$verysecrethash:19000\n")
    # The main config includes an unreadable-for-vipd file: its problems are located, never quoted.
    with open(args["main_config"], "w") as f:
        f.write("include %s\n" % secret)
    rc, res = run_module(dict(args, unicast_peers=["198.51.100.2\u2028include %s" % secret]))
    assert rc != 0 and "verysecrethash" not in json.dumps(res)
    rc, res = run_module(args, check=True)
    assert "verysecrethash" not in json.dumps(res)
    assert any("does not load as a whole" in w for w in warnings_of(res) + res.get("parser_warnings", []))


def test_parser_messages_about_other_files_are_reduced_to_their_location():
    exc = config.ConfigError([config.Message("/etc/shadow", 1, "unknown keyword 'root:$6$hash'"),
                              config.Message("/x/VI.conf", 3, "invalid IP address 'a'")])
    out = vif.messages(exc, "/x/VI.conf")
    assert out[0].startswith("/etc/shadow:1:") and "hash" not in out[0]
    assert out[1] == "invalid IP address 'a'"
    assert vif.reload_errors(["/etc/shadow:1: unknown keyword 'root:$6$hash'", "/x/VI.conf:2: bad"], "/x/VI.conf") == [
        "/etc/shadow:1: error in another file (run `vipd check` there)", "/x/VI.conf:2: bad"]


# ------------------------------------------------------------------ 5. no crash, ever

@pytest.mark.parametrize("change", [
    dict(notify_master="/bin/echo a\\nb"),          # an escape that reads back as a newline
    dict(notify_master='/bin/x "unterminated'),
    dict(notify_master="\\"),
    dict(virtual_ipaddresses=[[1, 2]]),
    dict(virtual_ipaddresses=[{"address": 5}]),
    dict(track_interfaces=[{"interface": "eth0", "weight": "abc"}]),
    dict(track_scripts=[{"name": ["x"]}]),
    dict(virtual_ipaddresses=["198.51.100.50/24 dev"]),
    dict(name="VI_DB", authentication={"auth_pass": "tab\tpass"}),
])
def test_module_odd_values_end_in_fail_json(tmp, change):
    rc, res = run_module(module_args(tmp, **change))
    assert rc != 0 and res["failed"] is True and res["msg"]
    assert_clean(res["msg"])
    assert "tab\tpass" not in json.dumps(res) and "tab\\tpass" not in json.dumps(res)
    assert not os.path.exists(os.path.join(tmp, "conf.d", "VI_DB.conf"))


def test_notify_with_backslashes_round_trips_literally(tmp):
    pl = vif.plan(base(notify_master="/bin/echo 'a b' c\\ d"), os.path.join(tmp, "conf.d"))
    assert pl.instance.notify_master == "/bin/echo 'a b' c\\ d"
    again = config.parse_text(pl.after, "x.conf").instances["VI_DB"]
    assert again.notify_master == "/bin/echo 'a b' c\\ d"


def test_renderer_escapes_controls_and_refuses_separators():
    for value in ("/bin/echo a\nb", "x\x85y", "t\tz", "\x00"):
        text = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.51.100.1\n }\n" \
               " notify_master %s\n}\n" % config_render.script_quote(value)
        assert text.count("\n") == len(text.splitlines())
        assert config.parse_text(text, "r.conf").instances["V"].notify_master == value
    for value in ("a\u2028b", "a\u2029"):
        with pytest.raises(ValueError):
            config_render.script_quote(value)
    inst = config.Instance(name="V\u2028include /etc/shadow", interface="eth0", vrid=1)
    with pytest.raises(ValueError):
        config_render.render_instance(inst)
    inst = config.Instance(name="V", interface="eth0", vrid=1, auth_type="PASS", auth_pass='pw"x')
    with pytest.raises(ValueError) as err:
        config_render.render_instance(inst)
    assert "pw" not in str(err.value)


# ------------------------------------------------------------------ 6. secrets

def test_long_password_warning_and_results_never_show_it(tmp):
    secret = "Sup3rSecretPassw0rd"
    rc, res = run_module(module_args(tmp, authentication={"auth_pass": secret}), diff=True)
    assert rc == 0 and res["changed"]
    dumped = json.dumps(res)
    assert secret not in dumped and secret[:8] not in dumped
    assert any("longer than 8" in w for w in warnings_of(res))
    # The file itself holds what keepalived uses, 0600.
    path = os.path.join(tmp, "conf.d", "VI_DB.conf")
    assert "auth_pass %s\n" % secret[:8] in open(path).read()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("password", ["tab\tpass", "sp ace", 'qu"ote', "new\nline", "", "x" * 65, "dollar$x", "uni\u00e9"])
def test_invalid_passwords_are_refused_without_echo(tmp, password):
    with pytest.raises(vif.InstanceFileError) as err:
        vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": password}), os.path.join(tmp, "conf.d"))
    assert "auth_pass" in str(err.value)
    if password:
        assert password not in str(err.value) and repr(password)[1:-1] not in str(err.value)


def test_masked_hides_any_auth_pass_form():
    text = 'authentication {\n    auth_pass "my pass"\n}\nx { auth_pass abc }\n'
    out = vif.masked(text)
    assert "my pass" not in out and "pass\"" not in out and "abc" not in out and out.count(vif.MASK) == 2


# ------------------------------------------------------------------ 10. mode before rename

def test_existing_world_readable_file_gets_0600_before_the_rename(tmp, monkeypatch):
    conf_d = os.path.join(tmp, "conf.d")
    vif.apply(vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "old-pw"}), conf_d))
    path = os.path.join(conf_d, "VI_DB.conf")
    os.chmod(path, 0o644)
    seen = []
    real_rename = os.rename

    def spy(src, dst):
        seen.append((os.path.basename(dst), stat.S_IMODE(os.stat(src).st_mode)))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", spy)
    vif.apply(vif.plan(base(authentication={"auth_type": "PASS", "auth_pass": "new-pw"}), conf_d))
    monkeypatch.undo()
    assert seen == [("VI_DB.conf", 0o600)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "new-pw" in open(path).read()


# ------------------------------------------------------------------ 12. signalling only the daemon

def _start(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


SLEEPER = ("import signal,sys,time\nsignal.signal(signal.SIGHUP, lambda *a: open(sys.argv[-1],'w').write('hup'))\n"
           "print('ready', flush=True)\nfor _ in range(600): time.sleep(0.1)\n")


def test_a_stale_pidfile_naming_another_process_is_not_signalled(tmp):
    marker = os.path.join(tmp, "hup")
    proc = _start([sys.executable, "-c", SLEEPER, marker])  # not vipd
    try:
        pidfile = os.path.join(tmp, "vipd.pid")
        with open(pidfile, "w") as f:
            f.write("%d\n" % proc.pid)
        assert not vif.is_daemon(proc.pid, "vipd") and not vif.is_daemon(proc.pid, "keepalived")
        reloaded, detail = vif.reload_daemon("vipd", None, pidfile)
        assert reloaded is False and "not signalled" in detail and str(proc.pid) in detail
        rc, res = run_module(module_args(tmp, reload=True, pidfile=pidfile))
        assert rc == 0 and res["reloaded"] is False and any("not signalled" in w for w in warnings_of(res))
        time.sleep(0.3)
        assert not os.path.exists(marker) and proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)


def test_the_real_launcher_shape_is_recognised(tmp):
    launcher = os.path.join(tmp, "vipd")
    with open(launcher, "w") as f:
        f.write(SLEEPER)
    proc = _start([sys.executable, "-u", launcher, "run", "-f", "x.conf", os.path.join(tmp, "hup")])
    try:
        assert vif.is_daemon(proc.pid, "vipd") and not vif.is_daemon(proc.pid, "keepalived")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
    proc_root = os.path.join(tmp, "proc")
    for pid, argv, comm, backend, expected in (
            (10, ["/usr/sbin/vipd", "run"], "vipd", "vipd", True),
            (11, ["/usr/sbin/keepalived", "-D"], "keepalived", "keepalived", True),
            (12, ["/usr/bin/python3", "/srv/other.py", "vipd"], "python3", "vipd", False),
            (13, ["/bin/sleep", "100"], "sleep", "keepalived", False),
            (14, [], "vipd", "vipd", True),           # a zombie: judged by comm
            (15, [], "kworker/0:1", "vipd", False)):
        os.makedirs(os.path.join(proc_root, str(pid)))
        with open(os.path.join(proc_root, str(pid), "cmdline"), "wb") as f:
            f.write(b"".join(a.encode() + b"\0" for a in argv))
        with open(os.path.join(proc_root, str(pid), "comm"), "w") as f:
            f.write(comm + "\n")
        assert vif.is_daemon(pid, backend, proc=proc_root) is expected, argv


# ------------------------------------------------------------------ properties: any value of any option

TEXT = st.text(max_size=40)
ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=6),
                st.lists(st.one_of(st.integers(), TEXT), max_size=3),
                st.dictionaries(st.sampled_from(["address", "dev", "label", "interface", "weight", "name", "x"]),
                                st.one_of(TEXT, st.integers(), st.none()), max_size=3))


def injected(valid):
    """A valid value followed by a separator and a statement (the attacker's shape), or any text."""
    return st.one_of(TEXT, st.builds(lambda sep, tail: valid + sep + tail, st.sampled_from(SEPARATORS),
                                     st.sampled_from(["include /etc/shadow", "}\nvrrp_instance EVIL {", "x", ""])))


STRING_OPTIONS = {
    "name": "VI_1", "interface": "eth0", "unicast_src_ip": "198.51.100.11", "initial_state": "MASTER",
    "notify_master": "/bin/true", "notify_backup": "/bin/echo backup", "notify_fault": "/bin/true",
    "notify_stop": "/bin/true", "notify": "/bin/logger vrrp",
}
LIST_OPTIONS = {
    "unicast_peers": "198.51.100.12", "virtual_ipaddresses": "198.51.100.60/24 dev eth0",
    "virtual_ipaddresses_excluded": "198.51.100.61/32", "track_interfaces": "eth1 weight 5", "track_scripts": "chk",
}
SCALAR_OPTIONS = ["virtual_router_id", "priority", "advert_int", "version", "preempt", "preempt_delay", "smtp_alert",
                  "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
                  "garp_interval", "authentication"]


@st.composite
def mutated(draw):
    key = draw(st.sampled_from(sorted(STRING_OPTIONS) + sorted(LIST_OPTIONS) + SCALAR_OPTIONS))
    if key in STRING_OPTIONS:
        value = draw(st.one_of(injected(STRING_OPTIONS[key]), ODD))
    elif key in LIST_OPTIONS:
        value = draw(st.one_of(st.lists(st.one_of(injected(LIST_OPTIONS[key]), ODD), max_size=3), ODD))
    elif key == "authentication":
        value = draw(st.one_of(ODD, st.fixed_dictionaries({"auth_type": st.sampled_from(["PASS", "AH", None, "X"]),
                                                           "auth_pass": st.one_of(injected("pw"), ODD)})))
    else:
        value = draw(st.one_of(ODD, st.integers(-300, 300), st.floats(-10, 300)))
    return key, value


def check_accepted(key, value, pl):
    content = pl.after
    assert content.endswith("\n") and content.count("\n") == len(content.splitlines())
    for ch in LINE_BREAKING + "\x00":
        assert ch not in content
    assert vif.unsafe_char(content.replace("\n", "")) is None
    cfg = config.parse_text(content, pl.path)
    assert list(cfg.instances) == [pl.instance.name] and cfg.files == [pl.path]
    again = cfg.instances[pl.instance.name]
    assert again.fingerprint() == pl.instance.fingerprint()
    # One statement per line: each block holds exactly the instance's items, no keyword is repeated.
    body = [line.strip() for line in content.split("\n") if line.strip() and not line.strip().startswith("#")]
    assert body[0].startswith("vrrp_instance ") and body[0].endswith("{") and body[-1] == "}"
    blocks, top, current = {}, [], None
    for line in body[1:-1]:
        if line.endswith("{"):
            assert current is None, "nested block"
            current = line.split()[0]
            blocks[current] = 0
        elif line == "}":
            assert current is not None, "a } closes the instance early"
            current = None
        elif current is not None:
            blocks[current] += 1
        else:
            top.append(line.split()[0])
    assert current is None
    expected = {"unicast_peer": len(again.unicast_peers), "virtual_ipaddress": len(again.vips),
                "virtual_ipaddress_excluded": len(again.excluded_vips), "track_interface": len(again.track_interfaces),
                "track_script": len(again.track_scripts), "track_file": len(again.track_files),
                "authentication": 1 + (again.auth_pass is not None)}
    assert blocks == dict((k, v) for k, v in expected.items() if v and (k != "authentication" or again.auth_type))
    assert len(top) == len(set(top)), top
    # The intended values, exactly.
    inst = pl.instance
    if key == "name":
        assert inst.name == value
    elif key == "interface":
        assert inst.interface == value
    elif key.startswith("notify") and value:
        assert getattr(inst, key) == value
    elif key == "unicast_src_ip" and value:
        assert inst.unicast_src_ip == str(ipaddress.ip_address(value))
    elif key == "unicast_peers" and value:
        assert inst.unicast_peers == [str(ipaddress.ip_address(v.split(" ")[0])) for v in value]
    elif key == "virtual_ipaddresses" and value:
        assert len(inst.vips) == len(value)
    elif key == "virtual_ipaddresses_excluded" and value:
        assert len(inst.excluded_vips) == len(value)
    elif key == "track_interfaces" and value:
        assert len(inst.track_interfaces) == len(value)
    elif key == "authentication" and isinstance(value, dict) and inst.auth_pass is not None:
        assert inst.auth_pass == value["auth_pass"][:8]
    assert "include" not in top and "include" not in blocks


@FEW
@given(change=mutated())
def test_any_value_of_any_option_is_a_checked_plan_or_our_error(change):
    key, value = change
    conf_d = tempfile.mkdtemp(prefix="fvu-vrrpsec-opt-")
    try:
        p = base(**{key: value})
        try:
            pl = vif.plan(p, conf_d)
        except vif.InstanceFileError as exc:
            assert_clean(str(exc))
            for secret in vif.secrets_of(p):
                assert secret[:8] not in str(exc)
            return
        check_accepted(key, value, pl)
        for secret in vif.secrets_of(p):
            assert all(secret[:8] not in w for w in pl.warnings)
            assert secret[:8] not in json.dumps(pl.diff())
        vif.apply(pl)
        assert atomic.read_text(pl.path) == pl.after and stat.S_IMODE(os.stat(pl.path).st_mode) == 0o600
        assert os.listdir(conf_d) == [os.path.basename(pl.path)]
    finally:
        shutil.rmtree(conf_d, ignore_errors=True)


@FEW
@given(change=mutated())
def test_the_module_run_ends_in_a_result_or_fail_json_for_any_value(change):
    key, value = change
    conf_d = tempfile.mkdtemp(prefix="fvu-vrrpsec-mod-")
    try:
        p = base(conf_dir=conf_d, **{key: value})
        warnings = []
        result, msg = task.execute(p, check_mode=True, diff=True, warn=warnings.append)
        if msg is not None:
            assert_clean(msg)
        assert "internal error" not in (msg or "")
        dumped = json.dumps(dict(result, msg=msg, warnings=warnings), default=str)
        for secret in vif.secrets_of(p):
            assert secret[:8] not in dumped
        assert os.listdir(conf_d) == []  # check mode
    finally:
        shutil.rmtree(conf_d, ignore_errors=True)


@FEW
@given(value=st.text(min_size=1, max_size=40))
def test_script_quote_reads_back_exactly_or_refuses(value):
    try:
        quoted = config_render.script_quote(value)
    except ValueError as exc:
        assert_clean(str(exc))
        return
    assert "\n" not in quoted and len(quoted.splitlines()) == 1
    text = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.51.100.1\n }\n" \
           " notify_master %s\n}\n" % quoted
    try:
        inst = config.parse_text(text, "q.conf").instances["V"]
    except config.ConfigError:
        # The parser refuses only a command that does not split into a program and its arguments.
        try:
            argv = config.split_command(value)
        except ValueError:
            return
        assert not argv or not argv[0], value
        return
    assert inst.notify_master == value


@FEW
@given(value=st.text(min_size=1, max_size=30))
def test_quote_token_reads_back_exactly_or_refuses(value):
    try:
        token = config_render.quote_token(value)
    except ValueError as exc:
        assert_clean(str(exc))
        return
    cfg = config.parse_text("global_defs {\n    router_id %s\n}\n" % token, "t.conf")
    assert cfg.global_defs.router_id == value
