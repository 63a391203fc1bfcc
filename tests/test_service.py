"""Running it like a service: municipality × quarter partitions, incremental refreshes, backfills, batched quality
checks, the multiprocess executor and the national benchmark at a reduced scale (issue #7)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.home import Home
from tests.conftest import REPO, SMALL, refreshed_home, run_cli
from tests.test_ingest import crime_csv

CLI = [sys.executable, "-m", "pipelines.cli"]


@pytest.fixture(scope="module")
def base_home(tmp_path_factory) -> Path:
    return refreshed_home(tmp_path_factory, tmp_path_factory.mktemp("svc") / "home", *SMALL)


@pytest.fixture
def home(base_home, tmp_path) -> Path:
    """A private copy of the refreshed sample home (relative links to the published version are kept)."""
    target = tmp_path / "home"
    shutil.copytree(base_home, target, symlinks=True)
    return target


def _q(home: Path, sql: str, params=None):
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _partition_sum(home: Path, year: int, quarter: int, code: str = "0486"):
    return _q(home, "SELECT sum(crimes) FROM marts.crime_by_quarter WHERE municipality_code = ? AND year = ? "
                    "AND quarter = ?", [code, year, quarter])[0][0]


def _tamper(home: Path, year: int, quarter: int) -> None:
    _q(home, "UPDATE marts.crime_by_quarter SET crimes = crimes + 1000 WHERE municipality_code = '0486' "
             "AND year = ? AND quarter = ?", [year, quarter])


def test_partitions_are_municipality_by_quarter_from_reference_data_or_the_deployment(tmp_path):
    from pipelines.partitions import Deployment, PartitionError, partitions_def, quarter_label

    keys = partitions_def(Deployment.load()).get_partition_keys()
    municipalities = {k.split("|")[0] for k in keys}
    assert len(municipalities) == 290 and "0486" in municipalities
    assert keys[0] == "0114|2016-01-01" and quarter_label("2026-07-01") == "2026-Q3"
    (tmp_path / "deployment.yaml").write_text("municipalities: ['0486', 484]\nfirst_quarter: 2024-Q1\n")
    county = Deployment.load(Home(tmp_path))
    assert county.municipalities == ("0484", "0486")
    assert len(partitions_def(county).get_partition_keys()) % 2 == 0
    (tmp_path / "deployment.yaml").write_text("municipalities: ['9999']\n")
    with pytest.raises(PartitionError, match="okända kommunkoder 9999"):
        Deployment.load(Home(tmp_path))


def test_kept_partition_keys_follow_the_quarters_as_dagster_lists_them():
    """The keys are kept between steps (pipelines/partitions.py) but must change when a quarter begins: each
    answer equals a plain MultiPartitionsDefinition's at the same time, on each side of a quarter's start."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipelines.partitions import Deployment, partitions_def

    kept = partitions_def(Deployment(("0484", "0486"), "2025-Q1"))
    plain = dg.MultiPartitionsDefinition({d.name: d.partitions_def for d in kept.partitions_defs})
    sthlm = ZoneInfo("Europe/Stockholm")
    before, after = datetime(2026, 9, 30, 23, 59, tzinfo=sthlm), datetime(2026, 10, 1, 0, 1, tzinfo=sthlm)
    for when in (before, after, before):
        assert kept.get_partition_keys(current_time=when) == plain.get_partition_keys(current_time=when)
    # by hand: on 30 September 2025-Q1 … 2026-Q2 are complete (6) plus the running 2026-Q3 (end_offset=1) = 7;
    # from 1 October 2026-Q3 is complete and 2026-Q4 runs = 8
    assert len(kept.get_partition_keys(current_time=before)) == 2 * 7
    assert len(kept.get_partition_keys(current_time=after)) == 2 * 8
    assert kept.get_partition_keys(current_time=after)[-1] == "0486|2026-10-01"
    # kept per process, not per object: Dagster steps work on copies of the definition
    again = partitions_def(Deployment(("0484", "0486"), "2025-Q1"))
    assert again.get_partition_keys(current_time=after) is kept.get_partition_keys(current_time=after)


