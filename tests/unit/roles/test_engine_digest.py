# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's engine digest covers every engine file, so any code change redeploys and restarts vipd."""
from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLE = os.path.join(REPO, "roles", "vrrp")
ENGINE = os.path.join(REPO, "plugins", "module_utils")

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_vars: %s/vars/main.yml
    - ansible.builtin.copy:
        content: "{{ vrrp_engine_files | to_json }}"
        dest: %s
      vars:
        role_path: %s
"""


def test_digest_inputs_are_every_engine_python_file(tmp_path):
    out = tmp_path / "files.json"
    play = tmp_path / "play.yml"
    play.write_text(PLAY % (ROLE, out, ROLE))
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(play)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = sorted(os.path.relpath(os.path.realpath(p), os.path.realpath(ENGINE)) for p in json.loads(out.read_text()))
    on_disk = sorted(os.path.relpath(os.path.join(d, f), ENGINE)
                     for d, _dirs, files in os.walk(ENGINE) if "__pycache__" not in d for f in files if f.endswith(".py"))
    assert listed == on_disk
