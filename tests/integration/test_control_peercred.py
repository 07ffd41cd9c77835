# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vipd's control socket checks who is calling (SO_PEERCRED), beyond the socket file's 0600 mode.

Needs root: a real client process runs as nobody (uid/gid 65534, no supplementary groups). With the socket's
mode it cannot even connect; with the mode opened up (a mistake, a bind mount) it connects and is answered
with a JSON refusal, and the command never runs. Root is served; so is the socket owner's uid.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from .conftest import _need_root, ensure_collection_link

if ensure_collection_link() not in sys.path:
    sys.path.insert(0, ensure_collection_link())
from ansible_collections.floating.vip.plugins.module_utils.vrrp import control  # noqa: E402  pylint: disable=wrong-import-position

NOBODY = 65534
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print(json.dumps({"connect_error": exc.errno}))
    sys.exit(0)
s.sendall(b'{"command": "status"}\n')
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(json.dumps({"uid": __import__("os").getuid(), "reply": json.loads(data)}))
"""


def as_nobody(path):
    proc = subprocess.run([SYSTEM_PYTHON, "-c", CLIENT, path], user=NOBODY, group=NOBODY, extra_groups=[],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_client_of_another_uid_is_refused_with_json():
    _need_root()
    base = tempfile.mkdtemp(prefix="fv-ctl-")
    try:
        os.chmod(base, 0o755)  # nobody may reach the socket's directory
        path = os.path.join(base, "vipd.sock")
        calls = []

        def status(_request):
            calls.append(os.getpid())
            return {"ok": True, "instances": []}

        server = control.ControlServer(path, {"status": status})

        async def scenario():
            await server.start()
            loop = asyncio.get_running_loop()
            try:
                results = {"mode": stat.S_IMODE(os.stat(path).st_mode), "owner": server.owner_uid}
                results["closed"] = await loop.run_in_executor(None, as_nobody, path)
                os.chmod(path, 0o666)  # only the credentials check is left
                results["open"] = await loop.run_in_executor(None, as_nobody, path)
                results["calls_after_refusal"] = list(calls)
                server.owner_uid = NOBODY  # as if nobody ran the daemon: its own uid is served
                results["owner"] = await loop.run_in_executor(None, as_nobody, path)
                return results
            finally:
                server.close()

        results = asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert results["mode"] == 0o600 and results["owner"] is not None
    assert results["closed"] == {"connect_error": 13}  # EACCES: the file mode alone already keeps nobody out
    refused = results["open"]
    assert refused["uid"] == NOBODY
    assert refused["reply"]["ok"] is False and refused["reply"]["code"] == "forbidden"
    assert results["calls_after_refusal"] == []
    assert results["owner"]["reply"] == {"ok": True, "instances": []}
