# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's asyncio loop: config -> one machine.Machine per instance -> netio.

Everything timed uses the loop clock, which is time.monotonic(); wall time is only
recorded for humans (last transition). Signals: SIGHUP reloads, SIGTERM/SIGINT resign
make-before-break and exit 0.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import errno
import functools
import gc
import ipaddress
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from typing import Callable, Dict, List, Optional, Tuple

from .. import addresses
from . import beat
from . import config
from . import config_routes
from . import conflicts
from . import control_commands
from . import firewall
from . import garp
from . import dumps
from . import health
from . import lifecycle
from . import machine
from . import maintenance as maintenance_mod
from . import netio
from . import notifications as notifications_mod
from . import packet
from . import pidfile as pid_file
from . import promote
from . import procprio
from . import reading
from . import routed
from . import routes
from . import script_security
from . import supervisor
from . import timer_selector
from . import vmac as vmac_mod

LOG = logging.getLogger("vipd")
# Scale (issue 11): a read that finds several datagrams queued (a master of many instances sends its adverts in a
# burst) is followed by a pause of RX_PAUSE and another read, up to RX_ROUNDS times, so that one wakeup serves the
# burst: a wakeup of the loop costs what handling several adverts does. The loop itself waits (a sleep, not a
# timer: re-arming the socket's watch cost more than it saved), so nothing else can act on a half-read burst; an
# advert is handled at most RX_PAUSE later than without the pause, and the loop is held at most RX_ROUNDS pauses.
RX_PAUSE = 0.001
RX_ROUNDS = 8
RESIGN_MARGIN = 1.0  # beyond the longest Master_Down_Interval, in case a machine never reports STOPPED
PREPARE_VIPS = 32  # an instance with this many VIPs has their netlink requests built ahead (vip_adds())
# Read once: an Enum member lookup (machine.State.MASTER) costs about 1 us in Python <= 3.11 (a descriptor on the class),
# and the path of every advert a backup hears made four of them (issue 11, third round).
_MASTER, _STOPPED = machine.State.MASTER, machine.State.STOPPED
AUTH_TYPES = {None: packet.AUTH_NONE, "PASS": packet.AUTH_PASS, "AH": packet.AUTH_AH}


def _wall() -> str:
    return conflicts.iso(time.time())


def release_memory(collect: bool = True) -> None:
    """Hand the start-up's garbage back to the system: parsing the configuration and starting hundreds of instances
    leaves freed heap that glibc keeps (about 2 MB at 200 instances, issue 11: RSS target 24 MB). No-op without
    glibc's malloc_trim()."""
    if collect:
        gc.collect()
    try:
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


def _state_name(state) -> str:
    return getattr(state, "name", None) or str(getattr(state, "value", state))


def _is_multicast(address) -> bool:
    """224.0.0.0/4 or ff00::/8, from the text (per received advert: no ipaddress object)."""
    text = str(address or "")
    if ":" in text:
        return text[:2].lower() == "ff"
    head = text.split(".", 1)[0]
    return head.isdigit() and 224 <= int(head) <= 239


def restart_key(cfg) -> tuple:
    """What an instance cannot change without a restart: its socket (interface, family), its identity on the wire
    (VRID, version) and the source address its machine compares in elections. Everything else a reload applies in place."""
    # and its VMACs (use_vmac, use_vmac_addr, per-VIP use_vmac): where its socket and VIPs live
    extra = sorted(set(k for s in list(cfg.vips) + list(cfg.excluded_vips) for k in [vmac_mod.extra_vmac_key(cfg, s)] if k))
    return (cfg.interface, cfg.vrid, cfg.family, cfg.version, cfg.unicast_src_ip, getattr(cfg, "mcast_src_ip", None),
            getattr(cfg, "use_vmac", None), bool(getattr(cfg, "vmac_xmit_base", False)), tuple(extra))


