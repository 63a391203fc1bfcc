"""Peers and the county: the peer band on a municipality page and the county page, from Brå's indicators.

Expected values are worked out by hand (hand-made marts) or straight from the real Dalarna file with the csv
module (never through the code under test)."""
from __future__ import annotations

import csv
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboards.data import SiteData
from dashboards.sections import peers as P
from sources.peers import PeerGroup, Peers
from sources.policy import load_policy
from tests.conftest import REAL, real_warehouse, requires_shared

HEADLINE = "Totalt antal anmälda brott"
NTU_ITEM = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"


def _site(rows, ntu=None, municipalities=None) -> SiteData:
    """A SiteData holding only the two Brå marts (every other field empty)."""
    bra = pd.DataFrame(rows, columns=["geography_code", "geography_name", "year", "variable", "crimes", "per_100k"])
    bra["geography_level"] = ["kommun" if len(c) == 4 else "riket" if c == "00" else "län" for c in bra.geography_code]
    ntu_df = pd.DataFrame(ntu or [], columns=["geography_code", "year", "variable", "share_percent", "ci_low_percent",
                                              "ci_high_percent"])
    return SiteData(marts={"bra_crime_by_year": bra, "ntu_by_year": ntu_df}, files=pd.DataFrame(),
                    checks=pd.DataFrame(), quarantine=pd.DataFrame(), municipalities=municipalities or {}, suites=[],
                    survey_labels={}, concern_reason_labels={}, published_at=datetime(2026, 11, 27))


PEERS = Peers(indicators=(HEADLINE,), ntu_item=NTU_ITEM, min_members=5,
              groups=(PeerGroup("Grupp A", ("0481", "0482", "0483", "0484", "0486")),))


def test_band_is_the_quartiles_of_the_members_and_needs_enough_of_them():
    # Södermanland 2024: five members with rates 100, 200, 300, 400, 1000 -> q25 200, median 300, q75 400
    # (linear interpolation: positions 1, 2, 3 of 0..4); 2023: only four members -> no band
    rates = [("0481", "A", 2024, HEADLINE, 1, 100.0), ("0482", "B", 2024, HEADLINE, 1, 200.0),
             ("0483", "C", 2024, HEADLINE, 1, 300.0), ("0484", "D", 2024, HEADLINE, 1, 400.0),
             ("0486", "E", 2024, HEADLINE, 1, 1000.0), ("0180", "Stockholm", 2024, HEADLINE, 1, 99999.0),
             ("0481", "A", 2023, HEADLINE, 1, 100.0), ("0482", "B", 2023, HEADLINE, 1, 200.0),
             ("0483", "C", 2023, HEADLINE, 1, 300.0), ("0484", "D", 2023, HEADLINE, 1, 400.0)]
    data = _site(rates)
    b = P.band(data.marts["bra_crime_by_year"], P.county_members("04"), HEADLINE, 5).set_index("year")
    assert (b.loc[2024, "n"], b.loc[2024, "q25"], b.loc[2024, "median"], b.loc[2024, "q75"]) == (5, 200, 300, 400)
    assert b.loc[2023, "n"] == 4 and np.isnan(b.loc[2023, "median"])   # 4 < 5: no band, and not a band of 4
    # the same four with min_members 4: median of 100..400 = 250
    assert P.band(data.marts["bra_crime_by_year"], P.county_members("04"), HEADLINE, 4).set_index("year").loc[
        2023, "median"] == 250
    blocks = P.peer_blocks(data, "0486", load_policy(), PEERS)
    assert [b.title for b in blocks] == ["E jämfört med kommunerna i Södermanlands län", "E jämfört med Grupp A"]
    table = blocks[0].table.set_index("År")
    assert table.loc["2024", "Median"] == "300" and table.loc["2024", "Mittersta 50 %"] == "200–400"
    assert table.loc["2023", "Median"] == "saknas" and table.loc["2023", "E"] == "saknas"  # E has no 2023 value
    assert "tolkning" in blocks[1].description and "tolkning" not in blocks[0].description
    # the figure is built without Plotly's validation: it must still pass it, in the page's theme (Swedish numbers)
    import plotly.graph_objects as go

    checked = go.Figure(blocks[0].figure.to_plotly_json())
    assert checked.layout.template.layout.separators == ", " and checked.layout.height == 380
    assert [t.name for t in checked.data] == ["mittersta 50 % av jämförelsekommunerna", "median", "E"]
    # 2023 is on the axis without a median (4 < 5 members) and without E's own value (a gap, never 0)
    assert list(checked.data[0].x) == ["2024", "2024"] and list(checked.data[0].y) == [400.0, 200.0]  # the band
    assert list(checked.data[1].x) == ["2023", "2024"] and np.isnan(checked.data[1].y[0]) and checked.data[1].y[1] == 300
    assert np.isnan(checked.data[2].y[0]) and checked.data[2].y[1] == 1000


