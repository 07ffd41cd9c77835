# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One FRR speaker (zebra + bgpd, optionally bfdd) inside one network namespace, for lab tests.

Debian's frr package, never its system service: every daemon runs in the foreground under ``ip netns exec``
(which execs it, so the PID we hold is the daemon's), with its own config file, pid file, zebra socket and
vty socket directory in a work directory of its own. Stopping kills exactly those PIDs.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from typing import Dict, List, Optional

from .lab import LabError, wait_until

FRR_DIR = "/usr/lib/frr"


def available() -> Optional[str]:
    """None when zebra, bgpd and vtysh are installed, else what is missing (hack/bootstrap.sh installs frr)."""
    missing = [p for p in (os.path.join(FRR_DIR, "zebra"), os.path.join(FRR_DIR, "bgpd")) if not os.access(p, os.X_OK)]
    if not shutil.which("vtysh"):
        missing.append("vtysh")
    return ", ".join(missing) or None


class Speaker:
    """zebra + bgpd (+ bfdd) of one namespace. ``config`` is frr.conf text (router bgp ..., route-maps)."""

    DAEMONS = ("zebra", "bfdd", "bgpd")

    def __init__(self, netns: str, workdir: str, config: str, bfd: bool = False, bfd_config: str = ""):
        self.netns = netns
        self.dir = workdir
        self.bfd = bfd
        self.procs: Dict[str, subprocess.Popen] = {}
        os.makedirs(self.dir, exist_ok=True)
        shutil.chown(self.dir, "frr", "frr")  # the daemons drop to user frr (group frrvty for the vty socket)
        self.conf = os.path.join(self.dir, "frr.conf")
        with open(self.conf, "w") as handle:
            handle.write(config)
        os.chmod(self.conf, 0o644)
        self.bfd_conf = os.path.join(self.dir, "bfdd.conf")
        with open(self.bfd_conf, "w") as handle:
            handle.write(bfd_config)
        os.chmod(self.bfd_conf, 0o644)

    @property
    def zsock(self) -> str:
        return os.path.join(self.dir, "zserv.api")

    def _argv(self, daemon: str) -> List[str]:
        argv = [os.path.join(FRR_DIR, daemon), "-u", "frr", "-g", "frr", "-i", os.path.join(self.dir, daemon + ".pid"),
                "--vty_socket", self.dir, "-A", "127.0.0.1", "-P", "0", "--log", "file:" + os.path.join(self.dir, daemon + ".log")]
        if daemon == "zebra":
            # zebra gets no config of its own; -z is where bgpd/bfdd find it
            return argv + ["-f", "/dev/null", "-z", self.zsock]
        if daemon == "bfdd":
            return argv + ["-f", self.bfd_conf, "-z", self.zsock, "--bfdctl", os.path.join(self.dir, "bfdd.sock")]
        return argv + ["-f", self.conf, "-z", self.zsock]

    def start(self) -> "Speaker":
        for daemon in self.DAEMONS:
            if daemon == "bfdd" and not self.bfd:
                continue
            self.start_daemon(daemon)
            if daemon == "zebra":
                wait_until(lambda: os.path.exists(self.zsock) or self.procs["zebra"].poll() is not None, timeout=10,
                           interval=0.05, what="zebra socket in %s" % self.netns)
        return self

    def start_daemon(self, daemon: str) -> None:
        log = open(os.path.join(self.dir, daemon + ".out"), "a")
        try:
            self.procs[daemon] = subprocess.Popen(["ip", "netns", "exec", self.netns] + self._argv(daemon), stdin=subprocess.DEVNULL,
                                                  stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        time.sleep(0.05)
        if self.procs[daemon].poll() is not None:
            raise LabError("%s in %s exited rc=%s: %s" % (daemon, self.netns, self.procs[daemon].returncode, self.log(daemon)))

    def running(self, daemon: str) -> bool:
        proc = self.procs.get(daemon)
        return proc is not None and proc.poll() is None

    def log(self, daemon: str) -> str:
        out = []
        for suffix in (".out", ".log"):
            try:
                with open(os.path.join(self.dir, daemon + suffix)) as handle:
                    out.append(handle.read()[-3000:])
            except OSError:
                pass
        return "\n".join(out)

    def vtysh(self, *commands: str, timeout: float = 10) -> str:
        argv = ["vtysh", "--vty_socket", self.dir]
        for command in commands:
            argv += ["-c", command]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
        return proc.stdout + proc.stderr

    def kill(self, daemon: str, sig: int = signal.SIGKILL) -> None:
        """Signal one daemon this speaker started, by PID, and reap it."""
        proc = self.procs.get(daemon)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def stop(self) -> None:
        for daemon in reversed(self.DAEMONS):
            self.kill(daemon, signal.SIGTERM)
