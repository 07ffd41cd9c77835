# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Prometheus server (Debian's `prometheus` package) and `promtool` inside a lab namespace, for vipd's metrics.

The server runs with `ip netns exec` (so the PID we hold is Prometheus itself, killed by that PID), its own
configuration, data directory and port in a temporary directory removed afterwards. HTTP requests into a
namespace go through this interpreter run inside it (no curl needed).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from typing import List, Optional, Sequence, Tuple

from tests.lab.lab import wait_until

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")

_GET = r"""
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], method=sys.argv[2])
try:
    with urllib.request.urlopen(request, timeout=float(sys.argv[3])) as reply:
        status, body = reply.status, reply.read()
except urllib.error.HTTPError as exc:
    status, body = exc.code, exc.read()
sys.stdout.write("%d\n" % status)
sys.stdout.flush()
sys.stdout.buffer.write(body)
"""


def ns_http(netns: str, url: str, method: str = "GET", timeout: float = 5.0) -> Tuple[int, str]:
    """(status, body) of one HTTP request made from inside `netns`."""
    proc = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", _GET, url, method, str(timeout)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 10, check=False)
    if proc.returncode != 0:
        raise OSError("GET %s in %s failed: %s" % (url, netns, proc.stderr.decode(errors="replace")[-500:]))
    status, _sep, body = proc.stdout.partition(b"\n")
    return int(status), body.decode("utf-8")


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess:
    """`promtool check metrics` on an exposition (it lints too: exit 0 and no output means clean)."""
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30, check=False)


class PrometheusServer:
    """`prometheus` in a namespace scraping `targets` every second; stop() kills it by PID and removes its files."""

    def __init__(self, netns: str, targets: Sequence[str], port: int = 9090):
        self.netns = netns
        self.targets = list(targets)
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="fv-prometheus-")
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def start(self) -> "PrometheusServer":
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as handle:
            handle.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                         "scrape_configs:\n  - job_name: vipd\n    static_configs:\n      - targets: %s\n" % json.dumps(self.targets))
        log = open(os.path.join(self.dir, "prometheus.log"), "w")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, PROMETHEUS, "--config.file=" + config,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"), "--web.listen-address=127.0.0.1:%d" % self.port],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited rc=%s:\n%s" % (self.proc.returncode, self.log()[-3000:]))
            try:
                return ns_http(self.netns, self.url + "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(ready, timeout=30, interval=0.3, what="prometheus ready")
        return self

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "prometheus.log")) as handle:
                return handle.read()
        except OSError:
            return ""

    def query(self, promql: str) -> List[dict]:
        """The instant vector of a PromQL query: [{metric: {labels}, value: [ts, "v"]}]."""
        status, body = ns_http(self.netns, self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        assert status == 200, body[:500]
        reply = json.loads(body)
        assert reply["status"] == "success", reply
        return reply["data"]["result"]

    def wait_query(self, promql: str, predicate, timeout: float = 30, what: str = "") -> List[dict]:
        last = {}

        def check():
            last["result"] = self.query(promql)
            return last["result"] if predicate(last["result"]) else None
        try:
            return wait_until(check, timeout=timeout, interval=0.5, what=what or promql)
        except TimeoutError:
            raise AssertionError("%s: last result %s\n%s" % (what or promql, last.get("result"), self.log()[-2000:])) from None

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)  # the process we started, by PID
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
