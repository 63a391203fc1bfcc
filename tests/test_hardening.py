"""Hostile and careless inputs (the hardening issue): every file gets a verdict, one bad file never stops the rest,
limits hold, non-regular files and links out of the drop folder are never read, PDF printing cannot hang."""
from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import duckdb
import pytest

from sources.ingest import ensure_schema, ingest_file, ingest_paths

CRIME_H = "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott"
CRIME_OK = "5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1"


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(c)
    yield c
    c.close()


def _crime_rows(n: int) -> str:
    return CRIME_H + "\n" + "".join(f"5000-K{i}-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1\n" for i in range(n))


def _verdicts(con):
    return dict(con.execute("SELECT file_name, status FROM meta.files").fetchall())


def test_a_10_mb_field_is_rejected_naming_the_row_and_the_next_file_loads(tmp_path, con):
    folder = tmp_path / "crime_reports"
    folder.mkdir()
    (folder / "a_trasig.csv").write_text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2024-03-02;;0486;;"
                                         + "x" * 10_000_000 + "\n", encoding="utf-8")
    (folder / "b_hel.csv").write_text(_crime_rows(3), encoding="utf-8")
    results = ingest_paths(con, [folder])
    assert [r.status for r in results] == ["rejected", "loaded"]
    assert results[0].message.startswith("a_trasig.csv, rad 3: en rad är längre än 100 000 tecken")
    assert _verdicts(con) == {"a_trasig.csv": "rejected", "b_hel.csv": "loaded"}


def test_binary_without_nul_bytes_is_not_text(tmp_path, con):
    path = tmp_path / "brott.csv"
    path.write_bytes(bytes((i * 37 + 11) % 31 + 1 for i in range(20000)))  # control characters, no NUL
    r = ingest_file(con, path, feed="crime_reports")
    assert r.status == "rejected" and "binärt innehåll" in r.message


def test_json_nested_ten_thousand_deep_is_rejected_not_a_crash(tmp_path, con):
    path = tmp_path / "djup.json"
    path.write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    r = ingest_file(con, path, feed="polisen_events")
    assert r.status == "rejected" and "nästlad i fler än 64 nivåer" in r.message
    from sources.readers.structured import json_depth

    assert json_depth([{"a": [[[[1]]]]}]) == 6  # list, dict, then four lists
    # each side of the limit (64): 64 levels pass the depth rule (and fail later as "not records"), 65 do not
    path.write_text("[" * 64 + "]" * 64, encoding="utf-8")
    assert "nästlad" not in ingest_file(con, path, feed="polisen_events").message
    path.write_text("[" * 65 + "]" * 65, encoding="utf-8")
    assert "nästlad i fler än 64 nivåer" in ingest_file(con, path, feed="polisen_events").message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_exports_are_read(tmp_path, con, encoding):
    path = tmp_path / "brott.csv"
    path.write_bytes(_crime_rows(2).encode(encoding))
    r = ingest_file(con, path, feed="crime_reports")
    assert r.status == "loaded" and r.rows_loaded == 2


def test_xlsx_claiming_the_whole_sheet_reads_only_what_is_stored(tmp_path, con):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for line in _crime_rows(2).splitlines():
        ws.append(line.split(";"))
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # the sheet claims A1:XFD1048576 (17 billion cells)
                data = data.replace(b'<dimension ref="A1:H3" />', b'<dimension ref="A1:XFD1048576" />')
                assert b"XFD1048576" in data
            dst.writestr(item, data)
    path = tmp_path / "brott.xlsx"
    path.write_bytes(out.getvalue())
    r = ingest_file(con, path, feed="crime_reports")
    assert r.status == "loaded" and r.rows_loaded == 2


