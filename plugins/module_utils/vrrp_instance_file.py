# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VRRP instance as a keepalived-syntax file in a conf.d directory (the logic behind vrrp_instance).

Flow: structured options -> checked by type (normalize(): names by alphabet, addresses with ipaddress,
integers as integers, scripts by the script syntax; no value may hold a control character or a line
separator) -> keepalived text -> vrrp.config.parse_text (the parser vipd itself uses, so what is
accepted here is what the daemon runs) -> the parsed instance must be exactly the intended one ->
render_instance (canonical text, the file's content), which must parse back to the same instance ->
cross-file checks against the other files the daemon reads -> atomic write, mode 0600 on the
temporary file before the rename.

Paths: the file is CONF_DIR/NAME.conf with NAME from a safe alphabet; before any read, write or delete
the resolved path must be a regular file (or missing) directly inside the resolved conf_dir.
Messages: never the auth_pass (not even in part), never the text of another file (a parser message
about a file other than the instance's own is reduced to FILE:LINE), never a raw control character.
No ansible imports: the module stays thin and the tests drive this file directly.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import glob
import ipaddress
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import unicodedata
from typing import Dict, List, Optional, Tuple

from .inet import SCOPES, ifname_error, safe_repr
from .persist import atomic
from .vrrp import config, config_render, paths
# Parsed with the host checks of the scripts, as `vipd check` and the daemon do: the module accepts exactly what
# the daemon runs.
from .vrrp import script_security

BACKENDS = {
    # backend: (conf_dir, main config, control socket, pidfile)
    "vipd": (paths.INCLUDE_DIR, paths.MAIN_CONFIG, paths.CONTROL_SOCKET, paths.PIDFILE),
    "keepalived": (paths.KEEPALIVED_INCLUDE_DIR, paths.KEEPALIVED_MAIN_CONFIG, None, paths.KEEPALIVED_PIDFILE),
}
FILE_MODE = 0o600  # the file may hold auth_pass
HEADER = "# Managed by floating.vip.vrrp_instance: local edits are overwritten.\n"
MASK = "********"
HIDDEN = "(not shown)"

# Instance names (also the file name): keepalived-style words, no path separator, no leading dot.
NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
NAME_RULE = "1-64 characters from letters, digits and '_ . -', starting with a letter, digit or '_'"
# vrrp_script names referenced by track_scripts: the role's alphabet for names (they are no file names).
SCRIPT_NAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,63}\Z")
SCRIPT_NAME_RULE = "1-64 characters from letters, digits and '_ . : @ -', starting with a letter, digit or '_'"
LABEL_RE = re.compile(r"\A[A-Za-z0-9_.@:-]{1,15}\Z")
WEIGHT_RE = re.compile(r"\A[+-]?[0-9]{1,4}\Z")
PREFIX_RE = re.compile(r"\A[0-9]{1,3}\Z")
# auth_pass: printable ASCII without white space, quotes, backslash, the syntax characters # ! { } or `$`
# (keepalived's parameter substitution).
AUTH_PASS_RE = re.compile(r"\A[A-Za-z0-9%&()*+,./:;<=>?@\[\]^_`|~-]{1,64}\Z")
AUTH_PASS_RULE = "1-64 printable ASCII characters without spaces, quotes, backslash, #, !, {, } or $ (keepalived uses the first 8)"
AUTH_PASS_USED = 8
# Unicode categories refused in every value: controls (\t \n \r \v \f \x1c-\x1e \x85 NUL ...), format
# characters (bidi overrides, zero width), line and paragraph separators, surrogates, private use, unassigned.
UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
MAX_TEXT = 4096
MAX_INT = 2 ** 31
VIP_KEYS = ("address", "dev", "label", "scope", "brd")
HOOKS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
GARP_INTS = ("garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat")
PYTHON_RE = re.compile(r"\Apython[0-9.]*\Z")


class InstanceFileError(Exception):
    """The instance cannot be written: bad options, parser errors, a conflict with another file, an unsafe path."""


# ------------------------------------------------------------------ typed values

def unsafe_char(text: str) -> Optional[str]:
    """The first control/format character or line separator of text, else None."""
    for char in text:
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            return char
    return None


def _text(value, what: str, secret: bool = False) -> str:
    """A non-empty str without control characters or line separators (never echoing a secret)."""
    shown = HIDDEN if secret else safe_repr(value)
    if not isinstance(value, str):
        raise InstanceFileError("%s must be text, not %s" % (what, type(value).__name__))
    if not value.strip():
        raise InstanceFileError("%s must not be empty" % what)
    if len(value) > MAX_TEXT:
        raise InstanceFileError("%s is longer than %d characters" % (what, MAX_TEXT))
    char = unsafe_char(value)
    if char is not None:
        raise InstanceFileError("%s %s holds a control character or line separator (%s)" % (what, shown, safe_repr(char)))
    return value


def check_name(value, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InstanceFileError("invalid %s %s (%s)" % (what, safe_repr(value), NAME_RULE))
    return value


def _ifname(value, what: str) -> str:
    problem = ifname_error(value)
    if problem:
        raise InstanceFileError("%s: %s" % (what, problem))
    return value


def _int(value, what: str, optional: bool = False) -> Optional[int]:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InstanceFileError("%s must be an integer, not %s" % (what, safe_repr(value)))
    if abs(value) > MAX_INT:
        raise InstanceFileError("%s %d is out of range" % (what, value) if abs(value) < 10 ** 12 else "%s is out of range" % what)
    return value


def _number(value, what: str, optional: bool = True) -> Optional[str]:
    """keepalived text of a number of seconds (1.0 -> "1": keepalived reads both, the short form is usual)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InstanceFileError("%s must be a number, not %s" % (what, safe_repr(value)))
    if isinstance(value, int):
        return str(_int(value, what))
    if not abs(value) < MAX_INT:  # also NaN and infinities
        raise InstanceFileError("%s %s is out of range" % (what, safe_repr(value)))
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = ("%.7f" % value).rstrip("0").rstrip(".")
    if len(text.partition(".")[2]) > 6:
        # keepalived keeps microseconds and reports more decimal places as a configuration error.
        raise InstanceFileError("%s %s has more than 6 decimal places (keepalived reads microseconds)" % (what, safe_repr(value)))
    return text


def _bool(value, what: str) -> Optional[bool]:
    if value is not None and not isinstance(value, bool):
        raise InstanceFileError("%s must be true or false, not %s" % (what, safe_repr(value)))
    return value


def _ip(value, what: str) -> str:
    text = _text(value, what)
    try:
        if "%" in text:
            raise ValueError("zone index")
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InstanceFileError("%s %s is not an IP address" % (what, safe_repr(value)))


def _list(value, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise InstanceFileError("%s must be a list, not %s" % (what, type(value).__name__))
    return list(value)


def _weight(value, what: str) -> int:
    if isinstance(value, str) and WEIGHT_RE.match(value):
        return int(value)
    return _int(value, "%s weight" % what)


def _vip(item, what: str) -> "config.VipSpec":
    """A VipSpec from `A/len [brd X] [dev IF] [scope S] [label L]` or a dict of those keys, every word typed."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(VIP_KEYS), key=str)
        if unknown:
            raise InstanceFileError("%s item has unknown keys %s (known: %s)"
                                    % (what, ", ".join(safe_repr(k) for k in unknown), ", ".join(VIP_KEYS)))
        if item.get("address") in (None, ""):
            raise InstanceFileError("%s item needs an address" % what)
        fields = dict((k, item[k]) for k in VIP_KEYS[1:] if item.get(k) not in (None, ""))
        address = item["address"]
    elif isinstance(item, str):
        words = [w for w in _text(item, "%s item" % what).split(" ") if w]
        address, fields, i = words[0], {}, 1
        while i < len(words):
            key = "brd" if words[i] == "broadcast" else words[i]
            if key not in VIP_KEYS[1:]:
                raise InstanceFileError("%s item %s: unsupported option %s (supported: %s)"
                                        % (what, safe_repr(item), safe_repr(words[i]), ", ".join(VIP_KEYS[1:])))
            if i + 1 >= len(words):
                raise InstanceFileError("%s item %s: option %s needs a value" % (what, safe_repr(item), key))
            if key in fields:
                raise InstanceFileError("%s item %s: option %s is given twice" % (what, safe_repr(item), key))
            fields[key] = words[i + 1]
            i += 2
    else:
        raise InstanceFileError("%s items are strings or dicts, not %s" % (what, type(item).__name__))
    text = _text(address, "%s address" % what)
    addr, slash, plen_text = text.partition("/")
    ip = ipaddress.ip_address(_ip(addr, "%s address" % what))
    maxlen = 32 if ip.version == 4 else 128
    if slash and (not PREFIX_RE.match(plen_text) or int(plen_text) > maxlen):
        raise InstanceFileError("%s address %s: invalid prefix length (0-%d)" % (what, safe_repr(text), maxlen))
    vip = config.VipSpec(cidr="%s/%d" % (ip, int(plen_text) if slash else maxlen))
    for key, value in fields.items():
        label = "%s %s" % (what, key)
        if key == "dev":
            vip.dev = _ifname(value, label)
            continue
        if ip.version == 6:
            raise InstanceFileError("%s: %s is not valid for the IPv6 address %s" % (what, key, ip))
        if key == "brd":
            vip.brd = value if value in ("+", "-") else _ip(value, label)
            if vip.brd not in ("+", "-") and ipaddress.ip_address(vip.brd).version != 4:
                raise InstanceFileError("%s %s is not an IPv4 address" % (label, safe_repr(value)))
        elif key == "scope":
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not (isinstance(value, str) and (value in SCOPES or (PREFIX_RE.match(value) and int(value) <= 255))):
                raise InstanceFileError("%s %s is not one of %s or 0-255" % (label, safe_repr(value), ", ".join(SCOPES)))
            vip.scope = value
        elif key == "label":
            if not isinstance(value, str) or not LABEL_RE.match(value):
                raise InstanceFileError("%s %s is not a valid label (1-15 letters, digits, '_ . - @ :')" % (label, safe_repr(value)))
            vip.label = value
    return vip


def _tracked(item, key: str, what: str) -> Tuple[str, Optional[int]]:
    """(NAME, weight) from "NAME", "NAME weight N" or {key: NAME, weight: N}."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - {key, "weight"}, key=str)
        if unknown or item.get(key) in (None, ""):
            raise InstanceFileError("%s items are {%s, weight}: got keys %s" % (what, key, ", ".join(safe_repr(k) for k in item)))
        name, weight = item[key], item.get("weight")
    elif isinstance(item, str):
        words = [w for w in _text(item, "%s item" % what).split(" ") if w]
        if len(words) not in (1, 3) or (len(words) == 3 and words[1] != "weight"):
            raise InstanceFileError("%s item %s must be NAME or NAME weight N" % (what, safe_repr(item)))
        name, weight = words[0], words[2] if len(words) == 3 else None
    else:
        raise InstanceFileError("%s items are strings or dicts, not %s" % (what, type(item).__name__))
    if key == "interface":
        name = _ifname(name, what)
    elif not isinstance(name, str) or not SCRIPT_NAME_RE.match(name) or name == "include":
        raise InstanceFileError("invalid %s name %s (%s)" % (what, safe_repr(name), SCRIPT_NAME_RULE))
    return name, (None if weight is None else _weight(weight, what))


def _peer(item) -> str:
    """A unicast peer: an address, optionally followed by keepalived's `min_ttl N` / `max_ttl N`."""
    words = [w for w in _text(item, "unicast_peers item").split(" ") if w]
    out = [_ip(words[0], "unicast_peers address")]
    rest = words[1:]
    if len(rest) % 2 or any(rest[i] not in ("min_ttl", "max_ttl") or not PREFIX_RE.match(rest[i + 1])
                            for i in range(0, len(rest), 2)):
        raise InstanceFileError("unicast_peers item %s must be ADDRESS [min_ttl N] [max_ttl N]" % safe_repr(item))
    return " ".join(out + rest)


def _script(value, what: str) -> str:
    """A notify command: one line of text that keepalived splits into an argv (quotes group, backslash
    escapes); it must split, and no escape may produce a control character."""
    text = _text(value, what)
    try:
        argv = config.split_command(text)
    except ValueError:
        raise InstanceFileError("%s %s cannot be split into a command (unterminated quote or trailing backslash)"
                                % (what, safe_repr(text)))
    if not argv or not argv[0]:
        raise InstanceFileError("%s %s names no program" % (what, safe_repr(text)))
    for word in argv:
        if unsafe_char(word) is not None:
            raise InstanceFileError("%s %s: a backslash escape produces a control character" % (what, safe_repr(text)))
    return text


def _auth_pass(value) -> str:
    if not isinstance(value, str) or not AUTH_PASS_RE.match(value):
        raise InstanceFileError("authentication.auth_pass is not valid: %s (value not shown)" % AUTH_PASS_RULE)
    return value


def normalize(p: Dict) -> Dict:
    """The options checked by type and in canonical form (what the written instance must hold)."""
    if not isinstance(p, dict):
        raise InstanceFileError("options must be a dict")
    n = {"name": check_name(p.get("name"))}
    state = p.get("initial_state")
    if state is None:
        state = "BACKUP"
    if not isinstance(state, str) or state.upper() not in ("MASTER", "BACKUP"):
        raise InstanceFileError("initial_state %s must be MASTER or BACKUP" % safe_repr(state))
    n["state"] = state.upper()
    n["interface"] = _ifname(p.get("interface"), "interface")
    n["vrid"] = _int(p.get("virtual_router_id"), "virtual_router_id")
    n["priority"] = _int(p.get("priority"), "priority", optional=True)
    n["advert_int"] = _number(p.get("advert_int"), "advert_int")
    n["version"] = _int(p.get("version"), "version", optional=True)
    n["preempt"] = _bool(p.get("preempt"), "preempt")
    n["preempt_delay"] = _number(p.get("preempt_delay"), "preempt_delay")
    auth = p.get("authentication")
    n["auth_type"] = n["auth_pass"] = None
    n["auth_truncated"] = False
    if auth is not None:
        if not isinstance(auth, dict):
            raise InstanceFileError("authentication must be a dict")
        unknown = sorted(set(auth) - {"auth_type", "auth_pass"}, key=str)
        if unknown:
            raise InstanceFileError("authentication has unknown keys %s (known: auth_type, auth_pass)"
                                    % ", ".join(safe_repr(k) for k in unknown))
        if auth.get("auth_type") is not None and auth.get("auth_type") not in ("PASS", "AH"):
            raise InstanceFileError("authentication.auth_type %s must be PASS or AH" % safe_repr(auth.get("auth_type")))
        if auth.get("auth_type") or auth.get("auth_pass") is not None:
            n["auth_type"] = auth.get("auth_type") or "PASS"
            if auth.get("auth_pass") is not None:
                secret = _auth_pass(auth["auth_pass"])
                n["auth_truncated"] = len(secret) > AUTH_PASS_USED
                n["auth_pass"] = secret[:AUTH_PASS_USED]
    n["unicast_src_ip"] = _ip(p["unicast_src_ip"], "unicast_src_ip") if p.get("unicast_src_ip") not in (None, "") else None
    n["unicast_peers"] = [_peer(item) for item in _list(p.get("unicast_peers"), "unicast_peers")]
    n["vips"] = [_vip(item, "virtual_ipaddresses") for item in _list(p.get("virtual_ipaddresses"), "virtual_ipaddresses")]
    n["excluded_vips"] = [_vip(item, "virtual_ipaddresses_excluded")
                          for item in _list(p.get("virtual_ipaddresses_excluded"), "virtual_ipaddresses_excluded")]
    n["track_interfaces"] = [_tracked(item, "interface", "track_interfaces") for item in _list(p.get("track_interfaces"), "track_interfaces")]
    n["track_scripts"] = [_tracked(item, "name", "track_scripts") for item in _list(p.get("track_scripts"), "track_scripts")]
    for hook in HOOKS:
        n[hook] = _script(p[hook], hook) if p.get(hook) not in (None, "") else None
    n["smtp_alert"] = _bool(p.get("smtp_alert"), "smtp_alert")
    for key in GARP_INTS:
        n[key] = _int(p.get(key), key, optional=True)
    n["garp_interval"] = _number(p.get("garp_interval"), "garp_interval")
    return n


def build_text(p: Dict) -> str:
    """keepalived text for the module's options (`p` as AnsibleModule.params); the parser validates it."""
    return _build(normalize(p))


def _build(n: Dict) -> str:
    """The parser's input: only what the options give (the parser applies the daemon's defaults and globals),
    each line written by the renderer's line writers. The file's content is render_instance() of the result."""
    out = ["vrrp_instance %s {" % n["name"], "    state %s" % n["state"], "    interface %s" % n["interface"],
           "    virtual_router_id %d" % n["vrid"]]

    def kv(key, value):
        if value is not None:
            out.append("    %s %s" % (key, value))

    def block(keyword, lines):
        if lines:
            out.append("    %s {" % keyword)
            out.extend("        %s" % line for line in lines)
            out.append("    }")

    kv("priority", n["priority"])
    kv("advert_int", n["advert_int"])
    kv("version", n["version"])
    if n["preempt"] is False:
        out.append("    nopreempt")
    kv("preempt_delay", n["preempt_delay"])
    if n["auth_type"]:
        out.append("    authentication {")
        out.append("        auth_type %s" % n["auth_type"])
        if n["auth_pass"] is not None:
            out.append("        auth_pass %s" % n["auth_pass"])
        out.append("    }")
    kv("unicast_src_ip", n["unicast_src_ip"])
    block("unicast_peer", n["unicast_peers"])
    block("virtual_ipaddress", [config_render.render_vip(v) for v in n["vips"]])
    block("virtual_ipaddress_excluded", [config_render.render_vip(v) for v in n["excluded_vips"]])
    block("track_interface", config_render.render_tracked(n["track_interfaces"]))
    block("track_script", config_render.render_tracked(n["track_scripts"]))
    for hook in HOOKS:
        if n[hook] is not None:
            out.append("    " + config_render.render_notify(hook, n[hook], None))
    if n["smtp_alert"] is not None:
        out.append("    smtp_alert %s" % ("true" if n["smtp_alert"] else "false"))
    for key in GARP_INTS:
        kv(key, n[key])
    kv("garp_interval", n["garp_interval"])
    out.append("}")
    return "\n".join(out) + "\n"


def _intended_mismatch(n: Dict, inst) -> Optional[str]:
    """The first field where the parsed instance differs from the options, else None."""
    expected = {
        "name": n["name"], "state": n["state"], "interface": n["interface"], "vrid": n["vrid"], "vips": n["vips"],
        "excluded_vips": n["excluded_vips"], "unicast_src_ip": n["unicast_src_ip"],
        "unicast_peers": [peer.split(" ")[0] for peer in n["unicast_peers"]],
        "track_interfaces": n["track_interfaces"], "track_scripts": n["track_scripts"],
    }
    for hook in HOOKS:
        expected[hook] = n[hook]
    if n["priority"] is not None:
        expected["priority"] = n["priority"]
    for key in GARP_INTS:
        if n[key] is not None:
            expected[key] = n[key]
    if inst.auth_type is not None:
        expected["auth_pass"] = n["auth_pass"]
    for key, value in expected.items():
        if getattr(inst, key) != value:
            return key
    return None


# ------------------------------------------------------------------ messages

def clean(text) -> str:
    """A message made safe to show: control characters and line separators escaped."""
    text = str(text)
    if unsafe_char(text) is None:
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) in UNSAFE_CATEGORIES else c
                   for c in text)


