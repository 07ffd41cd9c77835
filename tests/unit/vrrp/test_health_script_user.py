"""The default script user (an NSS lookup) is looked up only when the configuration can run a script."""
from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, notifications

BASE = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.51.100.100/24
    }
%s}
"""


@pytest.mark.parametrize("extra, runs", [
    ("", False),
    ("    notify_master /bin/true\n", True),
    ("    notify /bin/true\n", True),
    ("    notify_master_rx_lower_pri /bin/true\n", True),
])
def test_instance_hooks(extra, runs):
    assert notifications._may_run_scripts(config.parse_text(BASE % extra)) is runs  # pylint: disable=protected-access


def test_vrrp_script_and_global_hooks_count():
    script = 'vrrp_script chk {\n    script "/bin/true"\n}\n' + BASE % "    track_script {\n        chk\n    }\n"
    assert notifications._may_run_scripts(config.parse_text(script))  # pylint: disable=protected-access
    startup = "global_defs {\n    startup_script /bin/true\n}\n" + BASE % ""
    assert notifications._may_run_scripts(config.parse_text(startup))  # pylint: disable=protected-access
    group = BASE % "" + "vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    notify_backup /bin/true\n}\n"
    assert notifications._may_run_scripts(config.parse_text(group))  # pylint: disable=protected-access
