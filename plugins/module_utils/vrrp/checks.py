# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health checks: keepalived's vrrp_script (exec) and vipd's built-in ICMP / TCP / HTTP(S) checks.

Three layers, each testable alone:
- pure: RiseFall (keepalived 2.2.7's result counter, vrrp_scheduler.c vrrp_script_child_thread) and
  weight_contribution() (vrrp_track.c process_script_update_priority, made stateless);
- probes (async, one attempt each, return a Result): run_script() runs argv without a shell in its own
  process group, kills the whole group at the timeout (TERM, then KILL as keepalived) and after a normal
  exit (no orphans); tcp_probe(), http_probe(), icmp_probe() are done natively in the asyncio loop;
- CheckRunner: runs one check every `interval` and reports status changes to a callback.

The `vipd_check NAME { ... }` block (a vipd extension, not keepalived) is registered with config.py
here; a vipd_check is usable from track_script like a vrrp_script. Script security as keepalived's
enable_script_security is a config validator: `vipd check` names the insecure path and why.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import ipaddress
import grp
import importlib
import os
import pwd
import signal
import socket
import stat
import struct
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, List, Optional

from .. import inet
from . import config
from ..inet import inet_checksum

TERM_GRACE = 2.0  # keepalived: SIGTERM at the timeout, SIGKILL 2 s later
HTTP_MAX_READ = 1 << 20
CHECK_TYPES = ("tcp", "http", "https", "icmp")
FAULT = "FAULT"


# ---------------------------------------------------------------- pure: rise / fall / weight

class RiseFall:
    """keepalived's vrrp_script result counter (0 .. rise+fall-1; OK while >= rise).

    status is None until the first result (keepalived's SCRIPT_INIT_STATE_INIT: one success or one
    failure decides), False from the start with init_fail. feed() returns True when status changed.
    """

    def __init__(self, rise: int = 1, fall: int = 1, init_fail: bool = False):
        self.rise = max(1, int(rise))
        self.fall = max(1, int(fall))
        self.init = not init_fail
        self.result = 0 if init_fail else self.rise - 1
        self.status: Optional[bool] = False if init_fail else None

    def feed(self, success: bool) -> bool:
        old = self.status
        top = self.rise + self.fall - 1
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            elif self.result != top:
                if self.result < self.rise:
                    self.status = True
                self.result = top
        else:
            if self.result > self.rise:
                self.result -= 1
            else:
                if self.result == self.rise or self.init:
                    self.status = False
                self.result = 0
        self.init = False
        return self.status != old


def weight_contribution(weight: int, reverse: bool, ok: Optional[bool]):
    """What one tracked object adds to the priority (keepalived semantics, stateless form).

    weight 0: a failure (a success with `reverse`) is FAULT, else 0. weight > 0: +weight while OK.
    weight < 0: +weight (a decrease) while failed. `reverse` flips the sign. Unknown (None): 0.
    """
    if ok is None:
        return 0
    mult = -1 if reverse else 1
    if weight == 0:
        return FAULT if ok != (mult == 1) else 0
    if weight > 0:
        return weight * mult if ok else 0
    return 0 if ok else weight * mult


def clamp_priority(base: int, total: int) -> int:
    """keepalived vrrp_set_effective_priority(): tracking never makes 255 or 0; the owner stays 255."""
    if base >= 255:
        return 255
    return max(1, min(254, base + total))


# ---------------------------------------------------------------- probes

@dataclass
class Result:
    ok: bool
    detail: str = ""


def _kill_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


async def run_script(argv: List[str], timeout: float, user: Optional[str] = None, group: Optional[str] = None,
                     reap: bool = True) -> Result:
    """One run of a check script: exit 0 = success; timeout or signal = failure; its group never outlives it.

    Nothing is executed that exec_refusal() refuses (a missing program, or one a non-root user could
    replace while it would run as root): the security check is repeated at every run, so a script that
    was absent or safe at load time and is replaced later by an unprivileged user is not run as root.
    """
    kwargs = {}
    if user:
        kwargs["user"] = user
        try:
            kwargs["group"] = group or pwd.getpwnam(user).pw_gid
            kwargs["extra_groups"] = [kwargs["group"]]  # keepalived set_script_env(): setgroups(1, &gid), not root's groups
        except (KeyError, ValueError):
            return Result(False, "cannot start %s: unknown user %s" % (_shown(argv), inet.safe_repr(user)))
    path, refusal = exec_refusal(argv, user, group)
    if refusal:
        return Result(False, "cannot start %s: %s" % (_shown(argv), refusal))
    argv = [path] + list(argv[1:])  # exec exactly what was checked (no second PATH search)
    try:
        # start_new_session: the script leads its own process group, so one killpg() reaches its children.
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL, start_new_session=True, **kwargs)
    except (OSError, KeyError, ValueError) as exc:
        return Result(False, "cannot start %s: %s" % (_shown(argv), exc))
    pgid = proc.pid
    try:
        code = await asyncio.wait_for(proc.wait(), timeout)
    except asyncio.TimeoutError:
        _kill_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), TERM_GRACE)
        except asyncio.TimeoutError:
            _kill_group(pgid, signal.SIGKILL)
            await proc.wait()
        _kill_group(pgid, signal.SIGKILL)
        return Result(False, "timed out after %gs (process group killed)" % timeout)
    except asyncio.CancelledError:
        _kill_group(pgid, signal.SIGKILL)
        raise
    # Whatever it left running in the background goes too: a check must not accumulate orphans.
    # (reap=False: keepalived's startup/shutdown scripts may leave processes behind on purpose.)
    if reap:
        _kill_group(pgid, signal.SIGKILL)
    if code == 0:
        return Result(True, "exit 0")
    if code < 0:
        return Result(False, "killed by signal %d" % -code)
    return Result(False, "exit %d" % code)