def test_gzip_is_chunked_on_unpacked_size_and_a_bomb_is_refused(tmp_path, con, monkeypatch):
    from sources import limits, readers

    small = limits.Limits(max_decompressed_bytes=2_000_000, in_memory_bytes=50_000)
    monkeypatch.setattr(limits, "load_limits", lambda: small)
    text = _crime_rows(4000).encode()            # ≈ 240 kB unpacked: more than fits "in memory" here
    assert 50_000 < len(text) < 2_000_000
    (tmp_path / "brott.csv.gz").write_bytes(gzip.compress(text))
    chunks = list(readers.iter_file(tmp_path / "brott.csv.gz", chunk_bytes=50_000, chunk_rows=1000))
    assert len(chunks) == 4 and sum(len(c.frame) for c in chunks) == 4000  # read in chunks from a temporary file
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(CRIME_H.encode() + b"\n" + b"a" * 5_000_000))  # 5 MB from ≈ 5 kB
    assert bomb.stat().st_size < 20_000
    r = ingest_file(con, bomb, feed="crime_reports")
    assert r.status == "rejected" and "blir större än 2 MB uppackad" in r.message


def test_a_fifo_is_refused_not_read(tmp_path, con):
    fifo = tmp_path / "brott.csv"
    os.mkfifo(fifo)
    r = ingest_file(con, fifo, feed="crime_reports")  # would block forever if opened
    assert r.status == "rejected" and "ingen vanlig fil" in r.message
    assert _verdicts(con) == {"brott.csv": "rejected"}


def test_links_out_of_the_drop_folder_are_not_followed(tmp_path, con):
    outside = tmp_path / "hemligt.csv"
    outside.write_text(_crime_rows(1), encoding="utf-8")
    folder = tmp_path / "home" / "incoming" / "crime_reports"
    folder.mkdir(parents=True)
    (folder / "lank.csv").symlink_to(outside)
    (folder / "hel.csv").write_text(_crime_rows(2).replace("5000-K", "5000-L"), encoding="utf-8")
    results = ingest_paths(con, [folder])
    by_name = {Path(r.path).name: r for r in results}
    assert by_name["lank.csv"].status == "rejected" and "pekar utanför mappen" in by_name["lank.csv"].message
    assert by_name["hel.csv"].status == "loaded"
    assert con.execute("SELECT count(*) FROM raw.crime_reports").fetchall() == [(2,)]


def test_a_refresh_goes_on_past_a_poison_file_and_remembers_it(tmp_path):
    from tests.conftest import run_cli

    home = tmp_path / "h"
    folder = home / "incoming" / "crime_reports"
    folder.mkdir(parents=True)
    (folder / "djup.json").write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    (folder / "brott.csv").write_text(_crime_rows(5), encoding="utf-8")
    assert run_cli("--home", str(home), "refresh") == 0
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    assert dict(con.execute("SELECT file_name, status FROM meta.files").fetchall()) == {
        "djup.json": "rejected", "brott.csv": "loaded"}
    con.close()
    from sources.ingest import ingest_paths as again

    con = duckdb.connect(str(home / "warehouse.duckdb"))
    r = again(con, [folder], feed="crime_reports", retry_rejected=False)
    assert [(Path(x.path).name, x.status) for x in r] == [("brott.csv", "already_loaded"), ("djup.json", "rejected")]
    assert r[1].message.endswith("(avvisad tidigare; filen har inte ändrats)")
    con.close()


def test_pdf_printing_cannot_hang_publication(tmp_path, monkeypatch):
    """A browser that never finishes (as Chromium does at a page's dialog) is stopped; the pack goes on."""
    from dashboards.packs import print_pdf

    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(fake))
    (tmp_path / "p.html").write_text("<p>x</p>", encoding="utf-8")
    reason = print_pdf(tmp_path / "p.html", tmp_path / "p.pdf", timeout=1)
    assert reason is not None and "blev inte klar inom 1 sekunder" in reason
    assert not (tmp_path / "p.pdf").exists()


def test_site_files_respect_the_umask(tmp_path):
    from dashboards.render import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.html", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.html").stat().st_mode & 0o777 == 0o644  # a web server as another user can read it
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "b.html", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "b.html").stat().st_mode & 0o777 == 0o600


