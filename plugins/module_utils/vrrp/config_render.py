# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Config model -> keepalived-syntax text (the inverse of config.py's parser).

Public: render_config(), render_instance(), render_script(), script_quote(), quote_token(). What each writes,
config.parse_text() reads back to an equal model (property-tested); a value no token can hold is a ValueError,
and no rendered text holds a raw control character or line separator besides its newlines.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import re

from .. import inet
from .config import INSTANCE_KEYWORDS
from .config_model import INFINITY_LIFE_TIME, GlobalDefs

# What rendered text never holds raw (besides the "\n" ending each line): control characters (\t \r \v \f
# \x1c-\x1e \x85 ...), line and paragraph separators, lone surrogates. A script escapes the controls
# (\NNN, as keepalived reads them); any other value holding one cannot be written and is a ValueError.
_RAW_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def script_quote(value):
    """Config text for a script command that command() reads back to `value` (quoted and escaped as needed).

    Control characters are written as octal escapes; a value with U+2028/U+2029 (no escape exists for them)
    or a lone surrogate is a ValueError, so the text never holds a second line.
    """
    if not isinstance(value, str):
        raise ValueError("a script is text, not %s" % type(value).__name__)
    if value and not re.search(r"[\s\"'\\#!{}]", value) and not _RAW_UNSAFE.search(value):
        return value
    if re.search("[\u2028\u2029\ud800-\udfff]", value):
        raise ValueError("script %s holds a line separator: it cannot be written in keepalived syntax" % inet.safe_repr(value))
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % _RAW_CONTROL.sub(lambda m: "\\%03o" % ord(m.group()), text)


def render_notify(key, command, owner):
    users = (getattr(owner, "notify_users", None) or {}).get(key) or []
    return "%s %s" % (key, " ".join([script_quote(command)] + [_cmd(u, "notify user") for u in users]))


def _fmt_seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) < float("inf"):
        raise ValueError("cannot render %s as seconds" % inet.safe_repr(value))
    return ("%.6f" % value).rstrip("0").rstrip(".")


def render_vip(vip):
    words = [_cmd(vip.cidr, "virtual_ipaddress")]
    if vip.brd:
        words += ["brd", _cmd(vip.brd, "brd")]
    if vip.dev:
        words += ["dev", _cmd(vip.dev, "dev")]
    if vip.scope:
        words += ["scope", _cmd(str(vip.scope), "scope")]
    if vip.label:
        words += ["label", _cmd(vip.label, "label")]
    words += vip.option_words()
    if vip.preferred_lft is not None and vip.family == 6:
        words += ["preferred_lft", "forever" if vip.preferred_lft == INFINITY_LIFE_TIME else str(vip.preferred_lft)]
    return " ".join(words)


def render_tracked(items):
    return ["%s weight %d" % (_cmd(n, "name"), w) if w is not None else _cmd(n, "name") for n, w in items]


def _cmd(value, what="value", secret=False):
    """`value` as one token the lexer reads back unchanged: a bare word, or "quoted" when it holds white
    space, # ! { or }. ValueError when no token can hold it (empty, not text, a double quote, a trailing
    backslash, a control character or line separator); a secret is never quoted in the error."""
    shown = "(not shown)" if secret else inet.safe_repr(value)
    if not isinstance(value, str) or not value:
        raise ValueError("cannot render %s %s: not a non-empty text" % (what, shown))
    if '"' in value or value.endswith("\\") or _RAW_UNSAFE.search(value):
        raise ValueError("cannot render %s %s in keepalived syntax (double quote, trailing backslash,"
                         " control character or line separator)" % (what, shown))
    # `include` first on a line would be read as the directive: quoted, it is a plain word again.
    return '"%s"' % value if re.search(r'[\s#!{}]', value) or value == "include" else value


def quote_token(value, what="value", secret=False):
    """Public name of _cmd() for writers that build keepalived text themselves (vrrp_instance_file)."""
    return _cmd(value, what, secret)


def _check_rendered(text):
    """The last guard: rendered text has no line break but its newlines, nor any other raw control character."""
    if _RAW_UNSAFE.search(text.replace("\n", "")):
        raise ValueError("rendered text would hold a control character or line separator")
    return text


