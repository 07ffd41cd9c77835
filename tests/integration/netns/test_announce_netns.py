# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""announce.py senders on a real veth inside a throwaway namespace, captured on the peer."""
from __future__ import annotations

import shutil

import pytest

from ansible_collections.floating.vip.plugins.module_utils import announce

CAPTURE = '''
import json, socket, select, time
from ansible_collections.floating.vip.plugins.module_utils import announce
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
cap.bind(("peer0", 0))
sent = %s
frames = []
deadline = time.monotonic() + 3.0
while time.monotonic() < deadline and len(frames) < 50:
    r, _, _ = select.select([cap], [], [], 0.2)
    if not r:
        if frames:
            break
        continue
    data = cap.recv(2048)
    if data[12:14] in (b"\\x08\\x06", b"\\x86\\xdd") and data[6:12] == bytes.fromhex("02005e100001"):
        if data[12:14] == b"\\x08\\x06" or data[54] == 136:
            frames.append(data.hex())
print(json.dumps({"sent": sent, "frames": frames}))
'''


def test_send_garp_on_veth(netns):
    out = netns.python(CAPTURE % 'announce.send_garp("vip0", "198.51.100.10", count=2)')
    assert out["sent"] == 4
    want = [announce.garp_frame("02:00:5e:10:00:01", "198.51.100.10", f).hex() for f in ("request", "reply")] * 2
    assert out["frames"] == want


def test_send_na_on_veth(netns):
    out = netns.python(CAPTURE % 'announce.announce("vip0", "2001:db8::10/64", count=3)')
    assert out["sent"] == 3
    assert out["frames"] == [announce.na_frame("02:00:5e:10:00:01", "2001:db8::10").hex()] * 3


def test_count_zero_sends_nothing(netns):
    out = netns.python(CAPTURE % 'announce.announce("vip0", "198.51.100.10", count=0)')
    assert out == {"sent": 0, "frames": []}


def test_unknown_interface(netns):
    out = netns.python('''
        import json
        from ansible_collections.floating.vip.plugins.module_utils import announce
        try:
            announce.send_garp("nosuch0", "198.51.100.10")
            print(json.dumps("no error"))
        except OSError as exc:
            print(json.dumps(str(exc)))
    ''')
    assert "nosuch0" in out


@pytest.mark.skipif(shutil.which("arping") is None, reason="arping not installed")
def test_request_form_matches_arping_u(netns):
    # arping -U is the reference for the request form: same ARP payload bytes (arping does not pad).
    code = CAPTURE % ('__import__("subprocess").run(["arping", "-U", "-c", "1", "-I", "vip0", "198.51.100.1"], '
                      'capture_output=True, timeout=10) and 0')
    out = netns.python(code)
    assert out["frames"], "arping frame not captured"
    ours = announce.garp_frame("02:00:5e:10:00:01", "198.51.100.1", "request")
    assert bytes.fromhex(out["frames"][0])[:42] == ours[:42]
