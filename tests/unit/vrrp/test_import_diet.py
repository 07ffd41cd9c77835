# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What vipd loads, and what it leaves out until a configuration needs it (RSS: docs/benchmarks.md).

Each case runs in a fresh interpreter: sys.modules is what is being checked.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

LAUNCH = """
import importlib, importlib.util, sys
d = %r
spec = importlib.util.spec_from_file_location("vipd_engine", d + "/__init__.py", submodule_search_locations=[d])
m = importlib.util.module_from_spec(spec); sys.modules["vipd_engine"] = m; spec.loader.exec_module(m)
""" % os.path.join(REPO, "plugins", "module_utils")


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", LAUNCH + textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_daemon_imports_leave_out_ssl_mail_hashlib_and_pyroute2():
    out = run("""
        cli = importlib.import_module("vipd_engine.vrrp.cli")
        cli.import_asyncio_without_ssl()
        importlib.import_module("vipd_engine.vrrp.daemon")
        cli.build_parser().parse_args(["run", "-f", "/dev/null"])  # argparse's own formatter would import shutil
        heavy = ("ssl", "_ssl", "hashlib", "_hashlib", "smtplib", "email.message", "pyroute2.ndb", "pyroute2.iproute",
                 "pyroute2.ipdb", "pyroute2.netlink.nlsocket", "pyroute2.netlink", "tempfile", "random",
                 "concurrent.futures.thread", "shutil", "bz2", "lzma")
        print(sorted(k for k in heavy if k in sys.modules))
        print(len([k for k in sys.modules if k.startswith("pyroute2")]))
    """).split("\n")
    assert out[0] == "[]"
    assert int(out[1]) == 1  # the package shell only: addresses writes its netlink messages with struct


def test_vipd_run_with_metrics_leaves_out_ssl():
    """`vipd run --metrics-listen`: the metrics server imports asyncio too, after the CLI held ssl back (it once
    came first and loaded ssl: 4.5 MB). The daemon itself is a stand-in that reports what is loaded."""
    out = run("""
        import types
        stand_in = types.ModuleType("vipd_engine.vrrp.daemon")
        stand_in.run = lambda *a, **kw: print(sorted(k for k in ("ssl", "_ssl", "asyncio", "vipd_engine.vrrp.metrics_http")
                                                      if k in sys.modules)) or 0
        sys.modules["vipd_engine.vrrp.daemon"] = stand_in
        cli = importlib.import_module("vipd_engine.vrrp.cli")
        print(cli.main(["run", "-f", "/dev/null", "--metrics-listen", "127.0.0.1:9650"]))
    """).split("\n")
    assert out[:2] == ["['asyncio', 'vipd_engine.vrrp.metrics_http']", "0"]


def test_a_step_back_deletes_local_routes_without_loading_pyroute2():
    """A master that steps back deletes its VIPs, and the kernel their local routes: the route monitor reads those
    notifications (protocol kernel) from their header. Decoding them with pyroute2's classes loaded five modules and
    94 classes, about 0.4 MB, into a backup that had been master once (issue 11, RSS). A route of protocol keepalived
    (18) is still decoded."""
    out = run("""
        import socket, struct
        routes = importlib.import_module("vipd_engine.vrrp.routes")

        def route_deletion(proto):
            body = struct.pack("=BBBBBBBBI", socket.AF_INET, 32, 0, 0, 255, proto, 254, 2, 0)  # struct rtmsg
            attrs = struct.pack("=HH4s", 8, 1, socket.inet_aton("203.0.113.7")) + struct.pack("=HHI", 8, 15, 255)  # RTA_DST, RTA_TABLE
            return struct.pack("=IHHII", 16 + len(body) + len(attrs), routes.RTM_DELROUTE, 0, 0, 0) + body + attrs

        print(routes.decode_deletions(route_deletion(2) * 300), len([k for k in sys.modules if k.startswith("pyroute2")]))
        print(routes.decode_deletions(route_deletion(18)))
    """).split("\n")
    assert out[0] == "[] 1"  # the package shell only
    assert out[1] == "[('route', (4, '203.0.113.7/32', 255, None))]"


def test_pyroute2_top_level_names_still_work_after_the_lazy_import():
    out = run("""
        addresses = importlib.import_module("vipd_engine.addresses")
        assert addresses.HAS_PYROUTE2
        assert "pyroute2.ndb" not in sys.modules
        from pyroute2 import IPRoute, NetlinkError
        import pyroute2
        from pyroute2.netlink.exceptions import NetlinkError as Submodule
        print(IPRoute.__name__, NetlinkError is Submodule, bool(pyroute2.__version__))
    """)
    assert out.split() == ["IPRoute", "True", "True"]


def test_https_check_gets_ssl_back_into_asyncio():
    # A plain TCP server: the TLS handshake must fail as TLS does, not with asyncio's "no ssl module".
    out = run("""
        cli = importlib.import_module("vipd_engine.vrrp.cli")
        cli.import_asyncio_without_ssl()
        import asyncio
        probes = importlib.import_module("vipd_engine.vrrp.probes")
        assert "ssl" not in sys.modules
        async def main():
            async def handle(reader, writer):
                await reader.read(10)
                writer.write(b"HTTP/1.0 200 OK\\r\\n\\r\\nnot tls")
                await writer.drain()
                writer.close()
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            result = await probes.http_probe("127.0.0.1", port, tls=True, tls_verify=False, timeout=5)
            plain = await probes.http_probe("127.0.0.1", port, tls=False, timeout=5)
            server.close()
            return result, plain
        result, plain = asyncio.run(main())
        print(result.ok, plain.ok)
        print(result.detail)
        print(sys.modules["asyncio.sslproto"].ssl is sys.modules["ssl"])
    """).split("\n")
    assert out[0] == "False True"
    assert "TLS" in out[1] and "ssl module" not in out[1]
    assert out[2] == "True"


def test_https_check_succeeds_against_a_tls_server(tmp_path):
    """A full TLS exchange in a daemon that imported asyncio without ssl (self-signed cert, tls_verify off)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not installed")
    key, cert = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    out = run("""
        cli = importlib.import_module("vipd_engine.vrrp.cli")
        cli.import_asyncio_without_ssl()
        import asyncio
        probes = importlib.import_module("vipd_engine.vrrp.probes")
        async def main():
            ssl = probes.ssl_module()
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(%r, %r)
            async def handle(reader, writer):
                await reader.readline()
                writer.write(b"HTTP/1.0 200 OK\\r\\n\\r\\nhealthy")
                await writer.drain()
                writer.close()
            server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
            port = server.sockets[0].getsockname()[1]
            result = await probes.http_probe("127.0.0.1", port, tls=True, tls_verify=False, expect_body="healthy", timeout=5)
            server.close()
            return result
        print(asyncio.run(main()))
    """ % (cert, key))
    assert "ok=True" in out, out
