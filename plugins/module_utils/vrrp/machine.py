# -*- coding: utf-8 -*-
# Copyright: (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VRRP state machine of one instance (RFC 3768 / RFC 5798 / RFC 9568, as keepalived 2.2.7 runs it).

Pure: events in, actions out. Every call takes `now` (monotonic seconds); the caller calls on_timer()
once now >= next_deadline. Actions are executed in list order; a Transition is always the last action
of its batch, so notify hooks run after the addresses changed, as keepalived's do.

Where the RFCs leave room, keepalived 2.2.7's vrrp.c / vrrp_scheduler.c / vrrp_track.c decide:
- a non-owner starts in Backup and waits a full Master_Down_Interval even with `state MASTER`
  (only the address owner that wants MASTER goes master at once; Params.start_mode carries keepalived's
  rule, sync groups included); `state MASTER` clears nopreempt and preempt_delay, and priority 255
  clears nopreempt, as keepalived's config check does;
- Master_Down_Interval = down_timer_adverts (3) x Master_Adver_Interval + Skew_Time (VRRP_MS_DOWN_TIMER);
- preempt_delay starts when the first lower-priority advert is seen in Backup; until it runs out,
  lower-priority adverts are accepted; an equal or higher one cancels it;
- a master answers a lower-priority advert (v2 and v3) and a priority-0 advert with an advert at once
  (unless lower_prio_no_advert), and re-announces its VIPs (garp_lower_prio_repeat, on by default): after a
  split brain heals, clients that followed the loser's GARP come back; with higher_prio_send_advert a master
  that yields answers the higher advert first, so the winner hears a lower one whichever crossed first;
- reconfigure() applies a reload in place (priority, timers, preempt); a master whose priority falls only
  advertises the lower value and keeps its VIPs until the higher router's advert is seen (make-before-break);
- a master that loses to a higher advert or goes to Fault removes its VIPs (Fault also sends priority 0);
  one whose VIP, virtual route or rule someone deleted sends priority 0 and takes over again after its Skew_Time;
- taking over from a master that is alive (it resigned with priority 0, or a lower one is preempted), the
  GARPs go out before the first advert (keepalived sends the advert first): the old master removes its
  VIPs when it hears that advert, and by then clients already point here, so no packet is lost between;
- a master's adverts are phase-locked: each is due one advert interval after the last was due (keepalived
  counts from its wakeup), so late wakeups do not add up; after a stall of an interval or more, from now;
- tracking changes the effective priority within 1..254 (never for the owner) and moves a backup's
  deadline by the change in Skew_Time; it sends nothing by itself.

Maintenance (vipd's own, not keepalived's): set_maintenance(now, True) makes a master hand over as on
SIGTERM (priority 0, VIPs kept until the new master speaks or Master_Down_Interval passes) but end in
BACKUP instead of STOPPED; while it lasts the instance never becomes master, whatever it hears or does
not hear (no Master_Down_Timer runs, the address owner waits too, sync groups cannot pull it up): we
choose "never take over while in maintenance", even when no other router is alive. set_maintenance(now,
False) restarts the Master_Down_Timer: from there the usual rules (preempt or not) apply.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations
__metaclass__ = type

import ipaddress
from dataclasses import dataclass, replace
from enum import Enum

PRIO_OWNER = 255
PRIO_STOP = 0
NO_ADVERT_FROM = "no advert from master %s within master_down_interval"  # the cause of a backup's takeover


