"""Known-answer tests for the honest-number rules (dashboards/STATISTICS.md). Expected values are worked by hand."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date

import duckdb
import pandas as pd
import pytest

from dashboards.policy import Policy, load_policy
from dashboards.statistics import (CLEAR, NO_CHANGE, POSSIBLE, apply_mask, change_signal, iso_week, poisson_z,
                                   quarter, rolling_12_months, same_period_last_year, sum_between, suppress,
                                   survey_change, tertial, year_to_date)

POLICY = Policy()  # the shipped defaults: 1–4 suppressed, z 2 / 3, no % below a base of 20


def test_shipped_policy_file_matches_the_documented_defaults():
    p = load_policy()
    assert (p.max_suppressed_count, p.change_possible, p.change_clear, p.min_base_for_percent, p.survey_min_n) == \
        (4, 2.0, 3.0, 20, 30)


@pytest.mark.parametrize("now,before,z,label,direction,percent,text", [
    # 2(√25 − √16) = 2(5 − 4) = 2 -> possible; base 16 < 20: no percent
    (25, 16, 2.0, POSSIBLE, "ökning", None, "möjlig förändring: ökning"),
    # 2(√49 − √100) = 2(7 − 10) = −6 -> clear; (49 − 100)/100 = −51 %
    (49, 100, -6.0, CLEAR, "minskning", -51.0, "tydlig förändring: minskning (−51\u00a0%)"),
    # 2(√100 − √81) = 2 -> possible; (100 − 81)/81 = +23,46 %
    (100, 81, 2.0, POSSIBLE, "ökning", 23.456790123456788, "möjlig förändring: ökning (+23\u00a0%)"),
    # 2(√30 − √25) = 0,954 -> nothing to report, even though +20 %
    (30, 25, 0.9544511501033224, NO_CHANGE, "", 20.0, NO_CHANGE),
    # 2(√4 − √0) = 4 -> clear, but a base of 0 gets no percent
    (4, 0, 4.0, CLEAR, "ökning", None, "tydlig förändring: ökning"),
])
def test_poisson_change_signal(now, before, z, label, direction, percent, text):
    s = change_signal(now, before, POLICY)
    assert s.z == pytest.approx(z) and poisson_z(now, before) == pytest.approx(z)
    assert (s.label, s.direction) == (label, direction)
    assert (s.percent is None and percent is None) or s.percent == pytest.approx(percent)
    assert s.text() == text


def test_change_thresholds_and_percent_base_are_policy():
    loose = replace(POLICY, change_possible=0.9, min_base_for_percent=30)
    s = change_signal(30, 25, loose)
    assert s.label == POSSIBLE and s.percent is None  # z 0,954 ≥ 0,9; base 25 < 30


def test_survey_change_is_called_only_when_the_interval_of_the_difference_excludes_zero():
    # 36 (31–40) -> 25 (20–31): se 9/3,919928 = 2,2960 and 11/3,919928 = 2,8062;
    # half-width 1,959964 × √(2,2960² + 2,8062²) = 1,959964 × 3,62575 = 7,10633; −11 ± 7,10633
    diff, low, high, supported = survey_change(36, 31, 40, 25, 20, 31)
    assert (diff, round(low, 3), round(high, 3), supported) == (-11, -18.106, -3.894, True)
    # 36 (31–40) -> 33 (28–38): half-width 1,959964 × √(2,2960² + 2,5510²) = 6,7272; −3 ± 6,7272 spans 0
    diff, low, high, supported = survey_change(36, 31, 40, 33, 28, 38)
    assert (diff, round(low, 3), round(high, 3), supported) == (-3, -9.727, 3.727, False)
    # non-overlapping intervals are always a change; overlapping ones can be too: 30 (27–33) -> 35 (32–38)
    assert survey_change(30, 27, 33, 35, 32, 38)[3] is True


TABLE = pd.DataFrame({"0-12": [10, 8, 20], "13-17": [3, 9, 15], "18-20": [12, 0, 6]},
                     index=["eget_beteende", "vald_nara", "foralder"])


def test_primary_and_secondary_suppression_on_a_table_whose_totals_would_give_a_cell_away():
    mask = suppress(TABLE, POLICY)
    # primary: 3 (eget, 13-17). Row eget then has one hidden cell: hide its smallest other non-zero, 10 (0-12).
    # Column 13-17 has one: hide 9 (vald). Column 0-12 now has one (10): hide 8 (vald, 0-12). Stable.
    expected = pd.DataFrame(False, index=TABLE.index, columns=TABLE.columns)
    for r, c in [("eget_beteende", "0-12"), ("eget_beteende", "13-17"), ("vald_nara", "0-12"), ("vald_nara", "13-17")]:
        expected.loc[r, c] = True
    pd.testing.assert_frame_equal(mask, expected)
    shown = apply_mask(TABLE, mask, POLICY)
    assert shown.loc["eget_beteende", "13-17"] == "<5" and shown.loc["eget_beteende", "0-12"] == "×"
    # no hidden cell can be worked out from the visible cells and the row and column totals
    hidden = [(r, c) for r in TABLE.index for c in TABLE.columns if mask.loc[r, c]]
    grid = {(r, c): int(TABLE.loc[r, c]) for r in TABLE.index for c in TABLE.columns}
    row_tot = {r: sum(grid[(r, c)] for c in TABLE.columns) for r in TABLE.index}
    col_tot = {c: sum(grid[(r, c)] for r in TABLE.index) for c in TABLE.columns}
    solutions = []
    for values in itertools.product(range(0, 21), repeat=len(hidden)):  # every cell here is at most 20
        g = dict(grid)
        g.update(zip(hidden, values))
        if all(sum(g[(r, c)] for c in TABLE.columns) == row_tot[r] for r in TABLE.index) and \
                all(sum(g[(r, c)] for r in TABLE.index) == col_tot[c] for c in TABLE.columns):
            solutions.append(values)
    assert tuple(grid[h] for h in hidden) in solutions
    for i, cell in enumerate(hidden):
        assert len({sol[i] for sol in solutions}) > 1, f"{cell} is recoverable from the totals"
    # primary suppression alone would give the 3 away: 25 − 10 − 12
    assert int(suppress(TABLE, POLICY, totals=False).values.sum()) == 1
    assert row_tot["eget_beteende"] - 10 - 12 == 3


@pytest.mark.parametrize("end,r12", [
    (date(2024, 2, 29), (date(2023, 3, 1), date(2024, 2, 29))),   # leap day
    (date(2025, 1, 31), (date(2024, 2, 1), date(2025, 1, 31))),   # across the year boundary
    (date(2026, 9, 30), (date(2025, 10, 1), date(2026, 9, 30))),
])
def test_rolling_12_months(end, r12):
    assert rolling_12_months(end) == r12


def test_year_to_date_and_same_period_last_year_on_a_leap_year():
    assert year_to_date(date(2024, 2, 29)) == (date(2024, 1, 1), date(2024, 2, 29))
    assert same_period_last_year(date(2024, 1, 1), date(2024, 2, 29)) == (date(2023, 1, 1), date(2023, 2, 28))
    assert same_period_last_year(*rolling_12_months(date(2025, 1, 31))) == (date(2023, 2, 1), date(2024, 1, 31))
    days = pd.Series(1, index=pd.date_range("2023-01-01", "2024-12-31", freq="D"))
    assert sum_between(days, *year_to_date(date(2024, 2, 29))) == 60   # 31 + 29
    assert sum_between(days, *same_period_last_year(*year_to_date(date(2024, 2, 29)))) == 59  # 31 + 28
    assert sum_between(days, *rolling_12_months(date(2024, 2, 29))) == 366


def test_iso_weeks_tertials_and_quarters_at_year_boundaries():
    assert iso_week(date(2024, 12, 30)) == (2025, 1)
    assert iso_week(date(2021, 1, 3)) == (2020, 53)
    assert iso_week(date(2026, 1, 1)) == (2026, 1)
    assert [tertial(date(2024, m, 1)) for m in (1, 4, 5, 8, 9, 12)] == [1, 1, 2, 2, 3, 3]
    assert [quarter(date(2024, m, 1)) for m in (3, 4, 12)] == [1, 2, 4]


# ---------------------------------------------------------------- rates and survey intervals in the marts

def _warehouse_with(tmp_path, files: dict[str, str]):
    from pipelines.models import run_all
    from sources.agreements import load_folder
    from sources.agreements.warehouse import load_plan_tables
    from sources.ingest import ensure_schema, ingest_file
    from sources.taxonomy import load_reference_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    load_reference_tables(con)
    load_plan_tables(con, load_folder())
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        r = ingest_file(con, path)
        assert r.status == "loaded" and r.rows_quarantined == 0, r.message
    run_all(con)
    return con


def test_rates_use_mean_population_and_small_areas_get_three_year_averages(tmp_path):
    crimes = ["Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Kommunkod;Områdeskod;Antal brott"]
    for year, extra in ((2023, 0), (2024, 21)):
        for m in range(1, 13):
            crimes.append(f"K{year}{m};1;1209;{year}-{m:02d}-10;0486;0486-09;{1 + (extra if m == 1 else 0)}")
    pop = "Kommunkod;Områdeskod;År;Folkmängd\n0486;0486-09;2023;1000\n0486;0486-09;2024;1200\n"
    con = _warehouse_with(tmp_path, {"brott.csv": "\n".join(crimes) + "\n", "folk.csv": pop})
    rows = con.execute("SELECT year, count, denominator, population_basis, rate, rate_3y FROM marts.rates_by_year "
                       "WHERE measure = 'anmalda_brott' AND area_code = '0486-09' ORDER BY year").fetchall()
    # 2023: 12 crimes; only 31 Dec 2023 known -> 12 / 1 000 × 100 000 = 1 200
    # 2024: 33 crimes / mean(1 000, 1 200) = 33 / 1 100 × 100 000 = 3 000
    # small area (< 5 000): 3-year average 2024 = (12 + 33) / (1 000 + 1 100) × 100 000 = 2 142,857
    assert rows[0][:4] == (2023, 12, 1000.0, "folkmängd 31 dec") and rows[0][4] == pytest.approx(1200.0)
    assert rows[1][:4] == (2024, 33, 1100.0, "medelfolkmängd") and rows[1][4] == pytest.approx(3000.0)
    assert rows[1][5] == pytest.approx(45 / 2100 * 100000)


def test_weighted_survey_share_interval_in_the_mart(tmp_path):
    # 100 respondents, weight 1, 30 yes: share 0,3; n_eff 100; 0,3 ± 1,959964 × √(0,3 × 0,7 / 100) = 0,3 ± 0,089817
    # 2025: the same 100 plus 50 with weight 3, 10 of them yes: share (30 + 30) / (100 + 150) = 0,24, n = 150;
    # n_eff = 250² / (100 + 50 × 9) = 62 500 / 550 = 113,636; 0,24 ± 1,959964 × √(0,1824 / 113,636) = ± 0,078524
    lines = ["Löpnummer;År;Kommunkod;Områdeskod;Vikt;Otrygg sent på kvällen"]
    for i in range(100):
        lines.append(f"A{i};2024;0486;0486-01;1;{'Ja' if i < 30 else 'Nej'}")
    for i in range(100):
        lines.append(f"A{i};2025;0486;0486-01;1;{'Ja' if i < 30 else 'Nej'}")
    for i in range(50):
        lines.append(f"B{i};2025;0486;0486-02;3;{'Ja' if i < 10 else 'Nej'}")
    con = _warehouse_with(tmp_path, {"enkat.csv": "\n".join(lines) + "\n"})
    got = dict(((y, a), (n, s, lo, hi)) for y, a, n, s, lo, hi in con.execute(
        "SELECT year, area_code, n, share, ci_low, ci_high FROM marts.survey_by_year WHERE item = 'unsafe_evening'"
    ).fetchall())
    n, s, lo, hi = got[(2024, "")]
    assert (n, s) == (100, pytest.approx(0.3)) and lo == pytest.approx(0.3 - 0.089817, abs=1e-6)
    assert hi == pytest.approx(0.3 + 0.089817, abs=1e-6)
    n, s, lo, hi = got[(2025, "")]
    assert (n, s) == (150, pytest.approx(0.24)) and hi - s == pytest.approx(0.078524, abs=1e-6)


@pytest.mark.parametrize("signals,behind,expected", [
    # more reported crime (higher is worse) -> attention
    ([{"kind": "crime", "direction": "up", "higher_is_worse": True}], 0, ("Uppmärksamma", 1, 0)),
    # more activities done is not a worsening, and not judged by direction at all
    ([{"kind": "activity", "direction": "up", "higher_is_worse": True}], 0, ("Oförändrat", 0, 0)),
    # a confirmed rise in trust in the police (higher is better) is an improvement
    ([{"kind": "survey", "direction": "up", "higher_is_worse": False}], 0, ("Förbättring", 0, 1)),
    # fewer crimes, but an activity is behind plan -> attention
    ([{"kind": "crime", "direction": "down", "higher_is_worse": True}], 1, ("Uppmärksamma", 0, 1)),
    # no signal -> unchanged
    ([{"kind": "crime", "direction": None, "higher_is_worse": True}], 0, ("Oförändrat", 0, 0)),
])
def test_council_area_status_rule(signals, behind, expected):
    from dashboards.packs import area_status

    assert area_status(signals, behind) == expected
