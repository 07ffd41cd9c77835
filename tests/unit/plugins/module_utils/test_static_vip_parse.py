# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""static_vip input parsing (pure) and the file rollback when the runtime change fails."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils import static_vip as sv
from ansible_collections.floating.vip.plugins.module_utils import addresses


@pytest.mark.parametrize("address,netmask,want", [
    ("198.51.100.10/24", None, "198.51.100.10/24"),
    ("198.51.100.10", "255.255.0.0", "198.51.100.10/16"),
    ("198.51.100.10", "24", "198.51.100.10/24"),
    ("198.51.100.10/255.255.255.128", None, "198.51.100.10/25"),
    ("198.51.100.10/24", "255.255.255.0", "198.51.100.10/24"),
    (" 2001:db8::10/64 ", None, "2001:db8::10/64"),
    ("2001:db8::10", "64", "2001:db8::10/64"),
])
def test_parse_address(address, netmask, want):
    assert sv.parse_address(address, netmask).with_prefixlen == want


@pytest.mark.parametrize("address,netmask,message", [
    ("198.51.100.256/24", None, "malformed address"),
    ("198.51.100.10/33", None, "bad prefix length"),
    ("198.51.100.10", "255.0.255.0", "malformed netmask"),
    ("198.51.100.10/24", "16", "disagree"),
    ("198.51.100.10", None, "needs a prefix length"),
    ("2001:db8::10", "ffff::", "IPv6 takes a prefix length"),
    ("224.0.0.18/32", None, "not a unicast"),
    ("", None, "address is required"),
])
def test_parse_address_errors(address, netmask, message):
    with pytest.raises(sv.VipError) as err:
        sv.parse_address(address, netmask)
    assert message in str(err.value)


def test_bare_address_allowed_for_absent():
    assert sv.parse_address("198.51.100.10", need_prefix=False).with_prefixlen == "198.51.100.10/32"


@pytest.mark.parametrize("label,want", [("0", "eth0:0"), ("12", "eth0:12"), ("eth0:web", "eth0:web"),
                                        ("eth0:123456789", "eth0:123456789")])
def test_parse_label(label, want):
    assert sv.parse_label("eth0", label) == want


@pytest.mark.parametrize("label,message", [("eth1:0", "start with the interface"), ("eth0", "start with"),
                                           ("eth0:", "start with"), ("eth0:12345678901", "at most 15"),
                                           ("eth0:a b", "start with")])
def test_parse_label_errors(label, message):
    with pytest.raises(sv.VipError) as err:
        sv.parse_label("eth0", label)
    assert message in str(err.value)


def test_broadcast():
    assert sv.parse_broadcast(sv.parse_address("198.51.100.10/24"), None) == "198.51.100.255"
    assert sv.parse_broadcast(sv.parse_address("198.51.100.10/31"), None) is None
    assert sv.parse_broadcast(sv.parse_address("198.51.100.10/24"), "198.51.100.127") == "198.51.100.127"
    with pytest.raises(sv.VipError):
        sv.parse_broadcast(sv.parse_address("198.51.100.10/24"), "nope")
    with pytest.raises(sv.VipError):
        sv.parse_broadcast(sv.parse_address("2001:db8::1/64"), "198.51.100.255")


def test_runtime_failure_restores_files(tmp_path, monkeypatch):
    # The netlink failure is injected (a kernel refusal cannot be provoked on demand); the file
    # writes and their rollback are real.
    rc = tmp_path / "rc.local"
    rc.write_text("#!/bin/sh\nexit 0\n")
    plan = sv.Plan("alias", "eth0", sv.parse_address("198.51.100.10/24"), "eth0:0", "198.51.100.255", "present",
                   "add", [], [])
    plan.files = [sv.FileChange(str(rc), rc.read_text(), "#!/bin/sh\nchanged\nexit 0\n", 0o755),
                  sv.FileChange(str(tmp_path / "ifcfg-eth0:0"), None, "DEVICE=eth0:0\n")]

    def refuse(*args, **kwargs):
        raise addresses.AddressError("cannot add 198.51.100.10/24 on eth0: Operation not permitted")

    monkeypatch.setattr(addresses, "add_address", refuse)
    with pytest.raises(addresses.AddressError):
        sv.apply(plan, announce_count=0)
    assert rc.read_text() == "#!/bin/sh\nexit 0\n"
    assert not (tmp_path / "ifcfg-eth0:0").exists()
