"""End to end: definitions load, a full refresh on a sample home, idempotency, and the published pages."""
from __future__ import annotations

import hashlib
import json
import re

import dagster as dg
import duckdb
import pandas as pd
import pytest

from pipelines.models import discover
from sources.contract import all_feeds
from tests.conftest import SMALL, refreshed_home, run_cli, table_counts

SAMPLE_FEEDS = {"areas", "population", "crime_reports", "concern_reports", "est_events", "survey_responses",
                "activity_log", "bra_indicators"}


def test_definitions_load_with_every_feed_model_and_check():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for feed in all_feeds():
        assert f"raw/{feed}" in keys
        assert f"staging/stg_{feed}" in keys
    for m in discover():
        assert f"{m.layer}/{m.name}" in keys
    assert "published/site" in keys and "ref/reference" in keys
    # the graph follows the SQL: a mart depends on the staging model and the reference it reads
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["marts", "crime_by_quarter"])).parent_keys}
    assert parents == {"staging/stg_crime_reports", "ref/reference"}
    check_names = {k.name for k in graph.asset_check_keys}
    for feed in all_feeds():
        assert f"{feed}_blocking" in check_names
    assert defs.resolve_job_def("refresh") is not None


def test_refresh_loads_every_feed_and_conserves_rows(sample_home):
    con = duckdb.connect(str(sample_home / "warehouse.duckdb"), read_only=True)
    files = con.execute("SELECT * FROM meta.files").df()
    assert set(files.feed) == SAMPLE_FEEDS
    assert (files.status == "loaded").all()
    # conservation per file: read = loaded + quarantined, and the raw table holds exactly the loaded rows
    assert (files.rows_read == files.rows_loaded + files.rows_quarantined).all()
    for feed in SAMPLE_FEEDS:
        raw = con.execute(f'SELECT _sha256, count(*) AS n FROM raw."{feed}" GROUP BY 1').df()
        merged = files[files.feed == feed].merge(raw, left_on="sha256", right_on="_sha256")
        assert (merged.rows_loaded == merged.n).all(), feed
        assert len(merged) == (files.feed == feed).sum(), feed
    q = con.execute("SELECT file_name, column_name, raw_value, reason FROM meta.quarantine ORDER BY row_number").df()
    # the sample seeds three broken rows into the 2024 crime file
    assert list(q.raw_value) == ["12AB", "2024-02-31", q.raw_value.iloc[2]]
    assert "kodlistan" in q.reason.iloc[0] and "datum" in q.reason.iloc[1] and q.reason.iloc[2].startswith("dubblett")
    # every quality check ran; all pass on the clean sample except "has rows" for feeds the sample lacks
    checks = con.execute("SELECT feed, severity, expectation, success FROM meta.check_results").df()
    assert set(checks.feed) == set(all_feeds())
    failed = checks[~checks.success]
    assert set(failed.expectation) <= {"expect_table_row_count_to_be_between"}
    assert set(failed.feed) == set(all_feeds()) - SAMPLE_FEEDS and (failed.severity == "warn").all()


