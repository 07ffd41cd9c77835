# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed model of a keepalived-syntax configuration (what vrrp/config.py produces).

Pure data: no parsing here, so the daemon, the modules and the tests can build and
compare these objects without touching the lexer.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import functools
import ipaddress
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

from .. import inet


@dataclass(frozen=True)
class Message:
    """One diagnostic. str() is `FILE:LINE: reason` (warnings: `FILE:LINE: warning: reason`)."""

    file: str
    line: int
    reason: str
    level: str = "error"
    # A warning about something keepalived 2.2.7 reports with report_config_error() and fixes up at run time:
    # `keepalived -t` exits non-zero on it, so `vipd check` does too (vipd run warns and fixes it up the same way).
    check_fails: bool = False

    def __str__(self):
        # A file name (e.g. matched by an include glob) may hold control characters or line separators.
        file = self.file if self.file.isprintable() else inet.safe_repr(self.file, 4096)
        if self.level == "warning":
            return "%s:%d: warning: %s" % (file, self.line, self.reason)
        return "%s:%d: %s" % (file, self.line, self.reason)


class ConfigError(Exception):
    """Raised with every error found (not only the first); `.messages` also holds warnings."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.errors = [m for m in self.messages if m.level == "error"]
        super(ConfigError, self).__init__("\n".join(str(m) for m in self.errors))


# keepalived's address flag words (vrrp_ipaddress.c) -> IFA_F_* bit
VIP_FLAG_WORDS = (("home", 0x10), ("mngtmpaddr", 0x100), ("noprefixroute", 0x200), ("autojoin", 0x400))
INFINITY_LIFE_TIME = 0xFFFFFFFF


@dataclass
class VipSpec:
    """One `virtual_ipaddress` line: `A[/len] [brd X] [dev IF] [scope S] [label L] [FLAG...] [-nodad]
    [preferred_lft N|forever] [no_track]`."""

    cidr: str
    dev: Optional[str] = None
    label: Optional[str] = None
    scope: Optional[str] = None
    brd: Optional[str] = None
    flags: int = 0  # IFA_F_* bits of home / mngtmpaddr / noprefixroute / autojoin
    dad: bool = False  # '-nodad': keepalived adds IPv6 addresses with IFA_F_NODAD unless told this
    preferred_lft: Optional[int] = None  # IPv6; None: keepalived's default (0, deprecated, for a /128; else forever)
    no_track: bool = False  # a deletion of the address by someone else is not acted upon
    use_vmac: bool = False  # per-VIP use_vmac: a VMAC on the VIP's own interface holds it

    def netlink_options(self):
        """addresses.add_address() keywords giving the address keepalived 2.2.7's netlink_ipaddress() adds."""
        return dict(flags=self.flags, nodad=not self.dad, preferred_lft=self.effective_preferred_lft())

    def effective_preferred_lft(self):
        """IPv6: the IFA_CACHEINFO preferred lifetime keepalived sends, None when forever (no IFA_CACHEINFO)."""
        if self.family != 6:
            return None
        lft = self.preferred_lft if self.preferred_lft is not None else (0 if self.prefixlen == 128 else INFINITY_LIFE_TIME)
        return None if lft == INFINITY_LIFE_TIME else lft

    def option_words(self):
        """The flag / lifetime / tracking words of the line, in keepalived's format_ipaddress() order."""
        words = [w for w, bit in VIP_FLAG_WORDS[:1] if self.flags & bit]
        if self.dad:
            words.append("-nodad")
        words += [w for w, bit in VIP_FLAG_WORDS[1:] if self.flags & bit]
        if self.no_track:
            words.append("no_track")
        if self.use_vmac:
            words.append("use_vmac")
        return words

    @property
    def address(self):
        return self.cidr.split("/", 1)[0]

    @property
    def prefixlen(self):
        return int(self.cidr.split("/", 1)[1])

    @property
    def family(self):
        return _address_family(self.address)


@functools.lru_cache(maxsize=2048)
def _address_family(address: str) -> int:
    # Scale (issue 11): a takeover asks every VIP's netlink options, and so its family: 400 ipaddress parses
    # (about 10 us each) between the Master_Down_Interval expiry and the first netlink request.
    return ipaddress.ip_address(address).version


