"""The GE helper (pipelines/ge_helper.py): a refresh with few new bytes validates its small batches in a process
that imported Great Expectations while the run went on; the outcomes are those of validating in the run's own
process, and anything wrong with the helper leaves the validation to the run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date

import duckdb
import pandas as pd
import pytest

from pipelines import ge_helper
from pipelines.changes import unread_bytes
from pipelines.checks.suites import validate
from pipelines.home import Home
from sources.expectations import Suite
from tests.conftest import REPO

SUITE = Suite(feed="x", table="staging.x", row_id=["k"], expectations=[
    {"type": "expect_column_values_to_be_between", "column": "n", "min_value": 0, "max_value": 10},
    {"type": "expect_column_values_to_not_be_null", "column": "place"},
    {"type": "expect_column_values_to_be_in_set", "column": "place", "value_set": ["torg", "park"], "mostly": 0.5}])
FRAME = pd.DataFrame({"k": ["a", "b", "c", "d", "e"], "n": [1, 12, 10, -1, 0],
                      "place": ["torg", None, "skola", "park", "skola"]})


@pytest.fixture
def helper():
    assert ge_helper.start()
    yield
    ge_helper.stop()


def test_the_helper_validates_in_its_own_process_as_this_process_does(helper):
    assert ge_helper.call(os.getpid) not in (None, os.getpid())
    there = ge_helper.call(validate, FRAME, SUITE, {}, date(2026, 11, 28))
    here = validate(FRAME, SUITE, {}, date(2026, 11, 28))
    assert there == here
    between, not_null, in_set = there
    # by hand: 12 and -1 are outside 0..10 (10 and 0 are on the bounds); one empty place (row b); of the four
    # places given, "skola" twice is outside the set: 2 of 4 are in it, which meets mostly 0.5 (GE counts all five
    # rows as elements and judges the share on the four given)
    assert (between.success, between.unexpected_count, between.element_count, between.rows) == (False, 2, 5, ["b", "d"])
    assert (not_null.success, not_null.unexpected_count, not_null.rows) == (False, 1, ["b"])
    assert (in_set.success, in_set.unexpected_count, in_set.element_count) == (True, 2, 5)


def test_a_helper_that_died_leaves_the_validation_to_the_run(helper):
    pid = ge_helper.call(os.getpid)
    os.kill(pid, signal.SIGKILL)
    assert ge_helper.call(validate, FRAME, SUITE, {}, date(2026, 11, 28)) is None
    assert not ge_helper.running()
    assert ge_helper.call(os.getpid) is None  # stopped: nothing is sent any more
    assert ge_helper.start()  # a new one can start


def test_an_error_in_the_helper_gives_no_answer_and_the_run_raises_it_itself(helper):
    broken = Suite(feed="x", table="staging.x", row_id=["k"],
                   expectations=[{"type": "expect_no_such_thing", "column": "n"}])
    assert ge_helper.call(validate, FRAME, broken, {}, date(2026, 11, 28)) is None
    with pytest.raises(AttributeError):
        validate(FRAME, broken, {}, date(2026, 11, 28))


def test_unread_bytes_counts_the_files_not_read_as_they_are_now(tmp_path):
    home = Home(tmp_path / "home")
    (home.incoming / "crime_reports").mkdir(parents=True)
    a = home.incoming / "crime_reports" / "a.csv"
    b = home.incoming / "b.csv"
    hidden = home.incoming / "crime_reports" / ".~lock.a.csv#"
    a.write_bytes(b"x" * 100)
    b.write_bytes(b"y" * 7)
    hidden.write_bytes(b"z" * 1000)
    assert unread_bytes(None, home) == 107  # no warehouse: every file but the hidden one
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.file_stats (path VARCHAR, size BIGINT, mtime_ns BIGINT, sha256 VARCHAR)")
    st = a.stat()
    con.execute("INSERT INTO meta.file_stats VALUES (?, ?, ?, 'h')", [str(a.resolve()), st.st_size, st.st_mtime_ns])
    assert unread_bytes(con, home) == 7  # a read as it is; b not read
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert unread_bytes(con, home) == 107  # a changed since it was read


ROUTING = r"""
import json, sys
from datetime import date
import pandas as pd
from pipelines import ge_helper
from pipelines.checks.suites import run_suite
from tests.test_ge_helper import FRAME, SUITE

