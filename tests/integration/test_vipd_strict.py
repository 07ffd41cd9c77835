# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_strict in a mixed vipd/keepalived group (issue 10).

keepalived 2.2.7 drops authentication in strict mode ("Strict mode does not support authentication.
Ignoring."). vipd used to keep `auth_type PASS`: each side then refused the other's adverts and a group of
one vipd and one keepalived ended with two masters. Both orders are tested: one master, adverts from it
only, no packet refused, and a failover to the other implementation.
"""
from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.lab import Lab, wait_until

from .peers import Capture, InstanceSpec, Node, render_config, stop_all

pytestmark = [pytest.mark.lab, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed")]

HIGH, LOW = 150, 100
ADV = 1.0


@pytest.fixture(scope="module")
def strict_lab():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces and mounts)")
    lab = Lab(servers=2, clients=1)
    try:
        lab.up()
        yield lab
    finally:
        problems = lab.down()
        assert not problems, problems


def strict_config(priority: int) -> str:
    spec = InstanceSpec(priority=priority, version=2, advert_int=ADV, auth_pass="s3cret")
    text = render_config([spec], notify_script="@NOTIFY@", router_id="strict")
    assert "auth_type PASS" in text
    return text.replace("global_defs {\n", "global_defs {\n    vrrp_strict\n", 1)


def _masters(nodes):
    return [n for n in nodes if n.state() == "MASTER" or n.holds()]


@pytest.mark.parametrize("high_impl,low_impl", [("vipd", "keepalived"), ("keepalived", "vipd")])
def test_strict_pass_authentication_group_has_one_master(strict_lab, high_impl, low_impl):
    lab = strict_lab
    for host in lab.server_names():
        lab.run(host, ["ip", "link", "set", "eth0", "up"], check=True)
    high = Node(lab, "server1", high_impl, strict_config(HIGH), tag="strict-" + high_impl)
    low = Node(lab, "server2", low_impl, strict_config(LOW), tag="strict-" + high_impl)
    nodes = [high, low]
    vipd = high if high_impl == "vipd" else low
    capture = Capture(lab).start()
    try:
        low.start()
        high.start()
        wait_until(lambda: high.is_master() and low.state() == "BACKUP" and not low.holds(),
                   timeout=3 * ADV + 10, interval=0.05, what="election (%s master)" % high)
        start_wall = time.time()
        for _sample in range(40):  # 4 s: one master at every sample
            assert _masters(nodes) == [high], "masters: %s" % _masters(nodes)
            time.sleep(0.1)
        frames = [f for f in capture.read() if f.kind == "vrrp" and f.ts >= start_wall]
        assert frames and {f.src_ip for f in frames} == {lab.ip(high.host)}
        assert all((f.version, f.priority) == (2, HIGH) for f in frames)
        # vipd logged keepalived's line, kept no password, and refused none of keepalived's adverts.
        log = vipd.log_text()
        assert "Strict mode does not support authentication. Ignoring." in log
        assert "s3cret" not in log
        assert vipd.invalid_packets() == {}, vipd.invalid_packets()
        # Failover to the other implementation.
        high.hard_fail()
        wait_until(low.is_master, timeout=3 * ADV + 1 + 10, interval=0.05, what="takeover by %s" % low)
        assert low.state() == "MASTER" and not high.running()
    finally:
        capture.stop()
        problems = stop_all(nodes)
        for node in nodes:
            node.link(True)
            node.flush_vips()
        assert not problems, problems
