# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's state dumps, written by vipd on keepalived's signals (see daemon.Daemon.install_signal_handlers).

- SIGUSR1: $TMPDIR/keepalived.data, keepalived 2.2.7's vrrp_print_data() layout (vrrp_data.c dump_vrrp);
- SIGUSR2: $TMPDIR/keepalived.stats, vrrp_print_stats() (vrrp_print.c), and SIGRTMAX-1 the same then clears them;
- SIGRTMIN+2: $TMPDIR/keepalived.json, vrrp_print_json() (vrrp_json.c): one object {"data": ..., "stats": ...}
  per instance, compact, the same keys in the same order, floats as C's %g (so Go's json decodes `garp_delay`
  into an int as keepalived-exporter does).

TMPDIR is used only when it is an absolute path, else /tmp (keepalived lib/utils.c). Files are written
atomically, mode 0600. Never a password: keepalived prints auth_pass in .data ("Password = ") and .json
("auth_data"); vipd leaves both out (docs/vipd.md lists the fields vipd cannot or will not fill).
Pure text from the daemon's objects (duck-typed): unit-testable without sockets.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import json
import os
import time
from typing import Dict, List, Optional

from .. import inet
from . import config
from . import packet
from . import supervisor

KA_TMP_DIR = "/tmp"
# keepalived vrrp.h VRRP_STATE_*; "STOPPED" is keepalived's VRRP_STATE_STOP.
STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOPPED": 98}
AUTH_NUMBERS = {None: 0, "": 0, "PASS": 1, "AH": 2}
# keepalived's vrrp_stats fields <- vipd's counters / drop reasons (daemon.InstanceRuntime.counters, packet.PacketError)
STATS_FIELDS = (
    ("advert_rcvd", "counter", "adverts_in"),
    ("advert_sent", "counter", "adverts_out"),
    ("become_master", "counter", "became_master"),
    ("release_master", "counter", "released_master"),
    ("packet_len_err", "drop", "length"),
    ("advert_interval_err", "drop", "interval"),
    ("ip_ttl_err", "drop", "ttl"),
    ("invalid_type_rcvd", "drop", "type"),
    ("addr_list_err", "drop", ("addr_count", "addr_list", "cast")),
    ("invalid_authtype", "drop", "auth_type_invalid"),
    ("authtype_mismatch", "drop", "auth_type"),
    ("auth_failure", "drop", "auth"),
    ("pri_zero_rcvd", "counter", "priority_zero_in"),
    ("pri_zero_sent", "counter", "priority_zero_out"),
)


class _Raw:
    """A number already formatted as keepalived's printf does (json_writer.c jsonw_float: %g)."""

    def __init__(self, text: str):
        self.text = text


def dump_dir() -> str:
    """keepalived's tmp_dir: $TMPDIR when it is absolute, else /tmp."""
    value = os.environ.get("TMPDIR") or ""
    return value if value.startswith("/") else KA_TMP_DIR


def write_dump(name: str, text: str) -> str:
    """Write text to dump_dir()/name atomically (temp file in the same directory, 0600, renamed over)."""
    import tempfile  # on the first dump only: tempfile (random, shutil) is about 0.9 MB of RSS (issue 11)
    directory = dump_dir()
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        path = os.path.join(directory, name)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# ---- helpers over the daemon's objects ----------------------------------------------------------------------

def _state(r) -> str:
    state = r.state
    return getattr(state, "value", None) or str(state)


def runtimes(d) -> list:
    return list(d.instances.values()) + list(getattr(d, "retiring", []) or [])


def _epoch(d, monotonic: Optional[float]) -> Optional[float]:
    if monotonic is None or getattr(d, "loop", None) is None:
        return None
    return time.time() - (d.now() - monotonic)


def _last_transition(d, r) -> Optional[float]:
    last = r.last_transition
    return _epoch(d, last.get("monotonic")) if last else None


