# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's trackers: check runners, link events, track files, processes.

daemon.py calls: open(loop), configure(cfg, script_user) (start and every reload), attach(runtime) when an
instance starts (returns its first tracking.Evaluation), instance_status()/status() for `vipd status`,
close() at exit. Notifications (notify, fifo, mail) are notifications.py's. Each source of change (a check
flips, a link moves, a file changes) re-evaluates only the instances watching it and feeds the result to
InstanceRuntime.apply_tracking(); what it means (priority, FAULT, held INIT, sync groups) is supervisor.py's to decide.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import logging
import os
from typing import Dict, List, Optional

from . import check_runner, config_checks
from . import sync_tracking
from . import track_process
from . import tracking

LOG = logging.getLogger("vipd")
FILE_POLL = 1.0  # track_file: keepalived uses inotify; a 1 s poll of a tiny file is as good here


class Health:
    def __init__(self, daemon):
        self.daemon = daemon
        self.loop = None
        self.cfg = None
        self.runners: Dict[str, check_runner.CheckRunner] = {}
        self.links: Optional[tracking.LinkMonitor] = None
        self.files: Dict[str, int] = {}
        self.file_task: Optional[asyncio.Task] = None
        self.processes: Optional[track_process.ProcessScanner] = None

    # ---- life cycle ----------------------------------------------------------------------------------

    def open(self, loop) -> None:
        self.loop = loop
        try:
            self.links = tracking.LinkMonitor(self.on_link, self.on_link_index, self.daemon.link_deleted,
                                              self.daemon.link_address_changed)
            self.links.open(loop)
        except OSError as exc:
            LOG.error("link monitor unavailable (interface tracking off): %s", exc)
            self.links = None

    def configure(self, cfg, script_user) -> None:
        """script_user: keepalived's default script user (user, group), notifications.Notifications.default_user."""
        self.cfg = cfg
        builtins = config_checks.builtins_of(cfg)
        wanted = set(name for inst in cfg.instances.values() for name, _w in inst.track_scripts)
        wanted.update(name for grp in cfg.sync_groups.values() for name, _w in grp.track_scripts)
        for name in list(self.runners):
            runner = self.runners[name]
            if name not in wanted or runner.script != cfg.scripts.get(name) or runner.builtin != builtins.get(name):
                runner.stop()
                del self.runners[name]
        for name in sorted(wanted):
            if name not in self.runners and name in cfg.scripts:
                # keepalived's default script user (script_user, else keepalived_script if it exists, else root)
                runner = check_runner.CheckRunner(cfg.scripts[name], builtins.get(name), self.on_check, user=script_user[0] or "root",
                                                  group=script_user[1])
                self.runners[name] = runner
                runner.start(self.loop)
        for tf in cfg.track_files.values():
            _init_file(tf)
        self.files = dict((name, tracking.read_track_file(tf.file)) for name, tf in cfg.track_files.items())
        if cfg.track_files and self.file_task is None:
            self.file_task = self.loop.create_task(self._poll_files())
        self._configure_processes(cfg)

    def _configure_processes(self, cfg) -> None:
        """vrrp_track_process: one scanner for the processes some instance tracks; rebuilt when they change."""
        wanted_names = set(name for owner in list(cfg.instances.values()) + list(cfg.sync_groups.values())
                           for name, _w, _r in track_process.tracked_by(owner))
        specs = dict((n, tp) for n, tp in track_process.processes_of(cfg).items() if n in wanted_names)
        if self.processes is not None and self.processes.specs == specs:
            return
        if self.processes is not None:
            self.processes.close()
            self.processes = None
        if specs:
            self.processes = track_process.ProcessScanner(specs, self.on_process)
            self.processes.start(self.loop)

    def reattach(self, names: List[str]) -> None:
        """Instances kept across a reload: rebuild their tracking from the new config."""
        for name in names:
            runtime = self.daemon.instances.get(name)
            if runtime is not None and runtime.machine is not None:
                self.attach(runtime)
                runtime.apply_tracking(runtime.tracking.evaluate())

    def close(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        self.runners = {}
        if self.file_task is not None:
            self.file_task.cancel()
            self.file_task = None
        if self.processes is not None:
            self.processes.close()
            self.processes = None
        if self.links is not None:
            self.links.close()
            self.links = None

    # ---- building an instance's tracking ------------------------------------------------------------

    def attach(self, runtime):
        cfg = runtime.cfg
        t = tracking.InstanceTracking(cfg.priority)
        # the instance's own tracking and its sync group's (keepalived sync_group_tracking_init())
        interfaces, scripts, files, processes = sync_tracking.members_tracking(self.cfg, cfg)
        for name, weight in scripts:
            script = self.cfg.scripts.get(name)
            if script is None:
                continue
            runner = self.runners.get(name)
            t.add("script", name, script.weight if weight is None else weight, script.weight_reverse,
                  runner.status if runner else None)
        for ifname, weight in interfaces:
            t.add("interface", ifname, weight or 0, False, self.link_state(ifname))
        if not cfg.dont_track_primary:
            t.add("own_interface", cfg.interface, 0, False, self.link_state(cfg.interface))
        for name, weight in files:
            tf = self.cfg.track_files.get(name)
            if tf is not None:
                t.add("file", name, tf.weight if weight is None else weight, tf.weight_reverse, self.files.get(name, 0))
        for name, weight, reverse in processes:
            t.add("process", name, weight, reverse, self.processes.have_quorum(name) if self.processes is not None else None)
        runtime.tracking = t
        return t.evaluate()

    def link_state(self, ifname: str) -> Optional[bool]:
        return self.links.is_up(ifname) if self.links is not None else None

    # ---- sources of change ---------------------------------------------------------------------------

    def _update(self, kinds, name, value) -> None:
        for runtime in list(self.daemon.instances.values()):
            if runtime.tracking is None:
                continue
            changed = False
            for kind in kinds:
                changed = runtime.tracking.update(kind, name, value) or changed
            if changed:
                runtime.apply_tracking(runtime.tracking.evaluate())

    def on_check(self, name: str, ok: bool, detail: str) -> None:
        LOG.info("check %s %s (%s)", name, "succeeded" if ok else "failed", detail)
        self._update(("script",), name, ok)

    def on_link(self, ifname: str, up: bool) -> None:
        LOG.info("link %s is %s", ifname, "up" if up else "down")
        index = self.links.index.get(ifname) if up and self.links is not None else None
        if index is not None:  # a socket that could not be opened on the link while it was down is tried again
            self.daemon.link_indexed(ifname, index)
        self._update(("interface", "own_interface"), ifname, up)

    def on_link_index(self, ifname: str, index: int) -> None:
        self.daemon.link_indexed(ifname, index)

    def on_process(self, name: str, have_quorum: bool) -> None:
        self._update(("process",), name, have_quorum)

    async def _poll_files(self) -> None:
        while True:
            await asyncio.sleep(FILE_POLL)
            for name, tf in list(self.cfg.track_files.items()):
                value = tracking.read_track_file(tf.file)
                if value != self.files.get(name):
                    LOG.info("track_file %s (%s) now %d", name, tf.file, value)
                    self.files[name] = value
                    self._update(("file",), name, value)

    # ---- status --------------------------------------------------------------------------------------

    def instance_status(self, runtime) -> list:
        t = runtime.tracking
        if t is None:
            return []
        out = []
        for item in t.items.values():
            effect = tracking.effect_of(item) if not (item.kind == "script" and item.value is None and item.weight == 0) else "pending"
            out.append({"kind": item.kind, "name": item.name, "weight": item.weight, "reverse": item.reverse,
                        "value": item.value, "effect": effect})
        return out

    def status(self) -> dict:
        return {
            "checks": [r.describe() for r in self.runners.values()],
            "links": dict(self.links.state) if self.links is not None else None,
            "files": dict(self.files),
            "processes": self.processes.describe() if self.processes is not None else [],
            "groups": dict(self.daemon.supervisor.group_states),
        }


def _init_file(tf) -> None:
    """keepalived init_file: create the file with the value (0 by default), or overwrite it when asked."""
    if tf.init_file is None:
        return
    if os.path.exists(tf.file) and not tf.init_overwrite:
        return
    try:
        with open(tf.file, "w") as handle:
            handle.write("%d\n" % tf.init_file)
    except OSError as exc:
        LOG.error("track_file %s: cannot write %s: %s", tf.name, tf.file, exc)
