# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_instance with the keepalived back end: `keepalived -t` (which checks interfaces) is its judge, so it
runs inside a throwaway namespace whose veth is vip0."""
from __future__ import annotations

import json
import os
import sys

import pytest

MODULE = "ansible_collections.floating.vip.plugins.modules.vrrp_instance"


def run_module(netns, tmp, args):
    path = os.path.join(tmp, "args-%d.json" % len(os.listdir(tmp)))
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    proc = netns.run([sys.executable, "-m", MODULE, path], env=dict(os.environ, PYTHONPATH=netns.collections))
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))


@pytest.mark.keepalived
def test_keepalived_backend_validates_with_keepalived_t(tmp_path, netns):
    tmp = str(tmp_path)
    conf_d = os.path.join(tmp, "keepalived.d")
    main = os.path.join(tmp, "keepalived.conf")
    with open(main, "w") as f:
        f.write("global_defs {\n    router_id fvu\n}\ninclude %s/*.conf\n" % conf_d)
    args = dict(name="VI_KA", backend="keepalived", interface=netns.dev, virtual_router_id=77,
                virtual_ipaddresses=["198.51.100.77/32"], conf_dir=conf_d, main_config=main)
    rc, res = run_module(netns, tmp, args)
    assert rc == 0 and res["changed"], res
    # vipd's parser knows no interface list; keepalived -t does, and its verdict restores the file.
    before = open(res["path"]).read()
    rc, res = run_module(netns, tmp, dict(args, interface="fvnosuch0"))
    assert rc != 0 and "keepalived -t" in res["msg"] and "fvnosuch0" in res["msg"]
    assert open(os.path.join(conf_d, "VI_KA.conf")).read() == before
    # Without a main config the file alone is checked before anything is written.
    os.unlink(main)
    rc, res = run_module(netns, tmp, dict(args, name="VI_KB", virtual_router_id=78, interface="fvnosuch0"))
    assert rc != 0 and "keepalived -t" in res["msg"] and not os.path.exists(os.path.join(conf_d, "VI_KB.conf"))
