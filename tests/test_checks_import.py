"""Great Expectations is imported on first need, without running the scipy.stats module it imports but no suite uses
(pipelines/checks/gx.py, ``LAZY_FOR_GE``); scipy.stats still works whole when something uses it."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

CODE = r"""
import sys
import pandas as pd
from pipelines.checks.suites import run_suite
from sources.expectations import Suite

assert "scipy.stats" not in sys.modules
frame = pd.DataFrame({"k": ["a", "b", "c"], "n": [1, 12, 10]})
suite = Suite(feed="x", table="staging.x", row_id=["k"], expectations=[
    {"type": "expect_column_values_to_be_between", "column": "n", "min_value": 0, "max_value": 10}])
[o] = run_suite(frame, suite)
print(o.success, o.unexpected_count, o.element_count, o.rows)
print(type(sys.modules["scipy.stats"]).__name__)
from scipy.stats import norm
import scipy.stats
print(norm.cdf(0.0), round(scipy.stats.binom.pmf(1, 2, 0.5), 9), type(sys.modules["scipy.stats"]).__name__)
"""


def test_great_expectations_validates_without_running_scipy_stats_until_something_uses_it():
    out = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    # 12 is above the bound of 10, 10 is on it (between is inclusive): one of three rows, row "b"
    assert lines[0] == "False 1 3 ['b']"
    assert lines[1] == "_LazyModule"  # GE imported it, nothing has run it
    assert lines[2] == "0.5 0.5 module"  # used: the whole module, run once
