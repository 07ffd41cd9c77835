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
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from .version import VERSION

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOPPED")
TRACKER_STATUSES = ("ok", "failed", "unknown")
Labels = Tuple[Tuple[str, str], ...]
Samples = List[Tuple[Labels, object]]  # (labels after an instance's own, value)


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
    value text, rendered when added (issue 11: label tuples kept until the end made a scrape peak higher)."""

    def __init__(self, name: str, kind: str, help_text: str):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples: Dict[str, str] = {}  # label text -> value text, in the order added

    def add(self, labels: Labels, value) -> None:
        self.add_text(label_text(labels), value)

    def add_text(self, text: str, value) -> None:
        """A sample whose labels are already label_text()."""
        if value is not None and text not in self.samples:
            self.samples[text] = format_value(value)

    def text(self) -> str:
        """HELP, TYPE and every sample, as the format writes them."""
        name = self.name
        return "# HELP %s %s\n# TYPE %s %s\n%s" % (name, escape_help(self.help), name, self.kind, "".join(
            "%s{%s} %s\n" % (name, labels, value) if labels else "%s %s\n" % (name, value) for labels, value in self.samples.items()))


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

    def texts(self) -> Iterator[str]:
        """Each family's text in turn; its samples are let go once it is made (the registry is used once)."""
        for fam in self.families.values():
            text = fam.text()
            fam.samples = {}
            yield text


def label_text(labels: Labels) -> str:
    return ",".join('%s="%s"' % (k, escape_label_value(v)) for k, v in labels)


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


# What an instance adds to a family: (labels after the instance's own, value) pairs, from its status, its counters
# and the loop clock. One function per family, so the exposition is made family by family over all instances
# (issue 11): a scrape holds one family's samples at a time, not every family's of every instance.
def _states(inst: dict, counters: dict, now) -> Samples:
    state = str(inst.get("state", ""))
    return [((("state", name),), 1 if name == state else 0) for name in (STATES if state in STATES or not state else STATES + (state,))]


def _counter(key: str) -> Callable[[dict, dict, object], Samples]:
    return lambda inst, counters, now: [((), _int(counters.get(key)))]


def _drops(inst: dict, counters: dict, now) -> Samples:
    drops = counters.get("drops") or {}
    return [((("reason", str(reason)),), _int(drops[reason])) for reason in sorted(drops, key=str)]


def _transitions(inst: dict, counters: dict, now) -> Samples:
    pairs = counters.get("transitions_by") or {}
    out = []
    for pair in sorted(pairs, key=str):
        old, _sep, new = str(pair).partition("->")
        out.append(((("from", old), ("to", new)), _int(pairs[pair])))
    return out


def _since_transition(inst: dict, counters: dict, now) -> Samples:
    last = inst.get("last_transition") or {}
    if now is None or not isinstance(last.get("monotonic"), (int, float)):
        return []
    return [((), max(0.0, float(now) - float(last["monotonic"])))]


def _conflict_counts(inst: dict, counters: dict, now) -> Samples:
    return [((("source", str(item.get("source", ""))),), _int(item.get("count"))) for item in inst.get("conflicts") or []]


def _conflict_info(inst: dict, counters: dict, now) -> Samples:
    return [((("source", str(item.get("source", ""))), ("differs", ",".join(str(d) for d in item.get("differs") or []))), 1)
            for item in inst.get("conflicts") or []]


