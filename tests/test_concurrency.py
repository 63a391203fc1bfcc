"""One writer per home: a second refresh or ingest stops with a clear message (or waits with --wait)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from pipelines.warehouse import writer_lock
from pipelines.home import Home
from tests.conftest import REPO, run_cli


def test_second_writer_stops_with_a_message_naming_the_running_one(tmp_path, capsys):
    home = Home(tmp_path)
    with writer_lock(home):
        assert run_cli("--home", str(tmp_path), "refresh") == 3
        err = capsys.readouterr().err
        assert "En uppdatering pågår redan (pid " in err and "--wait" in err
        example = REPO / "sources" / "crime_reports" / "example.csv"
        assert run_cli("--home", str(tmp_path), "ingest", str(example)) == 3
    # released: the same ingest now runs
    assert run_cli("--home", str(tmp_path), "ingest", str(example)) == 0


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from pipelines.warehouse import writer_lock; from pipelines.home import Home\n"
            "with writer_lock(Home(%r)):\n    print('locked', flush=True); time.sleep(60)\n") % (str(REPO), str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    proc.kill()
    proc.wait()
    t0 = time.perf_counter()
    with writer_lock(Home(tmp_path)):  # the kernel released the dead holder's lock
        pass
    assert time.perf_counter() - t0 < 5


def test_readers_use_the_snapshot_and_are_never_blocked_by_a_writer(sample_home):
    import duckdb

    home = Home(sample_home)
    assert home.snapshot.exists()
    # another process holds the warehouse for writing (as a refresh does)
    code = ("import duckdb, sys, time\ncon = duckdb.connect(%r)\nprint('writing', flush=True)\ntime.sleep(30)\n"
            % str(home.warehouse))
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        try:  # a reader of the warehouse itself is locked out while it writes …
            duckdb.connect(str(home.warehouse), read_only=True).close()
            blocked = False
        except duckdb.IOException:
            blocked = True
        assert blocked
        snap = duckdb.connect(str(home.snapshot), read_only=True)  # … the snapshot is not
        crimes = snap.execute("SELECT sum(crimes) FROM marts.crime_by_quarter").fetchall()[0][0]
        run_id = snap.execute("SELECT run_id FROM meta.publication").fetchall()[0][0]
        snap.close()
        # and the pages were built from exactly this snapshot
        manifest = json.loads((home.site / "publicering.json").read_text(encoding="utf-8"))
        assert manifest["run_id"] == run_id
        assert sum(t["crime_by_quarter"] for t in manifest["totals"].values()) == crimes
    finally:
        writer.kill()
        writer.wait()
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.execute("SELECT sum(crime_count) FROM raw.crime_reports").fetchall()[0][0] == crimes > 0
    finally:
        con.close()
