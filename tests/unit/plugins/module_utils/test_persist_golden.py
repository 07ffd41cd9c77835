# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistence text transforms against hand-written golden files (before -> after), plus idempotence."""
from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from ansible_collections.floating.vip.plugins.module_utils.persist import atomic, ifcfg, ifupdown, networkd, rc_local

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "..", "unit", "fixtures", "persist")
ALIAS_CMD = [rc_local.command("eth0", "198.51.100.10/24", "eth0:0", "198.51.100.255")]


def golden(case, name):
    path = os.path.join(FIX, case, name)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


CASES = {
    "rc_create": lambda old: rc_local.render(old, "eth0", "198.51.100.10/24", ALIAS_CMD),
    "rc_before_exit": lambda old: rc_local.render(old, "eth0", "198.51.100.10/24", ALIAS_CMD),
    "rc_replace": lambda old: rc_local.render(old, "eth0", "198.51.100.10/24", ALIAS_CMD),
    "rc_remove": lambda old: rc_local.render(old, "eth0", "198.51.100.10/24", None),
    "rc_append": lambda old: rc_local.render(old, "eth0", "198.51.100.10/24", ALIAS_CMD),
    "ifcfg_alias_new": lambda old: ifcfg.render_alias(old, ifcfg.alias_values(
        "eth0:0", "198.51.100.10/24", gateway="198.51.100.254", hwaddr="02:00:5e:10:00:01")),
    "ifcfg_alias_user": lambda old: ifcfg.render_alias(old, ifcfg.alias_values("eth0:0", "198.51.100.10/24")),
    "ifcfg_sec_add": lambda old: ifcfg.render_secondary(old, "198.51.100.20/24", True),
    "ifcfg_sec_renumber": lambda old: ifcfg.render_secondary(old, "198.51.100.20/24", False),
    "ifcfg_sec_v6": lambda old: ifcfg.render_secondary(old, "2001:db8::20/64", True),
    "ifupdown_v4": lambda old: ifupdown.render(old, "eth0", "198.51.100.20/24"),
    "ifupdown_v6": lambda old: ifupdown.render(old, "eth0", "2001:db8::20/64"),
    "networkd_v4": lambda old: networkd.render(old, "198.51.100.20/24"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    before, after = golden(case, "before"), golden(case, "after")
    assert CASES[case](before) == after


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "rc_remove" and c != "ifcfg_sec_renumber"))
def test_apply_twice_equals_once(case):
    once = CASES[case](golden(case, "before"))
    assert CASES[case](once) == once


def test_remove_twice_equals_once():
    once = CASES["rc_remove"](golden("rc_remove", "before"))
    assert CASES["rc_remove"](once) == once
    again = CASES["ifcfg_sec_renumber"](golden("ifcfg_sec_renumber", "after"))
    assert again == golden("ifcfg_sec_renumber", "after")


def test_rc_local_add_then_remove_round_trips():
    before = golden("rc_before_exit", "before")
    added = rc_local.render(before, "eth0", "198.51.100.10/24", ALIAS_CMD)
    assert rc_local.render(added, "eth0", "198.51.100.10/24", None) == before


def test_rc_local_blocks_are_independent():
    text = rc_local.render(None, "eth0", "198.51.100.10/24", ["a"])
    text = rc_local.render(text, "eth0", "198.51.100.11/24", ["b"])
    text = rc_local.render(text, "eth0", "198.51.100.10/24", None)
    assert "198.51.100.11" in text and "198.51.100.10" not in text and text.rstrip().endswith("exit 0")


@pytest.mark.parametrize("text", [
    "# BEGIN floating.vip eth0 198.51.100.10\nip addr add x\n",
    "# END floating.vip eth0 198.51.100.10\n",
    "# BEGIN floating.vip eth0 198.51.100.10\n# BEGIN floating.vip eth0 198.51.100.10\n# END floating.vip eth0 198.51.100.10\n",
])
def test_rc_local_broken_markers_are_errors(text):
    with pytest.raises(atomic.PersistError):
        rc_local.render(text, "eth0", "198.51.100.10/24", ["x"])


def test_rc_local_commands_run_in_sh(tmp_path):
    # The generated line must be one valid sh command (syntax check only: sh -n).
    script = tmp_path / "rc.local"
    script.write_text(golden("rc_create", "after"))
    subprocess.run(["sh", "-n", str(script)], check=True, timeout=10)
    assert rc_local.command("eth0", "2001:db8::20/64") == "ip -6 addr add 2001:db8::20/64 dev eth0 || true"
    assert rc_local.command("eth0", "198.51.100.20/24", None, "198.51.100.255") == \
        "ip addr add 198.51.100.20/24 brd 198.51.100.255 dev eth0 || true"


@pytest.mark.parametrize("case", ["ifcfg_alias_new", "ifcfg_alias_user", "ifcfg_sec_add", "ifcfg_sec_renumber",
                                  "ifcfg_sec_v6"])
def test_ifcfg_reads_as_initscripts_would(case, tmp_path):
    # initscripts sources the file with sh: every value our parser sees must be what sh sees.
    text = golden(case, "after")
    doc = ifcfg.parse(text)
    path = tmp_path / "ifcfg"
    path.write_text(text)
    keys = sorted(doc.values)
    probe = ". %s; for k in %s; do eval \"printf '%%s\\n' \\\"\\$$k\\\"\"; done" % (shlex.quote(str(path)), " ".join(keys))
    out = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, check=True, timeout=10).stdout
    assert out.splitlines() == [doc.values[k] for k in keys]