async def tcp_probe(host: str, port: int, timeout: float) -> Result:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except asyncio.TimeoutError:
        return Result(False, "tcp %s:%d: no answer within %gs" % (host, port, timeout))
    except OSError as exc:
        return Result(False, "tcp %s:%d: %s" % (host, port, exc.strerror or exc))
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (asyncio.TimeoutError, OSError):
        pass
    return Result(True, "tcp %s:%d: connected" % (host, port))


def _host_header(host: str, port: int, default_port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            host = "[%s]" % host
    except ValueError:
        pass
    return host if port == default_port else "%s:%d" % (host, port)


def ssl_module():
    """ssl, imported on the first https check only (it maps OpenSSL: about 4.5 MB of RSS).

    The daemon imports asyncio with ssl held back (cli.import_asyncio_without_ssl), so asyncio's own
    modules saw `ssl = None`; they get the real module here, before the first TLS connection.
    """
    import ssl
    for name, module in sorted(sys.modules.items()):
        if name.startswith("asyncio.") and module is not None and getattr(module, "ssl", ssl) is None:
            if name == "asyncio.sslproto":
                # it defines names from ssl at import time (SSLAgainErrors...): run it again, now with ssl;
                # selector_events and base_events look SSLProtocol up on the module at each use
                importlib.reload(module)
            else:
                module.ssl = ssl
    return ssl


async def _http_exchange(host, port, path, tls, tls_verify, server_name):
    context = None
    if tls:
        ssl = ssl_module()
        context = ssl.create_default_context()
        if not tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=(server_name or host) if tls else None)
    try:
        request = "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vipd-check\r\nConnection: close\r\n\r\n" % (
            path, _host_header(server_name or host, port, 443 if tls else 80))
        writer.write(request.encode("latin-1"))
        await writer.drain()
        data = b""
        while len(data) < HTTP_MAX_READ:
            chunk = await reader.read(65536)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        writer.close()


async def http_probe(host: str, port: int, path: str = "/", timeout: float = 2.0, tls: bool = False, tls_verify: bool = True,
                     expect_status: int = 200, expect_body: Optional[str] = None, server_name: Optional[str] = None) -> Result:
    scheme = "https" if tls else "http"
    where = "%s://%s:%d%s" % (scheme, host, port, path)
    try:
        data = await asyncio.wait_for(_http_exchange(host, port, path, tls, tls_verify, server_name), timeout)
    except asyncio.TimeoutError:
        return Result(False, "%s: no complete answer within %gs" % (where, timeout))
    except OSError as exc:
        if tls and isinstance(exc, ssl_module().SSLError):
            return Result(False, "%s: TLS: %s" % (where, exc.reason or exc))
        return Result(False, "%s: %s" % (where, exc.strerror or exc))
    head, _sep, body = data.partition(b"\r\n\r\n")
    words = head.split(b"\r\n", 1)[0].split()
    if len(words) < 2 or not words[0].startswith(b"HTTP/") or not words[1].isdigit():
        return Result(False, "%s: not an HTTP answer" % where)
    status = int(words[1])
    if status != expect_status:
        return Result(False, "%s: status %d, expected %d" % (where, status, expect_status))
    if expect_body and expect_body.encode("utf-8") not in body:
        return Result(False, "%s: body lacks %r" % (where, expect_body))
    return Result(True, "%s: status %d" % (where, status))


