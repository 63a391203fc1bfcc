"""Every real public file listed in issue 3 loads through its shipped profile, with the known answers.

The files live in ../shared/data/real (test fixtures, never copied into the repo). Without ../shared these tests
skip with the reason.
"""
from __future__ import annotations

import json
import math

import pytest

from tests.conftest import REAL, real_warehouse, requires_shared

FILES = {
    "polisen-events/api_snapshot_2025-02-28.json": ("polisen_events", "polisen-api-events"),
    "polisen-events/api_snapshot_2026-08-22.json": ("polisen_events", "polisen-api-events"),
    "polisen-events/event_revisions_sample.json": ("polisen_events", "polisen-api-events"),
    "polisen-events/sodermanland_sodertalje_events_2022-2026.json": ("polisen_events", "polisen-api-events"),
    "region-dalarna-brott/brott_polisen_borlange_2022-2025.csv": ("crime_reports", "polisen-brottsstatistik-deso"),
    "region-dalarna-brott/brott_polisen_dalarna_2022-2025.csv.gz": ("crime_reports", "polisen-brottsstatistik-deso"),
    "region-dalarna-brott/bra_kommunindikatorer_dalarna.csv": ("bra_indicators", "bra-kommunindikatorer"),
    "region-dalarna-brott/bef_deso_dalarna_2022-2025.csv": ("population", "scb-bef-deso"),
    "region-dalarna-brott/deso_2025_dalarna.geojson": ("areas", "scb-deso-geojson"),
    "utsatta-omraden/uso_2025_sodermanland_sodertalje_borlange.geojson": ("areas", "polisen-utsatta-omraden"),
    "bra-sol-lulea/latest_2026-08_boden_lulea.csv": ("bra_stats", "bra-sol-lang"),
    "bra-goteborg/bra-goteborg-stadsomraden.csv": ("bra_stats", "bra-stadsomraden"),
    "bra-goteborg/goteborg-area-population.csv": ("population", "goteborg-area-population"),
}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    requires_shared()
    con, results = real_warehouse(tmp_path_factory.mktemp("real") / "w.duckdb", [REAL / f for f in FILES])
    yield con, results
    con.close()


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_file_loads_through_its_profile_with_conservation(real):
    con, results = real
    by_name = {r.path.split("/")[-1]: r for r in results}
    for path, (feed, profile) in FILES.items():
        r = by_name[path.split("/")[-1]]
        assert (r.feed, r.profile, r.status) == (feed, profile, "loaded"), path
        assert r.rows_read == r.rows_loaded + r.rows_quarantined, path
        assert r.rows_quarantined == 0, path
    manifest = con.execute("SELECT file_name, status, rows_read, rows_loaded, rows_quarantined FROM meta.files").df()
    assert (manifest.rows_read == manifest.rows_loaded + manifest.rows_quarantined).all()


def test_police_export_known_answers_and_no_double_counting(real):
    con, _ = real
    # Borlänge, sum of antal_brott per registration year (SOURCE.md); the Dalarna export replaced the Borlänge one
    assert q(con, "SELECT year(registered_date), sum(crime_count), count(*) FROM raw.crime_reports "
                  "WHERE municipality_code = '2081' GROUP BY 1 ORDER BY 1") == [
        (2022, 5834, 5425), (2023, 7084, 6656), (2024, 7333, 6844), (2025, 6534, 5972)]
    assert q(con, "SELECT year(registered_date), count(*) FROM raw.crime_reports GROUP BY 1 ORDER BY 1") == [
        (2022, 24372), (2023, 29521), (2024, 28198), (2025, 25681)]
    assert q(con, "SELECT year(registered_date), sum(crime_count) FROM raw.crime_reports "
                  "WHERE area_code = '2081C1140' GROUP BY 1 ORDER BY 1") == [(2022, 241), (2023, 254), (2024, 297),
                                                                              (2025, 299)]
    status = dict(q(con, "SELECT file_name, status FROM meta.files WHERE feed = 'crime_reports'"))
    assert status == {"brott_polisen_borlange_2022-2025.csv": "replaced",
                      "brott_polisen_dalarna_2022-2025.csv.gz": "loaded"}
    assert q(con, "SELECT sum(rows_removed) FROM meta.revisions WHERE feed = 'crime_reports'") == [(24897,)]
    # non-crime codes (wildlife accidents) are flagged by the shipped code tree, not dropped
    assert q(con, "SELECT sum(crimes) FROM marts.crime_by_quarter WHERE municipality_code = '2081' AND year = 2024 "
                  "AND NOT counts_as_crime")[0][0] > 0


