# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Under `make test` (FLOATING_VIP_NO_SKIP=1) a skipped test is a failure: CI installs everything, so a
skip there means a check silently did not run."""
from __future__ import annotations

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("FLOATING_VIP_NO_SKIP") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = "skipped under make test, where every check must run: %s" % (report.longrepr,)


try:  # property-based tests (tests/unit/security): no example database written into the checkout
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - make test installs hypothesis
    pass
else:
    _hypothesis_settings.register_profile("floating-vip", database=None, deadline=None)
    _hypothesis_settings.load_profile("floating-vip")