def test_marts_agree_with_raw_rows(sample_home):
    con = duckdb.connect(str(sample_home / "warehouse.duckdb"), read_only=True)
    raw_total = con.execute("SELECT sum(crime_count) FROM raw.crime_reports").fetchone()[0]
    mart_total = con.execute("SELECT sum(crimes) FROM marts.crime_by_quarter").fetchone()[0]
    assert raw_total == mart_total > 0
    est = con.execute("SELECT count(*) FROM raw.est_events").fetchone()[0]
    assert est == con.execute("SELECT sum(events) FROM marts.est_by_quarter").fetchone()[0]
    # weighted survey share recomputed independently in pandas for one cell
    resp = con.execute("SELECT survey_year, weight, unsafe_evening FROM raw.survey_responses "
                       "WHERE survey_year = 2025 AND unsafe_evening IS NOT NULL").df()
    expected = (resp.weight * resp.unsafe_evening.astype(float)).sum() / resp.weight.sum()
    n_eff = resp.weight.sum() ** 2 / (resp.weight ** 2).sum()
    row = con.execute("SELECT share, n, ci_low, ci_high FROM marts.survey_by_year WHERE year = 2025 "
                      "AND item = 'unsafe_evening' AND area_code = ''").fetchone()
    assert row[0] == pytest.approx(expected, abs=1e-12)
    assert row[1] == len(resp)
    z2 = 1.959964 ** 2  # Wilson's score interval on the Kish effective n
    centre = (expected + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = 1.959964 * (expected * (1 - expected) / n_eff + z2 / (4 * n_eff ** 2)) ** 0.5 / (1 + z2 / n_eff)
    assert row[2] == pytest.approx(centre - half) and row[3] == pytest.approx(centre + half)
    # unplaceable crimes keep counting for the municipality
    assert con.execute("SELECT sum(crimes) FROM marts.crime_by_quarter WHERE area_code = ''").fetchone()[0] > 0


def _mart_fingerprint(con) -> dict[str, str]:
    out = {}
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall():
        df = con.execute(f'SELECT * FROM marts."{name}" ORDER BY ALL').df()
        out[name] = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()
    return out


def test_sample_and_refresh_twice_change_nothing(tmp_path_factory, tmp_path):
    # a copy of the run's sampled and refreshed home, in another folder: a moved home still knows its files
    home = refreshed_home(tmp_path_factory, tmp_path / "h", *SMALL)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    counts1, marts1 = table_counts(con), _mart_fingerprint(con)
    files1 = con.execute("SELECT sha256, path, status, rows_loaded FROM meta.files ORDER BY ALL").fetchall()
    con.close()
    assert run_cli("--home", str(home), "sample", "--scale", "0.05", "--first-year", "2025",
                   "--municipalities", "0486") == 0
    assert run_cli("--home", str(home), "refresh") == 0
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    assert table_counts(con) == counts1
    assert _mart_fingerprint(con) == marts1
    assert con.execute("SELECT sha256, path, status, rows_loaded FROM meta.files ORDER BY ALL").fetchall() == files1
    con.close()


def test_published_page_has_every_figure_offline_and_safe(sample_home):
    site = sample_home / "site"
    page = (site / "lagesbild-0486.html").read_text(encoding="utf-8")
    area_ids = ["barn-unga", "trygga-miljoer", "kommunikation", "vald-relation", "trafik", "naringsliv"]
    expected = [f"omrade-{a}" for a in area_ids] + ["brott-kvartal", "brott-forandring", "brott-omrade", "jamforelse",
                                                    "jamforelse-grupp-1", "jamforelse-grupp-2",  # county, peers.yaml
                                                    "karta-brott",  # the districts' (schematic) outlines
                                                    "est-kvartal", "est-platser", "est-karta", "est-veckodag",
                                                    "oro-kvartal", "trygghet-trend",
                                                    "ntu-jamforelse"]
    # the honest-number signals (dashboards/STATISTICS.md) are on the page
    assert "Benjamini–Hochbergs metod" in page and "Spridning φ" in page and "per 100 000 invånare" in page
    assert 'id="oro-skal"' in page and "sekundär röjandekontroll" in page
    assert "säkerställd förändring" in page
    # Strängnäs's six priority areas with their indicators and the activity follow-up table
    for name in ["Skydda barn och unga från att hamna i utanförskap, kriminalitet och missbruk.",
                 "Utveckla samverkan med näringslivet.", "Uppföljning av handlingsplanen 2026"]:
        assert name in page
    assert "Anmälda narkotikabrott" in page and "Genomförda trygghetsvandringar" in page
    # survey figures per district only where a district has at least the policy's minimum n (30)
    con = duckdb.connect(str(sample_home / "warehouse.duckdb"), read_only=True)
    area_n = con.execute("SELECT max(n) FROM marts.survey_by_year WHERE area_code <> '' AND item = 'unsafe_evening' "
                         "AND year = (SELECT max(year) FROM marts.survey_by_year)").fetchall()[0][0]
    con.close()
    if area_n >= 30:
        expected.append("trygghet-omrade")
    else:
        assert 'id="fig-trygghet-omrade"' not in page
    for fig_id in expected:
        assert f'id="fig-{fig_id}"' in page, fig_id
    assert page.count('class="plotly-graph-div lazy-figure"') == len(expected)
    from dashboards.render import PLOTLY_BUNDLE
    assert (site / "plotly.min.js").read_bytes() == PLOTLY_BUNDLE.read_bytes()  # the partial bundle, beside the pages
    for html in site.glob("*.html"):
        text = html.read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', text)
        assert all(not s.startswith(("http:", "https:", "//")) for s in scripts), html.name
        assert "cdn." not in text.lower(), html.name
        assert "<script>alert" not in text, html.name
        assert not re.search(r"\b(19|20)?\d{6}[-+]\d{4}\b", text), html.name
    # Swedish labels and period format
    assert "kv. 1 2024" in page and "Anmälda brott" in page
    # every check on the quality page links to its entry in the offline Data Docs
    quality = (site / "datakvalitet.html").read_text(encoding="utf-8")
    docs = (site / "datadocs.html").read_text(encoding="utf-8")
    anchors = re.findall(r'href="datadocs.html#([^"]+)"', quality)
    assert anchors and all(f'id="{a}"' in docs for a in anchors)
    # and to its history in the home's Dagster instance (one link per check row)
    history = re.findall(r'class="history" href="http://localhost:3000/assets/staging/([a-z_]+)\?view=checks"', quality)
    assert len(history) == len(anchors) and "stg_crime_reports" in history
    assert "Aktualitet per flöde" in quality and "Täckning: anmälda brott per kvartal och område" in quality
    # every table on the page has an Excel download with the same (suppressed) values
    links = re.findall(r'href="(data/[^"]+\.xlsx)"', page)
    assert len(links) >= len(expected) and all((site / link).exists() for link in links)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="lagesbild-0486.html"' in index and "Strängnäs" in index


def test_cli_lists_verbs_and_prints_manifest_json(sample_home, capsys):
    from pipelines.cli import build_parser

    help_text = build_parser().format_help()
    for verb in ("sample", "ingest", "files", "quarantine", "refresh", "publish"):
        assert verb in help_text
    assert run_cli("--home", str(sample_home), "files", "--json") == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["feed"] for r in records} == SAMPLE_FEEDS
    assert all(r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] for r in records)
    assert run_cli("--home", str(sample_home), "quarantine", "--json") == 0
    q = json.loads(capsys.readouterr().out)
    assert len(q) == 3 and {r["file_name"] for r in q} == {"brott_0486_2024.csv"}