_ICMP_SEQ = [0]


def echo_request(ident: int, seq: int, family: int = 4, payload: bytes = b"vipd-check") -> bytes:
    """ICMP (type 8) or ICMPv6 (type 128) echo request; the kernel fills the ICMPv6 checksum."""
    kind = 8 if family == 4 else 128
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    if family == 6:
        return header + payload
    return struct.pack("!BBHHH", kind, 0, inet_checksum(header + payload), ident, seq) + payload


def parse_echo_reply(data: bytes, family: int = 4):
    """(ident, seq) of an echo reply, or None. IPv4 raw sockets deliver the IP header too."""
    if family == 4:
        if len(data) < 20:
            return None
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < 8:
        return None
    kind, _code, _sum, ident, seq = struct.unpack("!BBHHH", data[:8])
    if kind != (0 if family == 4 else 129):
        return None
    return ident, seq


async def icmp_probe(host: str, timeout: float) -> Result:
    """One echo request over a raw socket (CAP_NET_RAW, which vipd has anyway); any matching reply is OK."""
    try:
        family = ipaddress.ip_address(host).version
    except ValueError:
        return Result(False, "icmp: '%s' is not an IP address" % host)
    af, proto = (socket.AF_INET, socket.IPPROTO_ICMP) if family == 4 else (socket.AF_INET6, socket.IPPROTO_ICMPV6)
    try:
        sock = socket.socket(af, socket.SOCK_RAW, proto)
    except OSError as exc:
        return Result(False, "icmp: raw socket: %s" % (exc.strerror or exc))
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    ident = (os.getpid() ^ id(done)) & 0xFFFF
    _ICMP_SEQ[0] = (_ICMP_SEQ[0] + 1) & 0xFFFF
    seq = _ICMP_SEQ[0]

    def readable():
        while True:
            try:
                data, src = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if not done.done():
                    done.set_exception(exc)
                return
            if parse_echo_reply(data, family) == (ident, seq) and ipaddress.ip_address(src[0].split("%")[0]) == \
                    ipaddress.ip_address(host) and not done.done():
                done.set_result(True)

    try:
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), readable)
        try:
            sock.sendto(echo_request(ident, seq, family), (host, 0))
            await asyncio.wait_for(done, timeout)
            return Result(True, "icmp %s: echo reply" % host)
        except asyncio.TimeoutError:
            return Result(False, "icmp %s: no echo reply within %gs" % (host, timeout))
        except OSError as exc:
            return Result(False, "icmp %s: %s" % (host, exc.strerror or exc))
        finally:
            loop.remove_reader(sock.fileno())
    finally:
        sock.close()


# ---------------------------------------------------------------- the vipd_check extension block

@dataclass
class BuiltinCheck:
    """`vipd_check NAME { ... }` (vipd only): an ICMP / TCP / HTTP(S) check usable from track_script."""

    name: str
    type: str = "tcp"
    host: str = ""
    port: Optional[int] = None
    path: str = "/"
    expect_status: int = 200
    expect_body: Optional[str] = None
    tls_verify: bool = True
    server_name: Optional[str] = None
    interval: float = 1.0
    timeout: Optional[float] = None
    rise: int = 1
    fall: int = 1
    weight: int = 0
    weight_reverse: bool = False
    init_fail: bool = False

    @property
    def effective_port(self) -> int:
        return self.port or {"http": 80, "https": 443}.get(self.type, 0)

    def describe(self) -> str:
        if self.type == "icmp":
            return "icmp %s" % self.host
        if self.type == "tcp":
            return "tcp %s:%d" % (self.host, self.effective_port)
        return "%s://%s:%d%s" % (self.type, self.host, self.effective_port, self.path)