def scrub(text: str, secrets) -> str:
    """text without any of the secrets (nor their first AUTH_PASS_USED characters)."""
    for secret in secrets or ():
        if isinstance(secret, str) and secret:
            for part in sorted({secret, secret[:AUTH_PASS_USED]}, key=len, reverse=True):
                if part:
                    text = text.replace(part, MASK)
    return text


def secrets_of(p) -> List[str]:
    auth = p.get("authentication") if isinstance(p, dict) else None
    value = auth.get("auth_pass") if isinstance(auth, dict) else None
    return [value] if isinstance(value, str) and value else []


def _location(m) -> str:
    return "%s:%d" % (clean(m.file), m.line)


def messages(exc, path=None) -> List[str]:
    """Error texts. About `path` (the instance text): the reason only (its line numbers are of generated
    text). About any other file: its location only, never a reason (it may quote that file's content)."""
    out = []
    for m in getattr(exc, "messages", []):
        if getattr(m, "level", "error") != "error":
            continue
        if path is not None and m.file == path:
            out.append(clean(m.reason))
        else:
            out.append("%s: error in a file read through the configuration (run `vipd check` there)" % _location(m))
    return out or ["the parser refused it"]


def _warning_text(w, path) -> str:
    if w.file == path:
        return clean(w.reason)
    return "%s: warning in a file read through the configuration (not shown)" % _location(w)


