# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Molecule scenarios' runs, for test_molecule.py: build the image, run every scenario side by side.

``python -m tests.integration.molecule_runs DIR`` does both in the background and writes DIR/results.json:
hack/test.sh starts it before sanity, lint and the unit tests, which need no network timing, so the slowest
part of the suite (6-7 minutes) runs beside them; the integration tests then wait for it before their first
test (FLOATING_VIP_MOLECULE_DIR / _PID), so no timed test shares the machine with it. Without those variables
test_molecule.py runs the scenarios itself, as before.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from tests.integration.conftest import ensure_collection_link

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(REPO, "extensions", "molecule")
CONTAINERS_CONF = os.path.join(MOLECULE_DIR, "containers.conf")
BUILD = os.path.join(MOLECULE_DIR, "images", "build.sh")
BIN = os.path.dirname(sys.executable)
TAIL_LINES = 120


def _env() -> dict:
    env = dict(os.environ)
    env.update({
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "CONTAINERS_CONF": CONTAINERS_CONF,
        "ANSIBLE_COLLECTIONS_PATH": ensure_collection_link(),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    })
    # molecule writes its own ansible.cfg into the scenario's ephemeral directory and points ANSIBLE_CONFIG at it.
    env.pop("ANSIBLE_CONFIG", None)
    return env


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                          timeout=120, check=False)


def _leftovers(prefix: str) -> list:
    """Containers and networks of ours still present (every one in a scenario is named PREFIX...)."""
    names = []
    for container in json.loads(_podman("ps", "-a", "--format", "json").stdout or "[]"):
        names += [n for n in container.get("Names", []) if n.startswith(prefix)]
    names += [n for n in _podman("network", "ls", "--format", "{{.Name}}").stdout.split() if n.startswith(prefix.rstrip("-"))]
    return names


def _clean_up(scenario: str, prefix: str) -> list:
    """After molecule died before its own destroy: molecule destroy, then podman directly (molecule may be what broke)."""
    if not _leftovers(prefix):
        return []
    subprocess.run([os.path.join(BIN, "molecule"), "destroy", "-s", scenario], cwd=REPO, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=_env(), timeout=300, check=False)
    left = _leftovers(prefix)
    for name in left:
        if _podman("container", "exists", name).returncode == 0:
            _podman("rm", "--force", "--time", "5", name)
    for name in left:
        if _podman("network", "exists", name).returncode == 0:
            _podman("network", "rm", name)
    return left


SCENARIOS = [
    ("default", "fv-mol-default-"),
    ("keepalived_mix", "fv-mol-kamix-"),
    ("group_peers", "fv-mol-peers-"),
]
SCENARIO_TIMEOUT = 1500


def run_scenarios(logs: str) -> dict:
    """``molecule test`` of every scenario, side by side: each has its own container names, podman network,
    subnet (203.0.113.16/28, .32/28, .48/28) and ephemeral directory, so they share nothing but the image,
    and the wall time is the slowest scenario's rather than the sum. Returns {scenario: [rc, output, left]}."""
    assert shutil.which("podman"), "podman is missing although the image build installs it"
    running = {}
    results = {}
    try:
        for scenario, _prefix in SCENARIOS:
            log = open(os.path.join(logs, scenario + ".log"), "w")
            running[scenario] = (subprocess.Popen([os.path.join(BIN, "molecule"), "test", "-s", scenario], cwd=REPO,
                                                  stdout=log, stderr=subprocess.STDOUT, text=True, env=_env()), log)
        deadline = time.monotonic() + SCENARIO_TIMEOUT  # one bound for all: they run at the same time
        for scenario, (proc, log) in running.items():
            try:
                rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait(timeout=60)
            log.close()
            with open(log.name) as f:
                results[scenario] = [rc, f.read(), []]
    finally:
        for scenario, (proc, log) in running.items():
            if proc.poll() is None:  # an exception above: end what we started
                proc.kill()
                proc.wait(timeout=60)
            log.close()
        # Each sequence ends with destroy; this only finds something when molecule itself died (timeout, crash).
        for scenario, prefix in SCENARIOS:
            left = _clean_up(scenario, prefix)
            if scenario in results:
                results[scenario][2] = left
    return results


def build_image() -> subprocess.CompletedProcess:
    """The systemd image, built once with extensions/molecule/images/build.sh, or reused."""
    return subprocess.run([BUILD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), timeout=1200,
                          check=False)


IMAGE = "localhost/floating-vip-systemd:bookworm"
RESULTS = "results.json"
WAIT_LIMIT = 1200 + SCENARIO_TIMEOUT + 600  # the build, the scenarios, their clean-up


def background() -> tuple:
    """(directory, runner PID) when hack/test.sh started the runs in the background, else (None, None)."""
    directory = os.environ.get("FLOATING_VIP_MOLECULE_DIR")
    pid = os.environ.get("FLOATING_VIP_MOLECULE_PID")
    return (directory, int(pid)) if directory and pid and pid.isdigit() else (None, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our child's zombie (the runner is hack/test.sh's child, not pytest's) reads as gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_results(directory: str, pid: int, limit: float = WAIT_LIMIT) -> dict:
    """The background runner's results.json, once written: {"scenarios": {...}} or {"build_error": text}."""
    path = os.path.join(directory, RESULTS)
    deadline = time.monotonic() + limit
    while not os.path.exists(path):
        if not _alive(pid):
            log = os.path.join(directory, "runner.log")
            last = tail(open(log).read()) if os.path.exists(log) else "(no runner.log)"
            return {"runner_error": "the background Molecule runner (pid %d) ended without results:\n%s" % (pid, last)}
        if time.monotonic() > deadline:
            return {"runner_error": "no Molecule results in %s after %d s" % (directory, limit)}
        time.sleep(2.0)
    with open(path) as f:
        return json.load(f)


def _write(directory: str, results: dict) -> None:
    tmp = os.path.join(directory, RESULTS + ".tmp")
    with open(tmp, "w") as f:
        json.dump(results, f)
    os.replace(tmp, os.path.join(directory, RESULTS))


def main(argv) -> int:
    directory = argv[1]

    def stop(signum, _frame):
        raise SystemExit(128 + signum)  # run_scenarios' finally ends what it started and cleans up
    signal.signal(signal.SIGTERM, stop)
    build = build_image()
    if build.returncode != 0:
        _write(directory, {"build_error": "building the Molecule image failed (%s):\n%s" % (BUILD, tail(build.stdout))})
        return 1
    _write(directory, {"scenarios": run_scenarios(directory)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
