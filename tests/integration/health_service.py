# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny service for health-check tests: HTTP on one port, plain TCP on another.

``python health_service.py HOST HTTP_PORT TCP_PORT STATUS_FILE`` -- the HTTP status is the number in
STATUS_FILE (200 when absent), the body says "healthy" for 2xx and "sick" otherwise. Started in a
lab namespace by the test, killed by PID.
"""
from __future__ import annotations

import asyncio
import sys


def status_of(path: str) -> int:
    try:
        with open(path) as handle:
            return int(handle.read().strip() or 200)
    except (OSError, ValueError):
        return 200


async def main(host: str, http_port: int, tcp_port: int, status_file: str) -> None:
    async def http(reader, writer):
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            code = status_of(status_file)
            body = b"healthy\n" if 200 <= code < 300 else b"sick\n"
            writer.write(b"HTTP/1.0 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (code, len(body), body))
            await writer.drain()
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    async def tcp(_reader, writer):
        writer.close()

    servers = [await asyncio.start_server(http, host, http_port), await asyncio.start_server(tcp, host, tcp_port)]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
