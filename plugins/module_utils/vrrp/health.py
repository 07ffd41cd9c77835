# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daemon's tracking glue: check runners, link events, track files, sync groups, notify and mail.

daemon.py calls: open(loop), configure(cfg) (start and every reload), attach(runtime) when an
instance starts (returns its first tracking.Evaluation), after_start(runtime), on_transition(...)
for every state change, instance_status()/status() for `vipd status`, close() at exit.
Each source of change (a check flips, a link moves, a file changes) re-evaluates only the
instances watching it and hands the result to InstanceRuntime.apply_tracking().
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import logging
import os
from typing import Dict, List, Optional

from . import check_runner, config_checks
from . import machine
from . import mailer
from . import notify
from . import sync_tracking
from . import track_process
from . import tracking

LOG = logging.getLogger("vipd")
FILE_POLL = 1.0  # track_file: keepalived uses inotify; a 1 s poll of a tiny file is as good here
HOOKS = {"MASTER": "notify_master", "BACKUP": "notify_backup", "FAULT": "notify_fault", "STOPPED": "notify_stop"}
S = machine.State


def _name(state) -> str:
    return getattr(state, "name", None) or str(state)


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
        self.notifier: Optional[notify.Notifier] = None
        self.fifos: List[notify.Fifo] = []
        self.default_user = (None, None)
        self.mailer: Optional[mailer.Mailer] = None
        self.group_states: Dict[str, str] = {}
        self._syncing = False

    # ---- life cycle ----------------------------------------------------------------------------------

    def open(self, loop) -> None:
        self.loop = loop
        self.notifier = notify.Notifier(loop)
        try:
            self.links = tracking.LinkMonitor(self.on_link)
            self.links.open(loop)
        except OSError as exc:
            LOG.error("link monitor unavailable (interface tracking off): %s", exc)
            self.links = None

    def configure(self, cfg) -> None:
        self.cfg = cfg
        g = cfg.global_defs
        self.default_user = notify.default_script_user(g)
        self.notifier.user, self.notifier.group = self.default_user
        self._configure_fifos(g)
        if self.mailer is not None:
            self.mailer.close()
        self.mailer = mailer.Mailer(self.loop, g.smtp_server, g.smtp_port, g.smtp_connect_timeout, g.notification_email_from,
                                    g.notification_email, g.router_id, g.smtp_helo_name, g.no_email_faults)
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
                runner = check_runner.CheckRunner(cfg.scripts[name], builtins.get(name), self.on_check, user=self.default_user[0] or "root",
                                                  group=self.default_user[1])
                self.runners[name] = runner
                runner.start(self.loop)
        for tf in cfg.track_files.values():
            _init_file(tf)
        self.files = dict((name, tracking.read_track_file(tf.file)) for name, tf in cfg.track_files.items())
        if cfg.track_files and self.file_task is None:
            self.file_task = self.loop.create_task(self._poll_files())
        self.group_states = dict((name, self.group_states.get(name)) for name in cfg.sync_groups)
        self._configure_processes(cfg)

    def _configure_fifos(self, g) -> None:
        """notify_fifo and vrrp_notify_fifo (keepalived opens both; each gets every VRRP line)."""
        wanted = []
        for key in ("notify_fifo", "vrrp_notify_fifo"):
            words = getattr(g, key, None)
            if words:
                script = getattr(g, key + "_script", None)
                wanted.append(notify.Fifo(words[0], list(words[1:]), script,
                                          notify.hook_user(g, key + "_script", self.default_user) if script else (None, None)))
        if [f.key() for f in wanted] == [f.key() for f in self.fifos]:
            return
        for fifo in self.fifos:
            fifo.close()
        self.fifos = wanted
        for fifo in self.fifos:
            fifo.open(self.loop)

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

    async def close(self, timeout: float = 5.0) -> None:
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
        if self.notifier is not None:
            await self.notifier.drain(timeout)
        for fifo in self.fifos:
            fifo.close()
        self.fifos = []
        if self.mailer is not None:
            self.mailer.close()

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

    def after_start(self, runtime) -> None:
        blocker = self.group_blocker(runtime)
        if blocker and runtime.state != S.FAULT:
            runtime.fault_causes["group"] = blocker
            runtime.held = False
            runtime.fault(blocker)

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
        self._update(("interface", "own_interface"), ifname, up)

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

    # ---- sync groups ---------------------------------------------------------------------------------

    def group_of(self, runtime):
        return self.cfg.sync_group_of(runtime.name) if self.cfg else None

    def members(self, runtime) -> list:
        group = self.cfg.sync_group_of(runtime.name) if self.cfg else None
        if group is None:
            return []
        return [self.daemon.instances[n] for n in group.instances if n != runtime.name and n in self.daemon.instances]

    def group_blocker(self, runtime) -> Optional[str]:
        """Why `runtime` must stay in FAULT for its group: another member has a fault of its own."""
        for other in self.members(runtime):
            own = [r for k, r in other.fault_causes.items() if k != "group"]
            if own:
                return "sync group %s: %s is FAULT (%s)" % (self.cfg.sync_group_of(runtime.name).name, other.name, "; ".join(own))
        return None

    def _sync(self, runtime, old, new) -> None:
        group = self.cfg.sync_group_of(runtime.name) if self.cfg else None
        if group is None or self._syncing or self.daemon.stopping:
            return
        self._syncing = True
        try:
            why = "sync group %s: %s %s -> %s" % (group.name, runtime.name, _name(old), _name(new))
            for other in self.members(runtime):
                if other.machine is None or other.forced_stop:
                    continue
                if new == S.FAULT:
                    other.fault_causes["group"] = why
                    other.held = False
                    if other.state != S.FAULT:
                        other.fault(why)
                elif old == S.FAULT:
                    if other.state == S.FAULT:
                        other.try_recover()
                elif new == S.BACKUP and old == S.MASTER and other.state == S.MASTER and not other.machine.resigning:
                    # keepalived vrrp_sync_backup(): the others leave MASTER with it.
                    other.execute(other.machine.sync_backup(self.daemon.now(), why))
                elif new == S.MASTER and other.state == S.BACKUP:
                    # keepalived vrrp_sync_master(): the others follow it to MASTER.
                    other.execute(other.machine.sync_master(self.daemon.now(), why))
        finally:
            self._syncing = False

    def sync_can_goto_master(self, runtime) -> bool:
        """keepalived 2.2.7 vrrp_sync_can_goto_master(): a member whose down timer ran out goes MASTER only when its
        group is MASTER already or every other member wants MASTER too (its own timer ran out, or it is MASTER);
        otherwise it stays BACKUP wanting MASTER ("prefer backup state to avoid thrashing")."""
        group = self.cfg.sync_group_of(runtime.name) if self.cfg else None
        if group is None or self.group_state(group) == "MASTER":
            return True
        for other in self.members(runtime):
            m = other.machine
            if other.forced_stop:
                continue
            if m is None or not (m.state == S.MASTER or m.wants_master):
                LOG.debug("%s: sync group %s: not going MASTER, %s does not want MASTER (as keepalived)",
                          runtime.name, group.name, other.name)
                return False
        return True

    def group_state(self, group) -> str:
        states = [_name(self.daemon.instances[n].state) for n in group.instances if n in self.daemon.instances]
        if "FAULT" in states:
            return "FAULT"
        if states and all(s == "MASTER" for s in states):
            return "MASTER"
        if states and all(s == "STOPPED" for s in states):
            return "STOPPED"
        return "BACKUP"

    # ---- transitions: notify, mail, groups -----------------------------------------------------------

    def on_transition(self, runtime, old, new, reason="") -> None:
        shown = _name(new)
        if new == S.STOPPED and getattr(runtime, "removed", False):
            # keepalived clear_diff_vrrp(): an instance removed by a reload notifies DELETED with notify_deleted,
            # else FAULT (unless it already was in FAULT), never STOP
            shown = "DELETED" if runtime.cfg.notify_deleted else (None if old == S.FAULT else "FAULT")
        if shown is not None:
            self.notify_instance(runtime, shown)
        alert = runtime.cfg.smtp_alert
        if alert and self.mailer is not None and shown is not None:
            self.mailer.alert("INSTANCE", runtime.name, _name(old), shown, self._prio(runtime), str(reason))
        if new in (S.FAULT, S.BACKUP, S.MASTER) or old == S.FAULT:
            self._sync(runtime, old, new)
        group = self.cfg.sync_group_of(runtime.name) if self.cfg else None
        if group is not None:
            state = self.group_state(group)
            previous = self.group_states.get(group.name)
            if state != previous:
                self.group_states[group.name] = state
                self.notify_group(group, state)
                if group.smtp_alert and self.mailer is not None:
                    self.mailer.alert("GROUP", group.name, previous or "INIT", state, 0, str(reason))

    @staticmethod
    def _prio(runtime) -> int:
        return runtime.machine.effective_priority if runtime.machine else runtime.cfg.priority

    def _fire(self, owner: str, owner_cfg, hook: str, command: str, extra=None) -> None:
        user, group = notify.hook_user(owner_cfg, hook, self.default_user)
        self.notifier.fire(owner, hook, command, extra, user=user, group=group)

    def fifo_write(self, kind: str, name: str, state: str, priority: int) -> None:
        if self.fifos:
            line = notify.fifo_line(kind, name, state, priority)
            for fifo in self.fifos:
                fifo.write(line)

    def notify_instance(self, runtime, state: str) -> None:
        """keepalived send_instance_notifies(): notify_<state>, then notify, then the fifo line (in order)."""
        if self.notifier is None:
            return
        specific = getattr(runtime.cfg, HOOKS.get(state, ""), None) if state in HOOKS else None
        hook = HOOKS.get(state)
        if state == "DELETED":
            specific, hook = runtime.cfg.notify_deleted_script, "notify_deleted"
        if specific:
            self._fire(runtime.name, runtime.cfg, hook, specific)
        if runtime.cfg.notify:
            self._fire(runtime.name, runtime.cfg, "notify", runtime.cfg.notify,
                       notify.generic_args("INSTANCE", runtime.name, state, self._prio(runtime)))
        self.fifo_write("INSTANCE", runtime.name, state, self._prio(runtime))

    def notify_rx_lower_pri(self, runtime) -> None:
        """keepalived send_event_notify(): a master heard a lower priority (notify_master_rx_lower_pri, fifo)."""
        command = getattr(runtime.cfg, "notify_master_rx_lower_pri", None)
        if command and self.notifier is not None:
            self._fire(runtime.name, runtime.cfg, "notify_master_rx_lower_pri", command)
        self.fifo_write("INSTANCE", runtime.name, "MASTER_RX_LOWER_PRI", self._prio(runtime))

    def notify_priority_change(self, runtime) -> None:
        """keepalived send_instance_priority_notifies() when notify_priority_changes applies (fifo only)."""
        enabled = getattr(runtime.cfg, "notify_priority_changes", None)
        if enabled is None:
            group = self.cfg.sync_group_of(runtime.name) if self.cfg else None
            enabled = getattr(group, "notify_priority_changes", None) if group is not None else None
        if enabled is None:
            enabled = bool(self.cfg and self.cfg.global_defs.vrrp_notify_priority_changes)
        if enabled:
            self.fifo_write("INSTANCE", runtime.name, "MASTER_PRIORITY" if runtime.state == S.MASTER else "BACKUP_PRIORITY",
                            self._prio(runtime))

    def notify_group(self, group, state: str) -> None:
        LOG.info("sync group %s: %s", group.name, state)
        specific = getattr(group, HOOKS.get(state, ""), None) if state in HOOKS else None
        owner = "group " + group.name
        if specific:
            self._fire(owner, group, HOOKS[state], specific)
        if group.notify:
            # keepalived send_group_notifies(): priority 0 for a group.
            self._fire(owner, group, "notify", group.notify, notify.generic_args("GROUP", group.name, state, 0))
        self.fifo_write("GROUP", group.name, state, 0)

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
            "groups": dict(self.group_states),
            "notify": {"runs": self.notifier.runs if self.notifier else 0, "coalesced": self.notifier.coalesced if self.notifier else 0,
                       "running": len(self.notifier.running) if self.notifier else 0,
                       "fifos": [{"path": f.path, "open": f.fd is not None, "written": f.written, "dropped": f.dropped} for f in self.fifos]},
            "mail": self.mailer.counters() if self.mailer is not None else None,
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
