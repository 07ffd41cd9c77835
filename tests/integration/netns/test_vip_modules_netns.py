# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vip_alias / vip_secondary run as real module subprocesses inside a throwaway namespace."""
from __future__ import annotations

import json
import os
import stat
import sys

import pytest

MOD = "ansible_collections.floating.vip.plugins.modules.%s"


def run(netns, tmp_path, module, check=False, diff=True, **args):
    path = tmp_path / ("args-%d.json" % len(list(tmp_path.glob("args-*.json"))))
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ)
    env["PYTHONPATH"] = netns.collections
    proc = netns.run([sys.executable, "-m", MOD % module, str(path)], env=env)
    out = json.loads(proc.stdout)
    out.pop("invocation", None)
    return out


def snapshot(netns, tmp_path):
    files = {}
    for p in sorted(tmp_path.rglob("*")):
        if p.is_file() and not p.name.startswith("args-"):
            files[str(p)] = (p.read_text(), stat.S_IMODE(p.stat().st_mode))
    return netns.addrs(), files


@pytest.fixture
def etc(tmp_path):
    d = tmp_path / "etc"
    (d / "sysconfig").mkdir(parents=True)
    (d / "interfaces.d").mkdir()
    (d / "network").mkdir()
    (d / "network" / "10-vip0.network").write_text("[Match]\nName=vip0\n")
    (d / "sysconfig" / "ifcfg-vip0").write_text("DEVICE=vip0\nIPADDR=198.51.100.1\nPREFIX=24\n")
    (d / "rc.local").write_text("#!/bin/sh -e\necho hi\nexit 0\n")
    return d