@dataclass
class GlobalDefs:
    router_id: Optional[str] = None
    notification_email: List[str] = field(default_factory=list)
    notification_email_from: Optional[str] = None
    smtp_server: Optional[str] = None
    smtp_port: int = 25
    smtp_connect_timeout: int = 30
    smtp_helo_name: Optional[str] = None  # None: the host name, as keepalived
    no_email_faults: bool = False
    umask: int = 0o177  # keepalived's default file creation mask (lib/utils.c umask_val)
    # vrrp_min_garp: applied to the GARP defaults when read (see config._min_garp)
    vrrp_garp_extra_if: int = 0  # seconds, 0: off
    vrrp_garp_extra_if_all: bool = False
    vrrp_version: int = 2
    enable_script_security: bool = False
    script_user: Optional[str] = None
    script_group: Optional[str] = None
    # notify_fifo / vrrp_notify_fifo: [PATH] or [PATH, USER] or [PATH, USER, GROUP]; *_script: the command
    notify_fifo: Optional[List[str]] = None
    notify_fifo_script: Optional[str] = None
    vrrp_notify_fifo: Optional[List[str]] = None
    vrrp_notify_fifo_script: Optional[str] = None
    vrrp_notify_priority_changes: bool = False
    # keepalived 2.2.7's defaults for an instance's / sync group's unset smtp_alert: smtp_alert_vrrp, else
    # smtp_alert, else off (vrrp_complete_instance(), vrrp_complete_init()); None: not set.
    smtp_alert: Optional[bool] = None
    smtp_alert_vrrp: Optional[bool] = None
    notify_users: Dict[str, List[str]] = field(default_factory=dict)  # the fifo scripts' USER [GROUP]
    # keepalived's global defaults for the per-instance garp_* keywords.
    vrrp_garp_master_delay: int = 5
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: int = 0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0  # unsolicited NA pacing per interface (vrrp/garp.py)
    # keepalived 2.2.7: unset lower-priority GARP settings take vrrp_garp_master_repeat / vrrp_garp_master_delay.
    vrrp_garp_lower_prio_delay: Optional[int] = None
    vrrp_garp_lower_prio_repeat: Optional[int] = None
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    # keepalived 2.2.7: instances created after it skip the advert address check for the master they follow.
    vrrp_skip_check_adv_addr: bool = False
    # keepalived 2.2.7: startup delay (s), multicast groups, process scheduling of the VRRP process.
    vrrp_startup_delay: float = 0.0
    vrrp_mcast_group4: str = "224.0.0.18"
    vrrp_mcast_group6: str = "ff02::12"
    max_auto_priority: int = 0  # 0: off; raised SCHED_RR priority ceiling when the loop runs late
    min_auto_priority_delay: int = 1000000  # microseconds of lateness that raise it
    vrrp_priority: int = 0  # nice value
    vrrp_rt_priority: int = 0  # SCHED_RR priority, 0: not realtime
    vrrp_no_swap: bool = False
    vrrp_cpu_affinity: List[int] = field(default_factory=list)
    vrrp_rlimit_rttime: int = 10000  # RLIMIT_RTTIME (microseconds) while realtime
    # keepalived's vrrp_strict: the default of every instance's strict_mode.
    vrrp_strict: bool = False
    # keepalived 2.2.7: adverts missed before a backup takes over (the default of down_timer_adverts), 1..100.
    vrrp_down_timer_adverts: int = 3
    # keepalived 2.2.7: unicast adverts must come from a listed unicast_peer (all instances); off by default.
    vrrp_check_unicast_src: bool = False
    # keepalived 2.2.7: scripts run when the daemon starts / stops, and how long they may run (s, 1..1000; 10).
    startup_script: Optional[str] = None
    startup_script_timeout: int = 10
    shutdown_script: Optional[str] = None
    shutdown_script_timeout: int = 10
    # keepalived 2.2.7: the interface of a static_ipaddress without dev (keepalived's DFLT_INT "eth0" when unset).
    default_interface: Optional[str] = None
    # keyword -> (file, line) of global_defs lines messages point at (startup_script, shutdown_script)
    sources: Dict[str, Tuple[str, int]] = field(default_factory=dict, compare=False)


