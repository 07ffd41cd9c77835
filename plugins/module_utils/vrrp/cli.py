# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of vipd: run | check | status | reload | resign | maintenance.

Imported by the launcher (roles/vrrp/files/vipd) as ``vipd_engine.vrrp.cli``;
only the standard library and the engine's own modules are used here.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import argparse
import json
import os
import socket
import sys

from typing import Optional

from .. import inet
from . import config, config_syntax, paths, script_security

CONTROL_TIMEOUT = 10.0
EXIT_MISSING_DEPENDENCY = 3


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized as shutil.get_terminal_size() would size it: argparse imports shutil for
    that, and shutil brings bz2 and lzma (0.6 MB of the daemon's RSS, issue 11)."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            try:
                width = int(os.environ.get("COLUMNS", "0"))
            except ValueError:
                width = 0
            if width <= 0:
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()).columns
                except (AttributeError, ValueError, OSError):
                    width = 0
            width = (width or 80) - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)  # sub-commands are built with this class too
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vipd", description="VRRP responder for floating VIPs (keepalived-compatible configuration)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run the responder in the foreground")
    run.add_argument("-f", "--config", "--use-file", dest="config", required=True, metavar="FILE", help="keepalived-syntax configuration")
    run.add_argument("--pidfile", default=paths.PIDFILE, metavar="PATH")
    run.add_argument("--control-socket", default=paths.CONTROL_SOCKET, metavar="PATH")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--metrics-listen", metavar="ADDR:PORT",
                     help="serve Prometheus metrics on http://ADDR:PORT/metrics (an IP literal; loopback unless --metrics-allow-remote)")
    run.add_argument("--metrics-allow-remote", action="store_true", help="allow a --metrics-listen address that is not loopback")
    run.add_argument("--state-dir", default=paths.STATE_DIR, metavar="DIR",
                     help="where state that outlives a restart is kept (maintenance.json); default %(default)s")

    check = sub.add_parser("check", help="validate a configuration (like keepalived -t) and that this host can run it")
    check.add_argument("-f", "--config", "--use-file", dest="config", required=True, metavar="FILE")
    check.add_argument("--syntax-only", action="store_true",
                       help="check the configuration only, not this host's dependencies (e.g. on a controller without pyroute2)")
    check.add_argument("--runnable", action="store_true",
                       help="exit 0 when `vipd run` runs the configuration as keepalived's daemon would: warnings that make "
                            "`keepalived -t` fail (and that both daemons fix up at start) are shown but do not fail "
                            "(for a live keepalived file being migrated)")
    for cmd in (run, check):
        cmd.add_argument("-i", "--config-id", metavar="ID",
                         help="the system id of `@ID` / `@^ID` configuration lines (keepalived -i; default: the host name up to its first '.')")

    status = sub.add_parser("status", help="show the live state of a running vipd")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--control-socket", default=paths.CONTROL_SOCKET, metavar="PATH")

    for name, text in (("reload", "reload the configuration (as SIGHUP)"), ("resign", "resign every instance and exit (as SIGTERM)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--control-socket", default=paths.CONTROL_SOCKET, metavar="PATH")

    maint = sub.add_parser("maintenance", help="hand over and stay BACKUP (on) until off; kept across reloads and restarts")
    maint.add_argument("state", choices=["on", "off"])
    maint.add_argument("instances", nargs="*", metavar="INSTANCE")
    maint.add_argument("--all", action="store_true", help="every instance, also ones a later reload adds")
    maint.add_argument("--json", action="store_true", help="machine-readable output")
    maint.add_argument("--control-socket", default=paths.CONTROL_SOCKET, metavar="PATH")
    return parser


def missing_dependency() -> Optional[str]:
    """One line naming what `vipd run` cannot work without on this host, or None when nothing is missing."""
    try:
        from .. import addresses
        has, error = addresses.HAS_PYROUTE2, addresses.PYROUTE2_IMPORT_ERROR
    except ImportError as exc:  # pragma: no cover - the module itself guards the import
        has, error = False, exc
    if has:
        return None
    reason = inet.safe_repr(str(error)) if error is not None else "not importable"
    return ("vipd: missing dependency pyroute2 (%s; Python %s at %s): install it with `apt install python3-pyroute2` "
            "or `pip install pyroute2`" % (reason, ".".join(str(v) for v in sys.version_info[:3]), sys.executable or "python"))


def cmd_check(path: str, syntax_only: bool = False, runnable: bool = False) -> int:
    """Exit 0 when valid (warnings printed), 1 with every error as FILE:LINE: reason.

    Unless syntax_only, a missing runtime dependency (pyroute2) is an error too: a host where `vipd run`
    would refuse to start does not pass `vipd check`. With runnable, only what `vipd run` refuses fails."""
    status = _check_config(path, runnable)
    if not syntax_only:
        missing = missing_dependency()
        if missing:
            sys.stderr.write(missing + "\n")
            status = 1
    return status


def _check_config(path: str, runnable: bool = False) -> int:
    """0 when valid; 1 on an error, or on a warning that `keepalived -t` also fails on (Message.check_fails:
    something keepalived reports and fixes up at run time, as `vipd run` does)."""
    try:
        cfg = script_security.load(path)  # with the host checks of its scripts
    except config.ConfigError as exc:
        messages = list(exc.messages) or [config.Message(path, 0, str(exc), "error")]
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write("%s:0: cannot read: %s\n" % (path, exc))
        return 1
    else:
        messages = list(getattr(cfg, "warnings", None) or [])
    for message in messages:
        sys.stderr.write("%s\n" % _message_text(message))
    fixups = [m for m in messages if getattr(m, "level", "error") != "error" and getattr(m, "check_fails", False)]
    if fixups and runnable:
        sys.stderr.write("vipd check: %d warning(s) above make `keepalived -t` fail; vipd run fixes them up at start, as "
                         "keepalived's daemon does (--runnable)\n" % len(fixups))
        fixups = []
    elif fixups:
        sys.stderr.write("vipd check: %d warning(s) above make `keepalived -t` fail as well; vipd run fixes them up at start, "
                         "as keepalived does\n" % len(fixups))
    return 1 if fixups or any(getattr(m, "level", "error") == "error" for m in messages) else 0


def _message_text(message) -> str:
    # str(Message) is already "FILE:LINE: reason" (warnings carry their level in the reason text).
    return str(message)


def control_request(path: str, command: str, timeout: float = CONTROL_TIMEOUT, arguments: Optional[dict] = None) -> dict:
    """One JSON request, one JSON reply over the daemon's AF_UNIX stream socket (arguments: flat, see control.py)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(json.dumps(dict(arguments or {}, command=command)).encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    return json.loads(b"".join(chunks).decode() or "{}")


def _control(path: str, command: str, arguments: Optional[dict] = None):
    try:
        return control_request(path, command, arguments=arguments)
    except (OSError, ValueError) as exc:
        sys.stderr.write("vipd: cannot reach the daemon at %s: %s\n" % (path, exc))
        return None


def format_status(reply: dict) -> str:
    """A fixed-width table, one line per instance."""
    header = ("INSTANCE", "IFACE", "VRID", "STATE", "PRIO", "EFF", "MASTER", "VIPS", "IN", "OUT", "DROPS", "TRANS", "LAST TRANSITION")
    rows = [header]
    for inst in reply.get("instances", []):
        counters = inst.get("counters", {})
        drops = sum((counters.get("drops") or {}).values())
        last = inst.get("last_transition") or {}
        last_text = "%s %s->%s (%s)" % (last.get("time", ""), last.get("old", ""), last.get("new", ""), last.get("reason", "")) if last else "-"
        rows.append((
            inst.get("name", ""), inst.get("interface", ""), str(inst.get("vrid", "")), inst.get("state", ""),
            str(inst.get("priority", "")), str(inst.get("effective_priority", "")), inst.get("master") or "-",
            ",".join(inst.get("vips_held", [])) or "-", str(counters.get("adverts_in", 0)), str(counters.get("adverts_out", 0)),
            str(drops), str(counters.get("transitions", 0)), last_text,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    in_maintenance = [inst.get("name", "") for inst in reply.get("instances", []) if inst.get("maintenance")]
    if in_maintenance:
        lines.append("maintenance (never takes over until `vipd maintenance off`): %s" % ", ".join(in_maintenance))
    error = (reply.get("maintenance") or {}).get("error")
    if error:
        lines.append("maintenance file ignored: %s" % error)
    return "\n".join(lines + conflict_lines(reply))


def conflict_lines(reply: dict) -> list:
    """One line per VRID conflict (conflicts.py) under the table; nothing when there is none."""
    lines = []
    for inst in reply.get("instances", []):
        for item in inst.get("conflicts") or []:
            lines.append("CONFLICT %s vrid %s: %s differs in %s (%s advert(s), last %s)" % (
                inst.get("name", ""), inst.get("vrid", ""), item.get("source", "?"), ",".join(item.get("differs") or []),
                item.get("count", 0), item.get("last_seen", "?")))
    return ([""] + lines) if lines else []


def maintenance_arguments(args) -> Optional[dict]:
    """The control request of `vipd maintenance`; None (and a message) when the command line asks for nothing."""
    if bool(args.all) == bool(args.instances):
        sys.stderr.write("vipd maintenance: name the instances or give --all (not both)\n")
        return None
    return {"state": args.state, "all": True} if args.all else {"state": args.state, "instances": " ".join(args.instances)}


def format_maintenance(reply: dict) -> str:
    names = reply.get("changed") or []
    lines = ["maintenance %s: %s" % (reply.get("state"), ("changed " + ", ".join(names)) if names else "nothing to change")]
    for name, inst in sorted((reply.get("instances") or {}).items()):
        lines.append("  %s: %s%s" % (name, inst.get("state"), " (maintenance)" if inst.get("maintenance") else ""))
    return "\n".join(lines)


def sd_notify(message: str) -> bool:
    """systemd readiness without libsystemd: one datagram to $NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        sock.sendall(message.encode())
        return True
    except OSError:
        return False
    finally:
        sock.close()


def import_asyncio_without_ssl() -> None:
    """Import asyncio with ssl held back: asyncio imports it for TLS transports that only an https
    vipd_check uses, and ssl maps OpenSSL (about 4.5 MB of RSS). probes.ssl_module() imports ssl and
    hands it to asyncio's modules on the first https check. If this Python's asyncio insists on ssl,
    it is imported as usual."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # makes `import ssl` raise ImportError
    try:
        import asyncio  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        pass
    finally:
        if sys.modules.get("ssl", 0) is None:
            del sys.modules["ssl"]
    if "asyncio" not in sys.modules:
        import asyncio  # noqa: F401,F811  pylint: disable=unused-import,reimported


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "config_id", None) is not None:
        config_syntax.CONFIG_ID = args.config_id
    if args.command == "check":
        return cmd_check(args.config, syntax_only=args.syntax_only, runnable=args.runnable)
    if args.command == "run":
        missing = missing_dependency()
        if missing:
            # Refuse to start: without netlink the daemon could only sit in FAULT forever.
            sys.stderr.write(missing + "\n")
            return EXIT_MISSING_DEPENDENCY
        import_asyncio_without_ssl()  # before metrics_http, which imports asyncio too
        metrics_listen = None
        if args.metrics_listen is not None:
            from . import metrics_http
            try:
                metrics_listen = metrics_http.parse_listen(args.metrics_listen, allow_remote=args.metrics_allow_remote)
            except metrics_http.ListenError as exc:
                sys.stderr.write("vipd: --metrics-listen %s\n" % exc)
                return 2
        from . import daemon  # imported late: `check` and `status` need no pyroute2
        return daemon.run(args.config, pidfile=args.pidfile, control_socket=args.control_socket, log_level=args.log_level,
                          on_ready=lambda: sd_notify("READY=1"), metrics_listen=metrics_listen, state_dir=args.state_dir)
    arguments = None
    if args.command == "maintenance":
        arguments = maintenance_arguments(args)
        if arguments is None:
            return 2
    reply = _control(args.control_socket, args.command, arguments)
    if reply is None:
        return 2
    if args.command == "status":
        if not args.json and reply.get("ok") is False:  # refused by the control socket (control.py): say why
            sys.stderr.write("vipd: status failed: %s\n" % inet.safe_repr(str(reply.get("error", "unknown error")), 300))
            return 1
        sys.stdout.write((json.dumps(reply, indent=2, sort_keys=True) if args.json else format_status(reply)) + "\n")
        return 0 if reply.get("ok", True) else 1
    if not reply.get("ok"):
        sys.stderr.write("vipd: %s failed: %s\n" % (args.command, "; ".join(reply.get("errors", [])) or reply.get("error", "unknown error")))
        return 1
    if args.command == "maintenance":
        sys.stdout.write((json.dumps(reply, indent=2, sort_keys=True) if args.json else format_maintenance(reply)) + "\n")
        return 0
    sys.stdout.write("%s: ok\n" % args.command)
    return 0