def test_materializing_one_partition_rebuilds_that_partition_only(home):
    from pipelines.definitions import build_definitions

    truth = _partition_sum(home, 2025, 2)
    _tamper(home, 2025, 2)
    _tamper(home, 2025, 3)
    other = _partition_sum(home, 2025, 3)
    defs = build_definitions(Home(home))
    asset = defs.resolve_assets_def(dg.AssetKey(["marts", "crime_by_quarter"]))
    result = dg.materialize([asset], partition_key="0486|2025-04-01",
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    mat = result.asset_materializations_for_node(result.all_node_events[0].node_name)[0]
    assert mat.partition == "0486|2025-04-01" and mat.metadata["mode"].value == "partitions"
    assert _partition_sum(home, 2025, 2) == truth          # rebuilt from raw
    assert _partition_sum(home, 2025, 3) == other          # not touched


def test_a_new_quarter_file_rebuilds_only_its_partitions_and_its_municipality_page(home, capsys):
    site = home / "site"  # a copy of the run's refreshed home: it knows its files in the new folder
    page_before = os.stat(site / "lagesbild-0486.html").st_ino
    _tamper(home, 2025, 3)  # a partition the new file does not touch must stay as it is
    tampered = _partition_sum(home, 2025, 3)
    rows = [f"5000-K{j:03d}-26;1;9301;2026-02-0{1 + j};2026-02-01;0484;;1" for j in range(4)]
    before = len([p for p in (home / "incoming" / "crime_reports").iterdir() if not p.name.startswith(".")])
    crime_csv(home / "incoming" / "crime_reports", rows=rows, name="brott_0484_2026.csv")
    capsys.readouterr()
    assert run_cli("--home", str(home), "refresh") == 0  # in this process: the output as a coordinator reads it
    out = capsys.readouterr().out
    # the new file has its line; the files read before are one line together, not one each
    assert f"[1/{before + 1}] inläst  brott_0484_2026.csv" in out and "oförändrad  " not in out
    assert f"{before} av {before + 1} filer oförändrade sedan de lästes in" in out
    assert "Nya eller ändrade filer i: crime_reports\n" in out  # only what crime files affect runs …
    assert "Modell marts.crime_by_quarter: 1 partitioner" in out  # … and of that, one partition
    assert "est_by_quarter" not in out and "Modell marts.rates_by_year" in out
    assert "Referensdata:" not in out and "Överenskommelser:" not in out  # project files, unchanged: not reloaded
    assert _partition_sum(home, 2025, 3) == tampered
    assert _partition_sum(home, 2026, 1, "0484") == 4
    manifest = json.loads((site / "publicering.json").read_text(encoding="utf-8"))
    assert manifest["totals"]["0484"]["crime_by_quarter"] == 4
    assert os.stat(site / "lagesbild-0486.html").st_ino == page_before  # kept (hard link), not rebuilt
    assert (site / "lagesbild-0484.html").exists()
    # `refresh --full` rebuilds everything from raw, which also repairs the tampered partition
    assert run_cli("--home", str(home), "refresh", "--full") == 0
    assert "Referensdata:" in capsys.readouterr().out
    assert _partition_sum(home, 2025, 3) == tampered - 1000 * len(
        _q(home, "SELECT 1 FROM marts.crime_by_quarter WHERE municipality_code = '0486' AND year = 2025 AND quarter = 3"))


def test_backfill_a_range_from_the_cli(home, capsys):
    truth = {q: _partition_sum(home, 2025, q) for q in (1, 2, 3, 4)}
    for q in (2, 3, 4):
        _tamper(home, 2025, q)
    assert run_cli("--home", str(home), "backfill", "--municipality", "0486", "--from", "2025-Q2", "--to", "2025-Q3") == 0
    assert _partition_sum(home, 2025, 2) == truth[2] and _partition_sum(home, 2025, 3) == truth[3]
    assert _partition_sum(home, 2025, 4) != truth[4]  # outside the range
    assert run_cli("--home", str(home), "backfill", "--from", "2025-Q4", "--to", "2025-Q1") == 2
    assert "2025-Q4 ligger efter 2025-Q1" in capsys.readouterr().err
    assert run_cli("--home", str(home), "backfill", "--from", "2025-Q5", "--to", "2025-Q1") == 2
    assert "är inte ett kvartal" in capsys.readouterr().err
    assert run_cli("--home", str(home / "ny"), "backfill", "--from", "2025-Q1", "--to", "2025-Q2") == 2
    assert "Kör `lagesbild refresh` först" in capsys.readouterr().err


def test_quality_checks_in_batches_give_the_same_results_and_only_new_files_are_validated(home, monkeypatch):
    import pipelines.checks.evaluation as checks
    from sources.expectations import load_suite

    from sources.ingest import ingest_file

    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        unknown_area = ["5000-K9-26;1;9301;2026-02-01;2026-02-01;0484;0484-99;1"]  # fails a warning check
        ingest_file(con, crime_csv(home, rows=unknown_area, name="okant_omrade.csv"), feed="crime_reports")
        suite = load_suite("crime_reports")
        whole = [(o.expectation, o.column, o.success, o.unexpected_count, o.element_count)
                 for o in checks.evaluate(con, suite, "warn")]
        batches = con.execute("SELECT count(DISTINCT batch) FROM meta.check_batches WHERE feed = 'crime_reports' "
                              "AND severity = 'warn'").fetchall()[0][0]
        con.execute("DELETE FROM meta.check_batches")
        monkeypatch.setattr(checks, "BATCH_ROWS", 50)  # one file per batch
        small = [(o.expectation, o.column, o.success, o.unexpected_count, o.element_count)
                 for o in checks.evaluate(con, suite, "warn")]
        assert small == whole and any(not s for _, _, s, _, _ in whole)  # includes a failing (warning) check
        n_files = con.execute("SELECT count(DISTINCT source_sha256) FROM staging.stg_crime_reports").fetchall()[0][0]
        assert con.execute("SELECT count(DISTINCT batch) FROM meta.check_batches WHERE feed = 'crime_reports' "
                           "AND severity = 'warn'").fetchall()[0][0] == n_files > batches
        # nothing new: nothing is validated again
        monkeypatch.setattr(checks, "run_suite", lambda *a, **k: pytest.fail("validated again"))
        checks.evaluate(con, suite, "warn")
    finally:
        con.close()


def test_a_duplicate_across_files_fails_the_blocking_uniqueness_check_naming_the_key(home, capsys):
    rows = ["5000-K1-26;1;9301;2026-02-01;2026-02-01;0484;;1"]
    crime_csv(home / "incoming" / "crime_reports", rows=rows, name="a.csv")
    crime_csv(home / "incoming" / "crime_reports", rows=rows + ["5000-K2-26;1;9301;2026-03-01;2026-03-01;0484;;1"],
              name="b.csv")  # another scope (adds 2026-03) but the same report 5000-K1-26 again (2026-02 replaced)
    rows2 = ["5000-K1-26;1;9301;2026-04-01;2026-04-01;0480;;1"]  # same key, other municipality: a real duplicate
    crime_csv(home / "incoming" / "crime_reports", rows=rows2, name="c.csv")
    capsys.readouterr()
    assert run_cli("--home", str(home), "refresh") == 1
    assert "crime_reports_blocking" in capsys.readouterr().out
    detail = _q(home, "SELECT detail, rows FROM meta.check_results WHERE feed = 'crime_reports' "
                      "AND expectation = 'expect_compound_columns_to_be_unique'")[0]
    assert "2 av" in detail[0] and "5000-K1-26 | 1" in detail[1]
    # a steward opening the Dagster UI on this home sees both refreshes and the failed check, with its rows
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    runs = instance.get_runs()  # newest first
    assert [r.job_name for r in runs] == ["refresh_changed", "refresh"]  # this one, then the fixture's
    key = dg.AssetCheckKey(dg.AssetKey(["staging", "stg_crime_reports"]), "crime_reports_blocking")
    record = instance.get_latest_asset_check_evaluation_record(key)
    assert record.run_id == runs[0].run_id
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed is False and "5000-K1-26 | 1" in str(evaluation.metadata["offending_rows"].value)


def test_a_partition_runs_under_the_multiprocess_executor_one_step_per_process(home, tmp_path):
    """Step isolation (what a Kubernetes or Celery executor needs): each step in its own process, state only in
    the warehouse. Run by the `dagster` command line like a deployment would."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    truth = _partition_sum(home, 2025, 2)
    _tamper(home, 2025, 2)
    env = {**os.environ, "LAGESBILD_HOME": str(home), "LAGESBILD_EXECUTOR": "multiprocess",
           "DAGSTER_HOME": str(dagster_home), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                          "pipelines.definitions", "--select", "ref/reference,marts/crime_by_quarter",
                          "--partition", "0486|2025-04-01"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert "multiprocess executor" in log and log.count("Launching subprocess") == 2
    assert _partition_sum(home, 2025, 2) == truth


def test_bench_runs_at_a_reduced_scale(tmp_path):
    """The smoke test of `lagesbild bench`: full refresh, the plain DuckDB floor, an incremental refresh."""
    out = subprocess.run(CLI + ["bench", "--scale", "0.0005", "--municipalities", "6", "--years", "2", "--no-demo",
                                "--runs", "1", "--dir", str(tmp_path / "bench")], cwd=REPO, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert "marts agree with the floor: yes" in text
    assert "ratio full refresh / floor:" in text and "peak RSS" in text
    assert "incremental refresh (municipality" in text
    assert "Modell marts.crime_by_quarter: 1 partitioner" in text
    assert "make demo not run (--no-demo) [<= 15] | make test not run (--with-tests) [<= 240]" in text


TREE = r"""
import os, sys
block = bytearray(int(sys.argv[1]) << 20)
block[::4096] = b"x" * len(block[::4096])   # touched: resident, not shared
r, w = os.pipe()
if os.fork() == 0:
    mine = bytearray(int(sys.argv[1]) << 20)
    mine[::4096] = b"y" * len(mine[::4096])
    os.write(w, b"1")
    sys.stdin.read()
    os._exit(0)
os.read(r, 1)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc")
def test_the_bench_counts_the_memory_of_a_process_and_its_workers_together():
    from pipelines.bench_national import tree_pss_mb

    proc = subprocess.Popen([sys.executable, "-c", TREE, "150"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"  # both processes hold their 150 MB now
        whole = tree_pss_mb(proc.pid)
        with open(f"/proc/{proc.pid}/smaps_rollup", encoding="ascii") as fh:
            parent = next(int(line.split()[1]) for line in fh if line.startswith("Pss:")) / 1024
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    # by hand: the parent's 150 MB are shared with the forked child (PSS counts half in each: 75 + 75), the child's
    # own 150 MB are its alone; so the parent holds at least 75 MB, the child at least 225 MB, the tree at least 300
    assert parent >= 75
    assert whole - parent >= 225 and whole >= 300
    assert tree_pss_mb(proc.pid) == 0  # reaped: nothing left


def test_the_bench_times_the_commands_of_the_makefiles_demo_recipe(tmp_path):
    from pipelines.bench_national import demo_commands

    # the project's Makefile, read by hand: sample, refresh, publish of the BRÅ pack
    assert demo_commands() == [["sample"], ["refresh"],
                               ["publish", "--meeting", "bra", "--period", "2026-Q3", "--municipality", "0486"]]
    made = tmp_path / "Makefile"
    made.write_text("demo: install\n\t$(BIN)/lagesbild sample --municipalities 0486\n\techo hej\n\n"
                    "test:\n\t$(BIN)/lagesbild refresh\n", encoding="utf-8")
    assert demo_commands(made) == [["sample", "--municipalities", "0486"]]  # the recipe ends at its first blank line
    made.write_text("demo:\n\techo ingen\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no lagesbild command in the demo recipe"):
        demo_commands(made)


def test_the_bench_runs_the_suite_with_the_makefiles_test_arguments(tmp_path):
    from pipelines.bench_national import pytest_arguments

    assert pytest_arguments() == ["-n", "auto", "--dist", "worksteal"]  # the project's Makefile, read by hand
    made = tmp_path / "Makefile"
    made.write_text("test: install\n\t$(BIN)/python -m pytest -x tests/test_ingest.py\n\ndemo:\n"
                    "\t$(BIN)/python -m pytest -n 4\n", encoding="utf-8")
    assert pytest_arguments(made) == ["-x", "tests/test_ingest.py"]  # the test recipe's, not another target's
    made.write_text("test:\n\techo ingen\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no `python -m pytest` in the test recipe"):
        pytest_arguments(made)


@pytest.fixture
def site_data(base_home):
    """What the refreshed sample home publishes, read from its snapshot as a page build reads it."""
    from dashboards.data import load_site_data

    con = duckdb.connect(str(Home(base_home).snapshot), read_only=True)
    try:
        return load_site_data(con)
    finally:
        con.close()


def test_pages_built_by_parallel_workers_are_the_same_as_built_one_by_one(site_data, tmp_path, monkeypatch):
    import dashboards.site as site_mod
    from sources.policy import load_policy

    data = site_data
    site_mod.build_site(data, tmp_path / "one", load_policy())
    monkeypatch.setattr(site_mod, "PARALLEL_MIN_PAGES", 1)
    import sources.workers as workers_mod

    monkeypatch.setattr(workers_mod.os, "cpu_count", lambda: 2)  # also on a one-CPU machine
    import concurrent.futures

    pools = []

    class CountingPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountingPool)
    site_mod.build_site(data, tmp_path / "many", load_policy())
    assert pools  # the pages were really built by worker processes
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(tmp_path / "many") for p in (tmp_path / "many").rglob("*")
                                     if p.is_file())
    for f in files:
        if f.suffix == ".html" or f.name == "publicering.json":
            assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "many" / f).read_bytes(), f


