"""Page rules from dashboards/STATISTICS.md with hand-made inputs: series breaks on every chart that crosses one,
Brå's preliminary/final status from Brå's own file."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from dashboards.sections import common, crime
from dashboards.sections import survey as survey_section
from dashboards.data import SiteData
from sources.policy import load_policy

BREAKS = [{"date": "2018-07-01", "level3": "Våldtäkt", "description": ""},
          {"date": "2021-07-01", "level3": "Barnfridsbrott", "description": ""}]


def _data(**marts) -> SiteData:
    return SiteData(marts=marts, files=pd.DataFrame(), checks=pd.DataFrame(), quarantine=pd.DataFrame(),
                         municipalities={"0486": "Strängnäs"}, suites=[], survey_labels={},
                         concern_reason_labels={}, published_at=datetime(2026, 11, 27), series_breaks=BREAKS,
                         level3_to_level2={"Våldtäkt": "Sexualbrott", "Barnfridsbrott": "Brott mot person"})


def test_yearly_series_are_marked_where_they_cross_a_break():
    data = _data()
    # 2018–2025 has data before and after 1 July 2018 and 1 July 2021
    assert common.year_breaks(data, list(range(2018, 2026))) == [("2018", "Lagändring: våldtäkt"),
                                                                ("2021", "Lagändring: barnfridsbrott")]
    # from 2019 on, the 2018 change is before every point; up to 2020, the 2021 change is after every point
    assert common.year_breaks(data, list(range(2019, 2026))) == [("2021", "Lagändring: barnfridsbrott")]
    assert common.year_breaks(data, [2019, 2020]) == []
    assert "barnfridsbrott 2021" in common.breaks_text(common.year_breaks(data, [2020, 2021]))


def test_quarterly_breaks_for_every_category_drawn_not_only_the_largest():
    data = _data()
    quarters = ["kv. 2 2021", "kv. 3 2021", "kv. 4 2021"]
    # "Brott mot person" (level 2) includes barnfridsbrott: marked; a chart of other categories: not
    assert common.breaks_in(data, {"Brott mot person", "Narkotikabrott"}, quarters) == [
        ("kv. 3 2021", "Lagändring: barnfridsbrott")]
    assert common.breaks_in(data, {"Narkotikabrott"}, quarters) == []
    assert common.breaks_in(data, None, quarters) == [("kv. 3 2021", "Lagändring: barnfridsbrott")]
    # a break at the first quarter drawn is not inside the series
    assert common.breaks_in(data, None, ["kv. 3 2021", "kv. 4 2021"]) == []


def test_bra_status_comes_from_bras_file():
    status = pd.DataFrame({"municipality_code": ["0486"] * 3, "year": [2023, 2024, 2025],
                           "preliminary": [False, False, True], "rows": [10, 10, 10]})
    data = _data(bra_status_by_year=status)
    assert crime._bra_status(data, "0486", [2023, 2024, 2025]) == (
        "Brås officiella statistik: slutlig för 2023, 2024, preliminär för 2025 (enligt Brås fil).")
    assert crime._bra_status(data, "0486", [2022, 2023]) == (
        "Brås officiella statistik: slutlig för 2023, status okänd för 2022 (enligt Brås fil).")
    assert "framgår inte" in crime._bra_status(data, "2081", [2024])


def test_the_rates_table_says_when_the_population_is_carried_forward_or_a_year_end():
    rates = pd.DataFrame({"year": [2023, 2024, 2025],
                          "population_basis": ["folkmängd 31 dec", "medelfolkmängd", "senast kända 2024"],
                          "population_final": [True, True, False]})
    note = common.basis_note(rates)
    assert note == (" För 2025 saknas befolkningsuppgifter: talen bygger på senast kända folkmängd och är inte "
                    "slutliga; för 2023 är nämnaren folkmängden en 31 december, inte medelfolkmängden.")
    assert common.basis_note(rates.iloc[[1]]) == ""  # a mean population, final: nothing to say


def test_ntu_is_shown_without_a_municipal_survey():
    ntu = pd.DataFrame({
        "geography_code": ["0486", "04", "00"], "geography_name": ["Strängnäs", "Södermanlands län", "Riket"],
        "year": [2024] * 3, "variable": ["Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"] * 3,
        "share_percent": [25.0, 27.0, 26.0], "ci_low_percent": [20.0, 25.0, 25.5],
        "ci_high_percent": [30.0, 29.0, 26.5], "n": [400, 3000, 70000]})
    survey = pd.DataFrame(columns=["municipality_code", "area_code", "year", "item", "n", "n_eff", "share", "se",
                                   "ci_low", "ci_high"])
    data = _data(ntu_by_year=ntu, survey_by_year=survey)
    blocks = survey_section.survey_blocks(data, "0486", {"": "Hela kommunen"}, load_policy())
    assert [b.id for b in blocks] == ["ntu-jamforelse"]
    assert list(blocks[0].table["Andel"]) == ["25 %", "27 %", "26 %"]


def test_one_quarter_vocabulary():
    """sources/quarter.py: what people and Dagster write parses to one value; labels, keys and arithmetic agree."""
    from pipelines.partitions import key_for, keys_frame
    from sources.quarter import Quarter, QuarterError

    q = Quarter(2026, 3)
    assert Quarter.parse("2026-Q3") == Quarter.parse("2026q3") == Quarter.parse(" 2026 Q3 ") == q
    assert Quarter.parse("2026-07-01") == Quarter.parse("0486|2026-07-01") == Quarter.parse("2026-09-30") == q
    assert (q.label, q.text, q.partition_key, q.end.isoformat()) == ("kv. 3 2026", "2026-Q3", "2026-07-01", "2026-09-30")
    assert q + 2 == Quarter(2027, 1) and Quarter(2026, 1) - 1 == Quarter(2025, 4)
    assert Quarter.from_seq(q.seq) == q and (q + 1).seq == q.seq + 1 and Quarter(2025, 4) < Quarter(2026, 1)
    for bad in ("2026-Q5", "2026-Q0", "kv 3", "2026-13-01"):
        with pytest.raises((QuarterError, ValueError)):
            Quarter.parse(bad)
    key = key_for("0486", "2026q3")
    assert key.keys_by_dimension == {"municipality": "0486", "quarter": "2026-07-01"}
    assert keys_frame([key]).values.tolist() == [["0486", 2026, 3]]


def test_stacked_quarters_keep_the_largest_groups_sum_the_rest_and_show_gaps():
    """Worked by hand: Skadegörelse 10+4+6 = 20, Stöld 9+0+3 = 12, Bedrägeri 2+1 = 3, Rån 1 → top 2 kept, the other
    two summed as Övriga (listed last); kv. 3 2025 has no row at all and is an empty bar, not a skipped quarter."""
    import pandas as pd

    from dashboards.figures import make_quarterly_stacked_figure

    rows = [(2025, 1, "Skadegörelse", 10), (2025, 2, "Skadegörelse", 4), (2025, 4, "Skadegörelse", 6),
            (2025, 1, "Stöld", 9), (2025, 2, "Stöld", 0), (2025, 4, "Stöld", 3),
            (2025, 1, "Bedrägeri", 2), (2025, 4, "Bedrägeri", 1), (2025, 2, "Rån", 1)]
    frame = pd.DataFrame(rows, columns=["year", "quarter", "category", "crimes"])
    fig = make_quarterly_stacked_figure(frame, "crimes", "category", "Anmälda brott", "antal", top=2)
    quarters = ["kv. 1 2025", "kv. 2 2025", "kv. 3 2025", "kv. 4 2025"]
    assert [t.name for t in fig.data] == ["Skadegörelse", "Stöld", "Övriga"]
    assert all(list(t.x) == quarters for t in fig.data)
    ys = {t.name: [None if v != v else v for v in t.y] for t in fig.data}  # NaN (no row) as None
    assert ys == {"Skadegörelse": [10, 4, None, 6], "Stöld": [9, 0, None, 3], "Övriga": [2, 1, None, 1]}


def test_a_municipalitys_rows_are_those_the_code_filter_gives_and_follow_a_replaced_mart():
    """Pages take their municipality's rows from one split of each national mart: the same rows, order and index as
    ``df[df.municipality_code == code]`` (rows without a code belong to nobody; an unknown code has none), and a
    mart replaced in ``marts`` (a pack narrows them) is split again, never served from the old split."""
    mart = pd.DataFrame({"municipality_code": ["0486", "0484", None, "0486", "0488", "0484"],
                         "crimes": [5, 7, 9, 11, 13, 17]}, index=[10, 11, 12, 13, 14, 15])
    data = _data(crime_by_quarter=mart)
    for code in ("0486", "0484", "0488", "9999"):
        pd.testing.assert_frame_equal(data.of("crime_by_quarter", code), mart[mart.municipality_code == code],
                                      check_index_type=code != "9999")
    assert data.of("crime_by_quarter", "0486")["crimes"].tolist() == [5, 11]  # worked by hand
    assert data.of("crime_by_quarter", "9999").empty
    data.marts["crime_by_quarter"] = mart[mart.crimes > 6]  # replaced: 0486 keeps only its 11
    assert data.of("crime_by_quarter", "0486")["crimes"].tolist() == [11]


def _pivot_frames():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20261128)
    for n in (1, 7, 60, 500):
        yield pd.DataFrame({"weekday": rng.integers(1, 8, n), "hour": rng.integers(0, 24, n),
                            "events": rng.integers(0, 9, n)}), "weekday", "hour", "events"
        cats = pd.Series(rng.choice(["Skadegörelse", "Klotter", "Nedskräpning", None], n), dtype="string")
        values = pd.array(rng.integers(0, 40, n), dtype="Int64")
        values[rng.random(n) < 0.2] = pd.NA  # missing counts
        yield pd.DataFrame({"period_key": rng.integers(8090, 8100, n), "period": None, "category": cats,
                            "crimes": values}).assign(period=lambda d: "kv. " + (d.period_key % 4 + 1).astype(str)), \
            ["period_key", "period"], "category", "crimes"
        yield pd.DataFrame({"reason": rng.choice(["Misshandel", "Missbruk"], n),
                            "age_band": pd.Categorical(rng.choice(["0-12", "13-17"], n), ["0-12", "13-17", "18-"]),
                            "reports": rng.random(n) * 10}), "reason", "age_band", "reports"


def test_pivot_sum_is_the_pivot_table_pandas_gives():
    """figures.pivot_sum against pandas' own pivot_table (the reference) on frames with missing counts, missing
    keys, combinations that never occur, categorical and integer keys, and a single row."""
    import pandas as pd

    from dashboards.figures import pivot_sum

    n = 0
    for frame, index, columns, values in _pivot_frames():
        expected = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", fill_value=0)
        pd.testing.assert_frame_equal(pivot_sum(frame, index, columns, values), expected)
        n += 1
    assert n == 12
