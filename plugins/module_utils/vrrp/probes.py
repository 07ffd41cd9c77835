# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's built-in probes (the `vipd_check` types): one attempt each, done natively in the asyncio loop,
each returns a Result. tcp_probe() connects, http_probe() sends one GET (TLS for https), icmp_probe() sends
one echo request over a raw socket. Periodic running and rise/fall: check_runner.py."""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import asyncio
import importlib
import ipaddress
import os
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Optional

from ..inet import inet_checksum

HTTP_MAX_READ = 1 << 20


@dataclass
class Result:
    ok: bool
    detail: str = ""


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


__all__ = ["Result", "tcp_probe", "http_probe", "icmp_probe", "echo_request", "parse_echo_reply", "ssl_module"]
