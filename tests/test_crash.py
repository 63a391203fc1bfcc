"""SIGKILL during ingestion: the warehouse holds the whole file or none of it, never a part."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import json

import duckdb
import pytest

from pipelines.bench import write_crime_csv
from tests.cli_process import run_lagesbild
from tests.conftest import SMALL, refreshed_home
from tests.test_ingest import crime_csv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _state(home):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return (con.execute("SELECT count(*) FROM raw.crime_reports").fetchall()[0][0],
                con.execute("SELECT file_name, status, rows_loaded FROM meta.files ORDER BY 1").fetchall())
    finally:
        con.close()


@pytest.mark.parametrize("point,whole", [("ingest:read", False), ("ingest:inserted", False),
                                         ("ingest:committed", True)])
def test_sigkill_mid_ingest_leaves_all_or_nothing(tmp_path, point, whole):
    """The ingest kills itself at a named point (sources/faults.py): before the commit nothing of the file stays,
    after it all of it; a kill really happened every time."""
    home = tmp_path / "home"
    rows = 20_000
    big = tmp_path / "brott_stor.csv"
    write_crime_csv(big, rows)
    cli = ["--home", str(home)]  # each ingest a process of its own (tests/cli_process.py)
    other_municipality = ["5000-K1-24;1;1212;2024-03-02;2024-03-01;0484;;1", "5000-K2-24;1;0821;2024-03-05;-;0484;;2"]
    small = crime_csv(tmp_path, rows=other_municipality, name="liten.csv")  # outside the big file's revision scope
    assert run_lagesbild(cli + ["ingest", str(small), "--feed", "crime_reports"])[0] == 0
    base_rows, base_files = _state(home)
    killed, out = run_lagesbild(cli + ["ingest", str(big), "--feed", "crime_reports"], env={"LAGESBILD_FAULT": point})
    assert killed == -signal.SIGKILL, out  # the kill happened, at that point
    n, files = _state(home)  # opening it also replays DuckDB's write-ahead log
    if whole:
        assert n == base_rows + rows and (big.name, "loaded", rows) in files
    else:
        assert n == base_rows and files == base_files
    # and the interrupted file can simply be ingested again (or is recognised as loaded)
    assert run_lagesbild(cli + ["ingest", str(big), "--feed", "crime_reports"])[0] == 0
    assert _state(home)[0] == base_rows + rows


def _warehouse_invariants(path) -> None:
    """Conservation (every loaded file's rows are all in raw) and no partial partitions (every partition a
    partitioned model counts as built equals its SQL recomputed from raw now)."""
    from pipelines.models import discover, partition_mismatches

    con = duckdb.connect(str(path))  # read-write: opening replays DuckDB's write-ahead log like the next refresh
    try:
        files = con.execute("SELECT sha256, feed, rows_read, rows_loaded, rows_quarantined FROM meta.files "
                            "WHERE status = 'loaded'").fetchall()
        for sha, feed, read, loaded, quarantined in files:
            assert read == loaded + quarantined
            n = con.execute(f'SELECT count(*) FROM raw."{feed}" WHERE _sha256 = ?', [sha]).fetchall()[0][0]
            assert n == loaded, (feed, sha)
        for model in discover():
            if model.partitioned:
                assert partition_mismatches(con, model) == [], model.key
    finally:
        con.close()


def _published_invariants(home) -> int:
    """The published pages and snapshot belong to the same refresh, and the pages show what the marts hold."""
    manifest = json.loads((home.site / "publicering.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(home.snapshot), read_only=True)
    try:
        assert con.execute("SELECT run_id FROM meta.publication").fetchall()[0][0] == manifest["run_id"]
        marts = dict(con.execute("SELECT municipality_code, sum(crimes) FROM marts.crime_by_quarter GROUP BY 1").fetchall())
        assert {c: t["crime_by_quarter"] for c, t in manifest["totals"].items()} == {c: int(v) for c, v in marts.items()}
        return int(sum(marts.values()))
    finally:
        con.close()


def test_sigkill_in_every_phase_of_refreshes_keeps_warehouse_and_site_consistent(tmp_path_factory, tmp_path):
    """Kill `lagesbild refresh` in every phase (named fault points, not timers), with a new file arriving before
    each run; after every kill the warehouse, the published pages and the snapshot satisfy their invariants, and a
    plain refresh recovers."""
    from pipelines.home import Home
    from sources.faults import POINTS
    from tests.test_ingest import crime_csv

    home = Home(refreshed_home(tmp_path_factory, tmp_path / "home", *SMALL))  # sampled and refreshed once
    cli = ["--home", str(home.root)]  # each refresh a process of its own (killed at the fault point)
    _warehouse_invariants(home.warehouse)
    _published_invariants(home)
    points = [p for p in POINTS if p != "ingest:read"] + ["ingest:read"]
    for i, point in enumerate(points):
        # a new month's file for another municipality (its own scope: adds, replaces nothing)
        rows = [f"5000-K{i}{j:03d}-26;1;9301;2026-0{i % 9 + 1}-0{1 + j};2026-0{i % 9 + 1}-01;0484;;1" for j in range(5)]
        (home.incoming / "crime_reports").mkdir(parents=True, exist_ok=True)
        crime_csv(home.incoming / "crime_reports", rows=rows, name=f"brott_ny_{i}.csv")
        code, out = run_lagesbild(cli + ["refresh"], env={"LAGESBILD_FAULT": point})
        assert code == -signal.SIGKILL, (point, out[-3000:])
        _warehouse_invariants(home.warehouse)
        if home.snapshot.exists():
            _published_invariants(home)
        assert not list(home.published.parent.glob(".published.*.lnk"))
    code, out = run_lagesbild(cli + ["refresh"])
    assert code == 0, out
    _warehouse_invariants(home.warehouse)
    published = _published_invariants(home)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.execute("SELECT sum(crime_count) FROM raw.crime_reports").fetchall()[0][0] == published
        assert con.execute("SELECT count(*) FROM meta.files WHERE file_name LIKE 'brott_ny_%' "
                           "AND status = 'loaded'").fetchall()[0][0] == len(points)
    finally:
        con.close()
    assert len(list((home.published.parent / ".versions").iterdir())) <= 2  # interrupted versions are cleaned up


KILLED_WITH_A_BUSY_WORKER = r"""
import os, signal, sys
from sources.workers import fork_pool