# ------------------------------------------------------------------ context: the other files

class Context:
    """What the daemon reads besides the instance: global_defs, vrrp_scripts and instances of other files."""

    def __init__(self):
        self.global_defs = config.GlobalDefs()
        self.scripts = {}
        self.track_files = {}
        self.instances = []  # Instance objects of the main config and the other conf.d files
        self.warnings = []

    def prefix(self) -> str:
        """keepalived text defining the globals and scripts, so the instance parses as it will in the daemon."""
        cfg = config.Config(global_defs=self.global_defs, scripts=dict(self.scripts), track_files=dict(self.track_files))
        try:
            return config_render.render_config(cfg)
        except ValueError:
            raise InstanceFileError("the scripts and globals of the main configuration cannot be restated for the check"
                                    " (a value holds a control character or line separator)")


def _strip_includes(text: str) -> str:
    return re.sub(r"(?m)^[ \t]*include\b.*$", "", text)


def _summary(exc) -> str:
    errors = [m for m in getattr(exc, "messages", []) if getattr(m, "level", "error") == "error"]
    where = ", ".join(_location(m) for m in errors[:5])
    return "%d error(s) at %s%s" % (len(errors), where, ", ..." if len(errors) > 5 else "") if errors else "errors"


def load_context(conf_dir: str, main_config: Optional[str], path: str) -> Context:
    """Read the main config (with its includes) and the other *.conf of conf_dir, tolerating broken files.
    Their problems become warnings naming FILE:LINE only."""
    ctx = Context()
    seen = set()
    if main_config and os.path.exists(main_config):
        try:
            cfg = script_security.load(main_config)
            seen.update(os.path.abspath(f) for f in cfg.files or [])
            ctx.instances += list(cfg.instances.values())
        except config.ConfigError as exc:
            ctx.warnings.append("%s does not load as a whole (%s); checking its files one by one"
                                % (clean(main_config), _summary(exc)))
            cfg = None
            try:
                cfg = script_security.parse_text(_strip_includes(atomic.read_text(main_config) or ""), main_config)
                ctx.instances += list(cfg.instances.values())
                seen.add(os.path.abspath(main_config))
            except (config.ConfigError, atomic.PersistError):
                ctx.warnings.append("%s does not parse; its scripts and instances are not known here" % clean(main_config))
        if cfg is not None:
            ctx.global_defs, ctx.scripts, ctx.track_files = cfg.global_defs, dict(cfg.scripts), dict(cfg.track_files)
    for other_path in sorted(glob.glob(os.path.join(glob.escape(conf_dir), "*.conf"))):
        if os.path.abspath(other_path) in seen or _same_file(other_path, path):
            continue
        try:
            text = atomic.read_text(other_path) or ""
            # Other conf.d files may track scripts of the main config: parse them with its definitions.
            prefix = ctx.prefix()
            for inst in script_security.parse_text(prefix + text, other_path).instances.values():
                inst.source = (inst.source[0], inst.source[1] - prefix.count("\n"))  # lines of the file itself
                ctx.instances.append(inst)
        except (config.ConfigError, atomic.PersistError, InstanceFileError):
            ctx.warnings.append("%s cannot be parsed; not checked for VRID conflicts" % clean(other_path))
    return ctx


