# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the static-VIP code (vip_alias / vip_secondary's module_utils) under whatever Python runs this file.

Kept to Python 3.6 syntax: tests/integration/test_managed_pythons.py runs it with every target interpreter
and compares the JSON it prints with the controller's. No Ansible: plugins/module_utils is loaded as a
package of its own (as vipd's launcher does), so only the code that runs on a managed host is exercised.

  python static_vip_driver.py pure             renderers, validators, parsers, frames (no pyroute2, no root)
  python static_vip_driver.py netlink IFACE DIR   static_vip.execute() for real on IFACE (check mode, apply,
                                               again, remove), persisting under DIR; needs pyroute2 and a netns
"""
import binascii
import importlib
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "plugins", "module_utils")


def load(name):
    if "mu" not in sys.modules:
        spec = importlib.util.spec_from_file_location("mu", os.path.join(MODULE_UTILS, "__init__.py"),
                                                      submodule_search_locations=[MODULE_UTILS])
        package = importlib.util.module_from_spec(spec)
        sys.modules["mu"] = package
        spec.loader.exec_module(package)
    return importlib.import_module("mu." + name)


def outcome(fn, *args, **kwargs):
    """The value, or the error's class and message: both must be the same on every Python."""
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        return {"error": type(exc).__name__, "msg": str(exc)}
    if isinstance(value, bytes):
        return {"hex": binascii.hexlify(value).decode("ascii")}
    if hasattr(value, "with_prefixlen"):
        return str(value.with_prefixlen)
    if hasattr(value, "compressed"):  # an ipaddress address
        return str(value)
    return value


def pure():
    sv = load("static_vip")
    rc_local = load("persist.rc_local")
    ifcfg = load("persist.ifcfg")
    ifupdown = load("persist.ifupdown")
    networkd = load("persist.networkd")
    values = load("persist.values")
    announce = load("announce")
    inet = load("inet")
    out = {}
    cmd = rc_local.argv("eth0", "198.51.100.10/24", "eth0:0", "198.51.100.255")
    out["rc_argv"] = cmd
    out["rc_new"] = outcome(rc_local.render, None, "eth0", "198.51.100.10/24", [rc_local.command("eth0", "198.51.100.10/24", "eth0:0")])
    old = "#!/bin/sh -e\n# keep me\nexit 0\n"
    added = rc_local.render(old, "eth0", "198.51.100.10/24", ["ip addr add 198.51.100.10/24 dev eth0 label eth0:0"])
    out["rc_added"] = added
    out["rc_removed"] = outcome(rc_local.render, added, "eth0", "198.51.100.10/24", None)
    out["rc_hostile"] = outcome(rc_local.render, old, "eth0", "198.51.100.10/24", ["ip addr add x\n/bin/evil"])
    alias = ifcfg.alias_values("eth0:0", "198.51.100.10/24", gateway="198.51.100.1")
    out["ifcfg_alias"] = outcome(ifcfg.render_alias, None, alias, "ifcfg-eth0:0")
    base = 'DEVICE=eth0\nBOOTPROTO=none\nIPADDR=198.51.100.2\nPREFIX=24\nNAME="System eth0"\n'
    second = ifcfg.render_secondary(base, "198.51.100.11/24", True, "ifcfg-eth0")
    out["ifcfg_secondary"] = second
    out["ifcfg_secondary_v6"] = outcome(ifcfg.render_secondary, second, "2001:db8::11/64", True, "ifcfg-eth0")
    out["ifcfg_secondary_removed"] = outcome(ifcfg.render_secondary, second, "198.51.100.11/24", False, "ifcfg-eth0")
    out["ifcfg_parsed"] = outcome(lambda: sorted(ifcfg.parse(second).get(k) or "" for k in ("DEVICE", "IPADDR1", "PREFIX1", "NAME")))
    out["ifcfg_injected"] = outcome(ifcfg.render_secondary, "DEVICE=eth0\nIPADDR1=$(reboot)\n", "198.51.100.12/24", True)
    out["ifupdown"] = outcome(ifupdown.render, None, "eth0", "198.51.100.12/24")
    out["networkd"] = outcome(networkd.render, "[Match]\nName=eth0\n\n[Network]\nAddress=198.51.100.2/24\n", "198.51.100.13/24")
    for name, fn, arg in (("ifname_ok", values.ifname, "eth0"), ("ifname_long", values.ifname, "x" * 16),
                          ("ifname_slash", values.ifname, "a/b"), ("label", values.label, "eth0:0"),
                          ("address_bad", values.address, "198.51.100.300"), ("address_v6", values.address, "2001:db8::1"),
                          ("one_line", lambda v: values.one_line(v, "line"), "a\u2028b"), ("mac", values.mac, "02:00:00:00:00:01")):
        out["values_" + name] = outcome(fn, arg)
    out["parse_netmask"] = outcome(sv.parse_address, "198.51.100.10", "255.255.255.0")
    out["parse_cidr6"] = outcome(sv.parse_address, "2001:db8::10/64")
    out["parse_bad"] = outcome(sv.parse_address, "198.51.100.10/33")
    out["label"] = outcome(sv.parse_label, "eth0", "1")
    out["label_bad"] = outcome(sv.parse_label, "eth0", "eth1:1")
    params = {"interface": "eth0", "address": "198.51.100.10/24", "label": "0", "persist": ["rc_local", "ifcfg"], "announce": "3"}
    out["clean"] = outcome(sv.clean_params, params, "alias")
    out["clean_bad"] = outcome(sv.clean_params, {"interface": "eth0", "address": "x", "persist": ["networkd"]}, "alias")
    out["garp"] = outcome(announce.garp_frame, "02:00:00:00:00:01", "198.51.100.10")
    out["na"] = outcome(announce.na_frame, "02:00:00:00:00:01", "2001:db8::10")
    out["safe_repr"] = inet.safe_repr("a\x00b\u2028" + "c" * 100, 20)
    out["record_eq"] = sv.FileChange("/x", None, "y") == sv.FileChange("/x", None, "y", 0o644, False)
    return out


def netlink(iface, root):
    sv = load("static_vip")
    addresses = load("addresses")
    if not addresses.HAS_PYROUTE2:
        return {"error": "pyroute2 missing: %s" % addresses.PYROUTE2_IMPORT_ERROR}
    params = {"interface": iface, "label": "0", "address": "198.51.100.10/24", "state": "present",
              "persist": ["rc_local", "ifcfg"], "announce": 1, "backup": False, "force": False, "hwaddr": False,
              "rc_local_path": os.path.join(root, "rc.local"), "ifcfg_dir": root}
    steps = {}
    for step, state, check in (("check", "present", True), ("apply", "present", False), ("again", "present", False),
                               ("remove", "absent", False)):
        result, diff, warnings = sv.execute(dict(params, state=state), "alias", check_mode=check)
        steps[step] = {"changed": result.get("changed"), "files": sorted(os.path.basename(f) for f in result.get("files", [])),
                       "addresses": sorted(a.cidr for a in addresses.list_addresses(iface) if a.family == 4),
                       "warnings": list(warnings)}
    steps["rc_local"] = open(params["rc_local_path"]).read()
    steps["pyroute2"] = sys.modules["pyroute2"].__dict__.get("__version__", "?") if "pyroute2" in sys.modules else "?"
    return steps


def main(argv):
    result = pure() if argv[0] == "pure" else netlink(argv[1], argv[2])
    result["python"] = "%d.%d" % sys.version_info[:2]
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
