# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived-syntax configuration -> typed model (the one source of truth for vipd and modules).

Public entry points: load(path), parse_text(text, filename), ConfigError; the way back to text is
config_render.py (render_config(), render_instance()). Every error is collected (not only the first) as `FILE:LINE: reason`.
Known keepalived keywords vipd does not implement are warnings (config_keywords.py);
anything else unknown is an error. Deliberate differences from keepalived (stricter):
a value keepalived "ignores" or resets after complaining is an error here, a track_script
or sync-group member naming something undefined is an error, and an instance needs
`interface`, `virtual_router_id` and at least one VIP.

Extension hook: register_block(keyword, handler) lets another module (static routes, track_process)
own a top-level block; register_instance_keyword() does the same inside vrrp_instance. The
`vipd_check` block is parsed here directly (config_checks.py). Host checks of the scripts
(script_security.py) are not run by this module: callers pass them as host_checks=.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import ipaddress
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .. import inet
from . import config_keywords as kw
from .config_checks import EXT_KEY as VIPD_CHECK, vipd_check_block
from .config_model import (
    INFINITY_LIFE_TIME, VIP_FLAG_WORDS, Config, ConfigError, GlobalDefs, Instance, Message, SyncGroup, TrackFile, VipSpec,
    VrrpScript,
)
from .config_syntax import Source, build_tree, lex_file, lex_text

# config.py is the public entry: the model classes are re-exported from here.
__all__ = [
    "Config", "ConfigError", "GlobalDefs", "Instance", "Message", "SyncGroup", "TrackFile", "VipSpec", "VrrpScript",
    "load", "parse_text", "register_block",
    "register_instance_keyword", "register_validator", "BLOCK_HANDLERS", "INSTANCE_KEYWORDS", "VALIDATORS", "split_command",
]

# keyword -> handler(ctx, node); the handler stores its result in ctx.config.extensions[keyword].
BLOCK_HANDLERS = {}
# keyword -> (handler(ctx, node, instance), render(instance) -> list of lines or None)
INSTANCE_KEYWORDS = {}
# fn(ctx) run after every parse (see register_validator).
VALIDATORS = []

SCOPES = tuple(inet.SCOPES)
TRUE_WORDS = ("true", "yes", "on")
FALSE_WORDS = ("false", "no", "off")


def register_block(keyword, handler):
    """Let another module own a top-level `keyword ... { }` block (for vipd extensions)."""
    BLOCK_HANDLERS[keyword] = handler


def register_validator(fn):
    """Let another module check the whole config after parsing: fn(ctx) reports with ctx.error/ctx.warning."""
    if fn not in VALIDATORS:
        VALIDATORS.append(fn)


def _load_extensions():
    # These modules register their keywords here (register_block...) when imported; they import this module,
    # so they are imported on the first parse, statically (Ansible packs them with any module that parses).
    from . import config_routes, routed, sync_tracking, track_process  # noqa: F401 pylint: disable=unused-import,import-outside-toplevel


def register_instance_keyword(keyword, handler, render=None):
    """Let another module own a keyword inside vrrp_instance; store in instance.extensions."""
    INSTANCE_KEYWORDS[keyword] = (handler, render)


class Context:
    """Messages and the config being built; passed to extension handlers."""

    def __init__(self, src):
        self.src = src
        self.config = Config()

    def error(self, where, reason):
        self.src.error(where.file, where.line, reason)

    def warning(self, where, reason):
        self.src.warning(where.file, where.line, reason)

    def fixup(self, where, reason):
        """keepalived reports it (so `keepalived -t` and `vipd check` fail) and fixes it up at run time, as vipd run does."""
        self.src.fixup(where.file, where.line, reason)

    def show(self, where, value, plain=False):
        """`value` for a message about `where`: "(not shown)" if it comes from an included file or a secret,
        else escaped (inet.safe_repr; `plain`: a simple word is shown without quotes)."""
        return self.src.show(where, value, plain)

    def kw(self, node):
        """The keyword of `node` for a message: a keyword vipd knows is shown as is, any other word via show()."""
        k = node.keyword
        if not node.quoted and (k in kw.KNOWN or k in BLOCK_HANDLERS or k in INSTANCE_KEYWORDS or k in ROOT_HANDLERS):
            return "'%s'" % k
        return self.show(node, k)

    def unimplemented(self, node, section=None):
        """A known keepalived keyword vipd does not implement: refused with what it changes, or a warning saying
        why it has no effect on vipd (config_keywords.verdict)."""
        refused, reason = kw.verdict(section, node.keyword)
        if refused:
            self.error(node, kw.refused_message(node.keyword, reason))
        else:
            self.warning(node, kw.warned_message(node.keyword, reason))

    def unknown(self, node, where):
        self.error(node, "unknown keyword %s in %s" % (self.show(node, node.keyword), where))

    # -- value helpers (each returns None after reporting an error) --

    def no_block(self, node):
        if node.children is not None:
            self.error(node, "keyword %s does not take a '{' block" % self.kw(node))
            return False
        return True

    def need_block(self, node):
        if node.children is None:
            self.error(node, "keyword %s needs a '{ ... }' block" % self.kw(node))
            return False
        return True

    def one(self, node):
        if not self.no_block(node):
            return None
        if not node.args:
            self.error(node, "keyword %s needs a value" % self.kw(node))
            return None
        if len(node.args) > 1:
            self.error(node, "keyword %s takes one value, got %d" % (self.kw(node), len(node.args)))
            return None
        return node.args[0].value

    def flag(self, node):
        if self.no_block(node) and node.args:
            self.error(node, "keyword %s takes no value" % self.kw(node))
        return True

    def integer(self, node, lo, hi, text=None, name=None):
        if text is None:
            text = self.one(node)
            if text is None:
                return None
        name = name or node.keyword
        # ASCII digits only, and short: int() of 5000 digits raises ValueError (Python's int_max_str_digits).
        if re.match(r"^[+-]?[0-9]{1,20}$", text):
            value = int(text)
            if lo <= value <= hi:
                return value
        self.error(node, "%s %s is not valid: must be an integer from %d to %d" % (name, self.show(node, text), lo, hi))
        return None

    def seconds(self, node, lo, hi):
        """decimal() as a float (a timer's seconds), or None with the error reported."""
        value = self.decimal(node, Decimal(lo), Decimal(hi))
        return float(value) if value is not None else None

    def block_name(self, node):
        """The one name of a named block (`vrrp_script NAME { ... }`), or None with the error reported."""
        if len(node.args) != 1:
            self.error(node, "%s needs exactly one name" % node.keyword)
            return None
        return node.args[0].value

    def decimal(self, node, lo, hi, name=None):
        text = self.one(node)
        if text is None:
            return None
        name = name or node.keyword
        try:
            value = Decimal(text) if len(text) <= 40 and re.match(r"^[0-9]*\.?[0-9]+$|^[0-9]+\.$", text) else None
        except InvalidOperation:
            value = None
        if value is None or not lo <= value <= hi:
            self.error(node, "%s %s is not valid: must be a number of seconds from %s to %s" % (name, self.show(node, text), lo, hi))
            return None
        if -value.as_tuple().exponent > 6:
            # keepalived reads microseconds: more places is an error for -t, rounded half up at run time.
            self.fixup(node, "%s %s has too many decimal places; rounded to microseconds (as keepalived)"
                       % (name, self.show(node, text)))
            value = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        return value

    def boolean(self, node, default=True):
        if not self.no_block(node):
            return None
        if not node.args:
            return default
        word = node.args[0].value.lower()
        if len(node.args) == 1 and word in TRUE_WORDS + FALSE_WORDS:
            return word in TRUE_WORDS
        self.error(node, "keyword %s takes an optional true/false, got %s" % (self.kw(node), self.show(node, " ".join(node.values))))
        return None

    def command(self, node):
        """A script command line: one quoted token or the rest of the line (as keepalived)."""
        if not self.no_block(node):
            return None
        if not node.args:
            self.error(node, "keyword %s needs a script" % self.kw(node))
            return None
        if len(node.args) == 1:
            token = node.args[0]
            if not token.quoted:
                return token.value
            # keepalived reads the line with alloc_strvec_quoted_escaped(): backslash escapes resolve here,
            # and split_command() splits the resulting string into argv (a second pass, as keepalived does).
            try:
                return split_command('"%s"' % token.value)[0]
            except ValueError as exc:
                self.error(node, "cannot parse script %s: %s" % (self.show(node, token.value), exc))
                return None
        return " ".join(_quote_word(t.value) for t in node.args)

    def weight(self, node, words, bound, name, usage, after_keyword=True, reverse_words=("reverse",)):
        """The one weight parser: `N [reverse]` (the words after a `weight` keyword) or, on a tracking line,
        `weight N [reverse]` (after_keyword=False) -> (N, the reverse word or None). None after an error:
        `usage` for a wrong shape, else N out of -bound..bound (named `name`)."""
        if not after_keyword:
            if not words or words[0] != "weight":
                self.error(node, usage)
                return None
            words = words[1:]
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in reverse_words):
            self.error(node, usage)
            return None
        value = self.integer(node, -bound, bound, text=words[0], name=name)
        if value is None:
            return None
        return value, (words[1] if len(words) == 2 else None)

    def ip(self, node, text, what="IP address"):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            self.error(node, "invalid %s %s" % (what, self.show(node, text)))
            return None

    def ifname(self, node, text, what="interface name"):
        if not inet.is_ifname(text):
            self.error(node, "invalid %s %s (%s)" % (what, self.show(node, text), inet.IFNAME_RULE))
            return None
        return text


ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def split_command(text):
    """argv of a script command as keepalived 2.2.7 splits it (lib/parser.c alloc_strvec_quoted_escaped).

    Words split on white space; '...' and "..." group (quotes removed, no shell expansion); a backslash
    escapes the next character (C escapes \\n \\t \\xHH \\NNN \\cX as keepalived). Raises ValueError on an
    unterminated quote or a trailing backslash.
    """
    words = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\n\r\f\v":
            i += 1
        if i >= n:
            break
        word, quote, started = [], None, False
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 1
                if i >= n:
                    raise ValueError("backslash at the end")
                ch = text[i]
                if ch == "x" and i + 1 < n and text[i + 1] in "0123456789abcdefABCDEF":
                    j = i + 1
                    while j < n and text[j] in "0123456789abcdefABCDEF":
                        j += 1
                    word.append(chr(int(text[i + 1:j], 16) & 0xFF))
                    i = j
                elif ch == "c" and i + 1 < n:
                    word.append(chr(ord(text[i + 1]) & 0x1F))
                    i += 2
                elif "0" <= ch <= "7":
                    j = i
                    while j < n and j < i + 3 and "0" <= text[j] <= "7":
                        j += 1
                    word.append(chr(int(text[i:j], 8) & 0xFF))
                    i = j
                else:
                    word.append(ESCAPES.get(ch, ch))
                    i += 1
                started = True
                continue
            if quote:
                if ch == quote:
                    quote = None
                else:
                    word.append(ch)
                i += 1
                continue
            if ch in "'\"":
                quote, started = ch, True
                i += 1
                continue
            if ch in " \t\n\r\f\v":
                break
            word.append(ch)
            i += 1
        if quote:
            raise ValueError("missing terminating %s" % quote)
        if word or started:
            words.append("".join(word))
    return words


