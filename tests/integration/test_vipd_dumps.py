# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's signals on the real daemons: keepalived 2.2.7 and vipd run the same config (other VRIDs, so both are
master) in lab namespaces; each gets SIGUSR1, SIGUSR2, SIGRTMIN+2 (keepalived --signum=JSON) and SIGRTMAX-1
(STATS_CLEAR) and the files in its own TMPDIR are compared: the JSON's keys and their order (vipd leaves out only
auth_data, the password), the values a keepalived exporter reads, the .stats layout line by line, and the .data
section headers and the per-instance keys the exporters parse."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.lab import wait_until

from .peers import Node, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

CONF = """global_defs {
    router_id dumps
    script_user root
}
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight 10
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id %(v4)d
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass Secret12
    }
    virtual_ipaddress {
        198.51.100.%(a)d/24
        198.51.100.%(b)d/24 dev eth0 label eth0:1
    }
    virtual_ipaddress_excluded {
        198.51.100.%(c)d/24
    }
    track_script {
        chk
    }
}
vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id %(v6)d
    priority 100
    advert_int 1
    version 3
    virtual_ipaddress {
        2001:db8::%(a)d/64
    }
}
"""
# Read by cafebazaar/keepalived-exporter (collector.go VRRPData / VRRPStats).
EXPORTER_DATA = ("iname", "state", "wantstate", "ifp_ifname", "garp_delay", "vrid", "vips")
# Equal on both daemons for the same config (the rest depends on timing, addresses or counters).
SAME_VALUES = ("iname", "dont_track_primary", "skip_check_adv_addr", "strict_mode", "vmac_ifname", "ifp_ifname", "master_priority",
               "garp_delay", "garp_refresh", "garp_rep", "garp_refresh_rep", "garp_lower_prio_delay", "garp_lower_prio_rep",
               "lower_prio_no_advert", "higher_prio_send_advert", "base_priority", "effective_priority", "vipset",
               "promote_secondaries", "adver_int", "master_adver_int", "accept", "nopreempt", "preempt_delay", "state", "wantstate",
               "version", "smtp_alert", "notify_deleted", "track_script", "auth_type")
# Per-instance lines of keepalived.data that the exporters parse (parser.go ParseVRRPData / ParseVRRPScript).
EXPORTER_DATA_KEYS = ("State", "Wantstate", "Interface", "Gratuitous ARP delay", "Virtual Router ID", "Virtual IP")


def _signal(node: Node, sig: int, path: str) -> str:
    if os.path.exists(path):
        os.unlink(path)
    os.kill(node.main_pid, sig)
    wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout=10, interval=0.02, what=path)
    time.sleep(0.1)  # keepalived writes with stdio: let it close the file
    with open(path) as f:
        return f.read()


def _dumps(node: Node) -> dict:
    out = {}
    for name, sig in (("data", signal.SIGUSR1), ("stats", signal.SIGUSR2), ("json", signal.SIGRTMIN + 2)):
        out[name] = _signal(node, sig, os.path.join(node.tmpdir, "keepalived." + name))
    return out


def _instance_keys(data: str, name: str) -> list:
    keys, inside = [], False
    for line in data.splitlines():
        if line.startswith(" VRRP Instance = "):
            inside = line == " VRRP Instance = " + name
            continue
        if inside and not line.startswith("   "):
            inside = False
        if inside and not line.startswith("     "):
            key = re.split(r" = |:| \(|, ", line.strip(), maxsplit=1)[0]
            keys.append(key)
    return keys


