# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's Prometheus metrics: the renderer (metrics.py) on a real daemon status and on hostile names, read back by an
independent parser (prometheus_client) and a line grammar of the text format 0.0.4; the tiny HTTP server's request
handling (metrics_http.py) without a socket; the --metrics-listen bind rules."""
from __future__ import annotations

import asyncio
import os
import re
import tracemalloc

import pytest
import yaml
from hypothesis import given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, config, daemon, machine, metrics, metrics_http, packet
from ansible_collections.floating.vip.plugins.module_utils.vrrp.version import VERSION

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INSTANCE = {"instance": "VI_1", "interface": "eth0", "vrid": "51", "family": "ipv4"}
EVERY_FAMILY = {
    "vipd_build_info": "gauge", "vipd_reloads_total": "counter", "vipd_instances": "gauge", "vipd_interface_drops_total": "counter",
    "vipd_instance_state": "gauge", "vipd_instance_priority": "gauge", "vipd_instance_effective_priority": "gauge",
    "vipd_instance_master_info": "gauge", "vipd_instance_vips_held": "gauge", "vipd_instance_adverts_sent_total": "counter",
    "vipd_instance_adverts_received_total": "counter", "vipd_instance_garps_sent_total": "counter",
    "vipd_instance_send_errors_total": "counter", "vipd_instance_priority_zero_received_total": "counter",
    "vipd_instance_priority_zero_sent_total": "counter", "vipd_instance_advert_drops_total": "counter",
    "vipd_instance_transitions_total": "counter", "vipd_instance_seconds_since_last_transition": "gauge",
    "vipd_vrid_conflict_sources": "gauge", "vipd_vrid_conflict_adverts_total": "counter", "vipd_vrid_conflicts_total": "counter",
    "vipd_vrid_conflict_info": "gauge", "vipd_tracker_status": "gauge", "vipd_tracker_runs_total": "counter",
    "vipd_tracker_failures_total": "counter", "vipd_track_file_value": "gauge",
}

# The text format 0.0.4, line by line (https://prometheus.io/docs/instrumenting/exposition_formats/).
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(r"^(%s)(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*=%s(?:,[a-zA-Z_][a-zA-Z0-9_]*=%s)*)?\})? (\S+)$" % (NAME, LABEL_VALUE, LABEL_VALUE))
HELP = re.compile(r"^# HELP (%s) (?:[^\\\n]|\\\\|\\n)*$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)


def check_grammar(text: str) -> dict:
    """Every line valid, each family's samples together right after its TYPE, no name twice: {name: type}."""
    assert text.endswith("\n") and "\r" not in text.replace("\\r", "")
    types, current, seen_series = {}, None, set()
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            assert HELP.match(line), line
            continue
        m = TYPE.match(line)
        if m:
            assert m.group(1) not in types, "family %s twice" % m.group(1)
            types[m.group(1)] = m.group(2)
            current = m.group(1)
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        assert m.group(1) == current, "sample %s outside its family %s" % (m.group(1), current)
        value = m.group(2)
        assert value in ("NaN", "+Inf", "-Inf") or re.match(r"^-?\d+(\.\d+)?(e[-+]?\d+)?$", value), value
        series = line.rsplit(" ", 1)[0]
        assert series not in seen_series, "duplicate series %s" % series
        seen_series.add(series)
    return types


def samples(text: str) -> list:
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples]


def find(text: str, metric: str, **labels) -> list:
    return [s.value for s in samples(text) if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]


# ---- a real daemon's status -----------------------------------------------------------------------------------------

CONF = """vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        198.51.100.100/24
    }
}
"""


class _Loop:
    def __init__(self):
        self.t = 5000.0

    def time(self):
        return self.t

    def call_at(self, when, callback, *args):
        return _Handle(when)

    def call_later(self, delay, callback, *args):
        return _Handle(self.t + delay)

    def call_soon(self, callback, *args):
        return self.call_later(0, callback, *args)


class _Handle:
    def __init__(self, when):
        self._when = when

    def when(self):
        return self._when

    def cancel(self):
        pass

    def cancelled(self):
        return False


