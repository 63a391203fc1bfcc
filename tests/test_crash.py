"""SIGKILL during ingestion: the warehouse holds the whole file or none of it, never a part."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.bench import write_crime_csv
from tests.test_ingest import crime_csv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _state(home):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM raw.crime_reports").fetchall()[0][0],
                con.execute("SELECT file_name, status, rows_loaded FROM meta.files ORDER BY 1").fetchall())
    finally:
        con.close()


@pytest.mark.parametrize("kill_after", [1.4, 1.9, 2.4])
def test_sigkill_mid_ingest_leaves_all_or_nothing(tmp_path, kill_after):
    home = tmp_path / "home"
    rows = 300_000  # an undisturbed load takes ~2.8 s here: the kills land while reading, coercing and inserting
    big = tmp_path / "brott_stor.csv"
    write_crime_csv(big, rows)
    cli = [sys.executable, "-m", "pipelines.cli", "--home", str(home)]
    other_municipality = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0484;;1", "5000-K2-24;1;0821;2024-03-05;-;0484;;2"]
    small = crime_csv(tmp_path, rows=other_municipality, name="liten.csv")  # outside the big file's revision scope
    subprocess.run(cli + ["ingest", str(small), "--feed", "crime_reports"],
                   check=True, cwd=REPO, capture_output=True)
    base_rows, base_files = _state(home)
    proc = subprocess.Popen(cli + ["ingest", str(big), "--feed", "crime_reports"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n, files = _state(home)  # opening it also replays DuckDB's write-ahead log
    if any(f[0] == big.name for f in files):
        assert n == base_rows + rows and (big.name, "loaded", rows) in files
    else:
        assert n == base_rows and files == base_files
    # and the interrupted file can simply be ingested again
    subprocess.run(cli + ["ingest", str(big), "--feed", "crime_reports"], check=True, cwd=REPO, capture_output=True)
    assert _state(home)[0] == base_rows + rows


def _consistent(path):
    """Invariants of a warehouse or snapshot: it opens; every loaded file's rows are all there; marts match raw."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        files = con.execute("SELECT sha256, feed, rows_read, rows_loaded, rows_quarantined FROM meta.files "
                            "WHERE status = 'loaded'").fetchall()
        for sha, feed, read, loaded, quarantined in files:
            assert read == loaded + quarantined
            n = con.execute(f'SELECT count(*) FROM raw."{feed}" WHERE _sha256 = ?', [sha]).fetchall()[0][0]
            assert n == loaded, (feed, sha)
        tables = {r[0] for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()}
        if "marts.crime_by_quarter" in tables:
            return con.execute("SELECT (SELECT sum(crimes) FROM marts.crime_by_quarter), "
                               "(SELECT sum(crime_count) FROM raw.crime_reports)").fetchall()[0]
        return None
    finally:
        con.close()


def test_sigkill_during_refresh_leaves_warehouse_and_snapshot_consistent(tmp_path):
    """Kill `lagesbild refresh` at several points; then a plain refresh recovers to a consistent published state."""
    from pipelines.home import Home

    home = Home(tmp_path / "home")
    cli = [sys.executable, "-m", "pipelines.cli", "--home", str(home.root)]
    subprocess.run(cli + ["sample", "--scale", "0.05", "--first-year", "2025"], check=True, cwd=REPO, capture_output=True)
    for kill_after in (2.5, 5.0, 7.5):
        proc = subprocess.Popen(cli + ["refresh"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_after)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if home.warehouse.exists():
            _consistent(home.warehouse)
        if home.snapshot.exists():  # the snapshot is always a whole, consistent refresh
            marts, raw = _consistent(home.snapshot)
            assert marts == raw
    done = subprocess.run(cli + ["refresh"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    marts, raw = _consistent(home.snapshot)
    assert marts == raw > 0 and _consistent(home.warehouse) == (marts, raw)
    assert not list(home.snapshot.parent.glob(".*.tmp"))