def test_county_table_signals_are_adjusted_together_and_missing_years_say_so():
    policy = load_policy()
    rows = []
    # 0481: 100 -> 300 crimes at the same rate base (population 10 000): a clear increase even with φ = 2
    rows += [("0481", "A", 2023, HEADLINE, 100, 1000.0), ("0481", "A", 2024, HEADLINE, 300, 3000.0)]
    # 0482: 1 000 -> 1 010: no change
    rows += [("0482", "B", 2023, HEADLINE, 1000, 5000.0), ("0482", "B", 2024, HEADLINE, 1010, 5050.0)]
    # 0483: only 2024
    rows += [("0483", "C", 2024, HEADLINE, 50, 2500.0)]
    t = P.county_table(_site(rows, [("0482", 2024, NTU_ITEM, 28.0, 23.0, 32.0)]), "04", policy, PEERS)
    t = t.set_index("code")
    assert t.loc["0481", "signal"].label == "tydlig förändring" and t.loc["0481", "signal"].direction == "ökning"
    assert t.loc["0482", "signal"].label == "ingen säker förändring"
    assert t.loc["0483", "signal"].text() == "saknas (2023 saknas)"
    # two tests adjusted together: BH with m = 2 gives the larger p-value unchanged, the smaller at most doubled
    p1, p2 = t.loc["0481", "signal"].p, t.loc["0482", "signal"].p
    assert t.loc["0482", "signal"].p_adjusted == pytest.approx(max(p2, min(p1 * 2, p2)))
    assert t.loc["0482", "ntu_share"] == 28.0 and pd.isna(t.loc["0481", "ntu_share"])


@pytest.fixture(scope="module")
def dalarna(tmp_path_factory):
    requires_shared()
    folder = REAL / "region-dalarna-brott"
    con, _ = real_warehouse(tmp_path_factory.mktemp("dalarna") / "w.duckdb", [
        folder / "bra_kommunindikatorer_dalarna.csv", folder / "brott_polisen_borlange_2022-2025.csv",
        folder / "bef_deso_dalarna_2022-2025.csv", folder / "deso_2025_dalarna.geojson",
        REAL / "utsatta-omraden" / "uso_2025_sodermanland_sodertalje_borlange.geojson"])
    yield con
    con.close()


def _by_hand(variable: str, unit: str, year: int) -> dict[str, float]:
    """geografi -> varde straight from Brå's file."""
    with (REAL / "region-dalarna-brott" / "bra_kommunindikatorer_dalarna.csv").open(encoding="utf-8") as fh:
        return {r["geografi"]: float(r["varde"]) for r in csv.DictReader(fh)
                if r["variabel"] == variable and r["enhet"] == unit and r["ar"] == str(year) and r["varde"]}