def _ctime_us(when: float) -> str:
    """keepalived's ctime_us_r(): 'Tue Dec  1 05:28:29.790517 2026'."""
    text = time.ctime(when)
    return "%s.%06d%s" % (text[:19], int(round((when % 1) * 1e6)) % 1000000, text[19:])


def _accept(cfg) -> bool:
    """keepalived: accept unless no_accept, or strict mode without an explicit accept."""
    accept = getattr(cfg, "accept", None)
    return bool(accept) if accept is not None else not getattr(cfg, "strict_mode", False)


def _base_priority(r) -> int:
    m = r.machine
    return int(m.base_priority if m is not None else r.cfg.priority)


def _effective_priority(r) -> int:
    m = r.machine
    return int(m.effective_priority if m is not None else r.cfg.priority)


def _configured_int(r) -> float:
    m = r.machine
    return float(getattr(m, "_configured_int", None) or r.cfg.advert_int)


def _master_int(r) -> float:
    m = r.machine
    return float(m.advert_int if m is not None else r.cfg.advert_int)


def _preempt(r) -> bool:
    m = r.machine
    return bool(m.preempt) if m is not None else not r.cfg.nopreempt


def _preempt_delay(r) -> float:
    m = r.machine
    return float(m.preempt_delay if m is not None else (r.cfg.preempt_delay or 0))


def vip_text(r, spec, held: bool) -> str:
    """keepalived's format_ipaddress(): 'A/len [brd B] dev IF scope S [label L] [flags]
    [deprecated | preferred_lft N|forever] [set]'."""
    out = spec.cidr
    if spec.brd and ":" not in spec.cidr:
        out += " brd %s" % spec.brd
    out += " dev %s scope %s" % (r.vip_dev(spec), spec.scope or "global")
    if spec.label:
        out += " label %s" % spec.label
    out += "".join(" " + w for w in spec.option_words())
    if ":" in spec.cidr:
        lft = spec.effective_preferred_lft()
        out += " preferred_lft forever" if lft is None else (" deprecated" if lft == 0 else " preferred_lft %d" % lft)
    if held:
        out += " set"
    return out


def cmd_str(command: Optional[str]) -> Optional[str]:
    """keepalived's cmd_str(): every word of the command in single quotes, the program as its real path.

    A word that is not printable (a C escape such as \\n in the config) is written as its escaped repr, so a
    dump never gets a line the configuration did not ask for."""
    if not command:
        return None
    try:
        argv = config.split_command(command)
    except ValueError:
        argv = [command]
    if not argv:
        return None
    program = argv[0]
    if "/" in program and os.path.exists(program):
        program = os.path.realpath(program)
    words = [program] + list(argv[1:])
    out = []
    for i, word in enumerate(words):
        if not word.isprintable():
            out.append(inet.safe_repr(word, 4096))  # Python's repr: quoted, every control character escaped
        elif i == 0 and word[:1] in ("<", ">"):
            out.append(word)
        else:
            out.append("'%s'" % word)
    return " ".join(out)


def _routes(cfg, key) -> List[str]:
    specs = (getattr(cfg, "extensions", None) or {}).get(key) or []
    return [spec.render() for spec in specs if hasattr(spec, "render")]


def stats_of(r) -> Dict[str, int]:
    """keepalived's vrrp_stats for one instance, less what a SIGRTMAX-1 dump cleared (r.dump_baseline)."""
    base = getattr(r, "dump_baseline", None) or {}
    out = {}
    for key, kind, name in STATS_FIELDS:
        source = r.counters if kind == "counter" else r.drops
        names = name if isinstance(name, tuple) else (name,)
        out[key] = max(0, sum(int(source.get(n, 0)) for n in names) - int(base.get(key, 0)))
    return out


