"""Page rules from dashboards/STATISTICS.md with hand-made inputs: series breaks on every chart that crosses one,
Brå's preliminary/final status from Brå's own file."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from dashboards import site

BREAKS = [{"date": "2018-07-01", "level3": "Våldtäkt", "description": ""},
          {"date": "2021-07-01", "level3": "Barnfridsbrott", "description": ""}]


def _data(**marts) -> site.SiteData:
    return site.SiteData(marts=marts, files=pd.DataFrame(), checks=pd.DataFrame(), quarantine=pd.DataFrame(),
                         municipalities={"0486": "Strängnäs"}, suites=[], survey_labels={},
                         concern_reason_labels={}, published_at=datetime(2026, 11, 27), series_breaks=BREAKS,
                         level3_to_level2={"Våldtäkt": "Sexualbrott", "Barnfridsbrott": "Brott mot person"})


def test_yearly_series_are_marked_where_they_cross_a_break():
    data = _data()
    # 2018–2025 has data before and after 1 July 2018 and 1 July 2021
    assert site._year_breaks(data, list(range(2018, 2026))) == [("2018", "Lagändring: våldtäkt"),
                                                                ("2021", "Lagändring: barnfridsbrott")]
    # from 2019 on, the 2018 change is before every point; up to 2020, the 2021 change is after every point
    assert site._year_breaks(data, list(range(2019, 2026))) == [("2021", "Lagändring: barnfridsbrott")]
    assert site._year_breaks(data, [2019, 2020]) == []
    assert "barnfridsbrott 2021" in site._breaks_text(site._year_breaks(data, [2020, 2021]))


def test_quarterly_breaks_for_every_category_drawn_not_only_the_largest():
    data = _data()
    quarters = ["kv. 2 2021", "kv. 3 2021", "kv. 4 2021"]
    # "Brott mot person" (level 2) includes barnfridsbrott: marked; a chart of other categories: not
    assert site._breaks_in(data, {"Brott mot person", "Narkotikabrott"}, quarters) == [
        ("kv. 3 2021", "Lagändring: barnfridsbrott")]
    assert site._breaks_in(data, {"Narkotikabrott"}, quarters) == []
    assert site._breaks_in(data, None, quarters) == [("kv. 3 2021", "Lagändring: barnfridsbrott")]
    # a break at the first quarter drawn is not inside the series
    assert site._breaks_in(data, None, ["kv. 3 2021", "kv. 4 2021"]) == []


def test_bra_status_comes_from_bras_file():
    status = pd.DataFrame({"municipality_code": ["0486"] * 3, "year": [2023, 2024, 2025],
                           "preliminary": [False, False, True], "rows": [10, 10, 10]})
    data = _data(bra_status_by_year=status)
    assert site._bra_status(data, "0486", [2023, 2024, 2025]) == (
        "Brås officiella statistik: slutlig för 2023, 2024, preliminär för 2025 (enligt Brås fil).")
    assert site._bra_status(data, "0486", [2022, 2023]) == (
        "Brås officiella statistik: slutlig för 2023, status okänd för 2022 (enligt Brås fil).")
    assert "framgår inte" in site._bra_status(data, "2081", [2024])
