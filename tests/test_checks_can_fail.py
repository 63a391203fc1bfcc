"""Quality checks that can fail: uniqueness also over rows with an empty key column, and the plausible-volume
check on each side of its factor. Expected outcomes are worked by hand."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.checks import _table_level
from pipelines.checks.suites import plausible_volume
from sources.expectations import Suite


def test_uniqueness_checks_rows_with_an_empty_key_column():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    # Brå-style: municipality rows have no area name; two of them repeat the same key (0486, NULL, 2024)
    con.execute("CREATE TABLE staging.t AS SELECT * FROM (VALUES ('0486', NULL, 2024), ('0486', NULL, 2024), "
                "('0486', 'Centrum', 2024), ('0484', NULL, 2024), (NULL, NULL, NULL)) v(m, area, y)")
    suite = Suite(feed="bra_stats", table="staging.t", row_id=["m"], expectations=[])
    spec = {"type": "expect_compound_columns_to_be_unique", "column_list": ["m", "area", "y"]}
    [outcome] = _table_level(con, suite, [spec])
    # 4 rows are compared (the all-empty key is not), 2 of them share a key
    assert (outcome.success, outcome.unexpected_count, outcome.element_count) == (False, 2, 4)
    assert outcome.rows == ["0486 | None | 2024"]
    con.execute("DELETE FROM staging.t WHERE area IS NULL AND m = '0486'")
    con.execute("INSERT INTO staging.t VALUES ('0486', NULL, 2024)")
    [outcome] = _table_level(con, suite, [spec])
    assert (outcome.success, outcome.element_count) == (True, 3)  # one of each key left


def _months(values: list[float]) -> pd.DataFrame:
    months = pd.period_range("2024-01", periods=len(values), freq="M").to_timestamp()
    return pd.DataFrame({"d": months, "n": values})


@pytest.mark.parametrize("last,ok", [
    (300.0, True),    # 3 × the median (100): at the factor, not beyond it
    (301.0, False),   # beyond
    (34.0, True),     # 100 / 3 = 33,3: 34 is within
    (33.0, False),    # 33 < 33,3: a half-exported file
])
def test_plausible_volume_on_each_side_of_its_factor(last, ok):
    frame = _months([100.0] * 12 + [last])
    spec = {"type": "lagesbild_expect_plausible_volume", "column": "d", "count_column": "n", "window": 12,
            "max_factor": 3}
    outcome = plausible_volume(frame, spec)
    assert outcome.success is ok and outcome.element_count == 1
    if not ok:
        assert outcome.rows == [f"alla: 2025-01 = {last:.0f} mot median 100 för de 12 månaderna före"]
