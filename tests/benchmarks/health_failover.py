# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health-check failover benchmark: time from service failure to the client-visible VIP move.

A lab with two servers and a client; a TCP service (tests/integration/health_service.py) on each
server; server1 priority 150, server2 100, VRRPv2 advert_int 1 s; a TCP check with interval 1 s,
timeout 1 s, fall 2, rise 2, weight -100 on both servers. Three set-ups side by side:

  vipd + vrrp_script   the same bash /dev/tcp script keepalived runs
  vipd + vipd_check    the native asyncio TCP check (no fork)
  keepalived + vrrp_script

Each cycle kills server1's service (by PID) and times until the client's neighbour entry for the
VIP holds server2's MAC (the GARP arrived: what clients see), then restarts it and times the move
back (preemption after `rise`). Expected: about fall x interval + Master_Down_Interval (3 + 0.61 s)
for the failure. Not a test: prints a table.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration.peers import VIP, Node  # noqa: E402
from tests.lab import Lab, wait_until  # noqa: E402

SERVICE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration", "health_service.py")
TCP_PORT = 9000
SETUPS = ("vipd+script", "vipd+vipd_check", "keepalived+script")


def log(msg: str) -> None:
    sys.stderr.write("[health-bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def config(setup: str, ip: str, priority: int) -> str:
    if setup == "vipd+vipd_check":
        check = "vipd_check chk {\n    type tcp\n    host %s\n    port %d\n" % (ip, TCP_PORT)
    else:
        check = "vrrp_script chk {\n    script \"/bin/bash -c 'exec 3<>/dev/tcp/%s/%d'\"\n" % (ip, TCP_PORT)
    check += "    interval 1\n    timeout 1\n    fall 2\n    rise 2\n    weight -100\n}\n"
    return ("global_defs {\n    router_id bench\n    script_user root\n}\n" + check +
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority %d\n"
            "    advert_int 1\n    version 2\n    track_script {\n        chk\n    }\n    virtual_ipaddress {\n        %s/24 dev eth0\n    }\n"
            "    notify_master \"@NOTIFY@ VI_1 MASTER\"\n    notify_backup \"@NOTIFY@ VI_1 BACKUP\"\n    notify_fault \"@NOTIFY@ VI_1 FAULT\"\n}\n"
            % (priority, VIP))


class Service:
    def __init__(self, lab: Lab, host: str):
        self.lab, self.host, self.proc = lab, host, None

    def start(self) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.host(self.host).netns, sys.executable, SERVICE, self.lab.ip(self.host),
                                      "8080", str(TCP_PORT), "/nonexistent"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _client_sees(lab: Lab, mac: str) -> bool:
    lab.run("client1", ["ping", "-n", "-q", "-c", "1", "-W", "1", VIP], timeout=5)
    return lab.neigh("client1", VIP) == mac


def _wait_mac(lab: Lab, mac: str, timeout: float = 30.0) -> float:
    start = time.monotonic()
    wait_until(lambda: lab.neigh("client1", VIP) == mac, timeout=timeout, interval=0.005, what="client sees %s" % mac)
    return time.monotonic() - start


def run_setup(setup: str, reps: int) -> dict:
    impl = setup.split("+")[0]
    lab = Lab(servers=2, clients=1).up()
    services = {h: Service(lab, h) for h in ("server1", "server2")}
    nodes = []
    out = {"fail": [], "back": []}
    try:
        for svc in services.values():
            svc.start()
        for host, prio in (("server1", 150), ("server2", 100)):
            nodes.append(Node(lab, host, impl, config(setup, lab.ip(host), prio)).start())
        mac1, mac2 = lab.mac("server1"), lab.mac("server2")
        wait_until(lambda: _client_sees(lab, mac1), timeout=30, interval=0.2, what="server1 master")
        for rep in range(reps):
            services["server1"].stop()
            out["fail"].append(_wait_mac(lab, mac2))
            services["server1"].start()
            out["back"].append(_wait_mac(lab, mac1))
            log("%s rep %d: failure -> move %.2fs, restore -> back %.2fs" % (setup, rep + 1, out["fail"][-1], out["back"][-1]))
            time.sleep(1.0)
    finally:
        for node in nodes:
            node.kill()
        for svc in services.values():
            svc.stop()
        lab.down()
    return out


def fmt(values) -> str:
    if not values:
        return "-"
    return "%.2f s (min %.2f, max %.2f)" % (statistics.median(values), min(values), max(values))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--setups", default=",".join(SETUPS))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.stderr.write("needs root (network namespaces)\n")
        return 2
    results = {}
    for setup in args.setups.split(","):
        results[setup] = run_setup(setup, args.reps)
    mdi = 3 * 1.0 + (256 - 100) / 256.0
    print("Health-check failover (VRRPv2 advert_int 1 s; check interval 1 s, fall 2, rise 2, weight -100; %d reps)" % args.reps)
    # the first failing check runs 0..interval after the kill; fall-1 more intervals; then the backup's Master_Down_Interval
    print("expected failure -> move: between (fall-1) x interval + Master_Down_Interval = %.2f s and fall x interval + MDI = %.2f s"
          % (1.0 + mdi, 2.0 + mdi))
    print("%-20s | %-30s | %-30s" % ("setup", "service killed -> VIP moved", "service back -> VIP back"))
    print("-" * 86)
    for setup, res in results.items():
        print("%-20s | %-30s | %-30s" % (setup, fmt(res["fail"]), fmt(res["back"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
