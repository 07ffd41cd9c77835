# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values of the vrrp role's variables as keepalived-syntax text (controller side, used by the filters).

Every value the role's template (roles/vrrp/templates/vrrp.conf.j2) writes goes through one of:

- keepalived_word(value): one plain token (names, numbers, addresses, words of a VIP line, auth_pass);
  anything that keepalived or vipd would read as more or less than that one token is refused.
- keepalived_quote(value): a script command line, quoted and escaped by the engine's own
  config_render.script_quote() so that keepalived 2.2.7 (alloc_strvec_quoted_escaped) and vipd read it back
  to exactly `value`, whose argv is config.split_command(value).

role_errors() is the role's validation (roles/vrrp/tasks/validate.yml): every string value is free of
control characters and line separators, every name is in its alphabet, every address is an IP address.
Errors never echo a secret, and other values only through inet.safe_repr().
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import math
import re
import unicodedata

from ansible_collections.floating.vip.plugins.module_utils import inet
from ansible_collections.floating.vip.plugins.plugin_utils import unicast_peers
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import split_command
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_render import script_quote
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_syntax import Source, split_line
from ansible_collections.floating.vip.plugins.module_utils.vrrp.metrics_http import ListenError, parse_listen
from ansible_collections.floating.vip.plugins.plugin_utils import routed_speaker


class KeepalivedTextError(ValueError):
    """A value that cannot be written into a keepalived-syntax file as asked (message never holds the value)."""


# Unicode categories refused in every string: controls (C0, DEL, C1: \n \r \x0b \x0c \x1c-\x1e \x85, NUL...),
# format characters (bidi overrides), surrogates, line and paragraph separators (\u2028 \u2029).
FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
# One keepalived token: printable ASCII without white space, quotes, backslash, comment characters (# !),
# braces, and `$` (keepalived's parameter substitution).
WORD_RE = re.compile(r"\A[A-Za-z0-9%&()*+,\-./:;<=>?@\[\]^_`|~]+\Z")
WORD_RULE = "printable ASCII without spaces or any of \" ' \\ # ! { } $"
# Names of instances, scripts and groups (keepalived takes any token; these are what configurations use).
NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,63}\Z")
NAME_RULE = "1-64 characters from letters, digits and '_ . : @ -', not starting with '.', ':', '@' or '-'"
RESERVED_NAMES = ("include",)
USER_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?\Z")
EMAIL_RE = re.compile(r"\A[A-Za-z0-9_.%+=-]+@[A-Za-z0-9.-]+\Z")
HOSTNAME_RE = re.compile(r"\A(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?\Z")
INT_RE = re.compile(r"\A-?[0-9]{1,10}\Z")
DECIMAL_RE = re.compile(r"\A[0-9]{1,10}(\.[0-9]{1,6})?\Z")
PATH_RE = re.compile(r"\A/[A-Za-z0-9_.@:+,=-]*(/[A-Za-z0-9_.@:+,=-]*)*\Z")
PATH_RULE = "an absolute path of letters, digits and '_ . @ : + , = - /'"
CAPABILITY_RE = re.compile(r"\ACAP_[A-Z_]{1,32}\Z")
AUTH_PASS_MAX = 8
NOTIFY_KEYS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
VIP_KEYS = ("address", "brd", "dev", "scope", "label")


def bad_character(value):
    """The class of the first refused character of `value` (for a message), or None when there is none.

    Refused: every character str.isprintable() refuses but the space (as vipd's lexer, which also allows tabs
    inside quotes: refused here), which covers FORBIDDEN_CATEGORIES, other spaces (U+00A0...) and unassigned ones.
    """
    for ch in value:
        if ch == " " or ch.isprintable():
            continue
        if ch in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
            return "a line separator"
        if unicodedata.category(ch) in FORBIDDEN_CATEGORIES:
            return "a control or format character"
        return "a non-printable character"
    return None