class State(str, Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOPPED = "STOPPED"

    def __str__(self):
        return self.value


# Read once: an Enum member lookup costs about 1 us in Python <= 3.11; on_advert and on_timer run for every advert
# heard or sent (issue 11, third round).
_BACKUP, _MASTER = State.BACKUP, State.MASTER


@dataclass
class Params:
    vrid: int
    priority: int
    advert_int: float
    version: int
    preempt: bool = True
    preempt_delay: float = 0.0
    primary_ip: str = "0.0.0.0"
    start_state: State = State.BACKUP
    # keepalived's default (no vrrp_lower_prio_no_advert): a master answers lower-priority adverts
    lower_prio_advert: bool = True
    # keepalived's garp_lower_prio_repeat > 0 (its default): a master re-announces on a lower-priority advert
    lower_prio_garp: bool = True
    # keepalived's higher_prio_send_advert (default off): a master answers a higher advert before it yields
    higher_prio_send_advert: bool = False
    # keepalived's down_timer_adverts (1..100, default 3 = RFC): Master_Down_Interval = N x interval + Skew_Time
    down_timer_adverts: int = 3
    # How start() leaves INIT (keepalived vrrp_init_state()): "auto" = the address owner becomes master at once,
    # any other waits a Master_Down_Interval in BACKUP; in a sync group (see supervisor.start_modes()):
    # "short" = BACKUP for one advert interval + the smallest Skew_Time (a `state MASTER` member of a group
    # that starts in BACKUP), "backup" = BACKUP for a Master_Down_Interval even for the address owner.
    start_mode: str = "auto"


@dataclass(frozen=True)
class SendAdvert:
    priority: int


@dataclass(frozen=True)
class AddVips:
    pass


@dataclass(frozen=True)
class RemoveVips:
    pass


@dataclass(frozen=True)
class SendGarp:
    """Announce the VIPs: "master" = the takeover schedule, "lower_prio" = keepalived's garp_lower_prio_* one."""
    kind: str = "master"


@dataclass(frozen=True)
class Transition:
    old: State
    new: State
    reason: str


def _ip_key(address):
    """(family, integer) of an address, for the equal-priority tie-break; None if unparsable."""
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError:
        return None
    return ip.version, int(ip)


class Machine:
    """One VRRP instance. Attributes are the live state the daemon reports."""

    def __init__(self, params):
        if params.version not in (2, 3):
            raise ValueError("version must be 2 or 3")
        if not 1 <= params.priority <= PRIO_OWNER:
            raise ValueError("priority must be 1..255")
        if params.advert_int <= 0:
            raise ValueError("advert_int must be positive")
        if not 1 <= int(params.down_timer_adverts) <= 100:
            raise ValueError("down_timer_adverts must be 1..100")
        if params.start_mode not in ("auto", "short", "backup"):
            raise ValueError("start_mode must be auto, short or backup")
        self.params = params
        self.base_priority = params.priority
        self.effective_priority = params.priority
        self._apply_preempt(params)
        self._configured_int = self._quantize(params.advert_int)
        self.advert_int = self._configured_int      # Master_Adver_Interval (v3: adopted from the master)
        self.state = State.INIT
        self.master_ip = None
        self.master_priority = None
        self.next_deadline = None
        self.preempt_deadline = None                 # keepalived's preempt_time; None = not running
        self.resigning = False
        self.last_transition = None
        self._timer_cause = "master down timer expired"
        self._live_master = False
        self._primary = _ip_key(params.primary_ip)
        # keepalived's vrrp_startup_delay: until this time (same clock as `now`), a backup's Master_Down_Timer
        # is counted from it, not from now (vrrp_init_instance_sands()). 0: no delay.
        self.delayed_start = 0.0
        self.maintenance = False
        # keepalived's wantstate MASTER for a BACKUP: its down timer ran out, but its sync group held it back
        self.wants_master = False
        # Sync-group members: fn(machine) -> whether it may go MASTER now (keepalived vrrp_sync_can_goto_master());
        # None outside a sync group. Injected by the daemon so that this file stays free of other instances.
        self.group_gate = None
        self._resign_to = State.STOPPED              # where a resignation ends: BACKUP for a maintenance handover
        self._followed = None                         # on_repeat(): the last advert followed and what the rule read

    def _apply_preempt(self, params):
        self.preempt = params.preempt
        self.preempt_delay = float(params.preempt_delay or 0.0)
        # keepalived's config check: these combinations cannot work, so it clears them
        start_master = State(params.start_state) == State.MASTER
        if params.priority == PRIO_OWNER or start_master:
            self.preempt = True
        if start_master or not self.preempt:
            self.preempt_delay = 0.0

    # --- RFC timers ---------------------------------------------------------------------------------

    def _quantize(self, seconds):
        # v3 carries centiseconds, v2 whole seconds; keep what the wire can say
        if self.params.version == 3:
            return max(1, min(4095, int(round(seconds * 100)))) / 100.0
        return float(seconds)

    @property
    def skew_time(self):
        """RFC 3768: (256 - Priority) / 256 s; RFC 5798: ((256 - Priority) * Master_Adver_Interval) / 256."""
        weight = 256 - self.effective_priority
        if self.params.version == 2:
            return weight / 256.0
        interval_cs = int(round(self.advert_int * 100))
        return (weight * interval_cs) / 256.0 / 100.0

    @property
    def master_down_interval(self):
        # keepalived VRRP_MS_DOWN_TIMER: down_timer_adverts x Master_Adver_Interval + Skew_Time
        return int(self.params.down_timer_adverts) * self.advert_int + self.skew_time

    @property
    def skew_time_min(self):
        """keepalived VRRP_TIMER_SKEW_MIN: the Skew_Time of priority 255 (1/256 of the interval, v2: 1/256 s)."""
        if self.params.version == 2:
            return 1 / 256.0
        return int(round(self.advert_int * 100)) / 256.0 / 100.0

    def _down_deadline(self, now):
        """When a backup's Master_Down_Timer runs out if nothing is heard: now + Master_Down_Interval, or
        counted from the end of vrrp_startup_delay while it lasts (keepalived 2.2.7)."""
        if self.delayed_start and now < self.delayed_start:
            return self.delayed_start + self.master_down_interval
        return now + self.master_down_interval

    # --- events -------------------------------------------------------------------------------------

    def start(self, now):
        if self.state != State.INIT:
            return []
        if self.base_priority == PRIO_OWNER and self.params.start_mode == "auto" and not self.maintenance:
            return self._become_master(now, "address owner (priority 255)")
        self.state = State.BACKUP
        if self.params.start_mode == "short" and not self.maintenance:
            # keepalived vrrp_init_state(): "We need to allow one adver_int to pass to ensure there is no other master"
            wait = self.advert_int + self.skew_time_min
            self.next_deadline = max(now, self.delayed_start or 0.0) + wait
            self._timer_cause = "no advert within one advert interval after startup (sync group, state MASTER)"
            self._live_master = False
            return self._transition(now, State.INIT, State.BACKUP, "startup: sync group member with state MASTER waits one advert interval")
        self.next_deadline = None if self.maintenance else self._down_deadline(now)
        self._timer_cause = "no advert within master_down_interval after startup"
        self._live_master = False
        return self._transition(now, State.INIT, State.BACKUP, "startup: waiting master_down_interval for a master")

    def on_advert(self, now, src_ip, priority, interval_cs):
        """An advert that passed packet.decode() and packet.check_advert() for this instance."""
        if self.state == _BACKUP:
            actions = self._backup_rx(now, src_ip, priority, interval_cs)
            if self.maintenance:
                self.next_deadline = None  # it follows who is master but never counts down to a takeover
            return actions
        if self.state == _MASTER:
            if self.resigning:
                return self._resigning_rx(now, src_ip, priority)
            return self._master_rx(now, src_ip, priority, interval_cs)
        return []

    def on_timer(self, now):
        if self.next_deadline is None or now < self.next_deadline:
            return []
        if self.state == _BACKUP:
            if self.maintenance:
                self.next_deadline = None
                return []
            self.wants_master = True
            if self.group_gate is not None and not self.group_gate(self):
                # keepalived: "Only sync to master if everyone wants to, i.e. prefer backup state to avoid
                # thrashing": stay BACKUP wanting MASTER, and look again after another Master_Down_Interval.
                self.next_deadline = now + self.master_down_interval
                return []
            cause = self._timer_cause
            return self._become_master(now, cause if isinstance(cause, str) else cause[0] % cause[1:], garp_first=self._live_master)
        if self.state == _MASTER:
            if self.resigning:
                return self._stop_resigned(now, "no new master seen within master_down_interval")
            # Phase-locked: the next advert one interval after this one was due, not after the wakeup. A late
            # wakeup then no longer delays every later advert, and masters on one phase (Daemon.align_master) stay
            # on it, due at the same instant (the daemon's shared timer, beat.py). After a stall of an interval or
            # more, from now: never a burst of adverts to catch up.
            interval, due = self._configured_int, self.next_deadline
            self.next_deadline = due + interval if now - due < interval else now + interval
            return [SendAdvert(self.effective_priority)]
        return []

    def set_priority(self, now, effective_priority):
        """Tracking moved the effective priority (keepalived: clamped to 1..254, owner unchanged)."""
        if self.base_priority == PRIO_OWNER:
            return []
        new = max(1, min(PRIO_OWNER - 1, int(effective_priority)))
        if new == self.effective_priority:
            return []
        old_skew = self.skew_time
        self.effective_priority = new
        if self.state == State.BACKUP and self.next_deadline is not None:
            # the wait shrinks or grows by exactly the Skew_Time change
            self.next_deadline += self.skew_time - old_skew
        return []

    def fault(self, now, reason):
        if self.state in (State.FAULT, State.STOPPED):
            return []
        old = self.state
        actions = []
        if old == State.MASTER:
            actions += [SendAdvert(PRIO_STOP), RemoveVips()]
        self.resigning = False
        self._resign_to = State.STOPPED
        self.next_deadline = None
        self.master_ip = None
        self.master_priority = None
        return actions + self._transition(now, old, State.FAULT, reason or "fault")

    def recover(self, now):
        if self.state != State.FAULT:
            return []
        self.advert_int = self._configured_int
        self.preempt_deadline = None
        if self.base_priority == PRIO_OWNER and not self.maintenance:
            return self._become_master(now, "fault cleared: address owner")
        self.state = State.BACKUP
        self.next_deadline = None if self.maintenance else self._down_deadline(now)
        self._timer_cause = "no advert within master_down_interval after fault cleared"
        self._live_master = False
        return self._transition(now, State.FAULT, State.BACKUP, "fault cleared")

    def resign(self, now):
        """Make-before-break stop: priority 0 now, VIPs kept until a new master speaks (or MDI passes)."""
        if self.state == State.MASTER:
            self._resign_to = State.STOPPED  # a stop during a maintenance handover ends in STOPPED
            if self.resigning:
                return []
            self.resigning = True
            self.next_deadline = now + self.master_down_interval
            return [SendAdvert(PRIO_STOP)]
        if self.state == State.STOPPED:
            return []
        old = self.state
        self.next_deadline = None
        return self._transition(now, old, State.STOPPED, "stopped")

    def set_maintenance(self, now, on):
        """Enter or leave maintenance (see the module docstring). Entering on a master starts the handover."""
        on = bool(on)
        if on == self.maintenance:
            return []
        self.maintenance = on
        if on:
            if self.state == State.MASTER and not self.resigning:
                self.resigning = True
                self._resign_to = State.BACKUP
                self.next_deadline = now + self.master_down_interval
                return [SendAdvert(PRIO_STOP)]
            if self.state == State.BACKUP:
                self.next_deadline = None
                self.preempt_deadline = None
            return []
        if self.state == State.BACKUP:
            self.next_deadline = self._down_deadline(now)
            self._timer_cause = "no advert within master_down_interval after maintenance ended"
            self._live_master = False
        return []  # a handover under way finishes in BACKUP, with its timer running

    def advance_advert(self, now, deadline):
        """Send the next advert earlier, at `deadline` (now < deadline < next_deadline); never later.

        The daemon uses it to put every master of one interval on one phase, so that it wakes once per
        interval for all of them instead of once per instance. An advert that comes early only restarts
        the backups' Master_Down_Timer sooner. Only a master that is not resigning moves.
        """
        if self.state != State.MASTER or self.resigning or self.next_deadline is None:
            return []
        if now < deadline < self.next_deadline:
            self.next_deadline = deadline
        return []

    def set_primary(self, ip: str) -> None:
        """The instance's own address changed (its interface was renumbered): adverts leave from it, and it breaks
        priority ties (RFC 3768 6.4.3 / RFC 5798 6.4.3) from now on."""
        self.params = replace(self.params, primary_ip=ip)
        self._primary = _ip_key(ip)
        if self.state == State.MASTER:
            self.master_ip = ip

    def reconfigure(self, now, params, effective_priority=None):
        """A reload changed this instance in place: priority, timers, preempt, the lower/higher-advert options.

        VRID, version and the primary address cannot change in place (the daemon restarts the instance).
        A master that now has another priority advertises it at once and keeps its VIPs: if a backup now
        outranks it, that backup ignores the lower adverts, takes over when its Master_Down_Timer runs out
        (at most Master_Down_Interval after the last higher advert it accepted), and this master removes its
        VIPs only when it hears the new master's advert: make-before-break, as on SIGTERM.
        A backup's wait moves by the change in Skew_Time (or restarts at Master_Down_Interval on a new interval).
        """
        if params.version != self.params.version or params.vrid != self.params.vrid:
            raise ValueError("a VRID or version change needs a restart")
        if not 1 <= params.priority <= PRIO_OWNER:
            raise ValueError("priority must be 1..255")
        if params.advert_int <= 0:
            raise ValueError("advert_int must be positive")
        old_eff, old_skew = self.effective_priority, self.skew_time
        old_int = self._configured_int
        old_adverts = self.params.down_timer_adverts
        self.params = params
        self._primary = _ip_key(params.primary_ip)
        self.base_priority = params.priority
        self._apply_preempt(params)
        if self.preempt_delay <= 0:
            self.preempt_deadline = None
        self._configured_int = self._quantize(params.advert_int)
        interval_changed = self._configured_int != old_int
        if self.state != State.BACKUP or params.version == 2:
            self.advert_int = self._configured_int   # a v3 backup keeps the interval its master advertises
        if self.base_priority == PRIO_OWNER:
            self.effective_priority = PRIO_OWNER
        else:
            wanted = params.priority if effective_priority is None else effective_priority
            self.effective_priority = max(1, min(PRIO_OWNER - 1, int(wanted)))
        if self.state == State.BACKUP:
            if self.base_priority == PRIO_OWNER and not self.maintenance:
                return self._become_master(now, "reload: address owner (priority 255)")
            if self.next_deadline is not None:
                if interval_changed or params.down_timer_adverts != old_adverts:
                    self.next_deadline = now + self.master_down_interval
                else:
                    self.next_deadline += self.skew_time - old_skew
            return []
        if self.state == State.MASTER and not self.resigning:
            self.master_priority = self.effective_priority
            if self.effective_priority != old_eff or interval_changed:
                self.next_deadline = now + self._configured_int
                return [SendAdvert(self.effective_priority)]
        return []

    def sync_backup(self, now, reason):
        """A sync-group peer left MASTER: follow it to BACKUP (keepalived vrrp_sync_backup()).

        Only a master that is not resigning moves; anything else is left alone ([]).
        """
        if self.state != State.MASTER or self.resigning:
            return []
        return self._leave_master(now, reason)

    def step_back(self, now, reason):
        """keepalived set_vrrp_backup(): something a master holds was deleted behind its back (a VIP or eVIP, a
        virtual route or rule). It leaves MASTER with a priority-0 advert and, unless someone better speaks, takes
        over again after its own Skew_Time ("a quick transition back to master"): sooner than any backup's
        Master_Down_Interval, and sooner than the Skew_Time of a lower-priority backup that heard the priority 0.

        Only a master that is not resigning moves; anything else is left alone ([])."""
        if self.state != State.MASTER or self.resigning:
            return []
        actions = self._leave_master(now, reason)
        self.next_deadline = now + self.skew_time
        self._timer_cause = "no advert within Skew_Time after " + reason
        return [SendAdvert(PRIO_STOP)] + actions

    def sync_master(self, now, reason):
        """A sync-group peer became MASTER: follow it (keepalived vrrp_sync_master()). Only from BACKUP."""
        if self.state != State.BACKUP or self.maintenance:
            return []
        return self._become_master(now, reason)

    # --- per-state receive rules --------------------------------------------------------------------

    def _backup_rx(self, now, src_ip, priority, interval_cs):
        eff = self.effective_priority
        if priority == PRIO_STOP:
            # RFC: the master resigned; take over after Skew_Time unless someone else speaks first
            self.next_deadline = now + self.skew_time
            self._timer_cause = "master %s resigned (priority 0)" % (src_ip,)
            self._live_master = True
            return []
        delaying = self.preempt_delay > 0 and (self.preempt_deadline is None or self.preempt_deadline > now)
        if not self.preempt or priority >= eff or delaying:
            if self.params.version == 3 and interval_cs:
                self.advert_int = interval_cs / 100.0
            if self.preempt_delay > 0:
                if priority >= eff:
                    self.preempt_deadline = None
                elif self.preempt_deadline is None:
                    self.preempt_deadline = now + self.preempt_delay
            down = self.master_down_interval
            self._follow(src_ip, priority, self._down_deadline(now))
            # on_repeat() may give this outcome again while nothing it depends on changes: not with a preempt delay
            # (a clock of its own), in maintenance or while vrrp_startup_delay runs (deadlines not now-based).
            plain = self.preempt_delay == 0 and not self.maintenance and not (self.delayed_start and now < self.delayed_start)
            self._followed = (src_ip, priority, interval_cs, self._rule_inputs(), down) if plain else None
            return []
        # preempt: ignore the lower-priority master so that our Master_Down_Timer runs out
        self.master_ip = src_ip
        self.master_priority = priority
        self._timer_cause = "preempting lower priority (%d) master %s" % (priority, src_ip)
        self._live_master = True
        return []

    def _follow(self, src_ip, priority, deadline):
        """A backup hears the master it follows: its Master_Down_Timer starts again."""
        self.wants_master = False  # keepalived: a backup that hears its master wants BACKUP again
        self.master_ip = src_ip
        self.master_priority = priority
        self.next_deadline = deadline
        # formatted only if the timer runs out (issue 11: not a new string for every advert a backup hears)
        self._timer_cause = (NO_ADVERT_FROM, src_ip)
        self._live_master = False

    def _rule_inputs(self):
        """Everything but the advert and the clock that _backup_rx()'s choice and Master_Down_Interval read."""
        return (self.state, self.effective_priority, self.preempt, self.preempt_delay, self.advert_int, self.params,
                self.maintenance, self.delayed_start)

    def on_repeat(self, now, src_ip, priority, interval_cs):
        """Scale (issue 11): the advert a backup last followed, heard again. A steady master repeats it every
        interval; while the advert (sender, priority, interval) and every input of the receive rule are those it
        was followed with, the rule's outcome is the same, so it is applied without deciding again. Returns False,
        having changed nothing, otherwise: the caller then runs on_advert()."""
        memo = self._followed
        if (memo is None or memo[0] != src_ip or memo[1] != priority or memo[2] != interval_cs
                or memo[3] != self._rule_inputs()):
            return False
        self._follow(src_ip, priority, now + memo[4])
        return True

    def _master_rx(self, now, src_ip, priority, interval_cs):
        eff = self.effective_priority
        if priority == PRIO_STOP:
            # another master resigned: answer at once so backups do not take over after Skew_Time
            self.next_deadline = now + self._configured_int
            return [SendAdvert(eff)]
        cmp = self._compare_ip(src_ip)
        if priority == eff and cmp == 0:
            return []  # our own address: a looped-back advert or a misconfiguration
        # keepalived sends this before it looks at an owner conflict, with the priority it had
        answer_higher = self.params.higher_prio_send_advert and (priority > eff or (priority == eff and cmp > 0))
        if priority == eff and cmp != 0 and eff == PRIO_OWNER:
            # two address owners: keepalived lowers its own priority to 254 and lets the other win
            self.base_priority = self.effective_priority = PRIO_OWNER - 1
        sent_at = eff
        eff = self.effective_priority
        if priority < eff or (priority == eff and cmp < 0):
            # adopt nothing; answer so the lower router sees a master and returns to Backup, and re-announce
            # the VIPs: clients that followed the lower router's GARP (split brain, spurious takeover) come back
            actions = []
            if self.params.lower_prio_advert:
                self.next_deadline = now + self._configured_int
                actions.append(SendAdvert(eff))
            if self.params.lower_prio_garp:
                actions.append(SendGarp("lower_prio"))
            return actions
        actions = [SendAdvert(sent_at)] if answer_higher else []
        if self.params.version == 3 and interval_cs:
            self.advert_int = interval_cs / 100.0
        self.master_ip = src_ip
        self.master_priority = priority
        if priority > eff:
            reason = "higher priority (%d > %d) advert from %s" % (priority, eff, src_ip)
        else:
            reason = "equal priority (%d) advert from higher address %s" % (priority, src_ip)
        return actions + self._leave_master(now, reason)

    def _resigning_rx(self, now, src_ip, priority):
        if priority > PRIO_STOP and self._compare_ip(src_ip) != 0:
            self.master_ip = src_ip
            self.master_priority = priority
            return self._stop_resigned(now, "new master %s seen (priority %d)" % (src_ip, priority))
        return []

    # --- helpers ------------------------------------------------------------------------------------

    def _compare_ip(self, src_ip):
        """1 if src_ip is higher than our primary address, -1 if lower, 0 if equal or not comparable."""
        other = _ip_key(src_ip)
        if other is None or self._primary is None or other[0] != self._primary[0]:
            return 0
        return (other[1] > self._primary[1]) - (other[1] < self._primary[1])

    def _transition(self, now, old, new, reason):
        self.state = new
        self.last_transition = now
        return [Transition(old, new, reason)]

    def _become_master(self, now, reason, garp_first=False):
        old = self.state
        self.resigning = False
        self.advert_int = self._configured_int       # a v3 master advertises its own interval
        self.preempt_deadline = None
        self.master_ip = self.params.primary_ip
        self.master_priority = self.effective_priority
        self.next_deadline = now + self._configured_int
        if garp_first:
            actions = [AddVips(), SendGarp(), SendAdvert(self.effective_priority)]
        else:
            actions = [AddVips(), SendAdvert(self.effective_priority), SendGarp()]
        return actions + self._transition(now, old, State.MASTER, reason)

    def _leave_master(self, now, reason):
        self.preempt_deadline = None
        self.wants_master = False
        self.next_deadline = self._down_deadline(now)
        self._timer_cause = (NO_ADVERT_FROM, self.master_ip)
        self._live_master = False
        return [RemoveVips()] + self._transition(now, State.MASTER, State.BACKUP, reason)

    def _stop_resigned(self, now, reason):
        self.resigning = False
        target, self._resign_to = self._resign_to, State.STOPPED
        if target == State.BACKUP:
            self.preempt_deadline = None
            self.next_deadline = None if self.maintenance else self._down_deadline(now)
            self._timer_cause = "no advert from master %s within master_down_interval" % (self.master_ip,)
            self._live_master = False
            return [RemoveVips()] + self._transition(now, State.MASTER, State.BACKUP, "maintenance: " + reason)
        self.next_deadline = None
        return [RemoveVips()] + self._transition(now, State.MASTER, State.STOPPED, "resigned: " + reason)