def test_materialize_a_feed_slice_with_dagster(tmp_path):
    """dg.materialize on a subset of the real assets, in a temporary home (Dagster University style)."""
    from pipelines.assets import all_assets
    from pipelines.checks.asset_checks import all_checks
    from pipelines.home import Home
    from pipelines.resources import build_resources
    from sources.sample import write_areas

    home = Home(tmp_path)
    write_areas(home.incoming)
    wanted = {"ref/reference", "raw/areas", "staging/stg_areas", "marts/dim_areas"}
    assets = [a for a in all_assets() if {k.to_user_string() for k in a.keys} & wanted]
    checks = [c for c in all_checks() if any(k.asset_key.to_user_string() == "staging/stg_areas" for k in c.check_keys)]
    result = dg.materialize([*assets, *checks], resources=build_resources(home))
    assert result.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert mats["marts/dim_areas"]["rows"].value == 5
    assert mats["raw/areas"]["rows_in_warehouse"].value == 5
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    names = [r[0] for r in con.execute("SELECT municipality_name FROM marts.dim_areas").fetchall()]
    assert set(names) == {"Strängnäs"}


def test_no_unsuppressed_small_counts_in_published_concern_tables(sample_home):
    page = (sample_home / "site" / "lagesbild-0486.html").read_text(encoding="utf-8")
    checked = 0
    for block_id in ("oro-kvartal", "oro-skal"):
        start = page.index(f'id="{block_id}"')
        body = page[start:page.index("</tbody>", start)]
        cells = re.findall(r"<td>(.*?)</td>", body)
        assert cells
        for cell in cells:
            assert not re.fullmatch(r"[1-4]", cell.strip()), (block_id, cell)
            checked += 1
    assert checked > 20


def test_a_corrected_file_is_noted_on_the_figures_it_changes(tmp_path_factory, tmp_path):
    home = refreshed_home(tmp_path_factory, tmp_path / "h", *SMALL)
    page = (home / "site" / "lagesbild-0486.html").read_text(encoding="utf-8")
    assert "reviderad" not in page
    # a corrected export for 2026 (one row less) replaces the earlier 2026 rows
    original = home / "incoming" / "crime_reports" / "brott_0486_2026.csv"
    lines = original.read_text(encoding="utf-8-sig").splitlines()
    corrected = home / "incoming" / "crime_reports" / "brott_0486_2026_rattad.csv"
    corrected.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    original.unlink()
    assert run_cli("--home", str(home), "refresh") == 0
    page = (home / "site" / "lagesbild-0486.html").read_text(encoding="utf-8")
    assert "Anmälda brott (polisens export) reviderad" in page and "rader ersatta av rättade filer" in page
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.crime_reports WHERE _sha256 IN "
                       "(SELECT sha256 FROM meta.files WHERE file_name = 'brott_0486_2026.csv')").fetchall()[0][0] == 0
    assert con.execute("SELECT status FROM meta.files WHERE file_name = 'brott_0486_2026.csv'").fetchall()[0][0] == "replaced"


def test_a_moved_home_sees_no_changed_files_until_one_changes(tmp_path_factory, tmp_path):
    """The refresh's test for "anything new?" (size and modification time by path, `pipelines/changes.py`) holds
    in a copy of the home in another folder, also for rows an older version wrote with absolute paths; a file
    touched afterwards is seen."""
    import os

    from pipelines.home import Home
    from pipelines.jobs import changed_feeds_of

    home = Home(refreshed_home(tmp_path_factory, tmp_path / "flyttat", *SMALL))
    assert changed_feeds_of(home) == []
    con = duckdb.connect(str(home.warehouse))
    con.execute("UPDATE meta.file_stats SET path = ? || '/' || path", [str(home.root.resolve())])  # as written before
    con.close()
    assert changed_feeds_of(home) == []
    crime = sorted((home.incoming / "crime_reports").glob("*.csv"))[0]
    os.utime(crime, ns=(crime.stat().st_atime_ns, crime.stat().st_mtime_ns + 1_000_000_000))
    assert changed_feeds_of(home) == ["crime_reports"]