def busy(fd):
    os.write(fd, str(os.getpid()).encode() + b"\n")
    signal.pause()  # a page or a file that takes a long time: the worker is mid-item when its parent is killed

r, w = os.pipe()
with fork_pool(2) as pool:
    pool.submit(busy, w)
    pid = os.read(r, 64).decode().strip()
    print(pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the refresh killed mid-run (as at a fault point)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rpartition(")")[2].split()[0] == "Z"  # dead, not yet reaped by its new parent
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_forked_workers_die_with_the_killed_refresh():
    """A worker busy with an item when the process that forked it is SIGKILLed ends with it, instead of finishing
    its item (page workers would go on writing into the interrupted version). The worker blocks until killed, so
    without the parent-death signal it would live on; the wait below is for that event, with a generous bound."""
    import time

    # the worker inherits the pipe: read its pid by line and wait for the parent, not for the pipe's end
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WITH_A_BUSY_WORKER], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    worker = int(proc.stdout.readline())
    proc.stdout.close()
    assert proc.wait(timeout=120) == -signal.SIGKILL
    try:
        deadline = time.monotonic() + 60
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(worker), "the worker outlived the killed process that forked it"
    finally:
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_whose_parent_is_already_gone_ends_at_once():
    """Between the fork and the request the parent may die: the worker then has nobody to work for and ends; with
    its parent alive it goes on."""
    code = "import os, sys; from sources.workers import die_with_parent; print(die_with_parent({})); print('lived')"
    alive = subprocess.run([sys.executable, "-c", code.format("os.getppid()")], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert (alive.returncode, alive.stdout.split()) == (0, ["True", "lived"])
    gone = subprocess.run([sys.executable, "-c", code.format("os.getppid() + 1")], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert (gone.returncode, gone.stdout) == (1, "")