@pytest.fixture
def live(tmp_path):
    path = tmp_path / "vipd.conf"
    path.write_text(CONF)
    d = daemon.Daemon(str(path))
    d.loop = _Loop()
    d.cfg = config.parse_text(CONF, str(path))
    rt = daemon.InstanceRuntime(d, d.cfg.instances["VI_1"])
    rt.src_ip = "198.51.100.11"
    rt.machine = machine.Machine(rt.params())
    d.instances["VI_1"] = rt
    rt.execute(rt.machine.start(d.now()))  # INIT -> BACKUP
    d.loop.t += 10.0
    rt.execute(rt.machine.on_timer(d.now()))  # nobody else: BACKUP -> MASTER
    d.loop.t += 42.5
    for src, addrs in (("198.51.100.20", ("203.0.113.9",)), ("198.51.100.20", ("203.0.113.9",)), ("198.51.100.21", ("198.51.100.100",))):
        advert = packet.Advert(version=2, vrid=51, priority=100, interval_cs=300 if src.endswith("21") else 100, addresses=addrs)
        rt.on_advert(packet.parse_ipv4(packet.build_ipv4(packet.encode(advert, src, "224.0.0.18"), src, "224.0.0.18")))
    d.count_interface_drop("eth0", "vrid")
    d.reloads["failed"] = 1
    return d, rt


def test_every_family_from_a_live_status_is_well_formed(live):
    d, rt = live
    text = metrics.render(d.status(), d.now())
    types = check_grammar(text)
    assert types == EVERY_FAMILY
    assert all(name.startswith("vipd_") for name in types)
    assert all(name.endswith("_total") == (kind == "counter") for name, kind in types.items())


def test_values_are_the_daemon_counters(live):
    d, rt = live
    text = metrics.render(d.status(), d.now())
    assert find(text, "vipd_instance_state", state="MASTER", **INSTANCE) == [1]
    assert sorted(find(text, "vipd_instance_state", **INSTANCE)) == [0, 0, 0, 0, 1]  # one series per state
    assert find(text, "vipd_instance_master_info", master="198.51.100.11", **INSTANCE) == [1]
    assert find(text, "vipd_instance_priority", **INSTANCE) == [150]
    assert find(text, "vipd_instance_effective_priority", **INSTANCE) == [rt.machine.effective_priority]
    assert find(text, "vipd_instance_adverts_sent_total", **INSTANCE) == [rt.counters["adverts_out"]]
    assert find(text, "vipd_instance_adverts_received_total", **INSTANCE) == [0]
    assert find(text, "vipd_instance_advert_drops_total", reason="addr_list", **INSTANCE) == [2]
    assert find(text, "vipd_instance_advert_drops_total", reason="interval", **INSTANCE) == [1]
    assert find(text, "vipd_instance_transitions_total", **{"from": "INIT", "to": "BACKUP"}) == [1]
    assert find(text, "vipd_instance_transitions_total", **{"from": "BACKUP", "to": "MASTER"}) == [1]
    assert find(text, "vipd_instance_seconds_since_last_transition", **INSTANCE) == [42.5]
    assert find(text, "vipd_vrid_conflict_sources", **INSTANCE) == [2]
    assert find(text, "vipd_vrid_conflict_adverts_total", **INSTANCE) == [3]
    assert find(text, "vipd_vrid_conflicts_total", source="198.51.100.20", **INSTANCE) == [2]
    assert find(text, "vipd_vrid_conflict_info", source="198.51.100.20", differs="vips") == [1]
    assert find(text, "vipd_vrid_conflict_info", source="198.51.100.21", differs="interval") == [1]
    assert find(text, "vipd_reloads_total", result="ok") == [0] and find(text, "vipd_reloads_total", result="failed") == [1]
    assert find(text, "vipd_interface_drops_total", interface="eth0", reason="vrid") == [1]
    assert find(text, "vipd_build_info", version=VERSION) == [1]


