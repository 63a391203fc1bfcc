"""The DuckDB ingest path (``sources/sqlingest.py``) against the pandas path: the same files give the same rows, row
numbers, quarantine lines and counts; files it cannot take go to the pandas path whole."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from sources import sqlingest
from sources.ingest import ensure_schema, ingest_file
from sources.privacy import MASK

PNR = "19121212-1212"      # Luhn by hand: 1212121212 -> 2+2+2+2+2+2+2+2+2+2... = 20 (tests/test_privacy.py)
CRIME = ["Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott",
         "5000-K1;1;1212;2024-03-02;2024-03-01;0486;0486-01;1",                 # 2 good
         "5000-K2;1;821;20240305;-;486;;2",                                     # 3 good: pad, %Y%m%d, null marker
         "\u00a05000-K3\u00a0;1;0821;05/04/2024;2024-04-04;0486;0486-02; 1 ",   # 4 good: NBSP and spaces trimmed
         "5000-K4;1;99X9;2024-03-02;2024-03-01;0486;0486-01;1",                 # 5 unknown crime code
         "5000-K5;1;1212;2024-02-30;2024-03-01;0486;0486-01;1",                 # 6 no such date
         "5000-K6;1;1212;2024-03-02;2024-03-01;0486;0486-01;0",                 # 7 below min 1
         "5000-K7;1;1212;2024-03-02;2024-03-01;0486;0486-01;10000",             # 8 at max: good
         "5000-K8;1;1212;2024-03-02;2024-03-01;0486;0486-01;10001",             # 9 above max 10 000
         "5000-K9;1;1212;;2024-03-01;0486;0486-01;1",                           # 10 required date missing
         "5000-K1;1;1212;2024-03-02;2024-03-01;0486;0486-01;1",                 # 11 duplicate of row 2
         "5000-K10;1,5;1212;2024-03-02;2024-03-01;0486;0486-01;1",              # 12 not an integer
         f"5000-K11;1;1212;2099-01-01;2024-03-01;0486;{PNR};1",                 # 13 future date; pnr masked
         ";;;;;;;",                                                             # 14 blank: dropped
         '"5000-K12";2;1212;2024-03-02;2024-03-01;0486;"0486-03";"2 000"',      # 15 quoted, "2 000" = 2000
         "5000-K13;1;1212;2024-03-02;2024-03-01;9999;0486-01;1"]                # 16 unknown municipality
EST = ["Händelse-id,Tidpunkt,Kommunkod,Områdeskod,Plats,Latitud,Longitud,Kategori,Underkategori,Rapportör,"
       "Beskrivning,Status",
       "E1,2024-03-06 21:40,0486,0486-01,Torget,59.3745,17.0334,Skadegörelse,Klotter,Kommunen,Klotter,Granskad",
       "E2,2024-03-06 21:40:15,0486,0486-01,Torget,\"59,3745\",17.0334,Skadegörelse,Klotter,Kommunen,,AVSLUTAD",
       "E3,2024-03-06T21:40:00+01:00,0486,,Torget,59.3745,17.0334,Skadegörelse,Klotter,Kommunen,"
       f"\"Anmälan om {PNR}, se\nrad två\",",
       "E4,6 mars 2024,0486,,Torget,54.9,17.0334,Skadegörelse,Klotter,Kommunen,,Granskad",
       "E5,2024-03-07 10:00,0486,,Torget,55.0,24.5,Skadegörelse,Klotter,Kommunen,,okänd",
       "E6,2024-03-07 10:00,0486,,Torget,69.5,24.6,Skadegörelse,Klotter,Kommunen,,ny"]


def _write(folder: Path, name: str, lines: list[str], bom: bool = False, newline: str = "\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode("utf-8"))
    return path


def _load(tmp: Path, engine: str, files: list[tuple[Path, str]], monkeypatch) -> duckdb.DuckDBPyConnection:
    monkeypatch.setenv(sqlingest.ENGINE_ENV, engine)
    con = duckdb.connect(str(tmp / f"{engine}.duckdb"))
    ensure_schema(con)
    for path, feed in files:
        ingest_file(con, path, feed=feed)
    return con


def _state(con) -> dict:
    out = {}
    for feed in ("crime_reports", "est_events"):
        out[feed] = con.execute(f"SELECT * FROM raw.{feed} ORDER BY _row, _sha256").fetchall()
        out[f"history.{feed}"] = con.execute(f"SELECT * EXCLUDE (_replaced_at) FROM history.{feed} "
                                             "ORDER BY ALL").fetchall()
    out["quarantine"] = sorted(con.execute("SELECT * FROM meta.quarantine").fetchall())
    files = con.execute("SELECT file_name, feed, profile, format, status, rows_read, rows_loaded, rows_quarantined, "
                        "masked_values, message, info FROM meta.files ORDER BY file_name").fetchall()
    out["files"] = [f[:-1] + ({k: v for k, v in json.loads(f[-1]).items() if k != "reader"} if f[-1] else None,)
                    for f in files]
    out["revisions"] = con.execute("SELECT * EXCLUDE (revised_at) FROM meta.revisions ORDER BY ALL").fetchall()
    out["pending"] = con.execute("SELECT feed, municipality_code, year, quarter FROM meta.pending_partitions "
                                 "ORDER BY ALL").fetchall()
    return out


def _readers(con) -> list[str | None]:
    return [json.loads(i).get("reader") if i else None
            for (i,) in con.execute("SELECT info FROM meta.files ORDER BY file_name").fetchall()]


@pytest.fixture(params=["\n", "\r\n"], ids=["lf", "crlf"])
def inputs(tmp_path, request) -> list[tuple[Path, str]]:
    d, nl = tmp_path / "in", request.param
    revised = [CRIME[0], "5000-K1;1;1212;2024-03-02;2024-03-01;0486;0486-01;5"]   # replaces 0486 × 2024-03
    est_new = [EST[0], EST[1].replace("Klotter,Granskad", "Klotter,Ny"),          # E1 again, status changed
               'E7,2024-03-08 10:00,0486,,"Torget, norra",59.1,17.1,Skadegörelse,Klotter,,"ett ""citat"", ; tecken",']
    return [(_write(d, "a_brott.csv", CRIME, bom=True, newline=nl), "crime_reports"),
            (_write(d, "b_est.csv", EST, newline=nl), "est_events"),
            (_write(d, "c_brott_ny.csv", revised, newline=nl), "crime_reports"),
            (_write(d, "d_est_ny.csv", est_new, newline=nl), "est_events")]


def test_both_paths_give_identical_rows_reasons_and_counts(tmp_path, inputs, monkeypatch):
    pandas_con = _load(tmp_path, "pandas", inputs, monkeypatch)
    sql_con = _load(tmp_path, "sql", inputs, monkeypatch)
    assert _readers(pandas_con) == [None] * 4
    assert _readers(sql_con) == ["duckdb"] * 4  # every file went through DuckDB
    assert _state(sql_con) == _state(pandas_con)


def test_duckdb_path_by_hand(tmp_path, inputs, monkeypatch):
    con = _load(tmp_path, "sql", inputs[:2], monkeypatch)
    reasons = {(r, c): why for r, c, why in con.execute(
        "SELECT row_number, column_name, reason FROM meta.quarantine WHERE feed = 'crime_reports'").fetchall()}
    assert sorted(reasons) == [(5, "crime_code"), (6, "registered_date"), (7, "crime_count"), (9, "crime_count"),
                               (10, "registered_date"), (11, "report_id,crime_seq"), (12, "crime_seq"),
                               (13, "registered_date"), (16, "municipality_code")]
    assert reasons[(5, "crime_code")].startswith("okänt värde; finns inte i kodlistan")
    assert reasons[(16, "municipality_code")].startswith("okänt värde; finns inte i kodlistan")
    assert reasons[(13, "registered_date")].startswith("datumet ligger efter dagens datum")
    assert {k: v for k, v in reasons.items() if k[0] not in (5, 13, 16)} == {
        (6, "registered_date"): "värdet är inte ett datum (ÅÅÅÅ-MM-DD)",
        (7, "crime_count"): "värdet ligger utanför det tillåtna intervallet 1–10\u00a0000",
        (9, "crime_count"): "värdet ligger utanför det tillåtna intervallet 1–10\u00a0000",
        (10, "registered_date"): "värde saknas i en obligatorisk kolumn",
        (11, "report_id,crime_seq"): "dubblett: samma nyckel (report_id, crime_seq) som rad 2",
        (12, "crime_seq"): "värdet är inte ett heltal",
    }
    rows = con.execute("SELECT _row, report_id, crime_code, municipality_code, registered_date::VARCHAR, "
                       "offence_date, area_code, crime_count FROM raw.crime_reports ORDER BY _row").fetchall()
    assert [r[0] for r in rows] == [2, 3, 4, 8, 15]          # row 14 is blank, numbering goes on
    assert rows[1][1:] == ("5000-K2", "0821", "0486", "2024-03-05", None, None, 2)
    assert rows[2][1] == "5000-K3" and rows[2][4] == "2024-04-05" and rows[2][7] == 1
    assert rows[4][7] == 2000 and rows[3][7] == 10000
    manifest = con.execute("SELECT rows_read, rows_loaded, rows_quarantined, masked_values FROM meta.files "
                           "ORDER BY file_name").fetchall()
    assert manifest[0] == (14, 5, 9, 1)   # 15 data lines - 1 blank = 14 = 5 loaded + 9 quarantined; 1 pnr masked
    est = con.execute("SELECT event_id, occurred_at::VARCHAR, lat, description, status FROM raw.est_events "
                      "ORDER BY _row").fetchall()
    assert est[0][1:] == ("2024-03-06 21:40:00", 59.3745, "Klotter", "granskad")
    assert est[1][1:] == ("2024-03-06 21:40:15", 59.3745, None, "avslutad")   # decimal comma, value map any case
    assert est[2][1] == "2024-03-06 21:40:00" and PNR not in est[2][3] and MASK in est[2][3] and est[2][4] == "ny"
    assert [e[0] for e in est] == ["E1", "E2", "E3"]
    est_reasons = sorted(con.execute("SELECT row_number, column_name FROM meta.quarantine WHERE feed = 'est_events'")
                         .fetchall())
    # E4: no time and lat 54.9 < 55.0; E5: lat 55.0 and lon 24.5 on the bounds, status not in the list;
    # E6: lat 69.5 on the bound, lon 24.6 > 24.5 (E3's quoted newline makes it two lines but one row: rows count
    # records, as the pandas path does)
    assert est_reasons == [(5, "lat"), (5, "occurred_at"), (6, "status"), (7, "lon")]


def test_files_the_duckdb_path_does_not_take_go_to_pandas_whole(tmp_path, monkeypatch):
    d = tmp_path / "in"
    blank_line = _write(d, "tom_rad.csv", CRIME[:3] + [""] + CRIME[3:4])
    short_row = _write(d, "kort.csv", CRIME[:3] + ["5000-K9;1;1212"])         # fields missing at the end
    long_row = _write(d, "lang.csv", CRIME[:3] + [CRIME[1] + ";extra"])         # one field too many
    cp1252 = d / "ansi.csv"
    cp1252.write_bytes(("\n".join(CRIME[:3]) + "\n").encode("cp1252"))
    files = [(blank_line, "crime_reports"), (short_row, "crime_reports"), (long_row, "crime_reports"),
             (cp1252, "crime_reports")]
    sql_con = _load(tmp_path, "sql", files, monkeypatch)
    pandas_con = _load(tmp_path, "pandas", files, monkeypatch)
    assert _readers(sql_con) == [None] * 4
    assert _state(sql_con) == _state(pandas_con)
    counts = {f: (read, quarantined) for f, read, quarantined in sql_con.execute(
        "SELECT file_name, rows_read, rows_quarantined FROM meta.files WHERE status <> 'rejected'").fetchall()}
    assert counts == {"tom_rad.csv": (3, 0), "kort.csv": (3, 1), "ansi.csv": (2, 0)}
    msg = sql_con.execute("SELECT message FROM meta.files WHERE file_name = 'lang.csv'").fetchall()[0][0]
    assert "rad 4" in msg and "9 fält" in msg


def test_reingesting_through_duckdb_changes_nothing(tmp_path, inputs, monkeypatch):
    con = _load(tmp_path, "sql", inputs[:1], monkeypatch)
    before = _state(con)
    assert ingest_file(con, inputs[0][0], feed="crime_reports").status == "already_loaded"
    assert _state(con) == before
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


def test_auto_takes_large_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv(sqlingest.ENGINE_ENV, "auto")
    small = _write(tmp_path, "liten.csv", CRIME[:3])
    assert not sqlingest.wanted(small)
    monkeypatch.setattr(sqlingest, "MIN_BYTES", small.stat().st_size)
    assert sqlingest.wanted(small)
    monkeypatch.setenv(sqlingest.ENGINE_ENV, "pandas")
    assert not sqlingest.wanted(small)


def test_not_future_bound_on_both_paths(tmp_path, monkeypatch):
    from datetime import date, timedelta

    today, tomorrow = date.today().isoformat(), (date.today() + timedelta(days=1)).isoformat()
    lines = [CRIME[0], f"5000-K1;1;1212;{today};{today};0486;;1", f"5000-K2;1;1212;{tomorrow};{today};0486;;1"]
    files = [(_write(tmp_path / "in", "brott.csv", lines), "crime_reports")]
    sql_con = _load(tmp_path, "sql", files, monkeypatch)
    assert _readers(sql_con) == ["duckdb"]
    assert sql_con.execute("SELECT _row FROM raw.crime_reports").fetchall() == [(2,)]          # today: loaded
    assert sql_con.execute("SELECT row_number, reason FROM meta.quarantine").fetchall() == [
        (3, f"datumet ligger efter dagens datum ({today})")]                                    # tomorrow: not
    assert _state(sql_con) == _state(_load(tmp_path, "pandas", files, monkeypatch))
