# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based proofs for the static VIP modules and their persistence writers/readers.

For any input (text with control characters, line separators, unicode, shell metacharacters, or
values of the wrong type): a clean result or our own typed error (VipError / PersistError /
AddressError), never another exception; when accepted, the rc.local block parses with shlex into
exactly the intended argv and adds exactly the intended lines, ifcfg files round-trip through our
reader (and sh) to the same values, and no produced file holds a line separator inside a value.
No root: netlink is faked, files live in temporary directories.
"""
from __future__ import annotations

import contextlib
import ipaddress
import os
import shlex
import subprocess
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils import addresses
from ansible_collections.floating.vip.plugins.module_utils import static_vip as sv
from ansible_collections.floating.vip.plugins.module_utils.inet import IFNAME_RE
from ansible_collections.floating.vip.plugins.module_utils.persist import atomic, ifcfg, ifupdown, networkd, rc_local, values

OURS = (sv.VipError, atomic.PersistError, addresses.AddressError)
# database=None: no example database written into the checkout (sanity would scan it).
SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SEPARATORS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\t", "\u202e"]
SHELL = ["$(id>&2)", "`id`", ";", "|", "&", "'", '"', "\\", " ", ">", "<", "*", "?", "~", "#", "{", "}", "%", "!"]
VALID = ["eth0", "eth0.100", "br-lan", "v@x", "eth0:0", "0", "198.51.100.10", "198.51.100.10/24", "24", "255.255.255.0",
         "2001:db8::10/64", "2001:db8::10", "fe80::1", "198.51.100.255", "02:00:5e:10:00:01", "present", "absent", "64"]

pieces = st.one_of(st.sampled_from(SEPARATORS), st.sampled_from(SHELL), st.sampled_from(VALID),
                   st.text(max_size=4), st.characters())
nasty_text = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(["9" * 5000, "1" * 20, "198.51.100.10/" + "2" * 5000, "eth0:" + "1" * 5000]),  # int() limits
    st.text(max_size=24),
    st.lists(pieces, min_size=1, max_size=4).map("".join),
)
odd = st.one_of(st.none(), st.integers(-5, 10 ** 6), st.booleans(), st.floats(allow_nan=True),
                st.lists(st.text(max_size=4), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
                st.binary(max_size=6))
any_value = st.one_of(nasty_text, nasty_text, nasty_text, odd)

IFNAMES = ["eth0", "eth0.100", "br-lan", "v@x", "a", "x_y-z.1@2", "123456789012345"]
CIDRS = ["198.51.100.10/24", "198.51.100.10/32", "203.0.113.7/31", "2001:db8::10/64", "2001:db8::1/128", "fe80::1/64"]
LABELS = ["eth0:0", "eth0:web", "eth0.100:1", "br-lan:x@y"]
BRDS = ["198.51.100.255", "203.0.113.127"]


def mostly(valid):
    """Valid values most of the time (so accepted results are checked often), anything otherwise."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), any_value)


def no_unsafe_in_lines(text):
    """No control character or line separator anywhere but the \\n line ends."""
    return all(values.unsafe_char(line) is None for line in text.split("\n"))


# ---- rc.local --------------------------------------------------------------------------------------------------------

@SETTINGS
@given(ifname=mostly(IFNAMES), cidr=mostly(CIDRS), label=st.one_of(st.none(), mostly(LABELS)),
       brd=st.one_of(st.none(), mostly(BRDS)))
def test_rc_local_command_is_exact_argv_or_refused(ifname, cidr, label, brd):
    try:
        line = rc_local.command(ifname, cidr, label, brd)
        text = rc_local.render(None, ifname, cidr, [line])
    except atomic.PersistError:
        return
    # Accepted: the values were of their types, and sh gets exactly these words.
    assert IFNAME_RE.match(ifname)
    iface = ipaddress.ip_interface(cidr)
    assert "%" not in cidr and cidr == cidr.strip()
    want = ["ip"] + (["-6"] if iface.version == 6 else []) + ["addr", "add", iface.with_prefixlen]
    if brd and iface.version == 4:
        want += ["brd", str(ipaddress.IPv4Address(brd))]
    want += ["dev", ifname]
    if label and label != ifname and iface.version == 4:
        want += ["label", label]
    assert line.endswith(" || true")
    assert shlex.split(line[:-len(" || true")], posix=True) == want
    begin, end = rc_local.markers(ifname, cidr)
    assert text.split("\n") == ["#!/bin/sh", "", begin, line, end, "", "exit 0", ""]
    assert no_unsafe_in_lines(text)