def _quote_word(word):
    return '"%s"' % word if re.search(r"\s", word) else word


def _seconds(value):
    return float(value)


# ---------------------------------------------------------------- keyword tables
#
# Each block (global_defs, vrrp_script, track_file, vrrp_sync_group, vrrp_instance) is read through a table
# keyword -> handler(ctx, node, owner), declared once next to its block. A handler reads the node's value
# (reporting any error at FILE:LINE) and stores it in the model object `owner`. Most are built by _store():
# a reader (ctx, node) -> value, and the attribute it goes to. A keyword in no table is checked against
# config_keywords (known but not implemented: refused or warned), else it is an unknown keyword.

def _store(read, attr=None, valid_only=True):
    """A table handler: read(ctx, node) -> value, set as owner.ATTR (default: the keyword's own name).
    valid_only: a value that failed (None, already reported) leaves the attribute as it was."""
    def handler(ctx, node, owner):
        value = read(ctx, node)
        if value is not None or not valid_only:
            setattr(owner, attr or node.keyword, value)
    return handler


def _int(lo, hi):
    return lambda ctx, node: ctx.integer(node, lo, hi)


def _seconds_from(lo, hi):
    """A reader of a number of seconds (Decimal range lo..hi) -> float."""
    return lambda ctx, node: ctx.seconds(node, lo, hi)


def _one(ctx, node):
    return ctx.one(node)


def _flag(ctx, node):
    return ctx.flag(node)


def _boolean(ctx, node):
    return ctx.boolean(node)


def _notify(ctx, node, owner):
    """notify_* SCRIPT [USER [GROUP]] -> owner.KEYWORD (None after an error)."""
    setattr(owner, node.keyword, _notify_line(ctx, node, owner))


def _user_group(user_attr, group_attr):
    """`KEYWORD USER [GROUP]` -> owner.USER_ATTR, owner.GROUP_ATTR."""
    def handler(ctx, node, owner):
        if ctx.no_block(node):
            if not 1 <= len(node.args) <= 2:
                ctx.error(node, "%s takes USER [GROUP]" % node.keyword)
            else:
                setattr(owner, user_attr, node.values[0])
                setattr(owner, group_attr, node.values[1] if len(node.args) > 1 else None)
    return handler


def _read_block(ctx, node, table, owner, section, unimplemented=frozenset(), verdict_section=None):
    """Every line of a block through its table, in order; then known-unimplemented, then unknown."""
    for child in node.children or []:
        handler = table.get(child.keyword)
        if handler is not None:
            handler(ctx, child, owner)
        elif child.keyword in unimplemented:
            ctx.unimplemented(child, verdict_section)
        else:
            ctx.unknown(child, section)


# ---------------------------------------------------------------- global_defs

def _global_defs(ctx, node):
    _read_block(ctx, node, GLOBAL_DEFS_KEYWORDS, ctx.config.global_defs, "global_defs", kw.GLOBAL_DEFS)


def _notification_email(ctx, node, g):
    if ctx.need_block(node):
        g.notification_email = []
        for line in node.children:
            ctx.no_block(line)
            for word in [line.keyword] + line.values:
                if "@" not in word:
                    ctx.error(line, "notification_email address %s has no '@'" % ctx.show(line, word))
                else:
                    g.notification_email.append(word)


def _garp_interval(ctx, node, g):
    # keepalived 2.2.7: 1 us to UINT_MAX us; 1 s or more is only logged as "very large". The pacing of GARPs
    # (vrrp_garp_interval) and unsolicited NAs (vrrp_gna_interval) per interface: vrrp/garp.py.
    value = ctx.decimal(node, Decimal("0.000001"), Decimal("4294.967295"))
    if value is not None:
        setattr(g, node.keyword, _seconds(value))
        if value >= 1:
            ctx.warning(node, "%s %s is very large (as keepalived logs it)" % (node.keyword, ctx.show(node, str(value), True)))


def _notify_fifo(ctx, node, g):
    if ctx.no_block(node):
        if not 1 <= len(node.args) <= 3:
            ctx.error(node, "%s takes PATH [USER [GROUP]]" % node.keyword)
        else:
            setattr(g, node.keyword, list(node.values))


def _vrrp_min_garp(ctx, node, g):
    if ctx.boolean(node):
        _min_garp(g)


def _vrrp_garp_extra_if(ctx, node, g):
    found = _garp_extra_if(ctx, node, 1, "")
    if found is not None:
        g.vrrp_garp_extra_if, all_if = found
        g.vrrp_garp_extra_if_all = g.vrrp_garp_extra_if_all or all_if


def _smtp_helo_name(ctx, node, g):
    if node.args:  # keepalived ignores it without a value
        g.smtp_helo_name = ctx.one(node)


def _umask_keyword(ctx, node, g):
    value = _umask(ctx, node)
    if value is not None:
        g.umask = value


def _min_garp(g):
    """keepalived's vrrp_min_garp: one GARP/NA, no repeat, no refresh, no delay, for those still at their defaults
    (a value set before it is kept unless it equals the default; one set after it wins)."""
    for key, default, value in (("vrrp_garp_master_repeat", 5, 1), ("vrrp_garp_master_refresh", 0, 0),
                                ("vrrp_garp_master_refresh_repeat", 1, 0), ("vrrp_garp_master_delay", 5, 0)):
        if getattr(g, key) == default:
            setattr(g, key, value)


def _garp_extra_if(ctx, node, lo, who):
    """`[vrrp_]garp_extra_if [N] [all]` (and the deprecated [vrrp_]vmac_garp_intvl) -> (N, all) or None."""
    if not ctx.no_block(node):
        return None
    k = node.keyword
    if k in ("vmac_garp_intvl", "vrrp_vmac_garp_intvl"):
        ctx.fixup(node, 'Keyword "%s" is deprecated - please use "%s"' % (k, k.replace("vmac_garp_intvl", "garp_extra_if")))
    delay, all_if = None, False
    for word in node.values:
        if word == "all":
            all_if = True
        elif re.match(r"^[0-9]{1,6}$", word) and lo <= int(word) <= 86400:
            delay = int(word)
        else:
            ctx.error(node, "%s%s %s invalid (all, or seconds from %d to 86400)" % (who, k, ctx.show(node, word), lo))
            return None
    if delay is None:
        ctx.error(node, "%s%s specified without time" % (who, k))
        return None
    return delay, all_if


UMASK_BITS = dict(("I%s%s" % (what, who), bit) for who, shift in (("USR", 6), ("GRP", 3), ("OTH", 0))
                  for what, bit in (("R", 4 << shift), ("W", 2 << shift), ("X", 1 << shift)))


