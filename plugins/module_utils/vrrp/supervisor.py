# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived's rules around the VRRP state machine, pure: events in, decisions out.

machine.py decides what one instance does with adverts and timers; this module decides everything that
ties an instance to the rest: tracking results (effective priority, FAULT and its causes, the held INIT
of keepalived that waits for the first result of a weight-0 check), the sync-group rules (a member's fault
puts the others in FAULT, they follow each other to MASTER and BACKUP, vrrp_sync_can_goto_master(), the
start rule) and which notifications to emit, in keepalived's order.

It does no I/O and keeps no clock: `now` comes with each event and goes back with the machine decisions.
The daemon (daemon.py) is the executor: it describes its instances as View records (lazily, through a
mapping name -> View), calls an event method and carries out the decisions returned, in order. Nothing
here touches a runtime; the only state kept is per sync group (its last notified state) and the guard
that stops a forced transition from forcing the others back.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import contextlib
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from .machine import State

S = State
HOOKS = {"MASTER": "notify_master", "BACKUP": "notify_backup", "FAULT": "notify_fault", "STOPPED": "notify_stop"}
NO_PEER = "Cannot use unicast without any peers - going to fault state"


def state_name(state) -> str:
    return getattr(state, "name", None) or str(state)


# ---------------------------------------------------------------- what the executor tells

@dataclass(frozen=True)
class View:
    """One instance as the daemon sees it when an event is handled (read only here)."""
    state: object                    # machine.State of the runtime (STOPPED when the daemon stopped it, INIT before start)
    priority: int                    # effective priority (what notifications carry)
    wants_master: bool = False       # its down timer ran out (machine.wants_master)
    resigning: bool = False
    has_machine: bool = True
    forced_stop: bool = False        # stopped by the daemon (reload), not by its machine
    fault_causes: Mapping[str, str] = field(default_factory=dict)
    held: bool = False


# ---------------------------------------------------------------- what the supervisor decides

@dataclass(frozen=True)
class SetCause:
    name: str
    kind: str    # "config" | "vmac" | "socket" | "source" | "tracking" | "group"
    reason: str


@dataclass(frozen=True)
class ClearCause:
    name: str
    kind: str


@dataclass(frozen=True)
class SetHeld:
    name: str
    held: bool


@dataclass(frozen=True)
class SetPriority:
    name: str
    priority: int
    at: float
    notify: bool = False  # emit the priority fifo line if the effective priority moved (notify_priority_changes)


@dataclass(frozen=True)
class StartMachine:
    name: str
    at: float


@dataclass(frozen=True)
class EnterFault:
    name: str
    reason: str
    at: float


@dataclass(frozen=True)
class LeaveFault:
    name: str
    at: float


@dataclass(frozen=True)
class SyncBackup:
    """keepalived vrrp_sync_backup(): a member leaves MASTER with its group."""
    name: str
    reason: str
    at: float


@dataclass(frozen=True)
class SyncMaster:
    """keepalived vrrp_sync_master(): a member follows its group to MASTER."""
    name: str
    reason: str
    at: float


@dataclass(frozen=True)
class Forced:
    """Transitions one member forces on the others of its group: run with forcing() held, so that theirs
    force nothing back."""
    group: str
    decisions: Tuple[object, ...]


@dataclass(frozen=True)
class AfterStart:
    """Continuation: once the start decisions ran, ask after_start() (it reads the group as they left it)."""
    name: str
    at: float


@dataclass(frozen=True)
class CheckGroup:
    """Continuation: once the forced transitions ran, ask check_group() whether the group's state moved."""
    group: str
    reason: str


@dataclass(frozen=True)
class RunHook:
    owner: str            # instance name or "group NAME"
    owner_cfg: object     # whose notify_users say which user runs it
    hook: str
    command: str
    args: Optional[Tuple[str, str, str, int]] = None  # keepalived's generic notify arguments (kind, name, state, priority)


@dataclass(frozen=True)
class FifoLine:
    kind: str
    name: str
    state: str
    priority: int


@dataclass(frozen=True)
class Mail:
    kind: str
    name: str
    old: str
    new: str
    priority: int
    reason: str


@dataclass(frozen=True)
class Log:
    level: str  # "debug" | "info"
    message: str


