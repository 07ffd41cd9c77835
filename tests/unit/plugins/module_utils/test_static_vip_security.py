# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static VIP security fixes, one example test per defect class (no root, no netns: netlink is faked).

The property-based counterparts (any text, never another exception, never an unintended line)
live in tests/unit/security/test_static_vip_props.py.
"""
from __future__ import annotations

import os
import shlex
import stat
import subprocess
import threading

import pytest

from ansible_collections.floating.vip.plugins.module_utils import addresses
from ansible_collections.floating.vip.plugins.module_utils import static_vip as sv
from ansible_collections.floating.vip.plugins.module_utils import vrrp_instance_file as vif
from ansible_collections.floating.vip.plugins.module_utils.persist import atomic, ifcfg, ifupdown, networkd, rc_local, values

SEPARATORS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t"]
SHELL_NAMES = ["x$(id>&2)", "x`id`", "x;id", "x|id", "x&&id", "x id", "x'y", 'x"y', "x\\y", "x>y", "x*", "x\ny", "x\u2028y"]


# ---- fake netlink: one interface, no addresses ------------------------------------------------------------------

@pytest.fixture
def fake_links(monkeypatch):
    def link_index(name):
        return 7

    monkeypatch.setattr(addresses, "link_index", link_index)
    monkeypatch.setattr(addresses, "list_addresses", lambda *a, **k: [])
    monkeypatch.setattr(addresses, "find_address", lambda *a, **k: [])
    monkeypatch.setattr(addresses, "link_mac", lambda name: "02:00:5e:10:00:01")
    monkeypatch.setattr(addresses, "link_is_up", lambda name: False)


@pytest.fixture
def etc(tmp_path):
    (tmp_path / "sysconfig").mkdir()
    (tmp_path / "interfaces.d").mkdir()
    (tmp_path / "network").mkdir()
    (tmp_path / "network" / "10-eth0.network").write_text("[Match]\nName=eth0\n")
    (tmp_path / "sysconfig" / "ifcfg-eth0").write_text("DEVICE=eth0\nIPADDR=198.51.100.1\nPREFIX=24\n")
    (tmp_path / "rc.local").write_text("#!/bin/sh -e\necho hi\nexit 0\n")
    return tmp_path


def alias(etc, **kw):
    p = dict(interface="eth0", label="0", address="198.51.100.10/24", persist=["rc_local", "ifcfg"],
             rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"))
    p.update(kw)
    return p


def secondary(etc, **kw):
    p = dict(interface="eth0", address="198.51.100.20/24", persist=["rc_local", "ifcfg", "ifupdown", "networkd"],
             rc_local_path=str(etc / "rc.local"), ifcfg_dir=str(etc / "sysconfig"),
             interfaces_d_dir=str(etc / "interfaces.d"), networkd_dir=str(etc / "network"))
    p.update(kw)
    return p


# ---- 1. shell in rc.local -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SHELL_NAMES)
def test_rc_local_writer_refuses_shell_in_interface_names(name):
    with pytest.raises(atomic.PersistError):
        rc_local.command(name, "198.51.100.10/24")
    with pytest.raises(atomic.PersistError):
        rc_local.markers(name, "198.51.100.10/24")
    with pytest.raises(atomic.PersistError):
        rc_local.render("#!/bin/sh\n", name, "198.51.100.10/24", ["true"])


@pytest.mark.parametrize("kind,name", [(k, n) for k in ("alias", "secondary") for n in SHELL_NAMES])
def test_modules_refuse_shell_in_interface_names(kind, name, etc, fake_links):
    params = (alias if kind == "alias" else secondary)(etc, interface=name, label=None if kind == "secondary" else "0")
    with pytest.raises(sv.VipError) as err:
        sv.make_plan(params, kind)
    assert "interface" in str(err.value) and "\n" not in str(err.value)
    assert (etc / "rc.local").read_text() == "#!/bin/sh -e\necho hi\nexit 0\n"


@pytest.mark.parametrize("cidr", ["fe80::1%$(id)/64", "fe80::1%eth0/64", "2001:db8::1%x/64", "198.51.100.10/24;id",
                                  "198.51.100.10/24\n", "198.51.100.10/24\u2028", "\u0661.1.1.1/24"])
def test_addresses_with_zone_index_or_junk_never_reach_files(cidr):
    # ipaddress accepts `fe80::1%$(id)` (a zone index of any text): the writers refuse it themselves.
    for write in (lambda: rc_local.command("eth0", cidr), lambda: rc_local.markers("eth0", cidr),
                  lambda: ifupdown.render(None, "eth0", cidr), lambda: networkd.render(None, cidr),
                  lambda: ifcfg.render_secondary("DEVICE=eth0\n", cidr, True), lambda: ifcfg.alias_values("eth0:0", cidr)):
        with pytest.raises(atomic.PersistError):
            write()
    with pytest.raises(sv.VipError):
        sv.parse_address(cidr)


def test_module_refuses_zone_index(etc, fake_links):
    with pytest.raises(sv.VipError) as err:
        sv.make_plan(secondary(etc, address="fe80::1%$(touch /tmp/pwn)/64"), "secondary")
    assert "zone index" in str(err.value)


@pytest.mark.parametrize("label", ["eth0:$(id)", "eth0:a b", "eth0:0\nreboot", "eth1:0", "eth0:'", "eth0:0;id"])
def test_rc_local_writer_refuses_bad_labels(label):
    with pytest.raises(atomic.PersistError):
        rc_local.command("eth0", "198.51.100.10/24", label)


@pytest.mark.parametrize("brd", ["198.51.100.255;id", "$(id)", "198.51.100.255\nid", "2001:db8::1"])
def test_rc_local_writer_refuses_bad_broadcast(brd):
    with pytest.raises(atomic.PersistError):
        rc_local.command("eth0", "198.51.100.10/24", None, brd)


def test_rc_local_line_is_quoted_and_parses_to_the_intended_argv():
    line = rc_local.command("eth0.100", "198.51.100.10/24", "eth0.100:v@1", "198.51.100.255")
    assert line.endswith(" || true")
    assert shlex.split(line[:-len(" || true")]) == ["ip", "addr", "add", "198.51.100.10/24", "brd", "198.51.100.255",
                                                    "dev", "eth0.100", "label", "eth0.100:v@1"]
    assert rc_local.argv("eth0", "2001:db8::20/64") == ["ip", "-6", "addr", "add", "2001:db8::20/64", "dev", "eth0"]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_rc_local_block_lines_cannot_hold_line_separators(sep):
    with pytest.raises(atomic.PersistError):
        rc_local.render(None, "eth0", "198.51.100.10/24", ["true" + sep + "reboot"])


def test_rc_local_keeps_other_lines_byte_for_byte():
    # \x0c and \u2028 are not line breaks for sh: they must survive a rewrite unchanged.
    old = "#!/bin/sh\necho 'a\x0cb\u2028c'\nexit 0\n"
    new = rc_local.render(old, "eth0", "198.51.100.10/24", [rc_local.command("eth0", "198.51.100.10/24")])
    assert "echo 'a\x0cb\u2028c'\n" in new
    assert rc_local.render(new, "eth0", "198.51.100.10/24", None) == old


def test_rc_local_marker_errors_name_file_and_line():
    text = "#!/bin/sh\n# BEGIN floating.vip eth0 198.51.100.10\ntrue\n"
    with pytest.raises(atomic.PersistError) as err:
        rc_local.render(text, "eth0", "198.51.100.10/24", None, "/etc/rc.local")
    assert str(err.value).startswith("/etc/rc.local:2: ")


def test_rc_local_real_sh_runs_exactly_the_intended_command(tmp_path):
    # The produced file, run by sh with a stub `ip` that records its argv: one call, the intended words.
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "ip").write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "$LOG"\n')
    os.chmod(stub / "ip", 0o755)
    text = rc_local.render(None, "eth-0_1.a@b", "198.51.100.10/24",
                           [rc_local.command("eth-0_1.a@b", "198.51.100.10/24", "eth-0_1.a@b:x", "198.51.100.255")])
    (tmp_path / "rc.local").write_text(text)
    log = tmp_path / "log"
    env = dict(os.environ, PATH="%s:%s" % (stub, os.environ["PATH"]), LOG=str(log))
    subprocess.run(["sh", str(tmp_path / "rc.local")], check=True, env=env, timeout=10)
    assert log.read_text().splitlines() == ["addr", "add", "198.51.100.10/24", "brd", "198.51.100.255", "dev",
                                            "eth-0_1.a@b", "label", "eth-0_1.a@b:x"]


# ---- 2. ifcfg / ifupdown / networkd values ------------------------------------------------------------------------

@pytest.mark.parametrize("gateway", ["198.51.100.254\nONBOOT=no", "198.51.100.254 x", "$(id)", "2001:db8::1",
                                     "198.51.100.254\u2028x", "gw", "198.51.100.999"])
def test_gateway_is_an_ipv4_address(gateway, etc, fake_links):
    with pytest.raises(atomic.PersistError):
        ifcfg.alias_values("eth0:0", "198.51.100.10/24", gateway=gateway)
    with pytest.raises(sv.VipError) as err:
        sv.make_plan(alias(etc, gateway=gateway), "alias")
    assert "gateway" in str(err.value) and "\n" not in str(err.value) and "\u2028" not in str(err.value)
    assert not (etc / "sysconfig" / "ifcfg-eth0:0").exists()


def test_module_strips_spaces_and_writers_get_canonical_text(etc, fake_links):
    # Surrounding spaces are trimmed by the module; the writers themselves take canonical text only.
    plan = sv.make_plan(alias(etc, address=" 198.51.100.10/24 ", gateway=" 198.51.100.254 "), "alias")
    after = [c.after for c in plan.files if c.path.endswith("ifcfg-eth0:0")][0]
    assert "GATEWAY=198.51.100.254\n" in after and "IPADDR=198.51.100.10\n" in after
    with pytest.raises(atomic.PersistError):
        ifcfg.alias_values("eth0:0", "198.51.100.10/24 ")
    with pytest.raises(atomic.PersistError):
        ifcfg.alias_values("eth0:0", "198.51.100.10/24", gateway=" 198.51.100.254")


def test_gateway_newline_does_not_break_the_next_run(etc, fake_links):
    with pytest.raises(sv.VipError):
        sv.make_plan(alias(etc, gateway="198.51.100.254\nX"), "alias")
    plan = sv.make_plan(alias(etc, gateway="198.51.100.254"), "alias")
    after = [c.after for c in plan.files if c.path.endswith("ifcfg-eth0:0")][0]
    assert ifcfg.parse(after).get("GATEWAY") == "198.51.100.254"


@pytest.mark.parametrize("hwaddr", ["02:00:5e:10:00:01\nX=1", "02:00:5e:10:00", "zz:00:5e:10:00:01", "$(id)"])
def test_hwaddr_is_a_mac(hwaddr):
    with pytest.raises(atomic.PersistError):
        ifcfg.alias_values("eth0:0", "198.51.100.10/24", hwaddr=hwaddr)


@pytest.mark.parametrize("sep", SEPARATORS)
def test_ifcfg_set_refuses_line_separators(sep):
    doc = ifcfg.parse("DEVICE=eth0\n", "/x/ifcfg-eth0")
    with pytest.raises(atomic.PersistError) as err:
        doc.set("GATEWAY", "198.51.100.1" + sep + "ONBOOT=no")
    assert "/x/ifcfg-eth0" in str(err.value) and sep not in str(err.value).replace("\t", "")


def test_ifcfg_quote_is_never_bare_with_a_trailing_newline():
    # `^...$` matched "x\n" and wrote it bare: the value then started a line of its own.
    with pytest.raises(atomic.PersistError):
        ifcfg.quote("eth0\n")
    assert ifcfg.quote("a b") == "'a b'" and ifcfg.quote("x~") == "'x~'" and ifcfg.quote("eth0:0") == "eth0:0"


@pytest.mark.parametrize("key", ["A B", "1A", "A;B", "A\nB", "", "A=B"])
def test_ifcfg_set_refuses_bad_keys(key):
    with pytest.raises(atomic.PersistError):
        ifcfg.parse("").set(key, "x")


@pytest.mark.parametrize("device", ["../../etc/shadow", "eth0/x", "x$(id)", "eth0:0\n"])
def test_ifcfg_path_for_refuses_odd_devices(device):
    with pytest.raises(atomic.PersistError):
        ifcfg.path_for("/etc/sysconfig/network-scripts", device)


def test_ifupdown_and_networkd_refuse_bad_names_and_addresses():
    for bad in ("eth0\nauto x", "x$(id)", "eth0 inet"):
        with pytest.raises(atomic.PersistError):
            ifupdown.render(None, bad, "198.51.100.10/24")
        with pytest.raises(atomic.PersistError):
            ifupdown.path_for("/e", bad, "198.51.100.10/24")
    with pytest.raises(atomic.PersistError):
        networkd.render(None, "198.51.100.10/24\n[Network]\nDNS=1.1.1.1")


# ---- 11. reader errors are file:line --------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["nope", "2001:db8::1/129", "198.51.100.1/24", "2001:db8::1%x/64", "::/-1"])
def test_ipv6_secondaries_malformed_word_is_file_line(word):
    text = "DEVICE=eth0\nIPV6INIT=yes\nIPV6ADDR_SECONDARIES='2001:db8::5/64 %s'\n" % word
    with pytest.raises(atomic.PersistError) as err:
        ifcfg.render_secondary(text, "2001:db8::20/64", True, "/x/ifcfg-eth0")
    assert str(err.value).startswith("/x/ifcfg-eth0:3: ")


@pytest.mark.parametrize("text,line", [
    ('A="it\'s $HOME"\n', 1),  # $ inside double quotes after a single quote still expands
    ("A=b#c\n", 1),  # sh keeps the #, shlex would cut it
    ("A=#c\n", 1),
    ("X=1\nA= rm -rf /\n", 2),  # sh runs `rm` with A= in its environment
    ("\x0cA=b\n", 1),
])
def test_ifcfg_reader_refuses_what_sh_reads_differently(text, line):
    with pytest.raises(atomic.PersistError) as err:
        ifcfg.parse(text, "/x/f")
    assert str(err.value).startswith("/x/f:%d: " % line)


def test_ifcfg_comment_after_value_is_still_read():
    assert ifcfg.parse("A=b # c\nB='x#y'\n").values == {"A": "b", "B": "x#y"}


# ---- 10. file modes and links ---------------------------------------------------------------------------------------

def _spy_rename(monkeypatch):
    seen = []
    real = os.rename

    def rename(src, dst):
        seen.append((dst, stat.S_IMODE(os.stat(src).st_mode)))
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "rename", rename)
    return seen


def test_secret_mode_applies_before_the_rename(tmp_path, monkeypatch):
    path = tmp_path / "inst.conf"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    seen = _spy_rename(monkeypatch)
    atomic.write_text(str(path), "auth_pass s3cret\n", mode=0o600)
    assert seen == [(str(path), 0o600)] and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_vrrp_instance_file_is_never_renamed_in_with_a_wide_mode(tmp_path, monkeypatch):
    # vrrp_instance_file calls write_text(mode=0600) on an existing 0644 file: 0600 must hold at the rename.
    path = tmp_path / "vi_1.conf"
    path.write_text("# old\n")
    os.chmod(path, 0o644)
    pl = vif.Plan(str(path), "# old\n", "# new, holds auth_pass\n", 0o644)
    seen = _spy_rename(monkeypatch)
    vif.apply(pl)
    assert seen == [(str(path), 0o600)] and path.read_text() == "# new, holds auth_pass\n"


def test_existing_mode_is_kept_when_the_caller_asks_for_more(tmp_path):
    path = tmp_path / "rc.local"
    path.write_text("#!/bin/sh\n")
    os.chmod(path, 0o700)
    atomic.write_text(str(path), "#!/bin/sh\ntrue\n", mode=0o755)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_rc_local_symlink_rhel_layout_is_written_through(tmp_path):
    (tmp_path / "rc.d").mkdir()
    target = tmp_path / "rc.d" / "rc.local"
    target.write_text("#!/bin/bash\ntouch /var/lock/subsys/local\n")
    os.chmod(target, 0o755)
    link = tmp_path / "rc.local"
    os.symlink("rc.d/rc.local", link)
    assert atomic.read_text(str(link)) == target.read_text()
    atomic.check_writable(str(link))
    made = atomic.write_text(str(link), "#!/bin/bash\nnew\n", mode=0o755, backup=True)
    assert os.path.islink(link) and os.readlink(link) == "rc.d/rc.local"
    assert target.read_text() == "#!/bin/bash\nnew\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o755
    assert made and open(made).read() == "#!/bin/bash\ntouch /var/lock/subsys/local\n"
    assert [p.name for p in (tmp_path / "rc.d").iterdir()] == ["rc.local"]  # no temp file left


def test_module_writes_through_the_rc_local_link(etc, fake_links, monkeypatch):
    (etc / "rc.d").mkdir()
    os.rename(etc / "rc.local", etc / "rc.d" / "rc.local")
    os.symlink("rc.d/rc.local", etc / "rc.local")
    plan = sv.make_plan(alias(etc, persist=["rc_local"]), "alias")
    added = []
    monkeypatch.setattr(addresses, "add_address", lambda *a, **k: added.append(a))
    sv.apply(plan, announce_count=0)
    assert added == [("eth0", "198.51.100.10/24")]
    assert os.path.islink(etc / "rc.local") and "# BEGIN floating.vip eth0 198.51.100.10" in (etc / "rc.d" / "rc.local").read_text()


@pytest.mark.parametrize("target", ["secret", "sub/other-name", "../outside/rc.local"])
def test_planted_symlinks_are_refused(tmp_path, target):
    home = tmp_path / "etc"
    (home / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for p in (home / "secret", home / "sub" / "other-name", tmp_path / "outside" / "rc.local"):
        p.write_text("root:SECRET-HASH:0:0\n")
    link = home / "rc.local"
    os.symlink(target, link)
    for call in (lambda: atomic.read_text(str(link)), lambda: atomic.check_writable(str(link)),
                 lambda: atomic.write_text(str(link), "x")):
        with pytest.raises(atomic.PersistError) as err:
            call()
        assert "SECRET" not in str(err.value) and "symbolic link" in str(err.value)
    assert (home / "secret").read_text() == "root:SECRET-HASH:0:0\n" and os.path.islink(link)


def test_planted_symlink_never_shows_in_a_diff(etc, fake_links):
    (etc / "shadow").write_text("root:SECRET-HASH:0:0\n")
    os.unlink(etc / "rc.local")
    os.symlink(str(etc / "shadow"), etc / "rc.local")
    with pytest.raises(atomic.PersistError) as err:
        sv.make_plan(alias(etc, persist=["rc_local"]), "alias")
    assert "SECRET" not in str(err.value)


def test_fifo_and_devices_are_never_opened(tmp_path):
    fifo = tmp_path / "rc.local"
    os.mkfifo(fifo)
    result = {}

    def probe():
        try:
            atomic.read_text(str(fifo))
        except atomic.PersistError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "read_text blocked on a FIFO"
    assert "FIFO" in result["error"]
    for path in (str(fifo), "/dev/null", str(tmp_path)):
        with pytest.raises(atomic.PersistError):
            atomic.read_text(path)
        with pytest.raises(atomic.PersistError):
            atomic.check_writable(path)
    link = tmp_path / "null"
    os.symlink("/dev/null", link)
    with pytest.raises(atomic.PersistError):
        atomic.read_text(str(link))


def test_dangling_same_name_link_creates_its_target(tmp_path):
    (tmp_path / "rc.d").mkdir()
    os.symlink("rc.d/rc.local", tmp_path / "rc.local")
    assert atomic.read_text(str(tmp_path / "rc.local")) is None
    atomic.write_text(str(tmp_path / "rc.local"), "#!/bin/sh\n", mode=0o755)
    assert (tmp_path / "rc.d" / "rc.local").read_text() == "#!/bin/sh\n"


def test_networkd_masked_file_is_skipped(tmp_path):
    os.symlink("/dev/null", tmp_path / "05-eth0.network")
    (tmp_path / "10-eth0.network").write_text("[Match]\nName=eth0\n")
    assert networkd.find_network_file(str(tmp_path), "eth0") == str(tmp_path / "10-eth0.network")


def test_paths_with_nul_are_errors():
    with pytest.raises(atomic.PersistError):
        atomic.read_text("/etc/x\0y")


# ---- 5. every failure is a typed error / fail_json ------------------------------------------------------------------

ODD = [["eth0"], {"a": 1}, object(), b"eth0", True, 1.5j]


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, params):
        self.params = params
        self.check_mode = True
        self._diff = True
        self.warnings = []

    def fail_json(self, **kw):
        raise Failed(kw)

    def exit_json(self, **kw):
        raise SystemExit(kw)

    def warn(self, text):
        self.warnings.append(text)


@pytest.mark.parametrize("kind", ["alias", "secondary"])
def test_odd_types_for_every_option_are_fail_json(kind, etc, fake_links):
    base = alias(etc) if kind == "alias" else secondary(etc)
    options = list(sv.OPTIONS[kind]["text"]) + list(sv.OPTIONS[kind]["paths"]) + list(sv.OPTIONS[kind]["bools"]) + [
        "persist", "announce"]
    for option in options:
        for value in ODD + ["x\ny", "\u2028", -1, 10 ** 6]:
            params = dict(base)
            params[option] = value
            try:
                sv.make_plan(params, kind)
            except (sv.VipError, atomic.PersistError, addresses.AddressError) as exc:
                assert values.unsafe_char(str(exc)) is None, (option, value, str(exc))
            with pytest.raises((Failed, SystemExit)) as out:
                sv.run_module(FakeModule(params), kind)
            if out.type is Failed:
                kw = out.value.args[0]
                assert kw["msg"] and "exception" not in kw and values.unsafe_char(kw["msg"]) is None


def test_unexpected_errors_are_fail_json_without_traceback(etc, monkeypatch):
    def boom(name):
        raise RuntimeError("netlink\nexploded")

    monkeypatch.setattr(addresses, "link_index", boom)
    with pytest.raises(Failed) as out:
        sv.run_module(FakeModule(alias(etc)), "alias")
    kw = out.value.args[0]
    assert kw["msg"] == "unexpected error (RuntimeError): netlink\\nexploded" and "exception" not in kw


@pytest.mark.parametrize("state", ["Absent", "gone", "present\n"])
def test_unknown_state_is_refused_not_treated_as_absent(state, etc, fake_links):
    with pytest.raises(sv.VipError):
        sv.make_plan(alias(etc, state=state), "alias")


@pytest.mark.parametrize("label", ["\u00b2", "\u0663", "eth0:\u0663"])
def test_unicode_digits_in_labels_are_errors_not_crashes(label):
    with pytest.raises(sv.VipError):
        sv.parse_label("eth0", label)


NO_IF = "fvsecnone0"  # never an interface of this host: a case that wrongly passed validation fails at lookup


@pytest.mark.parametrize("module,args,want", [
    ("vip_alias", dict(interface="x$(id>&2)", label="0", address="198.51.100.10/24"), "interface"),
    ("vip_alias", dict(interface=NO_IF, label="0", address="198.51.100.10/24", gateway="198.51.100.1\nONBOOT=no"), "gateway"),
    ("vip_alias", dict(interface=["eth0"], label="0", address="198.51.100.10/24"), "interface"),
    ("vip_alias", dict(interface=NO_IF, label={"a": 1}, address="198.51.100.10/24"), "label"),
    ("vip_secondary", dict(interface=NO_IF, address="fe80::1%$(id)/64"), "address"),
    ("vip_secondary", dict(interface=NO_IF, address="198.51.100.10/24", announce=-1), "announce"),
    ("vip_secondary", dict(interface=NO_IF, address="198.51.100.10/24", persist="rc_local\n"), "persist"),
    ("vip_secondary", dict(interface="eth0\u2028", address="198.51.100.10/24"), "interface"),
    ("vip_secondary", dict(interface=NO_IF, address="198.51.100.10/24", state="present\n"), "state"),
    ("vip_secondary", dict(interface=NO_IF, address="198.51.100.10/24", announce="1\n2"), "announce"),
    ("vip_alias", dict(interface=NO_IF, label="0\n", address="198.51.100.10/24"), "label"),
    ("vip_alias", dict(interface=NO_IF, label="0", address="198.51.100.10/24", persist=["ifcfg\u2028"]), "persist"),
    ("vip_alias", dict(interface=NO_IF, label="0", address="198.51.100.10/24", rc_local_path="/tmp/x\ny"), "rc_local_path"),
])
def test_real_module_fails_cleanly(module, args, want, tmp_path):
    # The module as Ansible runs it: a JSON failure with a message, no traceback, nothing changed.
    import json
    import sys

    from ansible_collections.floating.vip.plugins import module_utils as mu
    collections = os.path.abspath(os.path.join(os.path.dirname(mu.__file__), *[".."] * 5))
    path = tmp_path / "args.json"
    args = dict(dict(rc_local_path=str(tmp_path / "rc.local"), persist=["rc_local"]), **args)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=collections)
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.floating.vip.plugins.modules." + module, str(path)],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    out = json.loads(proc.stdout)
    assert proc.returncode == 1 and out["failed"] and "exception" not in out, out
    assert want in out["msg"] and "not found" not in out["msg"], out["msg"]
    assert "Traceback" not in proc.stderr and values.unsafe_char(out["msg"]) is None
    assert not (tmp_path / "rc.local").exists()


@pytest.mark.parametrize("call", [lambda: sv.parse_label("eth0", "9" * 5000),
                                  lambda: sv.clean_params({"announce": "9" * 5000}, "alias"),
                                  lambda: sv.parse_address("2001:db8::1", "9" * 5000)])
def test_huge_digit_strings_are_errors_not_crashes(call):
    # int() of a string longer than 4300 digits raises ValueError (Python 3.11+): the digit rules are bounded.
    with pytest.raises(sv.VipError):
        call()
