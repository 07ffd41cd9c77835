# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's control socket: one JSON request in, one JSON reply out, over an AF_UNIX stream socket.

Protocol: the client sends one flat JSON object, `{"command": NAME, ...arguments}`, at most
MAX_REQUEST bytes, ended by a newline (or by closing its sending side). The server answers every
connection with exactly one JSON object on one line, then closes it: the command's reply, or
`{"ok": false, "code": CODE, "error": MESSAGE}` for a request it refuses (see ERROR_CODES).

What a client cannot do to the daemon: make it parse a nested document (only a flat object is read:
no recursion, no RecursionError), make it buffer more than MAX_REQUEST bytes, hold it longer than
READ_TIMEOUT / WRITE_TIMEOUT, open more than MAX_CLIENTS connections at a time, or get any other
answer than JSON. Besides the socket file's mode (0600), the peer's credentials (SO_PEERCRED) must be
uid 0 or the uid owning the socket file. Messages never echo raw control characters (inet.safe_repr).
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import json
import logging
import os
import socket
import stat
import struct
from typing import Callable, Dict, Optional, Tuple

from .. import inet

LOG = logging.getLogger("vipd")

MAX_REQUEST = 64 * 1024
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CLIENTS = 16
# After the reply, what a client still sends is read and dropped (at most this much, this long) before closing.
LINGER_BYTES = 1024 * 1024
LINGER_TIMEOUT = 1.0
MAX_ARGUMENTS = 32
# Commands and the arguments each accepts; anything else is refused with a JSON error.
# maintenance: "state" "on"|"off", and "instances" (names separated by spaces) or "all": true.
COMMANDS: Dict[str, Tuple[str, ...]] = {"status": (), "reload": (), "resign": (), "maintenance": ("state", "instances", "all")}
ERROR_CODES = ("too_large", "timeout", "encoding", "empty", "not_json", "not_object", "nested", "bad_type",
               "unknown_command", "bad_argument", "forbidden", "busy", "internal")
_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


class RequestError(ValueError):
    """A request refused before any command runs: `code` (one of ERROR_CODES) and a message without raw input."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def reply(self) -> dict:
        return error_reply(self.code, self.message)


def error_reply(code: str, message: str) -> dict:
    return {"ok": False, "code": code, "error": message}


def _max_depth(text: str) -> int:
    """Deepest nesting of JSON arrays/objects in `text`, strings skipped (a linear scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise RequestError("bad_argument", "argument %s is given twice" % inet.safe_repr(key))
        result[key] = value
    return result


def _no_constant(name):
    raise RequestError("not_json", "%s is not a JSON number" % name)


def parse_request(data: bytes) -> dict:
    """The request in `data` (one line, without or with its newline) as a dict with a str "command";
    RequestError for anything else. Any bytes give one of the two, never another exception."""
    if not isinstance(data, (bytes, bytearray)):
        raise RequestError("bad_type", "a request is bytes")
    if len(data) > MAX_REQUEST:
        raise RequestError("too_large", "request larger than %d bytes" % MAX_REQUEST)
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("encoding", "request is not UTF-8")
    text = text.strip(" \t\r\n")
    if not text:
        raise RequestError("empty", 'empty request (send {"command": "status"})')
    if not text.startswith("{"):
        raise RequestError("not_object", 'a request is one JSON object such as {"command": "status"}')
    if _max_depth(text) > 1:
        raise RequestError("nested", "a request is a flat JSON object (no nested arrays or objects)")
    try:
        request = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RequestError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int digits limit
        raise RequestError("not_json", "request is not valid JSON (%s)" % _json_reason(exc))
    if not isinstance(request, dict):
        raise RequestError("not_object", 'a request is one JSON object such as {"command": "status"}')
    if len(request) > MAX_ARGUMENTS:
        raise RequestError("bad_argument", "too many arguments (at most %d)" % MAX_ARGUMENTS)
    command = request.get("command")
    if "command" not in request:
        raise RequestError("bad_argument", 'the request has no "command"')
    if not isinstance(command, str):
        raise RequestError("bad_type", '"command" must be a string, got %s' % _json_type(command))
    return request


def _json_reason(exc) -> str:
    msg = getattr(exc, "msg", None)
    if msg and hasattr(exc, "pos"):
        return "%s at byte %d" % (msg, exc.pos)
    return exc.__class__.__name__


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def check_arguments(request: dict) -> str:
    """The command of a parsed request when it is known and its arguments are the ones it takes."""
    command = request["command"]
    if command not in COMMANDS:
        raise RequestError("unknown_command", "unknown command %s (%s)" % (inet.safe_repr(command), ", ".join(sorted(COMMANDS))))
    extra = sorted(k for k in request if k != "command" and k not in COMMANDS[command])
    if extra:
        raise RequestError("bad_argument", "command %s takes no argument %s" % (command, ", ".join(inet.safe_repr(k) for k in extra[:4])))
    return command


def peer_credentials(sock) -> Optional[Tuple[int, int, int]]:
    """(pid, uid, gid) of the process at the other end of a connected AF_UNIX socket, None when unknown."""
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return None
    try:
        return _CREDS.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _CREDS.size))
    except (OSError, struct.error):
        return None


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _json_pieces(reply):
    """json.dumps(reply, sort_keys=True, default=str) in pieces: a list in a dict of str keys gives one piece per
    item. A status of hundreds of instances is then never one encoder's chunk list (1.4 MB of small strings at
    200 instances, which left about 0.8 MB of RSS behind, issue 11), but one instance's at a time."""
    if not isinstance(reply, dict) or not all(isinstance(k, str) for k in reply):
        yield _json(reply)
        return
    yield "{"
    for n, key in enumerate(sorted(reply)):
        value = reply[key]
        yield "%s%s: " % (", " if n else "", _json(key))
        if isinstance(value, (list, tuple)):
            yield "["
            for i, item in enumerate(value):
                yield (", " if i else "") + _json(item)
            yield "]"
        else:
            yield _json(value)
    yield "}"