@pytest.mark.parametrize("pages,in_workers", [(2, False), (3, True)])  # PARALLEL_MIN_PAGES: 3
def test_pages_go_to_worker_processes_from_three_pages(site_data, tmp_path, monkeypatch, pages, in_workers):
    import concurrent.futures

    import dashboards.site as site_mod
    import sources.workers as workers_mod
    from sources.policy import load_policy

    monkeypatch.setattr(workers_mod.os, "cpu_count", lambda: 2)  # also on a one-CPU machine
    pools = []

    class CountingPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", CountingPool)
    todo = [("0486", "Strängnäs")] * pages  # the same page again: only how many there are matters here
    built = site_mod._build_pages(site_data, todo, tmp_path, load_policy(), "2026-11-28", [])
    assert len(built) == pages and bool(pools) is in_workers
    assert (tmp_path / "lagesbild-0486.html").exists()


def test_each_template_is_compiled_once_however_many_pages_use_it(site_data, tmp_path, monkeypatch):
    """Compiling municipality.html (with its base and macros) was a third of each page's build when every page made
    its own Jinja environment: the pages of one process share one, and Jinja compiles a template once in it (two
    builds here, each with a municipality page: one compilation, the same bytes)."""
    import jinja2

    import dashboards.render as render_mod
    import dashboards.site as site_mod
    from sources.policy import load_policy

    data = site_data
    compiled = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setattr(site_mod, "PARALLEL_MIN_PAGES", 10**6)  # every page in this process
    getattr(render_mod.jinja_env, "cache_clear", lambda: None)()  # start from no compiled template
    first = site_mod.build_site(data, tmp_path / "first", load_policy())
    second = site_mod.build_site(data, tmp_path / "second", load_policy())  # e.g. the pack's publish after a refresh
    assert [p for p in first.pages if p.startswith("lagesbild-")] == ["lagesbild-0486.html"] == \
        [p for p in second.pages if p.startswith("lagesbild-")]
    assert (tmp_path / "first" / "lagesbild-0486.html").read_bytes() == \
        (tmp_path / "second" / "lagesbild-0486.html").read_bytes()
    assert compiled.count("municipality.html") == 1 and compiled.count("base.html") == 1