def test_polisen_events_newest_version_wins_and_history_is_kept(real):
    con, _ = real
    revisions = json.loads((REAL / "polisen-events/event_revisions_sample.json").read_text(encoding="utf-8"))
    for item in revisions:
        newest = max(item["versions"], key=lambda v: v["commit_time"])["event"]
        row = q(con, "SELECT event_type, summary, versions FROM staging.stg_polisen_events WHERE event_id = ?",
                str(item["id"]))
        assert row and row[0][0] == newest["type"] and row[0][1] == newest["summary"], item["id"]
        assert row[0][2] >= len({v["commit_time"] for v in item["versions"]})
    changed = [i for i in revisions if len({v["event"]["type"] for v in i["versions"]}) > 1]
    assert changed, "the sample has events whose type changed"
    # Strängnäs by municipality in the name (SOURCE.md known answers), incl. the 2026 county-level locations
    by_year = q(con, "SELECT year(published_at), count(*) FROM staging.stg_polisen_events "
                     "WHERE place_in_name = 'Strängnäs' GROUP BY 1 ORDER BY 1")
    assert by_year == [(2023, 31), (2024, 24), (2025, 33), (2026, 23)]
    assert q(con, "SELECT count(*) FROM staging.stg_polisen_events WHERE municipality_code = '0486' "
                  "AND municipality_basis = 'rubrik' AND published_at >= DATE '2026-01-21'")[0][0] == 19
    # an unpadded hour ("9:48:12 +02:00") parsed as local time
    assert q(con, "SELECT published_at FROM raw.polisen_events WHERE event_id = '650276' LIMIT 1")[0][0].hour == 9


def test_bra_indicators_counts_rates_and_ntu(real):
    con, _ = real
    borlange = q(con, "SELECT year, crimes FROM marts.bra_crime_by_year WHERE geography_code = '2081' "
                      "AND variable = 'Totalt antal anmälda brott' ORDER BY year")
    assert [int(c) for _, c in borlange] == [6229, 6277, 6076, 5821, 6162, 6261, 6196, 6424]
    assert q(con, "SELECT crimes, per_100k FROM marts.bra_crime_by_year WHERE geography_code = '00' AND year = 2024 "
                  "AND variable = 'Totalt antal anmälda brott'") == [(1489319.0, 14090.0)]
    assert q(con, "SELECT crimes FROM marts.bra_crime_by_year WHERE geography_code = '20' AND year = 2024 "
                  "AND variable = 'Totalt antal anmälda brott'") == [(25103.0,)]
    ntu = q(con, "SELECT share_percent, ci_low_percent, ci_high_percent FROM marts.ntu_by_year "
                 "WHERE geography_code = '2081' AND year = 2024 "
                 "AND variable = 'Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet'")
    assert ntu == [(36.0, 31.0, 40.0)]
    n = dict(q(con, "SELECT geography_code, max(n) FROM marts.ntu_by_year WHERE year = 2024 GROUP BY 1"))
    assert n["20"] == 1969 and n["2084"] == 118


