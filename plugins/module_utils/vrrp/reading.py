# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When the daemon reads a channel: as adverts arrive, or when a backup's timer is due (issue 11, idle CPU).

A backup's receive rule never changes its state; it only moves its Master_Down_Timer, and an advert followed
moves it later. So a channel whose instances are all backups (or in FAULT, which ignores adverts) need not be
read when each advert arrives: its adverts wait in the socket's buffer and are handled, each with the time the
kernel stamped on its arrival, before anything can act on them: before an instance of the channel acts on its
timer, before a tracking result, a reload, a control or metrics request, a dump or a stop. Handled so, they
leave every machine as reading them on arrival would have (the timers are set from the arrival times), and the
daemon wakes about once per Master_Down_Interval instead of once per advert.

The adverts that can move a timer earlier cannot wait: priority 0 (Skew_Time) and, in VRRPv3, an advert
interval other than the one the backup counts with. The channel's doorbell (netio.Channel.bell, filter in
bell.py) passes just those for the channel's VRIDs, and its ringing reads the channel at once. A drain also
runs at least every CAP_MAX seconds, sooner when datagrams come fast enough to fill half the buffer in that
time; if the kernel ever drops a datagram for a full buffer, the channel is read as adverts arrive for a while
(RETRY_FIRST, twice as long after each further overflow, up to RETRY_MAX) and then when due again, and a backup
whose deadline that drain reached waits one more advert interval before deciding.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging
from typing import Dict, Optional, Tuple

from . import bell
from . import machine
from . import netio
from .timer_selector import call_on_time

LOG = logging.getLogger("vipd")
CAP_MAX = 5.0  # the longest a quiet channel goes unread (its deadlines come sooner for any advert_int up to 1 s)
CAP_MIN = 0.005
TARGET_FILL = 0.5  # the share of the receive buffer a wait may fill (counted generously, TRUESIZE)
DRAIN_ROUNDS = 64  # reads per drain (netio.Channel.drain), each of at most netio.MAX_READS_PER_WAKEUP datagrams
RING_RETRY = 0.001  # a ring whose datagram was not yet in the data socket: read again this much later
# A channel that overflowed (or whose doorbell could not be set) is read as adverts arrive this long, then when due
# again: an overflow comes from a stall (a paused VM, a stopped process) more often than from the traffic, and reading
# on arrival for good cost a backup of 200 instances 1.5-1.7 times its CPU. Each further fallback waits twice as long.
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0
_LAZY_STATES = (machine.State.BACKUP, machine.State.FAULT)


class Quiet:
    """A channel read when due: its keys on the doorbell, when it was last read, its next forced read."""

    def __init__(self):
        self.bell: Optional[tuple] = None  # (quiet keys, vrids) on the doorbell
        self.read_at: Optional[float] = None
        self.cap_at: Optional[float] = None  # when the next forced read is due
        # the channel's one timer (its machines arm none): at their first deadline, or at the forced read if sooner
        self.due = None  # asyncio.TimerHandle
        self.due_at: Optional[float] = None
        self.retried = False
        self.insts: list = []  # the channel's instances, as of the last update()
        self.room = 0  # bytes of datagrams its socket holds (SO_RCVBUF)


