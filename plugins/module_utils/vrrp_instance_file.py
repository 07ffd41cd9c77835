# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VRRP instance as a keepalived-syntax file in a conf.d directory (the logic behind vrrp_instance).

Flow: structured options -> keepalived text -> vrrp.config.parse_text (the parser vipd itself uses,
so what is accepted here is what the daemon runs) -> render_instance (canonical text, the file's
content) -> cross-file checks against the other files the daemon reads -> atomic write, mode 0600.
No ansible imports: the module stays thin and the tests drive this file directly.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
from typing import Dict, List, Optional, Tuple

from .persist import atomic
from .vrrp import config

BACKENDS = {
    # backend: (conf_dir, main config, control socket, pidfile)
    "vipd": ("/etc/vipd/conf.d", "/etc/vipd/vipd.conf", "/run/vipd/vipd.sock", "/run/vipd/vipd.pid"),
    "keepalived": ("/etc/keepalived/conf.d", "/etc/keepalived/keepalived.conf", None, "/run/keepalived.pid"),
}
FILE_MODE = 0o600  # the file may hold auth_pass
HEADER = "# Managed by floating.vip.vrrp_instance: local edits are overwritten.\n"
MASK = "********"

# Characters that would let a value escape its line or block in keepalived syntax.
_UNSAFE = re.compile(r'[\n\r{}#!"]')
_NAME = re.compile(r'^[^\s{}#!"\\]+$')
VIP_KEYS = ("address", "dev", "label", "scope", "brd")


class InstanceFileError(Exception):
    """The instance cannot be written: bad options, parser errors, or a conflict with another file."""


def _word(value, what):
    text = str(value)
    if not text or not _NAME.match(text):
        raise InstanceFileError("%s %r must be one word without spaces, braces, quotes, # or !" % (what, text))
    return text


def _line(value, what):
    text = str(value).strip()
    if not text or _UNSAFE.search(text):
        raise InstanceFileError("%s %r must be one non-empty line without { } # ! or double quotes" % (what, value))
    return text


def vip_line(item, what="virtual_ipaddresses") -> str:
    """A virtual_ipaddress line from a keepalived-syntax string or a dict address/dev/label/scope/brd."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(VIP_KEYS))
        if unknown:
            raise InstanceFileError("%s item has unknown keys %s (known: %s)" % (what, ", ".join(unknown), ", ".join(VIP_KEYS)))
        if not item.get("address"):
            raise InstanceFileError("%s item %r needs an address" % (what, item))
        words = [_word(item["address"], "%s address" % what)]
        for key in ("brd", "dev", "scope", "label"):
            if item.get(key) not in (None, ""):
                words += [key, _word(item[key], "%s %s" % (what, key))]
        return " ".join(words)
    if isinstance(item, str):
        return _line(item, "%s item" % what)
    raise InstanceFileError("%s items are strings or dicts, not %s" % (what, type(item).__name__))


def _weighted(item, key, what) -> str:
    """`NAME [weight N]` from "NAME", "NAME weight N" or {key: NAME, weight: N}."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - {key, "weight"})
        if unknown or not item.get(key):
            raise InstanceFileError("%s items are {%s, weight}: got %r" % (what, key, item))
        text = _word(item[key], what)
        if item.get("weight") is not None:
            text += " weight %d" % int(item["weight"])
        return text
    if isinstance(item, str):
        return _line(item, "%s item" % what)
    raise InstanceFileError("%s items are strings or dicts, not %s" % (what, type(item).__name__))


def _number(value):
    # 1.0 -> "1": keepalived reads both, the short form is what people write.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_text(p: Dict) -> str:
    """keepalived text for the module's options (`p` as AnsibleModule.params); the parser validates it."""
    name = _word(p["name"], "name")
    out = ["vrrp_instance %s {" % name]

    def kv(key, value):
        if value is not None:
            out.append("    %s %s" % (key, value))

    kv("state", (p.get("initial_state") or "BACKUP").upper())
    kv("interface", _word(p["interface"], "interface") if p.get("interface") else None)
    kv("virtual_router_id", p.get("virtual_router_id"))
    kv("priority", p.get("priority"))
    kv("advert_int", _number(p["advert_int"]) if p.get("advert_int") is not None else None)
    kv("version", p.get("version"))
    if p.get("preempt") is False:
        out.append("    nopreempt")
    kv("preempt_delay", _number(p["preempt_delay"]) if p.get("preempt_delay") is not None else None)
    auth = p.get("authentication") or {}
    if auth.get("auth_type") or auth.get("auth_pass"):
        out.append("    authentication {")
        out.append("        auth_type %s" % _word(auth.get("auth_type") or "PASS", "auth_type"))
        if auth.get("auth_pass") is not None:
            out.append("        auth_pass %s" % _word(auth["auth_pass"], "auth_pass"))
        out.append("    }")
    kv("unicast_src_ip", _word(p["unicast_src_ip"], "unicast_src_ip") if p.get("unicast_src_ip") else None)
    if p.get("unicast_peers"):
        out.append("    unicast_peer {")
        out += ["        %s" % _line(peer, "unicast_peers item") for peer in p["unicast_peers"]]
        out.append("    }")
    for key, option in (("virtual_ipaddress", "virtual_ipaddresses"), ("virtual_ipaddress_excluded", "virtual_ipaddresses_excluded")):
        if p.get(option):
            out.append("    %s {" % key)
            out += ["        %s" % vip_line(item, option) for item in p[option]]
            out.append("    }")
    for key, option, field in (("track_interface", "track_interfaces", "interface"), ("track_script", "track_scripts", "name")):
        if p.get(option):
            out.append("    %s {" % key)
            out += ["        %s" % _weighted(item, field, option) for item in p[option]]
            out.append("    }")
    for hook in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
        if p.get(hook):
            out.append('    %s "%s"' % (hook, _line(p[hook], hook)))
    if p.get("smtp_alert") is not None:
        out.append("    smtp_alert %s" % ("true" if p["smtp_alert"] else "false"))
    for key in ("garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat", "garp_interval"):
        if p.get(key) is not None:
            kv(key, _number(p[key]))
    out.append("}")
    return "\n".join(out) + "\n"