def test_population_carried_forward_year_is_flagged(real):
    con, _ = real
    rows = q(con, "SELECT year, population, carried_forward, is_final FROM marts.population_by_year "
                  "WHERE municipality_code = '2081' AND area_code = '' ORDER BY year")
    assert rows[2] == (2024, 51425, False, True)
    assert rows[3] == (2025, 51425, True, False)  # a copy of 2024, not a measurement
    assert q(con, "SELECT sum(population) FROM marts.population_by_year WHERE area_code = '' AND year = 2024 "
                  "AND municipality_code LIKE '20%'") == [(286546,)]
    # Göteborg: the municipality's own row, not the sum of districts that do not cover it
    assert q(con, "SELECT population FROM marts.population_by_year WHERE municipality_code = '1480' "
                  "AND area_code = '' AND year = 2024") == [(608993,)]


def _bbox(feature):
    coords = feature["geometry"]["coordinates"]
    rings = [coords[0]] if feature["geometry"]["type"] == "Polygon" else [p[0] for p in coords]
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    return min(xs), min(ys), max(xs), max(ys)


def test_area_files_deso_and_vulnerable_areas_with_projected_centroids(real):
    con, _ = real
    assert q(con, "SELECT area_type, count(*) FROM raw.areas GROUP BY 1 ORDER BY 1") == [("deso", 175),
                                                                                          ("utsatt_omrade", 10)]
    classes = dict(q(con, "SELECT area_name, area_class FROM raw.areas WHERE area_type = 'utsatt_omrade'"))
    assert classes["Ronna"] == "Särskilt utsatt område" and classes["Skiftinge"] == "Utsatt område"
    assert q(con, "SELECT municipality_code, count(*) FROM raw.areas WHERE area_type = 'utsatt_omrade' "
                  "GROUP BY 1 ORDER BY 1") == [("0181", 6), ("0484", 3), ("2081", 1)]
    # Tjärna Ängar (EPSG:3006 in the file) lands inside the DeSOs it overlaps (WGS 84 in the DeSO file)
    lat, lon = q(con, "SELECT lat, lon FROM raw.areas WHERE area_name = 'Tjärna Ängar'")[0]
    deso = json.loads((REAL / "region-dalarna-brott/deso_2025_dalarna.geojson").read_text(encoding="utf-8"))
    boxes = [_bbox(f) for f in deso["features"] if f["properties"]["desokod"] in ("2081C1140", "2081C1170")]
    assert min(b[0] for b in boxes) <= lon <= max(b[2] for b in boxes)
    assert min(b[1] for b in boxes) <= lat <= max(b[3] for b in boxes)


def test_bra_sol_preliminary_month_and_tree_sums(real):
    con, _ = real
    rows = dict(((m, i), (c, r, p)) for m, i, c, r, p in q(
        con, "SELECT municipality_code, crime_item, crimes, per_100k, is_preliminary FROM staging.stg_bra_stats "
             "WHERE period_type = 'månad' AND period_start = DATE '2026-08-01' AND item_level = 1"))
    assert rows[("2582", "Totalt antal brott")] == (225.0, 786.0, True)   # Boden
    assert rows[("2580", "Totalt antal brott")] == (652.0, 812.0, True)   # Luleå
    children = q(con, "SELECT sum(crimes) FROM staging.stg_bra_stats WHERE municipality_code = '2582' "
                      "AND parent_item = 'Brott mot brottsbalken' AND period_start = DATE '2026-08-01'")
    assert children == [(181.0,)]
    districts = q(con, "SELECT sum(crimes) FROM staging.stg_bra_stats WHERE municipality_code = '1480' "
                       "AND area_name IS NOT NULL AND crime_item = 'Totalt antal brott' AND year = 2025")
    assert districts == [(80377.0,)]
    assert q(con, "SELECT crimes FROM staging.stg_bra_stats WHERE municipality_code = '1480' AND area_name IS NULL "
                  "AND crime_item = 'Totalt antal brott' AND year = 2025") == [(84816.0,)]
    assert math.isclose(1282 / 109752 * 100000, 1168, abs_tol=1)  # the SOURCE.md rate check, for the record