def alias_args(etc, **kw):
    args = dict(interface="vip0", label="0", address="198.51.100.10", netmask="255.255.255.0",
                persist=["rc_local", "ifcfg"], rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"))
    args.update(kw)
    return args


def secondary_args(etc, address, **kw):
    args = dict(interface="vip0", address=address, persist=["rc_local", "ifcfg", "ifupdown", "networkd"],
                rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"),
                interfaces_d_dir=str(etc / "interfaces.d"), networkd_dir=str(etc / "network"))
    args.update(kw)
    return args


def comparable(result):
    return {k: result[k] for k in ("changed", "files", "addresses_after", "diff", "action", "address")}


def test_alias_check_then_real_then_idempotent(netns, tmp_path, etc):
    state0 = snapshot(netns, tmp_path)
    predicted = run(netns, tmp_path, "vip_alias", check=True, **alias_args(etc))
    assert snapshot(netns, tmp_path) == state0, "check mode changed something"
    real = run(netns, tmp_path, "vip_alias", **alias_args(etc))
    assert comparable(predicted) == comparable(real)
    assert real["changed"] and real["action"] == "add" and real["announced"] == 6
    assert "198.51.100.10/24 vip0:0" in netns.addrs()
    assert sorted(real["files"]) == sorted([str(etc / "rc.local"), str(etc / "sysconfig" / "ifcfg-vip0:0")])
    rc = (etc / "rc.local").read_text()
    assert "ip addr add 198.51.100.10/24 brd 198.51.100.255 dev vip0 label vip0:0 || true" in rc
    assert rc.rstrip().endswith("exit 0") and "echo hi" in rc
    assert "IPADDR=198.51.100.10" in (etc / "sysconfig" / "ifcfg-vip0:0").read_text()
    state1 = snapshot(netns, tmp_path)
    again = run(netns, tmp_path, "vip_alias", **alias_args(etc))
    assert again["changed"] is False and again["files"] == [] and again["announced"] == 0
    assert run(netns, tmp_path, "vip_alias", check=True, **alias_args(etc))["changed"] is False
    assert snapshot(netns, tmp_path) == state1


def test_alias_relabel_prefix_change_and_absent(netns, tmp_path, etc):
    netns.ip("addr", "add", "198.51.100.50/24", "dev", "vip0", "label", "vip0:9")
    run(netns, tmp_path, "vip_alias", **alias_args(etc))
    args = alias_args(etc, label="vip0:1", address="198.51.100.10/25", netmask=None)
    predicted = run(netns, tmp_path, "vip_alias", check=True, **args)
    real = run(netns, tmp_path, "vip_alias", **args)
    assert comparable(predicted) == comparable(real) and real["action"] == "change"
    assert "198.51.100.10/25 vip0:1" in netns.addrs()
    assert not (etc / "sysconfig" / "ifcfg-vip0:0").exists()  # the old alias file went with the old label
    assert "NETMASK=255.255.255.128" in (etc / "sysconfig" / "ifcfg-vip0:1").read_text()
    gone = dict(interface="vip0", address="198.51.100.10", state="absent", persist=["rc_local", "ifcfg"],
                rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"))
    predicted = run(netns, tmp_path, "vip_alias", check=True, **gone)
    real = run(netns, tmp_path, "vip_alias", **gone)
    assert comparable(predicted) == comparable(real) and real["action"] == "remove"
    assert netns.addrs() == ["198.51.100.1/24 vip0", "198.51.100.50/24 vip0:9"]
    assert (etc / "rc.local").read_text() == "#!/bin/sh -e\necho hi\nexit 0\n"
    assert sorted(p.name for p in (etc / "sysconfig").iterdir()) == ["ifcfg-vip0"]
    assert run(netns, tmp_path, "vip_alias", **gone)["changed"] is False


def test_alias_backup_and_hwaddr(netns, tmp_path, etc):
    real = run(netns, tmp_path, "vip_alias", backup=True, hwaddr=True, gateway="198.51.100.254", announce=0,
               **alias_args(etc))
    assert real["announced"] == 0
    assert len(real["backups"]) == 1 and open(real["backups"][0]).read() == "#!/bin/sh -e\necho hi\nexit 0\n"
    text = (etc / "sysconfig" / "ifcfg-vip0:0").read_text()
    assert "HWADDR=02:00:5E:10:00:01" in text and "GATEWAY=198.51.100.254" in text


@pytest.mark.parametrize("address", ["198.51.100.20/24", "2001:db8::20/64"])
def test_secondary_all_backends(netns, tmp_path, etc, address):
    state0 = snapshot(netns, tmp_path)
    predicted = run(netns, tmp_path, "vip_secondary", check=True, **secondary_args(etc, address))
    assert snapshot(netns, tmp_path) == state0
    real = run(netns, tmp_path, "vip_secondary", **secondary_args(etc, address))
    assert comparable(predicted) == comparable(real)
    assert real["changed"] and len(real["files"]) == 4
    assert real["announced"] == (6 if ":" not in address else 3)
    assert address in " ".join(netns.addrs())
    dropin = list((etc / "network" / "10-vip0.network.d").iterdir())
    assert len(dropin) == 1 and ("Address=%s" % address) in dropin[0].read_text()
    assert ("address %s" % address) in list((etc / "interfaces.d").iterdir())[0].read_text()
    state1 = snapshot(netns, tmp_path)
    assert run(netns, tmp_path, "vip_secondary", **secondary_args(etc, address))["changed"] is False
    assert snapshot(netns, tmp_path) == state1
    real = run(netns, tmp_path, "vip_secondary", state="absent", **secondary_args(etc, address))
    assert real["changed"] and address not in " ".join(netns.addrs())
    after = snapshot(netns, tmp_path)
    expected = dict(state0[1])
    if ":" in address:  # IPV6INIT=yes stays once set: other IPv6 config may depend on it
        ifcfg_path = str(etc / "sysconfig" / "ifcfg-vip0")
        expected[ifcfg_path] = (expected[ifcfg_path][0] + "IPV6INIT=yes\n", expected[ifcfg_path][1])
    assert after[1] == expected  # every file back as it was
    assert list((etc / "interfaces.d").iterdir()) == []


BAD = [
    (dict(interface="nosuch0"), "interface nosuch0 not found"),
    (dict(address="198.51.100.300", netmask=None), "malformed address"),
    (dict(netmask="255.0.255.0"), "malformed netmask"),
    (dict(address="198.51.100.10/24", netmask="16"), "disagree"),
    (dict(label="vip0:abcdefghijkl"), "at most 15"),
    (dict(label="eth0:0"), "must be 'vip0:<suffix>'"),
    (dict(address="2001:db8::10/64", netmask=None), "not IPv4"),
    (dict(address="198.51.100.2/24", netmask=None), "already on peer0"),
    (dict(rc_local_path="/nonexistent-fvu/rc.local"), "directory /nonexistent-fvu does not exist"),
    (dict(ifcfg_dir="/nonexistent-fvu"), "does not exist"),
]


@pytest.mark.parametrize("bad,message", BAD, ids=[case[1] for case in BAD])
def test_bad_input_fails_cleanly_and_changes_nothing(netns, tmp_path, etc, bad, message):
    before = snapshot(netns, tmp_path)
    out = run(netns, tmp_path, "vip_alias", **alias_args(etc, **bad))
    assert out.get("failed") and message in out["msg"], out
    assert out.get("changed") is False
    assert snapshot(netns, tmp_path) == before


def test_malformed_ifcfg_fails_and_rc_local_untouched(netns, tmp_path, etc):
    (etc / "sysconfig" / "ifcfg-vip0:0").write_text("DEVICE=vip0:0\nup and away\n")
    before = snapshot(netns, tmp_path)
    out = run(netns, tmp_path, "vip_alias", **alias_args(etc))
    assert out.get("failed") and "ifcfg-vip0:0:2: malformed line" in out["msg"]
    assert snapshot(netns, tmp_path) == before


def test_unreadable_path_fails(netns, tmp_path, etc):
    (etc / "dir-rc").mkdir()
    out = run(netns, tmp_path, "vip_alias", **alias_args(etc, rc_local_path=str(etc / "dir-rc")))
    assert out.get("failed") and "cannot read" in out["msg"]


def test_force_adds_address_held_elsewhere(netns, tmp_path, etc):
    out = run(netns, tmp_path, "vip_secondary", force=True, announce=0,
              **secondary_args(etc, "198.51.100.2/24", persist=[]))
    assert out["changed"] and "198.51.100.2/24" in out["addresses_after"]
    assert "198.51.100.2" in " ".join(netns.addrs("peer0"))  # the other holder is left alone
    assert "also on peer0" in json.dumps(out.get("warnings"))  # 2.19 structures warnings


def test_networkd_requires_a_network_file(netns, tmp_path, etc):
    (etc / "network" / "10-vip0.network").unlink()
    before = snapshot(netns, tmp_path)
    out = run(netns, tmp_path, "vip_secondary", **secondary_args(etc, "198.51.100.20/24"))
    assert out.get("failed") and "no .network file" in out["msg"]
    assert snapshot(netns, tmp_path) == before