def keepalived_word(value):
    """`value` as one keepalived token; KeepalivedTextError when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise KeepalivedTextError("a keepalived word must be a string or a number, got %s" % type(value).__name__)
    text = str(value)
    if not text:
        raise KeepalivedTextError("a keepalived word cannot be empty")
    problem = bad_character(text)
    if problem:
        raise KeepalivedTextError("a keepalived word cannot contain %s" % problem)
    if not WORD_RE.match(text):
        raise KeepalivedTextError("a keepalived word must be %s" % WORD_RULE)
    return text


def keepalived_quote(value):
    """Config text for a script command (vrrp_script `script`, notify_*) that reads back to `value`."""
    if not isinstance(value, str):
        raise KeepalivedTextError("a script command must be a string, got %s" % type(value).__name__)
    problem = bad_character(value)
    if problem:
        raise KeepalivedTextError("a script command cannot contain %s" % problem)
    try:
        argv = split_command(value)
    except ValueError as exc:
        raise KeepalivedTextError("cannot split the script command: %s" % _reason(exc))
    if not argv or not argv[0]:
        raise KeepalivedTextError("a script command needs a program")
    return script_quote(value)


def keepalived_line(value):
    """`value` as one raw line of a keepalived-syntax file (the role's escape hatch); KeepalivedTextError otherwise.

    One line: a string without control characters (tabs included) or line separators. What it says is the
    user's: `vipd check` / `keepalived -t` judge the file; the role's validation also keeps braces balanced.
    """
    if not isinstance(value, str):
        raise KeepalivedTextError("a raw line must be a string, got %s" % type(value).__name__)
    problem = bad_character(value)
    if problem:
        raise KeepalivedTextError("a raw line cannot contain %s" % problem)
    return value


def brace_problem(lines):
    """Why a list of raw lines would close a block it did not open, leave one open, or skip a line; None when fine.

    The braces are counted on the tokens of the engine's own lexer (config_syntax.split_line: comments, quotes and
    escapes as keepalived reads them), so the lines can never close the block the role writes them into."""
    depth = 0
    for n, line in enumerate(lines):
        if line.lstrip(" ").startswith("@"):
            return "line %d starts with '@' (a conditional line keepalived may skip, unbalancing the braces)" % n
        src = Source()
        for token in split_line(line, "raw", n + 1, src):
            if token.is_open:
                depth += 1
            elif token.is_close:
                depth -= 1
                if depth < 0:
                    return "line %d closes a block the raw lines did not open" % n
        if any(m.level == "error" for m in src.messages):
            return "line %d cannot be read: %s" % (n, "; ".join(m.reason for m in src.messages if m.level == "error"))
    if depth:
        return "the raw lines leave %d block(s) open" % depth
    return None


def _reason(exc):
    # split_command's messages quote the command; keep only the reason.
    text = str(exc)
    return text.split(" in '", 1)[0].split(" of '", 1)[0]


# ---------------------------------------------------------------- validation of the role's variables

class _Checker:
    def __init__(self):
        self.errors = []

    def error(self, where, reason):
        self.errors.append("%s: %s" % (where, reason))

    def text(self, where, value, secret=False):
        """A string without control characters or line separators; None when it is not one."""
        if not isinstance(value, str):
            self.error(where, "must be a string, got %s" % type(value).__name__)
            return None
        problem = bad_character(value)
        if problem:
            self.error(where, "must not contain %s%s" % (problem, "" if secret else " (got %s)" % inet.safe_repr(value)))
            return None
        return value

    def matches(self, where, value, regex, rule, secret=False):
        text = self.text(where, value, secret)
        if text is None:
            return None
        if not regex.match(text):
            self.error(where, "must be %s%s" % (rule, "" if secret else ", got %s" % inet.safe_repr(text)))
            return None
        return text

    def name(self, where, value):
        text = self.matches(where, value, NAME_RE, NAME_RULE)
        if text is not None and text in RESERVED_NAMES:
            self.error(where, "%s is a keepalived keyword, not a name" % inet.safe_repr(text))
            return None
        return text

    def word(self, where, value, secret=False):
        return self.matches(where, value, WORD_RE, WORD_RULE, secret)

    def ifname(self, where, value):
        if self.text(where, value) is None:
            return None
        reason = inet.ifname_error(value)
        if reason:
            self.error(where, reason)
            return None
        return value

    def ip(self, where, value):
        if self.text(where, value) is None:
            return None
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            self.error(where, "must be an IP address, got %s" % inet.safe_repr(value))
            return None

    def integer(self, where, value, lo=None, hi=None):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.error(where, "must be an integer, got %s" % type(value).__name__)
            return None
        if isinstance(value, str):
            if self.text(where, value) is None:
                return None
            if not INT_RE.match(value):
                self.error(where, "must be an integer, got %s" % inet.safe_repr(value))
                return None
            value = int(value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.error(where, "must be between %s and %s, got %d" % (lo, hi, value))
            return None
        return value

    def decimal(self, where, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.error(where, "must be a number, got %s" % type(value).__name__)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(where, "must be a finite number")
            return None
        text = str(value)
        if self.text(where, text) is None:
            return None
        if not DECIMAL_RE.match(text):
            self.error(where, "must be a non-negative decimal number (at most 6 decimals), got %s" % inet.safe_repr(text))
            return None
        return value

    def boolean(self, where, value):
        if not isinstance(value, bool):
            self.error(where, "must be true or false, got %s" % type(value).__name__)

    def choice(self, where, value, choices):
        if isinstance(value, str) and value in [str(c) for c in choices]:
            return  # "3" from --extra-vars for version 3
        if value not in choices or isinstance(value, bool):
            self.error(where, "must be one of %s, got %s" % (", ".join(str(c) for c in choices), inet.safe_repr(value)))

    def command(self, where, value):
        if self.text(where, value) is None:
            return
        try:
            keepalived_quote(value)
        except KeepalivedTextError as exc:
            self.error(where, "%s, got %s" % (exc, inet.safe_repr(value)))

    def userspec(self, where, value):
        text = self.text(where, value)
        if text is None:
            return
        words = text.split(" ")
        if not 1 <= len(words) <= 2 or not all(USER_RE.match(w) for w in words):
            self.error(where, "must be USER or 'USER GROUP' (POSIX names), got %s" % inet.safe_repr(text))

    def email(self, where, value):
        self.matches(where, value, EMAIL_RE, "an e-mail address (LOCAL@DOMAIN)")

    def host(self, where, value):
        text = self.text(where, value)
        if text is None:
            return False
        try:
            ipaddress.ip_address(text)
            return True
        except ValueError:
            pass
        if not HOSTNAME_RE.match(text):
            self.error(where, "must be an IP address or a host name, got %s" % inet.safe_repr(text))
            return False
        return True

    def smtp_server(self, where, value):
        if isinstance(value, str) and " " in value:
            host, _sep, port = value.partition(" ")
            if self.host(where, host):
                self.integer(where + " (port)", port, 1, 65535)
        else:
            self.host(where, value)

    def path(self, where, value, empty_ok=False):
        if empty_ok and value == "":
            return
        self.matches(where, value, PATH_RE, PATH_RULE)

    def mapping(self, where, value, allowed):
        if not isinstance(value, dict):
            self.error(where, "must be a dictionary, got %s" % type(value).__name__)
            return None
        for key in value:
            if key not in allowed:
                self.error(where, "unknown option %s (known: %s)" % (inet.safe_repr(key), ", ".join(allowed)))
        return value

    def sequence(self, where, value):
        if not isinstance(value, (list, tuple)):
            self.error(where, "must be a list, got %s" % type(value).__name__)
            return []
        return value

    # ---- composite values

    def label(self, where, value):
        text = self.text(where, value)
        if text is None:
            return
        dev, colon, suffix = text.partition(":")
        ok = inet.is_ifname(dev) and (not colon or inet.LABEL_SUFFIX_RE.match(suffix)) and len(text) <= 15
        if not ok:
            self.error(where, "must be IFNAME or IFNAME:SUFFIX (at most 15 characters; %s), got %s"
                       % (inet.IFNAME_RULE, inet.safe_repr(text)))

    def vip_option(self, where, key, value):
        if key == "dev":
            self.ifname(where, value)
        elif key in ("brd", "broadcast"):
            if value not in ("+", "-"):
                self.ip(where, value)
        elif key == "scope":
            if not (value in inet.SCOPES or (isinstance(value, str) and value.isdigit() and int(value) <= 255)):
                self.error(where, "must be one of %s or 0-255, got %s" % (", ".join(inet.SCOPES), inet.safe_repr(value)))
        elif key == "label":
            self.label(where, value)
        else:
            self.word(where, value)

    def vip_address(self, where, value):
        if self.text(where, value) is None:
            return
        try:
            ipaddress.ip_interface(value)
        except ValueError:
            self.error(where, "must be an IP address with an optional /prefix, got %s" % inet.safe_repr(value))

    def vip(self, where, item):
        if isinstance(item, dict):
            self.mapping(where, item, VIP_KEYS)
            if "address" not in item:
                self.error(where, "needs 'address'")
            else:
                self.vip_address(where + ".address", item["address"])
            for key in VIP_KEYS[1:]:
                if item.get(key) is not None:
                    self.vip_option("%s.%s" % (where, key), key, item[key])
            return
        if self.text(where, item) is None:
            return
        words = item.split(" ")
        if not all(words):
            self.error(where, "words must be separated by one space, got %s" % inet.safe_repr(item))
            return
        self.vip_address(where, words[0])
        rest = words[1:]
        i = 0
        while i < len(rest):
            key = rest[i]
            if key in ("dev", "brd", "broadcast", "scope", "label"):
                if i + 1 >= len(rest):
                    self.error(where, "option %s needs a value" % key)
                    return
                self.vip_option("%s (%s)" % (where, key), key, rest[i + 1])
                i += 2
            else:
                self.word("%s (option)" % where, key)
                i += 1

    def tracked(self, where, item, key, check_name):
        if isinstance(item, dict):
            self.mapping(where, item, (key, "weight"))
            if key not in item:
                self.error(where, "needs %r" % key)
            elif isinstance(item[key], str) and item[key].startswith("@"):
                self.error("%s.%s" % (where, key), "must not start with '@' (keepalived would skip the line)")
            else:
                check_name("%s.%s" % (where, key), item[key])
            if item.get("weight") is not None:
                self.integer(where + ".weight", item["weight"], -254, 254)
            return
        if self.text(where, item) is None:
            return
        words = item.split(" ")
        if words[0].startswith("@"):
            # The name starts the line, and keepalived reads '@ID ...' as a line for another config id only.
            self.error(where, "must not start with '@' (keepalived would skip the line), got %s" % inet.safe_repr(item))
            return
        check_name(where, words[0])
        if len(words) == 3 and words[1] == "weight":
            self.integer(where + " (weight)", words[2], -254, 254)
        elif len(words) != 1:
            self.error(where, "must be NAME or 'NAME weight N', got %s" % inet.safe_repr(item))


GLOBAL_SPEC = {
    "router_id": "name", "notification_email": "emails", "notification_email_from": "email", "smtp_server": "smtp",
    "smtp_connect_timeout": "int", "vrrp_version": (2, 3), "enable_script_security": "bool", "script_user": "user",
    "vrrp_garp_master_delay": "int", "vrrp_garp_master_repeat": "int", "vrrp_garp_master_refresh": "int",
    "vrrp_garp_master_refresh_repeat": "int", "vrrp_garp_interval": "float",
    "vrrp_garp_lower_prio_delay": "int", "vrrp_garp_lower_prio_repeat": "int", "vrrp_startup_delay": "float",
    "vrrp_mcast_group4": "ip", "vrrp_mcast_group6": "ip", "max_auto_priority": "int", "vrrp_strict": "bool",
    "vrrp_higher_prio_send_advert": "bool", "vrrp_lower_prio_no_advert": "bool", "vrrp_notify_priority_changes": "bool",
    "vrrp_notify_fifo": "path", "notify_fifo": "path", "vrrp_notify_fifo_script": "command", "notify_fifo_script": "command",
    "vrrp_min_garp": "bool", "vrrp_garp_extra_if": "extra_if", "vrrp_garp_extra_if_all": "bool", "umask": "umask",
    "smtp_helo_name": "host", "no_email_faults": "bool",
    "raw": "raw",
}
SCRIPT_SPEC = {
    "name": "name", "script": "command", "interval": "int", "timeout": "int", "weight": "int", "reverse": "bool", "rise": "int",
    "fall": "int", "user": "user", "init_fail": "bool",
}
TRACK_FILE_SPEC = {
    "name": "name", "file": "path", "weight": "weight", "reverse": "bool", "init_file": "init_file", "overwrite": "bool",
}
CHECK_TYPES = ("icmp", "tcp", "http", "https")
CHECK_SPEC = {
    "name": "name", "type": CHECK_TYPES, "host": "host", "port": "port", "path": "url_path", "expect_status": "status",
    "expect_body": "word", "server_name": "host", "tls_verify": "bool", "interval": "float", "timeout": "float", "rise": "int",
    "fall": "int", "weight": "weight", "reverse": "bool", "init_fail": "bool",
}
INSTANCE_SPEC = dict({
    "name": "name", "state": ("MASTER", "BACKUP"), "interface": "ifname", "virtual_router_id": "vrid",
    "priority": "priority", "advert_int": "float", "version": (2, 3), "preempt": "bool", "preempt_delay": "float",
    "authentication": "auth", "unicast_src_ip": "ip", "unicast_peers": "ips", "virtual_ipaddresses": "vips",
    "virtual_ipaddresses_excluded": "vips", "track_interfaces": "track_if", "track_scripts": "track_script",
    "smtp_alert": "bool", "garp_master_delay": "int", "garp_master_repeat": "int", "garp_master_refresh": "int",
    "garp_master_refresh_repeat": "int", "garp_interval": "float",
    "mcast_src_ip": "ip", "dont_track_primary": "bool", "accept": "bool", "strict_mode": "bool", "higher_prio_send_advert": "bool",
    "lower_prio_no_advert": "bool", "notify_priority_changes": "bool", "notify_master_rx_lower_pri": "command",
    "garp_lower_prio_delay": "int", "garp_lower_prio_repeat": "int", "track_files": "track_file", "virtual_routes": "lines",
    "virtual_rules": "lines", "promote_secondaries": "bool", "garp_extra_if": "extra_if", "garp_extra_if_all": "bool",
    "raw": "raw", "routed": "routed", "unicast_peers_from_group": "group", "unicast_peer_address_var": "var_path",
}, **dict((k, "command") for k in NOTIFY_KEYS))
GROUP_SPEC = dict({"name": "name", "instances": "names", "smtp_alert": "bool", "track_interfaces": "track_if",
                   "track_scripts": "track_script", "track_files": "track_file"}, **dict((k, "command") for k in NOTIFY_KEYS))
REQUIRED = {
    "vrrp_scripts": ("name", "script"),
    "vrrp_instances": ("name", "interface", "virtual_router_id", "virtual_ipaddresses"),
    "vrrp_sync_groups": ("name", "instances"),
    "vrrp_track_files": ("name", "file"),
    "vrrp_vipd_checks": ("name", "type", "host"),
}
BLOCK_VARS = (("vrrp_scripts", SCRIPT_SPEC), ("vrrp_vipd_checks", CHECK_SPEC), ("vrrp_instances", INSTANCE_SPEC),
              ("vrrp_sync_groups", GROUP_SPEC), ("vrrp_track_files", TRACK_FILE_SPEC))
# A script file shipped by the role: its name in vrrp_script_dir.
FILE_NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}\Z")
# Role variables that reach a file, a unit or a command line as paths.
PATH_VARS = ("vrrp_engine_dir", "vrrp_bin", "vrrp_config_dir", "vrrp_config_file", "vrrp_conf_d", "vrrp_run_dir",
             "vrrp_pidfile", "vrrp_control_socket", "vrrp_log_file", "vrrp_unit_path", "vrrp_keepalived_config_file",
             "vrrp_keepalived_conf_d", "vrrp_venv", "vrrp_sysctl_file", "vrrp_state_dir")
OPTIONAL_PATH_VARS = ("vrrp_config_from", "vrrp_script_dir")
UMASK_RE = re.compile(r"\A0[0-7]{1,4}\Z")
COMMAND_NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")


def _check_value(c, where, kind, value):
    if isinstance(kind, tuple):
        c.choice(where, value, kind)
    elif kind == "name":
        c.name(where, value)
    elif kind == "names":
        for n, item in enumerate(c.sequence(where, value)):
            c.name("%s[%d]" % (where, n), item)
    elif kind == "command":
        c.command(where, value)
    elif kind == "int":
        c.integer(where, value, -(2 ** 31), 2 ** 31)
    elif kind == "vrid":
        c.integer(where, value, 1, 255)
    elif kind == "priority":
        c.integer(where, value, 1, 255)
    elif kind == "float":
        c.decimal(where, value)
    elif kind == "bool":
        c.boolean(where, value)
    elif kind == "user":
        c.userspec(where, value)
    elif kind == "email":
        c.email(where, value)
    elif kind == "emails":
        for n, item in enumerate(c.sequence(where, value)):
            c.email("%s[%d]" % (where, n), item)
    elif kind == "smtp":
        c.smtp_server(where, value)
    elif kind == "ifname":
        c.ifname(where, value)
    elif kind == "ip":
        c.ip(where, value)
    elif kind == "group":
        if value != "":  # empty: this instance takes no peers from a group (overrides the role-wide one)
            c.matches(where, value, unicast_peers.GROUP_RE, "an inventory group name")
    elif kind == "var_path":
        c.matches(where, value, unicast_peers.VAR_PATH_RE, "a variable name or dotted path (ansible_default_ipv4.address)")
    elif kind == "ips":
        for n, item in enumerate(c.sequence(where, value)):
            c.ip("%s[%d]" % (where, n), item)
    elif kind == "vips":
        for n, item in enumerate(c.sequence(where, value)):
            c.vip("%s[%d]" % (where, n), item)
    elif kind == "track_if":
        for n, item in enumerate(c.sequence(where, value)):
            c.tracked("%s[%d]" % (where, n), item, "interface", c.ifname)
    elif kind == "track_script":
        for n, item in enumerate(c.sequence(where, value)):
            c.tracked("%s[%d]" % (where, n), item, "name", c.name)
    elif kind == "auth":
        _check_auth(c, where, value)
    elif kind == "path":
        c.path(where, value)
    elif kind == "weight":
        c.integer(where, value, -254, 254)
    elif kind == "port":
        c.integer(where, value, 1, 65535)
    elif kind == "status":
        c.integer(where, value, 100, 599)
    elif kind == "host":
        c.host(where, value)
    elif kind == "word":
        c.word(where, value)
    elif kind == "url_path":
        if c.word(where, value) is not None and not value.startswith("/"):
            c.error(where, "must start with '/', got %s" % inet.safe_repr(value))
    elif kind == "init_file":
        if not isinstance(value, bool):
            c.integer(where, value, -254, 254)
    elif kind == "track_file":
        for n, item in enumerate(c.sequence(where, value)):
            c.tracked("%s[%d]" % (where, n), item, "name", c.name)
    elif kind == "lines":
        # virtual_routes / virtual_rules: keepalived's words, one route or rule a line (the engine checks the syntax)
        for n, item in enumerate(c.sequence(where, value)):
            item_where = "%s[%d]" % (where, n)
            if c.text(item_where, item) is not None:
                words = item.split(" ")
                if not all(words):
                    c.error(item_where, "words must be separated by one space, got %s" % inet.safe_repr(item))
                for word in words:
                    if word and c.word(item_where, word) is None:
                        break
    elif kind == "extra_if":  # garp_extra_if seconds (keepalived: 0-86400; the global 1-86400, checked by the engine)
        c.integer(where, value, 0, 86400)
    elif kind == "umask":  # keepalived's umask: an octal string such as "0022" (or a number), within 0777
        if isinstance(value, int) and not isinstance(value, bool):
            c.integer(where, value, 0, 0o777)
        elif c.matches(where, value, UMASK_RE, "an octal mask such as '0022' (0 to 0777)") is not None and int(value, 8) > 0o777:
            c.error(where, "must be an octal mask from 0 to 0777, got %s" % inet.safe_repr(value))
    elif kind == "raw":
        _check_raw(c, where, value)
    elif kind == "routed":
        c.errors.extend(routed_speaker.instance_errors(where, value))
    else:  # pragma: no cover - a kind missing above is a bug of this table
        raise AssertionError("unknown kind %s" % kind)


def _check_auth(c, where, value):
    if c.mapping(where, value, ("auth_type", "auth_pass")) is None:
        return
    if value.get("auth_type") is not None:
        c.choice(where + ".auth_type", value["auth_type"], ("PASS", "AH"))
    secret = value.get("auth_pass")
    if secret is None:
        return
    # Never echoed, not even in part.
    # keepalived's daemon cuts a longer one to 8, but `keepalived -t` (exit 5, "Truncating auth_pass") and `vipd check`
    # refuse it, and the role validates with them: refused here, with a message that says why.
    if c.word(where + ".auth_pass", secret, secret=True) is not None and len(secret) > AUTH_PASS_MAX:
        c.error(where + ".auth_pass", AUTH_PASS_TOO_LONG)


AUTH_PASS_TOO_LONG = ("must be at most %d characters: VRRPv2 carries 8, keepalived cuts a longer one and "
                      "`keepalived -t` and `vipd check` refuse it" % AUTH_PASS_MAX)


def _check_raw(c, where, value):
    lines = c.sequence(where, value)
    ok = True
    for n, line in enumerate(lines):
        try:
            keepalived_line(line)
        except KeepalivedTextError as exc:
            c.error("%s[%d]" % (where, n), str(exc) if not isinstance(line, str) else "%s, got %s" % (exc, inet.safe_repr(line)))
            ok = False
    if ok:
        problem = brace_problem(lines)
        if problem:
            c.error(where, problem)


def _check_script_files(c, value):
    for n, item in enumerate(c.sequence("vrrp_script_files", value)):
        where = "vrrp_script_files[%d]" % n
        if isinstance(item, dict):
            if c.mapping(where, item, ("src", "name")) is None:
                continue
            src, name = item.get("src"), item.get("name")
            if src is None:
                c.error(where, "needs 'src'")
                continue
        else:
            src, name = item, None
        if c.text(where + (".src" if isinstance(item, dict) else ""), src) is None or not src:
            if src == "":
                c.error(where, "needs a source path")
            continue
        if name is None:
            name = src.rstrip("/").rsplit("/", 1)[-1]
        c.matches(where + " (name)", name, FILE_NAME_RE, "a file name of letters, digits and '_ . + -' (1-128, not starting with '.')")


def script_file_items(value, directory=None, contents=None):
    """vrrp_script_files as [{"src": SRC, "name": NAME}] (NAME: the base name of SRC unless given); ValueError if invalid.

    With `directory`: also "path" (directory/NAME). With `contents` too (the files' texts, in order, as the file lookup
    reads them): what floating.vip.vrrp_deployed expects of each file instead: {path, sha256, mode, owner, group}."""
    c = _Checker()
    _check_script_files(c, value)
    if c.errors:
        raise ValueError("; ".join(c.errors))
    out = []
    for item in value or []:
        src, name = (item.get("src"), item.get("name")) if isinstance(item, dict) else (item, None)
        out.append({"src": src, "name": name or src.rstrip("/").rsplit("/", 1)[-1]})
    if directory is not None:
        for entry in out:
            entry["path"] = directory.rstrip("/") + "/" + entry["name"]
    if contents is not None:
        if len(contents) != len(out):
            raise ValueError("%d contents for %d script files" % (len(contents), len(out)))
        expected = []
        for entry, text in zip(out, contents):
            data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
            expected.append({"path": entry.get("path", entry["name"]), "sha256": hashlib.sha256(data).hexdigest(), "mode": "0755",
                             "owner": "root", "group": "root"})
        return expected
    return out


def _check_backend(c, variables):
    """What the keepalived back end cannot take: vipd-only blocks and keywords are refused, not dropped silently."""
    if variables.get("vrrp_backend") != "keepalived":
        return
    if variables.get("vrrp_vipd_checks"):
        c.error("vrrp_vipd_checks", "vipd_check blocks are vipd's own: keepalived refuses them (vrrp_backend is keepalived)")
    for n, item in enumerate(variables.get("vrrp_instances") or []):
        if isinstance(item, dict) and item.get("routed") is not None:
            c.error("vrrp_instances[%d].routed" % n, "routed VIPs (vipd_routed) are vipd's own: keepalived has no route mode "
                    "(vrrp_backend is keepalived)")
        if isinstance(item, dict) and item.get("garp_interval") is not None:
            c.error("vrrp_instances[%d].garp_interval" % n, "keepalived has no per-instance garp_interval (vrrp_backend is keepalived): "
                    "use vrrp_global.vrrp_garp_interval")


def _check_block(c, where, value, spec, required=()):
    if c.mapping(where, value, tuple(spec)) is None:
        return
    for key in required:
        if value.get(key) is None:
            c.error(where, "needs %r" % key)
    for key, kind in spec.items():
        if value.get(key) is not None:
            _check_value(c, "%s.%s" % (where, key), kind, value[key])


def role_errors(variables):
    """Every problem of the vrrp role's variables (a dict of them), as 'WHERE: reason' strings."""
    c = _Checker()
    if not isinstance(variables, dict):
        return ["the variables must be a dictionary, got %s" % type(variables).__name__]
    if variables.get("vrrp_global") is not None:
        _check_block(c, "vrrp_global", variables["vrrp_global"], GLOBAL_SPEC)
    checks = set()  # vrrp_script and vipd_check names share one name space (track_script refers to both)
    for var, spec in BLOCK_VARS:
        names = checks if var in ("vrrp_scripts", "vrrp_vipd_checks") else set()
        for n, item in enumerate(c.sequence(var, variables.get(var) or [])):
            where = "%s[%d]" % (var, n)
            _check_block(c, where, item, spec, REQUIRED[var])
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str):
                if name in names:
                    c.error(where, "name %s is used twice" % inet.safe_repr(name))
                names.add(name)
    if variables.get("vrrp_raw_config") is not None:
        _check_raw(c, "vrrp_raw_config", variables["vrrp_raw_config"])
    for n, item in enumerate(c.sequence("vrrp_writable_paths", variables.get("vrrp_writable_paths") or [])):
        c.path("vrrp_writable_paths[%d]" % n, item)
    if "vrrp_private_tmp" in variables:
        c.boolean("vrrp_private_tmp", variables["vrrp_private_tmp"])
    if variables.get("vrrp_script_files") is not None:
        _check_script_files(c, variables["vrrp_script_files"])
    _check_backend(c, variables)
    for var in PATH_VARS:
        if var in variables:
            c.path(var, variables[var])
    for var in OPTIONAL_PATH_VARS:
        if var in variables:
            c.path(var, variables[var], empty_ok=True)
    python = variables.get("vrrp_python")
    if python and not (isinstance(python, str) and COMMAND_NAME_RE.match(python)):
        c.path("vrrp_python", python)
    if "vrrp_extra_capabilities" in variables:
        for n, item in enumerate(c.sequence("vrrp_extra_capabilities", variables["vrrp_extra_capabilities"])):
            c.matches("vrrp_extra_capabilities[%d]" % n, item, CAPABILITY_RE, "a capability name (CAP_...)")
    _check_metrics(c, variables)
    return c.errors


def _check_metrics(c, variables):
    """vrrp_metrics_listen as `vipd run --metrics-listen` takes it (the same parser), for vipd only."""
    allow = variables.get("vrrp_metrics_allow_remote", False)
    if "vrrp_metrics_allow_remote" in variables:
        c.boolean("vrrp_metrics_allow_remote", allow)
    listen = variables.get("vrrp_metrics_listen")
    if listen in (None, ""):
        return
    if not isinstance(listen, str):
        c.error("vrrp_metrics_listen", "must be a string ADDR:PORT, got %s" % type(listen).__name__)
        return
    if variables.get("vrrp_backend") == "keepalived":
        c.error("vrrp_metrics_listen", "the metrics endpoint is vipd's own: keepalived has none (vrrp_backend is keepalived)")
        return
    try:
        parse_listen(listen, allow_remote=allow is True)
    except ListenError as exc:
        c.error("vrrp_metrics_listen", str(exc).replace("--metrics-allow-remote", "vrrp_metrics_allow_remote: true"))
