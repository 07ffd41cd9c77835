# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: every benchmark, one table each.

Options go to failover.py (see its --help), except ``--no-health``, which skips the
health-check benchmark (health_failover.py, run with its own defaults), and ``--no-election``,
which skips the election/preemption cycles (election_cycles.py, here 20 cycles per scenario,
4 scenarios at once; run it alone for the issue's 500). ``--soak`` adds the soak benchmark (soak.py: random
faults on a 3-node group with 20 VRIDs, 5 minutes each for vipd and keepalived; off by default for its length).
``--no-scale`` skips the scale benchmark (scale.py: hundreds of instances and VIPs, issue 11; about 22 minutes, 12 of
them the busy-CPU runs at advert 10 ms).
``--no-routed`` skips the routed-VIP benchmark (routed_failover.py: BGP through FRR, issue 14; about 2 minutes).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.benchmarks import failover  # noqa: E402


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    health = "--no-health" not in argv
    election = "--no-election" not in argv
    soak = "--soak" in argv
    scale = "--no-scale" not in argv
    routed = "--no-routed" not in argv
    argv = [a for a in argv if a not in ("--no-health", "--no-election", "--soak", "--no-scale", "--no-routed")]
    rc = failover.main(argv)
    if health and rc == 0 and "-h" not in argv and "--help" not in argv:
        try:
            from tests.benchmarks import health_failover
        except ImportError:
            return rc
        sys.stdout.flush()
        print()
        rc = health_failover.main([])
    if rc == 0 and "-h" not in argv and "--help" not in argv:
        from tests.benchmarks import playbook_rerun  # vrrp_pair.yml re-run vs a ping play, 10 lab hosts
        print()
        rc = playbook_rerun.main([])
    if routed and rc == 0 and "-h" not in argv and "--help" not in argv:
        from tests.benchmarks import routed_failover  # issue 14: routed VIPs (BGP through FRR), hard and graceful
        sys.stdout.flush()
        print()
        rc = routed_failover.main([])
    if election and rc == 0 and "-h" not in argv and "--help" not in argv:
        from tests.benchmarks import election_cycles  # failures per N election/preemption cycles
        sys.stdout.flush()
        print()
        rc = election_cycles.main(["--cycles", "20", "--jobs", "4"])
    if scale and rc == 0 and "-h" not in argv and "--help" not in argv:
        from tests.benchmarks import scale as scale_bench  # issue 11: start, takeover, reload, idle, GARPs at scale
        sys.stdout.flush()
        print()
        rc = scale_bench.main([])
    if soak and rc == 0 and "-h" not in argv and "--help" not in argv:
        from tests.benchmarks import soak as soak_bench  # issue 9: random faults, vipd and keepalived side by side
        sys.stdout.flush()
        print()
        rc = soak_bench.main(["--minutes", "5", "--impl", "both"])
    return rc


if __name__ == "__main__":
    sys.exit(main())