@SETTINGS
@given(old=st.one_of(st.none(), st.text(max_size=80), st.lists(st.sampled_from(
    ["#!/bin/sh -e", "exit 0", "", "# BEGIN floating.vip eth0 198.51.100.10", "# END floating.vip eth0 198.51.100.10",
     "echo 'a\x0cb'", "x\u2028y", "\r"]), max_size=6).map("\n".join)),
    ifname=mostly(["eth0"]), cidr=mostly(["198.51.100.10/24", "198.51.100.10/25"]), remove=st.booleans())
def test_rc_local_render_adds_exactly_the_block_or_refuses(old, ifname, cidr, remove):
    try:
        body = None if remove else [rc_local.command(ifname, cidr)]
        new = rc_local.render(old, ifname, cidr, body, "/x/rc.local")
    except atomic.PersistError as exc:
        assert values.unsafe_char(str(exc)) is None
        return
    begin, end = rc_local.markers(ifname, cidr)
    if new is None:
        assert old is None and remove
        return
    old_lines = rc_local.split_lines(old) if old is not None else []
    new_lines = rc_local.split_lines(new)
    # the old file without our block (BEGIN..END inclusive), every other line byte for byte
    starts = [i for i, ln in enumerate(old_lines) if ln.rstrip() == begin]
    if starts:
        stop = [i for i, ln in enumerate(old_lines) if ln.rstrip() == end][0]
        without = [old_lines[:starts[0]] + old_lines[stop + 1:], old_lines[:starts[0]] + old_lines[stop + 2:]]
    else:
        without = [old_lines]
    if remove:
        assert new_lines in without
        return
    assert new_lines.count(begin) == 1 and new_lines.count(end) == 1
    at = new_lines.index(begin)
    assert new_lines[at:at + 3] == [begin, body[0], end]
    rest = new_lines[:at] + new_lines[at + 3:]
    if old is None:
        assert rest == ["#!/bin/sh", "", "", "exit 0"]
    else:
        assert rest == without[0]
    assert no_unsafe_in_lines("\n".join(new_lines[at:at + 3]))


# ---- ifcfg -------------------------------------------------------------------------------------------------------------

@SETTINGS
@given(device=mostly(LABELS + IFNAMES), cidr=mostly(CIDRS[:3]), gateway=st.one_of(st.none(), mostly(BRDS)),
       hwaddr=st.one_of(st.none(), mostly(["02:00:5e:10:00:01", "aa:BB:cc:dd:ee:ff"])),
       old=st.one_of(st.none(), st.sampled_from(["DEVICE=eth0:0\nPREFIX=24\n", "# mine\nFOO='a b'\n", "X=1 2\n"]),
                     st.text(max_size=40)))
def test_ifcfg_alias_round_trips_or_refuses(device, cidr, gateway, hwaddr, old):
    try:
        wanted = ifcfg.alias_values(device, cidr, gateway=gateway, hwaddr=hwaddr)
        text = ifcfg.render_alias(old, wanted, "/x/ifcfg-alias")
    except atomic.PersistError as exc:
        assert values.unsafe_char(str(exc)) is None
        return
    doc = ifcfg.parse(text, "/x/ifcfg-alias")
    for key, value in wanted.items():
        if key in ("NETMASK", "PREFIX") and doc.get(key) is None:
            continue
        assert doc.get(key) == value
    for key in wanted:
        if key in doc.line_of:
            line = doc.lines[doc.line_of[key] - 1]
            assert values.unsafe_char(line) is None and line.startswith(key + "=")
    assert ipaddress.IPv4Interface(cidr).ip == ipaddress.IPv4Address(doc.get("IPADDR"))


