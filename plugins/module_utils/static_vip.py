# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply a static VIP (vip_alias / vip_secondary).

Order of work, so a failure never leaves a host half-configured:
1. read everything and compute the whole plan (runtime action + every file's before/after),
   validating all input and every path; nothing is written until the plan is complete;
2. write the changed files atomically (rolled back if step 3 fails);
3. change the runtime addresses over netlink;
4. announce (GARP / unsolicited NA).
check mode stops after step 1 and reports what steps 2-3 would change.

Every option is checked by type first (clean_params): text options must be text (numbers are
accepted as their text) without control characters or line separators, booleans booleans, the
persistence paths text. Values then reach files only through the persistence writers, which check
and quote them again themselves (rc.local words go through shlex.quote). Every failure is
VipError, addresses.AddressError or atomic.PersistError, and run_module turns anything else into a
fail_json message too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import os
import re
from typing import Dict, List, Optional

from . import addresses
from .record import Record
from . import announce as announcer
from .inet import IFNAMSIZ, LABEL_SUFFIX_RE, ifname_error, is_ascii, safe_repr
from .persist import atomic, ifcfg, ifupdown, networkd, rc_local, values
from .persist import host_route
from .persist.host_route import HostRoute

ALIAS_PERSIST = ("rc_local", "ifcfg")
SECONDARY_PERSIST = ("rc_local", "ifcfg", "ifupdown", "networkd")
STATES = ("present", "absent")
MAX_ANNOUNCE = 100
COMMON_TEXT = ("interface", "address", "netmask", "broadcast", "state")
COMMON_PATHS = ("rc_local_path", "ifcfg_dir")
COMMON_BOOLS = ("backup", "force")
OPTIONS = {
    "alias": {"text": COMMON_TEXT + ("label", "gateway"), "paths": COMMON_PATHS, "bools": COMMON_BOOLS + ("hwaddr",)},
    "secondary": {"text": COMMON_TEXT + ("networkd_file",), "paths": COMMON_PATHS + ("interfaces_d_dir", "networkd_dir"),
                  "bools": COMMON_BOOLS},
}
DIGITS = re.compile(r"\A[0-9]{1,9}\Z")  # bounded: int() of a huge digit string raises


class VipError(Exception):
    """Bad input or an impossible request; nothing has been changed."""


class FileChange(Record):
    """path; before and after (text, None = absent); mode for a new file; create_dir."""
    FIELDS = ("path", "before", "after", "mode", "create_dir")
    DEFAULTS = {"mode": 0o644, "create_dir": False}

    @property
    def changed(self) -> bool:
        return self.before != self.after


class Plan(Record):
    """kind ("alias" | "secondary"), interface, iface (an ipaddress interface), label, broadcast, state,
    action (add | change | remove | none), current and targets (addresses.Addr: this IP already on the
    interface), files (FileChange), warnings, route (vip_secondary `route`: a static routed VIP's HostRoute for
    the BGP speaker, or None) and route_action (add | remove | none)."""
    FIELDS = ("kind", "interface", "iface", "label", "broadcast", "state", "action", "current", "targets", "files", "warnings",
              "route", "route_action")
    DEFAULTS = {"files": list, "warnings": list, "route": None, "route_action": "none"}

    @property
    def cidr(self) -> str:
        return self.iface.with_prefixlen

    @property
    def changed_files(self) -> List[FileChange]:
        return [f for f in self.files if f.changed]

    @property
    def changed(self) -> bool:
        return self.action != "none" or self.route_action != "none" or bool(self.changed_files)


# ---- input parsing (pure) -------------------------------------------------------------------

def _text(name, value):
    """A text option: None, text without control characters or line separators, or a number as text."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise VipError("%s must be a string, not %s" % (name, type(value).__name__))
    char = values.unsafe_char(value)
    if char is not None:
        raise VipError("%s %s holds a control character or line separator (%s)" % (name, safe_repr(value), safe_repr(char)))
    return value


def clean_params(params, kind: str) -> Dict:
    """The options of vip_<kind> checked by type; raises VipError naming the option."""
    if kind not in OPTIONS:
        raise VipError("unknown kind %s" % safe_repr(kind))
    if not isinstance(params, dict):
        raise VipError("parameters must be a mapping, not %s" % type(params).__name__)
    spec = OPTIONS[kind]
    known = set(spec["text"]) | set(spec["paths"]) | set(spec["bools"]) | {"persist", "announce"} | (
        {"route"} if kind == "secondary" else set())
    for key, value in params.items():
        if key not in known and value is not None and not (isinstance(key, str) and key.startswith("_ansible")):
            raise VipError("%s is not an option of vip_%s" % (safe_repr(key), kind))
    out = {}
    for name in spec["text"]:
        out[name] = _text(name, params.get(name))
    for name in spec["paths"]:
        out[name] = _text(name, params.get(name))
        if out[name] is not None and "\0" in out[name]:
            raise VipError("%s %s holds a NUL character" % (name, safe_repr(out[name])))
    for name in spec["bools"]:
        value = params.get(name)
        if value is not None and not isinstance(value, bool):
            raise VipError("%s must be a boolean, not %s" % (name, type(value).__name__))
        out[name] = bool(value)
    out["state"] = out["state"] or "present"
    if out["state"] not in STATES:
        raise VipError("state %s is not one of %s" % (safe_repr(out["state"]), ", ".join(STATES)))
    persist = params.get("persist")
    if persist is None:
        persist = []
    if not isinstance(persist, (list, tuple)):
        raise VipError("persist must be a list, not %s" % type(persist).__name__)
    allowed = ALIAS_PERSIST if kind == "alias" else SECONDARY_PERSIST
    for backend in persist:
        if not isinstance(backend, str) or backend not in allowed:
            raise VipError("persist %s is not one of %s" % (safe_repr(backend), ", ".join(allowed)))
    out["persist"] = list(persist)
    announce = params.get("announce", 3)
    if announce is None:
        announce = 0
    if isinstance(announce, str) and DIGITS.match(announce.strip()):
        announce = int(announce.strip())
    if isinstance(announce, bool) or not isinstance(announce, int) or not 0 <= announce <= MAX_ANNOUNCE:
        raise VipError("announce must be a whole number from 0 to %d, not %s" % (MAX_ANNOUNCE, safe_repr(announce)))
    out["announce"] = announce
    out["route"] = _route_option(params.get("route")) if kind == "secondary" else None
    return out


def _route_option(value) -> Optional[Dict]:
    """vip_secondary `route`: None, or {protocol (default 201), metric} checked by type."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise VipError("route must be a mapping (protocol, metric), not %s" % type(value).__name__)
    for key in value:
        if key not in ("protocol", "metric"):
            raise VipError("route: %s is not an option (protocol, metric)" % safe_repr(key))
    out = {"protocol": value.get("protocol", 201), "metric": value.get("metric")}
    if out["protocol"] is None:
        out["protocol"] = 201
    for key in ("protocol", "metric"):
        if isinstance(out[key], str) and DIGITS.match(out[key].strip()):
            out[key] = int(out[key].strip())
    return out


def parse_address(address, netmask=None, family=None, need_prefix=True):
    """`A.B.C.D/len`, `A.B.C.D/mask`, or `A.B.C.D` + netmask (dotted or a length) -> ip_interface.

    need_prefix=False (state absent: the address is matched by IP alone) allows a bare address.
    """
    text = _text("address", address)
    text = (text or "").strip()
    if not text:
        raise VipError("address is required")
    ip_part, prefix_part = (text.split("/", 1) + [""])[:2]
    try:
        ip = values.address(ip_part)
    except atomic.PersistError:
        raise VipError("malformed address %s: %s is not an IPv4 or IPv6 address (no zone index)"
                       % (safe_repr(text), safe_repr(ip_part)))
    if family and ip.version != family:
        raise VipError("address %s is not IPv%d" % (safe_repr(text), family))
    if ip.is_multicast or ip.is_unspecified:
        raise VipError("address %s is not a unicast address" % safe_repr(text))
    iface = None
    if prefix_part:
        iface = _with_prefix(ip, prefix_part)
        if iface is None:
            raise VipError("malformed address %s: bad prefix length or netmask %s" % (safe_repr(text), safe_repr(prefix_part)))
    netmask = _text("netmask", netmask)
    if netmask not in (None, ""):
        mask = netmask.strip()
        mask = mask[1:] if mask.startswith("/") else mask
        if ip.version == 6 and not DIGITS.match(mask):
            raise VipError("malformed netmask %s: IPv6 takes a prefix length" % safe_repr(netmask))
        from_mask = _with_prefix(ip, mask)
        if from_mask is None:
            raise VipError("malformed netmask %s" % safe_repr(netmask))
        if iface is not None and iface.network.prefixlen != from_mask.network.prefixlen:
            raise VipError("address %s and netmask %s disagree (/%d vs /%d)"
                           % (safe_repr(text), safe_repr(netmask), iface.network.prefixlen, from_mask.network.prefixlen))
        iface = from_mask
    if iface is None and not need_prefix:
        iface = ipaddress.ip_interface(str(ip))
    if iface is None:
        raise VipError("address %s needs a prefix length (A.B.C.D/len) or a netmask" % safe_repr(text))
    return iface


def _with_prefix(ip, prefix_text: str):
    """ip_interface of ip with a prefix length or a dotted netmask (ASCII, no spaces), or None."""
    if not prefix_text or not is_ascii(prefix_text) or prefix_text != prefix_text.strip() or "%" in prefix_text:
        return None
    try:
        return ipaddress.ip_interface("%s/%s" % (ip, prefix_text))
    except ValueError:
        return None


def parse_label(interface: str, label) -> str:
    """`eth0:0` as given, or an index n -> `<interface>:<n>`; at most 15 characters."""
    text = _text("label", label)
    text = (text or "").strip()
    if DIGITS.match(text):
        text = "%s:%s" % (interface, int(text))
    if not text.startswith(interface + ":") or not LABEL_SUFFIX_RE.match(text[len(interface) + 1:]):
        raise VipError("label %s must be '%s:<suffix>' (start with the interface name) or an index"
                       % (safe_repr(text), interface))
    if len(text) > IFNAMSIZ - 1:
        raise VipError("label %s is %d characters long; the kernel allows at most %d"
                       % (safe_repr(text), len(text), IFNAMSIZ - 1))
    return text


def parse_broadcast(iface, broadcast) -> Optional[str]:
    """Given broadcast, or the subnet's broadcast address (none for /31 and /32, none for IPv6)."""
    broadcast = _text("broadcast", broadcast)
    if broadcast is not None:
        broadcast = broadcast.strip()
    if iface.version == 6:
        if broadcast:
            raise VipError("broadcast does not apply to IPv6 addresses")
        return None
    if broadcast:
        try:
            return str(values.address(broadcast, 4, "broadcast"))
        except atomic.PersistError:
            raise VipError("malformed broadcast address %s" % safe_repr(broadcast))
    if iface.network.prefixlen >= 31:
        return None
    return str(iface.network.broadcast_address)


def format_addr(a) -> str:
    text = a.cidr
    if a.broadcast:
        text += " brd %s" % a.broadcast
    if a.family == 4 and a.label and a.label != a.ifname:
        text += " label %s" % a.label
    return text


def _sort_key(a):
    return (a.family, int(ipaddress.ip_address(a.address)), a.prefixlen)


# ---- planning (reads only) ------------------------------------------------------------------

def _read(path):
    return atomic.read_text(path)


def _alias_files(params, plan, interface, ip):
    """ifcfg-<label> for the alias, plus removal of any other alias file holding the same IP."""
    directory = params.get("ifcfg_dir") or "/etc/sysconfig/network-scripts"
    out = []
    wanted = ifcfg.path_for(directory, plan.label) if plan.state == "present" else None
    if wanted:
        before = _read(wanted)
        if before is not None:
            ifcfg.parse(before, wanted)  # malformed -> error before anything changes
        hw = addresses.link_mac(interface) if params.get("hwaddr") else None
        wanted_values = ifcfg.alias_values(plan.label, plan.cidr, gateway=params.get("gateway"), hwaddr=hw)
        out.append(FileChange(wanted, before, ifcfg.render_alias(before, wanted_values, wanted), ifcfg.NEW_FILE_MODE))
    if plan.state == "absent" and plan.label:
        candidates = [ifcfg.path_for(directory, plan.label)]
    else:
        candidates = sorted(glob.glob(os.path.join(glob.escape(directory), "ifcfg-%s:*" % glob.escape(interface))))
    for path in candidates:
        if path == wanted or path.endswith("~") or path.endswith(".bak"):
            continue
        before = _read(path)
        if before is None:
            continue
        doc = ifcfg.parse(before, path)
        if (doc.get("IPADDR") or "").strip() == ip:
            out.append(FileChange(path, before, ifcfg.render_alias(before, None, path)))
    return out


def _file_plan(params, plan) -> List[FileChange]:
    present = plan.state == "present"
    interface = plan.interface
    ip = str(plan.iface.ip)
    files = []
    for backend in params.get("persist") or []:
        if backend == "rc_local":
            path = params.get("rc_local_path") or "/etc/rc.local"
            before = _read(path)
            body = [rc_local.command(interface, plan.cidr, plan.label, plan.broadcast)] if present else None
            if body and plan.route is not None:
                body.append(plan.route.rc_local_line())
            files.append(FileChange(path, before, rc_local.render(before, interface, plan.cidr, body, path),
                                    rc_local.NEW_FILE_MODE))
        elif backend == "ifcfg" and plan.kind == "alias":
            files.extend(_alias_files(params, plan, interface, ip))
        elif backend == "ifcfg":
            path = ifcfg.path_for(params.get("ifcfg_dir") or "/etc/sysconfig/network-scripts", interface)
            before = _read(path)
            files.append(FileChange(path, before, ifcfg.render_secondary(before, plan.cidr, present, path)))
            if plan.route is not None:
                route_path = plan.route.route_file_path(params.get("ifcfg_dir") or "/etc/sysconfig/network-scripts")
                route_before = _read(route_path)
                files.append(FileChange(route_path, route_before, host_route.render_route_file(route_before, plan.route, present)))
        elif backend == "ifupdown":
            path = ifupdown.path_for(params.get("interfaces_d_dir") or "/etc/network/interfaces.d", interface, plan.cidr)
            before = _read(path)
            extra = plan.route.ifupdown_lines() if plan.route is not None else ()
            files.append(FileChange(path, before, ifupdown.render(before, interface, plan.cidr if present else None, extra),
                                    ifupdown.NEW_FILE_MODE))
        elif backend == "networkd":
            directory = params.get("networkd_dir") or "/etc/systemd/network"
            try:
                network_file = networkd.find_network_file(directory, interface, params.get("networkd_file"))
            except atomic.PersistError:
                if present:
                    raise
                continue  # no .network file for this interface: no drop-in of ours to remove
            if present and _read(network_file) is None:
                raise atomic.PersistError("%s does not exist: networkd would ignore a drop-in for it" % network_file)
            path = networkd.path_for(network_file, plan.cidr)
            before = _read(path)
            extra = plan.route.networkd_section() if plan.route is not None else ""
            files.append(FileChange(path, before, networkd.render(before, plan.cidr if present else None, extra),
                                    networkd.NEW_FILE_MODE, create_dir=True))
        else:
            raise VipError("unknown persistence back end %s for vip_%s" % (safe_repr(backend), plan.kind))
    for change in files:
        if change.changed:
            atomic.check_writable(change.path, create_dir=change.create_dir)
    return files


def make_plan(params: Dict, kind: str) -> Plan:
    """Validate params and compute the full plan without changing anything.

    Raises VipError, addresses.AddressError or atomic.PersistError with a readable message.
    """
    params = clean_params(params, kind)
    interface = (params.get("interface") or "").strip()
    problem = ifname_error(interface)
    if problem:
        raise VipError("interface: " + problem)
    state = params["state"]
    iface = parse_address(params.get("address"), params.get("netmask"), family=4 if kind == "alias" else None,
                          need_prefix=state == "present")
    label = None
    if kind == "alias":
        if params.get("label") not in (None, ""):
            label = parse_label(interface, params["label"])
        elif state == "present":
            raise VipError("label is required for an alias (e.g. %s:0 or 0)" % interface)
    broadcast = parse_broadcast(iface, params.get("broadcast"))
    if kind == "alias" and (params.get("gateway") or "").strip():
        try:
            params["gateway"] = str(values.address(params["gateway"].strip(), 4, "gateway"))
        except atomic.PersistError as exc:
            raise VipError(str(exc))
    addresses.link_index(interface)  # "interface X not found"

    ip = str(iface.ip)
    current = sorted(addresses.list_addresses(interface), key=_sort_key)
    targets = [a for a in current if a.address == ip]
    warnings = []
    if state == "present":
        elsewhere = sorted(set(a.ifname for a in addresses.find_address(ip) if a.ifname != interface))
        if elsewhere and not params.get("force"):
            raise VipError("address %s is already on %s; set force: true to add it to %s anyway"
                           % (ip, ", ".join(elsewhere), interface))
        if elsewhere:
            warnings.append("address %s is also on %s (force: true)" % (ip, ", ".join(elsewhere)))
        want_label = label or interface
        if not targets:
            action = "add"
        elif len(targets) == 1 and targets[0].prefixlen == iface.network.prefixlen and (
                iface.version == 6 or ((targets[0].label or interface) == want_label and targets[0].broadcast == broadcast)):
            action = "none"
        else:
            action = "change"
    else:
        action = "remove" if targets else "none"

    plan = Plan(kind, interface, iface, label, broadcast, state, action, current, targets, warnings=warnings)
    if params.get("route") is not None:
        try:
            plan.route = HostRoute(interface, iface.with_prefixlen, params["route"]["protocol"], params["route"]["metric"])
        except atomic.PersistError as exc:
            raise VipError(str(exc))
        there = _route_op("route_present", plan.route)
        plan.route_action = ("add" if not there or action != "none" else "none") if state == "present" else ("remove" if there else "none")
    plan.files = _file_plan(params, plan)
    return plan


def _route_op(op: str, route: HostRoute):
    """route_present / add_route / delete_route of the host route, through the vipd engine's netlink code. Imported
    here, only for vip_secondary's `route`: the engine needs Python 3.8+, the rest of this file runs on 3.6."""
    try:
        from .vrrp import routes as vrrp_routes
        from .vrrp.config_routes import RouteSpec
    except (ImportError, SyntaxError) as exc:
        raise VipError("route needs Python 3.8 or later on the managed host (%s)" % exc)
    spec = RouteSpec(family=route.family, dst=route.dst, dev=route.ifname, protocol=route.protocol, metric=route.metric,
                     scope=254 if route.scope == "host" else 253, no_track=True)
    try:
        return getattr(vrrp_routes, op)(spec)
    except vrrp_routes.RouteError as exc:
        raise VipError(str(exc))


def predicted_addresses(plan: Plan) -> List[addresses.Addr]:
    """The interface's addresses once the plan is applied."""
    after = [a for a in plan.current if a not in plan.targets] if plan.action != "none" else list(plan.current)
    if plan.state == "present" and plan.action != "none":
        after.append(addresses.Addr(
            ifname=plan.interface, index=plan.current[0].index if plan.current else 0, family=plan.iface.version,
            address=str(plan.iface.ip), prefixlen=plan.iface.network.prefixlen,
            label=(plan.label or plan.interface) if plan.iface.version == 4 else None,
            broadcast=plan.broadcast, scope=0, secondary=False))
    return sorted(after, key=_sort_key)


# ---- applying -------------------------------------------------------------------------------

def _apply_runtime(plan: Plan) -> None:
    kwargs = dict(label=plan.label, broadcast=plan.broadcast, nodad=plan.iface.version == 6)
    if plan.route_action == "remove":  # the network stops sending here before the address goes
        _route_op("delete_route", plan.route)
    if plan.action in ("change", "remove"):
        for old in plan.targets:
            addresses.delete_address(plan.interface, old.cidr)
    if plan.action in ("add", "change"):
        addresses.add_address(plan.interface, plan.cidr, **kwargs)
    if plan.route_action == "add":  # announced once the address answers
        _route_op("add_route", plan.route)


def _write(change: FileChange, backup: bool) -> Optional[str]:
    try:
        if change.after is None:
            return atomic.remove_file(change.path, backup=backup)
        return atomic.write_text(change.path, change.after, mode=change.mode, backup=backup, create_dir=change.create_dir)
    except (OSError, ValueError) as exc:
        raise atomic.PersistError("cannot write %s: %s" % (safe_repr(change.path, 200), getattr(exc, "strerror", None) or exc))


def apply(plan: Plan, announce_count: int = 3, backup: bool = False, sender=None) -> Dict:
    """Write files, change the runtime, announce. Files are restored if the runtime change fails."""
    backups, written = [], []
    try:
        for change in plan.changed_files:
            made = _write(change, backup)
            written.append(change)
            if made:
                backups.append(made)
        _apply_runtime(plan)
    except Exception:
        for change in reversed(written):
            try:
                _write(FileChange(change.path, change.after, change.before, change.mode), False)
            except Exception:  # keep the original error; the rollback is best effort
                pass
        raise
    announced = 0
    if plan.state == "present" and plan.action in ("add", "change") and announce_count > 0 and plan.route is None:
        if addresses.link_is_up(plan.interface):
            announced = (sender or announcer.announce)(plan.interface, str(plan.iface.ip), count=announce_count)
        else:
            plan.warnings.append("%s is down: no announcement sent" % plan.interface)
    return {"backups": backups, "announced": announced}


def diff_of(plan: Plan, after_addrs) -> List[Dict]:
    diffs = [{
        "before_header": "addresses on %s" % plan.interface,
        "after_header": "addresses on %s" % plan.interface,
        "before": "".join(format_addr(a) + "\n" for a in plan.current),
        "after": "".join(format_addr(a) + "\n" for a in after_addrs),
    }]
    if plan.route_action != "none":
        line = plan.route.command("add") + "\n"
        diffs.append({"before_header": "routes", "after_header": "routes",
                      "before": line if plan.route_action == "remove" else "", "after": line if plan.route_action == "add" else ""})
    for change in plan.changed_files:
        diffs.append({"before_header": change.path if change.before is not None else "%s (absent)" % change.path,
                      "after_header": change.path if change.after is not None else "%s (absent)" % change.path,
                      "before": change.before or "", "after": change.after or ""})
    return diffs


def result_of(plan: Plan, after_addrs, backups=None, announced=0) -> Dict:
    return {
        "changed": plan.changed,
        "interface": plan.interface,
        "address": plan.cidr,
        "label": plan.label,
        "action": plan.action,
        "addresses_before": [a.cidr for a in plan.current],
        "addresses_after": [a.cidr for a in after_addrs],
        "files": [c.path for c in plan.changed_files],
        "backups": backups or [],
        "announced": announced,
        "route": plan.route.command("add") if plan.route is not None else None,
        "route_action": plan.route_action,
    }


def execute(params: Dict, kind: str, check_mode: bool = False, sender=None):
    """Plan, then (unless check_mode) apply. Returns (result, diff, warnings)."""
    plan = make_plan(params, kind)
    if check_mode:
        after = predicted_addresses(plan)
        return result_of(plan, after), diff_of(plan, after), plan.warnings
    clean = clean_params(params, kind)
    done = apply(plan, clean["announce"], clean["backup"], sender=sender)
    after = sorted(addresses.list_addresses(plan.interface), key=_sort_key)
    return result_of(plan, after, done["backups"], done["announced"]), diff_of(plan, after), plan.warnings


def _message(exc) -> str:
    """An error's text with any control character or line separator escaped."""
    text = str(exc)
    if values.unsafe_char(text) is None:
        return text
    return "".join(safe_repr(c)[1:-1] if values.unsafe_char(c) else c for c in text)


def run_module(module, kind: str) -> None:
    """AnsibleModule glue shared by vip_alias and vip_secondary."""
    from ansible.module_utils.basic import missing_required_lib

    if not addresses.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=str(addresses.PYROUTE2_IMPORT_ERROR))
    try:
        result, diff, warnings = execute(module.params, kind, check_mode=module.check_mode)
    except (VipError, addresses.AddressError, atomic.PersistError) as exc:
        module.fail_json(msg=_message(exc), changed=False)
    except Exception as exc:  # pylint: disable=broad-except  # an unexpected failure still reports cleanly
        module.fail_json(msg="unexpected error (%s): %s" % (type(exc).__name__, _message(exc)), changed=False)
    for warning in warnings:
        module.warn(_message(warning))
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)