def test_reference_taxonomies_are_the_public_code_lists(tmp_path):
    """data/reference/*.csv is exactly what sources/reference/build.py derives from the public lists."""
    from sources.reference.build import build_crime_codes, build_municipalities
    from sources.taxonomy import REFERENCE_DIR

    requires_shared()
    build_crime_codes(REAL / "region-dalarna-brott/brott_niva_nyckel.csv", tmp_path / "c.csv")
    build_municipalities(REAL / "geo-kommuner/municipality_county.csv", tmp_path / "m.csv")
    assert (tmp_path / "c.csv").read_text(encoding="utf-8") == (REFERENCE_DIR / "crime_codes.csv").read_text(encoding="utf-8")
    assert (tmp_path / "m.csv").read_text(encoding="utf-8") == (REFERENCE_DIR / "municipalities.csv").read_text(encoding="utf-8")


def test_recompute_bra_rates_from_counts_and_mean_population(real):
    """Brå's per-100 000 rates = count / mean population of the year (mean of 31 Dec previous and this year).

    Tolerance ±0,5: Brå publishes rates rounded to whole numbers. Population from bef_deso (2022–2024; 2025 is a
    carried-forward copy and Brå's file ends in 2024), so 2023 and 2024 can be recomputed: 15 municipalities × 15
    indicators × 2 years.
    """
    con, _ = real
    pop = dict(((m, y), p) for m, y, p in q(con, "SELECT municipality_code, year, population FROM marts.population_by_year "
                                                  "WHERE area_code = ''"))
    rows = q(con, "SELECT geography_code, year, variable, crimes, per_100k FROM marts.bra_crime_by_year "
                  "WHERE geography_level = 'kommun' AND year IN (2023, 2024) AND crimes IS NOT NULL")
    assert len(rows) == 450
    worst = max(abs(n / ((pop[(m, y - 1)] + pop[(m, y)]) / 2) * 100000 - r) for m, y, _, n, r in rows)
    assert worst <= 0.5
    # with the year-end population instead the rates would be off by far more than rounding
    assert abs(6424 / pop[("2081", 2024)] * 100000 - 12454) > 30


def test_recompute_ntu_intervals_from_share_and_n(real):
    """NTU 95 % limits = share ± 1,96 × √(deff × p(1 − p) / n).

    County and country estimates are single-year and weighted: one design effect per level (estimated as the median
    squared ratio of published to simple-random-sampling half-widths: ≈ 1,27 county, ≈ 1,56 country) reproduces every
    published limit within 0,5 percentage points. Municipal estimates are narrower than the published n allows
    (median ratio ≈ 0,6): they pool several survey years, so the product publishes Brå's intervals as given and never
    recomputes them from n.
    """
    con, _ = real
    rows = q(con, "SELECT geography_level, share_percent, ci_low_percent, ci_high_percent, n FROM marts.ntu_by_year "
                  "WHERE share_percent IS NOT NULL AND n > 0 AND ci_low_percent IS NOT NULL")
    by_level: dict[str, list] = {}
    for level, p, lo, hi, n in rows:
        srs = 1.959964 * math.sqrt(p / 100 * (1 - p / 100) / n) * 100
        by_level.setdefault(level, []).append((p, lo, hi, srs))
    for level in ("län", "riket"):
        ratios = sorted(((hi - lo) / 2) / srs for p, lo, hi, srs in by_level[level] if srs > 0)
        deff = ratios[len(ratios) // 2] ** 2
        assert 1.1 < deff < 1.8, (level, deff)
        errors = [max(abs(p - math.sqrt(deff) * srs - lo), abs(p + math.sqrt(deff) * srs - hi))
                  for p, lo, hi, srs in by_level[level]]
        assert max(errors) <= 0.5, (level, max(errors))
    municipal = sorted(((hi - lo) / 2) / srs for p, lo, hi, srs in by_level["kommun"] if srs > 0)
    assert municipal[len(municipal) // 2] < 0.8  # pooled: narrower than one year's n allows
