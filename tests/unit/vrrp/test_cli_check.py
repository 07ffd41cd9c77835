# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`vipd check` fails where `keepalived -t` does; `--runnable` fails only where `vipd run` refuses to run."""
from __future__ import annotations

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli

FIXUP = """vrrp_script chk {
    script "/usr/bin/true"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.51.100.10/24
    }
    track_script {
        chk
    }
}
"""


def test_a_fixup_warning_fails_check_but_not_runnable(tmp_path, capsys):
    conf = tmp_path / "k.conf"
    conf.write_text(FIXUP)
    assert cli.cmd_check(str(conf), syntax_only=True) == 1
    assert "SECURITY VIOLATION" in capsys.readouterr().err
    assert cli.cmd_check(str(conf), syntax_only=True, runnable=True) == 0
    assert "--runnable" in capsys.readouterr().err


def test_an_error_fails_runnable_too(tmp_path):
    conf = tmp_path / "k.conf"
    conf.write_text(FIXUP.replace("priority 100", "priority 300"))
    assert cli.cmd_check(str(conf), syntax_only=True, runnable=True) == 1
