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
    from sources.readers import json_depth

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
    monkeypatch.setattr(readers, "load_limits", lambda: small)
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
