# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 global default_interface: the interface of a static_ipaddress without `dev`
(vrrp_ipaddress.c get_default_if(): default_interface, else eth0). It changes nothing else."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, config_routes

STATIC = "static_ipaddress {\n    203.0.113.9/32\n    203.0.113.10/32 dev eth7\n}\n"


def test_without_default_interface_keepalived_uses_eth0():
    cfg = config.parse_text(STATIC, "k.conf")
    found = [(v.cidr, v.dev) for v in config_routes.routes_of(cfg, "static_ipaddress")]
    assert found == [("203.0.113.9/32", "eth0"), ("203.0.113.10/32", "eth7")]


def test_default_interface_is_used_wherever_global_defs_is_written():
    for text in ("global_defs {\n    default_interface lan0\n}\n" + STATIC, STATIC + "global_defs {\n    default_interface lan0\n}\n"):
        cfg = config.parse_text(text, "k.conf")
        assert cfg.global_defs.default_interface == "lan0"
        assert [v.dev for v in config_routes.routes_of(cfg, "static_ipaddress")] == ["lan0", "eth7"]


@pytest.mark.parametrize("line,reason", [("default_interface", "needs a value"), ("default_interface a b", "takes one value"),
                                         ("default_interface " + "x" * 16, "invalid interface name"),
                                         ("default_interface a/b", "invalid interface name")])
def test_bad_values_are_errors_at_their_line(line, reason):
    with pytest.raises(config.ConfigError) as err:
        config.parse_text("global_defs {\n    %s\n}\n" % line, "k.conf")
    assert str(err.value).startswith("k.conf:2: ") and reason in str(err.value)


def test_it_renders_and_reads_back():
    cfg = config.parse_text("global_defs {\n    default_interface lan0\n}\n", "k.conf")
    assert config.parse_text(config_render.render_config(cfg)).global_defs.default_interface == "lan0"
