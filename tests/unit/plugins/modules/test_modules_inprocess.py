# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' main() run in-process with Ansible's own argument patching (ansible.module_utils.testing),
as community.general's module tests do: argument specs, check mode, diff and the exit/fail contract,
without a subprocess per case. test_vrrp_instance.py runs the same modules end to end as Ansible does."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.floating.vip.plugins.module_utils import routed_check
from ansible_collections.floating.vip.plugins.modules import vrrp_deployed, vrrp_info, vrrp_instance, vrrp_maintenance, vrrp_routed_check


class Exit(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed, self.result = failed, result


def _exit(self, **result):  # pylint: disable=unused-argument
    raise Exit(False, result)


def _fail(self, msg, **result):  # pylint: disable=unused-argument
    raise Exit(True, dict(result, msg=msg))


@pytest.fixture(autouse=True)
def no_exit(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)


def call(module, args, check=False, diff=False):
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
        with pytest.raises(Exit) as out:
            module.main()
    return out.value


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="fvu-inproc-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def instance_args(conf_dir, **kw):
    args = dict(name="VI_DB", interface="eth0", virtual_router_id=51, priority=150, conf_dir=conf_dir,
                main_config=os.path.join(conf_dir, "vipd.conf"),
                virtual_ipaddresses=["198.51.100.50/24 dev eth0 label eth0:1"],
                authentication=dict(auth_type="PASS", auth_pass="s3cr3t-pass"))
    args.update(kw)
    return args


def test_vrrp_instance_check_mode_reports_the_change_and_writes_nothing(tmp):
    out = call(vrrp_instance, instance_args(tmp), check=True, diff=True)
    assert not out.failed and out.result["changed"] is True
    assert out.result["path"] == os.path.join(tmp, "VI_DB.conf")
    assert "virtual_router_id 51" in out.result["diff"]["after"]
    assert os.listdir(tmp) == []


def test_vrrp_instance_writes_once_then_is_idempotent_and_never_returns_the_secret(tmp):
    first = call(vrrp_instance, instance_args(tmp))
    second = call(vrrp_instance, instance_args(tmp))
    assert (first.result["changed"], second.result["changed"]) == (True, False)
    path = os.path.join(tmp, "VI_DB.conf")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "s3cr3t-p" not in repr(first.result) + repr(second.result)
    assert "auth_pass" not in first.result["instance"]
    with open(path, encoding="utf-8") as f:
        assert "auth_pass s3cr3t-p" in f.read()  # keepalived's 8 characters


def test_vrrp_instance_refuses_bad_input_before_touching_anything(tmp):
    out = call(vrrp_instance, instance_args(tmp, interface="eth0;reboot"))
    assert out.failed and "interface" in out.result["msg"]
    assert os.listdir(tmp) == []


def test_vrrp_instance_argument_spec_rejects_an_unknown_option(tmp):
    out = call(vrrp_instance, instance_args(tmp, no_such_option=1))
    assert out.failed and "no_such_option" in out.result["msg"]


def test_vrrp_instance_absent_removes_the_file(tmp):
    call(vrrp_instance, instance_args(tmp))
    out = call(vrrp_instance, dict(name="VI_DB", state="absent", conf_dir=tmp, main_config=os.path.join(tmp, "vipd.conf")))
    assert not out.failed and out.result["changed"] is True
    assert os.listdir(tmp) == []


def test_vrrp_info_without_a_daemon_says_so_without_failing(tmp):
    out = call(vrrp_info, dict(control_socket=os.path.join(tmp, "none.sock"), timeout=0.5))
    assert not out.failed and out.result["changed"] is False
    assert out.result["running"] is False and "none.sock" in out.result["msg"]


def test_vrrp_info_refuses_a_bad_timeout(tmp):
    out = call(vrrp_info, dict(control_socket=os.path.join(tmp, "none.sock"), timeout="soon"))
    assert out.failed and "timeout" in out.result["msg"]


def test_vrrp_deployed_reports_drift_for_content_mode_and_absence(tmp):
    present = os.path.join(tmp, "vipd.conf")
    with open(present, "w", encoding="utf-8") as f:
        f.write("global_defs {\n}\n")
    os.chmod(present, 0o644)
    digest = hashlib.sha256(b"global_defs {\n}\n").hexdigest()
    out = call(vrrp_deployed, dict(files=[dict(path=present, sha256=digest, mode="0600"),
                                          dict(path=os.path.join(tmp, "gone.conf"), absent=True)]),
               check=True)
    assert not out.failed and out.result["changed"] is False
    drift = " ".join(out.result["drift"])
    assert "mode" in drift and "content" not in drift
    assert "gone.conf" not in drift


def test_vrrp_deployed_refuses_services_without_systemctl(tmp, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: None)
    out = call(vrrp_deployed, dict(services=[dict(name="vipd", active=True)]))
    assert out.failed and out.result["msg"] == "services given but systemctl is not on this host"


@pytest.mark.parametrize("args, message", [
    (dict(state="enabled", instances=["VI 1"]), "instance names are single words without blanks or control characters: 'VI 1'"),
    (dict(state="enabled", timeout=0), "timeout must be positive"),
])
def test_vrrp_maintenance_refuses_bad_input_before_asking_the_daemon(tmp, args, message):
    out = call(vrrp_maintenance, dict(args, control_socket=os.path.join(tmp, "none.sock")))
    assert out.failed and out.result["msg"] == message
    assert os.listdir(tmp) == []


def test_vrrp_maintenance_without_a_daemon_fails_with_the_reason(tmp):
    out = call(vrrp_maintenance, dict(state="disabled", control_socket=os.path.join(tmp, "none.sock"), timeout=1))
    assert out.failed and "vipd is not running" in out.result["msg"] and "none.sock" in out.result["msg"]


ROUTED = {"name": "VI_R", "routed": {}, "virtual_ipaddresses": ["203.0.113.200/32"]}


def test_vrrp_routed_check_warns_about_a_vip_in_a_connected_subnet(monkeypatch, tmp):
    bgpd = os.path.join(tmp, "bgpd")
    with open(bgpd, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n")
    os.chmod(bgpd, 0o755)
    monkeypatch.setattr(routed_check, "FRR_BGPD", (bgpd,))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/sbin/" + name)
    addr = '[{"ifname": "eth0", "addr_info": [{"local": "203.0.113.1", "prefixlen": 24, "scope": "global"}]}]'
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, argv, **kw: (0, addr, ""))
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text))
    out = call(vrrp_routed_check, dict(instances=[ROUTED], vips=["198.51.100.7/32"]))
    assert not out.failed and out.result["changed"] is False and out.result["speaker"] == bgpd
    assert out.result["vips"] == ["203.0.113.200", "198.51.100.7"]
    assert out.result["shared"] == [{"vip": "203.0.113.200", "interface": "eth0", "network": "203.0.113.0/24"}]
    assert len(warnings) == 1 and warnings[0].startswith("routed VIP 203.0.113.200 lies in eth0's subnet 203.0.113.0/24")


def test_vrrp_routed_check_refuses_a_bad_vip():
    out = call(vrrp_routed_check, dict(instances=[dict(ROUTED, virtual_ipaddresses=["not-an-ip"])]))
    assert out.failed and out.result["msg"].startswith("instances: ")
