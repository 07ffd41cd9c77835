# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Routed VIPs in the vrrp role: the `routed` instance option (validation, the vipd_routed block the template writes,
refused for keepalived), the speaker variables and the FRR block (plugin_utils/routed_speaker.py), and the
vrrp_routed_check module (no speaker: refused with a clear message; a VIP in a connected subnet: warned)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.filter import keepalived_word as word_plugin
from ansible_collections.floating.vip.plugins.module_utils import routed_check
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, routed
from ansible_collections.floating.vip.plugins.plugin_utils import keepalived_text as kt
from ansible_collections.floating.vip.plugins.plugin_utils import routed_speaker as rs

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(REPO, "roles", "vrrp", "templates")), trim_blocks=True)
ENV.filters.update(("floating.vip." + k, v) for k, v in word_plugin.FilterModule().filters().items())
ENV.filters["floating.vip.keepalived_quote"] = kt.keepalived_quote
ENV.filters["floating.vip.keepalived_line"] = kt.keepalived_line

INSTANCE = {"name": "VIP_R", "interface": "eth0", "virtual_router_id": 14, "priority": 150, "version": 3, "advert_int": 0.2,
            "unicast_src_ip": "198.51.100.2", "unicast_peers": ["198.51.100.66"], "virtual_ipaddresses": ["203.0.113.200"],
            "routed": {"interface": "lo", "protocol": 201, "metric": 4197, "min_ttl": 254, "withdraw_delay": 1}}
SPEAKER = {"vrrp_routed_speaker": "frr", "vrrp_routed_bgp_asn": 65001, "vrrp_routed_bgp_router_id": "198.51.100.2",
           "vrrp_routed_bgp_neighbors": [{"address": "198.51.100.1", "remote_as": 65000}]}


def render(instances, tmp_path):
    return ENV.get_template("vrrp.conf.j2").render(vrrp_global={}, vrrp_scripts=[], vrrp_instances=instances, vrrp_sync_groups=[],
                                                   vrrp_include_dir=str(tmp_path), ansible_managed="Ansible managed")


def test_template_writes_the_vipd_routed_block_vipd_runs(tmp_path):
    inst = config.parse_text(render([INSTANCE], tmp_path)).instances["VIP_R"]
    r = routed.of(inst)
    assert (r.interface, r.protocol, r.metric, r.min_ttl, r.withdraw_delay) == ("lo", 201, 4197, 254, 1.0)
    plain = dict(INSTANCE, routed={})
    assert routed.of(config.parse_text(render([plain], tmp_path)).instances["VIP_R"]).protocol == 201  # {}: vipd's defaults
    ordinary = dict(INSTANCE)
    del ordinary["routed"]
    assert "vipd_routed" not in render([ordinary], tmp_path)


@pytest.mark.parametrize("value, reason", [
    ({"protocol": 188}, "vrrp_instances[0].routed.protocol: 188 belongs to a routing daemon"),
    ({"protocol": "x"}, "vrrp_instances[0].routed.protocol: must be an integer from 0 to 255"),
    ({"min_ttl": 0}, "vrrp_instances[0].routed.min_ttl: must be an integer from 1 to 255"),
    ({"withdraw_delay": -1}, "vrrp_instances[0].routed.withdraw_delay: must be a number of seconds from 0 to 60"),
    ({"interface": "lo\nvrrp_strict"}, "vrrp_instances[0].routed.interface: must be an interface name"),
    ({"bgp": 1}, "vrrp_instances[0].routed: unknown option 'bgp'"),
    ("lo", "vrrp_instances[0].routed: must be a dictionary, got str"),
])
def test_bad_routed_values_are_refused(value, reason):
    errors = kt.role_errors({"vrrp_instances": [dict(INSTANCE, routed=value)]})
    assert any(e.startswith(reason) for e in errors), errors


def test_keepalived_backend_refuses_routed():
    errors = kt.role_errors({"vrrp_backend": "keepalived", "vrrp_instances": [INSTANCE]})
    assert errors == ["vrrp_instances[0].routed: routed VIPs (vipd_routed) are vipd's own: keepalived has no route mode "
                      "(vrrp_backend is keepalived)"]
    assert kt.role_errors({"vrrp_backend": "vipd", "vrrp_instances": [INSTANCE]}) == []