def test_a_file_loaded_outside_a_refresh_is_picked_up_by_the_next_refresh(home, tmp_path, capsys):
    rows = [f"5000-K{j:03d}-26;1;9301;2026-03-0{1 + j};2026-03-01;0484;;1" for j in range(3)]
    path = crime_csv(tmp_path, rows=rows, name="brott_hand.csv")  # not in incoming/: loaded by hand
    assert run_cli("--home", str(home), "ingest", str(path)) == 0
    capsys.readouterr()
    assert run_cli("--home", str(home), "refresh") == 0
    assert "Nya eller ändrade filer i: crime_reports\n" in capsys.readouterr().out
    con = duckdb.connect(str(Home(home).snapshot), read_only=True)
    try:
        assert con.execute("SELECT sum(crimes) FROM marts.crime_by_quarter WHERE municipality_code = '0484' "
                           "AND year = 2026 AND quarter = 1").fetchall()[0][0] == 3
    finally:
        con.close()


def test_one_warehouse_connection_per_run_isolates_steps_and_gives_memory_back(tmp_path):
    """pipelines/resources.WarehouseResource: steps share the open file, not their temporary tables or
    transactions; after each step DuckDB's buffer cache is emptied and the memory limit is what it was."""
    from pipelines.resources import WarehouseResource

    db = tmp_path / "w.duckdb"
    seed = duckdb.connect(str(db))
    # hashes do not compress: 3 M rows × 2 BIGINT ≈ 48 MB of blocks
    seed.execute("CREATE TABLE t AS SELECT range AS x, hash(range) AS y FROM range(3000000)")
    seed.close()
    res = WarehouseResource(database=str(db))

    def cached_mb(con) -> float:
        return con.execute("SELECT sum(memory_usage_bytes) / 1e6 FROM duckdb_memory()").fetchall()[0][0]

    with res.get_connection() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        # every value of y is read (each is even or odd): 3 M; the sum of 0 … 2 999 999 by hand
        assert con.execute("SELECT sum(x), count(*) FILTER (y % 2 = 0) + count(*) FILTER (y % 2 = 1) FROM t"
                           ).fetchall()[0] == (2999999 * 3000000 // 2, 3000000)
        assert cached_mb(con) > 10  # the table's blocks are in the cache
        con.execute("CREATE TEMP TABLE mine AS SELECT 1 AS a")
        con.begin()
        con.execute("INSERT INTO t VALUES (-1, 0)")  # left uncommitted when the step ends
    anchor = res._anchor
    assert anchor is not None
    assert cached_mb(anchor) < 2
    assert anchor.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == limit
    with res.get_connection() as con:
        assert res._anchor is anchor  # the same open database
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'mine'").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM t WHERE x = -1").fetchall()[0][0] == 0
    res.close_warehouse()
    assert res._anchor is None
    duckdb.connect(str(db), read_only=True).close()  # the file is free for a reader with another configuration
    # a small refresh keeps the cache from step to step (its steps read the same tables again)
    kept = WarehouseResource(database=str(db), keep_cache=True)
    with kept.get_connection() as con:
        con.execute("SELECT sum(x), sum(y % 2) FROM t").fetchall()
    assert cached_mb(kept._anchor) > 10
    kept.close_warehouse()