ge_helper.MAX_ROWS = len(FRAME)
from pipelines.changes import SMALL_REFRESH_BYTES as limit
out = {"worth": [ge_helper.worth_starting(n) for n in (0, 1, limit, limit + 1)]}
ge_helper.start()
out["at_limit"] = [o.unexpected_count for o in run_suite(FRAME, SUITE, today=date(2026, 11, 28))]
out["imported_here"] = "great_expectations" in sys.modules
bigger = pd.concat([FRAME, FRAME.iloc[:1]], ignore_index=True)
out["over_limit"] = [o.unexpected_count for o in run_suite(bigger, SUITE, today=date(2026, 11, 28))]
out["imported_after"] = "great_expectations" in sys.modules
out["worth_after"] = ge_helper.worth_starting(1)
ge_helper.stop()
print(json.dumps(out))
"""


def test_a_helper_for_few_new_bytes_takes_batches_up_to_the_row_limit():
    out = subprocess.run([sys.executable, "-c", ROUTING], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.splitlines()[-1])
    # started for new files of 1 byte up to the limit; nothing new means no new rows to validate
    assert res["worth"] == [False, True, True, False]
    assert res["at_limit"] == [2, 1, 2] and res["imported_here"] is False  # five rows: validated by the helper
    # six rows (row a twice): validated here, which imports GE here
    assert res["over_limit"] == [2, 1, 2] and res["imported_after"] is True
    assert res["worth_after"] is False  # a process that has GE validates itself


PARENT = r"""
import os, sys, time
from pipelines import ge_helper
ge_helper.start()
print(ge_helper.call(os.getpid), flush=True)
ge_helper.call(time.sleep, 600)  # the helper busy (as when importing GE or validating): it does not read its pipe
"""


def test_the_helper_dies_with_the_refresh_that_started_it():
    proc = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        pid = int(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60  # a bound, not a timing: the event (the helper gone) comes at once
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


REFRESH = r"""
import json, sys
from pipelines.home import Home
from pipelines.jobs import run_job_locked
from pipelines import ge_helper
started = []
start = ge_helper.start
ge_helper.start = lambda: started.append(1) or start()
rc = run_job_locked(Home.resolve(sys.argv[1]), "refresh", quiet_success=True)
print(json.dumps({"rc": rc, "started": len(started), "running": ge_helper.running(),
                  "imported_here": "great_expectations" in sys.modules}))
