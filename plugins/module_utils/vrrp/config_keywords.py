# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 keywords that vipd knows but does not implement.

Taken from keepalived 2.2.7's install_keyword() tables (keepalived/core/global_parser.c,
keepalived/vrrp/vrrp_parser.c, keepalived/trackers/track_file.c, check/bfd parsers).
A keyword listed here is a *warning* ("not implemented by vipd and is ignored", its block
skipped); a keyword neither implemented nor listed here is an *error*, as a typo would be.
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
smtp_helo_name smtp_alert startup_script startup_script_timeout shutdown_script shutdown_script_timeout
smtp_alert_vrrp smtp_alert_checker checker_log_all_failures
dynamic_interfaces no_email_faults default_interface disable_local_igmp lvs_timeouts lvs_flush
lvs_flush_on_stop lvs_flush_onstop lvs_sync_daemon
vrrp_down_timer_adverts
vrrp_min_garp vrrp_garp_extra_if vrrp_vmac_garp_intvl
vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_ipvs nftables_ipvs_priority
nftables_ipvs_start_fwmark nftables_counters vrrp_check_unicast_src vrrp_skip_check_adv_addr
fifo_write_vrrp_states_on_reload lvs_notify_fifo lvs_notify_fifo_script checker_priority checker_no_swap
checker_rt_priority checker_cpu_affinity checker_rlimit_rttime checker_rlimit_rtime bfd_priority bfd_no_swap
bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime snmp_socket enable_traps
enable_snmp_vrrp enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3
enable_snmp_checker enable_dbus dbus_service_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies no_checker_emails
vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier log_unknown_vrids vmac_prefix
vmac_addr_prefix umask random_seed reload_check_config reload_time_file reload_repeat reload_file
include_check config_save_dir tmp_config_directory data_use_instance
linkbeat_use_polling net_namespace net_namespace_ipvs namespace_with_ipsets use_pid_dir instance
child_wait_time
""".split())

VRRP_INSTANCE = frozenset("""
use_vmac_addr use_ipvlan unicast_fault_no_peer check_unicast_src
old_unicast_checksum vrf track_bfd mcast_dst_ip track_src_ip
promote_secondaries linkbeat_use_polling skip_check_adv_addr
debug notify_deleted lvs_sync_daemon_interface
down_timer_adverts garp_extra_if vmac_garp_intvl
kernel_rx_buf_size
""".split())

VRRP_SCRIPT = frozenset()

SYNC_GROUP = frozenset("""
track_interface track_script track_file track_process track_bfd
""".split())

# Options on a virtual_ipaddress line (keepalived's vrrp_ipaddress.c) that vipd ignores.
VIP_OPTIONS = frozenset("""
peer home -nodad nodad noprefixroute autojoin preferred_lft track_group no_track use_vmac
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

# Keywords vipd implements (config.py). With the lists above: the words a message may name as they are
# (any other word read from a config is user text, shown escaped, or not at all when it comes from an
# included file).
IMPLEMENTED = frozenset("""
vrrp_strict strict_mode sync_group_tracking_weight global_tracking includer includem includew includeb includea
notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script vrrp_notify_priority_changes
notify_master_rx_lower_pri notify_priority_changes vrrp_track_process track_process process param_match quorum
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
virtual_routes virtual_rules static_ipaddress static_routes static_rules use_vmac vmac_xmit_base
""".split())

KNOWN = IMPLEMENTED.union(*UNIMPLEMENTED.values())
