# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`vipd run --metrics-listen ADDR:PORT`: the smallest HTTP server Prometheus needs, in the daemon's asyncio loop.

One request per connection, then the connection is closed: `GET /metrics` (a query string is ignored) answers the
exposition text (metrics.py); any other path 404, any other method 405, a malformed request 400. HTTP/1.0 and 1.1
request lines only; no keep-alive, no chunking, no compression. What a client cannot do: send more than
MAX_REQUEST_HEAD bytes of request (431), hold a connection longer than READ_TIMEOUT / WRITE_TIMEOUT, or have more
than MAX_CLIENTS connections served at once (503). The address must be an IP literal; a non-loopback one is refused
unless explicitly allowed (--metrics-allow-remote): the metrics name every VIP and peer of the host.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import ipaddress
import logging
from typing import Callable, Iterable, List, Tuple

from .. import inet

LOG = logging.getLogger("vipd")

MAX_REQUEST_HEAD = 8192
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MAX_CLIENTS = 8
PATH = "/metrics"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


class ListenError(ValueError):
    """A --metrics-listen value vipd refuses (the message says why and what to write instead)."""


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_listen(text: str, allow_remote: bool = False) -> Tuple[str, int]:
    """(address, port) of `ADDR:PORT` or `[IPV6]:PORT`. ADDR is an IP literal; unless allow_remote, a loopback one."""
    raw = text if isinstance(text, str) else ""
    shown = inet.safe_repr(raw, 80)
    host, sep, port_text = raw.rpartition(":")
    if not sep or not host or not port_text:
        raise ListenError("%s is not ADDR:PORT (e.g. 127.0.0.1:9650 or [::1]:9650)" % shown)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ListenError("%s: write an IPv6 address in brackets, e.g. [::1]:9650" % shown)
    try:
        if "%" in host:  # a zone index (fe80::1%eth0): Python 3.8 cannot parse it, and loopback needs none
            raise ValueError(host)
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ListenError("%s: %s is not an IP address (host names are not resolved; use 127.0.0.1 or ::1)"
                          % (shown, inet.safe_repr(host, 60))) from None
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise ListenError("%s: the port must be a number from 1 to 65535" % shown)
    if not address.is_loopback and not allow_remote:
        raise ListenError("%s is not a loopback address: the metrics (VIPs, peers, states) would be reachable from the "
                          "network; bind to 127.0.0.1 or ::1, or pass --metrics-allow-remote to allow it" % shown)
    return str(address), int(port_text)


async def read_head(reader, limit: int = MAX_REQUEST_HEAD) -> bytes:
    """The request line and headers, up to the empty line; HttpError 431 past `limit` bytes, 400 on EOF before it."""
    buf = bytearray()
    while True:
        for end in (b"\r\n\r\n", b"\n\n"):
            index = buf.find(end)
            if index >= 0:
                if index > limit:
                    break
                return bytes(buf[:index])
        if len(buf) > limit:
            raise HttpError(431, "request head larger than %d bytes" % limit)
        chunk = await reader.read(2048)
        if not chunk:
            raise HttpError(400, "connection closed before the end of the request head")
        buf += chunk


def parse_head(head: bytes) -> Tuple[str, str, str]:
    """(method, path without the query string, version) of a request head; HttpError 400 when malformed."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "request head is not ASCII") from None
    line = text.split("\n", 1)[0].rstrip("\r")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HttpError(400, "unsupported protocol version")
    if not method.isalpha() or not method.isupper():
        raise HttpError(400, "malformed method")
    return method, target.split("?", 1)[0], version


def response(status: int, parts: List[bytes], content_type: str = "text/plain; charset=utf-8", version: str = "HTTP/1.1",
             head_only: bool = False, extra: Tuple[Tuple[str, str], ...] = ()) -> List[bytes]:
    """The response as the parts written one after another: the head, then the body's parts (a scrape's exposition
    stays in its chunks, never copied into one buffer, issue 11)."""
    lines = ["%s %d %s" % (version, status, REASONS.get(status, "Error")), "Content-Type: %s" % content_type,
             "Content-Length: %d" % sum(len(part) for part in parts), "Connection: close"]
    lines += ["%s: %s" % item for item in extra]
    return [("\r\n".join(lines) + "\r\n\r\n").encode("ascii")] + ([] if head_only else parts)


def answer(method: str, path: str, render: Callable[[], Iterable[str]], content_type: str) -> Tuple[int, List[bytes], str, tuple]:
    """(status, body parts, content type, extra headers) for a parsed request. render() gives the exposition text in
    chunks; each is encoded as it comes, so a render that fails does so before anything is sent."""
    if path != PATH:
        return 404, [b"not found: only GET /metrics is served\n"], "text/plain; charset=utf-8", ()
    if method != "GET":
        return 405, [b"method not allowed: only GET /metrics is served\n"], "text/plain; charset=utf-8", (("Allow", "GET"),)
    return 200, [chunk.encode("utf-8") for chunk in render()], content_type, ()


class MetricsServer:
    """The listening socket and its clients; render() gives the exposition text as an iterable of chunks (called in
    the loop, per request)."""

    def __init__(self, host: str, port: int, render: Callable[[], Iterable[str]], content_type: str,
                 read_timeout: float = READ_TIMEOUT, write_timeout: float = WRITE_TIMEOUT, max_clients: int = MAX_CLIENTS):
        self.host = host
        self.port = port
        self.render = render
        self.content_type = content_type
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.max_clients = max_clients
        self.clients = 0
        self.requests = 0
        self.server = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        LOG.info("metrics on http://%s/metrics", ("[%s]:%d" if ":" in self.host else "%s:%d") % (self.host, self.port))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _client(self, reader, writer) -> None:
        self.clients += 1
        try:
            for part in await self.handle(reader):
                writer.write(part)
            await asyncio.wait_for(writer.drain(), self.write_timeout)
        except (asyncio.TimeoutError, OSError, ConnectionError) as exc:
            LOG.debug("metrics client: %s", exc.__class__.__name__)
        except Exception as exc:  # pylint: disable=broad-except  # a client must never take the loop down
            LOG.error("metrics client: unexpected %s: %s", exc.__class__.__name__, inet.safe_repr(str(exc), 200))
        finally:
            self.clients -= 1
            try:
                writer.close()
            except Exception:  # pylint: disable=broad-except
                pass

    async def handle(self, reader) -> List[bytes]:
        """The whole response to one connection's request (read bounded in size and time), in parts (response())."""
        if self.clients > self.max_clients:
            return response(503, [b"too many clients\n"], version="HTTP/1.0")
        version, method = "HTTP/1.0", "GET"
        try:
            try:
                head = await asyncio.wait_for(read_head(reader), self.read_timeout)
            except asyncio.TimeoutError:
                raise HttpError(408, "no complete request within %g s" % self.read_timeout) from None
            method, path, version = parse_head(head)
            self.requests += 1
            status, body, ctype, extra = answer(method, path, self.render, self.content_type)
        except HttpError as exc:
            return response(exc.status, [(exc.message + "\n").encode("ascii", "replace")], version=version)
        except Exception:  # pylint: disable=broad-except  # rendering failed: say so, keep serving
            LOG.exception("metrics: cannot render")
            return response(500, [b"cannot render the metrics (see vipd's log)\n"], version=version)
        return response(status, body, ctype, version=version, head_only=(method == "HEAD"), extra=extra)


__all__ = ["MetricsServer", "ListenError", "HttpError", "parse_listen", "parse_head", "read_head", "response", "answer",
           "MAX_REQUEST_HEAD", "READ_TIMEOUT", "MAX_CLIENTS"]