def clear_stats(r) -> None:
    """SIGRTMAX-1 (keepalived's STATS_CLEAR): the dumps count from zero again; vipd's status counters do not."""
    base = dict(getattr(r, "dump_baseline", None) or {})
    for key, value in stats_of(r).items():
        base[key] = base.get(key, 0) + value
    r.dump_baseline = base


# ---- keepalived.data ----------------------------------------------------------------------------------------

def data_text(d) -> str:
    lines = ["------< Global definitions >------"]
    g = getattr(d.cfg, "global_defs", None)
    if g is not None:
        lines.append(" Router ID = %s" % (g.router_id or os.uname()[1]))
        lines.append(" VRRP notify priority changes = %s" % ("true" if getattr(g, "vrrp_notify_priority_changes", False) else "false"))
        lines.append(" VRRP IPv4 mcast group = %s" % (getattr(g, "vrrp_mcast_group4", None) or packet.MCAST_GROUP4))
        lines.append(" VRRP IPv6 mcast group = %s" % (getattr(g, "vrrp_mcast_group6", None) or packet.MCAST_GROUP6))
        lines.append(" Gratuitous ARP delay = %d" % g.vrrp_garp_master_delay)
        lines.append(" Gratuitous ARP repeat = %d" % g.vrrp_garp_master_repeat)
        lines.append(" Gratuitous ARP refresh timer = %d" % g.vrrp_garp_master_refresh)
        lines.append(" Gratuitous ARP refresh repeat = %d" % g.vrrp_garp_master_refresh_repeat)
        lines.append(" Gratuitous ARP lower priority delay = %d" % (
            g.vrrp_garp_master_delay if g.vrrp_garp_lower_prio_delay is None else g.vrrp_garp_lower_prio_delay))
        lines.append(" Gratuitous ARP lower priority repeat = %d" % (
            g.vrrp_garp_master_repeat if g.vrrp_garp_lower_prio_repeat is None else g.vrrp_garp_lower_prio_repeat))
        lines.append(" Send advert after receive lower priority advert = %s" % ("false" if g.vrrp_lower_prio_no_advert else "true"))
        lines.append(" Send advert after receive higher priority advert = %s" % ("true" if g.vrrp_higher_prio_send_advert else "false"))
        lines.append(" Gratuitous ARP interval = %f" % float(g.vrrp_garp_interval or 0))
        lines.append(" VRRP default protocol version = %d" % g.vrrp_version)
        lines.append(" VRRP strict mode = %s" % ("true" if getattr(g, "vrrp_strict", False) else "false"))
        lines.append(" Script security %s" % ("enabled" if g.enable_script_security else "disabled"))
    static = [spec for spec in ((getattr(d.cfg, "extensions", None) or {}).get("static_ipaddress") or []) if hasattr(spec, "cidr")]
    if static:
        lines.append("------< Static Addresses >------")
        lines.extend("     %s dev %s scope %s" % (s.cidr, s.dev or "", s.scope or "global") for s in static)
    for key, title in (("static_routes", "Static Routes"), ("static_rules", "Static Rules")):
        items = _routes(d.cfg, key)
        if items:
            lines.append("------< %s >------" % title)
            lines.extend("     %s" % text for text in items)
    rts = runtimes(d)
    if rts:
        lines.append("------< VRRP Topology >------")
    for r in rts:
        lines.extend(instance_lines(d, r))
    groups = getattr(d.cfg, "sync_groups", None) or {}
    if groups:
        lines.append("------< VRRP Sync groups >------")
        for group in groups.values():
            lines.append(" VRRP Sync Group = %s, %s" % (group.name, supervisor.group_state(group, d.views())))
            members = [r for r in rts if r.name in group.instances]
            lines.append("   Num member fault %d, num member init %d" % (
                sum(1 for r in members if _state(r) == "FAULT"), sum(1 for r in members if _state(r) == "INIT")))
            lines.append("   VRRP member instances :")
            lines.extend("     %s" % name for name in group.instances)
    scripts = getattr(d.cfg, "scripts", None) or {}
    if scripts:
        lines.append("------< VRRP Scripts >------")
        for script in scripts.values():
            lines.extend(_script_lines(d, script, rts))
    files = getattr(d.cfg, "track_files", None) or {}
    if files:
        lines.append("------< VRRP Track files >------")
        values = getattr(d.health, "files", None) or {}
        for tf in files.values():
            lines.append(" Track file = %s" % tf.name)
            lines.append("   File = %s" % tf.file)
            lines.append("   Status = %d" % int(values.get(tf.name, 0) or 0))
            lines.append("   Weight = %d%s" % (tf.weight, " reverse" if tf.weight_reverse else ""))
            lines.append("   Tracking instances :")
            lines.extend("     %s, weight %s" % (r.name, _tracked_weight(r.cfg.track_files, tf.name, tf.weight))
                         for r in rts if any(pair[0] == tf.name for pair in r.cfg.track_files))
    return "\n".join(lines) + "\n"


