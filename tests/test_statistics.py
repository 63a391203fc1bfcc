"""Known-answer tests for the honest-number rules (dashboards/STATISTICS.md). Expected values are worked by hand."""
from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from sources.policy import Policy, load_policy
from dashboards.statistics import (CLEAR, MISSING, NO_CHANGE, POSSIBLE, apply_mask, bh_adjust, change_signal,
                                   conditional_p, estimate_dispersion, iso_week, label_for, quarter, rolling_12_months, same_period_last_year, sum_between, suppress,
                                   survey_change, tertial, year_to_date)

POLICY = Policy()  # the shipped defaults: 1–4 suppressed, levels 5 % / 0,1 %, no % below a base of 20


def test_shipped_policy_file_matches_the_documented_defaults():
    p = load_policy()
    assert (p.max_suppressed_count, p.change_possible_level, p.change_clear_level, p.min_base_for_percent,
            p.survey_min_n, p.dispersion_floor, p.dispersion_default, p.dispersion_min_df) == \
        (4, 0.05, 0.001, 20, 30, 1.0, 2.0, 6)


def _binomial_two_sided(a: int, n: int) -> float:
    """Worked by hand with math.comb: twice the smaller tail of Binomial(n, 1/2) at a, at most 1."""
    upper = sum(math.comb(n, k) for k in range(a, n + 1)) / 2 ** n
    lower = sum(math.comb(n, k) for k in range(0, a + 1)) / 2 ** n
    return min(1.0, 2 * min(upper, lower))


@pytest.mark.parametrize("now,before,p,label,direction,percent,text", [
    # 3 vs 0: P(X ≥ 3 | n = 3) = 1/8, two-sided 0,25 -> no signal (the old z = 2√3 = 3,46 called it "tydlig")
    (3, 0, 0.25, NO_CHANGE, "", None, NO_CHANGE),
    # 49 vs 25: two-sided exact p = 0,00708 -> possible; base 25 ≥ 20: +96 %
    (49, 25, 0.007084252673880493, POSSIBLE, "ökning", 96.0, "möjlig förändring: ökning (+96\u00a0%)"),
    # 25 vs 49: the mirror image -> decrease, −49 %
    (25, 49, 0.007084252673880493, POSSIBLE, "minskning", -48.97959183673469,
     "möjlig förändring: minskning (−49\u00a0%)"),
    # 100 vs 50: P(X ≥ 100 | n = 150) two-sided = 5,2e-5 -> clear
    (100, 50, None, CLEAR, "ökning", 100.0, "tydlig förändring: ökning (+100\u00a0%)"),
    # 30 vs 25: p = 0,59 -> nothing to report, even though +20 %
    (30, 25, None, NO_CHANGE, "", 20.0, NO_CHANGE),
    # 12 vs 3: p = 0,0352 -> possible; base 3 < 20: no percent
    (12, 3, None, POSSIBLE, "ökning", None, "möjlig förändring: ökning"),
])
def test_exact_conditional_change_signal(now, before, p, label, direction, percent, text):
    s = change_signal(now, before, POLICY)
    expected_p = _binomial_two_sided(now, now + before) if p is None else p
    assert s.p == pytest.approx(expected_p, rel=1e-9)
    assert conditional_p(now, before) == pytest.approx(_binomial_two_sided(now, now + before), rel=1e-9)
    assert (s.label, s.direction) == (label, direction)
    assert (s.percent is None and percent is None) or s.percent == pytest.approx(percent)
    assert s.text() == text


@pytest.mark.parametrize("now,before,inside", [
    # Binomial(n, 1/2) two-sided p on each side of 5 %: 61 vs 39 (n 100) p = 0,0352; 60 vs 40 p = 0,0569
    (61, 39, True), (60, 40, False),
])
def test_possible_level_is_inclusive_of_its_threshold_side(now, before, inside):
    p = _binomial_two_sided(now, now + before)
    assert (p <= 0.05) is inside
    assert change_signal(now, before, POLICY).signal is inside


def test_clear_level_on_each_side():
    assert _binomial_two_sided(67, 100) < 0.001 < _binomial_two_sided(66, 100)
    assert change_signal(67, 33, POLICY).label == CLEAR
    assert change_signal(66, 34, POLICY).label == POSSIBLE
    # a level exactly at the p-value counts as reached (p <= level): put the level on the p itself and just below it
    p = conditional_p(66, 34)  # the level set to this very p-value (equality is the boundary under test)
    assert p == pytest.approx(_binomial_two_sided(66, 100), rel=1e-9)
    assert change_signal(66, 34, replace(POLICY, change_clear_level=p)).label == CLEAR
    assert change_signal(66, 34, replace(POLICY, change_clear_level=p * 0.999)).label == POSSIBLE


