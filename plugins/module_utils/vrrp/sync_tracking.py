# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sync-group tracking: `track_interface`, `track_script`, `track_file`, `track_process` in a vrrp_sync_group.

keepalived 2.2.7 (vrrp.c sync_group_tracking_init(), after vrrp_complete_instance()) adds each object the group
tracks to every member instance, with the group's weight (the weight is kept even without
sync_group_tracking_weight: that keyword is about the members' own tracking). If a member is the address owner
(priority 255) a weighted group object is reported and tracked with weight 0. An object the member already
tracks itself is not added twice: the member's entry takes the group's weight unless it is unweighted (then it
stays a FAULT-only object); for an interface keepalived reports the overlap (`keepalived -t` fails on it).

Two halves: resolve() at parse (a config validator: names, weights, messages) and members_tracking() for the
daemon (the merged per-instance lists that health.attach() tracks).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

from . import config
from . import supervisor
from . import track_process


def _resolve(ctx) -> None:
    cfg = ctx.config
    for group, node, scripts_before, files_before in getattr(ctx, "group_tracks", []):
        k = node.keyword
        if k == "track_process":
            continue  # parsed at once by track_process.py into group.extensions (defined-before checked there)
        members = [cfg.instances[n] for n in group.instances if n in cfg.instances]
        owner = any(m.priority == 255 for m in members)
        shown = ctx.show(node, group.name, True)
        for (name, weight), line in config._tracked(ctx, node, k):  # pylint: disable=protected-access
            if k == "track_script":
                if name not in cfg.scripts:
                    ctx.error(line, "track_script: no vrrp_script %s is defined" % ctx.show(line, name, True))
                    continue
                if name not in scripts_before:
                    ctx.error(line, "vrrp_script %s is defined after vrrp_sync_group %s; keepalived needs it defined first"
                              % (ctx.show(line, name, True), shown))
                    continue
                weight = cfg.scripts[name].weight if weight is None else weight
            elif k == "track_file":
                if name not in cfg.track_files:
                    ctx.error(line, "track_file: no track_file %s is defined" % ctx.show(line, name, True))
                    continue
                if name not in files_before:
                    ctx.error(line, "track_file %s is defined after vrrp_sync_group %s; keepalived needs it defined first"
                              % (ctx.show(line, name, True), shown))
                    continue
                weight = cfg.track_files[name].weight if weight is None else weight
            else:
                weight = weight or 0
            if owner and weight:
                what = {"track_script": "script", "track_file": "file", "track_interface": "interface"}[k]
                ctx.fixup(line, "(%s) Cannot have weighted track %s '%s' with member having priority 255 - setting weight 0 "
                                "(as keepalived)" % (shown, what, ctx.show(line, name, True)))
                weight = 0
            items = getattr(group, k + "s" if k != "track_interface" else "track_interfaces")
            if any(item[0] == name for item in items):
                ctx.error(line, "%s %s is listed twice in vrrp_sync_group %s" % (k, ctx.show(line, name, True), shown))
                continue
            items.append((name, weight))
            if k == "track_interface":
                _interface_overlap(ctx, line, group, members, name)
    for group in cfg.sync_groups.values():
        procs = group.extensions.get(track_process.EXT_KEY) or []
        if procs and any(cfg.instances[n].priority == 255 for n in group.instances if n in cfg.instances):
            for item in procs:
                if item[1]:
                    at = _At(group.source)
                    ctx.fixup(at, "(%s) Cannot have weighted track process '%s' with member having priority 255 - setting weight 0 "
                                  "(as keepalived)" % (ctx.show(at, group.name, True), ctx.show(at, item[0], True)))
                    item[1] = 0


class _At:
    def __init__(self, source):
        self.file, self.line = source


def _interface_overlap(ctx, line, group, members, ifname) -> None:
    """keepalived add_vrrp_to_interface(): an interface a member tracks itself (track_interface, or its own interface
    unless dont_track_primary) and the group tracks too is reported."""
    for inst in members:
        own = inst.interface == ifname and not inst.dont_track_primary
        if own or any(item[0] == ifname for item in inst.track_interfaces):
            ctx.fixup(line, "(%s) track_interface %s is configured on VRRP instance and sync group. Remove vrrp instance or "
                            "sync group config" % (ctx.show(line, inst.name, True), ctx.show(line, ifname, True)))


def _merge(own, group_items):
    """keepalived's rule for an object tracked by the instance and its group: the group's weight unless the
    instance's entry is unweighted (0)."""
    out = list(own)
    for name, weight in group_items:
        for i, (mine, my_weight) in enumerate(out):
            if mine == name:
                if my_weight:
                    out[i] = (name, weight)
                break
        else:
            out.append((name, weight))
    return out


def members_tracking(cfg, inst):
    """(track_interfaces, track_scripts, track_files, track_processes) of `inst` with its sync group's added.

    Weights of the instance's own entries are resolved (None: the script's / file's weight) so that the merge
    compares what keepalived compares.
    """
    scripts = [(n, cfg.scripts[n].weight if w is None and n in cfg.scripts else w) for n, w in inst.track_scripts]
    files = [(n, cfg.track_files[n].weight if w is None and n in cfg.track_files else w) for n, w in inst.track_files]
    interfaces = [(n, w or 0) for n, w in inst.track_interfaces]
    processes = [tuple(item) for item in track_process.tracked_by(inst)]
    group = cfg.sync_group_of(inst.name) if cfg is not None else None
    if group is None:
        return interfaces, scripts, files, processes
    group_ifs = []
    for name, weight in group.track_interfaces:
        if name == inst.interface and not inst.dont_track_primary:
            continue  # the own interface is tracked already (FAULT only), and stays so
        group_ifs.append((name, weight))
    interfaces = _merge(interfaces, group_ifs)
    scripts = _merge(scripts, group.track_scripts)
    files = _merge(files, group.track_files)
    for name, weight, reverse in track_process.tracked_by(group):
        for i, (mine, my_weight, my_reverse) in enumerate(processes):
            if mine == name:
                if my_weight:
                    processes[i] = (name, weight, my_reverse)  # keepalived keeps the instance's multiplier here
                break
        else:
            processes.append((name, weight, reverse))
    return interfaces, scripts, files, processes


def _start_modes(ctx) -> None:
    """keepalived 2.2.7's start rule for sync-group members (supervisor.start_modes()), kept in
    cfg.extensions["sync_start"] (name -> machine start_mode) for supervisor.start_mode()."""
    cfg = ctx.config
    raws = dict((inst.name, raw) for inst, raw in getattr(ctx, "pending_tracks", []))
    modes = {}
    for group in cfg.sync_groups.values():
        names = []
        for name in group.instances:
            if name in cfg.instances and name in raws and name not in names:
                names.append(name)
        if not names:
            continue
        members = [(n, raws[n].state, raws[n].priority, cfg.instances[n].state, cfg.instances[n].priority) for n in names]
        group_modes, mixed = supervisor.start_modes(members)
        if mixed:
            at = _At(group.source)
            ctx.fixup(at, "Sync group %s has some member(s) as address owner and some not as address owner. This won't work."
                      % ctx.show(at, group.name, True))
        modes.update(group_modes)
    if modes:
        cfg.extensions["sync_start"] = modes


config.register_validator(_resolve)
config.register_validator(_start_modes)