def _tracked_weight(pairs, name, default) -> str:
    for n, w in pairs:
        if n == name:
            return str(default if w is None else w)
    return str(default)


def _script_lines(d, script, rts) -> List[str]:
    runner = (getattr(d.health, "runners", None) or {}).get(script.name)
    state = getattr(runner, "state", None)
    result = int(getattr(state, "result", 0) or 0)
    rise = int(getattr(state, "rise", script.rise) or script.rise)
    timeout = script.timeout if script.timeout is not None else script.interval
    out = [" VRRP Script = %s" % script.name,
           "   Command = %s" % cmd_str(script.script),
           "   Interval = %d sec" % int(script.interval),
           "   Timeout = %d sec" % int(timeout),
           "   Weight = %d%s" % (script.weight, " reverse" if script.weight_reverse else ""),
           "   Rise = %d" % script.rise,
           "   Fall = %d" % script.fall,
           "   Result = %d" % result,
           "   Init state = %s" % ("INIT" if runner is None or runner.status is None else "INIT/FAILED" if script.init_fail else "INIT"),
           "   Status = %s" % ("GOOD" if runner is not None and runner.status and result >= rise else "BAD"),
           "   VRRP instances :"]
    out.extend("     %s, weight %s" % (r.name, _tracked_weight(r.cfg.track_scripts, script.name, script.weight))
               for r in rts if any(pair[0] == script.name for pair in r.cfg.track_scripts))
    out.append("   State = %s" % "idle")
    return out