def test_levels_and_percent_base_are_policy():
    loose = replace(POLICY, change_possible_level=0.6, min_base_for_percent=30)
    s = change_signal(30, 25, loose)
    assert s.label == POSSIBLE and s.percent is None  # p 0,59 ≤ 0,6; base 25 < 30
    assert change_signal(30, 30, replace(POLICY, min_base_for_percent=30)).percent == 0.0  # base 30 ≥ 30
    assert change_signal(30, 29, replace(POLICY, min_base_for_percent=30)).percent is None


def test_dispersion_scales_the_test_and_exposure_sets_the_share():
    # φ = 4: 49 vs 25 behaves like 12,25 vs 6,25: p ≈ 0,19 -> nothing
    assert change_signal(49, 25, POLICY, dispersion=4.0).label == NO_CHANGE
    # φ = 4 on whole multiples equals the exact test on the divided counts: 48 vs 24 -> 12 vs 6
    assert conditional_p(48, 24, dispersion=4.0) == pytest.approx(_binomial_two_sided(12, 18), rel=1e-9)
    # the later period twice as long (share 2/3): 20 vs 10 is exactly what is expected -> p = 1 side, no signal
    assert change_signal(20, 10, POLICY, share_now=2 / 3).label == NO_CHANGE
    upper = sum(math.comb(30, k) * (2 / 3) ** k * (1 / 3) ** (30 - k) for k in range(20, 31))
    lower = sum(math.comb(30, k) * (2 / 3) ** k * (1 / 3) ** (30 - k) for k in range(0, 21))
    assert conditional_p(20, 10, share_now=2 / 3) == pytest.approx(min(1, 2 * min(upper, lower)), rel=1e-9)


def test_missing_is_never_compared():
    s = change_signal(None, 12, POLICY, missing="orosanmälningarna saknar kv. 1 2024")
    assert (s.label, s.p, s.percent, s.signal) == (MISSING, None, None, False)
    assert s.text() == "saknas (orosanmälningarna saknar kv. 1 2024)"


def test_benjamini_hochberg_by_hand():
    # p sorted 0,01 0,02 0,03 0,04 0,20 (m = 5): p·m/rank = 0,05 0,05 0,05 0,05 0,20; step-up minima the same
    assert bh_adjust([0.04, 0.01, 0.20, 0.03, 0.02]) == pytest.approx([0.05, 0.05, 0.20, 0.05, 0.05])
    # 0,001 0,04 0,045 (m = 3): 0,003, 0,06, 0,045 -> step-up: 0,003, 0,045, 0,045
    assert bh_adjust([0.045, 0.001, 0.04]) == pytest.approx([0.045, 0.003, 0.045])
    assert bh_adjust([]) == []


def test_dispersion_estimate_by_hand():
    # two years × four quarters, counts r_y × c_q exactly (10,20,30,40 and twice that): X² = 0 -> the floor 1,0;
    # df = 8 − (2 + 4 − 1) = 3 < 6 -> the default 2,0 instead
    exact = {(2023, q): 10 * q for q in range(1, 5)} | {(2024, q): 20 * q for q in range(1, 5)}
    d = estimate_dispersion(exact, POLICY)
    assert (d.value, d.estimated) == (2.0, False)
    d = estimate_dispersion(exact, replace(POLICY, dispersion_min_df=3))
    assert (d.value, d.df, d.estimated) == (1.0, 3, True)
    # three years, constant seasons: years sum 400, 400, 400 per quarter pattern 100 each, then one cell off by +20
    # and its neighbour −20 in the same year: the fit (row/col margins) is 100 everywhere except the column margins;
    # worked: μ = 100 for all cells but quarter 1 (+20/3) and quarter 2 (−20/3) -> X² by hand below; df = 12 − 6 = 6
    cells = {(y, q): 100.0 for y in (2022, 2023, 2024) for q in (1, 2, 3, 4)}
    cells[(2024, 1)], cells[(2024, 2)] = 120.0, 80.0
    mu1, mu2 = 100 + 20 / 3, 100 - 20 / 3
    x2 = 2 * ((100 - mu1) ** 2 / mu1 + (100 - mu2) ** 2 / mu2) + (120 - mu1) ** 2 / mu1 + (80 - mu2) ** 2 / mu2
    d = estimate_dispersion(cells, POLICY)
    assert d.df == 6 and d.estimated and d.value == pytest.approx(max(1.0, x2 / 6), rel=1e-6)
    # the floor: the same with a policy floor above the estimate
    assert estimate_dispersion(cells, replace(POLICY, dispersion_floor=2.5)).value == 2.5
    # exactly at the minimum df (6) the estimate is used; one below (11 cells -> df 5) the default
    del cells[(2022, 4)]
    assert estimate_dispersion(cells, POLICY).estimated is False