def test_dalarna_county_page_from_the_real_files(dalarna, tmp_path):
    from dashboards.data import load_site_data
    from dashboards.site import build_site

    data = load_site_data(dalarna)
    assert P.counties_to_publish(data) == ["20"]
    site = build_site(data, tmp_path / "site", load_policy())
    page = (tmp_path / "site" / "lan-20.html").read_text(encoding="utf-8")
    assert "lan-20.html" in site.pages and "Länsöversikt: Dalarnas län" in page
    rates = _by_hand(HEADLINE, "Antal per 100 000 inv", 2024)
    municipalities = {k: v for k, v in rates.items() if k not in ("Dalarnas län", "Hela landet")}
    assert len(municipalities) == 15 and rates["Borlänge"] == 12454.0 and rates["Dalarnas län"] == 8750.0
    t = P.county_table(data, "20", load_policy())
    assert int(t.year.iloc[0]) == 2024 and len(t) == 15
    assert dict(zip(t.name, t.per_100k)) == municipalities
    assert "12\u00a0454" in page and "Borlänge" in page
    assert 'href="lagesbild-2081.html"' in page     # Borlänge has a page (its police export is loaded)
    assert 'href="lagesbild-2084.html"' not in page  # Avesta has none: named, not linked
    # NTU: the latest year in Brå's file (2025; the crime rates end with 2024), share and limits as Brå gives them
    with (REAL / "region-dalarna-brott" / "bra_kommunindikatorer_dalarna.csv").open(encoding="utf-8") as fh:
        ntu = {r["enhet"]: r["varde"] for r in csv.DictReader(fh)
               if r["geografi"] == "Borlänge" and r["ar"] == "2025" and r["variabel"] == NTU_ITEM}
    share, low, high = (round(float(ntu[k])) for k in
                        [k for k in ntu if not k.startswith("KI")] + ["KI (95 %) undre gräns", "KI (95 %) övre gräns"])
    assert (share, low, high) == (33, 29, 38)
    assert f"{share}\u00a0% ({low}–{high}), 2025" in page
    # the peer band on Borlänge's page: the quartiles of the 15 municipalities' 2024 rates, computed here
    values = sorted(municipalities.values())
    q25, med, q75 = np.percentile(values, [25, 50, 75])
    [county_block] = [b for b in P.peer_blocks(data, "2081", load_policy()) if "Dalarnas län" in b.title]
    row = county_block.table[(county_block.table["Indikator"] == HEADLINE) & (county_block.table["År"] == "2024")]
    from dashboards.format import fmt_number
    assert row["Median"].item() == fmt_number(med, 0) and row["Borlänge"].item() == "12\u00a0454"
    assert row["Mittersta 50 %"].item() == f"{fmt_number(q25, 0)}–{fmt_number(q75, 0)}"
    assert row["Antal kommuner"].item() == "15"
    borlange = (tmp_path / "site" / "lagesbild-2081.html").read_text(encoding="utf-8")
    assert "Borlänge jämfört med kommunerna i Dalarnas län" in borlange


def test_swedish_genitive_of_municipality_names():
    assert P.genitive("Borlänge") == "Borlänges" and P.genitive("Strängnäs") == "Strängnäs"
    assert P.genitive("Eskilstuna") == "Eskilstunas"