INSTANCE_FAMILIES: Tuple[Tuple[str, str, str, Callable[[dict, dict, object], Samples]], ...] = (
    ("vipd_instance_state", "gauge", "1 for the state the instance is in (INIT, BACKUP, MASTER, FAULT, STOPPED), 0 for the others", _states),
    ("vipd_instance_priority", "gauge", "Configured priority", lambda inst, counters, now: [((), _int(inst.get("priority")))]),
    ("vipd_instance_effective_priority", "gauge", "Priority after tracking weights (what the adverts carry)",
     lambda inst, counters, now: [((), _int(inst.get("effective_priority", inst.get("priority"))))]),
    ("vipd_instance_master_info", "gauge", "1, with the address of the current master as a label (empty when unknown)",
     lambda inst, counters, now: [((("master", str(inst.get("master") or "")),), 1)]),
    ("vipd_instance_vips_held", "gauge", "VIPs this host holds now for the instance",
     lambda inst, counters, now: [((), len(inst.get("vips_held") or []))]),
    ("vipd_instance_adverts_sent_total", "counter", "Adverts sent", _counter("adverts_out")),
    ("vipd_instance_adverts_received_total", "counter", "Adverts received and accepted", _counter("adverts_in")),
    ("vipd_instance_garps_sent_total", "counter", "Gratuitous ARPs and unsolicited neighbour advertisements sent", _counter("garps_sent")),
    ("vipd_instance_send_errors_total", "counter", "Adverts that could not be sent", _counter("send_errors")),
    ("vipd_instance_priority_zero_received_total", "counter", "Priority-0 (resigning master) adverts received", _counter("priority_zero_in")),
    ("vipd_instance_priority_zero_sent_total", "counter", "Priority-0 adverts sent (resignations)", _counter("priority_zero_out")),
    ("vipd_instance_advert_drops_total", "counter", "Received adverts dropped, by reason", _drops),
    ("vipd_instance_transitions_total", "counter", "State transitions, by old and new state", _transitions),
    ("vipd_instance_seconds_since_last_transition", "gauge", "Seconds since the instance last changed state", _since_transition),
    ("vipd_vrid_conflict_sources", "gauge", "Sources whose adverts for this VRID differ from our configuration (seen in the last 5 minutes)",
     lambda inst, counters, now: [((), len(inst.get("conflicts") or []))]),
    ("vipd_vrid_conflict_adverts_total", "counter", "Adverts for this VRID whose VIPs, interval, version or authentication differ from ours",
     _counter("conflicts")),
    ("vipd_vrid_conflicts_total", "counter", "Conflicting adverts per source (while the source is listed)", _conflict_counts),
    ("vipd_vrid_conflict_info", "gauge", "1 per conflicting source, with what differs (vips, interval, version, authentication)", _conflict_info),
)


def _instance_texts(instances: list, now) -> Iterator[str]:
    """The per-instance families, each over every instance (none without an instance)."""
    if not instances:
        return
    rows = [(inst, label_text(instance_labels(inst)), inst.get("counters") or {}) for inst in instances]
    for name, kind, help_text, samples in INSTANCE_FAMILIES:
        fam = Family(name, kind, help_text)
        for inst, base, counters in rows:
            for extra, value in samples(inst, counters, now):
                fam.add_text(base + "," + label_text(extra) if extra else base, value)
        yield fam.text()


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


def chunks(status: dict, now: Optional[float] = None, build: Optional[Dict[str, str]] = None) -> Iterator[str]:
    """The exposition text for a daemon status dict, family by family (a scrape of 200 instances never holds the whole
    text as samples, issue 11); `now` is the loop clock (time.monotonic) of the status."""
    head = Registry()
    info = build if build is not None else build_info()
    head.add("vipd_build_info", "gauge", "1, with vipd's version and the Python running it as labels",
             (("version", str(info.get("version", ""))), ("python", str(info.get("python", "")))), 1)
    reloads = status.get("reloads") or {}
    for result in ("ok", "failed"):
        head.add("vipd_reloads_total", "counter", "Configuration reloads (SIGHUP or `vipd reload`), by result",
                 (("result", result),), _int(reloads.get(result)))
    head.add("vipd_instances", "gauge", "Configured VRRP instances", (), len(status.get("instances") or []))
    fam = head.family("vipd_interface_drops_total", "counter",
                      "Adverts dropped before reaching an instance (e.g. a VRID not configured here), by interface and reason")
    drops = status.get("interface_drops") or {}
    for ifname in sorted(drops, key=str):
        for reason in sorted(drops[ifname] or {}, key=str):
            fam.add((("interface", str(ifname)), ("reason", str(reason))), _int(drops[ifname][reason]))
    yield from head.texts()
    yield from _instance_texts(status.get("instances") or [], now)
    tail = Registry()
    _trackers(tail, status.get("health") or {})
    yield from tail.texts()


def render(status: dict, now: Optional[float] = None, build: Optional[Dict[str, str]] = None) -> str:
    """The whole exposition text (chunks() joined)."""
    return "".join(chunks(status, now, build))


def names(text: str) -> Iterable[str]:
    """The metric names of `text` (its TYPE lines), for tests and docs."""
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            yield line.split()[2]


__all__ = ["CONTENT_TYPE", "STATES", "render", "chunks", "label_text", "INSTANCE_FAMILIES", "escape_label_value", "escape_help",
           "format_value", "build_info", "names", "instance_labels", "Registry", "Family"]