def test_signals_write_keepalived_files_with_keepalived_structure(lab):
    ka = Node(lab, "server1", "keepalived", CONF % {"v4": 61, "v6": 62, "a": 161, "b": 162, "c": 163})
    vd = Node(lab, "server2", "vipd", CONF % {"v4": 71, "v6": 72, "a": 171, "b": 172, "c": 173})
    nodes = [ka, vd]
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            for inst in ("VI_1", "VI_6"):
                wait_until(lambda n=node, i=inst: n.state(i) == "MASTER", timeout=20, what="%s %s master" % (node, inst))
        time.sleep(1.5)  # a script result, a few adverts
        got = {node.impl: _dumps(node) for node in nodes}
        k_json, v_json = json.loads(got["keepalived"]["json"]), json.loads(got["vipd"]["json"])
        assert got["vipd"]["json"].count("\n") == 1 and got["keepalived"]["json"].count("\n") == 1
        assert [i["data"]["iname"] for i in k_json] == [i["data"]["iname"] for i in v_json] == ["VI_1", "VI_6"]
        for k, v in zip(k_json, v_json):
            assert list(k) == list(v) == ["data", "stats"]
            assert [key for key in k["data"] if key != "auth_data"] == list(v["data"]), (list(k["data"]), list(v["data"]))
            assert list(k["stats"]) == list(v["stats"])
            for key in SAME_VALUES:
                assert k["data"].get(key) == v["data"].get(key), (k["data"]["iname"], key, k["data"].get(key), v["data"].get(key))
            for key in EXPORTER_DATA:
                assert type(k["data"][key]) is type(v["data"][key]), key   # pylint: disable=unidiomatic-typecheck
            # the same VIP lines but for the addresses (other VRIDs, other VIPs)
            assert [re.sub(r"\d+/", "N/", x) for x in k["data"]["vips"]] == [re.sub(r"\d+/", "N/", x) for x in v["data"]["vips"]]
            assert [re.sub(r"\d+/", "N/", x) for x in k["data"].get("evips", [])] == \
                [re.sub(r"\d+/", "N/", x) for x in v["data"].get("evips", [])]
            assert k["stats"]["become_master"] == v["stats"]["become_master"] == 1
        assert "Secret12" in got["keepalived"]["json"] and "Secret12" not in got["vipd"]["json"]   # keepalived leaks it
        # .stats: the same lines but the numbers
        assert [re.sub(r"\d+", "N", x) for x in got["keepalived"]["stats"].splitlines()] == \
            [re.sub(r"\d+", "N", x) for x in got["vipd"]["stats"].splitlines()]
        # .data: vipd's section headers are keepalived's (in order) less the ones it has nothing for
        k_heads = [x for x in got["keepalived"]["data"].splitlines() if x.startswith("------<")]
        v_heads = [x for x in got["vipd"]["data"].splitlines() if x.startswith("------<")]
        assert v_heads == [h for h in k_heads if h in v_heads] and {"------< VRRP Topology >------", "------< VRRP Scripts >------"} <= set(v_heads)
        assert set(k_heads) - set(v_heads) <= {"------< VRRP Sockpool >------", "------< Interfaces >------"}, k_heads
        for inst in ("VI_1", "VI_6"):
            k_keys, v_keys = _instance_keys(got["keepalived"]["data"], inst), _instance_keys(got["vipd"]["data"], inst)
            for key in EXPORTER_DATA_KEYS:
                assert key in k_keys and key in v_keys, (inst, key)
            # every vipd key is a keepalived key, in keepalived's order ("VIPs held" is vipd's own last line)
            shared = [x for x in v_keys if x != "VIPs held"]
            assert shared == [x for x in k_keys if x in shared], (inst, k_keys, v_keys)
        for text in (got["vipd"]["data"], got["keepalived"]["data"]):
            assert " VRRP Script = chk" in text and "   Status = GOOD" in text
        assert "Password = Secret12" in got["keepalived"]["data"] and "Secret12" not in got["vipd"]["data"]
        # STATS_CLEAR (SIGRTMAX-1): both write the stats, then count again from zero
        for node in nodes:
            path = os.path.join(node.tmpdir, "keepalived.stats")
            first = _signal(node, signal.SIGRTMAX - 1, path)
            assert "  Became master: 1" in first.splitlines()
            second = _signal(node, signal.SIGUSR2, path)
            assert "  Became master: 0" in second.splitlines(), (node, second)
            assert node.running()
        assert vd.instance_status("VI_1")["counters"]["became_master"] == 1   # vipd's own counters are untouched
        assert vd.state("VI_1") == "MASTER" and vd.state("VI_6") == "MASTER"
        assert sorted(os.listdir(vd.tmpdir)) == ["keepalived.data", "keepalived.json", "keepalived.stats"]
    finally:
        problems = stop_all(nodes)
        assert not problems, problems


def test_signum_numbers_are_the_ones_vipd_handles():
    out = {name: subprocess.run(["keepalived", "--signum=" + name], capture_output=True, text=True, check=True, timeout=10).stdout.strip()
           for name in ("JSON", "STATS_CLEAR", "DATA", "STATS", "RELOAD", "STOP")}
    assert out == {"JSON": str(int(signal.SIGRTMIN) + 2), "STATS_CLEAR": str(int(signal.SIGRTMAX) - 1), "DATA": str(int(signal.SIGUSR1)),
                   "STATS": str(int(signal.SIGUSR2)), "RELOAD": str(int(signal.SIGHUP)), "STOP": str(int(signal.SIGTERM))}