def test_borlange_regso_are_rolled_up_and_named_from_the_export(dalarna):
    """DeSO rows roll up to RegSO by SCB's key; the top RegSO of 2024 is shown by name, its code beside it."""
    import json

    from dashboards.data import load_site_data
    from dashboards.sections.regso import regso_blocks

    folder = REAL / "region-dalarna-brott"
    key = {f["properties"]["desokod"]: f["properties"]["regsokod"]
           for f in json.loads((folder / "deso_2025_dalarna.geojson").read_text(encoding="utf-8"))["features"]}
    # by hand, from the export: crimes per RegSO in 2024 (every code; the page leaves out the few non-crime codes,
    # which the known answer below does not depend on: the top RegSO leads by ~700)
    totals: dict[str, int] = {}
    stems: dict[str, dict[str, int]] = {}
    with (folder / "brott_polisen_borlange_2022-2025.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["Inskr år"] == "2024":
                rc = key[r["desokod"]]
                totals[rc] = totals.get(rc, 0) + int(r["antal_brott"])
                stem = r["regsonamn"].rsplit(" ", 1)[0] if r["regsonamn"].rsplit(" ", 1)[-1].isdigit() else r["regsonamn"]
                stems.setdefault(rc, {}).setdefault(stem, 0)
                stems[rc][stem] += 1
    top = max(totals, key=totals.get)
    top_name = max(stems[top], key=stems[top].get)
    assert (top, top_name) == ("2081R005", "Kupolen-Norra Backa-Hagalund-Ringen")
    [block] = regso_blocks(load_site_data(dalarna, {"2081"}), "2081", load_policy())
    assert block.title == "Anmälda brott per RegSO 2025"   # the latest complete year; 2024 is a column
    table = block.table.set_index("Kod")
    in_2024 = {c: int(v.replace("\u00a0", "")) for c, v in table["2024"].items() if v not in ("saknas", "<5")}
    assert max(in_2024, key=in_2024.get) == top and table.loc[top, "RegSO"] == top_name
    assert not any(n.startswith("2081R") or n.startswith("2081C") for n in block.table.RegSO)  # names, not codes
    # the rate of the latest year by hand: the RegSO's crimes over the population of its DeSOs from SCB's file
    with (folder / "bef_deso_dalarna_2022-2025.csv").open(encoding="utf-8") as fh:
        pop = sum(float(r["bef"]) for r in csv.DictReader(fh) if r["år"] == "2025" and key.get(r["desokod"]) == top)
    crimes_2025 = int(table.loc[top, "2025"].replace("\u00a0", ""))
    from dashboards.format import fmt_number
    assert table.loc[top, "Per 100 000 inv. 2025"] == fmt_number(crimes_2025 / pop * 1e5, 0)
    assert table.loc[top, "Folkmängd 2025"] == fmt_number(pop, 0)
    # Tjärna Ängar (RegSO of DeSO 2081C1140) is named as SOURCE.md names it
    assert table.loc[key["2081C1140"], "RegSO"] == "Tjärna Ängar"
    assert "(RegSO %{customdata[0]})" in block.figure.data[0].hovertemplate
    assert [c[0] for c in block.figure.data[0].customdata][-1] == top   # the top bar carries its code on hover


def test_classes_are_whole_number_quantile_bins_covering_every_value():
    from dashboards.sections.maps import classes

    # 1..10, quintile cuts at floor(2.8)=2, floor(4.6)=4, floor(6.4)=6, floor(8.2)=8, and the maximum 10
    assert classes(list(range(1, 11))) == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
    assert classes([5, 5, 5]) == [(5, 5)] and classes([]) == []


def _rings(path, keep) -> int:
    import json

    n = 0
    for f in json.loads(path.read_text(encoding="utf-8"))["features"]:
        g = f["geometry"]
        if keep(f["properties"]):
            n += 1 if g["type"] == "Polygon" else len(g["coordinates"])
    return n


def test_borlange_map_draws_every_deso_and_the_vulnerable_areas_offline(dalarna):
    import plotly.graph_objects as go

    from dashboards.data import load_site_data
    from dashboards.sections.maps import map_blocks

    [block] = map_blocks(load_site_data(dalarna, {"2081"}), "2081", load_policy())
    fills = [t for t in block.figure.data if t.fill == "toself"]
    lines = [t for t in block.figure.data if t.fill != "toself"]
    # by hand from the two GeoJSON files: Borlänge's DeSO outer rings, and the vulnerable areas in Borlänge
    assert len(fills) == _rings(REAL / "region-dalarna-brott" / "deso_2025_dalarna.geojson",
                                lambda p: p["Kommunkod"] == "2081")
    assert len(lines) == _rings(REAL / "utsatta-omraden" / "uso_2025_sodermanland_sodertalje_borlange.geojson",
                                lambda p: p["ORT"] == "Borlänge") >= 1
    assert block.title == "Karta: anmälda brott per DeSO 2025 (antal)"
    assert "Tjärna Ängar" in " ".join(t.text for t in lines)
    go.Figure(block.figure.to_plotly_json())   # valid for Plotly although built without its validation
    # the table: every DeSO by name with its code, the most crimes first
    assert len(block.table) == len({t.text for t in fills}) and not block.table["Område"].str.match(r"^\d{4}C").any()
    first = int(block.table.iloc[0, 2].replace("\u00a0", ""))
    assert all(first >= int(v.replace("\u00a0", "")) for v in block.table.iloc[:, 2] if v not in ("saknas", "<5"))
    assert block.figure.layout.yaxis.scaleanchor == "x" and not block.figure.layout.xaxis.visible


def test_dalarna_pages_load_in_a_browser_with_every_figure_drawn(dalarna, tmp_path):
    """The Borlänge page (map, RegSO, peers) and the Dalarna county page, from the real files, in headless Chromium:
    no console errors, no failed requests (nothing fetched from the internet), every figure drawn; screenshots in
    build/screenshots/."""
    from dashboards.data import load_site_data
    from dashboards.site import build_site
    from tests.test_browser import PNR, _all_text, load_pages_and_draw

    site = tmp_path / "site"
    build_site(load_site_data(dalarna), site, load_policy())
    # the output scans cover these pages and their downloads: no personnummer, no script from input data
    for name, text in _all_text(site):
        assert not PNR.search(text) and "<script>alert" not in text, name
    assert 'id="fig-karta-brott"' in (site / "lagesbild-2081.html").read_text(encoding="utf-8")
    load_pages_and_draw(site, ["lagesbild-2081.html", "lan-20.html"], "dalarna_",
                        require={"lagesbild-2081.html": "#fig-karta-brott .main-svg path.js-fill"})

def test_map_classes_small_areas_and_est_places_on_hand_made_marts():
    """Two districts with outlines: one of 200 inhabitants with 3 crimes (shown as "<5", grey), one with 40; two EST
    places drawn as circles sized by their events (9 and 1: the larger is three times the area's sqrt)."""
    import plotly.graph_objects as go

    from dashboards.sections.maps import HIDDEN_COLOUR, map_blocks

    square = "[[[17.0,59.0],[17.1,59.0],[17.1,59.1],[17.0,59.1],[17.0,59.0]]]"
    other = "[[[17.1,59.0],[17.2,59.0],[17.2,59.1],[17.1,59.1],[17.1,59.0]]]"
    data = _site([])
    data.marts["dim_areas"] = pd.DataFrame({
        "area_code": ["0486-01", "0486-02"], "area_name": ["Liten", "Stor"], "municipality_code": ["0486"] * 2,
        "area_type": ["kommundel"] * 2, "outline": [square, other]})
    data.marts["rates_by_year"] = pd.DataFrame({
        "municipality_code": ["0486"] * 2, "measure": ["anmalda_brott"] * 2, "complete_year": [True] * 2,
        "area_code": ["0486-01", "0486-02"], "year": [2025] * 2, "count": [3, 40], "rate": [1500.0, 800.0]})
    data.marts["population_by_year"] = pd.DataFrame({
        "municipality_code": ["0486"] * 2, "area_code": ["0486-01", "0486-02"], "year": [2025] * 2,
        "population": [200, 5000]})
    data.marts["crime_by_quarter"] = pd.DataFrame({"municipality_code": ["0486"], "area_code": ["0486-01"]})
    data.marts["est_places"] = pd.DataFrame({
        "municipality_code": ["0486"] * 3, "place": ["Torget", "Torget", "Skolan"], "year": [2025] * 3,
        "events": [5, 4, 1], "lat": [59.05, 59.05, 59.02], "lon": [17.05, 17.05, 17.15]})
    [block] = map_blocks(data, "0486", load_policy())
    # the rate beside the count; a hidden count's rate is hidden too (3 of 200 -> 1 500 would give the 3 away)
    assert block.table.to_dict("list") == {"Område": ["Stor", "Liten"], "Kod": ["0486-02", "0486-01"],
                                           "Anmälda brott 2025": ["40", "<5"], "Per 100 000 inv.": ["800", "×"]}
    fills = {t.text.split(" (")[0]: t for t in block.figure.data if t.fill == "toself"}
    assert fills["Stor"].text == "Stor (0486-02): 40 (800 per 100 000 inv.)" and fills["Liten"].text.endswith(": &lt;5")  # escaped: shown as <5
    assert fills["Liten"].fillcolor == HIDDEN_COLOUR and fills["Liten"].name == "färre än 5 (skyddat)"
    assert fills["Stor"].name == "40–40"                   # one shown value: one class
    [est] = [t for t in block.figure.data if t.mode == "markers"]
    # places by name: Skolan 1 event -> 6 + 24 * sqrt(1/9) = 14; Torget 5 + 4 = 9 events (the largest) -> 30
    assert list(est.marker.size) == [14.0, 30.0] and list(est.text) == ["Skolan: 1 EST-händelse", "Torget: 9 EST-händelser"]
    assert "EST-platser" in block.description
    go.Figure(block.figure.to_plotly_json())


def test_regso_small_area_counts_and_their_rates_are_hidden_on_hand_made_rows():
    from dashboards.sections.regso import regso_blocks

    data = _site([])
    data.marts["crime_by_regso_year"] = pd.DataFrame({
        "municipality_code": ["2081"] * 4, "regso_code": ["2081R001", "2081R002", "2081R003", "2081R004"],
        "regso_name": ["Liten", "Stor", "Fyra", "Fem"], "named": [True] * 4, "year": [2025] * 4, "quarters": [4] * 4,
        "crimes": [3, 100, 4, 5], "population": [500.0, 2000.0, 900.0, 900.0]})
    [block] = regso_blocks(data, "2081", load_policy())
    t = block.table.set_index("Kod")
    # 500 < 1 000 inhabitants: 3 shows as "<5" and its rate (600) would give it away: "×"; 100 of 2 000 = 5 000
    assert (t.loc["2081R001", "2025"], t.loc["2081R001", "Per 100 000 inv. 2025"]) == ("<5", "×")
    assert (t.loc["2081R002", "2025"], t.loc["2081R002", "Per 100 000 inv. 2025"]) == ("100", "5\u00a0000")
    # on each side of the policy's largest hidden count (4): 4 hidden, 5 shown (5 of 900 = 556 per 100 000)
    assert (t.loc["2081R003", "2025"], t.loc["2081R004", "2025"]) == ("<5", "5")
    assert t.loc["2081R004", "Per 100 000 inv. 2025"] == "556"