@dataclass
class VrrpScript:
    name: str
    script: str = ""
    interval: float = 1.0
    timeout: Optional[float] = None
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    user: Optional[str] = None
    group: Optional[str] = None
    init_fail: bool = False
    source: Tuple[str, int] = field(default=("", 0), compare=False)


@dataclass
class TrackFile:
    """keepalived `track_file NAME { file PATH weight N [reverse] init_file [VALUE] [overwrite] }`."""

    name: str
    file: str = ""
    weight: int = 1
    weight_reverse: bool = False
    init_file: Optional[int] = None
    init_overwrite: bool = False
    source: Tuple[str, int] = field(default=("", 0), compare=False)


@dataclass
class SyncGroup:
    name: str
    instances: List[str] = field(default_factory=list)
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    # hook -> [USER] or [USER, GROUP] of a `notify_* SCRIPT USER [GROUP]` line (keepalived runs it so)
    notify_users: Dict[str, List[str]] = field(default_factory=dict)
    notify_priority_changes: Optional[bool] = None
    smtp_alert: Optional[bool] = None
    # keepalived's sync_group_tracking_weight: members keep their tracking weights (else ignored, see config.py).
    tracking_weight: bool = False
    # Group tracking (keepalived 2.2.7 sync_group_tracking_init()): every member tracks these too, with these
    # weights (resolved: never None; 0 if a member is the address owner). See config.group_tracking().
    track_interfaces: List[Tuple[str, int]] = field(default_factory=list)
    track_scripts: List[Tuple[str, int]] = field(default_factory=list)
    track_files: List[Tuple[str, int]] = field(default_factory=list)
    # the group's track_process lines (track_process.tracked_by(group)), as an instance's
    extensions: Dict[str, Any] = field(default_factory=dict)
    source: Tuple[str, int] = field(default=("", 0), compare=False)


def _slotted(cls):
    """The dataclass cls again, its fields in __slots__: what dataclass(slots=True) does from Python 3.10, here on
    every Python the modules run on. RSS (issue 11): more fields than an instance dict shares keys for (30 in
    CPython 3.11) gave each object a dict of its own, about 1.5 KB; a slot takes 8 bytes. "__dict__" stays for
    attributes set beside the fields."""
    names = tuple(f.name for f in fields(cls))
    body = dict(cls.__dict__)
    for name in names + ("__dict__", "__weakref__"):
        body.pop(name, None)
    body["__slots__"] = names + ("__dict__", "__weakref__")
    return type(cls)(cls.__name__, cls.__bases__, body)