def instance_lines(d, r) -> List[str]:
    cfg, m = r.cfg, r.machine
    state = _state(r)
    out = [" VRRP Instance = %s" % r.name, "   VRRP Version = %d" % cfg.version]
    group = d.cfg.sync_group_of(r.name) if d.cfg is not None and hasattr(d.cfg, "sync_group_of") else None
    if group is not None:
        out.append("   Sync group = %s" % group.name)
    if r.family == 6:
        out.append("   Using Native IPv6")
    out.append("   State = %s" % state)
    if state == "BACKUP" and m is not None:
        out.append("   Master router = %s" % (m.master_ip or "(none)"))
        out.append("   Master priority = %d" % (m.master_priority or 0))
        if cfg.version == 3:
            out.append("   Master advert int = %.2f sec" % _master_int(r))
    out.append("   Flags:" if r.unicast else "   Flags: none")
    if r.unicast:
        out.append("     Using unicast")
    out.append("   Wantstate = %s" % state)
    out.append("   Number of config faults = 0")
    out.append("   Number of interface and track script faults = %d" % len(r.fault_causes))
    when = _last_transition(d, r)
    if when is not None:
        out.append("   Last transition = %.6f (%s)" % (when, _ctime_us(when)))
    else:
        out.append("   Last transition = 0.000000 (never)")
    out.append("   Interface = %s" % r.ifname)
    if getattr(cfg, "dont_track_primary", False):
        out.append("   VRRP interface tracking disabled")
    if getattr(cfg, "strict_mode", False):
        out.append("   Enforcing strict VRRP compliance")
    src_cfg = cfg.unicast_src_ip or getattr(cfg, "mcast_src_ip", None)
    out.append("   Using src_ip = %s%s" % (r.src_ip or "(none)", " (from configuration)" if src_cfg else ""))
    if not r.unicast:
        out.append("   Multicast address %s" % (packet.MCAST_GROUP4 if r.family == 4 else packet.MCAST_GROUP6))
    out.append("   Gratuitous ARP delay = %d" % cfg.garp_master_delay)
    out.append("   Gratuitous ARP repeat = %d" % cfg.garp_master_repeat)
    out.append("   Gratuitous ARP refresh = %d" % cfg.garp_master_refresh)
    out.append("   Gratuitous ARP refresh repeat = %d" % cfg.garp_master_refresh_repeat)
    out.append("   Gratuitous ARP lower priority delay = %d" % getattr(cfg, "garp_lower_prio_delay", 5))
    out.append("   Gratuitous ARP lower priority repeat = %d" % getattr(cfg, "garp_lower_prio_repeat", 5))
    out.append("   Send advert after receive lower priority advert = %s" % ("false" if getattr(cfg, "lower_prio_no_advert", False) else "true"))
    out.append("   Send advert after receive higher priority advert = %s" % ("true" if getattr(cfg, "higher_prio_send_advert", False) else "false"))
    out.append("   Virtual Router ID = %d" % cfg.vrid)
    out.append("   Priority = %d" % _base_priority(r))
    out.append("   Effective priority = %d" % _effective_priority(r))
    out.append("   Total priority = %d" % _effective_priority(r))
    interval = _configured_int(r)
    out.append("   Advert interval = %d sec" % interval if cfg.version == 2 else "   Advert interval = %d milli-sec" % round(interval * 1000))
    if state == "BACKUP" and cfg.version == 3 and m is not None:
        out.append("   Master advert interval = %d milli-sec" % round(_master_int(r) * 1000))
    out.append("   Accept = %s" % ("enabled" if _accept(cfg) else "disabled"))
    out.append("   Preempt = %s" % ("enabled" if _preempt(r) else "disabled"))
    delay = _preempt_delay(r)
    if delay:
        out.append("   Preempt delay = %g secs" % delay)
    out.append("   Promote_secondaries = disabled")
    if cfg.auth_type:
        # keepalived prints "Password = <auth_pass>" next; vipd never writes it anywhere.
        out.append("   Authentication type = %s" % ("IPSEC_AH" if cfg.auth_type == "AH" else "SIMPLE_PASSWORD"))
    elif cfg.version == 2:
        out.append("   Authentication type = none")
    held = set(r.vips_held)
    if cfg.vips:
        out.append("   Virtual IP (%d):" % len(cfg.vips))
        out.extend("     %s" % vip_text(r, s, s.cidr in held) for s in cfg.vips)
    if cfg.excluded_vips:
        out.append("   Virtual IP Excluded :")
        out.extend("     %s" % vip_text(r, s, s.cidr in held) for s in cfg.excluded_vips)
    if r.unicast:
        out.append("   Unicast Peer :")
        out.extend("     %s" % peer for peer in cfg.unicast_peers)
    for key, title in (("virtual_routes", "Virtual Routes"), ("virtual_rules", "Virtual Rules")):
        items = _routes(cfg, key)
        if items:
            out.append("   %s :" % title)
            out.extend("     %s" % text for text in items)
    if cfg.track_interfaces:
        out.append("   Tracked interfaces :")
        out.extend("     %s weight %d" % (name, weight or 0) for name, weight in cfg.track_interfaces)
    if cfg.track_scripts:
        out.append("   Tracked scripts :")
        scripts = getattr(d.cfg, "scripts", None) or {}
        out.extend("     %s weight %s" % (name, _tracked_weight(cfg.track_scripts, name, getattr(scripts.get(name), "weight", 0)))
                   for name in (pair[0] for pair in cfg.track_scripts))
    if cfg.track_files:
        out.append("   Tracked files :")
        files = getattr(d.cfg, "track_files", None) or {}
        out.extend("     %s, weight %s" % (name, _tracked_weight(cfg.track_files, name, getattr(files.get(name), "weight", 1)))
                   for name in (pair[0] for pair in cfg.track_files))
    out.append("   Using smtp notification = %s" % ("yes" if cfg.smtp_alert else "no"))
    out.append("   Notify deleted = Fault")
    for attr, title in (("notify_backup", "Backup"), ("notify_master", "Master"), ("notify_fault", "Fault"), ("notify_stop", "Stop"),
                        ("notify", "Generic"), ("notify_master_rx_lower_pri", "Master rx lower pri")):
        command = getattr(cfg, attr, None)
        if command:
            out.append("   %s state transition script = %s" % (title, cmd_str(command)))
    out.append("   Notify priority changes = %s" % ("true" if getattr(cfg, "notify_priority_changes", None) else "false"))
    out.append("   VIPs held = %s" % (", ".join(r.vips_held) or "none"))
    return out