def _umask(ctx, node):
    """keepalived's umask: a number (strtol base 0: 0NNN octal, 0xNN hex, else decimal) within 0777, or
    IRUSR|IWGRP|... names joined by '|' (one word or several)."""
    if not ctx.no_block(node):
        return None
    words = node.values
    if not words:
        ctx.error(node, "Missing parameter(s) to umask option")
        return None
    if words[0][:1].isdigit():
        if len(words) != 1:
            ctx.error(node, "Extra parameter(s) to umask option")
            return None
        text = words[0]
        value = None
        if re.match(r"^0[xX][0-9a-fA-F]{1,8}$", text):
            value = int(text[2:], 16)
        elif re.match(r"^0[0-7]{0,11}$", text):
            value = int(text, 8)
        elif re.match(r"^[1-9][0-9]{0,10}$", text):
            value = int(text)
        if value is None or value & ~0o777:
            ctx.error(node, "invalid umask value %s" % ctx.show(node, text))
            return None
        return value
    text = "".join(words)
    parts = text.split("|")
    if any(p not in UMASK_BITS for p in parts):
        ctx.error(node, "invalid umask %s (a number, or IRUSR|IWUSR|IXUSR|IRGRP|... joined by '|')" % ctx.show(node, " ".join(words)))
        return None
    value = 0
    for p in parts:
        value |= UMASK_BITS[p]
    return value


def _notify_line(ctx, node, owner):
    """`notify_* SCRIPT [USER [GROUP]]` as keepalived's notify_script_init(): the script is the first word
    (quote it to give it arguments), the next two name the user and group it runs as."""
    if not ctx.no_block(node):
        return None
    if not node.args:
        ctx.error(node, "keyword %s needs a script" % ctx.kw(node))
        return None
    if len(node.args) > 3:
        ctx.error(node, "keyword %s takes SCRIPT [USER [GROUP]]: quote a script that has arguments" % ctx.kw(node))
        return None
    token = node.args[0]
    command = token.value
    if token.quoted:
        try:
            command = split_command('"%s"' % token.value)[0]
        except ValueError as exc:
            ctx.error(node, "cannot parse script %s: %s" % (ctx.show(node, token.value), exc))
            return None
    if len(node.args) > 1:
        owner.notify_users[node.keyword] = [a.value for a in node.args[1:]]
    else:
        owner.notify_users.pop(node.keyword, None)
    return command


def _start_stop_script(ctx, node, g):
    """startup_script / shutdown_script (keepalived 2.2.7 global_parser.c)."""
    k = node.keyword
    if getattr(g, k) is not None:
        # keepalived: "startup script already specified" (reported, the first one is kept)
        ctx.fixup(node, "%s script already specified (the first one is kept, as keepalived)" % k.split("_")[0])
        return
    setattr(g, k, _notify_line(ctx, node, g))
    g.sources[k] = (node.file, node.line)


def _default_interface(ctx, node, g):
    value = ctx.one(node)
    if value is not None:
        g.default_interface = ctx.ifname(node, value)


def _mcast_group(ctx, node, g):
    """vrrp_mcast_group4 / vrrp_mcast_group6: the multicast group of adverts."""
    k = node.keyword
    value = ctx.one(node)
    want = 4 if k.endswith("4") else 6
    try:
        ip = ipaddress.ip_address(value) if value is not None else None
    except ValueError:
        ip = None
        ctx.error(node, "%s %s is not an IP address" % (k, ctx.show(node, value)))
    if ip is not None:
        if ip.version != want or not ip.is_multicast:
            ctx.error(node, "%s %s is not an IPv%d multicast address" % (k, ctx.show(node, value), want))
        else:
            if want == 6 and not str(ip).startswith("ff02:"):
                ctx.warning(node, "vrrp_mcast_group6 %s should be link-local multicast (as keepalived)" % ip)
            setattr(g, k, str(ip))


def _max_auto_priority(ctx, node, g):
    if ctx.no_block(node):
        value = ctx.integer(node, -1, 99) if node.args else 99
        if value is not None:
            g.max_auto_priority = max(0, value)


def _cpu_affinity(ctx, node, g):
    cpus = []
    if ctx.no_block(node):
        if not node.args:
            ctx.error(node, "vrrp_cpu_affinity needs CPU numbers")
        for word in node.values:
            cpu = ctx.integer(node, 0, 4095, text=word, name="CPU number")
            if cpu is None:
                return
            cpus.append(cpu)
    g.vrrp_cpu_affinity = cpus


def _rlimit_rttime(ctx, node):
    value = ctx.integer(node, 1, 2 ** 32 - 1)
    return None if value is None else max(2, value)


def _smtp_server(ctx, node, g):
    if not ctx.no_block(node):
        return
    values = node.values
    if not 1 <= len(values) <= 2:
        ctx.error(node, "smtp_server takes HOST [PORT]")
        return
    host = values[0]
    port = values[1] if len(values) == 2 else None
    # Also accept HOST:PORT (IPv4 or name only; an IPv6 address is full of ':').
    if port is None and host.count(":") == 1:
        host, port = host.split(":")
    if not re.match(r"^[A-Za-z0-9._:-]+$", host):
        ctx.error(node, "invalid smtp_server host %s" % ctx.show(node, host))
        return
    if port is not None:
        value = ctx.integer(node, 1, 65535, text=port, name="smtp_server port")
        if value is None:
            return
        g.smtp_port = value
    g.smtp_server = host


# global_defs keyword -> handler(ctx, node, GlobalDefs).
GLOBAL_DEFS_KEYWORDS = {
    "router_id": _store(_one, valid_only=False),
    "notification_email": _notification_email,
    "notification_email_from": _store(_one, valid_only=False),
    "smtp_server": _smtp_server,
    "smtp_connect_timeout": _store(_int(1, 3600)),
    "vrrp_version": _store(_int(2, 3)),
    "enable_script_security": _store(_flag),
    "vrrp_strict": _store(_flag),
    "script_user": _user_group("script_user", "script_group"),
    "vrrp_garp_master_delay": _store(_int(0, 2 ** 31)),
    "vrrp_garp_master_refresh": _store(_int(0, 2 ** 31)),
    "vrrp_garp_master_repeat": _store(_int(1, 2 ** 31)),
    "vrrp_garp_master_refresh_repeat": _store(_int(1, 2 ** 31)),
    "vrrp_garp_interval": _garp_interval,
    "vrrp_gna_interval": _garp_interval,
    "vrrp_garp_lower_prio_delay": _store(_int(0, 2 ** 31 - 1)),
    "vrrp_garp_lower_prio_repeat": _store(_int(0, 2 ** 31 - 1)),
    "vrrp_skip_check_adv_addr": _store(lambda ctx, node: True),  # keepalived 2.2.7 ignores any value after it
    "vrrp_lower_prio_no_advert": _store(_boolean),
    "vrrp_higher_prio_send_advert": _store(_boolean),
    # keepalived's VRRP process: startup delay, multicast groups, scheduling
    "vrrp_startup_delay": _store(_seconds_from("0.001", "4294.967")),
    "vrrp_mcast_group4": _mcast_group,
    "vrrp_mcast_group6": _mcast_group,
    "max_auto_priority": _max_auto_priority,
    "min_auto_priority_delay": _store(_int(1, 10000000)),
    "vrrp_priority": _store(_int(-20, 19)),
    "vrrp_rt_priority": _store(_int(1, 99)),
    "vrrp_no_swap": _store(_flag),
    "vrrp_cpu_affinity": _cpu_affinity,
    "vrrp_rlimit_rttime": _store(_rlimit_rttime, "vrrp_rlimit_rttime"),
    "vrrp_rlimit_rtime": _store(_rlimit_rttime, "vrrp_rlimit_rttime"),  # its deprecated name
    # timers, source checks, start/stop scripts (keepalived 2.2.7 global_parser.c)
    "vrrp_down_timer_adverts": _store(_int(1, 100)),
    "vrrp_check_unicast_src": _store(_flag),
    "startup_script": _start_stop_script,
    "shutdown_script": _start_stop_script,
    "startup_script_timeout": _store(_int(1, 1000)),
    "shutdown_script_timeout": _store(_int(1, 1000)),
    "default_interface": _default_interface,
    "notify_fifo": _notify_fifo,
    "vrrp_notify_fifo": _notify_fifo,
    "notify_fifo_script": _notify,
    "vrrp_notify_fifo_script": _notify,
    "vrrp_notify_priority_changes": _store(_boolean),
    "smtp_alert": _store(_boolean),
    "smtp_alert_vrrp": _store(_boolean),
    "vrrp_min_garp": _vrrp_min_garp,
    "vrrp_garp_extra_if": _vrrp_garp_extra_if,
    "vrrp_vmac_garp_intvl": _vrrp_garp_extra_if,
    "smtp_helo_name": _smtp_helo_name,
    "no_email_faults": _store(_flag),
    "umask": _umask_keyword,
}


# ---------------------------------------------------------------- vrrp_script / track_file

def _vrrp_script(ctx, node):
    name = ctx.block_name(node)
    if not ctx.need_block(node) or name is None:
        return
    s = VrrpScript(name=name, source=(node.file, node.line))
    _read_block(ctx, node, VRRP_SCRIPT_KEYWORDS, s, "vrrp_script", kw.VRRP_SCRIPT)
    if not s.script:
        ctx.error(node, "vrrp_script %s has no 'script'" % ctx.show(node, name, True))
        return
    if name in ctx.config.scripts:
        ctx.error(node, "vrrp_script %s is defined twice" % ctx.show(node, name, True))
        return
    ctx.config.scripts[name] = s