def _messages(exc, path=None) -> List[str]:
    """Error texts; for the instance being written only the reason (its line numbers are of generated text)."""
    out = []
    for m in getattr(exc, "messages", []):
        if getattr(m, "level", "error") != "error":
            continue
        out.append(m.reason if path is not None and m.file == path else str(m))
    return out or [str(exc)]


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
        text = config.render_config(cfg)
        # render_config leaves the global garp defaults out; they change an instance's values.
        g, default = self.global_defs, config.GlobalDefs()
        extra = ["    %s %s" % (k, _number(getattr(g, k))) for k in
                 ("vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
                  "vrrp_garp_master_refresh_repeat", "vrrp_garp_interval") if getattr(g, k) != getattr(default, k)]
        if extra:
            head, tail = text.split("\n}\n", 1)
            text = head + "\n" + "\n".join(extra) + "\n}\n" + tail
        return text


def _strip_includes(text: str) -> str:
    return re.sub(r"(?m)^\s*include\b.*$", "", text)


def load_context(conf_dir: str, main_config: Optional[str], path: str) -> Context:
    """Read the main config (with its includes) and the other *.conf of conf_dir, tolerating broken files."""
    ctx = Context()
    seen = set()
    if main_config and os.path.exists(main_config):
        try:
            cfg = config.load(main_config)
            seen.update(os.path.abspath(f) for f in cfg.files or [])
            ctx.instances += list(cfg.instances.values())
        except config.ConfigError as exc:
            ctx.warnings.append("%s does not load as a whole (%s); checking its files one by one"
                                % (main_config, "; ".join(_messages(exc))[:400]))
            cfg = None
            try:
                cfg = config.parse_text(_strip_includes(atomic.read_text(main_config) or ""), main_config)
                ctx.instances += list(cfg.instances.values())
                seen.add(os.path.abspath(main_config))
            except (config.ConfigError, atomic.PersistError):
                ctx.warnings.append("%s does not parse; its scripts and instances are not known here" % main_config)
        if cfg is not None:
            ctx.global_defs, ctx.scripts, ctx.track_files = cfg.global_defs, dict(cfg.scripts), dict(cfg.track_files)
    for other_path in sorted(glob.glob(os.path.join(conf_dir, "*.conf"))):
        if os.path.abspath(other_path) in seen or _same_file(other_path, path):
            continue
        try:
            text = atomic.read_text(other_path) or ""
            # Other conf.d files may track scripts of the main config: parse them with its definitions.
            prefix = ctx.prefix()
            for inst in config.parse_text(prefix + text, other_path).instances.values():
                inst.source = (inst.source[0], inst.source[1] - prefix.count("\n"))  # lines of the file itself
                ctx.instances.append(inst)
        except (config.ConfigError, atomic.PersistError):
            ctx.warnings.append("%s cannot be parsed; not checked for VRID conflicts" % other_path)
    return ctx


def render(p: Dict, path: str, ctx: Optional[Context] = None) -> Tuple[str, "config.Instance", List[str]]:
    """(file content, parsed Instance, parser warnings) for the options, or InstanceFileError with every reason."""
    ctx = ctx or Context()
    prefix = ctx.prefix()
    text = build_text(p)
    try:
        cfg = config.parse_text(prefix + text, path)
    except config.ConfigError as exc:
        raise InstanceFileError("invalid instance %s: %s" % (p["name"], "; ".join(_messages(exc, path))))
    instance = cfg.instances[p["name"]]
    content = HEADER + config.render_instance(instance)
    # The written file must read back as the same instance (guards against a lossy renderer).
    again = config.parse_text(prefix + content, path).instances[p["name"]]
    if again.fingerprint() != instance.fingerprint():
        raise InstanceFileError("internal error: rendered instance %s does not read back identically" % p["name"])
    return content, instance, [w.reason if w.file == path else str(w) for w in cfg.warnings]


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
        where = "%s:%s" % tuple(other.source) if source else "another file"
        if other.name == instance.name:
            found.append("instance %s is already defined at %s" % (instance.name, where))
        elif other.interface == instance.interface and other.vrid == instance.vrid and other.family == instance.family:
            found.append("virtual_router_id %d on %s (IPv%d) is already used by instance %s at %s"
                         % (instance.vrid, instance.interface, instance.family, other.name, where))
    return found


