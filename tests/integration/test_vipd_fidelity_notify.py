# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notify fidelity against keepalived 2.2.7, in lab namespaces.

- `notify_master SCRIPT USER` runs as USER (uid, gid and no supplementary group of root's), a hook without
  one as the default script user (root here: no keepalived_script user);
- vrrp_notify_fifo (+ _script, fed the fifo's path) gets keepalived's lines, from vipd and from keepalived
  in the same scenario: state changes, BACKUP_PRIORITY / MASTER_PRIORITY (vrrp_notify_priority_changes,
  driven by track_file), STOP;
- notify_master_rx_lower_pri: a master that hears a lower-priority master (one-way VRRP loss) runs it and
  writes MASTER_RX_LOWER_PRI, with vipd or keepalived as that master (both orders).
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile

import pytest

from tests.lab.lab import wait_until

from .faults import Firewall
from .peers import Node, stop_all

pytestmark = pytest.mark.lab

VIP = "198.51.100.100"
LINE = re.compile(r'^(INSTANCE|GROUP) "[^"]+" (MASTER|BACKUP|FAULT|STOP|DELETED|MASTER_RX_LOWER_PRI|MASTER_PRIORITY|BACKUP_PRIORITY) \d+$')


def conf(priority, global_extra="", extra="", blocks=""):
    return ("global_defs {\n    router_id lab\n%s}\n" % global_extra + blocks +
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 62\n    priority %d\n"
            "    advert_int 1\n    version 2\n%s    virtual_ipaddress {\n        %s/24\n    }\n}\n" % (priority, extra, VIP))


@pytest.fixture
def shared_dir():
    """A directory every user can write (the scripts run as nobody), removed at the end."""
    path = tempfile.mkdtemp(prefix="fv-notify-")
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root_dir():
    """A directory only root writes: scripts that run as root must live there (script security)."""
    path = tempfile.mkdtemp(prefix="fv-notify-")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_lines(path):
    try:
        with open(path) as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def test_notify_script_runs_as_the_named_user(lab, shared_dir):
    as_nobody, as_default = os.path.join(shared_dir, "master-ids"), os.path.join(shared_dir, "backup-ids")
    extra = ("    notify_master \"/bin/sh -c 'id -u > %s; id -g >> %s; id -G >> %s'\" nobody\n"
             "    notify_backup \"/bin/sh -c 'id -u > %s'\"\n" % (as_nobody, as_nobody, as_nobody, as_default))
    node = Node(lab, "server1", "vipd", conf(150, extra=extra), tag="user")
    try:
        node.start()
        wait_until(lambda: len(read_lines(as_nobody)) == 3 and read_lines(as_default), timeout=15, what="both notify scripts")
        nobody = pwd.getpwnam("nobody")
        # the USER word is the user, not an argument; its own group only (keepalived setgroups(1, &gid))
        assert read_lines(as_nobody) == [str(nobody.pw_uid), str(nobody.pw_gid), str(nobody.pw_gid)]
        assert read_lines(as_default) == ["0"]
    finally:
        problems = stop_all([node])
    assert not problems, problems


def fifo_globals(base):
    script = base + ".sh"
    with open(script, "w") as handle:
        handle.write('#!/bin/sh\n# keepalived runs it with the fifo path as its last argument\nexec cat "$1" >> %s\n' % (base + ".out"))
    os.chmod(script, 0o755)
    return ("    vrrp_notify_fifo %s.fifo\n    vrrp_notify_fifo_script %s\n    vrrp_notify_priority_changes\n" % (base, script))


def test_notify_fifo_lines_match_keepalived(lab, root_dir):
    nodes = []
    files = {}
    try:
        for host, impl, prio in (("server1", "vipd", 150), ("server2", "keepalived", 100)):
            base = os.path.join(root_dir, impl)
            files[impl] = base
            with open(base + ".track", "w") as handle:
                handle.write("0\n")
            blocks = "track_file TF {\n    file %s.track\n    weight 1\n}\n" % base
            nodes.append(Node(lab, host, impl, conf(prio, "    script_user root\n" + fifo_globals(base), "    track_file {\n        TF\n    }\n",
                                                    blocks), tag="fifo"))
        vipd, keepalived = nodes
        vipd.start()
        keepalived.start()
        wait_until(lambda: vipd.is_master() and keepalived.state() == "BACKUP", timeout=20, what="vipd master, keepalived backup")
        wait_until(lambda: 'INSTANCE "VI_1" MASTER 150' in read_lines(files["vipd"] + ".out")
                   and 'INSTANCE "VI_1" BACKUP 100' in read_lines(files["keepalived"] + ".out"), timeout=10, what="state lines")

        # priority changes (track_file value x weight 1): a BACKUP_PRIORITY / MASTER_PRIORITY line from each
        for impl, value in (("keepalived", 5), ("vipd", 3)):
            with open(files[impl] + ".track.new", "w") as handle:
                handle.write("%d\n" % value)
            os.rename(files[impl] + ".track.new", files[impl] + ".track")
        wait_until(lambda: 'INSTANCE "VI_1" BACKUP_PRIORITY 105' in read_lines(files["keepalived"] + ".out")
                   and 'INSTANCE "VI_1" MASTER_PRIORITY 153' in read_lines(files["vipd"] + ".out"), timeout=10, what="priority lines")

        vipd.stop()
        wait_until(lambda: 'INSTANCE "VI_1" MASTER 105' in read_lines(files["keepalived"] + ".out"), timeout=15, what="keepalived MASTER line")
        wait_until(lambda: any(line.startswith('INSTANCE "VI_1" STOP ') for line in read_lines(files["vipd"] + ".out")), timeout=10,
                   what="vipd STOP line")
        for impl in ("vipd", "keepalived"):
            lines = read_lines(files[impl] + ".out")
            assert lines and all(LINE.match(line) for line in lines), (impl, lines)
        assert not os.path.exists(files["vipd"] + ".fifo"), "vipd removes the fifo it created"
    finally:
        problems = stop_all(nodes)
    assert not problems, problems


@pytest.mark.parametrize("high_impl, low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_master_hearing_lower_priority_runs_notify_master_rx_lower_pri(lab, root_dir, high_impl, low_impl):
    base = os.path.join(root_dir, high_impl)
    rx = base + ".rx"
    extra = "    notify_master_rx_lower_pri \"/bin/sh -c 'echo rx >> %s'\"\n" % rx
    high = Node(lab, "server1", high_impl, conf(150, "    script_user root\n" + fifo_globals(base), extra), tag="rx")
    low = Node(lab, "server2", low_impl, conf(100, "    script_user root\n"), tag="rx")
    nodes = [high, low]
    try:
        high.start()
        low.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP", timeout=20, what="%s master" % high_impl)
        assert not read_lines(rx)
        # the low node no longer hears the master: it becomes master too, and the high one hears its adverts
        Firewall(lab)._add('oifname "server2" ip protocol 112 drop')  # one way: server1 still hears server2
        wait_until(lambda: low.state() == "MASTER", timeout=15, what="split brain")
        wait_until(lambda: read_lines(rx) and 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150' in read_lines(base + ".out"),
                   timeout=10, what="notify_master_rx_lower_pri on %s" % high_impl)
        assert set(read_lines(rx)) == {"rx"}
    finally:
        problems = stop_all(nodes)
    assert not problems, problems
