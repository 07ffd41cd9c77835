# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 keywords that vipd knows but does not implement.

Taken from keepalived 2.2.7's install_keyword() tables (keepalived/core/global_parser.c,
keepalived/vrrp/vrrp_parser.c, keepalived/trackers/track_file.c, check/bfd parsers).
Each listed keyword is classified (issue 10: nothing a keepalived user relies on is silently ignored):
REFUSED (it changes what keepalived 2.2.7 does on the VRRP side and vipd does not do it: the config is an
error at FILE:LINE with what it changes) or WARNED (it has no effect on what vipd does: a warning saying why,
its block skipped). A keyword neither implemented nor listed here is an *error*, as a typo would be.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

# Top-level keywords (blocks or single lines).
ROOT = frozenset("""
bfd_instance child_wait_time garp_group instance interface_up_down_delays linkbeat_interfaces
linkbeat_use_polling namespace_with_ipsets net_namespace net_namespace_ipvs track_group use_pid_dir virtual_server virtual_server_group
""".split())

GLOBAL_DEFS = frozenset("""
process_names process_name vrrp_process_name checker_process_name lvs_process_name bfd_process_name
smtp_alert_checker checker_log_all_failures
dynamic_interfaces disable_local_igmp lvs_timeouts lvs_flush
lvs_flush_on_stop lvs_flush_onstop lvs_sync_daemon
vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_ipvs nftables_ipvs_priority
nftables_ipvs_start_fwmark nftables_counters
fifo_write_vrrp_states_on_reload lvs_notify_fifo lvs_notify_fifo_script checker_priority checker_no_swap
checker_rt_priority checker_cpu_affinity checker_rlimit_rttime checker_rlimit_rtime bfd_priority bfd_no_swap
bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime snmp_socket enable_traps
enable_snmp_vrrp enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3
enable_snmp_checker enable_dbus dbus_service_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies no_checker_emails
vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier log_unknown_vrids vmac_prefix
vmac_addr_prefix random_seed reload_check_config reload_time_file reload_repeat reload_file
include_check config_save_dir tmp_config_directory data_use_instance
linkbeat_use_polling net_namespace net_namespace_ipvs namespace_with_ipsets use_pid_dir instance
child_wait_time
""".split())

VRRP_INSTANCE = frozenset("""
use_ipvlan
old_unicast_checksum vrf track_bfd mcast_dst_ip track_src_ip
linkbeat_use_polling
debug lvs_sync_daemon_interface
kernel_rx_buf_size
""".split())

VRRP_SCRIPT = frozenset()

SYNC_GROUP = frozenset("""
track_bfd
""".split())

# Options on a virtual_ipaddress line (keepalived's vrrp_ipaddress.c) that vipd does not implement.
VIP_OPTIONS = frozenset("""
peer nodad track_group
""".split())

# Options on a unicast_peer line.
UNICAST_PEER_OPTIONS = frozenset("min_ttl max_ttl".split())

# Keywords taking a `{ ... }` block in keepalived (so a known-unimplemented one skips it whole).
UNIMPLEMENTED = {
    "root": ROOT,
    "global_defs": GLOBAL_DEFS,
    "vrrp_instance": VRRP_INSTANCE,
    "vrrp_script": VRRP_SCRIPT,
    "vrrp_sync_group": SYNC_GROUP,
}

# ---------------------------------------------------------------- classification (issue 10)

BACKEND = "remove it or use the role's keepalived back end (vrrp_backend: keepalived)"

_LVS = "vipd does no LVS (IPVS); hosts that need LVS use the role's keepalived back end (vrrp_backend: keepalived)"
_CHECKER = "a setting of keepalived's checker (LVS health-check) process; vipd runs no checker process"
_BFD = "a setting of keepalived's BFD process; vipd runs no BFD process (track_bfd is refused)"
_NAME = "a process name; vipd's process is named vipd"
_SNMP = "vipd has no SNMP agent (its state is in the status JSON)"
_DBUS = "vipd has no DBus interface"
_BUFS = "a netlink/socket receive buffer size; vipd sizes its own buffers"
_IPT = ("Debian's keepalived 2.2.7 is built with nftables only and ignores it too; vipd installs no "
        "iptables/ipset rules")
_NFT = ("vipd enforces accept mode in keepalived's default nftables tables 'ip keepalived'/'ip6 keepalived' "
        "(base chain priority -1) and does not apply this firewall setting")
_LINKBEAT = "how interface link state is detected (MII/ethtool polling instead of netlink)"
_NETNS = "the network namespace keepalived runs in"

