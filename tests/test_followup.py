"""Follow-up status rules (models/marts/followup.sql) and indicator filters, on hand-made agreements and logs.

Expected statuses are worked out by hand in the comments; every date is in the past, so nothing depends on today.
"""
from __future__ import annotations

import duckdb
import pytest

from pipelines.models import run_all
from sources.agreements import load_folder
from sources.agreements.warehouse import load_plan_tables
from sources.ingest import ensure_schema, ingest_file
from sources.taxonomy import load_reference_tables

AGREEMENT = """
id: test-2023-2024
kind: samverkansöverenskommelse
title: Testöverenskommelse
municipality: {code: "0486", name: Strängnäs}
valid_from: 2023-01-01
valid_to: 2024-12-31
parties:
  - {id: kommunen, name: Kommunen, type: kommun}
  - {id: polisen, name: Polisen, type: polis}
priority_areas:
  - {id: miljo, name: Trygga miljöer}
activities:
  - {id: a1, name: Fyra gånger om året, priority_areas: [miljo], responsible: [{party: kommunen}], target: {count: 4, per: year}}
  - {id: a2, name: En gång om året, priority_areas: [miljo], responsible: [{party: polisen}], target: {count: 1, per: year}}
  - {id: a3, name: Utan antal, priority_areas: [miljo], responsible: [{party: kommunen}]}
"""
PROMISE = """
id: test-lofte-2024
kind: medborgarlöfte
title: Testlöfte
municipality: {code: "0486", name: Strängnäs}
valid_from: 2024-03-01
valid_to: 2024-12-31
parties:
  - {id: polisen, name: Polisen, type: polis}
promises:
  - id: p1
    text: Ett löfte
    targets:
      - {id: t1, text: Två insatser under perioden, party: polisen, count: 2, per: period}
"""
INDICATORS = """
agreement: test-2023-2024
indicators:
  - {id: klotter, priority_area: miljo, label: Klotter, kind: crime, rationale: test,
     filter: {level3: [Skadegörelse genom klotter]}}
  - {id: skadegorelse-eller-brand, priority_area: miljo, label: Skadegörelse, kind: crime, rationale: test,
     filter: {level3: [Skadegörelse genom klotter, Skadegörelse genom brand]}}
  - {id: and-filter, priority_area: miljo, label: Klotter och fråga 1, kind: crime, rationale: test,
     filter: {level3: [Skadegörelse genom klotter], question_area: [Fråga 2 - Hot och våld]}}
  - {id: aktiviteter, priority_area: miljo, label: Insatser, kind: activity, rationale: test,
     filter: {activity: [a1, a3]}}
"""
LOG = """Kommunkod;Datum;Aktivitet-id;Antal;Part;Anteckning
0486;2024-02-10;a1;1;Kommunen;
0486;2024-06-05;a1;1;Kommunen;
0486;2024-06-20;a1;1;Kommunen;andra
0486;2024-11-01;a1;1;Kommunen;
0486;2024-09-15;a2;1;Polisen;
0486;2024-05-03;a3;1;Kommunen;
0486;2024-04-10;t1;1;Polisen;
"""


@pytest.fixture(scope="module")
def warehouse_with_plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agreements")
    (folder / "test-2023-2024.yaml").write_text(AGREEMENT, encoding="utf-8")
    (folder / "test-lofte-2024.yaml").write_text(PROMISE, encoding="utf-8")
    (folder / "indicators").mkdir()
    (folder / "indicators" / "test-2023-2024.yaml").write_text(INDICATORS, encoding="utf-8")
    con = duckdb.connect(str(folder / "w.duckdb"))
    ensure_schema(con)
    load_reference_tables(con)
    load_plan_tables(con, load_folder(folder))
    log = folder / "logg.csv"
    log.write_text(LOG, encoding="utf-8")
    assert ingest_file(con, log).status == "loaded"  # the normal ingestion path (profile recognised)
    crimes = folder / "brott.csv"
    # codes: 1209 = övrigt klotter, 1210 = brand ej på motorfordon (both question area "Fråga 1"), 0857 = inbrott
    crimes.write_text(
        "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Kommunkod;Områdeskod;Antal brott\n"
        + "\n".join(f"K{i};1;{code};2024-0{m}-10;0486;{area};{n}" for i, (code, m, area, n) in enumerate([
            ("1209", 2, "0486-01", 2), ("1209", 5, "", 1), ("1210", 2, "0486-01", 3), ("0857", 2, "0486-01", 5)]))
        + "\n", encoding="utf-8")
    assert ingest_file(con, crimes).rows_quarantined == 0
    run_all(con)
    yield con
    con.close()


