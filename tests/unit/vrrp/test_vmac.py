# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/vmac.py and the use_vmac / vmac_xmit_base keywords: keepalived 2.2.7's names, MAC, checks and sysctls."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, vmac
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError


def _conf(extra, vip="198.51.100.10/24", name="A", vrid=51):
    return ("vrrp_instance %s {\n interface eth1\n virtual_router_id %d\n%s virtual_ipaddress {\n %s\n }\n}\n"
            % (name, vrid, extra, vip))


def _errors(text):
    with pytest.raises(ConfigError) as info:
        config.parse_text(text, "t.conf")
    return [str(m) for m in info.value.errors]


def test_rfc5798_mac_and_keepalived_names():
    assert vmac.vmac_mac(51) == "00:00:5e:00:01:33"
    assert vmac.vmac_mac(255, 6) == "00:00:5e:00:02:ff"
    assert vmac.default_name(51) == "vrrp.51"
    assert vmac.default_name(51, ["vrrp.51"]) == "vrrp1.51"
    assert vmac.default_name(51, ["vrrp.51", "vrrp1.51"]) == "vrrp2.51"


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 255), st.lists(st.text(max_size=12), max_size=5))
def test_default_name_is_a_valid_new_interface_name(vrid, taken):
    name = vmac.default_name(vrid, taken)
    assert name not in taken and len(name) <= 15 and name.endswith(".%d" % vrid)


def test_use_vmac_parse_and_render():
    inst = config.parse_text(_conf(" use_vmac\n")).instances["A"]
    assert (inst.use_vmac, inst.vmac_xmit_base) == ("", False)
    inst = config.parse_text(_conf(" use_vmac vmac51\n vmac_xmit_base\n")).instances["A"]
    assert (inst.use_vmac, inst.vmac_xmit_base) == ("vmac51", True)
    again = config.parse_text(config_render.render_instance(inst)).instances["A"]
    assert again.fingerprint() == inst.fingerprint()
    assert config.parse_text(_conf("")).instances["A"].use_vmac is None


def test_unicast_with_use_vmac_sets_xmit_base_as_keepalived():
    cfg = config.parse_text(_conf(" use_vmac\n unicast_peer {\n 198.51.100.3\n }\n"), "t.conf")
    assert cfg.instances["A"].vmac_xmit_base is True
    assert [str(w) for w in cfg.warnings] == [
        "t.conf:4: warning: unicast with use_vmac requires vmac_xmit_base - setting (as keepalived)"]


@pytest.mark.parametrize("text, error", [
    (_conf(" use_vmac 00:00:5e:00:01:99\n"),
     "t.conf:4: use_vmac takes an interface name only: a MAC address for the VMAC is not implemented by vipd"),
    (_conf(" use_vmac bad/name\n"), "t.conf:4: invalid VMAC interface name 'bad/name'"),
    (_conf(" use_vmac eth1\n"), "t.conf:4: use_vmac name eth1 is the instance interface"),
    (_conf(" use_vmac v1\n") + _conf(" use_vmac v1\n", name="B", vrid=52), "t.conf:12: VRRP instance A is already using v1"),
])
def test_use_vmac_errors(text, error):
    errors = _errors(text)
    assert len(errors) == 1 and errors[0].startswith(error), errors


def test_sysctl_helpers(tmp_path):
    conf = tmp_path / "ipv4" / "conf" / "eth1"
    conf.mkdir(parents=True)
    (conf / "arp_ignore").write_text("0\n")
    assert vmac.read_sysctl("ipv4", "eth1", "arp_ignore", str(tmp_path)) == 0
    vmac.write_sysctl("ipv4", "eth1", "arp_ignore", 1, str(tmp_path))
    assert (conf / "arp_ignore").read_text() == "1\n"
    assert vmac.read_sysctl("ipv4", "eth1", "missing", str(tmp_path)) is None
    with pytest.raises(vmac.VmacError):
        vmac.write_sysctl("ipv4", "nosuch", "arp_ignore", 1, str(tmp_path))


def test_release_of_unknown_vmac_touches_nothing():
    manager = vmac.VmacManager(root="/nonexistent")
    assert manager.release("vrrp.51") is False
    manager.release_all()
    assert manager.created == {} and manager.base_saved == {}


def test_ipv6_use_vmac_parses_and_its_link_local_is_keepalived_s_eui64():
    inst = config.parse_text(_conf(" use_vmac\n", vip="2001:db8::10/64")).instances["A"]
    assert inst.use_vmac == "" and inst.family == 6
    assert vmac.vmac_mac(51, 6) == "00:00:5e:00:02:33"
    # make_link_local_address(): fe80::, the MAC with the universal/local bit flipped and ff:fe in the middle
    assert vmac.link_local_of("02:00:5e:10:00:01") == "fe80::5eff:fe10:1"
    assert vmac.link_local_of("00:00:5e:00:02:33") == "fe80::200:5eff:fe00:233"


class _Mover:
    def __init__(self):
        self.calls = []

    def move_mld(self, vmac, base):
        self.calls.append(("move", vmac, base))

    def unmove_mld(self, vmac):
        self.calls.append(("unmove", vmac))


def test_release_removes_the_mld_rule_first_but_not_at_exit():
    mover = _Mover()
    manager = vmac.VmacManager(root="/nonexistent", mld=mover)
    manager.created = {"fvnosuch0": "eth0", "fvnosuch1": "eth0"}  # links that are gone: nothing to delete
    manager.release_unused(["fvnosuch1"])  # a reload dropped one: its rule goes with it
    assert mover.calls == [("unmove", "fvnosuch0")]
    manager.release_all()  # at exit the firewall's teardown removes the rules in one nft run
    assert mover.calls == [("unmove", "fvnosuch0")] and manager.created == {}