# ---- keepalived.stats ---------------------------------------------------------------------------------------

def stats_text(d, clear: bool = False) -> str:
    lines = []
    for r in runtimes(d):
        s = stats_of(r)
        lines += [
            "VRRP Instance: %s" % r.name,
            "  Advertisements:",
            "    Received: %d" % s["advert_rcvd"],
            "    Sent: %d" % s["advert_sent"],
            "  Became master: %d" % s["become_master"],
            "  Released master: %d" % s["release_master"],
            "  Packet Errors:",
            "    Length: %d" % s["packet_len_err"],
            "    TTL: %d" % s["ip_ttl_err"],
            "    Invalid Type: %d" % s["invalid_type_rcvd"],
            "    Advertisement Interval: %d" % s["advert_interval_err"],
            "    Address List: %d" % s["addr_list_err"],
            "  Authentication Errors:",
            "    Invalid Type: %d" % s["invalid_authtype"],
            "    Type Mismatch: %d" % s["authtype_mismatch"],
            "    Failure: %d" % s["auth_failure"],
            "  Priority Zero:",
            "    Received: %d" % s["pri_zero_rcvd"],
            "    Sent: %d" % s["pri_zero_sent"],
        ]
        if clear:
            clear_stats(r)
    return "\n".join(lines) + ("\n" if lines else "")


# ---- keepalived.json ----------------------------------------------------------------------------------------

def _g(value: float) -> _Raw:
    return _Raw("%g" % value)