def _script_seconds(ctx, node):
    value = ctx.integer(node, 1, 2 ** 31 // 1000000)
    return None if value is None else float(value)


def _script_weight(ctx, node, s):
    if ctx.no_block(node) and not node.args:
        ctx.error(node, "keyword 'weight' needs a value")
    elif node.children is None:
        found = ctx.weight(node, node.values, 253, "vrrp_script weight", "weight takes N [reverse]")
        if found is not None:
            s.weight, s.weight_reverse = found[0], found[1] is not None


# vrrp_script keyword -> handler(ctx, node, VrrpScript).
VRRP_SCRIPT_KEYWORDS = {
    "script": _store(lambda ctx, node: ctx.command(node) or "", valid_only=False),
    "interval": _store(_script_seconds),
    "timeout": _store(_script_seconds),
    "weight": _script_weight,
    "rise": _store(_int(1, 2 ** 31 - 1)),
    "fall": _store(_int(1, 2 ** 31 - 1)),
    "user": _user_group("user", "group"),
    "init_fail": _store(_flag),
}


def _track_file(ctx, node):
    name = ctx.block_name(node)
    if not ctx.need_block(node) or name is None:
        return
    t = TrackFile(name=name, source=(node.file, node.line))
    _read_block(ctx, node, TRACK_FILE_KEYWORDS, t, node.keyword)
    if not t.file:
        ctx.error(node, "%s %s has no 'file'" % (node.keyword, ctx.show(node, name, True)))
    elif name in ctx.config.track_files:
        ctx.error(node, "track_file %s is defined twice" % ctx.show(node, name, True))
    else:
        ctx.config.track_files[name] = t


def _track_file_weight(ctx, node, t):
    found = ctx.weight(node, node.values, 254, "track_file weight", "weight takes N [reverse]")
    if found is not None:
        t.weight, t.weight_reverse = found[0], found[1] is not None


def _init_file(ctx, node, t):
    values = node.values
    if values and values[-1] == "overwrite":
        t.init_overwrite = True
        values = values[:-1]
    t.init_file = 0
    if len(values) > 1:
        ctx.error(node, "init_file takes [VALUE] [overwrite]")
    elif values:
        value = ctx.integer(node, -254, 254, text=values[0], name="init_file value")
        t.init_file = value if value is not None else 0


# track_file / vrrp_track_file keyword -> handler(ctx, node, TrackFile).
TRACK_FILE_KEYWORDS = {
    "file": _store(lambda ctx, node: ctx.one(node) or "", valid_only=False),
    "weight": _track_file_weight,
    "init_file": _init_file,
}


# ---------------------------------------------------------------- vrrp_sync_group

def _sync_group(ctx, node):
    name = ctx.block_name(node)
    if not ctx.need_block(node) or name is None:
        return
    g = SyncGroup(name=name, source=(node.file, node.line))
    _read_block(ctx, node, SYNC_GROUP_KEYWORDS, g, "vrrp_sync_group", kw.SYNC_GROUP, "vrrp_sync_group")
    if name in ctx.config.sync_groups:
        ctx.error(node, "vrrp_sync_group %s is defined twice" % ctx.show(node, name, True))
    else:
        ctx.config.sync_groups[name] = g


def _group_members(ctx, node, g):
    if ctx.need_block(node):
        for line in node.children:
            ctx.no_block(line)
            g.instances.extend([line.keyword] + line.values)
            ctx.pending_groups.append((line, g.name))


def _group_tracking_weight(ctx, node, g):
    g.tracking_weight = ctx.flag(node)
    if node.keyword == "global_tracking":
        ctx.fixup(node, "(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group "
                        "(read as sync_group_tracking_weight, as keepalived)" % ctx.show(g.source[0], g.name, True))


def _group_track(ctx, node, g):
    # resolved by sync_tracking.py; names must be defined before the group, as keepalived reads them
    ctx.__dict__.setdefault("group_tracks", []).append((g, node, set(ctx.config.scripts), set(ctx.config.track_files)))
    if node.keyword == "track_process" and node.keyword in INSTANCE_KEYWORDS:
        INSTANCE_KEYWORDS[node.keyword][0](ctx, node, g)


# vrrp_sync_group keyword -> handler(ctx, node, SyncGroup).
SYNC_GROUP_KEYWORDS = {
    "group": _group_members,
    "notify_master": _notify, "notify_backup": _notify, "notify_fault": _notify, "notify_stop": _notify, "notify": _notify,
    "notify_priority_changes": _store(_boolean, valid_only=False),
    "smtp_alert": _store(_boolean, valid_only=False),
    "sync_group_tracking_weight": _group_tracking_weight,
    "global_tracking": _group_tracking_weight,
    "track_interface": _group_track, "track_script": _group_track, "track_file": _group_track, "track_process": _group_track,
}


# ---------------------------------------------------------------- vrrp_instance

VIP_FLAG_BITS = dict(VIP_FLAG_WORDS)


def _vip_line(ctx, line, instance_if):
    """`A[/len] [brd X] [dev IF] [scope S] [label L]` -> VipSpec (or None)."""
    words = [line.keyword] + line.values
    addr_text = words[0]
    addr, _slash, plen_text = addr_text.partition("/")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        ctx.error(line, "invalid IP address %s in virtual_ipaddress" % ctx.show(line, addr_text))
        return None
    maxlen = 32 if ip.version == 4 else 128
    if _slash:
        plen = ctx.integer(line, 0, maxlen, text=plen_text, name="prefix length")
        if plen is None:
            return None
    else:
        plen = maxlen
    vip = VipSpec(cidr="%s/%d" % (ip, plen))
    i = 1
    ok = True
    while i < len(words):
        opt = words[i]
        takes_value = opt in ("dev", "brd", "broadcast", "scope", "label", "peer", "preferred_lft", "track_group")
        if takes_value and i + 1 >= len(words):
            ctx.error(line, "option '%s' needs a value in virtual_ipaddress" % opt)
            return None
        value = words[i + 1] if takes_value else None
        if opt == "dev":
            vip.dev = ctx.ifname(line, value)
            ok = ok and vip.dev is not None
        elif opt in ("brd", "broadcast"):
            if ip.version == 6:
                ctx.error(line, "brd is not valid for IPv6 address %s" % ctx.show(line, str(ip), True))
                ok = False
            elif value in ("+", "-"):
                vip.brd = value
            else:
                vip.brd = ctx.ip(line, value, "broadcast address")
                ok = ok and vip.brd is not None
        elif opt == "scope":
            if ip.version == 6:
                ctx.error(line, "scope is not valid for IPv6 address %s" % ctx.show(line, str(ip), True))
                ok = False
            elif value in SCOPES or (re.match(r"^[0-9]{1,3}$", value) and int(value) <= 255):
                vip.scope = value
            else:
                ctx.error(line, "invalid scope %s (one of %s or 0-255)" % (ctx.show(line, value), ", ".join(SCOPES)))
                ok = False
        elif opt == "label":
            if ip.version == 6:
                ctx.error(line, "label is not valid for IPv6 address %s" % ctx.show(line, str(ip), True))
                ok = False
            elif len(value) > 15 or not re.match(r"^[^\s/]+$", value):
                ctx.error(line, "invalid label %s (at most 15 characters, no '/' or spaces)" % ctx.show(line, value))
                ok = False
            else:
                vip.label = value
        elif opt in VIP_FLAG_BITS:
            vip.flags |= VIP_FLAG_BITS[opt]
        elif opt == "-nodad" and ip.version == 6:
            vip.dad = True
        elif opt == "no_track":
            vip.no_track = True
        elif opt == "use_vmac":
            vip.use_vmac = True  # checked with the instance (or refused on a static address): _vmac_checks()
            ctx.__dict__.setdefault("vip_vmac_lines", []).append((vip, line))
        elif opt == "preferred_lft":
            lft = INFINITY_LIFE_TIME if value == "forever" else ctx.integer(line, 0, INFINITY_LIFE_TIME, text=value, name="preferred_lft")
            ok = ok and lft is not None
            if ip.version == 4:
                ctx.warning(line, kw.warned_message(opt, kw.VIP_WARNED_V4[opt], "virtual_ipaddress"))
            else:
                vip.preferred_lft = lft
        elif opt in kw.VIP_NOT_KEEPALIVED:
            ctx.fixup(line, "virtual_ipaddress option '%s' ignored: %s" % (opt, kw.VIP_NOT_KEEPALIVED[opt]))
        elif ip.version == 4 and opt in kw.VIP_WARNED_V4:
            ctx.warning(line, kw.warned_message(opt, kw.VIP_WARNED_V4[opt], "virtual_ipaddress"))
        elif opt in kw.VIP_REFUSED:
            ctx.error(line, kw.refused_message(opt, kw.VIP_REFUSED[opt], "virtual_ipaddress"))
            ok = False
        elif opt in kw.VIP_OPTIONS:
            ctx.warning(line, kw.warned_message(opt, kw.VIP_WARNED.get(opt, ""), "virtual_ipaddress"))
        else:
            ctx.error(line, "unknown option %s in virtual_ipaddress" % ctx.show(line, opt))
            return None
        i += 2 if takes_value else 1
    return vip if ok else None


def _vip_block(ctx, node):
    vips = []
    if ctx.need_block(node):
        if node.args:
            ctx.error(node, "keyword '%s' takes no value before '{'" % node.keyword)
        for line in node.children:
            if ctx.no_block(line):
                vip = _vip_line(ctx, line, None)
                if vip is not None:
                    vips.append((vip, line))
    return vips


def _tracked(ctx, node, what, hi=254):
    """Lines `NAME [weight N [reverse]]` of track_interface / track_script / track_file."""
    items = []
    if not ctx.need_block(node):
        return items
    for line in node.children:
        if not ctx.no_block(line):
            continue
        name = line.keyword
        words = line.values
        weight = None
        if words:
            # keepalived reads `reverse` here too; vipd accepts it and, as before, does not apply it
            found = ctx.weight(line, words, hi, "%s weight" % what, "%s line takes NAME [weight N]" % what, after_keyword=False)
            if found is None:
                continue
            weight = found[0]
        if what == "track_interface" and ctx.ifname(line, name) is None:
            continue
        items.append(((name, weight), line))
    return items


class _Raw:
    """What an instance block said, before defaults and cross-checks; the owner the instance's table handlers
    get (the Instance being built is `inst`; `ok` turns False when a value failed)."""

    def __init__(self, inst=None):
        self.inst = inst
        self.ok = True
        self.state = None
        self.priority = None
        self.advert_int = None
        self.version = None
        self.lines = {}
        self.vips = []
        self.excluded = []
        self.peers = []
        self.track_scripts = []
        self.track_interfaces = []
        self.defined_before = (set(), set())
        self.track_files = []
        self.auth_given = None
        self.auth_type_line = None
        self.garp = {}
        self.strict = None
        self.accept_line = None
        self.down_timer_adverts = None

    def bad(self, value):
        """`value`, marking the instance broken when it is None (a reported error)."""
        if value is None:
            self.ok = False
        return value


def _instance(ctx, node):
    name = ctx.block_name(node)
    if not ctx.need_block(node) or name is None:
        return
    inst = Instance(name=name, source=(node.file, node.line))
    raw = _Raw(inst)
    for child in node.children:
        k = child.keyword
        raw.lines[k] = child
        handler = VRRP_INSTANCE_KEYWORDS.get(k)
        if handler is not None:
            handler(ctx, child, raw)
        elif k in INSTANCE_KEYWORDS:
            INSTANCE_KEYWORDS[k][0](ctx, child, inst)
        elif k in kw.VRRP_INSTANCE:
            ctx.unimplemented(child)
        else:
            ctx.unknown(child, "vrrp_instance")
    _finish_instance(ctx, node, inst, raw, raw.ok)


def _set(read, attr=None, to="inst", check=True):
    """A vrrp_instance table handler: read(ctx, node) -> value, set as r.inst.ATTR (to="inst"), r.ATTR (to="raw",
    resolved by _finish_instance) or r.garp[ATTR] (to="garp"); ATTR defaults to the keyword. check: a failed
    value (None) marks the instance broken."""
    def handler(ctx, node, r):
        value = r.bad(read(ctx, node)) if check else read(ctx, node)
        key = attr or node.keyword
        if to == "garp":
            r.garp[key] = value
        else:
            setattr(r.inst if to == "inst" else r, key, value)
    return handler


def _shown(ctx, r):
    return ctx.show(r.inst.source[0], r.inst.name, True)


def _state(ctx, node, r):
    value = ctx.one(node)
    if value in ("MASTER", "BACKUP"):
        r.state = value
    elif value is not None:
        ctx.error(node, "state %s is not valid: must be MASTER or BACKUP" % ctx.show(node, value))
        r.ok = False


def _ifname_value(ctx, node):
    value = ctx.one(node)
    return ctx.ifname(node, value) if value is not None else None


def _ip_value(ctx, node):
    value = ctx.one(node)
    return ctx.ip(node, value) if value is not None else None


def _vrid(ctx, node, r):
    r.inst.vrid = r.bad(ctx.integer(node, 1, 255)) or 0


def _version(ctx, node, r):
    value = r.bad(ctx.integer(node, 2, 3))
    if value == 2 and any(vip.family == 6 for vip, _line in r.vips):
        # keepalived's vrrp_version_handler: the IPv6 VIPs before it already made the instance VRRPv3.
        ctx.fixup(node, "(%s) vrrp_version 2 conflicts with configured or deduced version 3; ignoring." % _shown(ctx, r))
    elif value is not None:
        r.version = value


def _preempt(ctx, node, r):
    ctx.flag(node)
    r.inst.nopreempt = False


def _preempt_delay(ctx, node, r):
    value = r.bad(ctx.decimal(node, Decimal(0), Decimal(1000)))
    r.inst.preempt_delay = _seconds(value) if value is not None else 0.0


def _instance_notify(ctx, node, r):
    setattr(r.inst, node.keyword, r.bad(_notify_line(ctx, node, r.inst)))


def _skip_check_adv_addr(ctx, node, r):
    # keepalived 2.2.7 sets the flag for any valid true/false (even "false"): so does vipd
    if r.bad(ctx.boolean(node)) is not None:
        r.inst.skip_check_adv_addr = True


def _v3_checksum(ctx, node, r):
    # vipd extension: which VRRPv3-over-IPv4 checksum form to send.
    value = ctx.one(node)
    if value in ("pseudo", "plain"):
        r.inst.v3_checksum = value
    elif value is not None:
        ctx.error(node, "v3_checksum %s is not valid: must be pseudo or plain" % ctx.show(node, value))


def _accept(ctx, node, r):
    ctx.flag(node)
    r.inst.accept = node.keyword == "accept"
    r.accept_line = node


def _unicast_ttl(ctx, node, r):
    r.inst.unicast_ttl = r.bad(ctx.integer(node, 0, 255))
    ctx.__dict__.setdefault("ttl_lines", {})[r.inst.name] = node


def _instance_use_vmac(ctx, node, r):
    r.inst.use_vmac = _use_vmac(ctx, node)
    ctx.__dict__.setdefault("vmac_lines", {})[r.inst.name] = node


def _notify_deleted(ctx, node, r):
    inst = r.inst
    if inst.notify_deleted:
        ctx.fixup(node, "(%s) notify_deleted already specified - ignoring it (as keepalived)" % _shown(ctx, r))
    else:
        inst.notify_deleted = True
        inst.notify_deleted_script = r.bad(_notify_line(ctx, node, inst)) if node.args else None


def _promote_secondaries(ctx, node, r):
    r.inst.promote_secondaries = ctx.flag(node)
    ctx.__dict__.setdefault("promote_lines", {})[r.inst.name] = node


def _instance_garp_extra_if(ctx, node, r):
    found = _garp_extra_if(ctx, node, 0, "(%s): " % _shown(ctx, r))
    if found is not None:
        r.inst.garp_extra_if, all_if = found
        r.inst.garp_extra_if_all = r.inst.garp_extra_if_all or all_if


def _tracked_into(attr):
    def handler(ctx, node, r):
        getattr(r, attr).extend(_tracked(ctx, node, node.keyword))
    return handler


def _vips_into(attr):
    def handler(ctx, node, r):
        getattr(r, attr).extend(_vip_block(ctx, node))
    return handler


# vrrp_instance keyword -> handler(ctx, node, _Raw); then register_instance_keyword()'s, then config_keywords.
VRRP_INSTANCE_KEYWORDS = {
    "state": _state,
    "interface": _set(_ifname_value),
    "virtual_router_id": _vrid,
    "priority": _set(_int(1, 255), to="raw"),
    "advert_int": _set(lambda ctx, node: ctx.decimal(node, Decimal("0.01"), Decimal(255)), to="raw"),
    "version": _version,
    "strict_mode": _set(_boolean, "strict", to="raw"),
    "nopreempt": _set(_flag, check=False),
    "preempt": _preempt,
    "preempt_delay": _preempt_delay,
    "authentication": lambda ctx, node, r: _authentication(ctx, node, r.inst, r, r.bad),
    "unicast_src_ip": _set(_ip_value),
    "mcast_src_ip": _set(_ip_value),
    "unicast_peer": lambda ctx, node, r: _unicast_peers(ctx, node, r.inst, r, r.bad),
    "virtual_ipaddress": _vips_into("vips"),
    "virtual_ipaddress_excluded": _vips_into("excluded"),
    "track_interface": _tracked_into("track_interfaces"),
    "track_script": _tracked_into("track_scripts"),
    "track_file": _tracked_into("track_files"),
    "notify_master": _instance_notify, "notify_backup": _instance_notify, "notify_fault": _instance_notify,
    "notify_stop": _instance_notify, "notify": _instance_notify, "notify_master_rx_lower_pri": _instance_notify,
    "notify_priority_changes": _set(_boolean),
    "smtp_alert": _set(_boolean),
    "garp_master_delay": _set(_int(0, 2 ** 31), to="garp"),
    "garp_master_refresh": _set(_int(0, 2 ** 31), to="garp"),
    "garp_master_repeat": _set(_int(1, 2 ** 31), to="garp"),
    "garp_master_refresh_repeat": _set(_int(1, 2 ** 31), to="garp"),
    "garp_lower_prio_delay": _set(_int(0, 2 ** 31 - 1), to="garp"),
    "garp_lower_prio_repeat": _set(_int(0, 2 ** 31 - 1), to="garp"),
    "lower_prio_no_advert": _set(_boolean, to="garp"),
    "higher_prio_send_advert": _set(_boolean, to="garp"),
    "skip_check_adv_addr": _skip_check_adv_addr,
    # Not a vrrp_instance keyword in keepalived 2.2.7 (there: global vrrp_garp_interval); a vipd extension.
    # The range of the global it overrides (vrrp_garp_interval), so an inherited value renders and reads back.
    "garp_interval": _set(_seconds_from("0", "4294.967295"), to="garp"),
    "v3_checksum": _v3_checksum,
    "native_ipv6": _set(_flag, check=False),
    "dont_track_primary": _set(_flag, check=False),
    "accept": _accept,
    "no_accept": _accept,
    "unicast_ttl": _unicast_ttl,
    "use_vmac": _instance_use_vmac,
    "vmac_xmit_base": _set(_flag, check=False),
    "down_timer_adverts": _set(_int(1, 100), to="raw"),
    "check_unicast_src": _set(_flag, check=False),
    "unicast_fault_no_peer": _set(_flag, check=False),
    "notify_deleted": _notify_deleted,
    "use_vmac_addr": _set(_flag, check=False),
    "promote_secondaries": _promote_secondaries,
    "garp_extra_if": _instance_garp_extra_if,
    "vmac_garp_intvl": _instance_garp_extra_if,
}


def _authentication(ctx, node, inst, raw, bad):
    if not ctx.need_block(node):
        return
    raw.auth_given = node
    for line in node.children:
        if line.keyword == "auth_type":
            raw.auth_type_line = line
            value = ctx.one(line)
            if value in ("PASS", "AH"):
                inst.auth_type = value
            elif value is not None:
                ctx.error(line, "auth_type %s is not valid: must be PASS or AH" % ctx.show(line, value))
        elif line.keyword == "auth_pass":
            value = ctx.one(line)
            if value is not None and len(value) > 8:
                # Never echo the password, not even its effective (truncated) part.
                ctx.fixup(line, "auth_pass is longer than 8 characters; only its first 8 are used (as keepalived)")
                value = value[:8]
            inst.auth_pass = value
        else:
            ctx.unknown(line, "authentication")


def _unicast_peers(ctx, node, inst, raw, bad):
    if not ctx.need_block(node):
        return
    for line in node.children:
        if not ctx.no_block(line):
            continue
        addr = ctx.ip(line, line.keyword, "unicast_peer address")
        words = line.values
        i = 0
        while i < len(words):
            if words[i] in kw.UNICAST_PEER_REFUSED:
                ctx.error(line, kw.refused_message(words[i], kw.UNICAST_PEER_REFUSED[words[i]], "unicast_peer"))
                addr = None
                i += 2
            elif words[i] in kw.UNICAST_PEER_OPTIONS:
                ctx.warning(line, "unicast_peer option '%s' is not implemented by vipd and is ignored" % words[i])
                i += 2
            else:
                ctx.error(line, "unknown option %s in unicast_peer" % ctx.show(line, words[i]))
                addr = None
                break
        if addr is not None:
            if addr in inst.unicast_peers:
                ctx.error(line, "unicast_peer %s is listed twice" % ctx.show(line, addr, True))
            else:
                inst.unicast_peers.append(addr)
                raw.peers.append((addr, line))


def _decimal_round(value, step):
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _finish_instance(ctx, node, inst, raw, ok):
    """keepalived's vrrp_complete_instance(): defaults, derived values, consistency."""
    g = ctx.config.global_defs
    where = raw.lines
    if not inst.interface and "interface" not in where:
        ctx.error(node, "vrrp_instance %s has no 'interface'" % ctx.show(node, inst.name, True))
        ok = False
    if not inst.vrid and "virtual_router_id" not in where:
        ctx.error(node, "vrrp_instance %s has no 'virtual_router_id'" % ctx.show(node, inst.name, True))
        ok = False
    inst.vips = [v for v, _line in raw.vips]
    inst.excluded_vips = [v for v, _line in raw.excluded]
    vip_block = where.get("virtual_ipaddress")
    if not inst.vips and (vip_block is None or not vip_block.children):
        # No block, or an empty one (a block whose lines were all wrong has its own errors already).
        ctx.error(vip_block or node, "vrrp_instance %s has no 'virtual_ipaddress' (at least one VIP is required)" % ctx.show(node, inst.name, True))
        ok = False
    family = inst.family
    for vip, line in raw.vips:
        if vip.family != family:
            ctx.error(line, "virtual_ipaddress %s is IPv%d but the instance is IPv%d (its first VIP); "
                            "use virtual_ipaddress_excluded for other families" % (ctx.show(line, vip.cidr, True), vip.family, family))
            ok = False
    # strict_mode: the instance's own, else global vrrp_strict (keepalived's vrrp_complete_instance()).
    inst.strict_mode = bool(raw.strict if raw.strict is not None else g.vrrp_strict)
    shown = ctx.show(node, inst.name, True)
    # Version: instance, else global vrrp_version; IPv6 is VRRPv3 unless `version 2` precedes its VIPs (as keepalived).
    if family == 6:
        if raw.version == 2:
            if inst.strict_mode:
                ctx.fixup(where["version"], "(%s) cannot use IPv6 with VRRP version 2; setting version 3" % shown)
                inst.version = 3
            else:
                # keepalived 2.2.7 then sends non-standard VRRPv2 adverts over IPv6 (seen on the wire): so does vipd.
                ctx.warning(where["version"], "(%s) version 2 with IPv6 VIPs: non-standard VRRPv2 adverts over IPv6, as keepalived 2.2.7 "
                                              "sends them (RFC 5798 VRRPv3 is the standard for IPv6: version 3)" % shown)
                inst.version = 2
        else:
            inst.version = 3
    else:
        inst.version = raw.version or g.vrrp_version
    # Priority and state derive from each other when only one is given (keepalived).
    inst.state = raw.state or ("MASTER" if raw.priority == 255 else "BACKUP")
    if raw.priority is not None:
        inst.priority = raw.priority
    else:
        inst.priority = 255 if raw.state == "MASTER" else 100
    if inst.strict_mode and raw.state is not None and (inst.state == "MASTER") != (inst.priority == 255):
        inst.state = "MASTER" if inst.priority == 255 else "BACKUP"
        ctx.fixup(where["state"], "(%s) State MASTER must match being address owner (strict mode): starting as %s" % (shown, inst.state))
    _advert_int(ctx, inst, raw)
    _auth_checks(ctx, inst, raw)
    _preempt_checks(ctx, inst, raw)
    _strict_checks(ctx, inst, raw, shown)
    peer_block = where.get("unicast_peer")
    unicast_keys = [key for key in ("unicast_peer", "unicast_src_ip", "check_unicast_src", "unicast_fault_no_peer") if key in where]
    if unicast_keys and not inst.unicast_peers and not (peer_block and peer_block.children):
        if inst.unicast_fault_no_peer:
            # keepalived 2.2.7 vrrp_complete_instance(): a config fault (logged, not a config error): FAULT for good.
            ctx.warning(where["unicast_fault_no_peer"], "(%s) Cannot use unicast without any peers - the instance stays in FAULT "
                                                        "(unicast_fault_no_peer, as keepalived)" % shown)
        else:
            ctx.fixup(where[unicast_keys[0]],
                      "(%s) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. "
                      "This usage is deprecated - please update your configuration." % shown)
    inst.check_unicast_src = bool(inst.check_unicast_src or g.vrrp_check_unicast_src)
    inst.down_timer_adverts = raw.down_timer_adverts if raw.down_timer_adverts is not None else g.vrrp_down_timer_adverts
    if inst.strict_mode and inst.down_timer_adverts != 3:
        ctx.fixup(where.get("down_timer_adverts") or node, "(%s) down_timer_adverts is incompatible with strict mode - resetting "
                                                           "(as keepalived: 3)" % shown)
        inst.down_timer_adverts = 3
    own = [item for item in raw.track_interfaces if item[0][0] == inst.interface]
    for (_name, _weight), line in own:
        ctx.fixup(line, "(%s) Ignoring track_interface %s since own interface" % (shown, ctx.show(line, inst.interface, True)))
    raw.track_interfaces = [item for item in raw.track_interfaces if item not in own]
    for addr, line in raw.peers:
        if ipaddress.ip_address(addr).version != family:
            ctx.error(line, "unicast_peer %s does not match the instance's address family (IPv%d)" % (ctx.show(line, addr, True), family))
            ok = False
    for key in ("unicast_src_ip", "mcast_src_ip"):
        addr = getattr(inst, key)
        if addr and ipaddress.ip_address(addr).version != family:
            ctx.error(where[key], "%s %s does not match the instance's address family (IPv%d)" % (key, ctx.show(where[key], addr, True), family))
            ok = False
    for key in ("garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
                "garp_interval"):
        value = raw.garp.get(key)
        setattr(inst, key, value if value is not None else getattr(g, "vrrp_" + key))
    # keepalived 2.2.7 vrrp.c: unset lower-priority GARP values come from the globals, whose own default is
    # vrrp_garp_master_repeat / vrrp_garp_master_delay; in strict mode they are fixed (see _strict_checks()).
    for key, fallback in (("garp_lower_prio_delay", "vrrp_garp_master_delay"), ("garp_lower_prio_repeat", "vrrp_garp_master_repeat"),
                          ("lower_prio_no_advert", None), ("higher_prio_send_advert", None)):
        value = raw.garp.get(key)
        if value is None:
            value = getattr(g, "vrrp_" + key)
        if value is None:
            value = getattr(g, fallback)
        setattr(inst, key, value)
    inst.skip_check_adv_addr = inst.skip_check_adv_addr or g.vrrp_skip_check_adv_addr
    if inst.garp_extra_if is None:  # keepalived vrrp_complete_instance(): the global interval and 'all'
        inst.garp_extra_if = g.vrrp_garp_extra_if
        inst.garp_extra_if_all = inst.garp_extra_if_all or g.vrrp_garp_extra_if_all
    inst.track_interfaces = [item for item, _line in raw.track_interfaces]
    inst.track_scripts = [item for item, _line in raw.track_scripts]
    inst.track_files = [item for item, _line in raw.track_files]
    # keepalived resolves track_script/track_file when it reads the instance: defined-later is not found.
    raw.defined_before = (set(ctx.config.scripts), set(ctx.config.track_files))
    ctx.pending_tracks.append((inst, raw))
    if inst.name in ctx.config.instances:
        ctx.error(node, "vrrp_instance %s is defined twice" % ctx.show(node, inst.name, True))
        return
    if ok:
        ctx.config.instances[inst.name] = inst
        ctx.vrid_lines[inst.name] = where.get("virtual_router_id", node)
    else:
        ctx.broken.add(inst.name)


def _advert_int(ctx, inst, raw):
    value = raw.advert_int
    if value is None:
        inst.advert_int = 1.0
        return
    line = raw.lines["advert_int"]
    if inst.version == 2:
        if value != value.to_integral_value():
            rounded = max(Decimal(1), _decimal_round(value, Decimal(1)))
            ctx.fixup(line, "VRRPv2 advert_int %s must be whole seconds; rounded to %s (as keepalived)"
                      % (ctx.show(line, str(value), True), ctx.show(line, str(rounded), True)))
            value = rounded
    else:
        if value > Decimal("40.95"):
            # keepalived -t fails on it too (then runs with 40.95); vipd refuses it.
            ctx.error(line, "advert_int %s is too long for VRRPv3: at most 40.95 seconds" % ctx.show(line, str(value), True))
            return
        rounded = max(Decimal("0.01"), _decimal_round(value, Decimal("0.01")))
        if rounded != value:
            ctx.fixup(line, "VRRPv3 advert_int %s must be in units of 10 ms; rounded to %s (as keepalived)"
                      % (ctx.show(line, str(value), True), ctx.show(line, str(rounded), True)))
            value = rounded
    inst.advert_int = float(value)


def _auth_checks(ctx, inst, raw):
    """keepalived 2.2.7 vrrp_complete_instance(): authentication is dropped in strict mode and with VRRPv3."""
    node = raw.auth_given
    if node is None:
        return
    if inst.auth_type is None:
        if inst.auth_pass is not None and raw.auth_type_line is None:
            ctx.warning(node, "authentication has auth_pass but no auth_type; ignored")
        inst.auth_pass = None
        return
    shown = ctx.show(node, inst.name, True)
    if inst.strict_mode:
        # The very line keepalived logs (a strict keepalived peer sends and expects no authentication).
        ctx.fixup(node, "(%s) Strict mode does not support authentication. Ignoring." % shown)
        inst.auth_type = inst.auth_pass = None
    elif inst.version == 3:
        ctx.fixup(node, "authentication is ignored with VRRP version 3 (as keepalived)")
        inst.auth_type = inst.auth_pass = None
    elif not inst.auth_pass:
        ctx.error(node, "authentication auth_type %s needs an auth_pass" % inst.auth_type)
        inst.auth_type = None
    elif inst.auth_type == "AH" and inst.family == 6:
        ctx.fixup(node, "(%s) Cannot use AH authentication with IPv6. ignoring (as keepalived)" % shown)
        inst.auth_type = inst.auth_pass = None
    elif inst.auth_type == "AH" and inst.state == "MASTER" and inst.priority != 255:
        ctx.fixup(raw.lines.get("state", node), "(%s) Initial state master is incompatible with AH authentication - starting as BACKUP "
                                                "(as keepalived)" % shown)
        inst.state = "BACKUP"


def _preempt_checks(ctx, inst, raw):
    lines = raw.lines
    if inst.nopreempt and inst.priority == 255:
        ctx.fixup(lines["nopreempt"], "nopreempt has no effect with priority 255; ignored (as keepalived)")
        inst.nopreempt = False
    if inst.state == "MASTER":
        if inst.nopreempt:
            ctx.fixup(lines["nopreempt"], "nopreempt has no effect with state MASTER; ignored (as keepalived)")
            inst.nopreempt = False
        if inst.preempt_delay:
            ctx.fixup(lines["preempt_delay"], "preempt_delay has no effect with state MASTER; ignored (as keepalived)")
            inst.preempt_delay = 0.0
    if inst.preempt_delay and inst.strict_mode:
        ctx.fixup(lines["preempt_delay"], "preempt_delay is incompatible with strict mode; ignored (as keepalived)")
        inst.preempt_delay = 0.0
    if inst.preempt_delay and inst.nopreempt:
        ctx.fixup(lines["preempt_delay"], "preempt_delay has no effect with nopreempt; ignored (as keepalived)")
        inst.preempt_delay = 0.0


# keepalived 2.2.7 vrrp_complete_instance(): what strict mode fixes, and the message it reports when the
# configuration asked otherwise.
STRICT_FIXED = (
    ("garp_lower_prio_repeat", 0, "Strict mode requires no repeat garps. resetting"),
    ("garp_lower_prio_delay", 0, "Strict mode requires no repeat garp delay. resetting"),
    ("lower_prio_no_advert", True, "Strict mode requires no lower priority advert. resetting"),
    ("higher_prio_send_advert", False, "strict mode requires higher_prio_send_advert to be clear. resetting"),
)


def _strict_checks(ctx, inst, raw, shown):
    """strict_mode / vrrp_strict (keepalived 2.2.7 vrrp_complete_instance()), besides what _auth_checks(),
    _preempt_checks() and the version/state checks of _finish_instance() do."""
    if not inst.strict_mode:
        return
    for key, value, text in STRICT_FIXED:
        given = raw.garp.get(key)
        if given is not None and given != value:
            ctx.fixup(raw.lines[key], "(%s) %s" % (shown, text))
        raw.garp[key] = value
    # accept: strict mode's default is no_accept unless the address owner; VRRPv2 (RFC 3768) has no accept mode.
    if inst.accept is None:
        inst.accept = inst.priority == 255
    elif inst.accept and inst.priority != 255 and inst.version == 2:
        ctx.fixup(raw.accept_line, "(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting" % shown)
        inst.accept = False
    if inst.family == 6 and not inst.unicast_peers and raw.vips:
        vip, line = raw.vips[0]
        if not ipaddress.ip_address(vip.address).is_link_local:
            ctx.fixup(line, "(%s) the first IPv6 VIP address must be link local (strict mode)" % shown)


# ---------------------------------------------------------------- whole file

ROOT_HANDLERS = {
    "vrrp_instance": _instance,
    "vrrp_script": _vrrp_script,
    "vrrp_sync_group": _sync_group,
    "track_file": _track_file,
    "vrrp_track_file": _track_file,
    VIPD_CHECK: vipd_check_block,  # vipd's built-in checks (config_checks.py)
}


def _use_vmac(ctx, node):
    """`use_vmac [NAME]` -> NAME, or "" for keepalived's default name (vrrp.VRID)."""
    if not ctx.no_block(node):
        return None
    if len(node.args) > 1 or any(":" in word for word in node.values):
        ctx.error(node, "use_vmac takes an interface name only: a MAC address for the VMAC is not implemented by vipd")
        return None
    if not node.args:
        return ""
    return ctx.ifname(node, node.values[0], "VMAC interface name")


def _vmac_checks(ctx):
    """keepalived's vrrp_complete_instance() checks of use_vmac, and what vipd does not implement."""
    seen = {}
    for name, line in sorted(getattr(ctx, "vmac_lines", {}).items()):
        inst = ctx.config.instances.get(name)
        if inst is None or inst.use_vmac is None:
            continue
        if inst.unicast_peers and not inst.vmac_xmit_base:
            ctx.warning(line, "unicast with use_vmac requires vmac_xmit_base - setting (as keepalived)")
            inst.vmac_xmit_base = True
        if inst.use_vmac:
            if inst.use_vmac == inst.interface:
                ctx.error(line, "use_vmac name %s is the instance interface" % ctx.show(line, inst.use_vmac, True))
            elif inst.use_vmac in seen:
                other = ctx.show(line, seen[inst.use_vmac], True)
                ctx.error(line, "VRRP instance %s is already using %s" % (other, ctx.show(line, inst.use_vmac, True)))
            seen[inst.use_vmac] = name
    owners = dict((id(v), inst) for inst in ctx.config.instances.values() for v in list(inst.vips) + list(inst.excluded_vips))
    for vip, line in getattr(ctx, "vip_vmac_lines", []):
        # keepalived vrrp_complete_instance(); static_ipaddress does not know the option (parse_ipaddress).
        inst = owners.get(id(vip))
        vip.use_vmac = False
        if inst is None:
            ctx.fixup(line, "Unknown configuration entry 'use_vmac' for ip address - ignoring")
        elif (not vip.dev or vip.dev == inst.interface) and inst.use_vmac is not None and vip.family == inst.family:
            ctx.fixup(line, "(%s) use_vmac specified for VIP/eVIP %s and vrrp instance" % (ctx.show(line, inst.name, True), vip.cidr))
        elif ((vip.dev and vip.dev != inst.interface) or vip.family != inst.family) and inst.use_vmac_addr:
            ctx.fixup(line, "(%s) use_vmac_addr specified and use_vmac specified for VIP/eVIP %s"
                      % (ctx.show(line, inst.name, True), vip.cidr))
        else:
            vip.use_vmac = True
    for name, line in sorted(getattr(ctx, "promote_lines", {}).items()):
        inst = ctx.config.instances.get(name)
        if inst is not None and inst.use_vmac is not None and inst.promote_secondaries:
            ctx.fixup(line, "(%s) promote_secondaries is automatically set for vmacs - ignoring" % ctx.show(line, name, True))
            inst.promote_secondaries = False


def _unicast_ttl_checks(ctx):
    """keepalived 2.2.7 resets unicast_ttl without unicast peers to 0, and then sends its multicast adverts with
    TTL 0 (vrrp_complete_instance(), vrrp_build_ip4()): every peer would drop them. Refused instead."""
    for name, line in sorted(getattr(ctx, "ttl_lines", {}).items()):
        inst = ctx.config.instances.get(name)
        if inst is not None and not inst.unicast_peers:
            ctx.error(line, "unicast_ttl needs unicast_peer: keepalived 2.2.7 would then send multicast adverts "
                            "with TTL 0, which every peer drops")


def _cross_checks(ctx):
    cfg = ctx.config
    seen = {}
    for inst in cfg.instances.values():
        key = (inst.interface, inst.family, inst.vrid)
        if key in seen:
            line = ctx.vrid_lines[inst.name]
            other = cfg.instances[seen[key]]
            ctx.error(line, "virtual_router_id %s on %s (IPv%d) is already used by vrrp_instance %s"
                      % (ctx.show(line, str(inst.vrid), True), ctx.show(line, inst.interface, True), inst.family,
                         ctx.show(other.source[0], other.name, True)))
        else:
            seen[key] = inst.name
    for inst, raw in ctx.pending_tracks:
        for kind, items, defined, before in (("vrrp_script", raw.track_scripts, cfg.scripts, raw.defined_before[0]),
                                             ("track_file", raw.track_files, cfg.track_files, raw.defined_before[1])):
            for (name, _weight), line in items:
                if name not in defined:
                    ctx.error(line, "%s: no %s %s is defined" % (line_kind(kind), kind, ctx.show(line, name, True)))
                elif name not in before:
                    ctx.error(line, "%s %s is defined after vrrp_instance %s; keepalived needs it defined first"
                              % (kind, ctx.show(line, name, True), ctx.show(inst.source[0], inst.name, True)))
    owner = {}
    for line, group in ctx.pending_groups:
        for name in [line.keyword] + line.values:
            if name not in cfg.instances and name not in ctx.broken:
                ctx.error(line, "vrrp_sync_group %s: no vrrp_instance %s is defined" % (ctx.show(line, group, True), ctx.show(line, name, True)))
            elif name in owner and owner[name][0] != group:
                ctx.error(line, "vrrp_instance %s is already in vrrp_sync_group %s"
                          % (ctx.show(line, name, True), ctx.show(owner[name][1], owner[name][0], True)))
            owner.setdefault(name, (group, line))


class _At:
    """A place (file, line) for a message."""

    def __init__(self, source):
        self.file, self.line = source


def line_kind(kind):
    return "track_script" if kind == "vrrp_script" else "track_file"


def _smtp_alert_defaults(cfg):
    """keepalived 2.2.7: an instance or sync group without smtp_alert takes global smtp_alert_vrrp, else global
    smtp_alert, else off (vrrp_complete_instance(), vrrp_complete_init())."""
    g = cfg.global_defs
    default = g.smtp_alert_vrrp if g.smtp_alert_vrrp is not None else g.smtp_alert
    if default is None:
        return
    for item in list(cfg.instances.values()) + list(cfg.sync_groups.values()):
        if item.smtp_alert is None:
            item.smtp_alert = default


def _sync_group_weights(ctx):
    """keepalived 2.2.7 vrrp_complete_instance(): a sync-group member (unless its group has
    sync_group_tracking_weight) or an address owner (priority 255) runs no floating priority.
    A weighted tracked interface keeps only its FAULT effect in a sync group (weight 0)
    and is not tracked at all by an owner; a weighted tracked script is not tracked at all; a tracked file with
    the default weight 1 becomes weight 0, one with another weight is not tracked. Each is reported."""
    cfg = ctx.config
    for inst, raw in ctx.pending_tracks:
        group = cfg.sync_group_of(inst.name)
        in_group = group is not None and not group.tracking_weight
        if not in_group and inst.priority != 255:
            continue
        why = "is in a sync group" if in_group else "is the address owner (priority 255)"
        for kind, items, attr in (("tracked interface", raw.track_interfaces, "track_interfaces"),
                                  ("tracked script", raw.track_scripts, "track_scripts"),
                                  ("tracked file", raw.track_files, "track_files")):
            fixed = []
            for (name, weight), line in items:
                effective = weight
                if weight is None and attr == "track_scripts" and name in cfg.scripts:
                    effective = cfg.scripts[name].weight
                if weight is None and attr == "track_files" and name in cfg.track_files:
                    effective = cfg.track_files[name].weight
                if effective:
                    keep = (attr == "track_interfaces" and in_group) or (attr == "track_files" and effective == 1)
                    ctx.fixup(line, "weight of %s %s ignored: vrrp_instance %s %s (as keepalived)%s"
                              % (kind, ctx.show(line, name, True), ctx.show(inst.source[0], inst.name, True), why,
                                 "" if keep else "; it is not tracked at all"))
                    if not keep:
                        continue
                    weight = 0
                fixed.append((name, weight))
            setattr(inst, attr, fixed)


def _parse_tokens(tokens, src, whole=False, host_checks=None):
    _load_extensions()
    tree = build_tree(tokens, src)
    ctx = Context(src)
    ctx.pending_tracks = []
    ctx.pending_groups = []
    ctx.vrid_lines = {}
    ctx.broken = set()
    # global_defs first: its defaults (vrrp_version, vrrp_garp_*) apply wherever it is written.
    for node in tree:
        if node.keyword == "global_defs":
            if ctx.need_block(node):
                _global_defs(ctx, node)
    for node in tree:
        k = node.keyword
        if k == "global_defs":
            continue
        if k in ROOT_HANDLERS:
            ROOT_HANDLERS[k](ctx, node)
        elif k in BLOCK_HANDLERS:
            BLOCK_HANDLERS[k](ctx, node)
        elif k in kw.ROOT:
            ctx.unimplemented(node)
        else:
            ctx.error(node, "unknown keyword %s" % ctx.show(node, k))
    _cross_checks(ctx)
    _unicast_ttl_checks(ctx)
    _vmac_checks(ctx)
    for group in ctx.config.sync_groups.values():
        if len(set(group.instances)) == 1:
            # keepalived 2.2.7 vrrp_sync.c: reported (keepalived -t fails), the group is kept.
            ctx.fixup(_At(group.source), "Sync group %s has only 1 virtual router(s) - this probably isn't what you want"
                      % ctx.show(_At(group.source), group.name, True))
    _sync_group_weights(ctx)
    _smtp_alert_defaults(ctx.config)
    if host_checks is not None:
        # The caller's checks of the host (script_security.check_scripts: files, users): config itself
        # reads its files and nothing else. `whole`: a whole configuration, not a module's fragment.
        host_checks(ctx, whole)
    for validator in VALIDATORS:
        validator(ctx)
    order = {name: i for i, name in enumerate(src.files)}
    messages = sorted(src.messages, key=lambda m: (order.get(m.file, len(order)), m.line))
    cfg = ctx.config
    cfg.files = list(src.files)
    cfg.warnings = [m for m in messages if m.level == "warning"]
    if any(m.level == "error" for m in messages):
        raise ConfigError(messages)
    return cfg


def parse_text(text, filename="<string>", host_checks=None):
    """Parse keepalived syntax held in a string; includes resolve relative to filename's directory.

    host_checks: fn(ctx, whole) run after parsing, its messages counted with the parser's
    (script_security.check_scripts; script_security.parse_text() passes it)."""
    src = Source()
    return _parse_tokens(lex_text(text, filename, src), src, host_checks=host_checks)


def load(path, host_checks=None):
    """Parse a keepalived-syntax file (following include); raises ConfigError. host_checks: as parse_text()."""
    src = Source()
    return _parse_tokens(lex_file(path, src), src, whole=True, host_checks=host_checks)