def render_instance(instance):
    """keepalived syntax for one vrrp_instance; parse_text() reads it back to an equal Instance.

    track_script / track_file names must be defined in the same text (see render_config).
    """
    i = instance
    out = ["vrrp_instance %s {" % _cmd(i.name, "instance name"),
           "    state %s" % _cmd(i.state, "state"),
           "    interface %s" % _cmd(i.interface, "interface"),
           "    virtual_router_id %d" % i.vrid,
           "    priority %d" % i.priority,
           "    advert_int %s" % _fmt_seconds(i.advert_int),
           "    version %d" % i.version]
    if i.nopreempt:
        out.append("    nopreempt")
    if i.preempt_delay:
        out.append("    preempt_delay %s" % _fmt_seconds(i.preempt_delay))
    if i.auth_type:
        out += ["    authentication {", "        auth_type %s" % i.auth_type]
        if i.auth_pass is not None:
            out.append("        auth_pass %s" % _cmd(i.auth_pass, "auth_pass", secret=True))
        out.append("    }")
    for key in ("unicast_src_ip", "mcast_src_ip"):
        if getattr(i, key):
            out.append("    %s %s" % (key, _cmd(getattr(i, key), key)))

    def block(keyword, lines):
        if lines:
            out.append("    %s {" % keyword)
            out.extend("        " + line for line in lines)
            out.append("    }")

    block("unicast_peer", [_cmd(p, "unicast_peer") for p in i.unicast_peers])
    block("virtual_ipaddress", [render_vip(v) for v in i.vips])
    block("virtual_ipaddress_excluded", [render_vip(v) for v in i.excluded_vips])
    block("track_interface", render_tracked(i.track_interfaces))
    block("track_script", render_tracked(i.track_scripts))
    block("track_file", render_tracked(i.track_files))
    for key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_master_rx_lower_pri"):
        if getattr(i, key):
            out.append("    " + render_notify(key, getattr(i, key), i))
    if i.notify_priority_changes is not None:
        out.append("    notify_priority_changes %s" % ("true" if i.notify_priority_changes else "false"))
    if i.smtp_alert is not None:
        out.append("    smtp_alert %s" % ("true" if i.smtp_alert else "false"))
    for key in ("garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat"):
        if key == "garp_master_refresh_repeat" and getattr(i, key) == 0:
            continue  # inherited from vrrp_min_garp, which render_config writes; no keyword takes 0
        out.append("    %s %d" % (key, getattr(i, key)))
    if i.garp_interval:
        out.append("    garp_interval %s" % _fmt_seconds(i.garp_interval))
    for key in ("garp_lower_prio_delay", "garp_lower_prio_repeat"):
        out.append("    %s %d" % (key, getattr(i, key)))
    for key in ("lower_prio_no_advert", "higher_prio_send_advert", "skip_check_adv_addr"):
        if getattr(i, key):
            out.append("    " + key)
    if i.v3_checksum != "pseudo":
        out.append("    v3_checksum %s" % _cmd(i.v3_checksum, "v3_checksum"))
    for key in ("native_ipv6", "dont_track_primary"):
        if getattr(i, key):
            out.append("    " + key)
    if i.accept is not None:
        out.append("    accept" if i.accept else "    no_accept")
    if i.unicast_ttl is not None:
        out.append("    unicast_ttl %d" % i.unicast_ttl)
    if i.use_vmac is not None:
        out.append(("    use_vmac %s" % _cmd(i.use_vmac, "use_vmac")) if i.use_vmac else "    use_vmac")
    if i.vmac_xmit_base:
        out.append("    vmac_xmit_base")
    if i.down_timer_adverts != 3:
        out.append("    down_timer_adverts %d" % i.down_timer_adverts)
    for key in ("check_unicast_src", "unicast_fault_no_peer"):
        if getattr(i, key):
            out.append("    " + key)
    if i.notify_deleted:
        out.append("    " + (render_notify("notify_deleted", i.notify_deleted_script, i) if i.notify_deleted_script else "notify_deleted"))
    if i.use_vmac_addr:
        out.append("    use_vmac_addr")
    if i.promote_secondaries:
        out.append("    promote_secondaries")
    if i.garp_extra_if:
        out.append("    garp_extra_if %d%s" % (i.garp_extra_if, " all" if i.garp_extra_if_all else ""))
    for key, (_handler, render) in sorted(INSTANCE_KEYWORDS.items()):
        if render is not None:
            out.extend("    " + line for line in (render(i) or []))
    out.append("}")
    return _check_rendered("\n".join(out) + "\n")


def render_script(script):
    s = script
    out = ["vrrp_script %s {" % _cmd(s.name, "vrrp_script name"), "    script %s" % script_quote(s.script),
           "    interval %d" % int(s.interval)]
    if s.timeout is not None:
        out.append("    timeout %d" % int(s.timeout))
    out.append("    weight %d%s" % (s.weight, " reverse" if s.weight_reverse else ""))
    out += ["    rise %d" % s.rise, "    fall %d" % s.fall]
    if s.user:
        out.append("    user %s%s" % (_cmd(s.user, "user"), " " + _cmd(s.group, "group") if s.group else ""))
    if s.init_fail:
        out.append("    init_fail")
    out.append("}")
    return _check_rendered("\n".join(out) + "\n")