class Reading:
    """The daemon's channels: which are read when due (self.quiet), and their draining."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.quiet: Dict[Tuple[str, int], Quiet] = {}
        # read as adverts arrive until then (loop time): overflowed, or the doorbell could not be set (_fall_back)
        self.broken: Dict[Tuple[str, int], float] = {}
        self.fallbacks: Dict[Tuple[str, int], int] = {}  # how often each channel fell back: the next wait doubles
        self.channel: Optional[netio.Channel] = None  # the channel being drained (Daemon.heard_now reads it)
        self._pending = None
        self._draining = False
        self.dispatched = 0  # datagrams of the current drain that were not repeats

    # ---- which channels ---------------------------------------------------------------------------

    def changed(self) -> None:
        """Something a channel's mode depends on changed (a transition, the instances, a stop): look again soon,
        once however many changes come in this pass of the loop."""
        if self._pending is not None:
            return
        if not self.quiet and all(getattr(c, "bell", None) is None for c in self.daemon.channels.values()):
            return  # no channel can be read when due
        self._pending = self.daemon.loop.call_soon(self.update)

    def instances_on(self, key) -> list:
        """The instances of a channel. A quiet channel's list is kept: every change of the instances comes with
        a transition (start, stop, retirement), which runs update()."""
        quiet = self.quiet.get(key)
        if quiet is not None:
            return quiet.insts
        d = self.daemon
        return [i for i in list(d.instances.values()) + d.retiring if i.ifname == key[0] and i.family == key[1]]

    def update(self) -> None:
        self._pending = None
        d = self.daemon
        for key in list(self.quiet):
            if key not in d.channels:
                self.forget(key)
        everyone = list(d.instances.values()) + d.retiring
        for key, channel in list(d.channels.items()):
            insts = [i for i in everyone if i.ifname == key[0] and i.family == key[1]]
            if self._may_wait(key, channel, insts):
                if key not in self.quiet:
                    self._enter(key, channel, insts)
                else:
                    self.quiet[key].insts = insts
                    self._refresh_bell(key, channel, insts)  # BACKUP <-> FAULT changes what rings
                    if key in self.quiet:
                        self._arm_due(key)  # an instance that came meanwhile has a deadline too
            elif key in self.quiet:
                self._leave(key, channel)

    def _may_wait(self, key, channel, insts) -> bool:
        if (getattr(channel, "bell", None) is None or self.daemon.stopping or not insts
                or self.broken.get(key, 0.0) > self.daemon.now()):
            return False
        for inst in insts:
            m = inst.machine
            if m is None or inst.forced_stop or m.state not in _LAZY_STATES or m.resigning:
                return False
        return True

    def _enter(self, key, channel, insts) -> None:
        d = self.daemon
        self.broken.pop(key, None)  # (a fallback's wait is over)
        quiet = self.quiet[key] = Quiet()
        quiet.insts, quiet.room = insts, channel.make_roomy()
        channel.count_drops()  # drops before now were not while adverts waited
        try:
            self._set_bell(quiet, channel, insts)
        except netio.NetIOError as exc:
            LOG.warning("%s; reading it as adverts arrive for %d s", exc, self._fall_back(key))
            del self.quiet[key]
            return
        channel.rings()  # what rang while the channel was read as adverts arrived was read then
        d.loop.remove_reader(channel.fileno())
        d.loop.add_reader(channel.bell.fileno(), self.on_bell, key)
        LOG.debug("%s (IPv%d): every instance a backup: adverts are read when a deadline is due", key[0], key[1])
        self.catch_up(key)
        for inst in insts:
            inst.reschedule()  # their own timers go: the channel's stands for them
        self._arm_due(key)

    def _leave(self, key, channel) -> None:
        self.catch_up(key)  # what waited is handled with its arrival times first
        self.forget(key)
        LOG.debug("%s (IPv%d): adverts are read as they arrive", key[0], key[1])
        self.daemon.loop.add_reader(channel.fileno(), self.daemon.on_readable, channel)

    def forget(self, key) -> None:
        """Stop reading the channel when due (it leaves, or is read as adverts arrive from now on)."""
        quiet = self.quiet.pop(key, None)
        if quiet is None:
            return
        if quiet.due is not None:
            quiet.due.cancel()
        channel = self.daemon.channels.get(key)
        if channel is not None and channel.bell is not None:
            self.daemon.loop.remove_reader(channel.bell.fileno())
        for inst in self.instances_on(key):
            inst.reschedule()  # their own timers again

    def _refresh_bell(self, key, channel, insts) -> None:
        try:
            self._set_bell(self.quiet[key], channel, insts)
        except netio.NetIOError as exc:
            LOG.warning("%s; reading it as adverts arrive for %d s", exc, self._fall_back(key))
            self.changed()

    def _fall_back(self, key) -> float:
        """Read the channel as adverts arrive for a while (RETRY_FIRST, doubled at each fallback up to RETRY_MAX);
        then update() looks again. Returns the wait."""
        count = self.fallbacks[key] = self.fallbacks.get(key, 0) + 1
        wait = min(RETRY_MAX, RETRY_FIRST * 2.0 ** min(count - 1, 32))
        until = self.broken[key] = self.daemon.now() + wait
        self.daemon.loop.call_at(until, self.changed)
        return wait

    def _set_bell(self, quiet: Quiet, channel, insts) -> None:
        keys, vrids = [], []
        for inst in insts:
            m = inst.machine
            if m is None or m.state != machine.State.BACKUP:
                continue  # FAULT ignores adverts: nothing of its VRID rings
            vrids.append(inst.cfg.vrid)
            keys.append(bell.key(inst.cfg.vrid, m.params.version, int(round(m.advert_int * 100)),
                                 inst.auth_type, int(m.advert_int)))
        wanted = (tuple(sorted(keys)), tuple(sorted(vrids)))
        if wanted != quiet.bell:
            channel.set_bell(*wanted)
            quiet.bell = wanted

    # ---- timers -----------------------------------------------------------------------------------

    def times(self, inst, deadline: Optional[float]) -> bool:
        """Whether the channel of inst is read when due, and so times its machine (InstanceRuntime.reschedule).
        A deadline earlier than the channel's timer brings it forward; during a drain, the drain sets it after."""
        if not self.quiet:
            return False
        key = (inst.ifname, inst.family)
        quiet = self.quiet.get(key)
        if quiet is None:
            return False
        if self.channel is None and deadline is not None and (quiet.due_at is None or deadline < quiet.due_at):
            self._arm_due(key)
        return True

    def _arm_due(self, key) -> None:
        """The channel's timer, on time (timer_selector.py): at its machines' first deadline, or at the forced read if
        that comes first (a deadline just after it is met by the same wakeup). One timer, so a forced read later
        than the deadlines costs no wakeup of its own."""
        quiet = self.quiet[key]
        first = None
        for inst in self.instances_on(key):
            m = inst.machine
            if m is not None and m.next_deadline is not None and (first is None or m.next_deadline < first):
                first = m.next_deadline
        forced = quiet.cap_at is not None and (first is None or quiet.cap_at < first)
        at = quiet.cap_at if forced else first
        if at == quiet.due_at and quiet.due is not None:
            return
        if quiet.due is not None:
            quiet.due.cancel()
        quiet.due, quiet.due_at = (None, None) if at is None else (call_on_time(self.daemon.loop, at, self.on_due, key), at)

    def on_due(self, key) -> None:
        """The channel's timer (its first deadline, or a forced read): what waits is read, then every machine whose
        deadline came acts."""
        quiet = self.quiet.get(key)
        if quiet is None:
            return
        quiet.due = quiet.due_at = None
        lost = self.catch_up(key)
        now = self.daemon.now()
        if quiet.due_at is not None and quiet.due_at > now and self.quiet.get(key) is quiet:
            return  # the drain set the timer later than now, so no deadline has come: a steady master, or a forced read
        acted = False
        for inst in list(self.instances_on(key)):
            m = inst.machine
            if m is not None and m.next_deadline is not None and m.next_deadline <= now:
                inst.on_timer(lost)
                acted = True
        if key in self.quiet and (acted or quiet.due is None):
            self._arm_due(key)

    # ---- draining ---------------------------------------------------------------------------------

    def catch_up(self, key=None) -> bool:
        """Handle what waits on one quiet channel (key) or on all; True if the kernel dropped datagrams meanwhile."""
        if self._draining or not self.quiet:
            return False
        self._draining = True
        lost = False
        try:
            for k in ([key] if key is not None else list(self.quiet)):
                if k in self.quiet:
                    lost = self._drain(k) or lost
        finally:
            self._draining = False
            self.channel = None
        return lost

    def _drain(self, key) -> bool:
        d = self.daemon
        quiet, channel = self.quiet[key], d.channels.get(key)
        if channel is None:
            self.forget(key)
            return False
        dropped, start = channel.dropped, d.now()
        self.channel = channel
        self.dispatched = 0
        try:
            read = channel.drain(d.now, self._dispatch, DRAIN_ROUNDS)
        except netio.NetIOError as exc:
            LOG.warning("%s", exc)
            read = channel.reads
        self.channel = None
        if key not in self.quiet:
            return False  # what was handled changed the mode (update() runs soon)
        if channel.dropped > dropped:
            LOG.warning("%s: the kernel dropped %d datagrams while adverts waited to be read; reading them as they "
                        "arrive for %d s", channel.ifname, channel.dropped - dropped, self._fall_back(key))
            self.forget(key)  # at once: the machines time themselves again, the reader is back
            self.daemon.loop.add_reader(channel.fileno(), self.daemon.on_readable, channel)
            return True
        if self.dispatched:  # not only repeats: a master followed may have changed what is quiet
            self._refresh_bell(key, channel, self.instances_on(key))
        self._next_cap(quiet, read * netio.TRUESIZE / quiet.room if quiet.room else 1.0, start)
        self._arm_due(key)  # the adverts read moved deadlines later (or, priority 0, earlier)
        quiet.retried = quiet.retried and not read
        return False

    def _dispatch(self, item) -> None:
        self.dispatched += 1
        self.daemon.dispatch(item)

    def _next_cap(self, quiet: Quiet, fill: float, start: float) -> None:
        """When the next forced read is due: soon enough that the buffer fills to TARGET_FILL at the rate of the last
        wait (fill: the share of the buffer the datagrams just read took, counted at TRUESIZE each). _arm_due()
        puts the channel's timer there if it comes before the first deadline."""
        window = start - quiet.read_at if quiet.read_at is not None else 0.0
        quiet.read_at = start
        cap = window * TARGET_FILL / fill if fill > 0 and window > 0 else CAP_MAX
        quiet.cap_at = self.daemon.now() + max(CAP_MIN, min(CAP_MAX, cap))

    def on_bell(self, key) -> None:
        d = self.daemon
        channel = d.channels.get(key)
        quiet = self.quiet.get(key)
        if channel is None or quiet is None or not channel.rings():
            return
        self.catch_up(key)
        if channel.reads == 0 and not quiet.retried and key in self.quiet:
            # rang before the data socket held the datagram (the kernel's order of delivery): read once more
            quiet.retried = True
            d.loop.call_later(RING_RETRY, self.catch_up, key)
