# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for integration tests on the namespace lab: a fresh lab per test and real ansible-playbook runs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pytest

from tests.lab import Lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.M)


def _need_root():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces and mounts)")


def ensure_collection_link() -> str:
    """ansible finds the collection at .build/collections/ansible_collections/floating/vip (hack/bootstrap.sh makes it)."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "floating", "vip")
    if not os.path.exists(os.path.join(link, "galaxy.yml")):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink("../../../..", link)
    return COLLECTIONS


@pytest.fixture(scope="module")
def module_lab():
    """One lab (2 servers, 1 client) shared by a module's tests, torn down after its last test even when one fails."""
    _need_root()
    lab = Lab()
    try:
        lab.up()
        yield lab
    finally:
        problems = lab.down()
        assert not problems, problems


@pytest.fixture
def lab():
    """A fresh lab (2 servers, 1 client) per test, torn down even when the test fails."""
    _need_root()
    lab = Lab()
    try:
        lab.up()
        yield lab
    finally:
        problems = lab.down()
        assert not problems, problems


@pytest.fixture
def lab_factory():
    """Build labs of other sizes: ``lab_factory(servers=3, clients=2)``; all torn down at the end."""
    _need_root()
    labs: List[Lab] = []

    def make(**kw) -> Lab:
        lab = Lab(**kw)
        labs.append(lab)
        return lab.up()

    try:
        yield make
    finally:
        problems = []
        for lab in labs:
            problems += lab.down()
        assert not problems, problems


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    stats: Dict[str, Dict[str, int]] = field(default_factory=dict)  # host -> ok/changed/failed/...
    results: Dict[str, List[dict]] = field(default_factory=dict)  # host -> task results (json callback only)

    def changed(self, host: str) -> int:
        return self.stats[host]["changed"]

    def result(self, host: str, index: int = -1) -> dict:
        return self.results[host][index]


def ansible_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": ensure_collection_link(),
        "ANSIBLE_CONFIG": os.path.join(REPO, "tests", "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCAL_TEMP": os.path.join(REPO, ".build", "ansible-tmp"),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    })
    env.update(extra or {})
    return env


def run_playbook(lab: Lab, playbook: str, *, check: bool = False, diff: bool = False, structured: bool = True,
                 extra_vars: Optional[dict] = None, timeout: float = 180) -> PlaybookRun:
    """Run ``ansible-playbook`` on the lab's inventory.

    ``playbook`` is a path or YAML text. ``structured`` uses the ansible.posix.json callback so each
    task's result is returned; otherwise the default text callback (what a user sees, e.g. for --diff).
    """
    if "\n" in playbook:
        path = os.path.join(lab.workdir, "play-%d.yml" % len(os.listdir(lab.workdir)))
        with open(path, "w") as f:
            f.write(playbook)
        playbook = path
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory_path, playbook]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if structured else {})
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=timeout, check=False)
    run = PlaybookRun(proc.returncode, proc.stdout, proc.stderr)
    if structured:
        start = proc.stdout.find("{")
        data = json.loads(proc.stdout[start:]) if start >= 0 else {"plays": [], "stats": {}}
        # The json callback says "failures"; the text recap says "failed": offer both.
        run.stats = {h: dict(s, failed=s.get("failures", 0)) for h, s in data.get("stats", {}).items()}
        for play in data.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    res = dict(res, _task=task["task"]["name"])
                    run.results.setdefault(host, []).append(res)
    else:
        for m in RECAP.finditer(proc.stdout):
            run.stats[m.group("host")] = {k: int(v) for k, v in m.groupdict().items() if k != "host"}
    return run


def playbook(*plays) -> str:
    """YAML text of a playbook; each play is ``(hosts, [task dicts])``. Tasks get names when they lack one."""
    import yaml
    doc = []
    for i, (hosts, tasks) in enumerate(plays):
        named = [dict({"name": "Task %d" % j}, **t) if "name" not in t else t for j, t in enumerate(tasks)]
        doc.append({"name": "Play %d" % i, "hosts": hosts, "gather_facts": False, "tasks": named})
    return "---\n" + yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)


def play(hosts: str, tasks: str, name: str = "Lab play") -> str:
    """A one-play playbook around ``tasks`` (YAML list text, indented by 4)."""
    return "---\n- name: %s\n  hosts: %s\n  gather_facts: false\n  tasks:\n%s" % (name, hosts, tasks)


@pytest.fixture(scope="session", autouse=True)
def vipd_engine_compiled():
    """Every test that starts vipd, through peers.Node or the launcher directly, runs it with its engine compiled,
    as the role deploys it (peers.compile_engine)."""
    from tests.integration import peers
    peers.compile_engine()


@pytest.fixture(scope="session", autouse=True)
def molecule_done_first():
    """When hack/test.sh runs the Molecule scenarios in the background (beside sanity, lint and the unit tests), no
    integration test starts before they end: they load both cores, and the tests here time failovers."""
    from tests.integration import molecule_runs  # it imports this file
    directory, pid = molecule_runs.background()
    if directory is not None:
        molecule_runs.wait_results(directory, pid)  # test_molecule.py reports what they found
    yield
