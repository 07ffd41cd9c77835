# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where vipd (and keepalived, for the modules that drive either) keeps its files by default: the one home of
these paths for the Python code (the CLI's defaults, the modules' option defaults, the daemon).

The vrrp role has its own variables with the same defaults (roles/vrrp/defaults/main.yml: vrrp_run_dir,
vrrp_pidfile, vrrp_control_socket...) and passes them on the command line.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

RUN_DIR = "/run/vipd"
PIDFILE = RUN_DIR + "/vipd.pid"
CONTROL_SOCKET = RUN_DIR + "/vipd.sock"
STATE_DIR = "/var/lib/vipd"  # maintenance.json (maintenance.py): kept across reboots, unlike RUN_DIR
CONFIG_DIR = "/etc/vipd"
MAIN_CONFIG = CONFIG_DIR + "/vipd.conf"
INCLUDE_DIR = CONFIG_DIR + "/conf.d"

KEEPALIVED_MAIN_CONFIG = "/etc/keepalived/keepalived.conf"
KEEPALIVED_INCLUDE_DIR = "/etc/keepalived/conf.d"
KEEPALIVED_PIDFILE = "/run/keepalived.pid"
