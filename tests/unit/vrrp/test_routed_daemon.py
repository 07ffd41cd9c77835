# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's side of vipd_routed on the injected clock (tests/unit/vrrp/test_scale.py's FakeLoop and fakes): a
routed master installs routes, never addresses or GARPs; the TTL rule; a graceful stop keeps announcing
withdraw_delay after the new master is heard, withdraws, keeps accepting withdraw_delay more, then finishes."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import machine, packet, routed, routes
from tests.unit.vrrp.test_scale import FakeLoop, fake, started_daemon  # noqa: F401 pylint: disable=unused-import

PEER = "198.51.100.66"


def _conf(min_ttl=255, delay=1.5):
    return """vrrp_instance R {
    state MASTER
    interface eth0
    virtual_router_id 14
    priority 255
    advert_int 1
    unicast_peer {
        %s
    }
    virtual_ipaddress {
        203.0.113.200
    }
    vipd_routed {
        min_ttl %d
        withdraw_delay %s
    }
}
""" % (PEER, min_ttl, delay)


@pytest.fixture
def started(fake, tmp_path, monkeypatch):  # noqa: F811
    net, made = fake
    applied = []

    def apply(routes_=(), rules=(), add=True, log=None):
        applied.append(("add" if add else "del", [(r.type, r.table) for r in routes_]))
        return []
    monkeypatch.setattr(routes, "apply", apply)

    def make(text):
        path = tmp_path / "vipd.conf"
        path.write_text(text)
        d = started_daemon(made, path, FakeLoop())
        return d, d.instances["R"]
    return net, applied, make


def _advert(src, priority, ttl=255):
    adv = packet.Advert(version=2, vrid=14, priority=priority, interval_cs=100, addresses=("203.0.113.200",))
    return packet.Received(src=src, dst="198.51.100.11", ttl=ttl, advert=adv, checksum_form="pseudo")


def test_master_installs_routes_not_addresses_nor_garps(started):
    net, applied, make = started
    d, rt = make(_conf())
    assert rt.state == machine.State.MASTER
    assert ("add", [("unicast", 254), ("local", 255)]) in applied  # announce route, then accept route
    assert net.calls["add"] == 0 and net.calls["add_batches"] == 0  # no interface address
    d.loop.run_until(d.loop.t + 10)  # garp_master_delay and refreshes would have fired by now
    assert net.calls["garp_frames"] == 0
    assert rt.status()["vips_held"] == ["203.0.113.200/32"]


def test_ttl_rule(started):
    _net, _applied, make = started
    _d, strict = make(_conf(min_ttl=255))
    assert strict.validate(_advert(PEER, 100, ttl=254)) == "ttl"
    assert strict.validate(_advert(PEER, 100, ttl=255)) is None
    assert strict.validate(_advert("198.51.100.99", 100, ttl=255)) == "peer"  # not a unicast peer, whatever its TTL


def test_relaxed_ttl(started):
    _net, _applied, make = started
    _d, relaxed = make(_conf(min_ttl=254))
    assert relaxed.validate(_advert(PEER, 100, ttl=254)) is None
    assert relaxed.validate(_advert(PEER, 100, ttl=253)) == "ttl"


def test_graceful_stop_withdraws_then_releases(started):
    _net, applied, make = started
    d, rt = make(_conf(delay=1.5))
    applied.clear()
    d.request_stop("SIGTERM")
    assert rt.machine.resigning and applied == []  # priority 0 sent, routes kept
    t0 = d.loop.t
    rt.on_advert(_advert(PEER, 100))  # the new master is heard
    assert rt.state == machine.State.STOPPED and rt.withdraw_handle is not None and applied == []
    d.loop.run_until(t0 + 1.49)
    assert applied == []  # still announcing: the new master's route may not have reached the network
    d.loop.run_until(t0 + 1.51)
    assert applied == [("del", [("unicast", 254)])]  # the announce route goes first
    assert rt.vips_held == ["203.0.113.200/32"]  # still accepting what is on its way
    d.loop.run_until(t0 + 3.01)
    assert applied[-1] == ("del", [("local", 255)]) and rt.vips_held == [] and rt.withdraw_handle is None
    assert routed.withdraw_delay(rt.cfg) == 1.5