def test_trackers_status_runs_and_failures():
    status = {"instances": [], "health": {
        "checks": [{"name": "chk_db", "status": "failed", "runs": 7, "failures": 3}, {"name": "web", "status": "unknown", "runs": 0}],
        "links": {"eth1": False, "eth2": True}, "processes": [{"name": "haproxy", "have_quorum": True}], "files": {"maint": 5}}}
    text = metrics.render(status)
    check_grammar(text)
    assert find(text, "vipd_tracker_status", kind="check", name="chk_db", status="failed") == [1]
    assert find(text, "vipd_tracker_status", kind="check", name="chk_db", status="ok") == [0]
    assert find(text, "vipd_tracker_status", kind="check", name="web", status="unknown") == [1]
    assert find(text, "vipd_tracker_runs_total", name="chk_db") == [7] and find(text, "vipd_tracker_failures_total", name="chk_db") == [3]
    assert find(text, "vipd_tracker_status", kind="interface", name="eth1", status="failed") == [1]
    assert find(text, "vipd_tracker_status", kind="interface", name="eth2", status="ok") == [1]
    assert find(text, "vipd_tracker_status", kind="process", name="haproxy", status="ok") == [1]
    assert find(text, "vipd_track_file_value", name="maint") == [5]


def test_no_transition_yet_gives_no_age_and_an_unknown_master_an_empty_label():
    inst = {"name": "VI_1", "interface": "eth0", "vrid": 51, "family": 6, "state": "INIT", "priority": 100, "master": None}
    text = metrics.render({"instances": [inst]}, 10.0)
    check_grammar(text)
    assert find(text, "vipd_instance_seconds_since_last_transition") == []
    assert find(text, "vipd_instance_master_info", master="", family="ipv6") == [1]
    assert find(text, "vipd_instance_state", state="INIT") == [1]


def test_label_escaping_is_the_formats():
    inst = {"name": 'a"b\\c\nd', "interface": "eth0", "vrid": 1, "family": 4, "state": "BACKUP"}
    text = metrics.render({"instances": [inst]})
    assert 'instance="a\\"b\\\\c\\nd"' in text
    assert metrics.escape_label_value("a\rb\tc\x7f") == "a\ufffdb\ufffdc\ufffd"
    assert find(text, "vipd_instance_priority", instance='a"b\\c\nd') == [0]
    assert metrics.escape_label_value("\udcff") == "\ufffd" * 3  # a surrogate-escaped byte never breaks UTF-8 output
    assert metrics.escape_help("x\\y\nz") == "x\\\\y\\nz"


def test_values_format():
    assert [metrics.format_value(v) for v in (True, False, 3, 2.5, float("nan"), float("inf"), -float("inf"))] == \
        ["1", "0", "3", "2.5", "NaN", "+Inf", "-Inf"]
    assert float(metrics.format_value(1e-7)) == 1e-7


def test_a_repeated_label_set_is_written_once():
    inst = {"name": "VI_1", "interface": "eth0", "vrid": 51, "family": 4, "state": "MASTER"}
    text = metrics.render({"instances": [inst, dict(inst)]})
    check_grammar(text)
    assert len(find(text, "vipd_instance_state", state="MASTER")) == 1


def test_a_scrape_of_200_instances_holds_one_family_at_a_time(live):
    """Issue 11 (RSS): the text is made family by family over the instances. Consuming the chunks as the HTTP endpoint
    does (each encoded, then let go once written) holds less than the whole text (0.9 times it, Python 3.11). Holding
    every family's samples until the end, as the renderer once did, peaked at 2.4 times the text. Measured with
    tracemalloc, not a clock."""
    d, _rt = live
    one = d.status()["instances"][0]
    status = {"instances": [dict(one, name="VI_%d" % i, vrid=i) for i in range(1, 201)]}
    whole = metrics.render(status, d.now())
    assert len(whole) > 200 * 2000  # about 20 families of every instance
    tracemalloc.start()
    try:
        count = 0
        for chunk in metrics.chunks(status, d.now()):
            count += len(chunk.encode("utf-8"))
            del chunk
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == len(whole.encode("utf-8"))
    assert peak < len(whole), (peak, len(whole))
    assert "".join(metrics.chunks(status, d.now())) == whole