def instance_json(d, r) -> list:
    """[(key, value)] of keepalived's vrrp_json_data_dump(), in its order; values None are left out as keepalived does."""
    cfg, m = r.cfg, r.machine
    state = STATE_NUMBERS.get(_state(r), 0)
    when = _last_transition(d, r)
    held = set(r.vips_held)
    scripts = getattr(d.cfg, "scripts", None) or {}
    data = [
        ("iname", r.name),
        ("dont_track_primary", int(bool(getattr(cfg, "dont_track_primary", False)))),
        ("skip_check_adv_addr", int(bool(getattr(cfg, "skip_check_adv_addr", False)))),
        ("strict_mode", int(bool(getattr(cfg, "strict_mode", False)))),
        ("vmac_ifname", str(getattr(r, "vmac_ifname", None) or getattr(cfg, "vmac_ifname", None) or "")),
        ("ifp_ifname", r.ifname),
        ("master_priority", int((m.master_priority or 0) if m is not None and state == 1 else 0)),
        ("last_transition", _Raw("%f" % (when or 0.0))),
        ("garp_delay", _g(cfg.garp_master_delay)),
        ("garp_refresh", int(cfg.garp_master_refresh)),
        ("garp_rep", int(cfg.garp_master_repeat)),
        ("garp_refresh_rep", int(cfg.garp_master_refresh_repeat)),
        ("garp_lower_prio_delay", int(getattr(cfg, "garp_lower_prio_delay", 5))),
        ("garp_lower_prio_rep", int(getattr(cfg, "garp_lower_prio_repeat", 5))),
        ("lower_prio_no_advert", int(bool(getattr(cfg, "lower_prio_no_advert", False)))),
        ("higher_prio_send_advert", int(bool(getattr(cfg, "higher_prio_send_advert", False)))),
        ("vrid", int(cfg.vrid)),
        ("base_priority", _base_priority(r)),
        ("effective_priority", _effective_priority(r)),
        ("vipset", bool(held)),
        ("promote_secondaries", False),
        ("adver_int", _g(_configured_int(r))),
        ("master_adver_int", _g(_master_int(r))),
        ("accept", int(_accept(cfg))),
        ("nopreempt", not _preempt(r)),
        ("preempt_delay", int(_preempt_delay(r))),
        ("state", state),
        ("wantstate", state),
        ("version", int(cfg.version)),
        ("smtp_alert", bool(cfg.smtp_alert)),
        ("notify_deleted", bool(getattr(cfg, "notify_deleted", False))),
        ("script_backup", cmd_str(cfg.notify_backup)),
        ("script_master", cmd_str(cfg.notify_master)),
        ("script_fault", cmd_str(cfg.notify_fault)),
        ("script_stop", cmd_str(cfg.notify_stop)),
        ("script", cmd_str(cfg.notify)),
        ("script_master_rx_lower_pri", cmd_str(getattr(cfg, "notify_master_rx_lower_pri", None))),
        ("vips", [vip_text(r, s, s.cidr in held) for s in cfg.vips] or None),
        ("evips", [vip_text(r, s, s.cidr in held) for s in cfg.excluded_vips] or None),
        ("vroutes", _routes(cfg, "virtual_routes") or None),
        ("vrules", _routes(cfg, "virtual_rules") or None),
        ("track_ifp", [pair[0] for pair in cfg.track_interfaces] or None),
        ("track_script", [cmd_str(getattr(scripts.get(pair[0]), "script", None)) or pair[0] for pair in cfg.track_scripts] or None),
        ("auth_type", AUTH_NUMBERS.get(cfg.auth_type, 0)),
        # keepalived writes "auth_data": the password; vipd never does.
    ]
    return [(k, v) for k, v in data if v is not None]


def _encode(value) -> str:
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join("%s:%s" % (json.dumps(str(k)), _encode(v)) for k, v in value.items()) + "}"
    # ensure_ascii: any character outside printable ASCII is a \u escape, so no raw control character or line
    # separator ever reaches a reader (keepalived's own writer leaves most of them raw).
    return json.dumps(str(value), ensure_ascii=True)


def json_text(d) -> Optional[str]:
    """keepalived.json's text, or None when there is no instance (keepalived then writes nothing)."""
    rts = runtimes(d)
    if not rts:
        return None
    items = []
    for r in rts:
        data = "{" + ",".join("%s:%s" % (json.dumps(k), _encode(v)) for k, v in instance_json(d, r)) + "}"
        stats = "{" + ",".join("%s:%d" % (json.dumps(k), v) for k, v in stats_of(r).items()) + "}"
        items.append('{"data":%s,"stats":%s}' % (data, stats))
    return "[" + ",".join(items) + "]\n"


__all__ = ["cmd_str", "dump_dir", "write_dump", "data_text", "stats_text", "json_text", "stats_of", "clear_stats", "vip_text",
           "instance_json", "STATE_NUMBERS", "KA_TMP_DIR"]