# ---------------------------------------------------------------- pure helpers

def priority_notice(state) -> str:
    """The fifo state of a priority change (keepalived send_instance_priority_notifies())."""
    return "MASTER_PRIORITY" if state == S.MASTER else "BACKUP_PRIORITY"


def group_state(group, views: Mapping[str, View]) -> str:
    """A sync group's state from its members': FAULT if one is, MASTER / STOPPED if all are, else BACKUP."""
    states = [state_name(views[n].state) for n in group.instances if n in views]
    if "FAULT" in states:
        return "FAULT"
    if states and all(s == "MASTER" for s in states):
        return "MASTER"
    if states and all(s == "STOPPED" for s in states):
        return "STOPPED"
    return "BACKUP"


def start_modes(members) -> Tuple[Dict[str, str], bool]:
    """keepalived 2.2.7's start rule for the members of one sync group.

    members: [(name, raw_state, raw_priority, state, priority)] in the group's order, raw_* as written (None when
    absent), the others with the instance's defaults. Returns ({name: machine start_mode}, mixed) where mixed says
    that some members are address owners starting MASTER and some are not (keepalived warns).

    vrrp_sync_set_group() (before the instances' defaults are derived): the group starts MASTER only if every
    member has an explicit `state MASTER` and an explicit `priority 255`, else BACKUP. vrrp_complete_init(): if
    any member wants MASTER and any member wants BACKUP or is not the address owner, every member that wants
    MASTER is made to want BACKUP. vrrp_init_state(): in a MASTER group the owners become master at once; in a
    BACKUP group a member still wanting MASTER waits one advert interval + the smallest Skew_Time ("short"),
    any other waits a Master_Down_Interval ("backup", the address owner too).
    """
    state = None
    mixed = False
    for _name, raw_state, raw_priority, _s, _p in members:
        if state == "MASTER" and raw_state == "BACKUP":
            mixed = True
        if state != "BACKUP":
            state = "MASTER" if (raw_state == "MASTER" and raw_priority == 255) else "BACKUP"
    want = dict((m[0], m[3]) for m in members)
    have_master = any(w == "MASTER" for w in want.values())
    have_backup = any(m[3] == "BACKUP" or m[4] != 255 for m in members)
    if have_master and have_backup:
        want = dict((m[0], "BACKUP") for m in members)
    modes = {}
    for name, _rs, _rp, _s, _p in members:
        modes[name] = "auto" if state == "MASTER" else ("short" if want[name] == "MASTER" else "backup")
    return modes, mixed


def start_mode(cfg, name) -> str:
    """machine.Params.start_mode of instance `name`. Outside a sync group, as keepalived's vrrp_init_state(): only
    an instance that wants MASTER (`state MASTER`, or priority 255 without a state) may become master at once
    ("auto"); an address owner with `state BACKUP` waits a Master_Down_Interval in BACKUP like any other."""
    mode = ((getattr(cfg, "extensions", None) or {}).get("sync_start") or {}).get(name)
    if mode is not None:
        return mode
    inst = cfg.instances.get(name) if cfg is not None else None
    return "auto" if inst is None or inst.state == "MASTER" else "backup"


# ---------------------------------------------------------------- the supervisor

