# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/control.py: the control socket's request parser and server.

Any bytes into the parser give a request dict or our own RequestError (never RecursionError or another
exception); the server answers every connection (malformed, nested, oversized, slow, unknown command, wrong
types, a failing handler, too many clients, a refused peer) with one JSON object, and keeps serving.
No root needed: the server runs on a Unix socket in a temporary directory (the setuid peer test is in
tests/integration/test_control_peercred.py).
"""
from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, control
from ansible_collections.floating.vip.plugins.module_utils.vrrp.control import RequestError, parse_request

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONTROL_CHARS = set(chr(c) for c in range(0x20)) | {"\x7f", "\x85", "\u2028", "\u2029"}


def assert_clean(message):
    assert not CONTROL_CHARS & set(message), repr(message)


# ---------------------------------------------------------------- parser: examples

def test_a_flat_request_is_parsed():
    assert parse_request(b'{"command": "status"}\n') == {"command": "status"}
    assert parse_request(b' {"command": "reload", "x": [1]} '.replace(b"[1]", b"1")) == {"command": "reload", "x": 1}


@pytest.mark.parametrize("data, code", [
    (b"[" * 60000, "not_object"),
    (b"[" * 200000, "too_large"),
    (b'{"command": ' + b"[" * 30000 + b"]" * 30000 + b"}", "nested"),
    (b'{"command": "status", "a": {"b": 1}}', "nested"),
    (b'{"command": "status", "a": []}', "nested"),
    (b"{" * 50000, "nested"),
    (b"x" * (control.MAX_REQUEST + 1), "too_large"),
    (b'{"command": "\xff"}', "encoding"),
    (b"", "empty"),
    (b"  \r\n", "empty"),
    (b"status", "not_object"),
    (b'"status"', "not_object"),
    (b"{", "not_json"),
    (b'{"command": "status",}', "not_json"),
    (b'{"command": NaN}', "not_json"),
    (b'{"command": "status", "n": -Infinity}', "not_json"),
    (b'{"command": 1' + b"0" * 6000 + b"}", "not_json"),
    (b'{"command": 5}', "bad_type"),
    (b'{"command": null}', "bad_type"),
    (b'{"command": true}', "bad_type"),
    (b'{"x": "status"}', "bad_argument"),
    (b'{"command": "status", "command": "resign"}', "bad_argument"),
])
def test_bad_requests_are_typed_errors(data, code):
    with pytest.raises(RequestError) as info:
        parse_request(data)
    assert info.value.code == code
    assert info.value.code in control.ERROR_CODES
    assert_clean(info.value.message)
    reply = info.value.reply()
    assert reply["ok"] is False and reply["code"] == code and json.loads(json.dumps(reply)) == reply


def test_commands_and_arguments_are_checked():
    assert control.check_arguments({"command": "status"}) == "status"
    for request, code in (({"command": "sta\ntus"}, "unknown_command"), ({"command": "status", "verbose": True}, "bad_argument")):
        with pytest.raises(RequestError) as info:
            control.check_arguments(request)
        assert info.value.code == code
        assert_clean(info.value.message)


# ---------------------------------------------------------------- parser: properties

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=20)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300),
                      st.text(alphabet='{}[]":,\\ nul0123456789.eE+-tfrasx\n\x00\u2028', max_size=300).map(lambda t: t.encode()),
                      json_values.map(lambda v: json.dumps(v).encode()),
                      st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(lambda d: json.dumps(d).encode()),
                      st.integers(1, 5000).map(lambda n: b'{"command": ' + b"[" * n)))
def test_any_bytes_give_a_request_or_a_typed_error(data):
    try:
        request = parse_request(data)
    except RequestError as exc:
        assert exc.code in control.ERROR_CODES
        assert_clean(exc.message)
        return
    assert isinstance(request, dict) and isinstance(request["command"], str)
    assert all(not isinstance(v, (dict, list)) for v in request.values())
    try:
        control.check_arguments(request)
    except RequestError as exc:
        assert exc.code in ("unknown_command", "bad_argument")
        assert_clean(exc.message)


# ---------------------------------------------------------------- reply encoding

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                           max_leaves=20)
ODD_KEYS = st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.none())


@SETTINGS
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES | st.tuples(JSON_LEAVES, JSON_LEAVES), max_size=6)
       | st.dictionaries(ODD_KEYS, JSON_LEAVES, max_size=4) | JSON_VALUES)
def test_a_reply_in_pieces_is_the_bytes_one_dumps_gives(reply):
    try:
        whole = json.dumps(reply, sort_keys=True, default=str).encode("utf-8") + b"\n"
    except TypeError:  # keys of mixed types cannot be sorted: the internal error, both ways
        whole = json.dumps(control.error_reply("internal", "the reply could not be encoded")).encode("utf-8") + b"\n"
    assert control.encode_reply(reply) == whole


def test_a_status_is_encoded_an_instance_at_a_time(monkeypatch):
    """The encoder never sees the whole instance list: each piece it encodes holds one instance at most."""
    status = {"ok": True, "instances": [{"name": "VI_%d" % n, "vips": ["198.51.100.%d/24" % n], "when": object()}
                                        for n in range(50)], "retiring": [], "pid": 7}
    seen = []
    real = control._json  # pylint: disable=protected-access

    def spy(value):
        seen.append(value)
        return real(value)

    monkeypatch.setattr(control, "_json", spy)
    data = control.encode_reply(status)
    assert json.loads(data)["instances"][49]["name"] == "VI_49"
    assert data == json.dumps(status, sort_keys=True, default=str).encode("utf-8") + b"\n"
    assert not any(isinstance(v, list) and len(v) > 1 for v in seen)
    assert sum(isinstance(v, dict) and "name" in v for v in seen) == 50


def test_an_unencodable_reply_gives_the_internal_error():
    loop = {"ok": True}
    loop["instances"] = [loop]
    assert json.loads(control.encode_reply(loop))["code"] == "internal"


# ---------------------------------------------------------------- server

class Harness:
    """A ControlServer on a socket in tmp_path, with handlers that record their calls."""

    def __init__(self, path, **kw):
        self.calls = []

        def status(request):
            self.calls.append(("status", request))
            return {"ok": True, "instances": []}

        def reload(_request):
            raise RuntimeError("boom\nsecret")

        self.server = control.ControlServer(path, {"status": status, "reload": reload, "resign": lambda r: "not a dict"}, **kw)
        self.path = path


async def exchange(path, data, shut=True, read_limit=1 << 20):
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        if data:
            writer.write(data)
            await writer.drain()
        if shut and writer.can_write_eof():
            writer.write_eof()
        raw = await asyncio.wait_for(reader.read(read_limit), 10)
    finally:
        writer.close()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1, raw[:200]
    return json.loads(raw)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_server_answers_every_request_and_keeps_serving(tmp_path):
    path = str(tmp_path / "c.sock")
    h = Harness(path, read_timeout=0.3)

    async def scenario():
        await h.server.start()
        try:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert h.server.owner_uid == os.getuid()
            replies = {}
            replies["ok"] = await exchange(path, b'{"command": "status"}\n')
            replies["nested"] = await exchange(path, b'{"command": ' + b"[" * 60000 + b"\n")
            replies["deep_object"] = await exchange(path, b"{" * 60000 + b"\n")
            replies["large"] = await exchange(path, b"x" * (control.MAX_REQUEST + 10000), shut=False)
            replies["garbage"] = await exchange(path, b"\xff\xfe\x00\n")
            replies["eof"] = await exchange(path, b"")
            replies["plain"] = await exchange(path, b"status\n")
            replies["unknown"] = await exchange(path, b'{"command": "shutdown\\u2028now"}\n')
            replies["type"] = await exchange(path, b'{"command": 5}\n')
            replies["args"] = await exchange(path, b'{"command": "status", "all": true}\n')
            replies["raises"] = await exchange(path, b'{"command": "reload"}\n')
            replies["not_dict"] = await exchange(path, b'{"command": "resign"}\n')
            replies["slow"] = await exchange(path, b'{"command": ', shut=False)  # never finishes its line
            replies["after"] = await exchange(path, b'{"command": "status"}')  # EOF ends the request too
            return replies
        finally:
            h.server.close()

    replies = run(scenario())
    assert replies.pop("ok") == {"ok": True, "instances": []} == replies.pop("after")
    expected = {"nested": "nested", "deep_object": "nested", "large": "too_large", "garbage": "encoding", "eof": "empty",
                "plain": "not_object", "unknown": "unknown_command", "type": "bad_type", "args": "bad_argument",
                "raises": "internal", "not_dict": "internal", "slow": "timeout"}
    assert dict((k, (v["ok"], v["code"])) for k, v in replies.items()) == dict((k, (False, c)) for k, c in expected.items())
    for reply in replies.values():
        assert_clean(reply["error"])
    assert "secret" not in replies["raises"]["error"]
    assert [c[0] for c in h.calls] == ["status", "status"]


def test_too_many_clients_are_told_so_and_the_others_still_served(tmp_path):
    path = str(tmp_path / "c.sock")
    h = Harness(path, read_timeout=2.0, max_clients=3)

    async def scenario():
        await h.server.start()
        idle = []
        try:
            for _n in range(3):
                idle.append(await asyncio.open_unix_connection(path))
            await asyncio.sleep(0.1)  # let the server accept them
            busy = await exchange(path, b'{"command": "status"}\n')
            for _reader, writer in idle:
                writer.write(b'{"command": "status"}\n')
            answers = [json.loads(await asyncio.wait_for(reader.readline(), 10)) for reader, _writer in idle]
            after = await exchange(path, b'{"command": "status"}\n')
            return busy, answers, after
        finally:
            for _reader, writer in idle:
                writer.close()
            h.server.close()

    busy, answers, after = run(scenario())
    assert busy["code"] == "busy" and busy["ok"] is False
    assert answers == [{"ok": True, "instances": []}] * 3 and after["ok"] is True


def test_a_peer_with_another_uid_is_refused(tmp_path, monkeypatch):
    path = str(tmp_path / "c.sock")
    h = Harness(path)
    real = control.peer_credentials
    seen = []

    def other_uid(sock):
        creds = real(sock)  # the real SO_PEERCRED of this very process
        seen.append(creds)
        return (creds[0], 54321, creds[2])

    monkeypatch.setattr(control, "peer_credentials", other_uid)

    async def scenario():
        await h.server.start()
        try:
            return await exchange(path, b'{"command": "status"}\n')
        finally:
            h.server.close()

    reply = run(scenario())
    assert reply["ok"] is False and reply["code"] == "forbidden"
    assert h.calls == []
    assert seen == [(os.getpid(), os.getuid(), os.getgid())]


def test_allowed_uids():
    server = control.ControlServer("/nonexistent", {})
    server.owner_uid = 1000
    assert server.allowed((1, 0, 0)) and server.allowed((1, 1000, 1000))
    assert not server.allowed((1, 1001, 0)) and not server.allowed(None)


def test_start_replaces_a_stale_socket_but_never_another_file(tmp_path):
    path = str(tmp_path / "c.sock")

    async def start_and_ask():
        h = Harness(path)
        await h.server.start()
        try:
            return await exchange(path, b'{"command": "status"}\n')
        finally:
            h.server.close()

    assert run(start_and_ask())["ok"] is True
    assert stat.S_ISSOCK(os.lstat(path).st_mode)  # left behind, as by a crash
    assert run(start_and_ask())["ok"] is True
    os.unlink(path)
    with open(path, "w") as handle:
        handle.write("not a socket")
    with pytest.raises(OSError):
        run(start_and_ask())
    with open(path) as handle:
        assert handle.read() == "not a socket"


def test_the_cli_client_reads_errors_and_replies(tmp_path):
    path = str(tmp_path / "c.sock")
    h = Harness(path)

    async def scenario():
        await h.server.start()
        try:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, cli.control_request, path, "status")
            bad = await loop.run_in_executor(None, cli.control_request, path, "frobnicate")
            return ok, bad
        finally:
            h.server.close()

    ok, bad = run(scenario())
    assert ok == {"ok": True, "instances": []}
    assert bad["ok"] is False and bad["code"] == "unknown_command" and "frobnicate" in bad["error"]