NAMES = st.text(alphabet=st.characters(blacklist_categories=()), max_size=40)


@settings(max_examples=120, deadline=None)
@given(instance=NAMES, interface=NAMES, source=NAMES, check=NAMES, link=NAMES, state=NAMES, reason=NAMES)
def test_hostile_names_never_break_the_exposition(instance, interface, source, check, link, state, reason):
    inst = {"name": instance, "interface": interface, "vrid": 51, "family": 4, "state": state, "priority": 100,
            "master": source, "counters": {"drops": {reason: 2}, "transitions_by": {"%s->MASTER" % state: 1}},
            "conflicts": [{"source": source, "differs": ["vips"], "count": 5}]}
    status = {"instances": [inst], "interface_drops": {interface: {reason: 1}},
              "health": {"checks": [{"name": check, "status": "ok", "runs": 1, "failures": 0}], "links": {link: True}}}
    text = metrics.render(status, 0.0)
    text.encode("utf-8")  # always encodable
    check_grammar(text)

    def clean(value):  # what the renderer promises: valid UTF-8, control characters but line feed as U+FFFD
        value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return "".join("\ufffd" if (ord(c) < 0x20 and c != "\n") or c == "\x7f" else c for c in value)
    parsed = samples(text)  # an independent parser reads every label value back
    states = [s for s in parsed if s.name == "vipd_instance_state"]
    assert {s.labels["instance"] for s in states} == {clean(instance)}
    assert {s.labels["interface"] for s in states} == {clean(interface)}
    assert sum(s.value for s in states) == (1 if state else 0)  # an empty state is none of them
    assert [s.labels["source"] for s in parsed if s.name == "vipd_vrid_conflicts_total"] == [clean(source)]
    assert [s.value for s in parsed if s.name == "vipd_instance_advert_drops_total" and s.labels["reason"] == clean(reason)] == [2]
    assert [s.labels["name"] for s in parsed if s.name == "vipd_tracker_runs_total"] == [clean(check)]


# ---- the HTTP side --------------------------------------------------------------------------------------------------

def _handle(request: bytes, eof: bool = True, render=lambda: ["vipd_x 1\n"], **kw) -> bytes:
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(request)
        if eof:
            reader.feed_eof()
        server = metrics_http.MetricsServer("127.0.0.1", 0, render, metrics.CONTENT_TYPE, **kw)
        return b"".join(await server.handle(reader))
    return asyncio.run(go())


def _split(raw: bytes):
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