@pytest.mark.parametrize("text", [
    "DEVICE=eth0:0\nthis is not an assignment\n",
    "IPADDR='198.51.100.10\n",
    "IPADDR=198.51.100.10 198.51.100.11\n",
    "ifconfig eth0:0 up\n",
    'NAME="$DEVICE"\n',
])
def test_ifcfg_malformed_is_an_error(text):
    with pytest.raises(atomic.PersistError) as err:
        ifcfg.render_alias(text, ifcfg.alias_values("eth0:0", "198.51.100.10/24"), "/x/ifcfg-eth0:0")
    assert "/x/ifcfg-eth0:0:" in str(err.value)


def test_ifcfg_quotes_odd_values(tmp_path):
    doc = ifcfg.parse("A='x $y'\n")
    assert doc.get("A") == "x $y"
    doc.set("B", "it's \"hi\" $HOME `x`")
    text = doc.text()
    assert ifcfg.parse(text).get("B") == "it's \"hi\" $HOME `x`"
    path = tmp_path / "ifcfg"
    path.write_text(text)
    out = subprocess.run(["sh", "-c", '. "$0"; printf %s "$B"', str(path)], capture_output=True, text=True,
                         check=True, timeout=10).stdout
    assert out == "it's \"hi\" $HOME `x`"


def test_ifcfg_secondary_needs_parent_file():
    with pytest.raises(atomic.PersistError):
        ifcfg.render_secondary(None, "198.51.100.20/24", True, "/x/ifcfg-eth0")
    assert ifcfg.render_secondary(None, "198.51.100.20/24", False, "/x/ifcfg-eth0") is None


def test_ifcfg_secondary_takes_lowest_free_index_and_changes_prefix_in_place():
    text = "DEVICE=eth0\nIPADDR2=198.51.100.30\nPREFIX2=24\n"
    text = ifcfg.render_secondary(text, "198.51.100.20/24", True)
    assert "IPADDR1=198.51.100.20\nPREFIX1=24" in text
    text = ifcfg.render_secondary(text, "198.51.100.20/25", True)
    assert "PREFIX1=25" in text and text.count("IPADDR1=") == 1


def test_ifcfg_v6_secondary_remove():
    text = ifcfg.render_secondary(golden("ifcfg_sec_v6", "after"), "2001:db8::20/64", False)
    assert 'IPV6ADDR_SECONDARIES=2001:db8::5/64' in text
    text = ifcfg.render_secondary(text, "2001:db8::5/64", False)
    assert "IPV6ADDR_SECONDARIES" not in text


def test_ifupdown_and_networkd_paths(tmp_path):
    assert ifupdown.path_for("/e/i.d", "eth0.100", "198.51.100.20/24") == "/e/i.d/floating-vip-eth0_100-198_51_100_20"
    assert ifupdown.render("x", "eth0", None) is None
    net = tmp_path / "net"
    net.mkdir()
    (net / "05-other.network").write_text("[Match]\nName=eth1\n")
    (net / "10-lan.network").write_text("[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n")
    (net / "20-eth0.network").write_text("[Match]\nName=eth0\n")
    found = networkd.find_network_file(str(net), "eth0")
    assert found == str(net / "10-lan.network")
    assert networkd.find_network_file(str(net), "eth0", "20-eth0.network") == str(net / "20-eth0.network")
    assert networkd.path_for(found, "2001:db8::20/64") == str(net / "10-lan.network.d" / "floating-vip-2001_db8__20.conf")
    with pytest.raises(atomic.PersistError):
        networkd.find_network_file(str(net), "wlan0")
    (net / "30-not.network").write_text("[Match]\nName=!eth*\n")
    assert networkd.find_network_file(str(net), "wlan0") == str(net / "30-not.network")


def test_atomic_write_keeps_mode_and_makes_backup(tmp_path):
    path = tmp_path / "f"
    path.write_text("old\n")
    os.chmod(path, 0o700)
    made = atomic.write_text(str(path), "new\n", backup=True)
    assert path.read_text() == "new\n" and (os.stat(path).st_mode & 0o777) == 0o700
    assert made and open(made).read() == "old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    new = tmp_path / "g"
    atomic.write_text(str(new), "x", mode=0o755)
    assert (os.stat(new).st_mode & 0o777) == 0o755
    atomic.remove_file(str(new))
    atomic.remove_file(str(new))
    assert not new.exists()


def test_atomic_checks(tmp_path):
    with pytest.raises(atomic.PersistError):
        atomic.check_writable(str(tmp_path / "missing" / "f"))
    atomic.check_writable(str(tmp_path / "newdir" / "f"), create_dir=True)
    with pytest.raises(atomic.PersistError):
        atomic.check_writable(str(tmp_path))
    with pytest.raises(atomic.PersistError):
        atomic.read_text(str(tmp_path))  # a directory cannot be read as a file
    assert atomic.read_text(str(tmp_path / "nope")) is None


def test_rc_local_removing_from_a_created_file_leaves_no_doubled_blank_line():
    created = rc_local.render(None, "eth0", "198.51.100.10/24", ALIAS_CMD)
    assert rc_local.render(created, "eth0", "198.51.100.10/24", None) == "#!/bin/sh\n\nexit 0\n"