# ------------------------------------------------------------------ render: options -> checked file content

def _parse(text: str, path: str, what: str):
    try:
        cfg = script_security.parse_text(text, path)
    except config.ConfigError as exc:
        raise InstanceFileError("%s: %s" % (what, "; ".join(messages(exc, path))))
    if [os.path.abspath(f) for f in cfg.files or []] != [os.path.abspath(path)]:
        raise InstanceFileError("%s: the text would read another file" % what)
    return cfg


def render(p: Dict, path: str, ctx: Optional[Context] = None) -> Tuple[str, "config.Instance", List[str]]:
    """(file content, parsed Instance, warnings) for the options, or InstanceFileError with every reason.

    Checked invariants: the parsed instance holds exactly the options' values; the content (render_instance)
    parses back to the same instance, as the only statement besides the context's; it has no line break
    but "\\n" and no control character.
    """
    ctx = ctx or Context()
    n = normalize(p)
    prefix = ctx.prefix()
    text = _build(n)
    cfg = _parse(prefix + text, path, "invalid instance %s" % n["name"])
    if list(cfg.instances) != [n["name"]]:
        raise InstanceFileError("internal error: the text of instance %s does not define exactly it" % n["name"])
    instance = cfg.instances[n["name"]]
    field = _intended_mismatch(n, instance)
    if field is not None:
        raise InstanceFileError("internal error: instance %s does not read back its %s as given" % (n["name"], field))
    try:
        body = config_render.render_instance(instance)
    except ValueError as exc:
        raise InstanceFileError("instance %s cannot be written: %s" % (n["name"], clean(scrub(str(exc), [n["auth_pass"]]))))
    content = HEADER + body
    if unsafe_char(content.replace("\n", "")) is not None:
        raise InstanceFileError("internal error: the content of instance %s would hold a control character" % n["name"])
    # The written file must read back as the same instance (guards against a lossy renderer).
    again = _parse(prefix + content, path, "internal error: rendered instance %s does not read back" % n["name"])
    if list(again.instances) != [n["name"]] or again.instances[n["name"]].fingerprint() != instance.fingerprint() \
            or set(again.scripts) != set(cfg.scripts):
        raise InstanceFileError("internal error: rendered instance %s does not read back identically" % n["name"])
    warnings = [_warning_text(w, path) for w in cfg.warnings]
    if n["auth_truncated"]:
        warnings.append("authentication.auth_pass is longer than %d characters: only the first %d are used (as keepalived)"
                        % (AUTH_PASS_USED, AUTH_PASS_USED))
    secrets = secrets_of(p)
    return content, instance, [scrub(w, secrets) for w in warnings]


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def conflicts(instance, path: str, ctx: Context) -> List[str]:
    """Other instances with the same name, or with the same VRID on the same interface and address family
    (IPv4 and IPv6 VRIDs are separate spaces, RFC 5798 section 5.2.3)."""
    found = []
    for other in ctx.instances:
        source = other.source[0] if other.source else ""
        if source and _same_file(source, path):
            continue  # our own file (its previous version), reached through an include
        where = clean("%s:%s" % tuple(other.source)) if source else "another file"
        if other.name == instance.name:
            found.append("instance %s is already defined at %s" % (instance.name, where))
        elif other.interface == instance.interface and other.vrid == instance.vrid and other.family == instance.family:
            found.append("virtual_router_id %d on %s (IPv%d) is already used by instance %s at %s"
                         % (instance.vrid, instance.interface, instance.family, clean(other.name), where))
    return found