@_slotted
@dataclass
class Instance:
    name: str
    state: str = "BACKUP"
    interface: str = ""
    vrid: int = 0
    priority: int = 100
    advert_int: float = 1.0
    version: int = 2
    nopreempt: bool = False
    preempt_delay: float = 0.0
    auth_type: Optional[str] = None
    auth_pass: Optional[str] = None
    unicast_src_ip: Optional[str] = None
    mcast_src_ip: Optional[str] = None
    unicast_peers: List[str] = field(default_factory=list)
    vips: List[VipSpec] = field(default_factory=list)
    excluded_vips: List[VipSpec] = field(default_factory=list)
    track_interfaces: List[Tuple[str, Optional[int]]] = field(default_factory=list)
    track_scripts: List[Tuple[str, Optional[int]]] = field(default_factory=list)
    track_files: List[Tuple[str, Optional[int]]] = field(default_factory=list)
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    notify_master_rx_lower_pri: Optional[str] = None
    notify_users: Dict[str, List[str]] = field(default_factory=dict)
    # None: the sync group's, else global vrrp_notify_priority_changes (keepalived vrrp.c)
    notify_priority_changes: Optional[bool] = None
    smtp_alert: Optional[bool] = None
    garp_master_delay: int = 5
    garp_master_repeat: int = 5
    garp_master_refresh: int = 0
    garp_master_refresh_repeat: int = 1
    garp_interval: float = 0.0
    # A master that hears a lower-priority advert re-announces its VIPs (keepalived's defaults: 5 now, 5 after 5 s).
    garp_lower_prio_delay: int = 5
    garp_lower_prio_repeat: int = 5
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    # keepalived's skip_check_adv_addr: a backup does not re-check the address list of its own master's adverts.
    skip_check_adv_addr: bool = False
    v3_checksum: str = "pseudo"
    native_ipv6: bool = False
    dont_track_primary: bool = False
    accept: Optional[bool] = None
    unicast_ttl: Optional[int] = None  # TTL / hop limit of unicast adverts (keepalived: 255 when unset)
    use_vmac: Optional[str] = None  # None: no VMAC; "": keepalived's default name (vrrp.VRID); else the name
    vmac_xmit_base: bool = False
    promote_secondaries: bool = False  # net.ipv4.conf.IF.promote_secondaries set while the instance runs
    # use_vmac_addr: VIPs on other interfaces, or of the other family, each get a VMAC on their interface
    use_vmac_addr: bool = False
    # garp_extra_if N [all]: every N s a master sends one GARP/NA per other interface holding its VIPs (None: the
    # global vrrp_garp_extra_if; 0 or without 'all': none, vipd has no per-VIP VMACs).
    garp_extra_if: Optional[int] = None
    garp_extra_if_all: bool = False
    # keepalived's strict_mode (default: global vrrp_strict): RFC-strict VRRP, see config.py _strict_checks().
    strict_mode: bool = False
    # keepalived's down_timer_adverts (default: global vrrp_down_timer_adverts, 3): Master_Down_Interval is
    # this many advert intervals + Skew_Time.
    down_timer_adverts: int = 3
    # keepalived's check_unicast_src (or global vrrp_check_unicast_src): unicast adverts from an address that
    # is not a unicast_peer are dropped; without it they are accepted, as keepalived 2.2.7 does.
    check_unicast_src: bool = False
    # keepalived's unicast_fault_no_peer: a unicast instance with no peers stays in FAULT (not multicast).
    unicast_fault_no_peer: bool = False
    # keepalived's notify_deleted [SCRIPT]: an instance removed by a reload notifies DELETED (not FAULT);
    # notify_deleted_script runs then.
    notify_deleted: bool = False
    notify_deleted_script: Optional[str] = None
    # Values set by registered extension keywords (see config.register_instance_keyword).
    extensions: Dict[str, Any] = field(default_factory=dict)
    source: Tuple[str, int] = field(default=("", 0), compare=False)

    @property
    def family(self):
        """4 or 6, as keepalived decides it: from the first VIP (else unicast addresses)."""
        for vip in self.vips:
            return vip.family
        for addr in [self.unicast_src_ip] + list(self.unicast_peers):
            if addr:
                return ipaddress.ip_address(addr).version
        return 4

    @property
    def preempt(self):
        return not self.nopreempt

    def fingerprint(self):
        """Canonical text of everything that affects behaviour (not where it was read from).

        Equal fingerprints mean a reload may keep the running instance untouched; so do equal instances (`==`
        compares every field but `source`), which is what a reload uses: 200 pairs of fingerprints took 55-80 ms
        of a reload's 150 ms, against 1-2 ms (issue 11). The text itself, not a hash of it: exact, and hashlib
        would map OpenSSL's libcrypto (3 MB of RSS) into the daemon.
        """
        data = asdict(self)
        data.pop("source", None)
        return json.dumps(data, sort_keys=True, default=repr, separators=(",", ":"))


@dataclass
class Config:
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    instances: Dict[str, Instance] = field(default_factory=dict)
    scripts: Dict[str, VrrpScript] = field(default_factory=dict)
    track_files: Dict[str, TrackFile] = field(default_factory=dict)
    sync_groups: Dict[str, SyncGroup] = field(default_factory=dict)
    # Results of registered extension blocks (see config.register_block), keyed by block keyword.
    extensions: Dict[str, Any] = field(default_factory=dict)
    warnings: List[Message] = field(default_factory=list)
    files: List[str] = field(default_factory=list)

    def sync_group_of(self, instance_name):
        for group in self.sync_groups.values():
            if instance_name in group.instances:
                return group
        return None