def test_get_metrics_answers_the_exposition_and_closes():
    status, headers, body = _split(_handle(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"))
    assert status == "HTTP/1.1 200 OK" and body == b"vipd_x 1\n"
    assert headers == {"Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Content-Length": "9", "Connection": "close"}
    status, _headers, body = _split(_handle(b"GET /metrics?x=1 HTTP/1.0\n\n"))  # bare LF and a query string
    assert status == "HTTP/1.0 200 OK" and body == b"vipd_x 1\n"


@pytest.mark.parametrize("request_bytes, expected", [
    (b"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
    (b"GET /metrics/ HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"),
    (b"DELETE /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 405 Method Not Allowed"),
    (b"GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    (b"GET /metrics\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    (b"get /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    (b"\xff\xfe /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    (b"GET /metrics HTTP/1.1\r\n", "HTTP/1.0 400 Bad Request"),  # closed before the end of the head
    (b"", "HTTP/1.0 400 Bad Request"),
])
def test_only_get_metrics_is_served(request_bytes, expected):
    status, headers, _body = _split(_handle(request_bytes))
    assert status == expected
    if "405" in expected:
        assert headers["Allow"] == "GET"


def test_head_is_refused_without_a_body():
    raw = _handle(b"HEAD /metrics HTTP/1.1\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 405 ") and raw.endswith(b"\r\n\r\n")


def test_request_size_and_time_are_bounded():
    big = b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * metrics_http.MAX_REQUEST_HEAD + b"\r\n\r\n"
    assert _split(_handle(big))[0] == "HTTP/1.0 431 Request Header Fields Too Large"
    endless = b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 2000  # never ends its head, never closes
    assert _split(_handle(endless, eof=False))[0] == "HTTP/1.0 431 Request Header Fields Too Large"
    assert _split(_handle(b"GET /met", eof=False, read_timeout=0.05))[0] == "HTTP/1.0 408 Request Timeout"


def test_a_render_failure_is_a_500_not_a_dead_loop():
    def broken():
        raise KeyError("x")
    assert _split(_handle(b"GET /metrics HTTP/1.1\r\n\r\n", render=broken))[0] == "HTTP/1.1 500 Internal Server Error"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_get_one_http_response(data):
    raw = _handle(data)
    assert re.match(rb"^HTTP/1\.[01] (200|400|404|405|431) ", raw), raw[:60]


# ---- bind rules -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1:9650", ("127.0.0.1", 9650)), ("127.0.0.53:1", ("127.0.0.53", 1)), ("[::1]:9650", ("::1", 9650)),
    ("[0:0:0:0:0:0:0:1]:65535", ("::1", 65535)),
])
def test_loopback_binds_are_accepted(text, expected):
    assert metrics_http.parse_listen(text) == expected


@pytest.mark.parametrize("text", ["0.0.0.0:9650", "198.51.100.11:9650", "[::]:9650", "[2001:db8::1]:9650", "[::ffff:127.0.0.1]:9650"])
def test_a_non_loopback_bind_needs_the_explicit_flag(text):
    with pytest.raises(metrics_http.ListenError, match="not a loopback address.*--metrics-allow-remote"):
        metrics_http.parse_listen(text)
    assert metrics_http.parse_listen(text, allow_remote=True)[1] == 9650


@pytest.mark.parametrize("text, reason", [
    ("9650", "not ADDR:PORT"), ("127.0.0.1", "not ADDR:PORT"), ("127.0.0.1:", "not ADDR:PORT"), (":9650", "not ADDR:PORT"),
    ("localhost:9650", "not an IP address"), ("::1:9650", "brackets"), ("127.0.0.1:0", "1 to 65535"),
    ("127.0.0.1:65536", "1 to 65535"), ("127.0.0.1:-1", "1 to 65535"), ("127.0.0.1:http", "1 to 65535"),
    ("127.0.0.1:\u0669", "1 to 65535"), ("[::1%lo]:9650", "not an IP address"), ("\x1b[31m:1", "not an IP address"),
])
def test_bad_listen_values_say_why(text, reason):
    with pytest.raises(metrics_http.ListenError, match=re.escape(reason)) as info:
        metrics_http.parse_listen(text, allow_remote=True)
    assert "\x1b" not in str(info.value)


def test_vipd_run_refuses_a_remote_bind_before_starting(capsys, tmp_path):
    conf = tmp_path / "vipd.conf"
    conf.write_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.51.100.1/24\n }\n}\n")
    rc = cli.main(["run", "-f", str(conf), "--pidfile", str(tmp_path / "p"), "--control-socket", str(tmp_path / "s"),
                   "--metrics-listen", "0.0.0.0:9650"])
    err = capsys.readouterr().err
    assert rc == 2 and "vipd: --metrics-listen '0.0.0.0:9650' is not a loopback address" in err
    assert not (tmp_path / "p").exists()


def test_version_is_the_collections():
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        assert yaml.safe_load(handle)["version"] == VERSION


def test_a_daemon_without_metrics_does_not_import_them():
    # imported by open_metrics() only (RSS, issue 11): the daemon module itself holds no reference to them
    assert "metrics" not in daemon.__dict__ and "metrics_http" not in daemon.__dict__


def test_every_metric_is_documented():
    with open(os.path.join(REPO, "docs", "operations.md")) as handle:
        doc = handle.read()
    missing = [name for name in EVERY_FAMILY if "| `%s` | %s |" % (name, EVERY_FAMILY[name]) not in doc]
    assert not missing, missing
