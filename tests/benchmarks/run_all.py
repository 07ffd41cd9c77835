#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: every benchmark, one table each. Options are passed on (see failover.py --help)."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.benchmarks import failover  # noqa: E402


def main(argv=None) -> int:
    return failover.main(argv)


if __name__ == "__main__":
    sys.exit(main())