@pytest.mark.parametrize("lam", [5, 25, 100, 500])
@pytest.mark.parametrize("dispersion", [1.0, 4.0])
def test_false_alarm_rate_under_no_change_by_simulation(lam, dispersion):
    """No real change: Poisson (φ = 1) or negative binomial with variance 4 × mean (φ = 4, known).
    At most 5 % get "möjlig" or stronger and at most 0,5 % "tydlig" (levels 5 % and 0,1 %)."""
    rng = np.random.default_rng(20261127 + lam + int(dispersion))
    draws = 40000
    if dispersion == 1.0:
        a, b = rng.poisson(lam, draws), rng.poisson(lam, draws)
    else:  # NB(k, p) with p = 1/4: mean k·3, variance k·12 = 4 × mean; k = λ/3 gives mean λ
        a, b = rng.negative_binomial(lam / 3, 0.25, draws), rng.negative_binomial(lam / 3, 0.25, draws)
        assert b.var() / b.mean() == pytest.approx(4.0, rel=0.15)
    p = conditional_p(a, b, dispersion=dispersion)  # the same test change_signal applies, on all draws at once
    assert p[0] == change_signal(int(a[0]), int(b[0]), POLICY, dispersion=dispersion).p
    labels = [label_for(x, POLICY) for x in p]
    any_signal = sum(lab in (POSSIBLE, CLEAR) for lab in labels) / draws
    clear = sum(lab == CLEAR for lab in labels) / draws
    print(f"λ={lam} φ={dispersion}: möjlig eller tydlig {any_signal:.3%}, tydlig {clear:.3%}")
    assert any_signal <= 0.05 and clear <= 0.005


def test_the_old_z_rule_would_fail_the_same_simulation():
    """The simulation can fail: the replaced rule |2(√a − √b)| ≥ 2 flags far more than 5 % at λ = 100."""
    rng = np.random.default_rng(7)
    a, b = rng.poisson(100, 4000), rng.poisson(100, 4000)
    old = np.abs(2 * (np.sqrt(a) - np.sqrt(b))) >= 2
    assert old.mean() > 0.10


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
    for year, extra in ((2023, 0), (2024, 21), (2025, 0)):
        for m in range(1, 13):
            crimes.append(f"K{year}{m};1;1209;{year}-{m:02d}-10;0486;0486-09;{1 + (extra if m == 1 else 0)}")
    pop = "Kommunkod;Områdeskod;År;Folkmängd\n0486;0486-09;2023;1000\n0486;0486-09;2024;1200\n0486;0486-09;2025;1300\n"
    con = _warehouse_with(tmp_path, {"brott.csv": "\n".join(crimes) + "\n", "folk.csv": pop})
    rows = con.execute("SELECT year, count, denominator, population_basis, rate, rate_3y, years_in_3y "
                       "FROM marts.rates_by_year WHERE measure = 'anmalda_brott' AND area_code = '0486-09' "
                       "ORDER BY year").fetchall()
    # 2023: 12 crimes; only 31 Dec 2023 known -> 12 / 1 000 × 100 000 = 1 200
    # 2024: 33 crimes / mean(1 000, 1 200) = 33 / 1 100 × 100 000 = 3 000
    # 2025: 12 crimes / mean(1 200, 1 300) = 12 / 1 250 × 100 000 = 960
    assert rows[0][:4] == (2023, 12, 1000.0, "folkmängd 31 dec") and rows[0][4] == pytest.approx(1200.0)
    assert rows[1][:4] == (2024, 33, 1100.0, "medelfolkmängd") and rows[1][4] == pytest.approx(3000.0)
    assert rows[2][:4] == (2025, 12, 1250.0, "medelfolkmängd") and rows[2][4] == pytest.approx(960.0)
    # small area (< 5 000): a 3-year average needs three years: none for 2023 (1 year) and 2024 (2 years)
    assert (rows[0][5], rows[0][6]) == (None, 1) and (rows[1][5], rows[1][6]) == (None, 2)
    # 2025: (12 + 33 + 12) / (1 000 + 1 100 + 1 250) × 100 000 = 57 / 3 350 × 100 000 = 1 701,49
    assert rows[2][6] == 3 and rows[2][5] == pytest.approx(57 / 3350 * 100000)