def test_unfinished_packs_are_neither_listed_nor_carried_forward(tmp_path):
    from dashboards.render import list_packs
    from pipelines.publication import clean_unfinished_packs

    site = tmp_path / "site"
    for name in ("bra-0486-2026-Q3-20261127T101010", ".bra-0486-2026-Q3-20261127T111111.tmp"):
        (site / "packs" / name).mkdir(parents=True)
        (site / "packs" / name / "pack.json").write_text(json.dumps({"published": "2026-11-27T10:10:10"}))
        (site / "packs" / name / "pack.json").chmod(0o444)
    assert [p["href"] for p in list_packs(site)] == ["packs/bra-0486-2026-Q3-20261127T101010/index.html"]
    assert clean_unfinished_packs(site) == 1
    assert sorted(p.name for p in (site / "packs").iterdir()) == ["bra-0486-2026-Q3-20261127T101010"]


def test_files_and_quarantine_work_while_a_writer_holds_the_warehouse(sample_home, capsys):
    import subprocess
    import sys

    from tests.conftest import run_cli

    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(sample_home / 'warehouse.duckdb')!r})\n"
                               "print('klar', flush=True)\ntime.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "klar"  # the writer holds the file lock from here on
        capsys.readouterr()
        assert run_cli("--home", str(sample_home), "files", "--json") == 0
        records = json.loads(capsys.readouterr().out)
        assert records and all(r["status"] in ("loaded", "replaced", "already_loaded", "rejected") for r in records)
        assert run_cli("--home", str(sample_home), "quarantine", "--json") == 0
        json.loads(capsys.readouterr().out)
    finally:
        holder.kill()
        holder.wait()


def test_four_weekly_est_files_make_one_month_and_a_correction_replaces_only_its_event(tmp_path, con):
    """EST arrives weekly: a one-event file for June must not replace the other June events."""
    head = "Händelse-id,Tidpunkt,Kommunkod,Områdeskod,Plats,Latitud,Longitud,Kategori,Underkategori,Beskrivning\n"
    weeks = {1: range(1, 31), 2: range(31, 61), 3: range(61, 91), 4: range(91, 116)}  # 115 June events
    for week, ids in weeks.items():
        rows = "".join(f"E{i},2024-06-{min(28, 7 * (week - 1) + 1 + i % 7):02d} 22:10,0486,0486-01,Torget,59.37,17.03,"
                       "Nedskräpning,Nedskräpning,x\n" for i in ids)
        r = ingest_file(con, write_atomic(tmp_path / f"est_v{week}.csv", head + rows), feed="est_events")
        assert r.status == "loaded" and not r.replaced
    assert con.execute("SELECT count(*) FROM raw.est_events").fetchall() == [(115,)]
    # a correction of one event (new category): replaces that event only
    fix = head + "E5,2024-06-06 22:10,0486,0486-01,Torget,59.37,17.03,Skadegörelse,Klotter,rättad\n"
    r = ingest_file(con, write_atomic(tmp_path / "est_rattelse.csv", fix), feed="est_events")
    assert r.status == "loaded" and r.replaced == [con.execute(
        "SELECT sha256 FROM meta.files WHERE file_name = 'est_v1.csv'").fetchall()[0][0]]
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE category = 'Skadegörelse') FROM raw.est_events"
                       ).fetchall() == [(115, 1)]
    assert con.execute("SELECT count(*) FROM history.est_events").fetchall() == [(1,)]