def render_config(config):
    """keepalived syntax for a whole Config (global_defs, scripts, track files, instances, groups)."""
    g = config.global_defs
    out = ["global_defs {"]
    if g.router_id:
        out.append("    router_id %s" % _cmd(g.router_id, "router_id"))
    if g.notification_email:
        out += ["    notification_email {"] + ["        " + _cmd(a, "notification_email") for a in g.notification_email] + ["    }"]
    if g.notification_email_from:
        out.append("    notification_email_from %s" % _cmd(g.notification_email_from, "notification_email_from"))
    if g.smtp_server:
        out.append("    smtp_server %s %d" % (_cmd(g.smtp_server, "smtp_server"), g.smtp_port))
    out.append("    smtp_connect_timeout %d" % g.smtp_connect_timeout)
    out.append("    vrrp_version %d" % g.vrrp_version)
    if g.vrrp_garp_master_refresh_repeat == 0:
        # only vrrp_min_garp sets it to 0 (no keyword accepts 0): an instance that inherits it renders no value
        out.append("    vrrp_min_garp")
    # The GARP defaults an instance without its own values takes (vrrp_instance_file restates the main config's):
    # written after vrrp_min_garp, which changes only those still at their defaults.
    default = GlobalDefs()
    for key in ("vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat"):
        value = getattr(g, key)
        if value != getattr(default, key) and not (key == "vrrp_garp_master_refresh_repeat" and value == 0):
            out.append("    %s %d" % (key, value))
    if g.vrrp_garp_interval != default.vrrp_garp_interval:
        out.append("    vrrp_garp_interval %s" % _fmt_seconds(g.vrrp_garp_interval))
    if g.enable_script_security:
        out.append("    enable_script_security")
    if g.script_user:
        out.append("    script_user %s%s" % (_cmd(g.script_user, "script_user"),
                                             " " + _cmd(g.script_group, "script_group") if g.script_group else ""))
    for key in ("notify_fifo", "vrrp_notify_fifo"):
        if getattr(g, key):
            out.append("    %s %s" % (key, " ".join(_cmd(w, key) for w in getattr(g, key))))
    for key in ("notify_fifo_script", "vrrp_notify_fifo_script"):
        if getattr(g, key):
            out.append("    " + render_notify(key, getattr(g, key), g))
    if g.vrrp_notify_priority_changes:
        out.append("    vrrp_notify_priority_changes")
    if g.vrrp_skip_check_adv_addr:
        out.append("    vrrp_skip_check_adv_addr")
    for key in ("smtp_alert", "smtp_alert_vrrp"):
        if getattr(g, key) is not None:
            out.append("    %s %s" % (key, "true" if getattr(g, key) else "false"))
    for key in ("startup_script", "shutdown_script"):
        if getattr(g, key):
            out.append("    " + render_notify(key, getattr(g, key), g))
            out.append("    %s_timeout %d" % (key, getattr(g, key + "_timeout")))
    if g.default_interface:
        out.append("    default_interface %s" % _cmd(g.default_interface, "default_interface"))
    out.append("}")
    text = "\n".join(out) + "\n"
    for s in config.scripts.values():
        text += "\n" + render_script(s)
    for t in config.track_files.values():
        text += "\ntrack_file %s {\n    file %s\n    weight %d%s\n" % (_cmd(t.name, "track_file name"), _cmd(t.file, "track_file file"),
                                                                       t.weight, " reverse" if t.weight_reverse else "")
        if t.init_file is not None:
            text += "    init_file %d%s\n" % (t.init_file, " overwrite" if t.init_overwrite else "")
        text += "}\n"
    for inst in config.instances.values():
        text += "\n" + render_instance(inst)
    for grp in config.sync_groups.values():
        text += "\nvrrp_sync_group %s {\n    group {\n%s    }\n" % (_cmd(grp.name, "vrrp_sync_group name"),
                                                                    "".join("        %s\n" % _cmd(n, "instance name") for n in grp.instances))
        for key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
            if getattr(grp, key):
                text += "    %s\n" % render_notify(key, getattr(grp, key), grp)
        if grp.notify_priority_changes is not None:
            text += "    notify_priority_changes %s\n" % ("true" if grp.notify_priority_changes else "false")
        if grp.smtp_alert is not None:
            text += "    smtp_alert %s\n" % ("true" if grp.smtp_alert else "false")
        if grp.tracking_weight:
            text += "    sync_group_tracking_weight\n"
        for key in ("track_interface", "track_script", "track_file"):
            items = getattr(grp, key + "s")
            if items:
                text += "    %s {\n%s    }\n" % (key, "".join("        %s\n" % line for line in render_tracked(items)))
        for line in (INSTANCE_KEYWORDS.get("track_process", (None, None))[1] or (lambda _g: []))(grp):
            text += "    %s\n" % line
        text += "}\n"
    return _check_rendered(text)