BUILTIN_PREFIX = "vipd_check:"  # the VrrpScript.script of a built-in check (never executed)
EXT_KEY = "vipd_check"


def builtins_of(cfg) -> dict:
    return (getattr(cfg, "extensions", None) or {}).get(EXT_KEY, {})


def _seconds(ctx, child, lo, hi):
    value = ctx.decimal(child, Decimal(lo), Decimal(hi))
    return float(value) if value is not None else None


def _vipd_check_block(ctx, node):
    if len(node.args) != 1:
        ctx.error(node, "vipd_check needs exactly one name")
        return
    if not ctx.need_block(node):
        return
    name = node.args[0].value
    chk = BuiltinCheck(name=name)
    ok = True
    seen = set()
    for child in node.children:
        k = child.keyword
        seen.add(k)
        if k == "type":
            value = ctx.one(child)
            if value in CHECK_TYPES:
                chk.type = value
            else:
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check type '%s' is not valid: must be one of %s" % (value, ", ".join(CHECK_TYPES)))
        elif k == "host":
            value = ctx.one(child)
            if value is None or not value.replace("-", "").replace(".", "").replace(":", "").replace("_", "").isalnum():
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check host '%s' is not an address or host name" % value)
            else:
                chk.host = value
        elif k == "port":
            value = ctx.integer(child, 1, 65535)
            ok = ok and value is not None
            chk.port = value
        elif k == "path":
            value = ctx.one(child)
            if value is None or not value.startswith("/") or any(c in value for c in " \r\n"):
                ok = False
                if value is not None:
                    ctx.error(child, "vipd_check path '%s' must start with '/' and hold no spaces" % value)
            else:
                chk.path = value
        elif k == "expect_status":
            value = ctx.integer(child, 100, 599)
            ok = ok and value is not None
            chk.expect_status = value or 200
        elif k == "expect_body":
            chk.expect_body = ctx.one(child)
        elif k == "tls_verify":
            value = ctx.boolean(child)
            ok = ok and value is not None
            chk.tls_verify = bool(value)
        elif k == "server_name":
            chk.server_name = ctx.one(child)
        elif k in ("interval", "timeout"):
            value = _seconds(ctx, child, "0.01", "3600")
            ok = ok and value is not None
            setattr(chk, k, value if value is not None else 1.0)
        elif k in ("rise", "fall"):
            value = ctx.integer(child, 1, 2 ** 31 - 1)
            ok = ok and value is not None
            setattr(chk, k, value or 1)
        elif k == "weight":
            values = child.values
            if not values or len(values) > 2 or (len(values) == 2 and values[1] != "reverse"):
                ctx.error(child, "weight takes N [reverse]")
                ok = False
            else:
                value = ctx.integer(child, -253, 253, text=values[0], name="vipd_check weight")
                ok = ok and value is not None
                chk.weight, chk.weight_reverse = value or 0, len(values) == 2
        elif k == "init_fail":
            chk.init_fail = ctx.flag(child)
        else:
            ctx.unknown(child, "vipd_check")
            ok = False
    if "type" not in seen:
        ctx.error(node, "vipd_check %s has no 'type' (%s)" % (name, ", ".join(CHECK_TYPES)))
        ok = False
    if "host" not in seen:
        ctx.error(node, "vipd_check %s has no 'host'" % name)
        ok = False
    if chk.type == "tcp" and chk.port is None and "type" in seen:
        ctx.error(node, "vipd_check %s of type tcp needs a 'port'" % name)
        ok = False
    if chk.type == "icmp" and chk.host:
        try:
            ipaddress.ip_address(chk.host)
        except ValueError:
            ctx.error(node, "vipd_check %s of type icmp needs an IP address as host, not '%s'" % (name, chk.host))
            ok = False
    if chk.type not in ("http", "https"):
        for k in ("path", "expect_status", "expect_body", "tls_verify", "server_name"):
            if k in seen:
                ctx.warning(node, "vipd_check %s: '%s' has no effect with type %s" % (name, k, chk.type))
    if chk.timeout is None:
        chk.timeout = chk.interval  # keepalived's vrrp_script default
    if name in ctx.config.scripts:
        ctx.error(node, "vipd_check %s: a vrrp_script or vipd_check of that name is already defined" % name)
        return
    if not ok:
        return
    # Registered as a script too, so track_script finds it and the sync-group weight rules apply alike.
    ctx.config.scripts[name] = config.VrrpScript(name=name, script=BUILTIN_PREFIX + chk.type, interval=chk.interval, timeout=chk.timeout,
                                                 weight=chk.weight, weight_reverse=chk.weight_reverse, rise=chk.rise, fall=chk.fall,
                                                 init_fail=chk.init_fail, source=(node.file, node.line))
    ctx.config.extensions.setdefault(EXT_KEY, {})[name] = chk