"""


def test_a_refresh_with_a_new_file_validates_it_beside_the_run_with_the_same_results(sample_home, tmp_path,
                                                                                       monkeypatch):
    import pipelines.definitions
    from pipelines.checks.suites import great_expectations
    from pipelines.jobs import run_job_locked

    great_expectations()  # this process validates itself (a helper is not started where GE is imported)
    homes = []
    for name in ("helper", "here"):
        home = tmp_path / name
        shutil.copytree(sample_home, home)
        src = sorted((home / "incoming" / "crime_reports").glob("*.csv"))[0]
        text = src.read_text(encoding="utf-8").splitlines()
        # the same file once more under another name with one row's id changed: new rows for the checks
        (home / "incoming" / "crime_reports" / "extra.csv").write_text(
            "\n".join(text[:1] + [text[1].replace(text[1].split(";")[0], "X-1", 1)]) + "\n", encoding="utf-8")
        homes.append(home)
    out = subprocess.run([sys.executable, "-c", REFRESH, str(homes[0])], cwd=REPO, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.splitlines()[-1])
    assert res == {"rc": 0, "started": 1, "running": False, "imported_here": False}
    kept = []
    real_build = pipelines.definitions.build_definitions
    monkeypatch.setattr(pipelines.definitions, "build_definitions",
                        lambda *a, **kw: kept.append(kw.get("keep_cache")) or real_build(*a, **kw))
    assert run_job_locked(Home.resolve(homes[1]), "refresh", quiet_success=True) == 0
    assert kept == [True]  # a small refresh keeps DuckDB's cache between its steps
    results = []
    for home in homes:
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        results.append([con.execute(f"SELECT * EXCLUDE (checked_at) FROM meta.{t} ORDER BY ALL").fetchall()
                        for t in ("check_results", "check_batches")])
        con.close()
    assert results[0] == results[1] and len(results[0][0]) > 10 and len(results[0][1]) > 10


def test_something_that_does_not_pickle_gives_no_answer_and_ends_the_helper(helper):
    assert ge_helper.call(lambda: 1) is None  # a local function cannot be sent
    assert not ge_helper.running()


DEAD_HELPER_IN_CLI = r"""
import os, signal
from datetime import date
from pipelines import ge_helper
from pipelines.checks.suites import run_suite
from tests.test_ge_helper import FRAME, SUITE

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as `lagesbild` sets it (so that `lagesbild ... | head` ends quietly)
ge_helper.start()
os.kill(ge_helper.call(os.getpid), signal.SIGKILL)
os.waitpid(ge_helper._helper[0].pid, 0)
print([o.unexpected_count for o in run_suite(FRAME, SUITE, today=date(2026, 11, 28))])
"""


def test_a_dead_helper_does_not_end_a_refresh_that_restored_sigpipe():
    """Writing to a helper that is gone raises an error (``MSG_NOSIGNAL``), not SIGPIPE: the CLI restores SIGPIPE's
    default action, which would kill the refresh (found: the first version wrote with ``os.write``)."""
    out = subprocess.run([sys.executable, "-c", DEAD_HELPER_IN_CLI], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    assert out.stdout.splitlines()[-1] == "[2, 1, 2]"  # validated here instead


def test_only_a_small_refresh_of_changed_feeds_keeps_the_cache(sample_home, tmp_path, monkeypatch):
    import pipelines.changes
    import pipelines.definitions
    from pipelines.changes import SMALL_REFRESH_BYTES, is_small
    from pipelines.jobs import run_job_locked
    from tests.test_ingest import crime_csv

    assert is_small(0) and is_small(SMALL_REFRESH_BYTES) and not is_small(SMALL_REFRESH_BYTES + 1)
    kept = []

    class Enough(Exception):
        pass

    def definitions(*a, **kw):
        kept.append((kw.get("changed_feeds"), kw.get("keep_cache")))
        raise Enough  # the run is not needed: only what it was asked to build with

    monkeypatch.setattr(pipelines.definitions, "build_definitions", definitions)
    home = Home(tmp_path / "h")
    shutil.copytree(sample_home, home.root)
    crime_csv(home.incoming / "crime_reports", name="ny.csv")  # a few hundred new bytes
    size = (home.incoming / "crime_reports" / "ny.csv").stat().st_size
    for limit in (size, size - 1):  # at the limit: small; one byte under the new file: not small
        monkeypatch.setattr(pipelines.changes, "SMALL_REFRESH_BYTES", limit)
        with pytest.raises(Enough):
            run_job_locked(home, "refresh", quiet_success=True)
    first = Home(tmp_path / "first")  # no warehouse yet: everything runs, however small the files
    (first.incoming / "crime_reports").mkdir(parents=True)
    crime_csv(first.incoming / "crime_reports")
    with pytest.raises(Enough):
        run_job_locked(first, "refresh", quiet_success=True)
    assert kept == [(["crime_reports"], True), (["crime_reports"], False), (None, False)]


def test_the_helpers_warm_up_is_a_real_validation():
    """The helper validates two made-up rows while it waits for the run's first batch (GE's first validation in a
    process sets GE up): by hand, GE's in-set leaves the empty value out, the empty value is one of two (at mostly
    0,5: passes), and 2 is above 1."""
    in_set, not_null, between = ge_helper.warm_up()
    assert (in_set.success, in_set.unexpected_count) == (True, 0)  # GE's in-set does not count an empty value
    assert (not_null.success, not_null.unexpected_count, not_null.rows) == (True, 1, ["b"])
    assert (between.success, between.unexpected_count, between.rows) == (False, 1, ["b"])