def status(con, item, grain, start):
    rows = con.execute("SELECT target, expected, done_to_date, status FROM marts.followup "
                       "WHERE item_id = ? AND grain = ? AND period_start = ?", [item, grain, start]).fetchall()
    assert len(rows) == 1, (item, grain, start, rows)
    return rows[0]


@pytest.mark.parametrize("item,grain,start,expected", [
    # a1: 4 a year. 2023: nothing logged. T1 ends Apr 30: floor(4 × 120/365) = 1 expected, 0 done -> behind
    ("a1", "tertial", "2023-01-01", (4, 1, 0, "efter plan")),
    ("a1", "år", "2023-01-01", (4, 4, 0, "efter plan")),                 # the year ended below target
    # 2024 (leap year): T1 floor(4 × 121/366) = 1, done 1 (Feb 10) -> on track
    ("a1", "tertial", "2024-01-01", (4, 1, 1, "enligt plan")),
    ("a1", "kvartal", "2024-01-01", (4, 0, 1, "enligt plan")),           # Q1: floor(4 × 91/366) = 0
    ("a1", "tertial", "2024-05-01", (4, 2, 3, "enligt plan")),           # T2: floor(4 × 244/366) = 2, done 3
    ("a1", "tertial", "2024-09-01", (4, 4, 4, "klar")),
    # a2: once a year, done Sep 15 2024: nothing expected before the year is nearly over
    ("a2", "tertial", "2024-01-01", (1, 0, 0, "ej påbörjad")),
    ("a2", "tertial", "2024-05-01", (1, 0, 0, "ej påbörjad")),
    ("a2", "tertial", "2024-09-01", (1, 1, 1, "klar")),
    ("a2", "år", "2023-01-01", (1, 1, 0, "efter plan")),
    # a3: no countable target: on track in a period where something was logged
    ("a3", "tertial", "2024-01-01", (None, None, 0, "ej påbörjad")),
    ("a3", "tertial", "2024-05-01", (None, None, 1, "enligt plan")),
    # t1: 2 over the promise period 2024-03-01..12-31 (306 days); done Apr 10
    ("t1", "tertial", "2024-01-01", (2, 0, 1, "enligt plan")),           # Apr 30: floor(2 × 61/306) = 0
    ("t1", "tertial", "2024-05-01", (2, 1, 1, "enligt plan")),           # Aug 31: floor(2 × 184/306) = 1
    ("t1", "tertial", "2024-09-01", (2, 2, 1, "efter plan")),            # period over, 1 of 2
])
def test_followup_status_rules(warehouse_with_plan, item, grain, start, expected):
    assert status(warehouse_with_plan, item, grain, start) == expected


def test_promise_periods_start_with_the_promise(warehouse_with_plan):
    rows = warehouse_with_plan.execute("SELECT DISTINCT grain, period_start FROM marts.followup WHERE item_id = 't1' "
                                       "ORDER BY 1, 2").fetchall()
    # the kvartal starting 2024-01-01 overlaps the promise (from 2024-03-01); nothing before 2024
    assert [r for r in rows if r[0] == "kvartal"][0][1].isoformat() == "2024-01-01"
    assert all(r[1].year == 2024 for r in rows)


def test_indicator_filters_or_within_and_across_dimensions(warehouse_with_plan):
    con = warehouse_with_plan
    got = dict(con.execute("SELECT indicator_id || '/' || area_code || '/' || quarter, value "
                           "FROM marts.indicators_by_quarter").fetchall())
    # klotter (1209): Feb 2 crimes in 0486-01, May 1 unplaced -> municipality Q1 = 2, Q2 = 1; area Q1 = 2
    assert got["klotter//1"] == 2 and got["klotter//2"] == 1 and got["klotter/0486-01/1"] == 2
    assert "klotter/0486-01/2" not in got  # the unplaced crime counts for the municipality only
    # OR within a dimension: klotter or brand (1210, 3 crimes) -> Q1 = 5
    assert got["skadegorelse-eller-brand//1"] == 5
    # AND across dimensions: klotter codes are in question area "Fråga 1", not "Fråga 2" -> nothing
    assert not any(k.startswith("and-filter/") for k in got)
    # activity counts: a1 + a3 per quarter: Q1 1 (a1 Feb), Q2 3 (a1 ×2, a3), Q4 1
    assert got["aktiviteter//1"] == 1 and got["aktiviteter//2"] == 3 and got["aktiviteter//4"] == 1