# keyword -> why it has no effect on what vipd does (ROOT, GLOBAL_DEFS, VRRP_INSTANCE).
WARNED = {
    "virtual_server": _LVS, "virtual_server_group": _LVS, "net_namespace_ipvs": _LVS,
    "lvs_timeouts": _LVS, "lvs_flush": _LVS, "lvs_flush_on_stop": _LVS, "lvs_flush_onstop": _LVS,
    "lvs_sync_daemon": _LVS, "lvs_notify_fifo": _LVS, "lvs_notify_fifo_script": _LVS,
    "lvs_sync_daemon_interface": _LVS, "nftables_ipvs": _LVS, "nftables_ipvs_priority": _LVS,
    "nftables_ipvs_start_fwmark": _LVS, "lvs_netlink_cmd_rcv_bufs": _LVS, "lvs_netlink_cmd_rcv_bufs_force": _LVS,
    "lvs_netlink_monitor_rcv_bufs": _LVS, "lvs_netlink_monitor_rcv_bufs_force": _LVS,
    "smtp_alert_checker": _CHECKER, "checker_log_all_failures": _CHECKER, "checker_priority": _CHECKER,
    "checker_no_swap": _CHECKER, "checker_rt_priority": _CHECKER, "checker_cpu_affinity": _CHECKER,
    "checker_rlimit_rttime": _CHECKER, "checker_rlimit_rtime": _CHECKER, "rs_init_notifies": _CHECKER,
    "no_checker_emails": _CHECKER,
    "bfd_instance": _BFD, "bfd_priority": _BFD, "bfd_no_swap": _BFD, "bfd_rt_priority": _BFD,
    "bfd_cpu_affinity": _BFD, "bfd_rlimit_rttime": _BFD, "bfd_rlimit_rtime": _BFD,
    "process_names": _NAME, "process_name": _NAME, "vrrp_process_name": _NAME, "checker_process_name": _NAME,
    "lvs_process_name": _NAME, "bfd_process_name": _NAME,
    "snmp_socket": _SNMP, "enable_traps": _SNMP, "enable_snmp_vrrp": _SNMP, "enable_snmp_keepalived": _SNMP,
    "enable_snmp_rfc": _SNMP, "enable_snmp_rfcv2": _SNMP, "enable_snmp_rfcv3": _SNMP, "enable_snmp_checker": _SNMP,
    "enable_dbus": _DBUS, "dbus_service_name": _DBUS,
    "vrrp_netlink_cmd_rcv_bufs": _BUFS, "vrrp_netlink_cmd_rcv_bufs_force": _BUFS,
    "vrrp_netlink_monitor_rcv_bufs": _BUFS, "vrrp_netlink_monitor_rcv_bufs_force": _BUFS,
    "process_monitor_rcv_bufs": _BUFS, "process_monitor_rcv_bufs_force": _BUFS,
    "vrrp_rx_bufs_policy": _BUFS, "vrrp_rx_bufs_multiplier": _BUFS, "kernel_rx_buf_size": _BUFS,
    "vrrp_iptables": _IPT, "vrrp_ipsets": _IPT,
    "namespace_with_ipsets": "it names keepalived's ipsets in a network namespace; vipd installs no ipsets",
    "nftables": _NFT, "nftables_priority": _NFT, "nftables_ifindex": _NFT, "nftables_counters": _NFT,
    "log_unknown_vrids": "logging only", "debug": "logging only",
    "child_wait_time": "how long keepalived's parent waits for its child processes at exit; vipd is one process",
    "use_pid_dir": "where keepalived writes its pid files; vipd's pid and control files are set by its service",
    "random_seed": "it seeds keepalived's random numbers (debugging); vipd's VRRP timers do not depend on it",
    "reload_check_config": ("vipd always parses a new configuration first on reload and keeps the running one "
                            "if it has errors (what reload_check_config does); no log file is written"),
    "tmp_config_directory": "where keepalived keeps the temporary config of reload_check_config; vipd needs none",
    "config_save_dir": "where keepalived saves copies of its configuration (debugging)",
}

# keyword -> what it changes in keepalived 2.2.7 that vipd does not do (ROOT, GLOBAL_DEFS, VRRP_INSTANCE).
REFUSED = {
    "garp_group": "the GARP/NA intervals per interface",
    "instance": "the instance name in keepalived's pid, data and state file names",
    "interface_up_down_delays": "how long an interface must be down/up before its instances enter/leave FAULT",
    "linkbeat_interfaces": _LINKBEAT, "linkbeat_use_polling": _LINKBEAT,
    "net_namespace": _NETNS,
    "track_group": "which VRRP instances go to BACKUP when a static address, route or rule is deleted",
    "dynamic_interfaces": "whether instances on missing interfaces are accepted and wait for them",
    "disable_local_igmp": "whether IGMP reports are sent for link-local multicast groups (igmp_link_local_mcast_reports)",
    "fifo_write_vrrp_states_on_reload": "what is written to the notify FIFO on a reload",
    "vmac_prefix": "the names of the VMAC interfaces created for use_vmac without a name",
    "vmac_addr_prefix": "the names of the VMAC interfaces created for use_vmac_addr",
    "reload_time_file": "scheduled configuration reloads", "reload_repeat": "scheduled configuration reloads",
    "reload_file": "scheduled configuration reloads",
    "include_check": "which include failures are configuration errors",
    "data_use_instance": "the file names of the SIGUSR1/SIGUSR2 data and stats dumps",
    "use_ipvlan": "the interface the VIPs are put on (an ipvlan interface)",
    "old_unicast_checksum": "the checksum of unicast VRRPv3 adverts (keepalived before 1.3.8)",
    "vrf": "the VRF the instance's interface and VIPs are in",
    "track_bfd": "the priority or FAULT state of the instance (BFD sessions)",
    "mcast_dst_ip": "the multicast group adverts are sent to and received on",
    "track_src_ip": "whether the instance enters FAULT when its configured unicast_src_ip or mcast_src_ip is removed",
}