@settings(max_examples=150, deadline=None, database=None)
@given(pairs=st.dictionaries(st.from_regex(r"\AV[A-Z0-9_]{0,6}\Z"), nasty_text, min_size=1, max_size=5))
def test_ifcfg_set_round_trips_through_our_reader_and_sh(pairs):
    doc = ifcfg.parse("# header\n", "/x/f")
    accepted = {}
    for key, value in pairs.items():
        try:
            doc.set(key, value)
            accepted[key] = value
        except atomic.PersistError as exc:
            assert values.unsafe_char(value) is not None and values.unsafe_char(str(exc)) is None
    text = doc.text()
    assert no_unsafe_in_lines(text)
    assert ifcfg.parse(text).values == accepted
    if not accepted:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ifcfg", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        keys = sorted(accepted)
        probe = '. "$0"; for k in %s; do eval "printf \'%%s\\n\' \\"\\$$k\\""; done' % " ".join(keys)
        out = subprocess.run(["sh", "-c", probe, handle.name], capture_output=True, check=True, timeout=10).stdout
    finally:
        os.unlink(handle.name)
    assert out.decode("utf-8").split("\n")[:-1] == [accepted[k] for k in keys]


IFCFG_LINES = ["DEVICE=eth0", "IPV6INIT=yes", "IPV6ADDR_SECONDARIES='2001:db8::5/64 nope'", "IPV6ADDR_SECONDARIES=\"::/-1\"",
               "IPADDR1=198.51.100.9", "PREFIX1=x", "IPADDR2=198.51.100.20", "NETMASK2=junk", "A=#x", "B=\"$x\"", "C='x",
               "export D=1", "E= x", "\x0cF=1", "G=a\\ b", "H=\"it's\"", "IPADDR0001=198.51.100.20"]
ifcfg_texts = st.one_of(st.text(max_size=120), st.lists(st.sampled_from(IFCFG_LINES), max_size=7).map("\n".join))


@SETTINGS
@given(text=ifcfg_texts, cidr=st.sampled_from(["198.51.100.20/24", "2001:db8::20/64", "2001:db8::5/64", "198.51.100.9/25"]),
       present=st.booleans())
def test_ifcfg_readers_raise_only_file_line_errors(text, cidr, present):
    try:
        new = ifcfg.render_secondary(text, cidr, present, "/x/ifcfg-eth0")
    except atomic.PersistError as exc:
        message = str(exc)
        assert message.startswith("/x/ifcfg-eth0"), message
        assert values.unsafe_char(message) is None
        return
    if new is not None:
        ifcfg.parse(new, "/x/ifcfg-eth0")  # what we write, we read back


# ---- ifupdown / networkd ------------------------------------------------------------------------------------------------

@SETTINGS
@given(ifname=st.one_of(st.none(), mostly(IFNAMES)), cidr=st.one_of(st.none(), mostly(CIDRS)))
def test_ifupdown_and_networkd_write_exactly_their_lines_or_refuse(ifname, cidr):
    try:
        text = ifupdown.render(None, ifname, cidr)
    except atomic.PersistError:
        text = None
    if cidr is None:
        assert text is None
    elif text is not None:
        iface = ipaddress.ip_interface(cidr)
        assert text.split("\n") == [ifupdown.HEADER, "iface %s %s static" % (ifname, "inet" if iface.version == 4 else "inet6"),
                                    "    address %s" % iface.with_prefixlen, ""]
        assert IFNAME_RE.match(ifname) and no_unsafe_in_lines(text)
        assert os.path.basename(ifupdown.path_for("/e", ifname, cidr)).startswith("floating-vip-")
    try:
        drop = networkd.render(None, cidr)
    except atomic.PersistError:
        return
    if cidr is None:  # None deletes the drop-in
        assert drop is None
        return
    assert drop.split("\n") == [networkd.HEADER, "[Network]", "Address=%s" % ipaddress.ip_interface(cidr).with_prefixlen, ""]
    assert "/" not in os.path.basename(networkd.path_for("/e/x.network", cidr))


@SETTINGS
@given(text=st.text(max_size=120), ifname=nasty_text)
def test_networkd_match_reader_never_crashes(text, ifname):
    assert networkd.matches(text, ifname) in (True, False)


# ---- the modules' validation: make_plan with any params ------------------------------------------------------------------