def test_speaker_errors():
    assert rs.speaker_errors(SPEAKER) == []
    assert rs.speaker_errors({"vrrp_routed_speaker": "external"}) == []
    errors = rs.speaker_errors({"vrrp_routed_speaker": "frr", "vrrp_routed_bgp_asn": None, "vrrp_routed_bgp_neighbors": [
        {"address": "nope", "remote_as": 0, "bfd": "yes", "x": 1}], "vrrp_routed_bgp_keepalive": 2, "vrrp_routed_bgp_hold": 3})
    assert errors == [
        "vrrp_routed_bgp_asn: must be an integer from 1 to 4294967295, got None",
        "vrrp_routed_bgp_neighbors[0]: unknown option 'x' (known: address, remote_as, bfd, description)",
        "vrrp_routed_bgp_neighbors[0].address: must be an IP address, got 'nope'",
        "vrrp_routed_bgp_neighbors[0].remote_as: must be an integer from 1 to 4294967295, got 0",
        "vrrp_routed_bgp_neighbors[0].bfd: must be true or false",
        "vrrp_routed_bgp_hold: should be at least 3 x vrrp_routed_bgp_keepalive (2), got 3"]
    assert rs.speaker_errors({"vrrp_routed_speaker": "bird"}) == ["vrrp_routed_speaker: must be one of frr, external, got 'bird'"]
    assert "vrrp_routed_bgp_neighbors: must be a non-empty list" in rs.speaker_errors(dict(SPEAKER, vrrp_routed_bgp_neighbors=[]))[0]


def test_frr_block():
    text = rs.frr_config(dict(SPEAKER, vrrp_instances=[INSTANCE, dict(INSTANCE, name="B", virtual_ipaddresses=[
        {"address": "2001:db8:14::200"}]), dict(INSTANCE, name="ARP", routed=None, virtual_ipaddresses=["198.51.100.9/24"])]))
    assert "ip prefix-list FLOATING-VIP-V4 seq 5 permit 203.0.113.200/32\n" in text
    assert "ipv6 prefix-list FLOATING-VIP-V6 seq 5 permit 2001:db8:14::200/128\n" in text
    assert "198.51.100.9" not in text  # an ARP instance's VIP is never announced
    assert "router bgp 65001\n bgp router-id 198.51.100.2\n no bgp ebgp-requires-policy\n neighbor 198.51.100.1 remote-as 65000\n" in text
    assert " neighbor 198.51.100.1 timers 1 3\n" in text and "bfd" not in text
    assert " address-family ipv4 unicast\n  redistribute kernel route-map FLOATING-VIP\n exit-address-family\n" in text
    assert " address-family ipv6 unicast\n  redistribute kernel route-map FLOATING-VIP\n exit-address-family\n" in text
    with_bfd = rs.frr_config(dict(SPEAKER, vrrp_instances=[INSTANCE], vrrp_routed_bfd=True, vrrp_routed_bfd_interval_ms=50))
    assert "bfd\n profile floating-vip\n  receive-interval 50\n  transmit-interval 50\n  detect-multiplier 3\n exit\nexit\n" in with_bfd
    assert " neighbor 198.51.100.1 bfd profile floating-vip\n" in with_bfd
    with pytest.raises(ValueError):
        rs.frr_config(dict(SPEAKER, vrrp_routed_bgp_asn="65001; rm"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=5), max_size=2)),
       st.sampled_from(["vrrp_routed_bgp_asn", "vrrp_routed_bgp_router_id", "address", "remote_as", "description",
                        "vrrp_routed_bgp_hold", "vrrp_routed_bfd_interval_ms"]))
