"""Ingestion: readers, contracts, quarantine, rejections, idempotency, revisions and transactions."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sources.ingest import ensure_schema, ingest_file, ingest_paths
from tests.conftest import table_counts

CRIME_HEADER = "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott"
CRIME_ROWS = [
    "5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1",
    "5000-K2-24;1;0821;2024-03-05;-;0486;;2",
    "5000-K3-24;1;0821;2024-04-05;2024-04-04;486;0486-02;1",
]


def write(path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def crime_csv(tmp_path: Path, rows=CRIME_ROWS, name="brott.csv", sep=";", **kw) -> Path:
    text = "\n".join([CRIME_HEADER.replace(";", sep)] + [r.replace(";", sep) for r in rows]) + "\n"
    return write(tmp_path / name, text, **kw)


def test_loads_event_rows_with_types_padding_and_nulls(tmp_path, warehouse):
    ensure_schema(warehouse)
    r = ingest_file(warehouse, crime_csv(tmp_path), feed="crime_reports")
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 3, 3, 0)
    rows = warehouse.execute("SELECT crime_code, municipality_code, area_code, offence_date, crime_count, _row "
                             "FROM raw.crime_reports ORDER BY _row").fetchall()
    assert rows[1][0] == "0821" and rows[1][2] is None and rows[1][3] is None and rows[1][4] == 2
    assert rows[2][1] == "0486"  # zero-padded municipality code
    assert [r[5] for r in rows] == [2, 3, 4]  # row numbers in the file, header = row 1


@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("cp1252", False)])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_encodings_and_delimiters_give_identical_rows(tmp_path, warehouse, encoding, bom, sep):
    ensure_schema(warehouse)
    rows = CRIME_ROWS + ["5000-K4-24;1;1212;2024-05-01;2024-05-01;0486;0486-01;1"]
    r = ingest_file(warehouse, crime_csv(tmp_path, rows=rows, sep=sep, encoding=encoding, bom=bom), feed="crime_reports")
    assert r.status == "loaded" and r.rows_loaded == 4
    info = warehouse.execute("SELECT info FROM meta.files").fetchone()[0]
    assert ('"utf-8-sig"' if bom else f'"{encoding}"') in info


def test_quarantine_names_row_column_value_and_reason(tmp_path, warehouse):
    ensure_schema(warehouse)
    rows = CRIME_ROWS + [
        "5000-K5-24;1;99X9;2024-03-02;2024-03-01;0486;0486-01;1",      # unknown code
        "5000-K6-24;1;1212;2024-13-02;2024-03-01;0486;0486-01;1",      # bad date
        "5000-K7-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;0",      # count below 1
        "5000-K8-24;1;1212;;2024-03-01;0486;0486-01;1",                # missing required date
        "5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1",      # duplicate key of row 2
        "5000-K9-24;1;1212;2099-01-01;2024-03-01;0486;0486-01;1",      # future date
        "5000-K10-24;x;1212;2024-03-02;2024-03-01;0486;0486-01;1",     # not an integer
    ]
    r = ingest_file(warehouse, crime_csv(tmp_path, rows=rows), feed="crime_reports")
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (10, 3, 7)
    q = warehouse.execute("SELECT row_number, column_name, raw_value, reason FROM meta.quarantine ORDER BY 1").fetchall()
    assert [(x[0], x[1], x[2]) for x in q] == [
        (5, "crime_code", "99X9"), (6, "registered_date", "2024-13-02"), (7, "crime_count", "0"),
        (8, "registered_date", ""), (9, "report_id,crime_seq", "5000-K1-24 | 1"), (10, "registered_date", "2099-01-01"),
        (11, "crime_seq", "x")]
    reasons = [x[3] for x in q]
    assert "kodlistan" in reasons[0] and "datum" in reasons[1] and "intervallet 1–10\u00a0000" in reasons[2]
    assert "saknas" in reasons[3] and reasons[4] == "dubblett: samma nyckel (report_id, crime_seq) som rad 2"
    assert "efter dagens datum" in reasons[5] and "heltal" in reasons[6]



def test_a_row_with_two_bad_cells_is_one_quarantined_row_with_two_reasons(tmp_path, warehouse):
    ensure_schema(warehouse)
    rows = CRIME_ROWS + ["5000-K5-24;1;99X9;2024-13-02;2024-03-01;0486;0486-01;0"]  # code, date and count all bad
    r = ingest_file(warehouse, crime_csv(tmp_path, rows=rows), feed="crime_reports")
    # 4 rows read = 3 loaded + 1 quarantined (not 3: a row is counted once, whatever number of its cells fail)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 3, 1)
    q = warehouse.execute("SELECT row_number, column_name FROM meta.quarantine ORDER BY 2").fetchall()
    assert q == [(5, "crime_code"), (5, "crime_count"), (5, "registered_date")]
    assert warehouse.execute("SELECT count(*) FROM raw.crime_reports WHERE report_id = '5000-K5-24'").fetchall() == [(0,)]

def test_title_rows_above_the_header_are_skipped(tmp_path, warehouse):
    ensure_schema(warehouse)
    text = "Brottsstatistik Strängnäs\nUttag 2024-06-30\n\n" + CRIME_HEADER + "\n" + "\n".join(CRIME_ROWS) + "\n"
    r = ingest_file(warehouse, write(tmp_path / "t.csv", text), feed="crime_reports")
    assert r.rows_loaded == 3
    assert warehouse.execute("SELECT min(_row) FROM raw.crime_reports").fetchone()[0] == 5


def test_gzip_is_read_directly(tmp_path, warehouse):
    ensure_schema(warehouse)
    plain = crime_csv(tmp_path)
    gz = tmp_path / "brott.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    assert ingest_file(warehouse, gz, feed="crime_reports").rows_loaded == 3


def test_xlsx_with_title_rows_and_several_sheets(tmp_path, warehouse):
    from openpyxl import Workbook

    ensure_schema(warehouse)
    wb = Workbook()
    wb.active.title = "Info"
    wb.active.append(["Den här filen innehåller brott"])
    ws = wb.create_sheet("Data")
    ws.append(["Uttag från polisen"])
    ws.append([])
    ws.append(CRIME_HEADER.split(";"))
    for row in CRIME_ROWS:
        ws.append(row.split(";"))
    path = tmp_path / "brott.xlsx"
    wb.save(path)
    r = ingest_file(warehouse, path, feed="crime_reports")
    assert r.rows_loaded == 3
    assert warehouse.execute("SELECT min(_row) FROM raw.crime_reports").fetchone()[0] == 4


def test_decimal_comma_and_space_thousands(tmp_path, warehouse):
    ensure_schema(warehouse)
    text = ("Kommunkod;Områdeskod;År;Ålder;Folkmängd;Slutlig\n"
            "0486;0486-01;2024;0-17 år;1 234;Ja\n0486;0486-01;2024;18-64 år;12\u00a0345;Nej\n")
    r = ingest_file(warehouse, write(tmp_path / "pop.csv", text), feed="population")
    assert r.rows_loaded == 2
    assert warehouse.execute("SELECT list(population ORDER BY population) FROM raw.population").fetchone()[0] == [1234, 12345]
    areas = ("Områdeskod;Områdesnamn;Kommunkod;Latitud;Longitud\n0486-01;Strängnäs tätort;0486;59,377;17,031\n")
    ingest_file(warehouse, write(tmp_path / "areas.csv", areas), feed="areas")
    assert warehouse.execute("SELECT lat FROM raw.areas").fetchone()[0] == pytest.approx(59.377)


@pytest.mark.parametrize("content,feed,fragment", [
    ("", "crime_reports", "filen är tom"),
    (CRIME_HEADER + "\n", "crime_reports", "bara rubriker"),
    ("Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar\n0486;2024-01;0-12 år;Flicka;Övrigt;Skola;3\n",
     "crime_reports", "flödet \"concern_reports\""),
    ("Diarienummer;Brottskod;Kommunkod\n5000-K1-24;1212;0486\n", "crime_reports", "\"Inskrivningsdatum\""),
    ("Personnummer;Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar\n"
     "19121212-1212;0486;2024-01;0-12 år;Flicka;Övrigt;Skola;1\n", "concern_reports", "pekar ut enskilda personer"),
    ("Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar;Kommentar\n"
     "0486;2024-01;0-12 år;Flicka;Övrigt;Skola;3;gäller 19121212-1212\n", "concern_reports", "innehåller personnummer"),
])
def test_whole_file_rejections_name_file_and_fix(tmp_path, warehouse, content, feed, fragment):
    ensure_schema(warehouse)
    path = write(tmp_path / "fil.csv", content)
    before = table_counts(warehouse)
    r = ingest_file(warehouse, path, feed=feed)
    assert r.status == "rejected"
    assert fragment in r.message and r.message.startswith("fil.csv") and "Åtgärd:" in r.message
    after = table_counts(warehouse)
    assert {k: v for k, v in after.items() if k != "meta.files"} == {k: v for k, v in before.items() if k != "meta.files"}
    assert warehouse.execute("SELECT status FROM meta.files").fetchone()[0] == "rejected"


def test_binary_file_is_rejected(tmp_path, warehouse):
    ensure_schema(warehouse)
    path = tmp_path / "bild.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    r = ingest_file(warehouse, path, feed="crime_reports")
    assert r.status == "rejected" and "inte en textfil" in r.message


def test_unrecognised_header_lists_tried_profiles(tmp_path, warehouse):
    ensure_schema(warehouse)
    r = ingest_file(warehouse, write(tmp_path / "x.csv", "Diarienummer;b;c\n1;2;3\n"))
    assert r.status == "rejected" and "Provade: lagesbild-brott: saknar" in r.message
    assert "profiler till som passar sämre" in r.message


def test_personnummer_in_free_text_is_masked_and_counted(tmp_path, warehouse):
    ensure_schema(warehouse)
    text = ("Händelse-id,Tidpunkt,Kommunkod,Kategori,Beskrivning\n"
            "E1,2024-05-01 22:10,0486,Nedskräpning,Kontakt 19121212-1212 och 121212+1212\n"
            "E2,2024-05-02 08:00,0486,Nedskräpning,Order 1234567890 är inget personnummer\n")
    r = ingest_file(warehouse, write(tmp_path / "est.csv", text), feed="est_events")
    assert r.masked_values == 2
    texts = [t for (t,) in warehouse.execute("SELECT description FROM raw.est_events ORDER BY event_id").fetchall()]
    assert "1212-1212" not in texts[0] and texts[0].count("[personnummer borttaget]") == 2
    assert "1234567890" in texts[1]
    assert warehouse.execute("SELECT masked_values FROM meta.files").fetchone()[0] == 2


def test_same_file_twice_changes_nothing(tmp_path, warehouse):
    ensure_schema(warehouse)
    path = crime_csv(tmp_path)
    ingest_file(warehouse, path, feed="crime_reports")
    before = table_counts(warehouse)
    manifest = warehouse.execute("SELECT * FROM meta.files").fetchall()
    again = ingest_file(warehouse, path, feed="crime_reports")
    assert again.status == "already_loaded"
    assert table_counts(warehouse) == before
    assert warehouse.execute("SELECT * FROM meta.files").fetchall() == manifest
    # the same bytes under another name are recorded as a copy, and still load nothing
    copy = tmp_path / "kopia.csv"
    copy.write_bytes(path.read_bytes())
    assert ingest_file(warehouse, copy, feed="crime_reports").status == "already_loaded"
    assert warehouse.execute("SELECT count(*) FROM raw.crime_reports").fetchone()[0] == 3


def test_corrected_file_replaces_the_periods_it_covers(tmp_path, warehouse):
    ensure_schema(warehouse)
    first = ingest_file(warehouse, crime_csv(tmp_path, name="v1.csv"), feed="crime_reports")
    corrected = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1",
                 "5000-K2-24;1;0821;2024-03-05;-;0486;;1"]  # March again, one count corrected; April untouched
    second = ingest_file(warehouse, crime_csv(tmp_path, rows=corrected, name="v2.csv"), feed="crime_reports")
    assert second.replaced == [first.sha256]
    rows = warehouse.execute("SELECT report_id, crime_count, _sha256 FROM raw.crime_reports ORDER BY report_id").fetchall()
    assert rows == [("5000-K1-24", 1, second.sha256), ("5000-K2-24", 1, second.sha256), ("5000-K3-24", 1, first.sha256)]
    rev = warehouse.execute("SELECT replaced_sha256, scope, rows_removed FROM meta.revisions").fetchall()
    assert rev == [(first.sha256, "0486|2024-03", 2)]
    # the first file still supplies April, so it stays 'loaded'; a third file covering April replaces it entirely
    third = ingest_file(warehouse, crime_csv(tmp_path, rows=[CRIME_ROWS[2]], name="v3.csv"), feed="crime_reports")
    assert third.replaced == [first.sha256]
    status = dict(warehouse.execute("SELECT file_name, status FROM meta.files").fetchall())
    assert status == {"v1.csv": "replaced", "v2.csv": "loaded", "v3.csv": "loaded"}


def test_crash_mid_file_leaves_warehouse_unchanged(tmp_path, warehouse):
    ensure_schema(warehouse)
    ingest_file(warehouse, crime_csv(tmp_path, name="v1.csv"), feed="crime_reports")
    before = table_counts(warehouse)
    snapshot = warehouse.execute("SELECT * FROM raw.crime_reports ORDER BY ALL").fetchall()

    class CrashingConnection:
        """Fails on the insert, i.e. after the revision has already deleted the old March rows."""

        def __getattr__(self, name):
            return getattr(warehouse, name)

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO raw."):
                raise RuntimeError("simulated crash mid-file")
            return warehouse.execute(sql, *args)

    corrected = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;5"]
    r = ingest_file(CrashingConnection(), crime_csv(tmp_path, rows=corrected, name="v2.csv"), feed="crime_reports")
    # the error is the file's verdict (the caller goes on with other files); nothing of the file stays
    assert r.status == "rejected" and "ett oväntat fel (RuntimeError)" in r.message
    after = table_counts(warehouse)
    assert after.pop("meta.files") == before.pop("meta.files") + 1 and after == before
    assert warehouse.execute("SELECT * FROM raw.crime_reports ORDER BY ALL").fetchall() == snapshot


def test_folder_ingest_takes_the_feed_from_the_folder_name(tmp_path, warehouse):
    crime_csv(tmp_path / "incoming" / "crime_reports")
    results = ingest_paths(warehouse, [tmp_path / "incoming"])
    assert [(r.feed, r.status) for r in results] == [("crime_reports", "loaded")]


def test_replaced_rows_are_kept_in_history(tmp_path, warehouse):
    ensure_schema(warehouse)
    first = ingest_file(warehouse, crime_csv(tmp_path, name="v1.csv"), feed="crime_reports")
    corrected = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;4"]
    second = ingest_file(warehouse, crime_csv(tmp_path, rows=corrected, name="v2.csv"), feed="crime_reports")
    hist = warehouse.execute("SELECT report_id, crime_count, _sha256, _replaced_by FROM history.crime_reports "
                             "ORDER BY report_id").fetchall()
    assert hist == [("5000-K1-24", 1, first.sha256, second.sha256), ("5000-K2-24", 2, first.sha256, second.sha256)]
    assert warehouse.execute("SELECT crime_count FROM raw.crime_reports WHERE report_id = '5000-K1-24'").fetchall() == [(4,)]


def test_wide_bra_table_with_years_as_columns(tmp_path, warehouse):
    ensure_schema(warehouse)
    text = ("Anmälda brott, Brå\nKälla: Brottsförebyggande rådet\n\nKommun;Brottskategori;2023;2024;2025*\n"
            "Strängnäs;Totalt antal brott;3 110;3 254;2 418\nSträngnäs;Misshandel;..;188;x\n")
    r = ingest_file(warehouse, write(tmp_path / "bra.csv", text, encoding="cp1252"), feed="bra_stats")
    assert (r.profile, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("bra-bred-ar", 6, 5, 1)
    rows = warehouse.execute("SELECT _row, crime_item, year(period_start), is_preliminary, crimes, status "
                             "FROM raw.bra_stats ORDER BY _row, period_start").fetchall()
    assert rows == [(5, "Totalt antal brott", 2023, False, 3110.0, None), (5, "Totalt antal brott", 2024, False, 3254.0, None),
                    (5, "Totalt antal brott", 2025, True, 2418.0, None), (6, "Misshandel", 2023, False, None, "skyddad uppgift (..)"),
                    (6, "Misshandel", 2024, False, 188.0, None)]
    q = warehouse.execute("SELECT row_number, column_name, raw_value FROM meta.quarantine").fetchall()
    assert q == [(6, "crimes", "x")]


def test_parquet_export(tmp_path, warehouse):
    import pandas as pd

    ensure_schema(warehouse)
    frame = pd.DataFrame({"Kommunkod": ["0486", "0486"], "Områdeskod": ["0486-01", "0486-02"], "År": [2024, 2024],
                          "Ålder": ["0-17 år", "0-17 år"], "Folkmängd": [5100, 1000]})
    path = tmp_path / "folk.parquet"
    frame.to_parquet(path)
    r = ingest_file(warehouse, path, feed="population")
    assert (r.status, r.rows_loaded) == ("loaded", 2)
    assert warehouse.execute("SELECT sum(population) FROM raw.population").fetchall() == [(6100,)]


def test_a_column_a_contract_gained_is_added_to_an_older_warehouse_and_revisions_move_rows_by_name(tmp_path, warehouse):
    """A warehouse made before crime_reports had area_name: ensure_schema adds the column (empty for old rows), and
    a later revision moves the old rows to history by column name (history's new column sits after _replaced_at)."""
    ensure_schema(warehouse)
    assert ingest_file(warehouse, crime_csv(tmp_path, rows=CRIME_ROWS[:1], name="old.csv"),
                       feed="crime_reports").status == "loaded"
    for schema in ("raw", "history"):  # as the older code made them
        warehouse.execute(f"ALTER TABLE {schema}.crime_reports DROP COLUMN area_name")
    ensure_schema(warehouse)  # the next run, with the new contract
    cols = [c[0] for c in warehouse.execute("DESCRIBE history.crime_reports").fetchall()]
    assert cols[-3:] == ["_replaced_by", "_replaced_at", "area_name"]
    assert warehouse.execute("SELECT area_name, crime_count FROM raw.crime_reports").fetchall() == [(None, 1)]
    rows = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;3"]      # same scope (0486, 2024-03): replaces
    new = ingest_file(warehouse, crime_csv(tmp_path, rows=rows, name="new.csv"), feed="crime_reports")
    assert new.status == "loaded" and new.replaced
    moved = warehouse.execute("SELECT report_id, crime_count, area_code, area_name, _replaced_by "
                              "FROM history.crime_reports").fetchall()
    assert moved == [("5000-K1-24", 1, "0486-01", None, new.sha256)]


def test_a_revision_replaces_its_whole_months_and_nothing_beside_them(tmp_path, warehouse):
    """A file replaces the earlier rows of the municipality × months it covers: the first and last day of a month
    are inside, the next month's first day and the previous month's last day outside. Worked by hand."""
    ensure_schema(warehouse)
    first = ["5000-A1-24;1;1212;2024-02-29;2024-02-29;0486;;1",   # February: not revised
             "5000-A2-24;1;1212;2024-03-01;2024-03-01;0486;;1",   # March, its first day
             "5000-A3-24;1;1212;2024-03-31;2024-03-31;0486;;1",   # March, its last day
             "5000-A4-24;1;1212;2024-04-01;2024-04-01;0486;;1",   # April, its first day
             "5000-A5-24;1;1212;2024-03-15;2024-03-15;0484;;1"]   # March, another municipality
    assert ingest_file(warehouse, crime_csv(tmp_path, rows=first, name="a.csv"), feed="crime_reports").rows_loaded == 5
    r = ingest_file(warehouse, crime_csv(tmp_path, rows=["5000-B1-24;1;1212;2024-03-31;2024-03-31;0486;;7"],
                                         name="b.csv"), feed="crime_reports")
    assert (r.rows_loaded, len(r.replaced)) == (1, 1)
    ids = lambda t: sorted(x[0] for x in warehouse.execute(f"SELECT report_id FROM {t}.crime_reports").fetchall())
    assert ids("raw") == ["5000-A1-24", "5000-A4-24", "5000-A5-24", "5000-B1-24"]
    assert ids("history") == ["5000-A2-24", "5000-A3-24"]
    r = ingest_file(warehouse, crime_csv(tmp_path, rows=["5000-C1-24;1;1212;2024-04-30;2024-04-30;0486;;2"],
                                         name="c.csv"), feed="crime_reports")
    assert ids("raw") == ["5000-A1-24", "5000-A5-24", "5000-B1-24", "5000-C1-24"]
    assert ids("history") == ["5000-A2-24", "5000-A3-24", "5000-A4-24"]
    assert warehouse.execute("SELECT scope, rows_removed FROM meta.revisions ORDER BY scope").fetchall() == [
        ("0486|2024-03", 2), ("0486|2024-04", 1)]



def test_a_home_moved_to_another_folder_still_knows_its_files(tmp_path, monkeypatch):
    """Files under the warehouse's folder are named relative to it in the manifest and the hash cache; files
    elsewhere by their absolute path. A home copied elsewhere then re-reads nothing and records nothing again;
    a warehouse whose rows were written with absolute paths gets them relative on the next ingest."""
    import shutil

    import duckdb

    import sources.ingest as ingest_mod

    home = tmp_path / "hem"
    drop = home / "incoming" / "crime_reports"
    drop.mkdir(parents=True)
    inside = crime_csv(drop, name="brott_jan.csv")
    (tmp_path / "annan").mkdir()
    outside = crime_csv(tmp_path / "annan", rows=["5000-K9-24;1;1212;2024-05-01;2024-05-01;0484;;1"], name="b.csv")
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    assert [r.status for r in ingest_paths(con, [drop])] == ["loaded"]
    assert [r.status for r in ingest_paths(con, [outside], feed="crime_reports")] == ["loaded"]
    keys = lambda t: sorted(r[0] for r in con.execute(f"SELECT path FROM meta.{t}").fetchall())  # noqa: E731
    assert keys("files") == keys("file_stats") == sorted(["incoming/crime_reports/brott_jan.csv", str(outside)])
    # rows as an older version wrote them (absolute): made relative by the next ingest, nothing else changes
    for table in ("files", "file_stats"):
        con.execute(f"UPDATE meta.{table} SET path = ? WHERE path = ?", [str(inside), "incoming/crime_reports/brott_jan.csv"])
    manifest = con.execute("SELECT sha256, status, rows_loaded FROM meta.files ORDER BY ALL").fetchall()
    assert [r.status for r in ingest_paths(con, [drop])] == ["already_loaded"]
    assert keys("files") == keys("file_stats") == sorted(["incoming/crime_reports/brott_jan.csv", str(outside)])
    assert con.execute("SELECT sha256, status, rows_loaded FROM meta.files ORDER BY ALL").fetchall() == manifest
    con.close()

    moved = tmp_path / "flyttat" / "hem"
    shutil.copytree(home, moved)  # sizes and modification times kept
    monkeypatch.setattr(ingest_mod, "sha256_of", lambda p: pytest.fail(f"{p} read again"))
    con = duckdb.connect(str(moved / "warehouse.duckdb"))
    try:
        assert [r.status for r in ingest_paths(con, [moved / "incoming" / "crime_reports"])] == ["already_loaded"]
        assert con.execute("SELECT sha256, status, rows_loaded FROM meta.files ORDER BY ALL").fetchall() == manifest
        assert keys("files") == sorted(["incoming/crime_reports/brott_jan.csv", str(outside)])
        assert con.execute("SELECT count(*) FROM raw.crime_reports").fetchall()[0][0] == 4
    finally:
        con.close()


def test_files_loaded_as_they_are_get_the_verdict_ingest_file_gives_them(tmp_path, monkeypatch):
    """``ingest_paths`` answers a file loaded before at the same path, with the size and modification time its hash
    was recorded with, from the manifest without asking ``ingest_file`` (two queries, not four per file): the same
    verdicts and the same manifest as asking ``ingest_file`` for every file."""
    import os
    import shutil

    import duckdb

    import sources.ingest as ingest_mod

    drop = tmp_path / "hem" / "incoming" / "crime_reports"
    a = crime_csv(drop, name="a.csv")
    b = drop / "b.csv"
    b.write_bytes(a.read_bytes())  # a copy: recorded as already loaded at its own path
    c = write(drop / "c.csv", "Kolumn;Annan\n1;2\n")  # rejected: no profile knows the header
    d = crime_csv(drop, rows=["5000-K9-24;1;1212;2024-05-01;2024-05-01;0484;;1"], name="d.csv")
    con = duckdb.connect(str(tmp_path / "hem" / "warehouse.duckdb"))
    assert [r.status for r in ingest_paths(con, [drop])] == ["loaded", "already_loaded", "rejected", "loaded"]
    con.close()
    st = d.stat()
    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched: the same bytes, a new time
    shutil.copy(tmp_path / "hem" / "warehouse.duckdb", tmp_path / "hem" / "slow.duckdb")  # same folder: same keys

    asked = []
    real = ingest_mod.ingest_file
    monkeypatch.setattr(ingest_mod, "ingest_file", lambda con, f, **kw: asked.append(Path(f).name) or real(con, f, **kw))
    con = duckdb.connect(str(tmp_path / "hem" / "warehouse.duckdb"))
    lines: list[str] = []
    fast = ingest_paths(con, [drop], feed="crime_reports", retry_rejected=False, quiet_unchanged=True,
                        progress=lines.append)
    # a refresh's output: the rejected and the touched file each have their line, a and b one line together
    assert [ln.split("  ")[0] for ln in lines] == ["[3/4] AVVISAD", "[4/4] oförändrad",
                                                   "2 av 4 filer oförändrade sedan de lästes in; inget ändrades."]
    assert asked == ["c.csv", "d.csv"]  # a and b answered from the manifest; the rejected and the touched file asked
    slow_con = duckdb.connect(str(tmp_path / "hem" / "slow.duckdb"))
    slow = [real(slow_con, f, feed="crime_reports", retry_rejected=False) for f in (a, b, c, d)]
    for x, y in zip(fast, slow):
        assert x.to_dict() == y.to_dict(), (x.message, y.message)
    assert [r.status for r in fast] == ["already_loaded", "already_loaded", "rejected", "already_loaded"]
    assert "som a.csv är redan inläst" in fast[1].message
    for table in ("files", "file_stats"):
        assert con.execute(f"SELECT * FROM meta.{table} ORDER BY ALL").fetchall() == \
            slow_con.execute(f"SELECT * FROM meta.{table} ORDER BY ALL").fetchall()
    con.close()
    slow_con.close()