# ---------------------------------------------------------------- script security (enable_script_security)

def resolve_program(program: str) -> Optional[str]:
    """The file `program` names: as written when it holds a '/', else the first executable found in PATH."""
    if "/" in program:
        return program
    for folder in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        try:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        except ValueError:
            return None
    return None


def _components(path: str) -> List[str]:
    """"/", "/a", "/a/b", ... up to `path` (made absolute, components kept as written)."""
    if not path.startswith("/"):
        path = os.path.join(os.getcwd(), path)
    out = ["/"]
    current = ""
    for part in path.split("/"):
        if part in ("", "."):
            continue
        current += "/" + part
        out.append(current)
    return out


def _insecure(path: str, directory: bool = False) -> Optional[tuple]:
    """(component, problem) making `path` unsafe to run as root, or None (keepalived 2.2.7 notify.c
    check_security(), applied to the path as written and to the path resolved).

    Each component is lstat()ed: it must exist; the last must be a regular file (or a symlink, then
    checked through the resolved path), the others directories (or symlinks); each must be owned by root;
    a regular file or a directory without the sticky bit must be writable neither by a non-root group
    nor by everybody.
    """
    try:
        resolved = os.path.realpath(path)
    except (OSError, ValueError):
        return path, "cannot be resolved"
    for walk in (_components(path), _components(resolved)):
        # The file itself first (the likeliest culprit), then the directories from "/" down.
        for part in [walk[-1]] + walk[:-1]:
            last = part == walk[-1]
            try:
                st = os.lstat(part)
            except (OSError, ValueError) as exc:
                return part, "is not found or not accessible (%s)" % (getattr(exc, "strerror", None) or "invalid name")
            mode = st.st_mode
            if last and not directory and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                return part, "is not a regular file"
            if (not last or directory) and not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                return part, "is not a directory"
            if st.st_uid != 0:
                return part, "is owned by uid %d, not root" % st.st_uid
            if stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX):
                if st.st_gid != 0 and mode & stat.S_IWGRP:
                    return part, "is writable by group %s" % _group_name(st.st_gid)
                if mode & stat.S_IWOTH:
                    return part, "is writable by every user"
    return None


def _creatable(path: str) -> Optional[tuple]:
    """For a missing `path`: _insecure() of its nearest existing directory (who could create it), or None."""
    if "/" not in path:
        return None  # a bare name not found in PATH: PATH directories are checked when it appears
    folder = os.path.dirname(os.path.join(os.getcwd(), path))
    for _i in range(256):
        try:
            if os.path.isdir(folder):
                return _insecure(folder, directory=True)
        except ValueError:
            return None
        if folder == os.path.dirname(folder):
            return None
        folder = os.path.dirname(folder)
    return None


def insecure_reason(path: str) -> Optional[str]:
    """Why running `path` as root is unsafe (keepalived notify.c check_script_secure), or None.

    The file and every directory above it (as written and as resolved) must be owned by root and
    writable neither by a non-root group nor by others: otherwise a non-root user could replace what
    root executes. A missing file is unsafe too: whoever may create it decides what root runs.
    """
    found = _insecure(path)
    return None if found is None else "%s %s" % found


def runs_as_root(path: str, user: Optional[str] = None, group=None) -> bool:
    """keepalived's need_script_protection: the script runs with uid or gid 0, or is set-uid/gid root."""
    try:
        if user:
            pw = pwd.getpwnam(user)
            uid, gid = pw.pw_uid, pw.pw_gid
        else:
            uid, gid = os.geteuid(), os.getegid()
        if isinstance(group, int):
            gid = group
        elif group:
            gid = grp.getgrnam(group).gr_gid
    except (KeyError, ValueError):
        return True  # unknown: assume the worst
    if uid == 0 or gid == 0:
        return True
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return bool((st.st_uid == 0 and st.st_mode & stat.S_ISUID and st.st_mode & stat.S_IXUSR)
                or (st.st_gid == 0 and st.st_mode & stat.S_ISGID and st.st_mode & stat.S_IXGRP))