class Supervisor:
    def __init__(self):
        self.cfg = None
        self.group_states: Dict[str, Optional[str]] = {}  # sync group -> last notified state
        self._forcing = False

    def configure(self, cfg) -> None:
        """Start and every reload: groups keep their last state, new ones have none (INIT)."""
        self.cfg = cfg
        self.group_states = dict((name, self.group_states.get(name)) for name in cfg.sync_groups)

    def group_of(self, name: str):
        return self.cfg.sync_group_of(name) if self.cfg else None

    @contextlib.contextmanager
    def forcing(self):
        """Held while the executor runs a Forced batch (keepalived does not sync back from a synced transition)."""
        self._forcing = True
        try:
            yield
        finally:
            self._forcing = False

    # ---- rules on the instance's own causes --------------------------------------------------------

    @staticmethod
    def _config_fault(name: str, inst_cfg, causes: Mapping[str, str], out: list) -> bool:
        """keepalived vrrp_complete_instance(): unicast_fault_no_peer without peers is a config fault, FAULT for as
        long as this configuration runs (cause "config")."""
        if getattr(inst_cfg, "unicast_fault_no_peer", False) and not inst_cfg.unicast_peers:
            if "config" not in causes:
                out.append(Log("info", "(%s) %s" % (name, NO_PEER)))
                out.append(SetCause(name, "config", NO_PEER))
            return True
        if "config" in causes:
            out.append(ClearCause(name, "config"))
        return False

    def group_blocker(self, name: str, views: Mapping[str, View]) -> Optional[str]:
        """Why `name` must stay in FAULT for its group: another member has a fault of its own."""
        group = self.group_of(name)
        if group is None:
            return None
        for other in group.instances:
            view = views.get(other) if other != name else None
            if view is None:
                continue
            own = [r for k, r in view.fault_causes.items() if k != "group"]
            if own:
                return "sync group %s: %s is FAULT (%s)" % (group.name, other, "; ".join(own))
        return None

    def _recover(self, name: str, view: View, views: Mapping[str, View], now: float, causes=None) -> list:
        """keepalived: FAULT is left when no cause is left; a sync-group member stays while another member has a
        fault of its own (cause "group")."""
        causes = dict(view.fault_causes if causes is None else causes)
        out = []
        had = causes.pop("group", None)
        blocker = self.group_blocker(name, views)
        if blocker:
            causes["group"] = blocker
            if blocker != had:
                out.append(SetCause(name, "group", blocker))
        elif had is not None:
            out.append(ClearCause(name, "group"))
        if view.state == S.FAULT and not causes:
            out.append(LeaveFault(name, now))
        return out

    # ---- events ------------------------------------------------------------------------------------

    def on_start(self, name: str, inst_cfg, evaluation, view: View, socket_ok: bool, ifname: str, start_mode_: str,
                 now: float) -> list:
        """An instance starts (its machine is built, in INIT): first tracking result, config, VMAC and socket faults."""
        out: list = [SetPriority(name, evaluation.priority, now)]
        causes = view.fault_causes
        if self._config_fault(name, inst_cfg, causes, out):
            out.append(EnterFault(name, NO_PEER, now))  # INIT -> FAULT: never master, not even an owner for a moment
        elif "vmac" in causes:
            out += [StartMachine(name, now), EnterFault(name, causes["vmac"], now)]
        elif not socket_ok:
            why = "no usable socket or source address on %s" % ifname
            out += [StartMachine(name, now), SetCause(name, "socket", why), EnterFault(name, why, now)]
        elif evaluation.faults:
            # INIT -> FAULT, as keepalived starts an instance whose tracking is down
            out += [SetCause(name, "tracking", evaluation.fault_reason), EnterFault(name, evaluation.fault_reason, now)]
        elif evaluation.pending:
            out += [SetHeld(name, True), Log("info", "%s: waiting for the first result of %s" % (name, ", ".join(evaluation.pending)))]
        else:
            group = self.group_of(name)
            if group is not None and start_mode_ != "auto":
                # keepalived logs "(VI_1) Entering BACKUP STATE (init)"; this says why a group member does
                out.append(Log("info", "(%s) Entering BACKUP STATE (init): sync group %s starts in BACKUP%s"
                               % (name, group.name, ", state MASTER: one advert interval" if start_mode_ == "short" else "")))
            out.append(StartMachine(name, now))
        out.append(AfterStart(name, now))
        return out

    def on_source(self, name: str, view: View, views: Mapping[str, View], why: Optional[str], now: float) -> list:
        """The instance's source address went with no other on its interface (why), or one is there again (None):
        keepalived enters FAULT when its interface loses its last address, and leaves it when one comes. A start
        without socket or source (cause "socket") recovers the same way once both are there."""
        if not view.has_machine or view.forced_stop or view.state == S.STOPPED:
            return []
        if why is not None:
            out: list = [SetCause(name, "source", why)]
            return out + ([EnterFault(name, why, now)] if view.state != S.FAULT else [])
        causes = dict(view.fault_causes)
        gone = [kind for kind in ("source", "socket") if causes.pop(kind, None) is not None]
        if not gone:
            return []
        out = [ClearCause(name, kind) for kind in gone]
        return out + (self._recover(name, view, views, now, causes) if view.state == S.FAULT else [])

    def after_start(self, name: str, view: View, views: Mapping[str, View], now: float) -> list:
        """A member that starts while another member has a fault of its own starts in FAULT."""
        blocker = self.group_blocker(name, views)
        if blocker and view.state != S.FAULT:
            return [SetCause(name, "group", blocker), SetHeld(name, False), EnterFault(name, blocker, now)]
        return []

    def on_tracking(self, name: str, inst_cfg, evaluation, view: View, views: Mapping[str, View], stopping: bool,
                    now: float) -> list:
        """New tracking result (tracking.Evaluation): effective priority, FAULT on a fault, the held INIT released by
        the first result, recovery when every cause is gone."""
        if not view.has_machine or view.forced_stop or view.state == S.STOPPED or stopping:
            return []
        out: list = [SetPriority(name, evaluation.priority, now, self.priority_changes_notified(name, inst_cfg))]
        causes = dict(view.fault_causes)
        if evaluation.faults:
            out.append(SetCause(name, "tracking", evaluation.fault_reason))
            if view.held:
                out.append(SetHeld(name, False))
            if view.state != S.FAULT:
                out.append(EnterFault(name, evaluation.fault_reason, now))
            return out
        if causes.pop("tracking", None) is not None:
            out.append(ClearCause(name, "tracking"))
        if evaluation.pending:
            return out
        if view.held:
            return out + [SetHeld(name, False), StartMachine(name, now)]
        return out + self._recover(name, view, views, now, causes)

    def on_reload(self, name: str, inst_cfg, view: View, views: Mapping[str, View], now: float) -> list:
        """An instance updated in place: unicast_fault_no_peer peers added clear the config fault, all removed set it."""
        out: list = []
        if self._config_fault(name, inst_cfg, view.fault_causes, out):
            if view.state != S.FAULT:
                out.append(EnterFault(name, NO_PEER, now))
            return out
        causes = dict(view.fault_causes)
        causes.pop("config", None)
        if view.state == S.FAULT:
            out += self._recover(name, view, views, now, causes)
        return out

    def can_goto_master(self, name: str, views: Mapping[str, View]) -> Tuple[bool, str]:
        """keepalived 2.2.7 vrrp_sync_can_goto_master(): a member whose down timer ran out goes MASTER only when its
        group is MASTER already or every other member wants MASTER too (its own timer ran out, or it is MASTER);
        otherwise it stays BACKUP wanting MASTER ("prefer backup state to avoid thrashing"). (ok, why not)."""
        group = self.group_of(name)
        if group is None or group_state(group, views) == "MASTER":
            return True, ""
        for other in group.instances:
            view = views.get(other) if other != name else None
            if view is None or view.forced_stop:
                continue
            if not view.has_machine or not (view.state == S.MASTER or view.wants_master):
                return False, "%s: sync group %s: not going MASTER, %s does not want MASTER (as keepalived)" % (name, group.name, other)
        return True, ""

    def on_transition(self, name: str, inst_cfg, view: View, old, new, reason, removed: bool, views: Mapping[str, View],
                      stopping: bool, now: float) -> list:
        """A state change of instance `name` (`view` is it after the change): its notifications, the transitions it
        forces on its sync group, then (CheckGroup) the group's notifications."""
        shown = state_name(new)
        if new == S.STOPPED and removed:
            # keepalived clear_diff_vrrp(): an instance removed by a reload notifies DELETED with notify_deleted,
            # else FAULT (unless it already was in FAULT), never STOP
            shown = "DELETED" if inst_cfg.notify_deleted else (None if old == S.FAULT else "FAULT")
        out: list = []
        if shown is not None:
            out += self.instance_notices(name, inst_cfg, shown, view.priority)
            if inst_cfg.smtp_alert:
                out.append(Mail("INSTANCE", name, state_name(old), shown, view.priority, str(reason)))
        group = self.group_of(name)
        if group is None:
            return out
        if (new in (S.FAULT, S.BACKUP, S.MASTER) or old == S.FAULT) and not self._forcing and not stopping:
            forced = self._sync(group, name, old, new, views, now)
            if forced:
                out.append(Forced(group.name, tuple(forced)))
        out.append(CheckGroup(group.name, str(reason)))
        return out

    def _sync(self, group, name, old, new, views, now) -> list:
        why = "sync group %s: %s %s -> %s" % (group.name, name, state_name(old), state_name(new))
        out = []
        for other in group.instances:
            view = views.get(other) if other != name else None
            if view is None or not view.has_machine or view.forced_stop:
                continue
            if new == S.FAULT:
                out += [SetCause(other, "group", why), SetHeld(other, False)]
                if view.state != S.FAULT:
                    out.append(EnterFault(other, why, now))
            elif old == S.FAULT:
                if view.state == S.FAULT:
                    out += self._recover(other, view, views, now)
            elif new == S.BACKUP and old == S.MASTER and view.state == S.MASTER and not view.resigning:
                out.append(SyncBackup(other, why, now))  # keepalived vrrp_sync_backup(): the others leave MASTER with it
            elif new == S.MASTER and view.state == S.BACKUP:
                out.append(SyncMaster(other, why, now))  # keepalived vrrp_sync_master(): the others follow it to MASTER
        return out

    def check_group(self, group_name: str, reason: str, views: Mapping[str, View]) -> list:
        """The group's state after a member's transition (and those it forced): notify when it moved."""
        group = self.cfg.sync_groups.get(group_name) if self.cfg else None
        if group is None:
            return []
        state = group_state(group, views)
        previous = self.group_states.get(group.name)
        if state == previous:
            return []
        self.group_states[group.name] = state
        out = self.group_notices(group, state)
        if group.smtp_alert:
            out.append(Mail("GROUP", group.name, previous or "INIT", state, 0, reason))
        return out

    # ---- notifications -----------------------------------------------------------------------------

    @staticmethod
    def instance_notices(name: str, inst_cfg, state: str, priority: int) -> list:
        """keepalived send_instance_notifies(): notify_<state>, then notify, then the fifo line (in order)."""
        out = []
        hook = HOOKS.get(state)
        specific = getattr(inst_cfg, hook, None) if hook else None
        if state == "DELETED":
            specific, hook = inst_cfg.notify_deleted_script, "notify_deleted"
        if specific:
            out.append(RunHook(name, inst_cfg, hook, specific))
        if inst_cfg.notify:
            out.append(RunHook(name, inst_cfg, "notify", inst_cfg.notify, ("INSTANCE", name, state, priority)))
        out.append(FifoLine("INSTANCE", name, state, priority))
        return out

    @staticmethod
    def group_notices(group, state: str) -> list:
        """keepalived send_group_notifies(): notify_<state>, notify (priority 0 for a group), the fifo line."""
        out: list = [Log("info", "sync group %s: %s" % (group.name, state))]
        owner = "group " + group.name
        specific = getattr(group, HOOKS[state], None) if state in HOOKS else None
        if specific:
            out.append(RunHook(owner, group, HOOKS[state], specific))
        if group.notify:
            out.append(RunHook(owner, group, "notify", group.notify, ("GROUP", group.name, state, 0)))
        out.append(FifoLine("GROUP", group.name, state, 0))
        return out

    @staticmethod
    def rx_lower_pri_notices(name: str, inst_cfg, priority: int) -> list:
        """keepalived send_event_notify(): a master heard a lower priority (notify_master_rx_lower_pri, fifo)."""
        out = []
        command = getattr(inst_cfg, "notify_master_rx_lower_pri", None)
        if command:
            out.append(RunHook(name, inst_cfg, "notify_master_rx_lower_pri", command))
        out.append(FifoLine("INSTANCE", name, "MASTER_RX_LOWER_PRI", priority))
        return out

    def priority_changes_notified(self, name: str, inst_cfg) -> bool:
        """notify_priority_changes: the instance's, else its sync group's, else the global vrrp_notify_priority_changes."""
        enabled = getattr(inst_cfg, "notify_priority_changes", None)
        if enabled is None:
            group = self.group_of(name)
            enabled = getattr(group, "notify_priority_changes", None) if group is not None else None
        if enabled is None:
            enabled = bool(self.cfg and self.cfg.global_defs.vrrp_notify_priority_changes)
        return bool(enabled)


__all__: List[str] = ["Supervisor", "View", "group_state", "start_mode", "start_modes", "priority_notice"]
