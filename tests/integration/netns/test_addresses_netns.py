# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""addresses.py against real netlink inside a throwaway namespace."""
from __future__ import annotations

PRE = '''
import json
from ansible_collections.floating.vip.plugins.module_utils import addresses as A
def dump():
    return sorted([a.cidr, a.label, a.broadcast, a.secondary] for a in A.list_addresses("vip0") if a.scope == 0)
'''


def test_add_is_idempotent_and_listed(netns):
    out = netns.python(PRE + '''
r1 = A.add_address("vip0", "198.51.100.10/24", label="vip0:0", broadcast="198.51.100.255")
r2 = A.add_address("vip0", "198.51.100.10/24", label="vip0:0", broadcast="198.51.100.255")
r3 = A.add_address("vip0", "2001:db8::10/64", nodad=True)
print(json.dumps([r1, r2, r3, dump(), [a.ifname for a in A.find_address("198.51.100.10")]]))
''')
    r1, r2, r3, listed, owners = out
    assert (r1, r2, r3) == (True, False, True)
    assert ["198.51.100.10/24", "vip0:0", "198.51.100.255", True] in listed
    assert ["2001:db8::10/64", None, None, False] in listed
    assert owners == ["vip0"]
    assert "198.51.100.10/24 vip0:0" in netns.addrs()


def test_link_queries(netns):
    out = netns.python(PRE + '''
err = None
try:
    A.link_index("nosuch0")
except A.AddressError as exc:
    err = str(exc)
print(json.dumps([A.link_mac("vip0"), A.link_is_up("vip0"), A.link_index("vip0") > 0, err]))
''')
    assert out == ["02:00:5e:10:00:01", True, True, "interface nosuch0 not found"]


def test_delete_idempotent_and_keeps_others(netns):
    netns.ip("addr", "add", "198.51.100.20/24", "dev", "vip0", "label", "vip0:1")
    out = netns.python(PRE + '''
A.add_address("vip0", "198.51.100.10/24", label="vip0:0")
print(json.dumps([A.delete_address("vip0", "198.51.100.10/24"), A.delete_address("vip0", "198.51.100.10/24")]))
''')
    assert out == [True, False]
    assert netns.addrs() == ["198.51.100.1/24 vip0", "198.51.100.20/24 vip0:1"]


def test_deleting_a_primary_keeps_its_secondaries(netns):
    # Without promote_secondaries the kernel flushes a primary's secondaries; they must come back.
    netns.ip("addr", "add", "198.51.100.30/24", "dev", "vip0", "label", "vip0:3")
    assert netns.python(PRE + 'print(json.dumps(A.delete_address("vip0", "198.51.100.1/24")))') is True
    assert netns.addrs() == ["198.51.100.30/24 vip0:3"]


def test_replace_changes_prefix_and_relabel(netns):
    out = netns.python(PRE + '''
A.add_address("vip0", "198.51.100.10/24", label="vip0:0")
A.replace_address("vip0", "198.51.100.10/25", label="vip0:0", old_cidr="198.51.100.10/24")
a = dump()
r1 = A.relabel_address("vip0", "198.51.100.10/25", "vip0:7")
r2 = A.relabel_address("vip0", "198.51.100.10/25", "vip0:7")
print(json.dumps([a, r1, r2]))
''')
    first, r1, r2 = out
    assert ["198.51.100.10/25", "vip0:0", None, False] in first  # /25 is its own subnet: primary
    assert (r1, r2) == (True, False)
    assert "198.51.100.10/25 vip0:7" in netns.addrs()