# In a vrrp_sync_group: keepalived 2.2.7 tracks these for all members at once.
SYNC_GROUP_REFUSED = {k: "the priority or FAULT state of every instance of the sync group (group tracking)"
                      for k in SYNC_GROUP}

VIP_WARNED = {}
VIP_REFUSED = {
    "peer": "the peer address of a point-to-point VIP",
    "track_group": "which VRRP instances go to BACKUP when this static address is deleted",
}
# keepalived 2.2.7 itself only knows '-nodad': 'nodad' is reported as an unknown option and ignored.
VIP_NOT_KEEPALIVED = {"nodad": "keepalived 2.2.7 knows only '-nodad': it reports 'nodad' as unknown and ignores it"}
# '-nodad' on an IPv4 address: keepalived sets no flag, nothing changes.
VIP_WARNED_V4 = {"-nodad": "keepalived 2.2.7 does DAD only for IPv6: it has no effect on an IPv4 address",
                 "preferred_lft": "keepalived 2.2.7 sets a preferred lifetime only on IPv6 addresses"}

UNICAST_PEER_REFUSED = {
    "min_ttl": "which adverts from this peer are accepted (by TTL/hop limit)",
    "max_ttl": "which adverts from this peer are accepted (by TTL/hop limit)",
}


def verdict(section, keyword):
    """(refused, reason) for a known-unimplemented `keyword` read in `section` (a key of UNIMPLEMENTED)."""
    if section == "vrrp_sync_group" and keyword in SYNC_GROUP_REFUSED:
        return True, SYNC_GROUP_REFUSED[keyword]
    if keyword in REFUSED:
        return True, REFUSED[keyword]
    return False, WARNED.get(keyword, "")


def refused_message(keyword, what, option_of=None):
    where = "keepalived keyword '%s'" % keyword if option_of is None else "keepalived %s option '%s'" % (option_of, keyword)
    return "%s changes %s and is not implemented by vipd: %s" % (where, what, BACKEND)


def warned_message(keyword, why, option_of=None):
    where = "keepalived keyword '%s'" % keyword if option_of is None else "keepalived %s option '%s'" % (option_of, keyword)
    return "%s has no effect on vipd and is ignored: %s" % (where, why)


# Keywords vipd implements (config.py). With the lists above: the words a message may name as they are
# (any other word read from a config is user text, shown escaped, or not at all when it comes from an
# included file).
IMPLEMENTED = frozenset("""
vrrp_strict strict_mode sync_group_tracking_weight global_tracking includer includem includew includeb includea
notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script vrrp_notify_priority_changes
notify_master_rx_lower_pri notify_priority_changes smtp_alert_vrrp vrrp_track_process track_process process param_match quorum
quorum_max delay terminate_delay fork_delay full_command
include global_defs vrrp_instance vrrp_script vrrp_sync_group track_file vrrp_track_file
router_id notification_email notification_email_from smtp_server smtp_connect_timeout vrrp_version
enable_script_security script_user vrrp_garp_master_delay vrrp_garp_master_refresh vrrp_garp_master_repeat
vrrp_garp_master_refresh_repeat vrrp_garp_interval vrrp_gna_interval vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert
script interval timeout weight rise fall user init_fail file init_file group
state interface virtual_router_id priority advert_int version nopreempt preempt preempt_delay authentication
auth_type auth_pass unicast_src_ip mcast_src_ip unicast_peer virtual_ipaddress virtual_ipaddress_excluded
track_interface track_script notify_master notify_backup notify_fault notify_stop notify smtp_alert
garp_master_delay garp_master_refresh garp_master_repeat garp_master_refresh_repeat garp_interval
garp_lower_prio_delay garp_lower_prio_repeat lower_prio_no_advert higher_prio_send_advert
v3_checksum native_ipv6 dont_track_primary accept no_accept
vrrp_startup_delay vrrp_mcast_group4 vrrp_mcast_group6 max_auto_priority min_auto_priority_delay vrrp_priority
vrrp_rt_priority vrrp_no_swap vrrp_cpu_affinity vrrp_rlimit_rttime vrrp_rlimit_rtime unicast_ttl
skip_check_adv_addr vrrp_skip_check_adv_addr
vrrp_down_timer_adverts down_timer_adverts vrrp_check_unicast_src check_unicast_src unicast_fault_no_peer notify_deleted
startup_script startup_script_timeout shutdown_script shutdown_script_timeout default_interface
virtual_routes virtual_rules static_ipaddress static_routes static_rules use_vmac vmac_xmit_base
vrrp_min_garp vrrp_garp_extra_if vrrp_vmac_garp_intvl garp_extra_if vmac_garp_intvl promote_secondaries umask
smtp_helo_name no_email_faults use_vmac_addr
""".split())

KNOWN = IMPLEMENTED.union(*UNIMPLEMENTED.values())
