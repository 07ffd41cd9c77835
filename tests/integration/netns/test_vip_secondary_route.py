# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vip_secondary `route`: a static routed VIP (address on lo + a host route for the BGP speaker), run as a real
module subprocess in a throwaway namespace: check mode predicts, the run installs both and persists both in every
back end, a re-run changes nothing, state absent removes both; bad values are refused before anything changes."""
from __future__ import annotations

import json

import pytest

from .test_vip_modules_netns import run, snapshot

VIP = "203.0.113.210/32"


@pytest.fixture
def etc(tmp_path):
    d = tmp_path / "etc"
    (d / "sysconfig").mkdir(parents=True)
    (d / "interfaces.d").mkdir()
    (d / "network").mkdir()
    (d / "network" / "05-lo.network").write_text("[Match]\nName=lo\n")
    (d / "sysconfig" / "ifcfg-lo").write_text("DEVICE=lo\nIPADDR=127.0.0.1\nPREFIX=8\n")
    (d / "sysconfig" / "route-lo").write_text("198.51.100.0/24 via 198.51.100.1 dev lo\n")
    (d / "rc.local").write_text("#!/bin/sh -e\nexit 0\n")
    return d


def args(etc, **kw):
    out = dict(interface="lo", address=VIP, route={"protocol": 201, "metric": 7}, persist=["rc_local", "ifcfg", "ifupdown", "networkd"],
               rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"), interfaces_d_dir=str(etc / "interfaces.d"),
               networkd_dir=str(etc / "network"))
    out.update(kw)
    return out


def routes(netns):
    return [(r["dst"], r.get("dev"), r.get("scope"), r.get("metric"))  # (listed by protocol 201)
            for r in json.loads(netns.ip("-j", "route", "show", "proto", "201").stdout or "[]")]


def test_route_check_run_rerun_absent(netns, tmp_path, etc):
    state0 = snapshot(netns, tmp_path)
    predicted = run(netns, tmp_path, "vip_secondary", check=True, **args(etc))
    assert not predicted.get("failed"), predicted
    assert snapshot(netns, tmp_path) == state0 and routes(netns) == []
    real = run(netns, tmp_path, "vip_secondary", **args(etc))
    assert not real.get("failed"), real
    assert (predicted["changed"], predicted["route_action"], predicted["files"]) == (True, "add", real["files"])
    assert real["route"] == "ip route add 203.0.113.210/32 dev lo proto 201 scope host metric 7" and real["announced"] == 0
    assert routes(netns) == [("203.0.113.210", "lo", "host", 7)]
    assert VIP + " lo" in netns.addrs("lo")
    assert "ip route replace 203.0.113.210/32 dev lo proto 201 scope host metric 7 || true" in (etc / "rc.local").read_text()
    assert (etc / "sysconfig" / "route-lo").read_text() == (
        "198.51.100.0/24 via 198.51.100.1 dev lo\n203.0.113.210/32 dev lo proto 201 scope host metric 7\n")
    ifupdown = (etc / "interfaces.d" / "floating-vip-lo-203_0_113_210").read_text()
    assert "    up ip route replace 203.0.113.210/32 dev lo proto 201 scope host metric 7\n" in ifupdown
    networkd = (etc / "network" / "05-lo.network.d" / "floating-vip-203.0.113.210.conf").read_text()
    assert "[Route]\nDestination=203.0.113.210/32\nScope=host\nProtocol=201\nMetric=7\n" in networkd
    assert any(d["before_header"] == "routes" for d in real["diff"])

    state1 = snapshot(netns, tmp_path)
    again = run(netns, tmp_path, "vip_secondary", **args(etc))
    assert not again["changed"] and again["route_action"] == "none" and snapshot(netns, tmp_path) == state1

    # the route deleted behind the module's back: put back, and only that
    netns.ip("route", "del", "203.0.113.210/32", "dev", "lo", "proto", "201")
    fixed = run(netns, tmp_path, "vip_secondary", **args(etc))
    assert fixed["changed"] and fixed["route_action"] == "add" and fixed["action"] == "none" and fixed["files"] == []

    gone = run(netns, tmp_path, "vip_secondary", **args(etc, state="absent"))
    assert gone["changed"] and gone["route_action"] == "remove" and routes(netns) == []
    assert VIP + " lo" not in netns.addrs("lo")
    assert (etc / "sysconfig" / "route-lo").read_text() == "198.51.100.0/24 via 198.51.100.1 dev lo\n"
    assert "203.0.113.210" not in (etc / "rc.local").read_text()


@pytest.mark.parametrize("route, address, reason", [
    ({"protocol": 188}, VIP, "route protocol 188 belongs to a routing daemon"),
    ({"protocol": 300}, VIP, "route protocol must be an integer from 0 to 255"),
    ({"protocol": 201}, "203.0.113.210/24", "route: 203.0.113.210/24 is not a host address (/32)"),
])
def test_bad_route_refused_before_any_change(netns, tmp_path, etc, route, address, reason):
    state0 = snapshot(netns, tmp_path)
    out = run(netns, tmp_path, "vip_secondary", **args(etc, route=route, address=address))
    assert out.get("failed") and out["msg"].startswith(reason), out
    assert snapshot(netns, tmp_path) == state0 and routes(netns) == []