def exec_refusal(argv: List[str], user: Optional[str] = None, group=None):
    """(path to exec, None) when argv may run now, else (None, reason). Checked right before every exec.

    Refused: an empty command, a program not found (keepalived disables such a script), and a program
    that would run as root although a non-root user could replace it (keepalived disables it under
    enable_script_security and otherwise logs a SECURITY VIOLATION and runs it: vipd never runs it).
    """
    if not argv or not argv[0]:
        return None, "empty command"
    path = resolve_program(argv[0])
    if path is None:
        return None, "not found in PATH"
    try:
        if not os.path.isfile(path):
            return None, "not found or not a regular file"
    except ValueError:
        return None, "invalid file name"
    if runs_as_root(path, user, group):
        found = _insecure(path)
        if found is not None:
            return None, "unsafe to run as root: %s %s" % (inet.safe_repr(found[0], 4096), found[1])
    return path, None


def _shown(argv) -> str:
    return inet.safe_repr(argv[0], 4096) if argv else "''"


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _script_commands(cfg):
    """(command, (file, line), what, user) of every script the config would run."""
    out = []
    g = cfg.global_defs
    for s in cfg.scripts.values():
        if not s.script.startswith(BUILTIN_PREFIX):
            out.append((s.script, s.source, ("vrrp_script", s.name), s.user or g.script_user))
    for owner, kind in [(i, "vrrp_instance") for i in cfg.instances.values()] + [(sg, "vrrp_sync_group") for sg in cfg.sync_groups.values()]:
        for key in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_master_rx_lower_pri"):
            cmd = getattr(owner, key, None)
            if cmd:
                # `notify_* SCRIPT USER [GROUP]` runs as USER (keepalived notify_script_init)
                users = (getattr(owner, "notify_users", None) or {}).get(key) or [g.script_user]
                out.append((cmd, owner.source, (kind, owner.name, key), users[0]))
        if getattr(owner, "notify_deleted_script", None):
            users = (getattr(owner, "notify_users", None) or {}).get("notify_deleted") or [g.script_user]
            out.append((owner.notify_deleted_script, owner.source, (kind, owner.name, "notify_deleted"), users[0]))
    for key in ("startup_script", "shutdown_script"):
        if getattr(g, key, None):
            users = (g.notify_users or {}).get(key) or [g.script_user]
            out.append((getattr(g, key), getattr(g, "sources", {}).get(key, ("", 0)), ("global_defs", key), users[0]))
    return out


def validate_scripts(ctx):
    """Config validator (keepalived's check_vrrp_script_security at load).

    A script that is missing, or would run as root although a non-root user could replace it, is
    disabled by keepalived: with enable_script_security it is an error here (the config is refused),
    without it a warning. In both cases the daemon never executes it (exec_refusal() at each run).
    Names and paths are shown only when they come from the main file (ctx.show).
    """
    cfg = ctx.config
    secure = cfg.global_defs.enable_script_security
    report = ctx.error if secure else ctx.warning
    for cmd, source, what, user in _script_commands(cfg):
        where = _Where(*source) if source[0] else _Where(ctx.src.main or "", 0)  # global_defs scripts: the main file
        # keepalived -t passes a missing or unsafe startup/shutdown script (it only does not run it): a warning
        strict = secure and what[0] != "global_defs"
        what = " ".join([what[0], ctx.show(where, what[1], True)] + list(what[2:]))
        try:
            argv = config.split_command(cmd)
        except ValueError as exc:
            ctx.error(where, "%s: cannot split the command: %s" % (what, exc))
            continue
        if not argv or not argv[0]:
            ctx.error(where, "%s: empty command" % what)
            continue
        if user and user != "root":
            try:
                pwd.getpwnam(user)
            except (KeyError, ValueError):
                ctx.error(where, "%s: script user %s does not exist" % (what, ctx.show(where, user)))
                continue
        if argv[0].startswith("<"):
            continue  # keepalived's "</file" form only tests that a file can be opened
        path = resolve_program(argv[0])
        try:
            missing = path is None or not os.path.lexists(path)
        except ValueError:
            missing = True
        if missing:
            # keepalived disables a missing script (until a reload). Dangerous when a non-root user may
            # create it later: say so even without enable_script_security; vipd never runs it as root.
            if strict:
                ctx.error(where, "%s: script %s is not found: disabled (as keepalived)" % (what, ctx.show(where, argv[0], True)))
            elif secure:
                ctx.warning(where, "%s: script %s is not found: it will not run (keepalived -t passes it too)"
                            % (what, ctx.show(where, argv[0], True)))
            else:
                found = _creatable(path or argv[0])
                if found is not None:
                    ctx.warning(where, "%s: script %s is not found and %s %s, so a non-root user could create it: "
                                "vipd never runs it as root" % (what, ctx.show(where, argv[0], True), ctx.show(where, found[0], True), found[1]))
            continue
        if not runs_as_root(path, user if user != "root" else None):
            continue  # keepalived only guards what runs as root
        found = _insecure(path)
        if found is None:
            continue
        part, problem = ctx.show(where, found[0], True), found[1]
        if strict:
            ctx.error(where, "%s: unsafe script %s refused by enable_script_security: %s %s" % (what, ctx.show(where, path, True), part, problem))
        else:
            ctx.warning(where, "%s: unsafe permissions on script %s: %s %s (enable_script_security would refuse it; vipd never runs it as root)"
                        % (what, ctx.show(where, path, True), part, problem))


