# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real `keepalived -t` (2.2.7) agrees with the verdicts recorded in the parity corpus.

tests/unit/fixtures/configs/parity/*.conf records keepalived's verdict (`# parity: ok|fail`) and words
(`# keepalived: ...`); tests/unit/vrrp/test_config_fidelity.py checks that `vipd check` gives the same
verdict. Here keepalived is run on every file, in a private network namespace holding the interfaces
the corpus names (eth0, eth1: keepalived -t reads the host's interfaces) and a private mount namespace,
so nothing of the host (its interfaces, /etc/keepalived, /run) is used or touched.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.abspath(os.path.join(HERE, "..", "unit", "fixtures", "configs", "parity"))
PARITY_FILES = sorted(glob.glob(os.path.join(PARITY, "*.conf")))

pytestmark = [pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]


def parity_header(path):
    head = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("# "):
                break
            key, _sep, value = line[2:].rstrip("\n").partition(": ")
            head[key] = value
    return head


@pytest.fixture(scope="module")
def netns():
    if os.geteuid() != 0:
        pytest.skip("keepalived -t reads the interfaces: needs root for a throwaway network namespace")
    ns = "fvpar-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"], check=True, timeout=20)
        for dev, addr in (("lo", None), ("eth0", "198.51.100.1/24"), ("eth1", "198.51.100.2/24")):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True, timeout=20)
            if addr:
                subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True, timeout=20)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def keepalived_t(ns, path, tmp_path):
    proc = subprocess.run(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
                           "keepalived", "-t", "-n", "-l", "-D", "-f", path,
                           "-p", str(tmp_path / "k.pid"), "-r", str(tmp_path / "v.pid")],
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_corpus_is_there():
    assert len(PARITY_FILES) >= 40


@pytest.mark.parametrize("path", PARITY_FILES, ids=[os.path.basename(p) for p in PARITY_FILES])
def test_keepalived_t_gives_the_recorded_verdict(netns, path, tmp_path):
    head = parity_header(path)
    status, out = keepalived_t(netns, path, tmp_path)
    assert (status == 0) == (head["parity"] == "ok"), "keepalived -t exit %d on %s:\n%s" % (status, path, out)
    if status:
        # keepalived -t: 4 file not found, 5 config error, 6 security error; the recorded words are in its output.
        assert status in (4, 5, 6) and head["keepalived"] in re.sub(r"\([^)]*Line \d+\) ", "", out), out
