"""Large files are read in chunks: the result must be exactly what reading the file whole gives."""
from pathlib import Path

import duckdb
import pytest

import sources.readers as readers
from sources.ingest import ensure_schema, ingest_file

HEADER = "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott\n"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(lines), encoding="utf-8-sig")
    return path


def _rows(i: int, code: str = "0486", date: str = "2026-02-03") -> str:
    return f"5000-K{i:08d};1;9301;{date};{date};{code};0486-01;1\n"


def _load(tmp_path: Path, path: Path, monkeypatch, chunked: bool):
    if chunked:
        monkeypatch.setattr(readers, "CHUNK_BYTES", 1)
        monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    con = duckdb.connect(str(tmp_path / f"w{int(chunked)}.duckdb"))
    ensure_schema(con)
    result = ingest_file(con, path, feed="crime_reports")
    monkeypatch.undo()
    return con, result


def test_chunked_reading_gives_the_same_rows_quarantine_and_partitions(tmp_path, monkeypatch):
    lines = [_rows(i, date=f"2026-0{1 + i % 6}-0{1 + i % 9}") for i in range(40)]
    lines[12] = "5000-K00000012;1;9301;inte ett datum;2026-01-01;0486;0486-01;1\n"   # bad date
    lines[25] = _rows(3, date="2026-04-04")                                        # same key as row 3 (other chunk)
    lines[30] = "\n"                                                                # blank line
    path = _write(tmp_path / "brott.csv", lines)
    whole_con, whole = _load(tmp_path, path, monkeypatch, chunked=False)
    chunk_con, chunked = _load(tmp_path, path, monkeypatch, chunked=True)
    assert (chunked.rows_read, chunked.rows_loaded, chunked.rows_quarantined) == \
           (whole.rows_read, whole.rows_loaded, whole.rows_quarantined) == (39, 37, 2)
    q = "SELECT report_id, crime_seq, registered_date, _row FROM raw.crime_reports ORDER BY _row"
    assert chunk_con.execute(q).fetchall() == whole_con.execute(q).fetchall()
    q = "SELECT row_number, column_name, raw_value, reason FROM meta.quarantine ORDER BY row_number"
    assert chunk_con.execute(q).fetchall() == whole_con.execute(q).fetchall()
    assert any("dubblett" in r[3] and "rad 5" in r[3] for r in chunk_con.execute(q).fetchall())
    q = "SELECT municipality_code, year, quarter FROM meta.pending_partitions ORDER BY ALL"
    assert chunk_con.execute(q).fetchall() == whole_con.execute(q).fetchall() == [("0486", 2026, 1), ("0486", 2026, 2)]


def test_a_broken_row_far_down_a_large_file_rejects_all_of_it(tmp_path, monkeypatch):
    lines = [_rows(i) for i in range(30)]
    lines[27] = "5000-K00000027;1;9301;2026-01-01;2026-01-01;0486;0486-01;1;extra;fält\n"
    path = _write(tmp_path / "brott.csv", lines)
    con, result = _load(tmp_path, path, monkeypatch, chunked=True)
    assert result.status == "rejected"
    assert "rad 29" in result.message and "10 fält" in result.message
    assert con.execute("SELECT count(*) FROM raw.crime_reports").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM meta.pending_partitions").fetchall() == [(0,)]


def test_unchanged_files_are_not_hashed_again_but_changed_ones_are(tmp_path, monkeypatch):
    import sources.ingest as ingest

    path = _write(tmp_path / "brott.csv", [_rows(i) for i in range(5)])
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    assert ingest_file(con, path, feed="crime_reports").status == "loaded"
    hashed = []
    real = ingest.sha256_of
    monkeypatch.setattr(ingest, "sha256_of", lambda p: hashed.append(p) or real(p))
    assert ingest_file(con, path, feed="crime_reports").status == "already_loaded"
    assert hashed == []                                   # same path, size and mtime: no read
    _write(path, [_rows(i) for i in range(6)])            # corrected export, same name
    result = ingest_file(con, path, feed="crime_reports")
    assert hashed and result.status == "loaded" and result.rows_loaded == 6
    assert con.execute("SELECT count(*) FROM raw.crime_reports").fetchall() == [(6,)]


def test_a_chunk_frees_the_frames_of_the_chunks_before_it(tmp_path, monkeypatch):
    """A large file is one transaction; DuckDB keeps frames *registered* during a transaction alive until it ends,
    which made 2,8 million quarantined duplicates take 1,3 GB. Frames of earlier chunks must be gone by the next."""
    import gc
    import weakref

    import sources.ingest as ingest

    seen: list = []
    alive_at_chunk: list[int] = []
    real_run_with_frame, real_prepare_chunk = ingest.run_with_frame, ingest._prepare_chunk

    def spy_run_with_frame(con, sql, frame, params=None):
        seen.append(weakref.ref(frame))
        return real_run_with_frame(con, sql, frame, params)

    def spy_prepare_chunk(*args, **kwargs):
        gc.collect()
        alive_at_chunk.append(sum(r() is not None for r in seen))
        return real_prepare_chunk(*args, **kwargs)

    monkeypatch.setattr(ingest, "run_with_frame", spy_run_with_frame)
    monkeypatch.setattr(ingest, "_prepare_chunk", spy_prepare_chunk)
    lines = [_rows(1)] * 30  # every row after the first is a duplicate: each chunk quarantines rows
    path = _write(tmp_path / "dubbletter.csv", lines)
    monkeypatch.setattr(readers, "CHUNK_BYTES", 1)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    result = ingest.ingest_file(con, path, feed="crime_reports")
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (30, 1, 29)
    assert len(alive_at_chunk) == 5 and len(seen) >= 8  # 5 chunks of 7, 7, 7, 7, 2 rows, frames used by each
    assert alive_at_chunk == [0] * 5