@contextlib.contextmanager
def fake_netlink():
    saved = {n: getattr(addresses, n) for n in ("link_index", "list_addresses", "find_address", "link_mac", "link_is_up")}
    addresses.link_index = lambda name: 7
    addresses.list_addresses = lambda *a, **k: []
    addresses.find_address = lambda *a, **k: []
    addresses.link_mac = lambda name: "02:00:5e:10:00:01"
    addresses.link_is_up = lambda name: False
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(addresses, name, value)


ETC = tempfile.mkdtemp(prefix="fv-props-")
for sub in ("sysconfig", "interfaces.d", "network"):
    os.makedirs(os.path.join(ETC, sub), exist_ok=True)
with open(os.path.join(ETC, "network", "10-all.network"), "w") as _handle:
    _handle.write("[Match]\nName=*\n")
with open(os.path.join(ETC, "rc.local"), "w") as _handle:
    _handle.write("#!/bin/sh -e\nexit 0\n")


def _check_plan(plan, kind, params):
    interface = plan.interface
    assert IFNAME_RE.match(interface) and interface == str(params["interface"]).strip()
    for change in plan.files:
        if change.after is not None:
            assert no_unsafe_in_lines(change.after), change.path
        if change.path.endswith("rc.local") and plan.state == "present":
            begin = "# BEGIN floating.vip %s %s" % (interface, plan.iface.ip)
            lines = change.after.split("\n")
            assert lines.count(begin) == 1
            command = lines[lines.index(begin) + 1]
            words = shlex.split(command[:-len(" || true")])
            assert words[:3 + (plan.iface.version == 6)][-2:] == ["addr", "add"]
            assert words[words.index("dev") + 1] == interface
            assert plan.cidr in words
            if kind == "alias" and plan.label != interface:
                assert words[-2:] == ["label", plan.label]
        if os.path.basename(change.path).startswith("ifcfg-") and change.after is not None:
            ifcfg.parse(change.after, change.path)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["alias", "secondary"]))
def test_make_plan_any_params_clean_result_or_typed_error(data, kind):
    params = {"interface": "eth0", "label": "0", "address": "198.51.100.10/24", "persist": ["rc_local", "ifcfg"],
              "rc_local_path": os.path.join(ETC, "rc.local"), "ifcfg_dir": os.path.join(ETC, "sysconfig")}
    if kind == "secondary":
        params.pop("label")
        params.update(persist=["rc_local", "ifupdown", "networkd"], interfaces_d_dir=os.path.join(ETC, "interfaces.d"),
                      networkd_dir=os.path.join(ETC, "network"))
    spec = sv.OPTIONS[kind]
    options = list(spec["text"]) + list(spec["bools"]) + ["announce", "persist"]
    good = {"interface": IFNAMES, "address": CIDRS + ["198.51.100.10"], "netmask": ["24", "255.255.255.0", "/25"],
            "broadcast": BRDS, "state": ["present", "absent"], "gateway": BRDS, "label": ["0", "7"],
            "networkd_file": ["10-all.network"], "backup": [True, False], "force": [True, False],
            "hwaddr": [True, False], "announce": [0, 3]}
    for name in data.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)):
        if name == "persist":
            value = st.one_of(any_value, st.lists(st.one_of(st.sampled_from(list(sv.SECONDARY_PERSIST)), nasty_text),
                                                  max_size=3))
        else:
            value = mostly(good[name])
        params[name] = data.draw(value)
    with fake_netlink():
        try:
            plan = sv.make_plan(params, kind)
        except OURS as exc:
            assert values.unsafe_char(str(exc)) is None, str(exc)
            return
    _check_plan(plan, kind, params)


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.binary(max_size=200))
def test_atomic_read_text_any_bytes_is_text_or_persist_error(data):
    with tempfile.NamedTemporaryFile("wb", delete=False) as handle:
        handle.write(data)
    try:
        try:
            text = atomic.read_text(handle.name)
        except atomic.PersistError as exc:
            assert values.unsafe_char(str(exc)) is None
            return
        assert text.encode("utf-8") == data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # universal newlines, as before
        for reader in (lambda: ifcfg.parse(text, "/x/f"), lambda: rc_local.render(text, "eth0", "198.51.100.10/24", None, "/x/f")):
            try:
                reader()
            except atomic.PersistError as exc:
                assert str(exc).startswith("/x/f:") and values.unsafe_char(str(exc)) is None
    finally:
        os.unlink(handle.name)