def masked(text: Optional[str]) -> Optional[str]:
    """The content with auth_pass values hidden (for diff and return values): the rest of any line from
    an auth_pass keyword on, whatever its quoting."""
    if text is None:
        return None
    return re.sub(r"(\bauth_pass\b)[^\n]*", lambda m: m.group(1) + " " + MASK, text)


def file_mode(path: str) -> Optional[int]:
    try:
        return os.lstat(path).st_mode & 0o7777
    except OSError:
        return None


def keepalived_test(path: str, keepalived: Optional[str] = None) -> Optional[List[str]]:
    """`keepalived -t -f path`: None when keepalived is not installed, else the list of errors (empty = valid)."""
    binary = keepalived or shutil.which("keepalived") or (os.path.exists("/usr/sbin/keepalived") and "/usr/sbin/keepalived")
    if not binary:
        return None
    proc = subprocess.run([binary, "-t", "-l", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, errors="replace", timeout=60, check=False)
    if proc.returncode == 0:
        return []
    lines = [clean(line.strip()) for line in (proc.stderr + proc.stdout).split("\n") if line.strip()]
    return lines or ["keepalived -t exited with %d" % proc.returncode]


# ------------------------------------------------------------------ paths

def instance_path(conf_dir: str, name: str) -> str:
    """CONF_DIR/NAME.conf for a checked name (InstanceFileError otherwise; nothing is touched)."""
    name = check_name(name)
    if not isinstance(conf_dir, str) or not conf_dir or unsafe_char(conf_dir) is not None:
        raise InstanceFileError("invalid conf_dir %s" % safe_repr(conf_dir))
    return os.path.join(conf_dir, "%s.conf" % name)


def check_path(path: str) -> str:
    """Refuse unless `path`, resolved, is directly inside its resolved directory under its own name (so a
    symlinked conf_dir is followed, a symlinked or traversing file name is not) and is a regular file or missing."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise InstanceFileError("cannot check %s: %s" % (clean(path), exc.strerror or exc))
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise InstanceFileError("%s is a symbolic link: refused" % clean(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InstanceFileError("%s is not a regular file: refused" % clean(path))
    real_dir = os.path.realpath(os.path.dirname(path) or ".")
    real = os.path.realpath(path)
    if os.path.dirname(real) != real_dir or os.path.basename(real) != os.path.basename(path):
        raise InstanceFileError("%s resolves to %s, outside %s: refused" % (clean(path), clean(real), clean(real_dir)))
    return path


# ------------------------------------------------------------------ plan / apply

class Plan:
    """What apply() would do: computed without touching anything (check mode uses only this)."""

    def __init__(self, path, before, after, mode_before, instance=None, warnings=None):
        self.path = path
        self.before = before
        self.after = after  # None: the file is to be removed
        self.mode_before = mode_before
        self.instance = instance
        self.warnings = list(warnings or [])

    @property
    def changed(self):
        if self.after is None:
            return self.before is not None
        return self.before != self.after or self.mode_before != FILE_MODE

    def diff(self):
        return {"before": masked(self.before) or "", "after": masked(self.after) or "",
                "before_header": self.path, "after_header": self.path}


def plan(p: Dict, conf_dir: str, main_config: Optional[str] = None) -> Plan:
    if not isinstance(p, dict):
        raise InstanceFileError("options must be a dict")
    path = check_path(instance_path(conf_dir, p.get("name")))
    state = p.get("state", "present")
    if state not in (None, "present", "absent"):
        raise InstanceFileError("state %s must be present or absent" % safe_repr(state))
    try:
        before = atomic.read_text(path)
    except atomic.PersistError as exc:
        raise InstanceFileError(clean(exc))
    if state == "absent":
        return Plan(path, before, None, file_mode(path))
    for required in ("interface", "virtual_router_id"):
        if p.get(required) in (None, ""):
            raise InstanceFileError("%s is required when state is present" % required)
    ctx = load_context(conf_dir, main_config, path)
    content, instance, warnings = render(p, path, ctx)
    found = conflicts(instance, path, ctx)
    if found:
        raise InstanceFileError("; ".join(found))
    return Plan(path, before, content, file_mode(path), instance, warnings + ctx.warnings)


def _write(path: str, text: str, mode: int) -> None:
    """Atomic write with `mode` on the temporary file before the rename, also for an existing file."""
    check_path(path)
    atomic.write_text(path, text, mode=mode)
    if file_mode(path) != mode:
        os.chmod(path, mode)  # an older atomic writer kept a wider mode: never leave it so


def apply(pl: Plan, validate_keepalived: bool = False, keepalived_main: Optional[str] = None) -> None:
    """Carry the plan out. With validate_keepalived, `keepalived -t` checks the result in place (the full
    config when keepalived_main exists, so track scripts defined there resolve) and a failure restores
    the previous state before raising."""
    if not pl.changed:
        return
    check_path(pl.path)
    if pl.after is None:
        atomic.remove_file(pl.path)
        return
    directory = os.path.dirname(pl.path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    if validate_keepalived:
        errors = _keepalived_check_candidate(pl, keepalived_main)
        if errors:
            raise InstanceFileError("keepalived -t rejects the instance: " + "; ".join(errors[:20]))
    _write(pl.path, pl.after, FILE_MODE)
    if validate_keepalived and keepalived_main and os.path.exists(keepalived_main):
        errors = keepalived_test(keepalived_main) or []
        if errors:
            restore(pl)
            raise InstanceFileError("keepalived -t %s fails with the new instance (file restored): %s"
                                    % (clean(keepalived_main), "; ".join(errors[:20])))


def _keepalived_check_candidate(pl: Plan, keepalived_main: Optional[str]) -> List[str]:
    """Without a main config, keepalived -t checks the file alone, before it is written."""
    if keepalived_main and os.path.exists(keepalived_main):
        return []  # checked in place, with the whole config, after the atomic write
    tmpdir = tempfile.mkdtemp(prefix="vrrp_instance-")
    try:
        candidate = os.path.join(tmpdir, os.path.basename(pl.path))
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(pl.after)
        return keepalived_test(candidate) or []
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def restore(pl: Plan) -> None:
    """Put back what plan() saw before apply()."""
    check_path(pl.path)
    if pl.before is None:
        atomic.remove_file(pl.path)
    else:
        _write(pl.path, pl.before, pl.mode_before if pl.mode_before is not None else FILE_MODE)


# ------------------------------------------------------------------ reload

class ReloadError(Exception):
    """The daemon refused the new configuration."""


def _read_pid(pidfile: Optional[str]) -> Optional[int]:
    if not pidfile:
        return None
    try:
        with open(pidfile) as handle:
            pid = int(handle.read(64).split()[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    if pid <= 1:
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None  # stale pidfile
    return pid


def _proc_argv(pid: int, proc: str = "/proc") -> List[str]:
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            data = handle.read(65536)
    except OSError:
        return []
    return [arg.decode("utf-8", "replace") for arg in data.split(b"\0") if arg]


def _proc_comm(pid: int, proc: str = "/proc") -> str:
    try:
        with open(os.path.join(proc, str(pid), "comm"), "rb") as handle:
            return handle.read(64).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def is_daemon(pid: int, backend: str, proc: str = "/proc") -> bool:
    """Whether process `pid` is the daemon of `backend`: vipd (/usr/sbin/vipd ..., or PYTHON [opts] .../vipd ...)
    or keepalived (.../keepalived ...). A process without a command line (a zombie) is judged by its comm."""
    name = "vipd" if backend == "vipd" else "keepalived"
    argv = _proc_argv(pid, proc)
    if not argv:
        return _proc_comm(pid, proc) == name
    first = os.path.basename(argv[0])
    if first == name:
        return True
    if backend == "vipd" and PYTHON_RE.match(first):
        for arg in argv[1:]:
            if arg.startswith("-"):
                continue  # interpreter options (-u, -E, -s ...)
            return os.path.basename(arg) == name
    return False


def _signal(pid: int, backend: str) -> bool:
    """SIGHUP to pid if it is the daemon: through a pidfd when the platform has one (no PID reuse between
    the check and the signal), else kill(). False when pid is not the daemon."""
    pidfd = None
    opener = getattr(os, "pidfd_open", None)
    sender = getattr(signal, "pidfd_send_signal", None)
    if opener is not None and sender is not None:
        try:
            pidfd = opener(pid)
        except OSError:
            pidfd = None
    try:
        if not is_daemon(pid, backend):
            return False
        if pidfd is not None:
            sender(pidfd, signal.SIGHUP)
        else:
            os.kill(pid, signal.SIGHUP)
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def reload_errors(errors, path: str) -> List[str]:
    """The daemon's reload errors: the instance file's with their reason, any other file's as FILE:LINE only."""
    out = []
    for error in errors if isinstance(errors, list) else [errors]:
        text = str(error)
        if text.startswith(path + ":"):
            out.append(clean(text))
        else:
            m = re.match(r"\A(.*?:[0-9]+):", text)
            out.append("%s: error in another file (run `vipd check` there)" % clean(m.group(1)) if m
                       else "an error in another file (run `vipd check`)")
    return out


def reload_daemon(backend: str, control_socket: Optional[str], pidfile: Optional[str], path: str = "") -> Tuple[bool, str]:
    """(reloaded, how). vipd: the control socket's `reload` (errors come back); else SIGHUP to the pidfile's PID
    once /proc says that PID is the daemon (a stale pidfile naming another process is reported, not signalled)."""
    if backend == "vipd" and control_socket and os.path.exists(control_socket):
        from .vrrp import cli  # late: only reload needs the control protocol
        try:
            reply = cli.control_request(control_socket, "reload")
        except (OSError, ValueError):
            reply = None  # a stale socket: fall back to the pidfile
        if isinstance(reply, dict):
            if not reply.get("ok"):
                raise ReloadError("; ".join(reload_errors(reply.get("errors") or [reply.get("error") or "reload refused"], path)))
            return True, "control socket %s" % clean(control_socket)
    pid = _read_pid(pidfile)
    if pid is None:
        return False, "%s is not running (no control socket, no live pid in %s)" % (backend, clean(pidfile))
    if not _signal(pid, backend):
        return False, ("pid %d in %s is not %s (a stale pidfile?): not signalled, %s not reloaded"
                       % (pid, clean(pidfile), backend, backend))
    return True, "SIGHUP to pid %d" % pid