def masked(text: Optional[str]) -> Optional[str]:
    """The content with auth_pass values hidden (for diff and return values)."""
    if text is None:
        return None
    return re.sub(r"(?m)^(\s*auth_pass\s+)\S+", lambda m: m.group(1) + MASK, text)


def file_mode(path: str) -> Optional[int]:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def keepalived_test(path: str, keepalived: Optional[str] = None) -> Optional[List[str]]:
    """`keepalived -t -f path`: None when keepalived is not installed, else the list of errors (empty = valid)."""
    binary = keepalived or shutil.which("keepalived") or (os.path.exists("/usr/sbin/keepalived") and "/usr/sbin/keepalived")
    if not binary:
        return None
    proc = subprocess.run([binary, "-t", "-l", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60, check=False)
    if proc.returncode == 0:
        return []
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return lines or ["keepalived -t exited with %d" % proc.returncode]


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


def instance_path(conf_dir: str, name: str) -> str:
    return os.path.join(conf_dir, "%s.conf" % _word(name, "name"))


def plan(p: Dict, conf_dir: str, main_config: Optional[str] = None) -> Plan:
    path = instance_path(conf_dir, p["name"])
    try:
        before = atomic.read_text(path)
    except atomic.PersistError as exc:
        raise InstanceFileError(str(exc))
    if p.get("state", "present") == "absent":
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


def apply(pl: Plan, validate_keepalived: bool = False, keepalived_main: Optional[str] = None) -> None:
    """Carry the plan out. With validate_keepalived, `keepalived -t` checks the result in place (the full
    config when keepalived_main exists, so track scripts defined there resolve) and a failure restores
    the previous state before raising."""
    if not pl.changed:
        return
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
    atomic.write_text(pl.path, pl.after, mode=FILE_MODE)
    if file_mode(pl.path) != FILE_MODE:
        os.chmod(pl.path, FILE_MODE)  # write_text keeps an existing file's mode; ours is always 0600
    if validate_keepalived and keepalived_main and os.path.exists(keepalived_main):
        errors = keepalived_test(keepalived_main) or []
        if errors:
            restore(pl)
            raise InstanceFileError("keepalived -t %s fails with the new instance (file restored): %s"
                                    % (keepalived_main, "; ".join(errors[:20])))


def _keepalived_check_candidate(pl: Plan, keepalived_main: Optional[str]) -> List[str]:
    """Without a main config, keepalived -t checks the file alone, before it is written."""
    if keepalived_main and os.path.exists(keepalived_main):
        return []  # checked in place, with the whole config, after the atomic write
    tmpdir = tempfile.mkdtemp(prefix="vrrp_instance-")
    try:
        candidate = os.path.join(tmpdir, os.path.basename(pl.path))
        with open(candidate, "w") as handle:
            handle.write(pl.after)
        return keepalived_test(candidate) or []
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def restore(pl: Plan) -> None:
    """Put back what plan() saw before apply()."""
    if pl.before is None:
        atomic.remove_file(pl.path)
    else:
        atomic.write_text(pl.path, pl.before, mode=pl.mode_before or FILE_MODE)
        if pl.mode_before is not None:
            os.chmod(pl.path, pl.mode_before)


class ReloadError(Exception):
    """The daemon refused the new configuration."""


def _read_pid(pidfile: Optional[str]) -> Optional[int]:
    if not pidfile:
        return None
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None  # stale pidfile
    return pid


def reload_daemon(backend: str, control_socket: Optional[str], pidfile: Optional[str]) -> Tuple[bool, str]:
    """(reloaded, how). vipd: the control socket's `reload` (errors come back); else SIGHUP to the pidfile's PID."""
    if backend == "vipd" and control_socket and os.path.exists(control_socket):
        from .vrrp import cli  # late: only reload needs the control protocol
        try:
            reply = cli.control_request(control_socket, "reload")
        except (OSError, ValueError):
            reply = None  # a stale socket: fall back to the pidfile
        if reply is not None:
            if not reply.get("ok"):
                raise ReloadError("; ".join(reply.get("errors") or [reply.get("error") or "reload refused"]))
            return True, "control socket %s" % control_socket
    pid = _read_pid(pidfile)
    if pid is None:
        return False, "%s is not running (no control socket, no live pid in %s)" % (backend, pidfile)
    os.kill(pid, signal.SIGHUP)
    return True, "SIGHUP to pid %d" % pid