def test_concern_rate_counts_only_reports_about_children_0_17(tmp_path):
    # 2025, every month: 3 reports 0–12, 2 reports 13–17 and 4 reports 18–20 (not children)
    lines = ["Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar"]
    for m in range(1, 13):
        lines += [f"0486;2025-{m:02d};0-12 år;Flicka;Våld i nära relation;Polis;3",
                  f"0486;2025-{m:02d};13-17 år;Pojke;Barnets eget beteende;Skola;2",
                  f"0486;2025-{m:02d};18-20 år;Pojke;Barnets eget beteende;Skola;4"]
    pop = ("Kommunkod\tOmrådeskod\tÅr\tÅlder\tFolkmängd\tSlutlig\n"
           "0486\t0486\t2024\t0-17 år\t6 000\tJa\n0486\t0486\t2025\t0-17 år\t6 000\tJa\n")
    con = _warehouse_with(tmp_path, {"oro.csv": "\n".join(lines) + "\n", "folk.tsv": pop})
    count, rate = con.execute("SELECT count, rate FROM marts.rates_by_year WHERE measure = 'orosanmalningar' "
                              "AND year = 2025").fetchall()[0]
    # (3 + 2) × 12 = 60 reports about children 0–17 / 6 000 children × 1 000 = 10,0 (not 108 / 6 000 = 18,0)
    assert count == 60 and rate == pytest.approx(10.0)


def test_weighted_survey_share_wilson_interval_in_the_mart(tmp_path):
    # Wilson on n_eff: centre (p + z²/2n) / (1 + z²/n), half z·√(p(1−p)/n + z²/4n²) / (1 + z²/n), z² = 3,841459
    # 2024: 100 respondents, weight 1, 30 yes: p 0,3, n_eff 100: centre 0,319207 / 1,038415 = 0,307398,
    #   half 1,959964 × √(0,0021 + 0,0000960) / 1,038415 = 0,088451 -> 0,218947 – 0,395849; se √(0,21/100) = 0,045826
    # 2025: the same 100 plus 50 with weight 3, 10 of them yes: p (30 + 30) / 250 = 0,24, n = 150,
    #   n_eff = 250² / (100 + 450) = 113,636 (rounded in the mart to 113,6)
    # area 0486-03 in 2025: 40 respondents, none yes: 0 % – z²/n / (1 + z²/n) = 0,096036 / 1,096036 = 0,087621
    lines = ["Löpnummer;År;Kommunkod;Områdeskod;Vikt;Otrygg sent på kvällen"]
    for i in range(100):
        lines.append(f"A{i};2024;0486;0486-01;1;{'Ja' if i < 30 else 'Nej'}")
    for i in range(100):
        lines.append(f"A{i};2025;0486;0486-01;1;{'Ja' if i < 30 else 'Nej'}")
    for i in range(50):
        lines.append(f"B{i};2025;0486;0486-02;3;{'Ja' if i < 10 else 'Nej'}")
    for i in range(40):
        lines.append(f"C{i};2025;0486;0486-03;1;Nej")
    con = _warehouse_with(tmp_path, {"enkat.csv": "\n".join(lines) + "\n"})
    got = dict(((y, a), (n, s, lo, hi, se)) for y, a, n, s, lo, hi, se in con.execute(
        "SELECT year, area_code, n, share, ci_low, ci_high, se FROM marts.survey_by_year WHERE item = 'unsafe_evening'"
    ).fetchall())
    n, s, lo, hi, se = got[(2024, "")]
    assert (n, s) == (100, pytest.approx(0.3))
    assert lo == pytest.approx(0.218947, abs=2e-6) and hi == pytest.approx(0.395849, abs=2e-6)
    assert se == pytest.approx(0.045826, abs=2e-6)
    n, s, lo, hi, se = got[(2025, "0486-03")]
    assert (n, s, lo) == (40, 0.0, 0.0) and hi == pytest.approx(0.087621, abs=2e-6)  # not "0 %–0 %"
    n, s, lo, hi, se = got[(2025, "")]
    assert (n, s) == (190, pytest.approx(60 / 290))


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