@dataclass
class _Where:
    file: str
    line: int


config.register_block(EXT_KEY, _vipd_check_block)
config.register_validator(validate_scripts)


# ---------------------------------------------------------------- runner

class CheckRunner:
    """Runs one check (a vrrp_script or a vipd_check) every `interval`; reports status changes.

    `on_change(name, status, detail)` is called with True/False when RiseFall's status flips.
    """

    def __init__(self, script, builtin: Optional[BuiltinCheck], on_change: Callable[[str, bool, str], None], user: Optional[str] = None,
                 group: Optional[str] = None, log=None):
        self.name = script.name
        self.script = script
        self.builtin = builtin
        self.interval = float(script.interval)
        self.timeout = float(script.timeout if script.timeout is not None else script.interval)
        self.state = RiseFall(script.rise, script.fall, script.init_fail)
        self.on_change = on_change
        self.user = script.user or user
        self.group = script.group if script.user else group
        self.log = log
        self.task: Optional[asyncio.Task] = None
        self.last: Optional[Result] = None
        self.runs = 0
        self.failures = 0

    @property
    def status(self) -> Optional[bool]:
        return self.state.status

    def start(self, loop) -> None:
        if self.task is None:
            self.task = loop.create_task(self._loop())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def probe(self) -> Result:
        b = self.builtin
        if b is None:
            try:
                argv = config.split_command(self.script.script)
            except ValueError as exc:
                return Result(False, "cannot split %r: %s" % (self.script.script, exc))
            return await run_script(argv, self.timeout, user=self.user if self.user != "root" else None, group=self.group)
        if b.type == "tcp":
            return await tcp_probe(b.host, b.effective_port, self.timeout)
        if b.type == "icmp":
            return await icmp_probe(b.host, self.timeout)
        return await http_probe(b.host, b.effective_port, b.path, self.timeout, tls=b.type == "https", tls_verify=b.tls_verify,
                                expect_status=b.expect_status, expect_body=b.expect_body, server_name=b.server_name)

    def feed(self, result: Result) -> None:
        self.last = result
        self.runs += 1
        if not result.ok:
            self.failures += 1
        if self.state.feed(result.ok):
            self.on_change(self.name, bool(self.state.status), result.detail)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                result = await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a probe bug must not stop tracking: count it as a failure
                result = Result(False, "check error: %r" % (exc,))
            self.feed(result)
            delay = started + self.interval - loop.time()
            await asyncio.sleep(max(0.0, delay))

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.builtin.describe() if self.builtin else "script",
                "status": {None: "unknown", True: "ok", False: "failed"}[self.status], "runs": self.runs, "failures": self.failures,
                "last": self.last.detail if self.last else None}


__all__ = ["RiseFall", "weight_contribution", "clamp_priority", "Result", "run_script", "tcp_probe", "http_probe", "icmp_probe",
           "BuiltinCheck", "CheckRunner", "insecure_reason", "validate_scripts", "builtins_of", "FAULT"]