def test_hostile_speaker_values_are_refused_or_stay_one_token(value, slot):
    variables = dict(SPEAKER, vrrp_instances=[INSTANCE], vrrp_routed_bgp_neighbors=[dict(SPEAKER["vrrp_routed_bgp_neighbors"][0])])
    if slot in ("address", "remote_as", "description"):
        variables["vrrp_routed_bgp_neighbors"][0][slot] = value
    else:
        variables[slot] = value
    if rs.speaker_errors(variables):
        with pytest.raises(ValueError):
            rs.frr_config(variables)
        return
    text = rs.frr_config(variables)
    assert all(0x20 <= ord(c) < 0x7F for c in text.replace("\n", "")), text
    assert text.count("router bgp") == 1 and text.count("neighbor") == len([ln for ln in text.splitlines() if " neighbor " in ln])


# ---------------------------------------------------------------- vrrp_routed_check

def run_check(args, env_paths=None):
    """Run the module as Ansible does (args file); env_paths replaces its speaker paths (a host without FRR)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    code = ("import sys, runpy; sys.argv = [sys.argv[0], %r]\n" % handle.name
            + "from ansible_collections.floating.vip.plugins.modules import vrrp_routed_check as m\n"
            + "from ansible_collections.floating.vip.plugins.module_utils import routed_check as r\n"
            + ("r.FRR_BGPD = %r; r.OTHER_SPEAKERS = ()\n" % (tuple(env_paths),) if env_paths is not None else "")
            + "m.main()\n")
    collections = os.path.join(REPO, ".build", "collections")
    env = dict(os.environ, PYTHONPATH=collections + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=False)
    finally:
        os.unlink(handle.name)
    return proc.returncode, json.loads(proc.stdout)


def test_no_speaker_is_refused_with_a_clear_message():
    rc, result = run_check({"instances": [INSTANCE]}, env_paths=["/nonexistent/bgpd"])
    assert rc != 0 and result["failed"]
    assert result["msg"].startswith("routed VIPs (203.0.113.200) need a BGP speaker on this host to announce them, and none is "
                                    "installed (looked for /nonexistent/bgpd): install FRR"), result["msg"]


def test_no_routed_instance_checks_nothing():
    rc, result = run_check({"instances": [dict(INSTANCE, routed=None)]}, env_paths=["/nonexistent/bgpd"])
    assert rc == 0 and result["vips"] == [] and not result["changed"]


def test_shared_subnet_detection():
    links = [{"ifname": "lo", "addr_info": [{"local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]},
             {"ifname": "eth0", "addr_info": [{"local": "198.51.100.2", "prefixlen": 26, "scope": "global"},
                                              {"local": "2001:db8::2", "prefixlen": 64, "scope": "global"}]}]
    import ipaddress
    vips = [ipaddress.ip_address(a) for a in ("198.51.100.50", "203.0.113.200", "2001:db8::99", "127.0.0.9")]
    assert routed_check.shared_subnets(vips, links) == [
        {"vip": "198.51.100.50", "interface": "eth0", "network": "198.51.100.0/26"},
        {"vip": "2001:db8::99", "interface": "eth0", "network": "2001:db8::/64"}]
    assert routed_check.routed_vips([INSTANCE, dict(INSTANCE, routed=None, virtual_ipaddresses=["198.51.100.9"])]) == [
        ipaddress.ip_address("203.0.113.200")]


def test_static_routed_vips_in_the_frr_block():
    text = rs.frr_config(dict(SPEAKER, vrrp_instances=[], vrrp_routed_static_vips=["203.0.113.210/32", "2001:db8::210"]))
    assert "ip prefix-list FLOATING-VIP-V4 seq 5 permit 203.0.113.210/32\n" in text
    assert "ipv6 prefix-list FLOATING-VIP-V6 seq 5 permit 2001:db8::210/128\n" in text
    assert "  redistribute connected route-map FLOATING-VIP\n" in text
    assert "redistribute connected" not in rs.frr_config(dict(SPEAKER, vrrp_instances=[INSTANCE]))
    assert rs.speaker_errors(dict(SPEAKER, vrrp_routed_static_vips=["203.0.113.0/24", "x"])) == [
        "vrrp_routed_static_vips[0]: must be a host address, got '203.0.113.0/24'",
        "vrrp_routed_static_vips[1]: must be an IP address, got 'x'"]