class InstanceRuntime:
    """One configured instance: its machine, its counters, the VIPs it holds.

    Trackers (health.py: checks, links, files, processes) feed apply_tracking(); the supervisor (supervisor.py)
    decides what a result, a start, a reload or a transition means, and Daemon.carry_out() applies its decisions.
    """
    # RSS (issue 11): 39 attributes are more than an instance dict shares keys for (30 in CPython 3.11), so each
    # instance had a dict of its own, about 1.6 KB; slots take 8 bytes each. "__dict__" keeps any other attribute
    # (a test's, a hook's) working.
    __slots__ = ("_advert_cache", "_advertised", "_checked", "_conflict_last", "_conflict_ref", "_lower_garp_handle",
                 "_phase", "_quiet", "_timer_at", "_vip_adds", "_garp_plan", "auth_data", "auth_type", "cfg", "conflicts",
                 "counters", "daemon", "drops", "extra_vmacs", "family", "fault_causes", "forced_stop", "fw_blocked",
                 "garp_handles", "held", "ifname", "last_transition", "machine", "name", "removed", "routes_held",
                 "src_ip", "stale_vips", "timer", "tracking", "transition_pairs", "unicast", "vips_held", "vmac",
                 "withdraw_handle", "__dict__", "__weakref__")

    def __init__(self, daemon: "Daemon", cfg):
        self.daemon = daemon
        self.cfg = cfg
        self.name = cfg.name
        self.family = cfg.family
        self.ifname = cfg.interface
        self.unicast = bool(cfg.unicast_peers)
        self.machine = None
        self.src_ip: Optional[str] = None
        self.timer: Optional[asyncio.TimerHandle] = None
        self._timer_at = 0.0  # when self.timer runs (set with it)
        self.garp_handles: List[asyncio.Handle] = []
        self.vips_held: List[str] = []
        self.routes_held: Tuple[list, list] = ([], [])  # virtual_routes / virtual_rules installed as master
        self.fw_blocked: List[str] = []  # VIPs in the accept-mode drop set (no_accept master)
        self._vip_adds: Optional[tuple] = None  # (cfg, VMACs, netio.VipAdds) built ahead: see vip_adds()
        self._garp_plan: Optional[tuple] = None  # (cfg, global cfg, VMACs, plan) built ahead: see garp_plan()
        self.vmac: Optional[str] = None  # use_vmac: the macvlan holding the VIPs (see setup_vmac)
        self.extra_vmacs: Dict[Tuple[str, int], str] = {}  # (base, family) -> VMAC of per-VIP use_vmac / use_vmac_addr
        self.counters = {"adverts_in": 0, "adverts_out": 0, "transitions": 0, "became_master": 0, "garps_sent": 0,
                         "send_errors": 0, "priority_zero_in": 0, "priority_zero_out": 0, "released_master": 0}
        self.drops: Dict[str, int] = {}
        self.transition_pairs: Dict[str, int] = {}  # "OLD->NEW" -> count (metrics: transitions by from/to)
        self.conflicts = conflicts.ConflictTable()  # adverts for our VRID from a differently configured group
        self._conflict_ref: Optional[conflicts.Reference] = None  # our own advert's fields, built on first use
        self._conflict_last: Optional[tuple] = None  # (advert, reference, differences) of the last check_conflict()
        self.last_transition: Optional[dict] = None
        self.stale_vips: List[str] = []
        self.forced_stop = False  # stopped by the daemon itself (reload), not by the machine
        self.removed = False  # removed from the configuration by a reload (keepalived notify_deleted)
        self.tracking = None  # tracking.InstanceTracking, filled by health.Health.attach()
        # set by Daemon.carry_out() from supervisor decisions (and by setup_vmac()):
        self.held = False  # keepalived's INIT: waiting for the first result of a weight-0 check
        self.fault_causes: Dict[str, str] = {}  # "config" | "vmac" | "socket" | "source" | "tracking" | "group" -> reason; FAULT until empty
        self.auth_type = AUTH_TYPES.get(cfg.auth_type, packet.AUTH_NONE)
        self.auth_data = packet.auth_pass_bytes(cfg.auth_pass or "") if self.auth_type == packet.AUTH_PASS else b""
        # (priority, interval_cs, src_ip) -> [(frame, dst)]: an idle master re-sends the same bytes every interval
        self._advert_cache: Dict[tuple, list] = {}
        self._lower_garp_handle: Optional[asyncio.TimerHandle] = None
        self._phase: Optional[tuple] = None  # (became_master, interval, deadline) at the last align_master() scan
        self.withdraw_handle: Optional[asyncio.TimerHandle] = None  # vipd_routed: route kept after resigning
        self._advertised: Optional[tuple] = None  # (cfg, addresses, their set), see advertised_addresses()
        self._checked: Optional[tuple] = None  # (received, cfg, drop reason or None), see validate()
        self._quiet: Optional[tuple] = None  # (received, cfg, src_ip) of the last advert that passed clean, see heard_again()

    # ---- identity ------------------------------------------------------------------------------------

    @property
    def key(self) -> Tuple[str, int, int]:
        return (self.ifname, self.cfg.vrid, self.family)

    def all_vip_specs(self):
        return list(self.cfg.vips) + list(self.cfg.excluded_vips)

    def held_specs(self, on: Optional[str] = None) -> list:
        """The VIP / eVIP specs this instance holds now (on the device ``on`` only, when given)."""
        held = set(self.vips_held)  # a set, as in add_vips()
        return [s for s in self.all_vip_specs() if s.cidr in held and (on is None or self.vip_dev(s) == on)]

    def vip_dev(self, spec) -> str:
        """keepalived vrrp_complete_instance(): a VIP without dev, or with the instance's interface, goes on the
        VMAC when it is of the instance's family; one of the other family stays on the interface; per-VIP
        use_vmac / use_vmac_addr put a VIP on a VMAC of its own interface (vmac.extra_vmac_key)."""
        key = vmac_mod.extra_vmac_key(self.cfg, spec)
        if key is not None and key in self.extra_vmacs:
            return self.extra_vmacs[key]
        if spec.dev and spec.dev != self.cfg.interface:
            return spec.dev
        if self.vmac and spec.family == self.family:
            return self.vmac
        return self.cfg.interface

    def setup_vmac(self, taken=()) -> None:
        """use_vmac: create (or keep) the macvlan with the virtual MAC before the instance starts (and those of
        per-VIP use_vmac / use_vmac_addr)."""
        name = getattr(self.cfg, "use_vmac", None)
        if name is not None:
            self.setup_instance_vmac(name, taken)
        taken = list(taken) + ([self.vmac] if self.vmac else [])
        for spec in self.all_vip_specs():
            key = vmac_mod.extra_vmac_key(self.cfg, spec)
            if key is None or key in self.extra_vmacs:
                continue
            base, family = key
            extra = vmac_mod.default_name(self.cfg.vrid, taken + list(self.extra_vmacs.values()))
            mac = vmac_mod.vmac_mac(self.cfg.vrid, family)
            try:
                self.daemon.vmacs.ensure(base, extra, mac, family, self.link_local_of(base) if family == 6 else None)
            except vmac_mod.VmacError as exc:
                LOG.error("%s: %s", self.name, exc)
                self.fault_causes["vmac"] = str(exc)
                continue
            self.extra_vmacs[key] = extra
            LOG.info("%s: VMAC %s (%s) on %s for its IPv%d addresses there", self.name, extra, mac, base, family)

    def setup_instance_vmac(self, name, taken) -> None:
        self.vmac = name or vmac_mod.default_name(self.cfg.vrid, taken)
        try:
            self.daemon.vmacs.ensure(self.cfg.interface, self.vmac, vmac_mod.vmac_mac(self.cfg.vrid, self.family), self.family,
                                     self.vmac_link_local())
            LOG.info("%s: VMAC %s (%s) on %s", self.name, self.vmac, vmac_mod.vmac_mac(self.cfg.vrid, self.family), self.cfg.interface)
        except vmac_mod.VmacError as exc:
            LOG.error("%s: %s", self.name, exc)
            self.fault_causes["vmac"] = str(exc)
            return
        # As keepalived, the VRRP socket is on the VMAC (a multicast frame whose source is a local macvlan's MAC,
        # the peer's adverts, is delivered to that macvlan only), or on the base interface with vmac_xmit_base.
        if not getattr(self.cfg, "vmac_xmit_base", False):
            self.ifname = self.vmac

    def configured_source(self) -> Optional[str]:
        return self.cfg.unicast_src_ip or getattr(self.cfg, "mcast_src_ip", None)

    def interface_source(self, snapshot=None, keep: Optional[str] = None) -> Optional[str]:
        """The source an instance without a configured one sends from: its interface's primary address (IPv6: its
        link-local one), never one of its VIPs; ``keep`` while it is still there. Raises when the interface is gone."""
        vip_ips = [netio.normalize_cidr(s.cidr)[1] for s in self.all_vip_specs()]
        return netio.primary_address(self.cfg.interface, self.family, exclude=vip_ips, snapshot=snapshot, keep=keep)

    def check_source(self, snapshot=None) -> None:
        """keepalived: an instance without a configured source sends from its interface's primary address (IPv6: its
        link-local one). When that address goes (the interface renumbered), the next one is taken; with none left the
        instance is in FAULT until one comes (supervisor.on_source). Before, vipd went on sending from an address it
        no longer had, and stayed MASTER where keepalived went FAULT."""
        try:
            src = self.interface_source(snapshot, keep=self.src_ip)
        except Exception:  # pylint: disable=broad-except  # interface gone: its link events put the instance in FAULT
            return
        if src and src != self.src_ip:
            LOG.warning("%s: adverts now leave from %s (%s)", self.name, src, "%s is no longer on %s" % (
                self.src_ip, self.cfg.interface) if self.src_ip else "the first address on %s" % self.cfg.interface)
            self.src_ip = src
            self.machine.set_primary(src)
        why = None
        if not src:
            why = "no IPv%d address on %s" % (self.family, self.cfg.interface)
        elif (self.ifname, self.family) not in self.daemon.channels:
            why = "no usable socket on %s" % self.ifname
        self.daemon.carry_out(self.daemon.supervisor.on_source(self.name, self.view(), self.daemon.views(), why,
                                                               self.daemon.now()), self)

    def vips_lost(self, specs) -> None:
        """Someone deleted these held VIPs (or the device they were on): a master steps back, as keepalived's
        netlink_if_address_filter() (set_vrrp_backup, Daemon.step_back)."""
        gone = set(s.cidr for s in specs)
        self.vips_held = [c for c in self.vips_held if c not in gone]
        LOG.warning("%s: VIP %s deleted from %s; leaving MASTER (as keepalived)", self.name, specs[0].cidr, self.vip_dev(specs[0]))
        self.daemon.step_back(self, "VIP %s deleted" % specs[0].cidr)

    def repair_vmac(self, name: str) -> None:
        """Make this instance's VMAC ``name`` again: deleted behind our back, or with its base interface (keepalived
        recreates its VMACs too). When it cannot be made now (its base is missing), its base's return repairs it."""
        if name == self.vmac:
            base, family = self.cfg.interface, self.family
        else:
            keys = [key for key, extra in self.extra_vmacs.items() if extra == name]
            if not keys:
                return
            base, family = keys[0]
        try:
            link_local = (self.vmac_link_local() if name == self.vmac else self.link_local_of(base)) if family == 6 else None
            self.daemon.vmacs.ensure(base, name, vmac_mod.vmac_mac(self.cfg.vrid, family), family, link_local)
        except vmac_mod.VmacError as exc:
            LOG.warning("%s: VMAC %s is gone and cannot be made again yet: %s", self.name, name, exc)
            return
        LOG.warning("%s: VMAC %s on %s was deleted: made again", self.name, name, base)

    def vmac_link_local(self) -> Optional[str]:
        """IPv6 use_vmac without vmac_xmit_base (keepalived set_link_local_address()): the configured source, else
        the base interface's link-local address, else the EUI-64 address of its MAC; None otherwise."""
        if self.family != 6 or getattr(self.cfg, "vmac_xmit_base", False):
            return None
        for configured in (self.cfg.unicast_src_ip, self.cfg.mcast_src_ip):
            if configured:
                return configured
        return self.link_local_of(self.cfg.interface)

    @staticmethod
    def link_local_of(base) -> str:
        """The base interface's link-local address, else the EUI-64 one of its MAC (keepalived's VMAC address)."""
        try:
            found = netio.primary_address(base, 6)
            return found or vmac_mod.link_local_of(addresses.link_mac(base))
        except (netio.NetIOError, addresses.AddressError, ValueError, IndexError) as exc:
            raise vmac_mod.VmacError("no link-local address for the VMAC of %s: %s" % (base, exc))

    def advertised_addresses(self) -> Tuple[str, ...]:
        # Excluded VIPs are held but never advertised; a v2/v4 advert carries IPv4 addresses only.
        # Computed once per configuration: every received advert is checked against it (issue 11: parsing the VIPs
        # with ipaddress for each advert was most of a backup's work per advert).
        cached = self._advertised
        if cached is not None and cached[0] is self.cfg:
            return cached[1]
        out = []
        for spec in self.cfg.vips:
            ip = ipaddress.ip_interface(spec.cidr).ip
            if ip.version == self.family:
                out.append(str(ip))
        self._advertised = (self.cfg, tuple(out[:255]), frozenset(out[:255]))
        return self._advertised[1]

    @property
    def state(self):
        if self.forced_stop:
            return machine.State.STOPPED
        return self.machine.state if self.machine else machine.State.INIT

    # ---- lifecycle -----------------------------------------------------------------------------------

    def start(self, now: float, channel_ok: bool, snapshot: Optional[netio.AddressSnapshot] = None) -> None:
        # snapshot: the addresses as they were before this batch of starts, read once by start_instances() (a dump
        # per instance made starting N instances quadratic, issue 11); None asks the kernel here.
        if self.cfg.priority < 255:
            # A backup parses its VIPs now, while nothing waits for them: its takeover only looks them up (issue 11).
            for spec in self.all_vip_specs():
                try:
                    netio.prepare_vip(spec.cidr)
                except (ValueError, netio.NetIOError):
                    pass  # reported where the VIP is used
        self.stale_vips = [s.cidr for s in self.all_vip_specs() if netio.vip_present(self.vip_dev(s), s.cidr, snapshot)]
        self.src_ip = self.configured_source()
        if not self.src_ip:
            try:
                self.src_ip = self.interface_source(snapshot)
            except Exception as exc:  # interface gone: the instance goes to FAULT below
                LOG.error("%s: cannot read addresses of %s: %s", self.name, self.ifname, exc)
        # machine.start() puts every non-owner in BACKUP (keepalived); start_state only tunes preempt as `state MASTER` does.
        if self.stale_vips and self.cfg.priority < 255:
            # A crashed run may have left them: never assume we own them (the peer may be master now).
            LOG.warning("%s: VIP(s) %s already present at start; starting as BACKUP", self.name, ", ".join(self.stale_vips))
        self.machine = machine.Machine(self.params())
        self.machine.delayed_start = self.daemon.startup_until
        self.machine.maintenance = self.daemon.maintenance.covers(self.name)  # persisted: survives restarts
        self.machine.group_gate = self._sync_gate
        LOG.info("%s: starting on %s vrid %d v%d prio %d from %s (%s)", self.name, self.ifname, self.cfg.vrid, self.cfg.version,
                 self.cfg.priority, self.src_ip or "?", "unicast to " + ",".join(self.cfg.unicast_peers) if self.unicast else "multicast")
        ev = self.daemon.health.attach(self)
        self.daemon.carry_out(self.daemon.supervisor.on_start(self.name, self.cfg, ev, self.view(), bool(channel_ok and self.src_ip),
                                                              self.ifname, self.machine.params.start_mode, now), self)

    def view(self) -> supervisor.View:
        """This instance as the supervisor reads it."""
        m = self.machine
        return supervisor.View(self.state, m.effective_priority if m else self.cfg.priority, bool(m and m.wants_master),
                               bool(m and m.resigning), m is not None, self.forced_stop, self.fault_causes, self.held)

    def _sync_gate(self, _machine) -> bool:
        """keepalived vrrp_sync_can_goto_master(): outside a sync group always; inside, when the group is MASTER
        already or every other member wants MASTER too."""
        ok, why = self.daemon.supervisor.can_goto_master(self.name, self.daemon.views())
        if not ok:
            LOG.debug("%s", why)
        return ok

    def params(self) -> machine.Params:
        cfg = self.cfg
        start_state = machine.State.MASTER if cfg.state == "MASTER" else machine.State.BACKUP
        return machine.Params(vrid=cfg.vrid, priority=cfg.priority, advert_int=float(cfg.advert_int), version=cfg.version,
                              preempt=not cfg.nopreempt, preempt_delay=float(cfg.preempt_delay or 0.0),
                              primary_ip=self.src_ip or ("0.0.0.0" if self.family == 4 else "::"), start_state=start_state,
                              lower_prio_advert=not getattr(cfg, "lower_prio_no_advert", False),
                              lower_prio_garp=int(getattr(cfg, "garp_lower_prio_repeat", 5) or 0) > 0,
                              higher_prio_send_advert=bool(getattr(cfg, "higher_prio_send_advert", False)),
                              down_timer_adverts=int(getattr(cfg, "down_timer_adverts", 3) or 3),
                              start_mode=supervisor.start_mode(self.daemon.cfg, self.name))

    def update_in_place(self, cfg) -> None:
        """A reload changed what can change without a restart: VIPs, priority, timers, tracking, auth, peers, hooks.

        The machine keeps its state: a master stays master with its VIPs (new ones added and announced,
        dropped ones removed) and advertises a new priority at once; a backup keeps waiting. Tracking is
        rebuilt by health.reattach() right after.
        """
        old_specs = dict((s.cidr, self.vip_dev(s)) for s in self.all_vip_specs() if routed.of(self.cfg) is None)
        self.cfg = cfg
        self.unicast = bool(cfg.unicast_peers)
        self.auth_type = AUTH_TYPES.get(cfg.auth_type, packet.AUTH_NONE)
        self.auth_data = packet.auth_pass_bytes(cfg.auth_pass or "") if self.auth_type == packet.AUTH_PASS else b""
        self._advert_cache.clear()
        self._conflict_ref = None
        self.conflicts.clear()  # recorded against the old configuration
        new_specs = dict((s.cidr, self.vip_dev(s)) for s in self.all_vip_specs() if routed.of(cfg) is None)
        if self.machine is None:
            return
        # Drop VIPs that left the configuration (or moved to another device) first, then add the new ones; each
        # in one netlink exchange (issue 11: a dump per removed VIP).
        gone = [c for c in self.vips_held if new_specs.get(c) != old_specs.get(c)]
        for cidr, result in zip(gone, netio.vip_remove_many([(old_specs.get(c) or self.ifname, c) for c in gone])):
            if isinstance(result, Exception):
                LOG.error("%s: cannot remove VIP %s: %s", self.name, cidr, result)
            else:
                LOG.info("%s: VIP %s removed (no longer configured)", self.name, cidr)
        gone_set = set(gone)
        self.vips_held = [c for c in self.vips_held if c not in gone_set]
        held = set(self.vips_held)
        added = [s for s in self.all_vip_specs() if s.cidr in new_specs and s.cidr not in held]
        if self.state == machine.State.MASTER and not self.machine.resigning and added:
            results = netio.vip_add_many([self.vip_add_item(s) for s in added])
            new = [s for s, result in zip(added, results) if not isinstance(result, Exception)]
            for spec, result in zip(added, results):
                if isinstance(result, Exception):
                    LOG.error("%s: cannot add VIP %s on %s: %s", self.name, spec.cidr, self.vip_dev(spec), result)
            self.vips_held.extend(s.cidr for s in new)
            if new:  # keepalived's order: every new VIP's first GARP before any second one
                sent, errors = netio.announce_many([(self.vip_dev(s), s.cidr) for s in new], int(cfg.garp_master_repeat or 0))
                self.counters["garps_sent"] += sent
                for i, exc in errors:
                    LOG.error("%s: cannot announce VIP %s: %s", self.name, new[i].cidr, exc)
                for spec in new:
                    LOG.info("%s: VIP %s added by reload", self.name, spec.cidr)
        if routed.of(cfg) is not None:  # routed VIPs are the routes handled next
            self.vips_held = [s.cidr for s in self.all_vip_specs()] if self.state == machine.State.MASTER and not self.machine.resigning else []
        # virtual_routes / virtual_rules: drop what left the configuration, add what is new while master.
        self.remove_routes((config_routes.routes_of(cfg, "virtual_routes") + routed.routes_of(cfg), config_routes.routes_of(cfg, "virtual_rules")))
        if self.state == machine.State.MASTER and not self.machine.resigning:
            self.add_routes()
            self.sync_firewall(True)
        ev = self.daemon.health.attach(self)
        old_prio = self.machine.effective_priority
        self.execute(self.machine.reconfigure(self.daemon.now(), self.params(), ev.priority))
        if self.machine.effective_priority != old_prio:
            LOG.info("%s: priority %d -> %d by reload (%s keeps its state)", self.name, old_prio, self.machine.effective_priority,
                     _state_name(self.state))
        # unicast_fault_no_peer: peers added by the reload clear the config fault, peers all removed set it
        self.daemon.carry_out(self.daemon.supervisor.on_reload(self.name, self.cfg, self.view(), self.daemon.views(),
                                                               self.daemon.now()), self)
        self.ready_for_takeover()  # the VIPs may have changed: the requests kept were for the old config

    def apply_tracking(self, ev) -> None:
        """New tracking result (from health.py): the supervisor decides priority, FAULT, held INIT, recovery."""
        d = self.daemon
        d.reading.catch_up()  # adverts that arrived before it, first
        d.carry_out(d.supervisor.on_tracking(self.name, self.cfg, ev, self.view(), d.views(), d.stopping, d.now()), self)

    def stop_now(self, reason: str) -> None:
        """Immediate stop (reload of a changed instance): priority 0 if master, VIPs out, timers off."""
        if self.machine is not None and self.state == machine.State.MASTER:
            self.send_advert(0)
        self.cancel_timers()
        self.remove_vips()
        old = self.state
        self.forced_stop = True
        LOG.info("%s: %s -> STOPPED (%s)", self.name, _state_name(old), reason)
        self.daemon.transitioned(self, old, machine.State.STOPPED, reason)

    def cancel_timers(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.withdraw_handle is not None:
            self.withdraw_handle.cancel()
            self.withdraw_handle = None
        self.cancel_garps()

    def withdraw_later(self, delay: float) -> None:
        """vipd_routed make-before-break: the new master is heard, but its route may not have reached the network
        yet. This resigning master keeps announcing `withdraw_delay` longer, withdraws its route, then keeps
        accepting `withdraw_delay` more what is still on its way (the daemon waits for both)."""
        LOG.info("%s: new master heard; withdrawing the route in %gs", self.name, delay)
        self.withdraw_handle = self.daemon.loop.call_later(delay, self._withdraw_route, delay)

    def _withdraw_route(self, delay: float) -> None:
        self.remove_routes(keep=(routed.accept_routes(self.cfg), ()))
        LOG.info("%s: route withdrawn; VIPs released in %gs", self.name, delay)
        self.withdraw_handle = self.daemon.loop.call_later(delay, self._withdraw_now)

    def _withdraw_now(self) -> None:
        self.withdraw_handle = None
        self.remove_vips()
        self.daemon._check_stopped()  # pylint: disable=protected-access

    def cancel_garps(self) -> None:
        for handle in self.garp_handles:
            handle.cancel()
        self.garp_handles = []
        self.daemon.pacer.cancel(self)  # paced announcements still waiting (garp.py)

    # ---- machine plumbing ----------------------------------------------------------------------------

    def resign(self) -> None:
        self.execute(self.machine.resign(self.daemon.now()))

    def execute(self, actions) -> None:
        # machine emits [AddVips, SendAdvert, SendGarp, Transition] on becoming master: advert before GARP, as keepalived.
        for action in actions or []:
            if isinstance(action, machine.SendAdvert):
                self.send_advert(action.priority)
            elif isinstance(action, machine.AddVips):
                self.add_vips()
            elif isinstance(action, machine.RemoveVips):
                self.cancel_garps()
                if self.daemon.stopping and routed.withdraw_delay(self.cfg) > 0 and self.vips_held:
                    self.withdraw_later(routed.withdraw_delay(self.cfg))
                else:
                    self.remove_vips()
            elif isinstance(action, machine.SendGarp):
                if action.kind == "lower_prio":
                    self.lower_prio_garp()
                else:
                    self.start_garp_schedule()
            elif isinstance(action, machine.Transition):
                self.on_transition(action)
            else:
                LOG.debug("%s: ignoring unknown action %r", self.name, action)
        self.daemon.align_master(self)
        self.reschedule()

    def reschedule(self, now: Optional[float] = None) -> None:
        m = self.machine
        deadline = m.next_deadline if m else None
        if self.daemon.reading.times(self, deadline):
            # its channel is read when due (reading.py): one timer for the channel, at its first deadline
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            return
        if self.timer is not None:
            # Scale (issue 11): a backup's deadline moves later with every advert it hears. A timer armed no later
            # than the deadline is kept while it cannot fire before the next advert is due (1.5 intervals away): a
            # new heap entry every second or third advert instead of one per advert (200 a second for a backup of
            # 200 instances), and no wakeup before the deadline as long as the master speaks (an early one, when
            # an advert is late, only re-arms: see on_timer).
            at = self._timer_at
            if deadline is not None and at <= deadline:
                if at == deadline or at - (self.daemon.now() if now is None else now) >= 1.5 * m.advert_int:
                    return
            self.timer.cancel()
            self.timer = None
        if deadline is not None:
            self._timer_at = deadline
            # a master's deadlines are on a shared phase (machine.py, Daemon.align_master): one loop timer for all
            # masters due at that instant (beat.py); a backup's deadline is its own, and run on time (timer_selector.py)
            if m.state == _MASTER:
                self.timer = self.daemon.beats.call_at(deadline, self.on_timer)
            else:
                self.timer = timer_selector.call_on_time(self.daemon.loop, deadline, self.on_timer)

    def on_timer(self, lost: bool = False) -> None:
        """The machine's deadline came (lost: the drain before it lost datagrams, see reading.py)."""
        if self.timer is not None:
            self.timer.cancel()  # run by the channel's timer (reading.py), not by this one
            self.timer = None
        d = self.daemon
        # A channel read when due (reading.py): its waiting adverts first, with their arrival times. A sync group's
        # gate reads its other members' wishes, which adverts on their channels change: those too.
        lost = d.reading.catch_up(None if self.machine.group_gate is not None else (self.ifname, self.family)) or lost
        now = d.now()
        deadline = self.machine.next_deadline
        if deadline is None:
            return
        if lost and now >= deadline:
            # adverts were lost to a full buffer: the master may have spoken. One more interval to hear it.
            if self.timer is not None:
                self.timer.cancel()
            self._timer_at = now + self.machine.advert_int
            self.timer = timer_selector.call_on_time(d.loop, self._timer_at, self.on_timer)
            return
        if now < deadline:  # the loop may wake a hair early
            self.reschedule()
            return
        if self.daemon.priority is not None:
            self.daemon.priority.late(now - deadline)  # keepalived's max_auto_priority
        self.execute(self.machine.on_timer(now))

    def on_transition(self, action) -> None:
        old, new = action.old, action.new
        self.counters["transitions"] += 1
        pair = "%s->%s" % (_state_name(old), _state_name(new))
        self.transition_pairs[pair] = self.transition_pairs.get(pair, 0) + 1
        if new == machine.State.MASTER:
            self.counters["became_master"] += 1
        elif old == machine.State.MASTER:
            self.counters["released_master"] += 1
        self.last_transition = {"time": _wall(), "monotonic": self.daemon.now(), "old": _state_name(old), "new": _state_name(new),
                                "reason": str(action.reason)}
        LOG.info("%s: %s -> %s (%s)", self.name, _state_name(old), _state_name(new), action.reason)
        if new in (machine.State.BACKUP, machine.State.FAULT) and old != machine.State.MASTER:
            # As keepalived: entering BACKUP removes VIPs still configured on the interface (left by a crashed run).
            # Leaving INIT, those are the stale_vips start() just found (issue 11: not a dump per VIP per instance).
            self.remove_stale(self.stale_vips if old == machine.State.INIT else None)
        self.ready_for_takeover()
        self.daemon.transitioned(self, old, new, action.reason)

    # ---- wire ----------------------------------------------------------------------------------------

    def advert_frames(self, channel, priority: int) -> list:
        """[(frame, dst)] for this priority, encoded once per (priority, interval, source) and then reused."""
        interval = self.machine.advert_int if self.machine else self.cfg.advert_int
        key = (priority, int(round(float(interval) * 100)), self.src_ip, channel, self.daemon.mcast_group(self.family))
        frames = self._advert_cache.get(key)
        if frames is not None:
            return frames
        advert = packet.Advert(version=self.cfg.version, vrid=self.cfg.vrid, priority=priority,
                               interval_cs=key[1], addresses=self.advertised_addresses(),
                               auth_type=self.auth_type if self.cfg.version == 2 else packet.AUTH_NONE,
                               auth_data=self.auth_data if self.cfg.version == 2 else b"", family=self.family)
        group = self.daemon.mcast_group(self.family)
        frames = []
        for dst in (self.cfg.unicast_peers or [group]):
            payload = packet.encode(advert, self.src_ip, dst, pseudo_header_checksum=(self.cfg.v3_checksum != "plain"))
            frames.append((channel.frame(payload, self.src_ip, dst, ttl=self.advert_ttl()), dst))
        if len(self._advert_cache) >= 8:  # priorities move with tracking: keep the few recent ones
            self._advert_cache.clear()
        self._advert_cache[key] = frames
        return frames

    def advert_ttl(self) -> int:
        """TTL / hop limit of our adverts: 255, or unicast_ttl for unicast peers (keepalived 2.2.7)."""
        ttl = getattr(self.cfg, "unicast_ttl", None)
        return ttl if (ttl is not None and self.unicast) else packet.VRRP_TTL

    def send_advert(self, priority: int) -> None:
        channel = self.daemon.channels.get((self.ifname, self.family))
        if channel is None or not self.src_ip:
            return
        for frame, dst in self.advert_frames(channel, priority):
            try:
                channel.send_frame(frame, self.src_ip, dst, ttl=self.advert_ttl())
                self.counters["adverts_out"] += 1
                if priority == 0:
                    self.counters["priority_zero_out"] += 1
            except netio.NetIOError as exc:
                self.counters["send_errors"] += 1
                # Rate-limited by nature (once per advert interval); debug once the link is known bad.
                (LOG.warning if self.counters["send_errors"] in (1, 10, 100, 1000) else LOG.debug)("%s: %s", self.name, exc)

    def validate(self, rec) -> Optional[str]:
        """Instance-level checks after packet.decode; returns a drop reason or None.

        Scale (issue 11): netio hands over the same Received object for the same bytes (its decode cache), and every
        check but skip_check_adv_addr's exemption depends only on that packet and this configuration. So the result
        for the last packet is kept per configuration; the exemption, which depends on the state, is applied each time.
        """
        checked = self._checked
        if checked is not None and checked[0] is rec and checked[1] is self.cfg:
            reason = checked[2]
        else:
            reason = self._validate(rec)
            self._checked = (rec, self.cfg, reason)
        # skip_check_adv_addr spares the address-list check and the check_unicast_src one after it (keepalived order);
        # a routed instance's own peer rule is not spared.
        spared = reason in ("addr_count", "addr_list") or (reason == "peer" and routed.of(self.cfg) is None)
        if spared and self._skips_address_check(rec):
            return None
        return reason

    def _validate(self, rec) -> Optional[str]:
        advert = rec.advert
        if self.unicast:
            if routed.of(self.cfg) is not None:
                # vipd_routed (our block): off-link peers are accepted only from the listed peers and only as far
                # as min_ttl allows (default 255, the RFC rule); plain unicast follows keepalived (below, _address_list_error).
                if rec.src not in self.cfg.unicast_peers:
                    return "peer"
                if routed.ttl_drop(self.cfg, rec.ttl):
                    return "ttl"
        elif rec.ttl != 255:
            return "ttl"  # (plain unicast peers are exempt, as in keepalived)
        if _is_multicast(rec.dst) == self.unicast:
            # keepalived vrrp_check_packet(): "Expected unicast packet but received multicast packet" (and vice versa)
            return "cast"
        if advert.family != self.family:
            return "family"
        try:
            packet.check_advert(advert, self.cfg.vrid, self.cfg.version, auth_type=self.auth_type, auth_data=self.cfg.auth_pass or "",
                                interval_cs=int(round(float(self.cfg.advert_int) * 100)))
        except packet.PacketError as exc:
            return exc.reason
        return self._address_list_error(rec)

    def _skips_address_check(self, rec) -> bool:
        m = self.machine
        return bool(self.cfg.skip_check_adv_addr and m.state == machine.State.BACKUP and m.master_ip is not None
                    and rec.src == m.master_ip)

    def _address_list_error(self, rec) -> Optional[str]:
        """keepalived 2.2.7 vrrp_check_packet(): an advert must carry as many addresses as we advertise and each of
        ours, else it is dropped (addr_list_err), whatever the state; skip_check_adv_addr spares a backup that check
        for adverts from the master it already follows (validate(), vrrp_state_backup())."""
        ours = self.advertised_addresses()
        if len(rec.advert.addresses) != len(ours):
            return "addr_count"
        if not self._advertised[2].issubset(rec.advert.addresses):
            return "addr_list"
        # keepalived 2.2.7: the source of a unicast advert is checked only with check_unicast_src / vrrp_check_unicast_src
        if self.unicast and getattr(self.cfg, "check_unicast_src", False) and rec.src not in self.cfg.unicast_peers:
            return "peer"
        return None

    def heard_again(self, rec, index, count: int = 1) -> bool:
        """Scale (issue 11): the same decoded advert as the last one that passed every check here (netio's decode
        cache gives the same object for the same bytes), with the configuration and our address unchanged: the
        checks would pass again and record nothing, so only the machine is asked (Machine.on_repeat, which answers
        only while its own inputs are unchanged too). True if handled so; False, having done nothing, otherwise.
        A backup of 200 instances at advert_int 0.1 hears 2000 adverts a second, nearly all of them repeats.
        index: the daemon's instance index when Daemon.dispatch sent rec here (while it is still the current one,
        the same datagram would go here again). count: copies heard one after another (a timed read, netio); the
        last one's arrival is the time."""
        quiet, m, d = self._quiet, self.machine, self.daemon
        if (index is not d.key_index or self.forced_stop or quiet is None or quiet[0] is not rec or quiet[1] is not self.cfg
                or quiet[2] != self.src_ip or m is None):
            return False
        now, advert = d.heard_now(), rec.advert
        if not m.on_repeat(now, rec.src, advert.priority, advert.interval_cs):
            return False
        self.counters["adverts_in"] += count
        if d.reading.channel is None:  # (a channel being drained has its timer set after the drain: Reading._drain)
            self.reschedule(now)
        return True

    def passed_clean(self, rec) -> bool:
        """Whether rec is the last advert that passed every check here with nothing to record (see heard_again)."""
        return self._quiet is not None and self._quiet[0] is rec

    def on_advert(self, rec) -> None:
        # (a repeat of a clean advert reaches heard_again() through netio first: Daemon.dispatch marks it)
        if rec.src == self.src_ip:
            return  # our own, looped back by another socket on the link
        self.check_conflict(rec)
        reason = self.validate(rec)
        if reason:
            self.count_drop(reason, "%s from %s" % (reason, rec.src))
            return
        # quiet: no check failed (not even one skip_check_adv_addr spares) and no conflict was recorded
        clean = self._checked[2] is None and not self._conflict_last[2]
        self._quiet = (rec, self.cfg, self.src_ip) if clean else None
        self.counters["adverts_in"] += 1
        if rec.advert.priority == 0:
            self.counters["priority_zero_in"] += 1
        m = self.machine
        prio = rec.advert.priority
        # keepalived vrrp_state_master_rx(): a master hearing a lower priority runs notify_master_rx_lower_pri
        rx_lower = (m.state == _MASTER and not m.resigning and prio != 0 and
                    (prio < m.effective_priority or (prio == m.effective_priority and m._compare_ip(rec.src) < 0)))
        self.execute(m.on_advert(self.daemon.heard_now(), rec.src, prio, rec.advert.interval_cs))
        if rx_lower:
            self.daemon.carry_out(supervisor.Supervisor.rx_lower_pri_notices(self.name, self.cfg, self.machine.effective_priority))

    def check_conflict(self, rec) -> None:
        """Record an advert whose VIPs, interval, version or authentication differ from ours (conflicts.py); the
        advert itself is then handled (dropped or not) as any other."""
        ref = self._conflict_ref
        if ref is None:
            ref = self._conflict_ref = conflicts.Reference(self.cfg.version, int(round(float(self.cfg.advert_int) * 100)),
                                                           self.auth_type, self.auth_data, self.advertised_addresses())
        last = self._conflict_last
        if last is not None and last[0] is rec.advert and last[1] is ref:
            differs = last[2]  # the same decoded advert (netio's decode cache) against the same reference (round 3)
        else:
            differs = conflicts.differences(ref, rec.advert)
            self._conflict_last = (rec.advert, ref, differs)
        if differs:
            entry = self.conflicts.record(rec.src, differs, self.daemon.now())
            if entry is not None:
                LOG.warning("%s: VRID %d conflict: %s", self.name, self.cfg.vrid, conflicts.describe(entry, self.conflicts.logged(entry)))

    def count_drop(self, reason: str, detail: str = "") -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self.drops[reason] in (1, 10, 100, 1000, 10000):
            LOG.warning("%s: dropped advert (%s), %d so far", self.name, detail or reason, self.drops[reason])

    # ---- addresses -----------------------------------------------------------------------------------

    def sync_firewall(self, master: bool) -> None:
        """keepalived's vrrp_handle_accept_mode(): a no-accept master's VIPs are dropped by nftables."""
        strict = getattr(self.daemon.cfg.global_defs, "vrrp_strict", False) if self.daemon.cfg is not None else False
        want = [s.cidr for s in self.all_vip_specs()] if master and not firewall.accept_mode(self.cfg, strict) else []
        gone = [c for c in self.fw_blocked if c not in want]
        new = [c for c in want if c not in self.fw_blocked]
        try:
            if gone:
                self.daemon.firewall.unblock(gone)
            if new:
                self.daemon.firewall.block(new)
        except (firewall.FirewallError, ValueError) as exc:
            LOG.error("%s: accept mode (no_accept): %s", self.name, exc)
        self.fw_blocked = want

    def add_vips(self) -> None:
        if routed.of(self.cfg) is not None:  # vipd_routed: the VIPs are routes (add_routes), not addresses
            self.vips_held = [s.cidr for s in self.all_vip_specs()]
            self.add_routes()
            return
        self.sync_firewall(True)
        specs = self.all_vip_specs()
        # All of them in one netlink exchange (issue 11: 400 VIPs one request and socket each took 50-130 ms).
        results = self.vip_adds().run()
        held = set(self.vips_held)  # a set: with 400 VIPs, list lookups were 80,000 comparisons per takeover (issue 11)
        for spec, result in zip(specs, results):
            if isinstance(result, Exception):
                LOG.error("%s: cannot add VIP %s on %s: %s", self.name, spec.cidr, self.vip_dev(spec), result)
            elif spec.cidr not in held:
                held.add(spec.cidr)
                self.vips_held.append(spec.cidr)
        LOG.info("%s: VIPs added: %s", self.name, ", ".join(self.vips_held) or "none")
        self.add_routes()

    def vip_adds(self) -> "netio.VipAdds":
        """The netlink requests adding every VIP, in all_vip_specs() order. An instance of PREPARE_VIPS or more
        keeps them while its config and VMACs stay, and builds them when it becomes backup (issue 11: building 400
        took 6-7 ms of a takeover); netio checks the interfaces' indexes before it sends them."""
        where = (self.vmac, tuple(sorted(self.extra_vmacs.items())))
        kept = self._vip_adds
        if kept is not None and kept[0] is self.cfg and kept[1] == where:
            return kept[2]
        specs = self.all_vip_specs()
        adds = netio.prepare_vip_adds([self.vip_add_item(s) for s in specs])
        self._vip_adds = (self.cfg, where, adds) if len(specs) >= PREPARE_VIPS else None
        return adds

    def vip_add_item(self, spec) -> tuple:
        """What netio.vip_add_many() takes for one VIP."""
        return (self.vip_dev(spec), spec.cidr, spec.label, spec.brd, spec.scope, spec.netlink_options())

    def ready_for_takeover(self) -> None:
        """A backup of many VIPs builds their requests and GARP frames now, not when its master dies (see vip_adds()
        and garp_plan())."""
        if self.state == machine.State.BACKUP and routed.of(self.cfg) is None and len(self.all_vip_specs()) >= PREPARE_VIPS:
            self.vip_adds()
            self.garp_plan()[0].build()

    def add_routes(self) -> None:
        """virtual_routes then virtual_rules, added with the VIPs (keepalived vrrp_state_become_master)."""
        want = (config_routes.routes_of(self.cfg, "virtual_routes") + routed.routes_of(self.cfg),
                config_routes.routes_of(self.cfg, "virtual_rules"))
        new = ([r for r in want[0] if r not in self.routes_held[0]], [r for r in want[1] if r not in self.routes_held[1]])
        if new[0] or new[1]:
            routes.apply(new[0], new[1], True, lambda m: LOG.error("%s: %s", self.name, m))
            self.routes_held = (self.routes_held[0] + new[0], self.routes_held[1] + new[1])
            LOG.info("%s: %d virtual route(s), %d virtual rule(s) added", self.name, len(new[0]), len(new[1]))

    def remove_routes(self, keep=((), ())) -> None:
        """Delete the virtual rules then routes this instance installed (except those in keep)."""
        gone = ([r for r in self.routes_held[0] if r not in keep[0]], [r for r in self.routes_held[1] if r not in keep[1]])
        if gone[0] or gone[1]:
            routes.apply(gone[0], gone[1], False, lambda m: LOG.error("%s: %s", self.name, m))
            LOG.info("%s: %d virtual route(s), %d virtual rule(s) removed", self.name, len(gone[0]), len(gone[1]))
        self.routes_held = ([r for r in self.routes_held[0] if r in keep[0]], [r for r in self.routes_held[1] if r in keep[1]])

    def remove_vips(self) -> None:
        self.remove_routes()
        if routed.of(self.cfg) is not None:
            self.vips_held = []
            return
        specs = self.held_specs()
        removed = []
        # All of them in one dump and one netlink exchange (issue 11: a dump per VIP, 400 VIPs took 2 s).
        for spec, result in zip(specs, netio.vip_remove_many([(self.vip_dev(s), s.cidr) for s in specs])):
            if isinstance(result, Exception):
                LOG.error("%s: cannot remove VIP %s: %s", self.name, spec.cidr, result)
            else:
                removed.append(spec.cidr)
        gone = set(removed)
        self.vips_held = [c for c in self.vips_held if c not in gone]
        if removed:
            LOG.info("%s: VIPs removed: %s", self.name, ", ".join(removed))
        if self.fw_blocked:
            self.sync_firewall(False)

    def remove_stale(self, only: Optional[List[str]] = None) -> None:
        """only: the VIPs known to be present (None: any configured VIP may be, each is looked up)."""
        if self.daemon.vip_owned_elsewhere is None:
            return
        if not self.routes_held[0]:  # vipd_routed: a host route left by a crashed run would still be announced
            routes.apply(routed.routes_of(self.cfg), (), False, lambda m: LOG.error("%s: %s", self.name, m))
        for spec in self.all_vip_specs():
            if only is not None and spec.cidr not in only:
                continue
            if spec.cidr in self.vips_held or self.daemon.vip_owned_elsewhere(self, spec):
                continue
            try:
                if netio.vip_remove(self.vip_dev(spec), spec.cidr):
                    LOG.info("%s: removed VIP %s left on %s", self.name, spec.cidr, self.vip_dev(spec))
            except (netio.NetIOError, ValueError) as exc:
                LOG.error("%s: cannot remove stale VIP %s: %s", self.name, spec.cidr, exc)

    # ---- GARP / NA -----------------------------------------------------------------------------------

    def start_garp_schedule(self) -> None:
        """keepalived's pattern: a burst now, another after garp_master_delay, then optional refreshes."""
        self.cancel_garps()
        self.garp_burst(self.cfg.garp_master_repeat)
        loop = self.daemon.loop
        if self.cfg.garp_master_delay and self.cfg.garp_master_delay > 0:
            self.garp_handles.append(loop.call_later(float(self.cfg.garp_master_delay), self._delayed_garp))
        if self.cfg.garp_master_refresh and self.cfg.garp_master_refresh > 0:
            self.garp_handles.append(loop.call_later(float(self.cfg.garp_master_refresh), self._refresh_garp))
        if self.extra_if_targets():
            self.garp_handles.append(loop.call_later(float(self.cfg.garp_extra_if), self._extra_if_garp))

    def extra_if_targets(self) -> List[Tuple[str, str]]:
        """garp_extra_if N [all] (keepalived vrrp_send_vmac_update()): (interface, VIP) of the first held VIP on each
        VMAC of per-VIP use_vmac / use_vmac_addr, and with 'all' on each other interface; on the instance's own
        interface only with a VMAC and vmac_xmit_base (no advert shows the VMAC's MAC there). Off when every VIP
        is on the instance's interface, or without 'all' when no VIP is on a VMAC of its own (keepalived turns
        the timer off)."""
        cfg = self.cfg
        if not getattr(cfg, "garp_extra_if", 0):
            return []
        all_if = getattr(cfg, "garp_extra_if_all", False)
        own = self.vmac or cfg.interface
        ours = set(self.extra_vmacs.values()) | ({self.vmac} if self.vmac else set())
        devs = [self.vip_dev(s) for s in self.all_vip_specs()]
        extra_vmac = any(d != own and d in ours for d in devs)
        extra_if = any(d != own and d not in ours for d in devs)
        if not (extra_vmac or (extra_if and all_if)):
            return []
        out, seen = [], set()
        for spec, dev in zip(self.all_vip_specs(), devs):
            if spec.cidr not in self.vips_held or dev in seen or (dev not in ours and not all_if):
                continue
            if dev == own and not (self.vmac and cfg.vmac_xmit_base):
                continue
            seen.add(dev)
            out.append((dev, spec.cidr))
        return out

    def _extra_if_garp(self) -> None:
        if self.state != machine.State.MASTER:
            return
        for dev, cidr in self.extra_if_targets():
            self._announce(dev, cidr, 1)
        self.garp_handles.append(self.daemon.loop.call_later(float(self.cfg.garp_extra_if), self._extra_if_garp))

    def lower_prio_garp(self) -> None:
        """keepalived vrrp_state_master_rx: a master that hears a lower priority re-announces its VIPs
        (garp_lower_prio_repeat now, again after garp_lower_prio_delay), so that clients that followed the
        lower router's GARP during a split brain or a spurious takeover come back. One delayed round pending at most."""
        repeat = int(getattr(self.cfg, "garp_lower_prio_repeat", 0) or 0)
        if repeat <= 0:
            return
        LOG.info("%s: lower priority advert heard: re-announcing VIPs", self.name)
        self._garp_round(repeat)
        delay = float(getattr(self.cfg, "garp_lower_prio_delay", 0) or 0)
        pending = self._lower_garp_handle
        if delay > 0 and (pending is None or pending.cancelled() or pending not in self.garp_handles):
            self._lower_garp_handle = self.daemon.loop.call_later(delay, self._delayed_lower_garp)
            self.garp_handles.append(self._lower_garp_handle)

    def _delayed_lower_garp(self) -> None:
        if self._lower_garp_handle in self.garp_handles:
            self.garp_handles.remove(self._lower_garp_handle)
        self._lower_garp_handle = None
        if self.state == machine.State.MASTER:
            self._garp_round(int(getattr(self.cfg, "garp_lower_prio_repeat", 0) or 0))

    def _delayed_garp(self) -> None:
        if self.state == machine.State.MASTER:
            self.garp_burst(self.cfg.garp_master_repeat)

    def _refresh_garp(self) -> None:
        if self.state != machine.State.MASTER:
            return
        self.garp_burst(self.cfg.garp_master_refresh_repeat)
        self.garp_handles.append(self.daemon.loop.call_later(float(self.cfg.garp_master_refresh), self._refresh_garp))

    def garp_burst(self, repeat: int) -> None:
        repeat = int(repeat or 0)
        if repeat > 0:
            self._garp_round(repeat)

    def announce_interval(self, family: int) -> float:
        """keepalived's per-interface pacing: vrrp_garp_interval for GARPs (or this instance's garp_interval),
        vrrp_gna_interval for unsolicited NAs."""
        if family == 4:
            return float(self.cfg.garp_interval or 0.0)
        g = self.daemon.cfg.global_defs if self.daemon.cfg is not None else None
        return float(getattr(g, "vrrp_gna_interval", 0.0) or 0.0)

    def _garp_round(self, count: int) -> None:
        """``count`` announcements of every VIP held: at once, or paced per interface (garp.py) as keepalived does:
        with 400 VIPs and an interval, rounds of all VIPs at once were up to 2000 frames in a few ms (issue 11)."""
        if routed.of(self.cfg) is not None:
            return  # vipd_routed: the host route announces the VIP, nobody shares a link with it
        at_once, paced, bad = self.garp_plan()
        held = set(self.vips_held)  # as in add_vips()
        for cidr, exc in bad:
            if cidr in held:
                LOG.warning("%s: %s", self.name, exc)
        if at_once.entries:  # round after round, frames built once (netio.Announces)
            sent, errors = at_once.run(count, held)
            self.counters["garps_sent"] += sent
            for _index, exc in errors:
                LOG.warning("%s: %s", self.name, exc)
        for _round in range(count):  # keepalived's order: round after round of every address
            for dev, cidr, family, interval in paced:
                if cidr in held:
                    self.daemon.pacer.announce(self.daemon.loop, self, dev, cidr, family, interval, self._announce)

    def garp_plan(self) -> tuple:
        """Every VIP's announcement, as (netio.Announces sent at once, [(dev, cidr, family, interval)] paced,
        [(cidr, error)]); a round announces those held. An instance of PREPARE_VIPS or more keeps it while its
        config, the global one and its VMACs stay, and builds its frames when it becomes backup (issue 11: building
        400 GARP frames took 1-1.5 ms of a takeover, after the VIPs were added)."""
        where = (self.vmac, tuple(sorted(self.extra_vmacs.items())))
        kept = self._garp_plan
        if kept is not None and kept[0] is self.cfg and kept[1] is self.daemon.cfg and kept[2] == where:
            return kept[3]
        at_once, paced, bad = [], [], []
        specs = self.all_vip_specs()
        for spec in specs:
            try:
                family = netio.normalize_cidr(spec.cidr)[2]
            except ValueError as exc:
                bad.append((spec.cidr, exc))
                continue
            interval = self.announce_interval(family)
            if interval > 0:
                paced.append((self.vip_dev(spec), spec.cidr, family, interval))
            else:
                at_once.append((self.vip_dev(spec), spec.cidr))
        plan = (netio.prepare_announces(at_once), paced, bad)
        self._garp_plan = (self.cfg, self.daemon.cfg, where, plan) if len(specs) >= PREPARE_VIPS else None
        return plan

    def _announce(self, dev: str, cidr: str, count: int) -> None:
        if cidr not in self.vips_held:  # a paced one that outlived the VIP
            return
        try:
            self.counters["garps_sent"] += netio.announce_vip(dev, cidr, count)
        except (netio.NetIOError, ValueError) as exc:
            LOG.warning("%s: %s", self.name, exc)

    # ---- status --------------------------------------------------------------------------------------

    def status(self) -> dict:
        m = self.machine
        state = _state_name(self.state)
        master = self.src_ip if state == "MASTER" else (getattr(m, "master_ip", None) if m else None)
        return {
            "name": self.name, "interface": self.ifname, "family": self.family, "vrid": self.cfg.vrid, "version": self.cfg.version,
            "state": state, "priority": self.cfg.priority,
            "effective_priority": m.effective_priority if m else self.cfg.priority,
            "master": master or None, "source_ip": self.src_ip, "mode": "unicast" if self.unicast else "multicast",
            "advert_int": m.advert_int if m else self.cfg.advert_int,
            "vips": [s.cidr for s in self.cfg.vips], "excluded_vips": [s.cidr for s in self.cfg.excluded_vips],
            "vips_held": list(self.vips_held),
            "counters": dict(self.counters, drops=dict(self.drops), transitions_by=dict(self.transition_pairs),
                             conflicts=self.conflicts.total),
            "conflicts": self.conflicts.status(self.daemon.now(), time.time()),
            "last_transition": self.last_transition,
            "fault_causes": dict(self.fault_causes), "held": self.held,
            "tracking": self.daemon.health.instance_status(self),
            "maintenance": bool(m is not None and m.maintenance),
        }


_NOTICES = (supervisor.RunHook, supervisor.FifoLine, supervisor.Mail)


class _Views(Mapping):
    """name -> supervisor.View of the running instances, each built on access (an event reads a few)."""

    def __init__(self, instances: Dict[str, InstanceRuntime]):
        self._instances = instances

    def __getitem__(self, name: str) -> supervisor.View:
        return self._instances[name].view()

    def __contains__(self, name) -> bool:
        return name in self._instances

    def __iter__(self):
        return iter(self._instances)

    def __len__(self) -> int:
        return len(self._instances)


class Daemon:
    def __init__(self, config_path: str, control_socket: Optional[str] = None, pidfile: Optional[str] = None,
                 on_ready: Optional[Callable[[], object]] = None, metrics_listen: Optional[Tuple[str, int]] = None,
                 state_dir: Optional[str] = None):
        self.config_path = config_path
        self.metrics_listen = metrics_listen  # (address, port) checked by metrics_http.parse_listen(), or None
        self.metrics_server = None  # metrics_http.MetricsServer (imported only with --metrics-listen: RSS, issue 11)
        self.maintenance = maintenance_mod.Store.in_dir(state_dir)
        self.control_socket = control_socket
        self.pidfile = pidfile
        self.on_ready = on_ready
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.cfg = None
        self.instances: Dict[str, InstanceRuntime] = {}
        self.retiring: List[InstanceRuntime] = []
        self.channels: Dict[Tuple[str, int], netio.Channel] = {}
        self.channel_errors: Dict[Tuple[str, int], str] = {}
        self.interface_drops: Dict[str, Dict[str, int]] = {}
        self.stopping = False
        self.exit_code = 0
        self.done: Optional[asyncio.Future] = None
        self.control = control_commands.ControlCommands(self)
        self.health = health.Health(self)
        self.notifications = notifications_mod.Notifications()
        self.supervisor = supervisor.Supervisor()
        self.firewall = firewall.AcceptFirewall()
        self.vmacs = vmac_mod.VmacManager(mld=self.firewall)
        self.promote = promote.PromoteSecondaries()
        self.pacer = garp.Pacer()  # GARP/NA pacing per interface (vrrp_garp_interval, vrrp_gna_interval)
        self.route_monitor = None  # routes.Monitor: deletions of tracked routes and rules
        self.startup_until = 0.0  # loop time until which vrrp_startup_delay holds backups' timers
        self.priority = None  # procprio.ProcessPriority once the configuration is read
        self.started = _wall()
        self.reloads = {"ok": 0, "failed": 0}
        self.handled_signals: List[int] = []
        self.ready = False
        self.vip_owned_elsewhere = self._vip_owned_elsewhere
        self._watch_wakeup: Optional[asyncio.Event] = None  # created in main(): 3.9 binds an Event to a loop
        self.key_index: Optional[tuple] = None  # (instances, their count, retiring count, {(ifname, vrid, family): [runtime]}), see find_instance()
        self._trim_handle: Optional[asyncio.TimerHandle] = None  # see status_reply()
        self.reading = reading.Reading(self)  # which channels are read when due, not as adverts arrive
        self._stepping_back: set = set()  # the instances step_back() moves (a SyncBackup for them is not carried out)
        self._beats: Optional[beat.Beats] = None  # the masters' shared timers (beat.py), bound to self.loop

    def heard_now(self) -> float:
        """When the advert being handled arrived: its kernel stamp on a channel read when due (reading.py), the
        loop's time otherwise."""
        channel = self.reading.channel
        if channel is not None and channel.arrival is not None:
            return channel.arrival
        return self.loop.time()

    def now(self) -> float:
        return self.loop.time()  # time.monotonic()

    @property
    def beats(self) -> beat.Beats:
        """The shared timers of masters due at one instant (beat.py), on the current loop."""
        beats = self._beats
        if beats is None or beats.loop is not self.loop:
            # adverts tolerate asyncio's millisecond (phase-locked, never cumulatively late); max_auto_priority
            # counts lateness, so under it they run on time as keepalived's do (timer_selector.py)
            on_time = self.priority is not None and bool(self.priority.g.max_auto_priority)
            beats = self._beats = beat.Beats(self.loop, functools.partial(timer_selector.call_on_time, self.loop) if on_time else None)
        return beats

    # ---- the executor of supervisor decisions ----------------------------------------------------------

    def views(self) -> "_Views":
        """The running instances as the supervisor reads them (built when it looks)."""
        return _Views(self.instances)

    def transitioned(self, runtime: InstanceRuntime, old, new, reason) -> None:
        """Every state change of an instance (its machine's, or a stop by the daemon): notifications, sync group."""
        self.reading.changed()
        self.carry_out(self.supervisor.on_transition(runtime.name, runtime.cfg, runtime.view(), old, new, reason, runtime.removed,
                                                     self.views(), self.stopping, self.now()), runtime)

    def carry_out(self, decisions, origin: Optional[InstanceRuntime] = None) -> None:
        """Apply the supervisor's decisions in order: the only place they change a runtime. `origin` is the
        runtime the event came from (it may have left self.instances: a stop by reload)."""
        sup = self.supervisor
        for d in decisions:
            kind = type(d)
            if kind in _NOTICES:
                self.notifications.emit(d)
                continue
            if kind is supervisor.Log:
                (LOG.debug if d.level == "debug" else LOG.info)("%s", d.message)
                continue
            if kind is supervisor.Forced:
                with sup.forcing():
                    self.carry_out(d.decisions)
                continue
            if kind is supervisor.CheckGroup:
                self.carry_out(sup.check_group(d.group, d.reason, self.views()))
                continue
            runtime = origin if origin is not None and origin.name == d.name else self.instances.get(d.name)
            if runtime is None:
                continue
            if kind is supervisor.SetCause:
                runtime.fault_causes[d.kind] = d.reason
            elif kind is supervisor.ClearCause:
                runtime.fault_causes.pop(d.kind, None)
            elif kind is supervisor.SetHeld:
                runtime.held = d.held
            elif kind is supervisor.SetPriority:
                old = runtime.machine.effective_priority
                runtime.execute(runtime.machine.set_priority(d.at, d.priority))
                if d.notify and runtime.machine.effective_priority != old:
                    self.notifications.emit(supervisor.FifoLine("INSTANCE", runtime.name, supervisor.priority_notice(runtime.state),
                                                                runtime.machine.effective_priority))
            elif kind is supervisor.StartMachine:
                runtime.execute(runtime.machine.start(d.at))
            elif kind is supervisor.EnterFault:
                runtime.execute(runtime.machine.fault(d.at, d.reason))
            elif kind is supervisor.LeaveFault:
                runtime.execute(runtime.machine.recover(d.at))
            elif kind is supervisor.SyncBackup:
                if runtime.name not in self._stepping_back:  # (step_back() moves it itself, the quick way)
                    runtime.execute(runtime.machine.sync_backup(d.at, d.reason))
            elif kind is supervisor.SyncMaster:
                runtime.execute(runtime.machine.sync_master(d.at, d.reason))
            elif kind is supervisor.AfterStart:
                self.carry_out(sup.after_start(runtime.name, runtime.view(), self.views(), d.at), runtime)
            else:
                LOG.debug("ignoring unknown decision %r", d)

    def align_master(self, runtime: InstanceRuntime) -> None:
        """Put a master's next advert on the phase of another master with the same interval (never later).

        Masters that took over one after another (each VIP add and GARP takes a few ms) would otherwise
        keep distinct phases and wake the daemon once per instance and interval; aligned, 20 instances
        cost one wakeup per interval. At most one advert per instance comes early, once.
        """
        m = runtime.machine
        if m is None or m.state != _MASTER or m.resigning or m.next_deadline is None:
            return
        interval = m.advert_int
        # Scale (issue 11): this runs after every event, i.e. every advert a master sends; scanning all instances
        # each time cost 200 x 200 steps per interval with 200 masters. A deadline still on the phase of the last
        # scan (same mastership, same interval, a whole number of intervals later) needs no new scan.
        phase = runtime._phase
        if phase is not None and phase[0] == runtime.counters["became_master"] and phase[1] == interval:
            steps = (m.next_deadline - phase[2]) / interval
            if abs(steps - round(steps)) * interval < 1e-6:
                return
        runtime._phase = (runtime.counters["became_master"], interval, m.next_deadline)
        for other in self.instances.values():
            om = other.machine
            if other is runtime or om is None or om.state != _MASTER or om.resigning or om.next_deadline is None:
                continue
            if om.advert_int != interval:
                continue
            # the latest point of the other's phase not after our deadline
            aligned = om.next_deadline + math.floor((m.next_deadline - om.next_deadline) / interval) * interval
            if m.next_deadline - aligned > 1e-6:
                m.advance_advert(self.now(), aligned)
                runtime._phase = (runtime.counters["became_master"], interval, m.next_deadline)
            return

    # ---- channels ------------------------------------------------------------------------------------

    def ensure_channels(self, instances) -> None:
        wanted = set((i.ifname, i.family) for i in instances)
        for key in sorted(wanted):
            if key in self.channels:
                continue
            try:
                channel = netio.Channel(key[0], key[1], group=self.mcast_group(key[1]))
            except netio.NetIOError as exc:
                self.channel_errors[key] = str(exc)
                LOG.error("%s", exc)
                continue
            self.channel_errors.pop(key, None)
            self.channels[key] = channel
            self.loop.add_reader(channel.fileno(), self.on_readable, channel)
            self.reading.changed()

    def link_deleted(self, ifname: str) -> None:
        """A link is gone (health.py's link monitor): one of our VMACs is made again while its instance wants it."""
        if self.stopping or ifname not in self.vmacs.created:
            return  # vipd's own release forgets a VMAC before it deletes it
        for runtime in list(self.instances.values()):
            if ifname == runtime.vmac or ifname in runtime.extra_vmacs.values():
                lost = runtime.held_specs(on=ifname)
                if lost and runtime.state == machine.State.MASTER:  # they went with it
                    runtime.vips_lost(lost)
                runtime.repair_vmac(ifname)
                return

    def link_address_changed(self, ifname: str) -> None:
        """A link's MAC address changed under the same index (a bond's failover with fail_over_mac, a MAC set by
        hand): the masters whose VIPs are on it announce them again at once, from the new address (garp_master_repeat
        rounds, paced as at a takeover). keepalived 2.2.7 only notes the new address: its neighbours kept sending to
        the old one until their ARP entries expired or a delayed or refresh GARP came (up to a minute here)."""
        if self.stopping:
            return
        for runtime in list(self.instances.values()):
            if runtime.state != machine.State.MASTER or not runtime.vips_held:
                continue
            if runtime.held_specs(on=ifname):
                LOG.info("%s: %s has a new MAC address: announcing its VIPs again", runtime.name, ifname)
                runtime.garp_burst(runtime.cfg.garp_master_repeat or 1)

    def mcast_group(self, family: int) -> str:
        """vrrp_mcast_group4 / vrrp_mcast_group6 (keepalived's defaults 224.0.0.18 / ff02::12)."""
        g = self.cfg.global_defs if self.cfg is not None else None
        if family == 4:
            return getattr(g, "vrrp_mcast_group4", None) or packet.MCAST_GROUP4
        return getattr(g, "vrrp_mcast_group6", None) or packet.MCAST_GROUP6

    def close_unused_channels(self) -> None:
        used = set((i.ifname, i.family) for i in list(self.instances.values()) + self.retiring)
        for key in list(self.channels):
            if key not in used:
                self._close_channel(key)

    def _close_channel(self, key) -> None:
        self.reading.forget(key)
        channel = self.channels.pop(key)
        self.loop.remove_reader(channel.fileno())
        channel.close()

    def link_indexed(self, ifname: str, index: int) -> None:
        """A link of that name exists under this index (health.py's link monitor). Sockets stay bound to the index
        of the link they were opened on: a link deleted and created again (a VLAN after ifdown / ifup, a bond, a
        veth) left the channel deaf and mute, and the backup across the link took over for good: two masters
        (keepalived reopens its sockets). The channel is opened again, and one that could not be opened (the link
        was missing) is opened now."""
        for name in self.vmacs.stale_on(ifname, index):  # VMACs on a link created again went with the old one
            self.link_deleted(name)
        users = [i for i in list(self.instances.values()) + self.retiring if i.ifname == ifname]
        stale = [key for key, channel in self.channels.items() if key[0] == ifname and channel.ifindex != index]
        for key in stale:
            LOG.warning("interface %s was created again (index %d): opening its IPv%d VRRP socket again", ifname, index, key[1])
            self._close_channel(key)
        if any((i.ifname, i.family) not in self.channels for i in users):
            self.ensure_channels(users)
            for runtime in users:  # one that started without its socket leaves FAULT once it has one
                if "socket" in runtime.fault_causes and runtime.machine is not None:
                    runtime.check_source()

    def read_channel(self, channel: netio.Channel) -> int:
        """Handle what is queued on the channel; the number of datagrams read."""
        try:
            incoming = channel.receive()
        except netio.NetIOError as exc:
            LOG.warning("%s", exc)
            return 0
        for item in incoming:
            self.dispatch(item)
        return channel.reads

    def on_readable(self, channel: netio.Channel) -> None:
        for _round in range(RX_ROUNDS):
            if self.read_channel(channel) < 2:
                return
            time.sleep(RX_PAUSE)

    def find_instance(self, ifname: str, vrid: Optional[int], family: int) -> Optional[InstanceRuntime]:
        if vrid is None:
            return None
        # Scale (issue 11): a dict lookup per received advert, not a scan of every instance (a backup of 200
        # instances at advert_int 0.1 hears 2000 adverts a second). The index is rebuilt when the set changes.
        # Round 3: the lookup was a quarter of a busy backup's Python (py-spy): no signature tuple, no key property.
        instances, retiring, index = self.instances, self.retiring, self.key_index
        if index is None or index[0] is not instances or index[1] != len(instances) or index[2] != len(retiring):
            built: Dict[tuple, List[InstanceRuntime]] = {}
            for inst in list(instances.values()) + retiring:
                built.setdefault(inst.key, []).append(inst)
            index = self.key_index = (instances, len(instances), len(retiring), built)
        for inst in index[3].get((ifname, vrid, family), ()):
            # the key checked again (as inst.key == key): a reload may have changed it since the index was built
            m = inst.machine
            if (m is not None and inst.cfg.vrid == vrid and inst.ifname == ifname and inst.family == family
                    and not inst.forced_stop and m.state != _STOPPED):  # inst.state != STOPPED
                return inst
        return None

    def count_interface_drop(self, ifname: str, reason: str) -> None:
        drops = self.interface_drops.setdefault(ifname, {})
        drops[reason] = drops.get(reason, 0) + 1

    def dispatch(self, item: netio.Incoming) -> None:
        if item.received is None:
            inst = self.find_instance(item.ifname, item.vrid_hint, item.family)
            if inst is not None:
                inst.count_drop(item.drop_reason, "%s from %s" % (item.error, item.src))
            else:
                self.count_interface_drop(item.ifname, item.drop_reason)
            return
        inst = self.find_instance(item.ifname, item.received.advert.vrid, item.family)
        if inst is None:
            # VRRP is link-wide: other routers' VRIDs are normal, counted per interface like keepalived's log line.
            self.count_interface_drop(item.ifname, "vrid")
            return
        inst.on_advert(item.received)
        if inst.passed_clean(item.received):
            # Accepted clean: the next copies of this datagram go straight to the instance (netio calls item.repeat)
            # while this lookup would still give it (key_index is reset whenever the instances change).
            item.repeat = functools.partial(inst.heard_again, item.received, self.key_index)

    def _vip_owned_elsewhere(self, runtime: InstanceRuntime, spec) -> bool:
        ip = ipaddress.ip_interface(spec.cidr).ip
        for other in self.instances.values():
            if other is runtime:
                continue
            if any(ipaddress.ip_interface(c).ip == ip for c in other.vips_held):
                return True
        return False

    # ---- start / reload / stop -----------------------------------------------------------------------

    def sync_vmacs(self) -> None:
        """Delete the VMACs no instance uses any more (reload, exit), as keepalived."""
        runtimes = list(self.instances.values()) + self.retiring
        wanted = set(r.vmac for r in runtimes if r.vmac) | set(n for r in runtimes for n in r.extra_vmacs.values())
        self.vmacs.release_unused(wanted)
        self.sync_promote()

    def sync_promote(self, starting=()) -> None:
        """promote_secondaries on the interfaces of the instances that ask for it (vrrp/promote.py), set before
        an instance starts (keepalived vrrp_complete_init()) and put back when the last one goes."""
        wanted = set(r.cfg.interface for r in list(self.instances.values()) + self.retiring + list(starting)
                     if getattr(r.cfg, "promote_secondaries", False))
        self.promote.sync(wanted, LOG.error)

    def start_instances(self, cfg, names) -> None:
        runtimes = [InstanceRuntime(self, cfg.instances[name]) for name in names]
        taken = [r.vmac for r in self.instances.values() if r.vmac] + [i.use_vmac for i in cfg.instances.values() if i.use_vmac]
        taken += [n for r in self.instances.values() for n in r.extra_vmacs.values()]
        for runtime in runtimes:
            runtime.setup_vmac(taken)
            taken += ([runtime.vmac] if runtime.vmac else []) + list(runtime.extra_vmacs.values())
        self.ensure_channels(runtimes)
        now = self.now()
        snapshot = netio.address_snapshot() if runtimes else None  # one dump for the whole batch (issue 11)
        if runtimes:
            self.sync_promote(runtimes)
        for runtime in runtimes:
            self.instances[runtime.name] = runtime
            self.key_index = None
            runtime.start(now, (runtime.ifname, runtime.family) in self.channels, snapshot)

    def reload(self) -> dict:
        """Parse the file again; keep unchanged instances untouched, restart changed, resign removed."""
        if self.stopping:
            return {"ok": False, "errors": ["shutting down"]}
        self.reading.catch_up()
        self.reading.changed()  # what rings may change with the configuration, even for an instance kept as it was
        try:
            new = script_security.load(self.config_path)  # unsafe scripts refuse the reload
        except config.ConfigError as exc:
            errors = [str(m) for m in exc.messages if getattr(m, "level", "error") == "error"] or [str(exc)]
            for line in errors:
                LOG.error("reload refused: %s", line)
            LOG.error("reload refused: keeping the running configuration")
            self.reloads["failed"] += 1
            return {"ok": False, "errors": errors}
        except OSError as exc:
            LOG.error("reload refused: cannot read %s: %s", self.config_path, exc)
            self.reloads["failed"] += 1
            return {"ok": False, "errors": [str(exc)]}
        for warning in getattr(new, "warnings", []) or []:
            LOG.warning("%s", warning)
        kept, updated, changed, added, removed = [], [], [], [], []
        for name, runtime in list(self.instances.items()):
            inst = new.instances.get(name)
            if inst is None:
                removed.append(name)
            elif inst == runtime.cfg:  # every field but `source` (compare=False): fingerprint()'s meaning, 50x faster
                runtime.cfg = inst  # same behaviour; keep the newer source position for messages
                kept.append(name)
            elif restart_key(inst) == restart_key(runtime.cfg) and runtime.machine is not None and not runtime.forced_stop:
                updated.append(name)
            else:
                changed.append(name)
        added = [n for n in new.instances if n not in self.instances]
        new_keys = set((i.interface, i.vrid, i.family) for n, i in new.instances.items() if n not in kept)
        for name in changed:
            self.instances.pop(name).stop_now("configuration changed")
        for name in removed:
            runtime = self.instances.pop(name)
            runtime.removed = True  # its STOPPED transition notifies DELETED / FAULT (supervisor.on_transition)
            if runtime.key in new_keys or runtime.state != machine.State.MASTER:
                runtime.stop_now("removed from the configuration")
            else:
                LOG.info("%s: removed from the configuration; resigning", name)
                self.retiring.append(runtime)
                self._wake_watcher()
                runtime.resign()
        self.set_static(self.cfg, new)
        self.cfg = new
        os.umask(new.global_defs.umask)
        for (_ifname, family), channel in self.channels.items():
            try:
                channel.set_group(self.mcast_group(family))
            except netio.NetIOError as exc:
                LOG.error("%s", exc)
        self.supervisor.configure(new)
        self.notifications.configure(new)
        self.health.configure(new, self.notifications.default_user)
        for name in updated:
            self.instances[name].update_in_place(new.instances[name])
        self.start_instances(new, [n for n in new.instances if n in changed or n in added])
        self.health.reattach(kept + updated)
        # Keep the file's order for status output.
        self.instances = dict((n, self.instances[n]) for n in new.instances if n in self.instances)
        self.key_index = None  # instances replaced by others of the same count keep the signature
        self.close_unused_channels()
        self.sync_vmacs()
        release_memory()
        self.reloads["ok"] += 1
        LOG.info("reload: %d kept, %d updated in place, %d restarted, %d added, %d removed", len(kept), len(updated), len(changed),
                 len(added), len(removed))
        return {"ok": True, "kept": kept, "updated": updated, "restarted": changed, "added": added, "removed": removed}

    def request_stop(self, why: str) -> None:
        self.reading.catch_up()
        if self.stopping:
            LOG.warning("%s again: stopping now", why)
            for runtime in list(self.instances.values()) + self.retiring:
                if runtime.state != machine.State.STOPPED:
                    runtime.stop_now("forced stop")
            self._finish()
            return
        self.stopping = True
        self.reading.changed()
        self._wake_watcher()
        LOG.info("%s: resigning every instance", why)
        runtimes = list(self.instances.values()) + self.retiring
        longest = 0.0
        for runtime in runtimes:
            if runtime.machine is None:
                continue
            longest = max(longest, float(runtime.machine.master_down_interval) + 2 * routed.withdraw_delay(runtime.cfg))
            runtime.resign()
        self.loop.call_later(longest + RESIGN_MARGIN, self._resign_deadline)
        self._check_stopped()

    def _resign_deadline(self) -> None:
        for runtime in list(self.instances.values()) + self.retiring:
            if runtime.state != machine.State.STOPPED:
                runtime.stop_now("resign deadline")
        self._finish()

    def _check_stopped(self) -> None:
        """Called after every event while stopping or retiring: finish once every machine is STOPPED."""
        for runtime in list(self.retiring):
            if runtime.state == machine.State.STOPPED:
                self.retiring.remove(runtime)
                self.key_index = None
                runtime.cancel_timers()
                runtime.remove_vips()
                if not self.stopping:
                    self.close_unused_channels()
        if not self.stopping:
            return
        if all(r.state == machine.State.STOPPED and r.withdraw_handle is None for r in self.instances.values()) and not self.retiring:
            self._finish()

    def open_route_monitor(self) -> None:
        try:
            self.route_monitor = routes.Monitor()
        except OSError as exc:
            LOG.error("cannot watch routes and rules: %s", exc)
            return
        self.loop.add_reader(self.route_monitor.fileno(), self.on_route_events)

    def on_route_events(self) -> None:
        """keepalived's netlink_route_filter() / netlink_rule_filter(): someone deleted a tracked route or rule
        (not no_track; routes need `dev`). A master holding it as a virtual one goes BACKUP; a static one is
        put back. Address changes: see on_address_deleted() and check_sources()."""
        events = self.route_monitor.read() if self.route_monitor is not None else []
        if not events or self.stopping:
            return
        touched: set = set()  # interface indexes whose instances' sources to check; None: every one
        sources = waiting = None  # read once per batch: a takeover of 200 instances is 200 address events
        lost = False
        for kind, key in events:
            if kind == "address":
                self.on_address_deleted(key)
                if sources is None:
                    sources = set(r.src_ip for r in self.instances.values())
                if key[2] in sources:  # an instance's source went
                    touched.add(key[0])
                continue
            if kind in ("address_added", "lost"):
                lost = lost or kind == "lost"
                if waiting is None:
                    waiting = any("source" in r.fault_causes or "socket" in r.fault_causes for r in self.instances.values())
                if waiting or kind == "lost":  # an address may be there for an instance that has none
                    touched.add(key)
                continue
            index = 0 if kind == "route" else 1
            for runtime in list(self.instances.values()):
                hit = [s for s in runtime.routes_held[index] if routes.matches(kind, key, s)]
                if not hit or runtime.machine is None:
                    continue
                held = list(runtime.routes_held)
                held[index] = [s for s in held[index] if s not in hit]
                runtime.routes_held = (held[0], held[1])
                LOG.warning("%s: tracked virtual %s %s deleted; leaving MASTER (as keepalived)", runtime.name, kind, hit[0].render())
                self.step_back(runtime, "virtual %s %s deleted" % (kind, hit[0].render()))
            for spec in config_routes.routes_of(self.cfg, "static_routes" if index == 0 else "static_rules"):
                if routes.matches(kind, key, spec):
                    LOG.info("Restoring deleted static %s %s", kind, spec.render())
                    routes.apply([spec] if index == 0 else [], [spec] if index == 1 else [], True,
                                 lambda m: LOG.error("static: %s", m))
        if lost:  # what the lost notifications would have told, asked of the kernel instead
            LOG.warning("rtnetlink notifications were lost (the kernel's buffer overran): checking the VIPs held "
                        "and the static routes and rules")
            self.check_held_vips(netio.address_snapshot())
            self.restore_tracked_static()
        if touched:
            self.check_sources(touched)

    def restore_tracked_static(self) -> None:
        """The tracked (not no_track) static_ipaddress, static_routes and static_rules entries added again, as each
        one is when its deletion is heard (on_address_deleted, on_route_events): after lost notifications, any of them
        may have been deleted unheard. Adding one that is there changes nothing; no_track ones are left alone."""
        def tracked(key):
            return [s for s in config_routes.routes_of(self.cfg, key) if not s.no_track]

        def log(message):
            LOG.error("static: %s", message)

        routes.static_ipaddress(tracked("static_ipaddress"), True, log)
        routes.apply(tracked("static_routes"), tracked("static_rules"), True, log)

    def step_back(self, runtime: InstanceRuntime, reason: str) -> None:
        """keepalived set_vrrp_backup(): a master that lost a VIP, eVIP, virtual route or rule leaves MASTER with a
        priority-0 advert and takes over again after its Skew_Time (Machine.step_back), and so do the masters of its
        sync group, each after its own Skew_Time, not through vrrp_sync_backup()'s Master_Down_Interval. Before,
        vipd waited a full Master_Down_Interval without priority 0: a backup could time out first and take the VIP
        for a moment, or for good where the host's ARP for the peer then went out from the VIP (a lab run)."""
        group = self.supervisor.group_of(runtime.name)
        names = [runtime.name] + [n for n in (group.instances if group else ()) if n != runtime.name]
        movers = [self.instances[n] for n in names if n in self.instances and self.instances[n].machine is not None]
        self._stepping_back = set(r.name for r in movers)
        try:
            for mover in movers:
                why = reason if mover is runtime else "sync group %s: %s %s" % (group.name, runtime.name, reason)
                mover.execute(mover.machine.step_back(self.now(), why))
        finally:
            self._stepping_back = set()

    def check_held_vips(self, snapshot) -> None:
        """The kernel dropped address notifications (ENOBUFS on the route monitor: a burst of changes while vipd
        could not read, a stopped or starved process). A deletion of a VIP a master holds may have been among them:
        each master checks the VIPs it holds (not no_track) against one address dump and steps back for those gone,
        as if it had been told (on_address_deleted). keepalived 2.2.7 logs the overrun and goes on advertising
        without the VIP, which nobody then answers for until it leaves MASTER for another reason."""
        if snapshot is None or self.stopping:
            return
        for runtime in list(self.instances.values()):
            if runtime.machine is None or runtime.state != machine.State.MASTER or not runtime.vips_held:
                continue
            gone = [s for s in runtime.held_specs() if not s.no_track
                    and not any(a.address == s.address for a in snapshot.of(runtime.vip_dev(s), s.family))]
            if gone:
                runtime.vips_lost(gone)

    def check_sources(self, touched) -> None:
        """The instances on these interfaces (indexes; None in it: every instance) take their interface's address
        of the moment as their source (InstanceRuntime.check_source), from one address dump."""
        every = None in touched
        runtimes = []
        for runtime in self.instances.values():
            if runtime.machine is None or runtime.configured_source():
                continue
            try:
                if every or socket.if_nametoindex(runtime.cfg.interface) in touched:
                    runtimes.append(runtime)
            except OSError:
                continue  # no such interface: its own events (health.py) put the instance in FAULT
        if runtimes:
            snapshot = netio.address_snapshot()
            for runtime in runtimes:
                runtime.check_source(snapshot)

    def on_address_deleted(self, key) -> None:
        """keepalived's netlink_if_address_filter(): someone deleted a VIP / eVIP a master holds (not no_track):
        that master goes BACKUP (set_vrrp_backup); a deleted static_ipaddress (not no_track) is put back."""
        ifindex, family, address = key

        def same(spec, dev):
            # the address first: a string compare (vipd's own removals of many VIPs each come back as an event)
            try:
                return (spec.address == address and spec.family == family and not spec.no_track
                        and socket.if_nametoindex(dev) == ifindex)
            except OSError:
                return False

        for runtime in list(self.instances.values()):
            if runtime.machine is None or runtime.state != machine.State.MASTER:
                continue
            hit = [s for s in runtime.all_vip_specs() if same(s, runtime.vip_dev(s)) and s.cidr in runtime.vips_held]
            if hit:
                runtime.vips_lost([hit[0]])
        if self.cfg is not None:
            for spec in config_routes.routes_of(self.cfg, "static_ipaddress"):
                if same(spec, spec.dev):
                    LOG.info("Restoring deleted static address %s", spec.cidr)
                    routes.static_ipaddress([spec], True, lambda m: LOG.error("static: %s", m))

    def set_static(self, old, new) -> None:
        """static_ipaddress / static_routes / static_rules, as keepalived's vrrp daemon: at start leftovers are
        deleted and every entry added; a reload deletes the entries that left and adds the others again (which
        also restores one deleted meanwhile); at exit every entry is deleted."""
        def log(message):
            LOG.error("static: %s", message)

        def of(cfg, key):
            return config_routes.routes_of(cfg, key) if cfg is not None else []

        if old is None:
            old_items = dict((k, of(new, k)) for k in ("static_ipaddress", "static_routes", "static_rules"))
        else:
            keep = dict((k, of(new, k)) for k in ("static_ipaddress", "static_routes", "static_rules"))
            old_items = dict((k, [x for x in of(old, k) if x not in keep[k]]) for k in keep)
        routes.apply(old_items["static_routes"], old_items["static_rules"], False, log if old is not None else None)
        routes.static_ipaddress(old_items["static_ipaddress"], False, log if old is not None else None)
        if new is None:
            return
        routes.static_ipaddress(of(new, "static_ipaddress"), True, log)
        routes.apply(of(new, "static_routes"), of(new, "static_rules"), True, log)

    def _finish(self) -> None:
        if self.done is not None and not self.done.done():
            for runtime in self.instances.values():
                runtime.cancel_timers()
                runtime.remove_vips()  # whatever the machine left (should be nothing)
            self.done.set_result(self.exit_code)

    # ---- status (control socket, metrics) ------------------------------------------------------------

    def status(self) -> dict:
        self.reading.catch_up()  # counters and masters as of now
        return {
            "ok": True, "pid": os.getpid(), "config": self.config_path, "started": self.started, "stopping": self.stopping,
            "reloads": dict(self.reloads),
            "instances": [r.status() for r in self.instances.values()],
            "retiring": [r.status() for r in self.retiring],
            "interface_drops": dict((k, dict(v)) for k, v in self.interface_drops.items()),
            "channel_errors": dict(("%s/v%d" % k, v) for k, v in self.channel_errors.items()),
            "health": dict(self.health.status(), **self.notifications.status()),
            "maintenance": self.maintenance.status(),
            "timers": timer_selector.kind(self.loop),
        }

    def status_reply(self) -> dict:
        """The status for the control socket. Its JSON for hundreds of instances is a few hundred KB of short-lived
        text that glibc keeps once freed (1.6 MB of RSS after a few `vipd status` at 200 instances, issue 11): the
        heap is trimmed shortly after the reply is out, once for a burst of requests."""
        if self._trim_handle is None and self.loop is not None:
            self._trim_handle = self.loop.call_later(0.5, self._trim_after_status)
        return self.status()

    def _trim_after_status(self) -> None:
        self._trim_handle = None
        release_memory(collect=False)

    def metrics_chunks(self):
        """The body of GET /metrics: the status the control socket gives, as Prometheus text (metrics.py), family by
        family (a scrape holds one family's samples at a time, issue 11)."""
        from . import metrics
        return metrics.chunks(self.status_reply(), self.now())

    async def open_metrics(self) -> None:
        """--metrics-listen: the HTTP endpoint in this loop (metrics_http.py); a bind failure stops the start."""
        if not self.metrics_listen:
            return
        from . import metrics, metrics_http
        host, port = self.metrics_listen
        self.metrics_server = metrics_http.MetricsServer(host, port, self.metrics_chunks, metrics.CONTENT_TYPE)
        await self.metrics_server.start()

    # ---- main ----------------------------------------------------------------------------------------

    async def main(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.done = self.loop.create_future()
        self.install_signal_handlers()
        try:
            self.cfg = script_security.load(self.config_path)  # unsafe scripts refuse the start
        except config.ConfigError as exc:
            for message in exc.messages:
                LOG.error("%s", message)
            return 1
        except OSError as exc:
            LOG.error("cannot read %s: %s", self.config_path, exc)
            return 1
        for warning in getattr(self.cfg, "warnings", []) or []:
            LOG.warning("%s", warning)
        if self.maintenance.load().error:
            LOG.error("maintenance: %s; no instance is in maintenance", self.maintenance.error)
        elif self.maintenance.all or self.maintenance.names:
            LOG.info("maintenance (from %s): %s", self.maintenance.path, "all instances" if self.maintenance.all else ", ".join(self.maintenance.names))
        # keepalived's file creation mask (default 0177: notify FIFOs, track files and dumps are created 0600)
        os.umask(self.cfg.global_defs.umask)
        try:
            await self.open_metrics()
        except OSError as exc:
            LOG.error("cannot serve metrics on %s port %d: %s", self.metrics_listen[0], self.metrics_listen[1], exc.strerror or exc)
            return 1
        pid_file.write(self.pidfile)
        await self.control.open(self.control_socket)
        # keepalived's parent runs startup_script first and starts VRRP when it ends (or times out)
        await lifecycle.run(self.cfg.global_defs, "startup_script")
        self.notifications.open(self.loop)
        self.health.open(self.loop)
        self.supervisor.configure(self.cfg)
        self.notifications.configure(self.cfg)
        self.health.configure(self.cfg, self.notifications.default_user)
        self.set_static(None, self.cfg)
        self.open_route_monitor()
        self.priority = procprio.ProcessPriority(self.cfg.global_defs, LOG.warning)
        self.priority.apply()
        delay = float(getattr(self.cfg.global_defs, "vrrp_startup_delay", 0.0) or 0.0)
        if delay > 0:
            self.startup_until = self.now() + delay
            LOG.info("Delaying startup for %g seconds", delay)
        if not self.stopping:
            self.start_instances(self.cfg, list(self.cfg.instances))
        release_memory()
        self.ready = True
        LOG.info("vipd ready: %d instance(s), pid %d, control %s", len(self.instances), os.getpid(), self.control_socket or "-")
        if self.on_ready:
            self.on_ready()
        self._watch_wakeup = asyncio.Event()
        watcher = self.loop.create_task(self._watch_stopping())
        try:
            return await self.done
        finally:
            watcher.cancel()
            self.control.close()
            if self.metrics_server is not None:
                self.metrics_server.close()
            for key, channel in self.channels.items():
                self.reading.forget(key)  # its doorbell's watch, if it was read when due
                self.loop.remove_reader(channel.fileno())
                channel.close()
            self.channels = {}
            self.health.close()
            await self.notifications.close(timeout=5.0)
            if self.route_monitor is not None:
                self.loop.remove_reader(self.route_monitor.fileno())
                self.route_monitor.close()
                self.route_monitor = None
            self.set_static(self.cfg, None)
            self.vmacs.release_all()
            self.promote.release_all()
            self.pacer.close()
            try:
                self.firewall.teardown()
            except firewall.FirewallError as exc:
                LOG.error("accept mode: %s", exc)
            # keepalived's parent runs shutdown_script once VRRP has stopped, and exits when it ends
            await lifecycle.run(self.cfg.global_defs, "shutdown_script")
            pid_file.remove(self.pidfile)
            self.control.remove_socket()
            # Already stopping: a repeated signal during teardown must not turn a clean exit into death by signal
            # (asyncio.run would restore SIG_DFL for handlers still registered).
            for sig in self.handled_signals:
                try:
                    self.loop.remove_signal_handler(sig)
                    signal.signal(sig, signal.SIG_IGN)
                except (ValueError, OSError, RuntimeError):
                    pass
            LOG.info("vipd stopped")

    # ---- signals and dumps ----------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """As keepalived 2.2.7's VRRP process: SIGHUP reload, SIGUSR1 data dump, SIGUSR2 stats dump, SIGRTMIN+2 JSON
        dump, SIGRTMAX-1 stats dump and clear, SIGPIPE ignored; every other catchable terminating signal a
        make-before-break resignation (see RESIGN_SIGNAL_NAMES)."""
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        table = [(signal.SIGHUP, self.on_sighup), (signal.SIGUSR1, self.dump_data), (signal.SIGUSR2, self.dump_stats)]
        table += [(num, handler) for num, handler in ((sig_json(), self.dump_json), (sig_stats_clear(), self.dump_stats_clear))
                  if num is not None]
        table += [(num, self.on_resign_signal) for num in resign_signals()]
        for num, handler in table:
            args = (num,) if handler == self.on_resign_signal else ()
            try:
                self.loop.add_signal_handler(num, handler, *args)
            except (ValueError, OSError, RuntimeError) as exc:  # a number this kernel or libc keeps for itself
                LOG.debug("cannot handle signal %d: %s", num, exc)
                continue
            self.handled_signals.append(num)

    def on_resign_signal(self, num: int) -> None:
        self.request_stop(signal_name(num))

    def on_sighup(self) -> None:
        if not self.ready or self.stopping:
            LOG.warning("SIGHUP ignored: %s", "shutting down" if self.stopping else "still starting")
            return
        self.reload()

    def _dump(self, name: str, render) -> Optional[str]:
        self.reading.catch_up()
        try:
            text = render()
            if text is None:  # keepalived writes no JSON file without an instance
                return None
            path = dumps.write_dump(name, text)
        except Exception as exc:  # a dump must never take the daemon down
            LOG.error("cannot write %s in %s: %s", name, dumps.dump_dir(), exc)
            return None
        LOG.info("%s written to %s", name, path)
        return path

    def dump_data(self) -> Optional[str]:
        """SIGUSR1: keepalived's vrrp_print_data() layout in $TMPDIR/keepalived.data (never a password)."""
        return self._dump("keepalived.data", lambda: dumps.data_text(self))

    def dump_stats(self, clear: bool = False) -> Optional[str]:
        """SIGUSR2: keepalived's vrrp_print_stats() layout in $TMPDIR/keepalived.stats."""
        return self._dump("keepalived.stats", lambda: dumps.stats_text(self, clear=clear))

    def dump_stats_clear(self) -> Optional[str]:
        """SIGRTMAX-1 (keepalived's STATS_CLEAR): the stats dump, then the dumps' counters restart from zero."""
        return self.dump_stats(clear=True)

    def dump_json(self) -> Optional[str]:
        """SIGRTMIN+2 (keepalived's JSON): vrrp_print_json()'s structure in $TMPDIR/keepalived.json (never a password)."""
        return self._dump("keepalived.json", lambda: dumps.json_text(self))

    def data_text(self) -> str:
        return dumps.data_text(self)

    def stats_text(self) -> str:
        return dumps.stats_text(self)

    def _wake_watcher(self) -> None:
        if self._watch_wakeup is not None:
            self._watch_wakeup.set()

    async def _watch_stopping(self) -> None:
        # Machines reach STOPPED from timers and adverts; polling the cheap predicate keeps those paths simple.
        # It only polls while something is stopping: an idle master must not wake up for it.
        while True:
            if not (self.stopping or self.retiring):
                self._watch_wakeup.clear()
                await self._watch_wakeup.wait()
            await asyncio.sleep(0.05)
            self._check_stopped()


# ---- signals -------------------------------------------------------------------------------------------
# signal(7): every catchable signal whose default action is Term or Core, except the synchronous hardware faults
# (SIGSEGV, SIGBUS, SIGFPE, SIGILL): a handler that returns from a real fault re-executes the faulting instruction,
# so those stay fatal (a crash is a crash). SIGHUP reloads, SIGUSR1/SIGUSR2/SIGRTMIN+2/SIGRTMAX-1 dump (keepalived's DATA,
# STATS, JSON, STATS_CLEAR), SIGPIPE is ignored; every other one resigns make-before-break as SIGTERM does.
RESIGN_SIGNAL_NAMES = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGXFSZ", "SIGPWR",
                       "SIGSTKFLT", "SIGIO", "SIGPOLL", "SIGABRT", "SIGTRAP", "SIGSYS")
LINUX_SIGNAL_NUMBERS = {"SIGSTKFLT": 16, "SIGPWR": 30, "SIGIO": 29, "SIGPOLL": 29, "SIGSYS": 31}


def resign_signals() -> List[int]:
    """The signals that make vipd resign and exit 0 (Linux numbers where this Python lacks a name)."""
    out = []
    for name in RESIGN_SIGNAL_NAMES:
        num = getattr(signal, name, None)
        if num is None and sys.platform.startswith("linux"):
            num = LINUX_SIGNAL_NUMBERS.get(name)
        if num is not None and int(num) not in out:
            out.append(int(num))
    rtmin, rtmax = getattr(signal, "SIGRTMIN", None), getattr(signal, "SIGRTMAX", None)
    if rtmin is None and sys.platform.startswith("linux"):
        rtmin, rtmax = 34, 64  # glibc keeps 32 and 33 for itself
    if rtmin is not None and rtmax is not None:
        dump = (int(rtmin) + 2, int(rtmax) - 1)  # keepalived's SIGJSON and SIGSTATS_CLEAR
        out.extend(n for n in range(int(rtmin), int(rtmax) + 1) if n not in out and n not in dump)
    return out


def sig_json() -> Optional[int]:
    """keepalived's SIGJSON: SIGRTMIN+2 (`keepalived --signum=JSON`)."""
    rtmin = getattr(signal, "SIGRTMIN", None)
    return int(rtmin) + 2 if rtmin is not None else None


def sig_stats_clear() -> Optional[int]:
    """keepalived's SIGSTATS_CLEAR: SIGRTMAX-1 (`keepalived --signum=STATS_CLEAR`)."""
    rtmax = getattr(signal, "SIGRTMAX", None)
    return int(rtmax) - 1 if rtmax is not None else None


def signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        rtmin = int(getattr(signal, "SIGRTMIN", 34))
        return "SIGRTMIN+%d" % (num - rtmin) if num >= rtmin else "signal %d" % num


dump_dir = dumps.dump_dir
write_dump = dumps.write_dump


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    # Under systemd the journal stamps each line; elsewhere a timestamp helps reading test logs.
    fmt = "%(levelname)s %(message)s" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s vipd[%(process)d] %(levelname)s %(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    LOG.handlers[:] = [handler]
    LOG.setLevel(getattr(logging, level.upper(), logging.INFO))
    LOG.propagate = False


def run(config_path: str, pidfile: Optional[str] = None, control_socket: Optional[str] = None, log_level: str = "info",
        on_ready: Optional[Callable[[], object]] = None, metrics_listen: Optional[Tuple[str, int]] = None,
        state_dir: Optional[str] = None) -> int:
    setup_logging(log_level)
    daemon = Daemon(config_path, control_socket=control_socket, pidfile=pidfile, on_ready=on_ready, metrics_listen=metrics_listen,
                    state_dir=state_dir)
    try:
        return timer_selector.run(daemon.main())  # asyncio.run on a loop a timerfd wakes on time
    except RuntimeError as exc:
        LOG.error("%s", exc)
        return 1
    except OSError as exc:
        LOG.error("%s", exc if exc.errno != errno.EPERM else "%s (vipd needs CAP_NET_ADMIN and CAP_NET_RAW)" % exc)
        return 1
