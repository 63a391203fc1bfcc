"""Missing is not zero, and a pack is frozen to its period (dashboards/STATISTICS.md), on the shared sample home
(data from 2024-01 to 2026-09) and on a hand-made warehouse where concern reports arrive only for 2025."""
from __future__ import annotations

import re

import duckdb
import pytest

from sources.policy import load_policy

POLICY = load_policy()


def _data(home):
    from dashboards.data import load_site_data

    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        return load_site_data(con)
    finally:
        con.close()


def _cells(folder) -> str:
    return (folder / "index.html").read_text(encoding="utf-8")


def test_a_2025_q1_pack_compares_nothing_against_the_missing_2023(sample_home, tmp_path):
    from dashboards.packs import build_pack

    data = _data(sample_home)
    folder = build_pack(data, "council", "0486", "2025-Q1", tmp_path / "site", POLICY, pdf=False)
    page = _cells(folder)
    # the four quarters before kv. 2 2024 – kv. 1 2025 start in 2023, which the sample does not have
    assert "saknas (polisens export saknar kv. 2 2023, kv. 3 2023, kv. 4 2023)" in page
    head = page[page.index('id="nyckeltal"'):]
    head = head[:head.index("</table>")]
    assert "saknas" in head and not re.search(r"[+−]\d+\s?%", head)  # no percent against a missing base
    # nothing after 2025-03-31: no quarter label of kv. 2 2025 or later, and no 2025 yearly figure
    assert "kv. 2 2025" not in page and "kv. 3 2026" not in page
    # every indicator's four-quarter comparison is missing, so no area counts a worsening or an improvement
    from dashboards.packs import strategic_blocks, until_period

    _, blocks = strategic_blocks(until_period(data, 2025, 1), "0486", POLICY)
    status = next(b for b in blocks if b.id == "omradesstatus").table
    assert len(status) == 6 and (status["Indikatorer med försämring"] == 0).all()
    assert (status["Indikatorer med förbättring"] == 0).all()


def test_a_pack_leaves_out_years_not_ended_by_its_period(sample_home, tmp_path):
    from dashboards.packs import build_pack, until_period

    data = _data(sample_home)
    frozen = until_period(data, 2025, 2)
    rates = frozen.marts["rates_by_year"]
    assert rates.year.max() == 2024  # 2025 has not ended by 2025-06-30 (before: the whole-year 2025 rate was shown)
    assert frozen.marts["crime_by_quarter"].pipe(lambda d: (d.year * 4 + d.quarter).max()) == 2025 * 4 + 2
    assert (frozen.marts["followup"].period_end.astype(str) <= "2025-06-30").all()
    assert until_period(data, 2025, 4).marts["rates_by_year"].year.max() == 2025  # on each side: Q4 ends the year
    folder = build_pack(data, "bra", "0486", "2025-Q2", tmp_path / "site", POLICY, pdf=False)
    page = _cells(folder)
    rates_block = page[page.index('id="brott-omrade"'):]
    assert ">2025<" not in rates_block[:rates_block.index("</table>")]


def test_concern_reports_only_for_2025_give_no_2025_vs_2024_signal(tmp_path):
    from dashboards.sections import agreement
    from dashboards.packs import area_status
    from dashboards.data import load_site_data
    from pipelines.models import run_all
    from sources.agreements import load_folder
    from sources.agreements.warehouse import load_plan_tables
    from sources.ingest import ensure_schema, ingest_file
    from sources.taxonomy import load_reference_tables

    crimes = ["Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Kommunkod;Områdeskod;Antal brott"]
    for year in (2024, 2025):
        for m in range(1, 13):
            crimes.append(f"K{year}{m};1;1209;{year}-{m:02d}-10;0486;0486-01;5")
    # 2025 only, many reports about violence in close relationships: against 2024 this would look like a huge rise
    concern = ["Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar"]
    for m in range(1, 13):
        concern.append(f"0486;2025-{m:02d};0-12 år;Flicka;Våld i nära relation;Polis;30")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    load_reference_tables(con)
    load_plan_tables(con, load_folder())
    for name, text in {"brott.csv": crimes, "oro.csv": concern}.items():
        (tmp_path / name).write_text("\n".join(text) + "\n", encoding="utf-8")
        assert ingest_file(con, tmp_path / name).status == "loaded"
    run_all(con)
    data = load_site_data(con)
    con.close()
    agreement, blocks = agreement.agreement_blocks(data, "0486", POLICY)
    area = next(b for b in blocks if b.id == "omrade-vald-relation")
    row = area.table[area.table.Indikator.str.startswith("Orosanmälningar")].iloc[0]
    assert row["Förändring"] == ("saknas (orosanmälningarna saknar kv. 1 2024, kv. 2 2024, kv. 3 2024, "
                                 "kv. 4 2024)")
    assert row["Fyra kvartal före"] == "saknas" and row["Senaste fyra kvartalen"] == "saknas"
    assert row["Förändring kvartal"].startswith("saknas")
    concern_signal = next(s for s in area.signals if s["kind"] == "concern")
    assert concern_signal["direction"] is None
    assert area_status([concern_signal], 0)[0] == "Oförändrat"  # missing data never turns a status


def test_year_to_date_and_rolling_twelve_months_on_the_page(sample_home):
    page = (sample_home / "site" / "lagesbild-0486.html").read_text(encoding="utf-8")
    con = duckdb.connect(str(sample_home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        ytd, before = con.execute(
            "SELECT sum(crimes) FILTER (WHERE year = 2026 AND quarter <= 3), "
            "sum(crimes) FILTER (WHERE year = 2025 AND quarter <= 3) FROM marts.crime_by_quarter "
            "WHERE municipality_code = '0486' AND counts_as_crime").fetchall()[0]
    finally:
        con.close()
    fmt = lambda v: f"{int(v):,}".replace(",", "\u00a0")  # noqa: E731 - Swedish thousands with a no-break space
    assert f"Hittills i år (kv. 1–3 2026): {fmt(ytd)} anmälda brott mot {fmt(before)} samma period 2025" in \
        page.replace("&nbsp;", "\u00a0")
    assert "Senaste fyra kvartalen (rullande tolv månader)" in page
    # the area chart is counts by default; the caption says rates rest on residents
    assert "Diagrammet visar antal brott per kommundel" in page and "räknas på de boende" in page
