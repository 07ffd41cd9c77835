# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's metrics in the Prometheus text exposition format 0.0.4, rendered from the daemon's status (pure).

The input is what the control socket answers (daemon.Daemon.status(): the counters vipd keeps anyway), plus the
loop clock for "seconds since the last transition"; the output is the body of `GET /metrics` (metrics_http.py).
Every name starts with `vipd_`; counters end in `_total`; a state is one series per possible value with 0 or 1.
Label values are escaped as the format says (backslash, double quote, line feed), so any instance, script or
interface name gives a well-formed exposition; a series whose labels repeat one already written is left out (the
format forbids duplicates). The metric list is in docs/operations.md ("Metrics").
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import math
import sys
from typing import Dict, Iterable, List, Optional, Tuple

from .version import VERSION

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOPPED")
TRACKER_STATUSES = ("ok", "failed", "unknown")
Labels = Tuple[Tuple[str, str], ...]


# Control characters the format has no escape for (a carriage return makes some parsers drop the line): U+FFFD.
_CONTROLS = dict((c, 0xFFFD) for c in list(range(0x20)) + [0x7F] if c != 0x0A)


def escape_label_value(value) -> str:
    """A label value as the exposition format writes it between double quotes: backslash, double quote and line feed
    escaped; other control characters, and the undecodable bytes of a name read with surrogate escapes, as U+FFFD
    (the output is always valid UTF-8)."""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.translate(_CONTROLS).replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def escape_help(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


class Family:
    """One metric: its HELP, TYPE and samples; a repeated label set is dropped. A sample is kept as its label text and
    value text, rendered when added: a scrape of 200 instances peaks at 1.5 MB of Python objects, against 2.2 MB with
    the label tuples kept (issue 11)."""

    def __init__(self, name: str, kind: str, help_text: str):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples: Dict[str, str] = {}  # label text -> value text, in the order added

    def add(self, labels: Labels, value) -> None:
        if value is None:
            return
        text = ",".join('%s="%s"' % (k, escape_label_value(v)) for k, v in labels)
        if text not in self.samples:
            self.samples[text] = format_value(value)

    def render(self, out: List[str]) -> None:
        out.append("# HELP %s %s\n" % (self.name, escape_help(self.help)))
        out.append("# TYPE %s %s\n" % (self.name, self.kind))
        name = self.name
        out.append("".join("%s{%s} %s\n" % (name, text, value) if text else "%s %s\n" % (name, value)
                           for text, value in self.samples.items()))


class Registry:
    """The families in the order they are first asked for (a family's samples stay together, as the format wants)."""

    def __init__(self):
        self.families: Dict[str, Family] = {}

    def family(self, name: str, kind: str, help_text: str) -> Family:
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = Family(name, kind, help_text)
        return fam

    def add(self, name: str, kind: str, help_text: str, labels: Labels, value) -> None:
        self.family(name, kind, help_text).add(labels, value)

    def render(self) -> str:
        """The exposition text; each family's samples are let go once rendered (the registry is used once)."""
        out: List[str] = []
        for fam in self.families.values():
            fam.render(out)
            fam.samples = {}
        return "".join(out)


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _family_name(value) -> str:
    return {4: "ipv4", 6: "ipv6"}.get(_int(value, 0), str(value))


def instance_labels(inst: dict) -> Labels:
    return (("instance", str(inst.get("name", ""))), ("interface", str(inst.get("interface", ""))),
            ("vrid", str(inst.get("vrid", ""))), ("family", _family_name(inst.get("family"))))


def _instance(reg: Registry, inst: dict, now: Optional[float]) -> None:
    base = instance_labels(inst)
    counters = inst.get("counters") or {}
    state = str(inst.get("state", ""))
    states = STATES if state in STATES or not state else STATES + (state,)
    for name in states:
        reg.add("vipd_instance_state", "gauge", "1 for the state the instance is in (INIT, BACKUP, MASTER, FAULT, STOPPED), 0 for the others",
                base + (("state", name),), 1 if name == state else 0)
    reg.add("vipd_instance_priority", "gauge", "Configured priority", base, _int(inst.get("priority")))
    reg.add("vipd_instance_effective_priority", "gauge", "Priority after tracking weights (what the adverts carry)", base,
            _int(inst.get("effective_priority", inst.get("priority"))))
    reg.add("vipd_instance_master_info", "gauge", "1, with the address of the current master as a label (empty when unknown)",
            base + (("master", str(inst.get("master") or "")),), 1)
    reg.add("vipd_instance_vips_held", "gauge", "VIPs this host holds now for the instance", base, len(inst.get("vips_held") or []))
    for key, name, text in (("adverts_out", "vipd_instance_adverts_sent_total", "Adverts sent"),
                            ("adverts_in", "vipd_instance_adverts_received_total", "Adverts received and accepted"),
                            ("garps_sent", "vipd_instance_garps_sent_total", "Gratuitous ARPs and unsolicited neighbour advertisements sent"),
                            ("send_errors", "vipd_instance_send_errors_total", "Adverts that could not be sent"),
                            ("priority_zero_in", "vipd_instance_priority_zero_received_total", "Priority-0 (resigning master) adverts received"),
                            ("priority_zero_out", "vipd_instance_priority_zero_sent_total", "Priority-0 adverts sent (resignations)")):
        reg.add(name, "counter", text, base, _int(counters.get(key)))
    drops = counters.get("drops") or {}
    fam = reg.family("vipd_instance_advert_drops_total", "counter", "Received adverts dropped, by reason")
    for reason in sorted(drops, key=str):
        fam.add(base + (("reason", str(reason)),), _int(drops[reason]))
    fam = reg.family("vipd_instance_transitions_total", "counter", "State transitions, by old and new state")
    pairs = counters.get("transitions_by") or {}
    for pair in sorted(pairs, key=str):
        old, _sep, new = str(pair).partition("->")
        fam.add(base + (("from", old), ("to", new)), _int(pairs[pair]))
    last = inst.get("last_transition") or {}
    if now is not None and isinstance(last.get("monotonic"), (int, float)):
        reg.add("vipd_instance_seconds_since_last_transition", "gauge", "Seconds since the instance last changed state", base,
                max(0.0, float(now) - float(last["monotonic"])))
    else:
        reg.family("vipd_instance_seconds_since_last_transition", "gauge", "Seconds since the instance last changed state")
    _conflicts(reg, base, inst, counters)


def _conflicts(reg: Registry, base: Labels, inst: dict, counters: dict) -> None:
    items = inst.get("conflicts") or []
    reg.add("vipd_vrid_conflict_sources", "gauge", "Sources whose adverts for this VRID differ from our configuration (seen in the last 5 minutes)",
            base, len(items))
    reg.add("vipd_vrid_conflict_adverts_total", "counter", "Adverts for this VRID whose VIPs, interval, version or authentication differ from ours",
            base, _int(counters.get("conflicts")))
    count = reg.family("vipd_vrid_conflicts_total", "counter", "Conflicting adverts per source (while the source is listed)")
    info = reg.family("vipd_vrid_conflict_info", "gauge", "1 per conflicting source, with what differs (vips, interval, version, authentication)")
    for item in items:
        source = (("source", str(item.get("source", ""))),)
        count.add(base + source, _int(item.get("count")))
        info.add(base + source + (("differs", ",".join(str(d) for d in item.get("differs") or [])),), 1)


def _trackers(reg: Registry, health: dict) -> None:
    status = reg.family("vipd_tracker_status", "gauge", "1 for the tracker's current status (ok, failed, unknown), 0 for the others")
    runs = reg.family("vipd_tracker_runs_total", "counter", "Runs of a check (vrrp_script or vipd_check)")
    failures = reg.family("vipd_tracker_failures_total", "counter", "Failed runs of a check (vrrp_script or vipd_check)")
    for check in health.get("checks") or []:
        labels = (("kind", "check"), ("name", str(check.get("name", ""))))
        _one_hot(status, labels, str(check.get("status", "unknown")))
        runs.add(labels, _int(check.get("runs")))
        failures.add(labels, _int(check.get("failures")))
    links = health.get("links") or {}
    for name in sorted(links, key=str):
        _one_hot(status, (("kind", "interface"), ("name", str(name))), {True: "ok", False: "failed"}.get(links[name], "unknown"))
    for proc in health.get("processes") or []:
        _one_hot(status, (("kind", "process"), ("name", str(proc.get("name", "")))), "ok" if proc.get("have_quorum") else "failed")
    files = reg.family("vipd_track_file_value", "gauge", "The number read from a track_file")
    for name, value in sorted((health.get("files") or {}).items(), key=lambda kv: str(kv[0])):
        files.add((("name", str(name)),), _int(value))


def _one_hot(fam: Family, labels: Labels, current: str) -> None:
    values = TRACKER_STATUSES if current in TRACKER_STATUSES else TRACKER_STATUSES + (current,)
    for value in values:
        fam.add(labels + (("status", value),), 1 if value == current else 0)


def build_info() -> Dict[str, str]:
    return {"version": VERSION, "python": "%d.%d.%d" % tuple(sys.version_info[:3])}


def render(status: dict, now: Optional[float] = None, build: Optional[Dict[str, str]] = None) -> str:
    """The exposition text for a daemon status dict; `now` is the loop clock (time.monotonic) of the status."""
    reg = Registry()
    info = build if build is not None else build_info()
    reg.add("vipd_build_info", "gauge", "1, with vipd's version and the Python running it as labels",
            (("version", str(info.get("version", ""))), ("python", str(info.get("python", "")))), 1)
    reloads = status.get("reloads") or {}
    for result in ("ok", "failed"):
        reg.add("vipd_reloads_total", "counter", "Configuration reloads (SIGHUP or `vipd reload`), by result",
                (("result", result),), _int(reloads.get(result)))
    reg.add("vipd_instances", "gauge", "Configured VRRP instances", (), len(status.get("instances") or []))
    fam = reg.family("vipd_interface_drops_total", "counter",
                     "Adverts dropped before reaching an instance (e.g. a VRID not configured here), by interface and reason")
    drops = status.get("interface_drops") or {}
    for ifname in sorted(drops, key=str):
        for reason in sorted(drops[ifname] or {}, key=str):
            fam.add((("interface", str(ifname)), ("reason", str(reason))), _int(drops[ifname][reason]))
    for inst in status.get("instances") or []:
        _instance(reg, inst, now)
    _trackers(reg, status.get("health") or {})
    return reg.render()


def names(text: str) -> Iterable[str]:
    """The metric names of `text` (its TYPE lines), for tests and docs."""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            yield line.split()[2]


__all__ = ["CONTENT_TYPE", "STATES", "render", "escape_label_value", "escape_help", "format_value", "build_info", "names",
           "instance_labels", "Registry", "Family"]