def write_atomic(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_120_inhabitant_area_shows_no_count_of_1_to_4_anywhere(tmp_path):
    """Small areas: the area table, its Excel file's source table and the quality page's coverage table."""
    from dashboards.sections import common, page, quality
    from sources.policy import load_policy
    from dashboards.data import load_site_data
    from pipelines.models import run_all
    from sources.agreements import load_folder
    from sources.agreements.warehouse import load_plan_tables
    from sources.taxonomy import load_reference_tables

    policy = load_policy()
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(c)
    load_reference_tables(c)
    load_plan_tables(c, load_folder())
    rows = [CRIME_H]
    for year in (2024, 2025):
        for m in range(1, 13):
            rows.append(f"A{year}{m};1;1209;{year}-{m:02d}-10;;0486;0486-01;40")
        rows.append(f"B{year};1;1209;{year}-03-10;;0486;0486-09;{4 if year == 2024 else 5}")  # tiny area: 4 and 5
        rows.append(f"C{year};1;1209;{year}-03-10;;0486;0486-02;{3 if year == 2024 else 5}")  # big area: 3 and 5
    pop = ("Kommunkod;Områdeskod;År;Folkmängd\n0486;0486-01;2024;20000\n0486;0486-09;2024;120\n"
           "0486;0486-02;2024;1000\n0486;0486-01;2025;20000\n0486;0486-09;2025;120\n0486;0486-02;2025;1000\n")
    for name, text in {"brott.csv": "\n".join(rows) + "\n", "folk.csv": pop}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert ingest_file(c, tmp_path / name).status == "loaded"
    run_all(c)
    data = load_site_data(c)
    c.close()
    assert common.small_areas(data, "0486", policy) == {"0486-09"}  # 120 < 1 000; 1 000 itself is not small
    blocks = page.municipality_blocks(data, "0486", policy)
    table = next(b for b in blocks if b.id == "brott-omrade").table
    tiny = table[table["Område"].str.contains("0486-09") | (table["Område"] == data.marts["dim_areas"].set_index(
        "area_code").area_name.get("0486-09", "0486-09"))]
    # at the limit (4) hidden, with the rate that would give it away; one above (5) shown
    assert list(tiny["Antal brott"]) == ["<5", "5"] and list(tiny["Per 100 000 inv."])[0] == "×"
    assert list(tiny["Per 100 000 inv."])[1] != "×"
    big = table[table["Område"].str.contains("0486-02") | table["Område"].isin(
        data.marts["dim_areas"].query("area_code == '0486-02'").area_name)]
    assert list(big["Antal brott"]) == ["3", "5"]  # at the limit (1 000 inhabitants) counts are shown
    coverage = quality.coverage_matrix(data, policy)
    tiny_col = next(col for col in coverage.columns if "0486-09" in col or col == "0486-09")
    assert set(coverage[tiny_col]) == {"<5", "5", "–"}  # kv. 1 2024: 4 hidden; kv. 1 2025: 5 shown


def test_a_huge_line_in_a_chunked_file_is_refused_without_holding_it(tmp_path, monkeypatch):
    from sources import limits, readers

    monkeypatch.setattr(limits, "load_limits", lambda: limits.Limits(max_field_chars=5_000))
    path = tmp_path / "brott.csv"
    path.write_text(CRIME_H + "\n" + "a" * 50_000 + "\n" + CRIME_OK + "\n", encoding="utf-8")
    with pytest.raises(readers.FileRejected, match="rad 2: en rad är längre än 5 000 tecken"):
        list(readers.iter_file(path, chunk_bytes=1_000))
    path.write_text(CRIME_H + "\n" + CRIME_OK + "\n" * 2 + "a" * 4_000 + "\n", encoding="utf-8")  # within the limit
    assert sum(len(t.frame) for t in readers.iter_file(path, chunk_bytes=1_000)) == 2


def test_a_row_with_two_bad_cells_is_one_quarantined_row(tmp_path, con):
    path = tmp_path / "brott.csv"
    path.write_text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;99X9;2024-02-30;;0486;;1\n", encoding="utf-8")
    r = ingest_file(con, path, feed="crime_reports")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    assert con.execute("SELECT row_number, column_name FROM meta.quarantine ORDER BY 2").fetchall() == [
        (3, "crime_code"), (3, "registered_date")]  # one row, two reasons


def test_the_no_analysis_text_escapes_the_file_name_and_shows_no_server_path(sample_home, tmp_path):
    from dashboards.packs import build_pack
    from sources.policy import load_policy
    from dashboards.data import load_site_data

    c = duckdb.connect(str(sample_home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        data = load_site_data(c)
    finally:
        c.close()
    hostile = tmp_path / "<img src=x onerror=alert(1)>" / "analys"
    folder = build_pack(data, "bra", "0486", "2026-Q3", tmp_path / "site", load_policy(), analysis_dir=hostile,
                        pdf=False)
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "Ingen analys är skriven ännu" in page and "<code>0486-2026-Q3.md</code>" in page
    assert "<img src=x" not in page and str(tmp_path) not in page
