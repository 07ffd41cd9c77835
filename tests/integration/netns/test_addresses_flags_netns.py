# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Address flags and lifetimes (issue 10: keepalived's virtual_ipaddress options home, -nodad, mngtmpaddr,
noprefixroute, autojoin, preferred_lft) added for real in a throwaway namespace, by add_address() (pyroute2) and
add_addresses() (struct), and read back with `ip -j addr` as a user would."""
from __future__ import annotations

import json

ADD = '''
import json
from ansible_collections.floating.vip.plugins.module_utils import addresses as A
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config
text = """vrrp_instance VI_1 {
 interface vip0
 virtual_router_id 51
 virtual_ipaddress {
  2001:db8::10/64 noprefixroute home mngtmpaddr
  2001:db8::11/128
  2001:db8::12/128 preferred_lft forever -nodad
  2001:db8::13/64 preferred_lft 300
 }
 virtual_ipaddress_excluded {
  198.51.100.20/24 noprefixroute
  224.0.0.99/32 autojoin
 }
}
"""
inst = config.parse_text(text, "t.conf").instances["VI_1"]
specs = inst.vips + inst.excluded_vips
items = [("vip0", s.cidr, None, None, None, o["nodad"], o["flags"], o["preferred_lft"]) for s in specs for o in [s.netlink_options()]]
print(json.dumps(A.add_addresses(items[:3]) + [A.add_address("vip0", s.cidr, **s.netlink_options()) for s in specs[3:]]))
'''


def _info(ns):
    out = json.loads(ns.ip("-j", "-d", "addr", "show", "dev", ns.dev).stdout)[0]["addr_info"]
    return dict(("%s/%s" % (a["local"], a["prefixlen"]), a) for a in out)


def _routes(ns, family):
    return [r["dst"] for r in json.loads(ns.ip("-j", "-%d" % family, "route", "show", "dev", ns.dev).stdout)]


def test_vip_options_reach_the_kernel_as_keepalived_sets_them(netns):
    assert netns.python(ADD) == [True] * 6
    info = _info(netns)
    flags = info["2001:db8::10/64"]
    assert flags.get("noprefixroute") and flags.get("home") and flags.get("mngtmpaddr") and flags.get("nodad")
    assert flags["preferred_life_time"] == 4294967295  # no preferred_lft on a /64: forever (no IFA_CACHEINFO)
    # keepalived's default for a /128 VIP: preferred_lft 0 (deprecated, never a source address), valid forever.
    default = info["2001:db8::11/128"]
    assert default.get("deprecated") and default["preferred_life_time"] == 0 and default["valid_life_time"] == 4294967295
    assert default.get("nodad") and not default.get("tentative")
    explicit = info["2001:db8::12/128"]
    assert not explicit.get("deprecated") and not explicit.get("nodad") and explicit["preferred_life_time"] == 4294967295
    timed = info["2001:db8::13/64"]
    assert 290 <= timed["preferred_life_time"] <= 300 and timed["valid_life_time"] == 4294967295
    assert info["198.51.100.20/24"].get("noprefixroute")
    assert info["224.0.0.99/32"].get("autojoin")
    # noprefixroute: no subnet route for the VIP's prefix, while the plain /64 VIP has its own.
    assert "2001:db8::/64" in _routes(netns, 6)  # from 2001:db8::13/64
    assert "198.51.100.0/24" in _routes(netns, 4)  # the namespace's own 198.51.100.1/24, not the VIP
    netns.ip("addr", "del", "198.51.100.1/24", "dev", netns.dev)
    assert "198.51.100.0/24" not in _routes(netns, 4)  # only the noprefixroute VIP is left in that subnet
