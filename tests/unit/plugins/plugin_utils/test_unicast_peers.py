# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils/unicast_peers.py: unicast_peer lists from inventory groups (filter floating.vip.vrrp_group_peers)."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.floating.vip.plugins.plugin_utils.unicast_peers import PeerError, group_peers

GROUPS = {"db": ["db1", "db2", "db3"], "all": ["db1", "db2", "db3"]}
HOSTVARS = {
    "db1": {"ansible_default_ipv4": {"address": "198.51.100.11"}, "addr": "198.51.100.21"},
    "db2": {"ansible_default_ipv4": {"address": "198.51.100.12"}, "addr": "198.51.100.22/24"},
    "db3": {"ansible_default_ipv4": {"address": "198.51.100.13"}, "addr": "198.51.100.23"},
}
INST = {"name": "VI_DB", "interface": "eth0", "virtual_router_id": 51, "virtual_ipaddresses": ["198.51.100.50/24"]}


def test_other_members_from_facts_and_from_a_host_variable():
    out = group_peers([dict(INST, unicast_peers_from_group="db")], GROUPS, HOSTVARS, "db2")
    assert out == [dict(INST, unicast_peers=["198.51.100.11", "198.51.100.13"])]
    out = group_peers([dict(INST, unicast_peers_from_group="db", unicast_peer_address_var="addr",
                            unicast_peers=["198.51.100.99", "198.51.100.23"])], GROUPS, HOSTVARS, "db1")
    assert out[0]["unicast_peers"] == ["198.51.100.99", "198.51.100.23", "198.51.100.22"]


def test_role_wide_default_and_untouched_instances():
    out = group_peers([INST], GROUPS, HOSTVARS, "db3", default_group="db")
    assert out[0]["unicast_peers"] == ["198.51.100.11", "198.51.100.12"]
    assert group_peers([INST], GROUPS, HOSTVARS, "db3") == [INST]


@pytest.mark.parametrize("instance, hostvars, message", [
    (dict(INST, unicast_peers_from_group="db"), dict(HOSTVARS, db3={}), "host(s) db3 of group db have no ansible_default_ipv4.address"),
    (dict(INST, unicast_peers_from_group="nope"), HOSTVARS, "no inventory group 'nope'"),
    (dict(INST, unicast_peers_from_group="db", unicast_peer_address_var="addr"), dict(HOSTVARS, db3={"addr": "db3.example"}),
     "addr of host db3 (group db) is 'db3.example', not an IP address"),
    (dict(INST, unicast_peers_from_group="db", unicast_peer_address_var="addr"), dict(HOSTVARS, db3={"addr": "2001:db8::3"}),
     "an IPv6 address for an IPv4 instance"),
    (dict(INST, unicast_peers_from_group="db", unicast_peer_address_var="a;b"), HOSTVARS, "unicast_peer_address_var must be"),
    (dict(INST, unicast_peers_from_group="d b"), HOSTVARS, "must be an inventory group name"),
])
def test_clear_errors(instance, hostvars, message):
    with pytest.raises(PeerError) as err:
        group_peers([instance], GROUPS, hostvars, "db1")
    assert message in str(err.value) and "vrrp_instances[0] ('VI_DB')" in str(err.value)


@given(st.dictionaries(st.sampled_from(["db1", "db2", "db3"]),
                       st.one_of(st.none(), st.text(max_size=20), st.integers(), st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
                       min_size=3, max_size=3))
def test_any_host_variable_gives_ip_peers_or_a_peer_error(values):
    hostvars = dict((h, {"addr": v}) for h, v in values.items())
    try:
        out = group_peers([dict(INST, unicast_peers_from_group="db", unicast_peer_address_var="addr")], GROUPS, hostvars, "db1")
    except PeerError as exc:
        assert str(exc).startswith("vrrp_instances[0]")
    else:
        import ipaddress
        assert all(ipaddress.ip_address(p).version == 4 for p in out[0]["unicast_peers"])