def encode_reply(reply) -> bytes:
    try:
        return b"".join(piece.encode("utf-8") for piece in _json_pieces(reply)) + b"\n"
    except (TypeError, ValueError, RecursionError) as exc:
        LOG.error("control: cannot encode a reply: %s", exc)
        return json.dumps(error_reply("internal", "the reply could not be encoded")).encode("utf-8") + b"\n"


class ControlServer:
    """The listening socket and its clients. `handlers` maps a command to fn(request) -> reply dict (run in the loop)."""

    def __init__(self, path: str, handlers: Dict[str, Callable[[dict], dict]], read_timeout: float = READ_TIMEOUT,
                 write_timeout: float = WRITE_TIMEOUT, max_clients: int = MAX_CLIENTS):
        self.path = path
        self.handlers = handlers
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.max_clients = max_clients
        self.owner_uid: Optional[int] = None
        self.clients = 0
        self.server = None

    async def start(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o755, exist_ok=True)
        try:
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                os.unlink(self.path)  # a previous run's; anything else at that path is not ours to remove
        except FileNotFoundError:
            pass
        old_umask = os.umask(0o177)  # socket 0600: reload/resign are privileged
        try:
            self.server = await asyncio.start_unix_server(self._client, path=self.path)
        finally:
            os.umask(old_umask)
        self.owner_uid = os.stat(self.path).st_uid

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def allowed(self, creds: Optional[Tuple[int, int, int]]) -> bool:
        if creds is None:
            return False
        uid = creds[1]
        return uid == 0 or (self.owner_uid is not None and uid == self.owner_uid)

    async def _client(self, reader, writer) -> None:
        self.clients += 1
        counted = True
        try:
            reply = await self._answer(reader, writer)
            writer.write(encode_reply(reply))
            await asyncio.wait_for(writer.drain(), self.write_timeout)
            self.clients -= 1  # answered: a lingering close does not hold a client slot
            counted = False
            await self._linger(reader, writer)
        except (asyncio.TimeoutError, OSError, ConnectionError) as exc:
            LOG.debug("control client: %s", exc.__class__.__name__)
        except Exception as exc:  # pylint: disable=broad-except  # a client must never take the loop down
            LOG.error("control client: unexpected %s: %s", exc.__class__.__name__, inet.safe_repr(str(exc), 200))
        finally:
            if counted:
                self.clients -= 1
            try:
                writer.close()
            except Exception:  # pylint: disable=broad-except
                pass

    async def _linger(self, reader, writer) -> None:
        """After the reply: end our side, then discard what the client still sends (bounded) before closing, so
        that the close never resets the connection under the reply (AF_UNIX resets a peer whose data is unread)."""
        if writer.can_write_eof():
            writer.write_eof()
        try:
            await asyncio.wait_for(_discard(reader, LINGER_BYTES), LINGER_TIMEOUT)
        except (asyncio.TimeoutError, OSError, ConnectionError):
            pass

    async def _answer(self, reader, writer) -> dict:
        if self.clients > self.max_clients:
            return error_reply("busy", "too many control clients at once (at most %d)" % self.max_clients)
        creds = peer_credentials(writer.get_extra_info("socket"))
        try:
            # Read first, whoever the peer is: the refusal below must reach it, not a connection reset.
            data = await asyncio.wait_for(read_request(reader), self.read_timeout)
        except asyncio.TimeoutError:
            data = None
        except RequestError as exc:
            data = exc
        if not self.allowed(creds):
            LOG.warning("control: refused a client with uid %s", "unknown" if creds is None else creds[1])
            return error_reply("forbidden", "permission denied: only root or uid %s may use this socket" % self.owner_uid)
        if data is None:
            return error_reply("timeout", "no complete request within %g s" % self.read_timeout)
        try:
            if isinstance(data, RequestError):
                raise data
            request = parse_request(data)
            command = check_arguments(request)
        except RequestError as exc:
            return exc.reply()
        handler = self.handlers.get(command)
        if handler is None:
            return error_reply("unknown_command", "command %s is not available" % command)
        try:
            reply = handler(request)
        except Exception as exc:  # pylint: disable=broad-except  # answered, logged, never fatal
            LOG.exception("control: %s failed", command)
            return error_reply("internal", "%s failed: %s" % (command, exc.__class__.__name__))
        return reply if isinstance(reply, dict) else error_reply("internal", "%s gave no reply" % command)


async def _discard(reader, limit: int) -> None:
    seen = 0
    while seen <= limit:
        chunk = await reader.read(65536)
        if not chunk:
            return
        seen += len(chunk)


async def read_request(reader) -> bytes:
    """Bytes up to the first newline or EOF; RequestError once more than MAX_REQUEST bytes came without one."""
    buf = bytearray()
    while True:
        chunk = await reader.read(4096)
        if not chunk:
            return bytes(buf)
        end = chunk.find(b"\n")
        if end >= 0:
            buf += chunk[:end]
            if len(buf) > MAX_REQUEST:
                break
            return bytes(buf)
        buf += chunk
        if len(buf) > MAX_REQUEST:
            break
    raise RequestError("too_large", "request larger than %d bytes" % MAX_REQUEST)
