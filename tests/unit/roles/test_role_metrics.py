# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role variables vrrp_metrics_listen / vrrp_metrics_allow_remote: validated by the role with vipd's own parser
(floating.vip.vrrp_role_errors), and passed to `vipd run` in the hardened unit's ExecStart (vipd.service.j2 with
vars/main.yml's vrrp_run_options, rendered here as Ansible renders them)."""
from __future__ import annotations

import os
import shlex

import jinja2
import pytest
import yaml
from ansible.plugins.filter import core

from ansible_collections.floating.vip.plugins.filter import keepalived_word as word_plugin
from ansible_collections.floating.vip.plugins.filter import vrrp_role_errors as errors_plugin

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLE = os.path.join(REPO, "roles", "vrrp")
ERRORS = errors_plugin.FilterModule().filters()["vrrp_role_errors"]


@pytest.mark.parametrize("listen, allow, backend, expected", [
    ("", False, "vipd", []),
    ("127.0.0.1:9650", False, "vipd", []),
    ("[::1]:9650", False, "vipd", []),
    ("198.51.100.11:9650", True, "vipd", []),
    ("0.0.0.0:9650", False, "vipd", ["vrrp_metrics_listen: '0.0.0.0:9650' is not a loopback address"]),
    ("localhost:9650", False, "vipd", ["vrrp_metrics_listen: 'localhost:9650': 'localhost' is not an IP address"]),
    ("127.0.0.1:9650\nExecStartPre=/tmp/x", False, "vipd", ["vrrp_metrics_listen: "]),
    ("127.0.0.1:9650 --log-level debug", False, "vipd", ["vrrp_metrics_listen: "]),
    (9650, False, "vipd", ["vrrp_metrics_listen: must be a string ADDR:PORT, got int"]),
    ("127.0.0.1:9650", "yes", "vipd", ["vrrp_metrics_allow_remote: must be true or false"]),
    ("127.0.0.1:9650", False, "keepalived", ["vrrp_metrics_listen: the metrics endpoint is vipd's own"]),
])
def test_metrics_variables_are_checked(listen, allow, backend, expected):
    errors = ERRORS({"vrrp_metrics_listen": listen, "vrrp_metrics_allow_remote": allow, "vrrp_backend": backend})
    assert len(errors) == len(expected), errors
    for error, start in zip(errors, expected):
        assert error.startswith(start), error
        assert "\n" not in error and "\x1b" not in error
    if expected and "loopback" in expected[0]:
        assert "vrrp_metrics_allow_remote: true" in errors[0]


def _unit(**overrides):
    """vipd.service.j2 as the role renders it (trim_blocks, Ansible's core filters)."""
    with open(os.path.join(ROLE, "vars", "main.yml")) as handle:
        role_vars = yaml.safe_load(handle)
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")), trim_blocks=True, autoescape=False)
    env.filters.update(core.FilterModule().filters())  # Ansible's own quote, bool, basename, default
    env.filters["floating.vip.keepalived_word"] = word_plugin.FilterModule().filters()["keepalived_word"]
    variables = dict(defaults, ansible_managed="managed", vrrp_engine_env="", vrrp_python="", vrrp_config_file="/etc/vipd/vipd.conf",
                     vrrp_pidfile="/run/vipd/vipd.pid", vrrp_control_socket="/run/vipd/vipd.sock", vrrp_run_dir="/run/vipd")
    variables.update(overrides)
    variables["vrrp_run_options"] = env.from_string(role_vars["vrrp_run_options"]).render(**variables)
    return env.get_template("vipd.service.j2").render(**variables)


def _exec_start(unit):
    lines = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    return shlex.split(lines[0][len("ExecStart="):])


def test_unit_runs_vipd_without_metrics_by_default():
    argv = _exec_start(_unit())
    assert argv[:2] == ["/usr/sbin/vipd", "run"] and not any(a.startswith("--metrics") for a in argv)


def test_unit_passes_the_metrics_options_and_keeps_its_hardening():
    unit = _unit(vrrp_metrics_listen="[::1]:9650")
    assert _exec_start(unit)[-2:] == ["--metrics-listen", "[::1]:9650"]
    argv = _exec_start(_unit(vrrp_metrics_listen="198.51.100.11:9650", vrrp_metrics_allow_remote=True))
    assert argv[-3:] == ["--metrics-listen", "198.51.100.11:9650", "--metrics-allow-remote"]
    # The hardened unit still lets vipd open a TCP listener: inet sockets allowed, no IP or network sandbox against it.
    families = [line for line in unit.splitlines() if line.startswith("RestrictAddressFamilies=")][0].split("=", 1)[1].split()
    assert "AF_INET" in families and "AF_INET6" in families
    assert "PrivateNetwork" not in unit and "IPAddressDeny" not in unit and "SocketBindDeny" not in unit
    assert "SystemCallFilter=@system-service" in unit  # bind/listen/accept are in @system-service (@network-io)
    # allow_remote alone adds nothing
    assert not any(a.startswith("--metrics") for a in _exec_start(_unit(vrrp_metrics_allow_remote=True)))
