"""Shared fixtures. The expensive one (a refreshed sample home) is built once per test session."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL = SHARED / "data" / "real"


def requires_shared(*parts: str) -> Path:
    """Path inside ../shared/data/real, or skip with the reason (a newcomer's clone has no ../shared)."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (../shared is beside the repo in CI, absent in a fresh clone)")
    return path


def real_warehouse(path: Path, files: list[Path]):
    """A warehouse at ``path`` with reference and plan tables, ``files`` ingested (feed and profile recognised from
    the headers) and every model built: what a refresh makes of them, without Dagster. Returns (connection,
    ingest results)."""
    from pipelines.models import run_all
    from sources.agreements import load_folder
    from sources.agreements.warehouse import load_plan_tables
    from sources.ingest import ensure_schema, ingest_paths
    from sources.taxonomy import load_reference_tables

    con = duckdb.connect(str(path))
    ensure_schema(con)
    load_reference_tables(con)
    load_plan_tables(con, load_folder())
    results = ingest_paths(con, files)
    run_all(con)
    return con, results


def run_cli(*args: str) -> int:
    from pipelines.cli import main

    return main(list(args))


SMALL = ("--scale", "0.05", "--first-year", "2025", "--municipalities", "0486")   # 2025-01 .. 2026-09, 5 %


def refreshed_home(tmp_path_factory, target: Path, *sample_args: str) -> Path:
    """A private copy at ``target`` of a home that ran ``lagesbild sample *sample_args`` and ``lagesbild refresh``.

    The home is built once per test run, however many pytest-xdist workers ask for it (the first builds it under a
    file lock in the run's shared temporary folder, the others wait and copy): the same deterministic sample and
    refresh each test used to run itself. A copy keeps the relative links to the published version; the tests that
    copy a home already relied on that (a copied home refreshes and publishes as the original)."""
    import fcntl
    import os
    import shutil

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by its workers (each has its own basetemp below it)
    name = "built-" + "_".join(a.strip("-") for a in sample_args).replace("/", "-")
    built = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / ".built").exists():
            shutil.rmtree(built, ignore_errors=True)
            assert run_cli("--home", str(built), "sample", *sample_args) == 0
            assert run_cli("--home", str(built), "refresh") == 0
            (built / ".built").touch()
    shutil.copytree(built, target, symlinks=True)
    (target / ".built").unlink()
    return target


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory) -> Path:
    """A home with a small sample (2024-01 .. 2026-09, 10 % volume), ingested and refreshed once (a copy per
    worker: tests publish packs into it)."""
    return refreshed_home(tmp_path_factory, tmp_path_factory.mktemp("home") / "home", "--scale", "0.1",
                          "--first-year", "2024", "--municipalities", "0486")


@pytest.fixture
def warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield con
    con.close()


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table, leaving out meta.file_stats (a cache of file hashes by path/size/mtime, not data)."""
    rows = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT (schema_name = 'meta' AND "
                       "table_name = 'file_stats') ORDER BY 1, 2").fetchall()
    return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in rows}
