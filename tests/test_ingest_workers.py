"""Small files read, screened and coerced in worker processes ahead of the main process (``sources/ingest.py``,
``ingest_paths``) give the warehouse exactly what reading them one by one gives: rows, row numbers, quarantine,
revisions, manifest and verdicts, in the same order; a worker that fails or dies leaves the file to the main
process."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

import sources.ingest as ingest
from sources.ingest import ensure_schema, ingest_paths
from tests.test_sql_ingest import CRIME, EST, _state, _write


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    crime, est = d / "crime_reports", d / "est_events"
    _write(crime, "a_brott.csv", CRIME, bom=True)
    _write(crime, "b_brott_ny.csv", [CRIME[0], "5000-K1;1;1212;2024-03-02;2024-03-01;0486;0486-01;5"])  # revision
    _write(crime, "c_samma.csv", CRIME, bom=True)                                  # same bytes as a_brott.csv
    _write(crime, "d_okand.csv", ["Kolumn A;Kolumn B", "1;2"])                     # no profile fits
    _write(crime, "e_trasig.csv", [CRIME[0], CRIME[2]])                            # fails in coercion (below)
    _write(est, "a_est.csv", EST)
    _write(est, "b_est_ny.csv", [EST[0], EST[1].replace("Klotter,Granskad", "Klotter,Ny")])  # E1 again
    return d


def _ingest(tmp_path: Path, name: str, folder: Path, monkeypatch, workers: int) -> tuple[duckdb.DuckDBPyConnection, list]:
    monkeypatch.setenv(ingest.WORKERS_ENV, str(workers))
    con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
    ensure_schema(con)
    results = []
    for feed in ("crime_reports", "est_events"):
        results += ingest_paths(con, [folder / feed], feed=feed)
    return con, [(Path(r.path).name, r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.masked_values,
                  r.message, len(r.replaced)) for r in results]


@pytest.fixture
def patched(tmp_path, monkeypatch):
    """Every file goes to the workers; each prepare is logged with its process id; coercing e_trasig.csv raises
    (in whichever process coerces it), as an unexpected error in a reader would."""
    monkeypatch.setattr(ingest, "PREPARE_MIN_FILES", 1)
    monkeypatch.setattr(ingest, "PREPARE_MIN_BYTES", 0)
    log = tmp_path / "prepared.log"
    real_prepare_file, real_prepare_chunk = ingest._prepare_file, ingest._prepare_chunk

    def logged(path, *args):
        with log.open("a") as fh:
            fh.write(f"{os.getpid()} {Path(path).name}\n")
        return real_prepare_file(path, *args)

    def chunk(path, *args):
        if Path(path).name == "e_trasig.csv":
            raise ZeroDivisionError("trasig")
        return real_prepare_chunk(path, *args)

    monkeypatch.setattr(ingest, "_prepare_file", logged)
    monkeypatch.setattr(ingest, "_prepare_chunk", chunk)
    return log


def test_files_prepared_by_workers_load_exactly_as_one_by_one(tmp_path, monkeypatch, patched):
    folder = _folder(tmp_path)
    serial, serial_results = _ingest(tmp_path, "serial", folder, monkeypatch, workers=0)
    assert not patched.exists()  # no pool without workers
    pooled, pooled_results = _ingest(tmp_path, "pooled", folder, monkeypatch, workers=2)
    prepared = [line.split() for line in patched.read_text().splitlines()]
    # worked out by hand: c_samma.csv has a_brott.csv's bytes, so it is not read ahead (it is known before the pool
    # starts only for a file loaded in an earlier run: here both are new and both are read ahead)
    assert sorted(name for _, name in prepared) == ["a_brott.csv", "a_est.csv", "b_brott_ny.csv", "b_est_ny.csv",
                                                   "c_samma.csv", "d_okand.csv", "e_trasig.csv"]
    assert {int(pid) for pid, _ in prepared} - {os.getpid()} == {int(pid) for pid, _ in prepared}  # all in workers
    assert pooled_results == serial_results
    assert [(r[0], r[1]) for r in pooled_results] == [
        ("a_brott.csv", "loaded"), ("b_brott_ny.csv", "loaded"), ("c_samma.csv", "already_loaded"),
        ("d_okand.csv", "rejected"), ("e_trasig.csv", "rejected"), ("a_est.csv", "loaded"), ("b_est_ny.csv", "loaded")]
    assert "oväntat fel (ZeroDivisionError)" in pooled_results[4][6]
    assert pooled_results[1][7] == 1  # the revision replaced a_brott.csv's rows for 0486 × 2024-03
    assert _state(pooled) == _state(serial)
    # a refresh over the same folder reads nothing ahead (every file is known, rejected ones are not retried) and
    # changes nothing
    patched.unlink()
    again = ingest_paths(pooled, [folder / "crime_reports"], feed="crime_reports", retry_rejected=False)
    assert not patched.exists()
    assert [r.status for r in again] == ["already_loaded", "already_loaded", "already_loaded", "rejected", "rejected"]
    assert _state(pooled) == _state(serial)


def test_a_worker_that_dies_leaves_its_files_to_the_main_process(tmp_path, monkeypatch, patched):
    folder = _folder(tmp_path)
    serial, serial_results = _ingest(tmp_path, "serial", folder, monkeypatch, workers=0)
    patched.unlink(missing_ok=True)
    real = ingest._prepare_file

    def dies(path, *args):
        if Path(path).name == "b_brott_ny.csv" and os.getpid() != main:
            (tmp_path / "died").touch()
            os._exit(3)  # as if killed: the pool breaks, every pending file is read by the main process
        return real(path, *args)

    main = os.getpid()
    monkeypatch.setattr(ingest, "_prepare_file", dies)
    pooled, pooled_results = _ingest(tmp_path, "pooled", folder, monkeypatch, workers=2)
    assert (tmp_path / "died").exists()
    assert pooled_results == serial_results
    assert _state(pooled) == _state(serial)


def test_many_files_the_duckdb_path_would_take_are_read_ahead_and_a_lone_one_goes_through_duckdb(tmp_path,
                                                                                                monkeypatch):
    """Every file counts as large here (the DuckDB path's threshold set to 1 byte): one by one they go through
    DuckDB; read ahead in workers they give the same warehouse; a folder of one file is not read ahead."""
    import json

    from sources import sqlingest

    monkeypatch.setattr(sqlingest, "MIN_BYTES", 1)
    monkeypatch.setattr(ingest, "PREPARE_MIN_FILES", 1)
    monkeypatch.setattr(ingest, "PREPARE_MIN_BYTES", 0)
    folder = _folder(tmp_path)
    (folder / "crime_reports" / "e_trasig.csv").unlink()  # (it fails only under the other test's patch)

    def readers(con):
        return sorted((n, json.loads(i).get("reader") if i else None) for n, i in con.execute(
            "SELECT file_name, info FROM meta.files WHERE status = 'loaded'").fetchall())

    serial, serial_results = _ingest(tmp_path, "serial", folder, monkeypatch, workers=0)
    pooled, pooled_results = _ingest(tmp_path, "pooled", folder, monkeypatch, workers=2)
    assert readers(serial) == [("a_brott.csv", "duckdb"), ("a_est.csv", "duckdb"), ("b_brott_ny.csv", "duckdb"),
                               ("b_est_ny.csv", "duckdb")]
    assert readers(pooled) == [(n, None) for n, _ in readers(serial)]  # read and coerced by workers
    assert pooled_results == serial_results and _state(pooled) == _state(serial)
    lone = tmp_path / "lone" / "crime_reports"
    lone.mkdir(parents=True)
    (lone / "a_brott.csv").write_bytes((folder / "crime_reports" / "a_brott.csv").read_bytes())
    alone = duckdb.connect(str(tmp_path / "alone.duckdb"))
    ensure_schema(alone)
    monkeypatch.setattr(ingest, "PREPARE_MIN_FILES", 2)
    assert [r.status for r in ingest_paths(alone, [lone], feed="crime_reports")] == ["loaded"]
    assert readers(alone) == [("a_brott.csv", "duckdb")]


def test_read_ahead_thresholds_on_each_side(tmp_path, monkeypatch):
    """_to_prepare's three bounds, each met exactly and missed by one (sizes worked out from the files written)."""
    d = tmp_path / "crime_reports"
    paths = [_write(d, f"{c}.csv", [CRIME[0], CRIME[1].replace("K1", f"K{c}")]) for c in "abc"]
    sizes = [p.stat().st_size for p in paths]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    files = [(p, "crime_reports", False) for p in paths]

    def chosen(min_files, min_bytes, max_bytes) -> list[int]:
        monkeypatch.setattr(ingest, "PREPARE_MIN_FILES", min_files)
        monkeypatch.setattr(ingest, "PREPARE_MIN_BYTES", min_bytes)
        monkeypatch.setattr(ingest, "PREPARE_MAX_BYTES", max_bytes)
        return sorted(ingest._to_prepare(con, files, "crime_reports", None, True))

    big = max(sizes) + 1
    assert chosen(3, 0, big) == [0, 1, 2]            # exactly the minimum number of files
    assert chosen(4, 0, big) == []                   # one file short
    assert chosen(1, sum(sizes), big) == [0, 1, 2]   # exactly the minimum bytes together
    assert chosen(1, sum(sizes) + 1, big) == []      # one byte short
    assert chosen(1, 0, sizes[0] + 1) == [i for i, s in enumerate(sizes) if s <= sizes[0]]  # under the size bound
    assert chosen(1, 0, sizes[0]) == [i for i, s in enumerate(sizes) if s < sizes[0]]       # at it: not read ahead