def test_the_event_log_keeps_its_connections_for_the_run_and_closes_them_with_the_instance(tmp_path):
    """pipelines/jobs.reuse_event_log_engines: the home's instance stores events through kept connections (one
    per database), Dagster's own storage reads back every event it wrote, and closing the instance closes them."""
    import os

    from pipelines.jobs import dagster_instance

    home = Home(tmp_path / "h")

    @dg.asset
    def one() -> int:
        return 1

    @dg.asset_check(asset=one)
    def fine() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    def open_databases() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(str(home.dagster)) and target.endswith(".db"):
                found.append(os.path.basename(target))
        return sorted(found)

    with dagster_instance(home) as instance:
        assert "_connect" in vars(instance.event_log_storage)  # Dagster 1.13's internals as expected: kept on
        runs = [dg.materialize([one, fine], instance=instance) for _ in range(2)]
        assert all(r.success for r in runs)
        # the index and each run's own database, kept open (a connection per database and thread that wrote to it,
        # not one per event: each run stored ≈ 20 events)
        held, databases = open_databases(), {"index.db"} | {f"{r.run_id}.db" for r in runs}
        assert set(held) == databases and len(held) <= 2 * len(databases), held
        written = [[e.dagster_event.event_type_value for e in instance.all_logs(r.run_id) if e.dagster_event]
                   for r in runs]
        with dg.DagsterInstance.from_config(str(home.dagster)) as plain:  # Dagster's own storage, as the UI reads
            assert "_connect" not in vars(plain.event_log_storage)
            read = [[e.dagster_event.event_type_value for e in plain.all_logs(r.run_id) if e.dagster_event]
                    for r in runs]
            assert plain.get_latest_materialization_event(dg.AssetKey("one")).run_id == runs[1].run_id
    assert read == written and {"ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "STEP_SUCCESS"} <= set(read[0])
    assert open_databases() == []


def test_a_file_dropped_directly_in_incoming_is_read_under_the_feed_its_headers_name(home, capsys):
    """A coordinator who drops an export in incoming/ instead of its feed's folder: the refresh (its asset
    raw/incoming_loose, before every feed's raw asset, so a run from the Dagster UI or sensor does the same) reads it
    as `lagesbild ingest` would (the feed recognised by its headers), and a file no feed recognises is rejected and
    listed; the next refresh finds nothing new (the files are known: no full run, nothing read again)."""
    rows = [f"5000-L{j:03d}-26;1;9301;2026-05-0{1 + j};2026-05-01;0484;;1" for j in range(2)]
    crime_csv(home / "incoming", rows=rows, name="brott_lost.csv")  # not in incoming/crime_reports/
    (home / "incoming" / "okand.csv").write_text("Vad;Som;Helst\n1;2;3\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli("--home", str(home), "refresh") == 0
    out = capsys.readouterr().out
    assert "2 fil(er) direkt i incoming/" in out and "inläst  brott_lost.csv (crime_reports" in out
    assert "AVVISAD" in out
    assert _partition_sum(home, 2026, 2, "0484") == 2  # in the published marts' source
    assert dict(_q(home, "SELECT file_name, status FROM meta.files WHERE file_name IN ('brott_lost.csv', "
                         "'okand.csv')")) == {"brott_lost.csv": "loaded", "okand.csv": "rejected"}
    assert run_cli("--home", str(home), "refresh") == 0
    out = capsys.readouterr().out
    assert "Nya eller ändrade filer i: inga flöden" in out and "inläst  brott_lost.csv" not in out
    assert _partition_sum(home, 2026, 2, "0484") == 2


def test_a_job_turns_the_garbage_collector_off_only_until_its_run_starts(home, monkeypatch):
    """A job's process builds Dagster's definitions with Python's cyclic collector off and sets what that made
    aside before the run (``pipelines/startup.py``); whatever happens, the collector is on afterwards."""
    import gc

    from pipelines import jobs, startup

    seen = []

    def failing(*args, **kwargs):
        seen.append(gc.isenabled())
        raise RuntimeError("a run that fails before it starts")

    monkeypatch.setattr(jobs, "_execute", failing)
    with pytest.raises(RuntimeError):
        jobs.run_job_locked(Home.resolve(str(home)), "refresh")
    assert seen == [False] and gc.isenabled()

    gc.unfreeze()  # as a fresh process: nothing set aside yet
    with startup.paused():
        assert not gc.isenabled()
        startup.collect_from_here()
        frozen = gc.get_freeze_count()
        assert gc.isenabled() and frozen > 0
    with startup.paused():
        kept = [[i] for i in range(1000)]  # 1 001 objects made after the first command's start
        startup.collect_from_here()  # a second command in the same process sets nothing more aside
        # (the count of set-aside objects falls as some of them are freed; freezing again would add these 1 001)
        assert gc.isenabled() and gc.get_freeze_count() <= frozen and kept
    gc.disable()
    with startup.paused():
        pass
    assert not gc.isenabled()  # off before: off after
    gc.enable()
