"""The warehouse's bookkeeping: every table of the ``meta`` schema, and the two ways code changes the warehouse.

* :data:`META_DDL` / :func:`ensure_meta` — all ``meta`` tables (files, loads, quarantine, revisions, pending
  partitions, check results, batches and state, model state, code state). No other module creates a ``meta`` table.
* :func:`transaction` — ``with transaction(con):`` commits when the block ends and rolls back on any exception
  (the exception propagates). Every multi-statement change of the warehouse goes through it.
* :func:`registered` — ``with registered(con, "_name", frame):`` makes a pandas frame readable by SQL for the
  block. Inside a long transaction use :func:`run_with_frame` instead: DuckDB keeps registered frames alive until
  the transaction ends.
* :func:`manifest` / :func:`quarantine` — the reads a coordinator asks for (also on a read-only connection).
* :func:`file_key` / :func:`relocate_file_paths` — how ``meta.files`` and ``meta.file_stats`` name a file: relative
  to the warehouse's folder when it lies there (a home moved or copied elsewhere still knows its files), else
  absolute.
* :func:`code_state` / :func:`save_code_state` — the fingerprint of the code and configuration the last complete
  refresh was built with, and the last load it saw (``meta.code_state``, one row).
"""
from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from sources.db import run

META_DDL = [
    "CREATE SCHEMA IF NOT EXISTS meta",
    # one row per (file content, path): its verdict and counts (the manifest)
    """CREATE TABLE IF NOT EXISTS meta.files (
        sha256 VARCHAR NOT NULL, path VARCHAR NOT NULL, file_name VARCHAR NOT NULL, feed VARCHAR,
        profile VARCHAR, format VARCHAR, received_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
        rows_read BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,
        masked_values BIGINT NOT NULL, message VARCHAR, info VARCHAR, PRIMARY KEY (sha256, path))""",
    # a sequence number per loaded file: what a refresh has not yet seen
    """CREATE TABLE IF NOT EXISTS meta.loads (
        seq BIGINT NOT NULL, feed VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL)""",
    # size and modification time of files read from incoming/ (tells a changed file without hashing it)
    """CREATE TABLE IF NOT EXISTS meta.file_stats (
        path VARCHAR PRIMARY KEY, size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, sha256 VARCHAR NOT NULL)""",
    # municipality × quarter partitions touched by loads, for partitioned models to rebuild
    """CREATE TABLE IF NOT EXISTS meta.pending_partitions (
        id BIGINT NOT NULL, feed VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, municipality_code VARCHAR NOT NULL,
        year INTEGER NOT NULL, quarter INTEGER NOT NULL, recorded_at TIMESTAMP NOT NULL)""",
    # one row per rejected cell (a row with two bad cells has two rows here, one row number)
    """CREATE TABLE IF NOT EXISTS meta.quarantine (
        sha256 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, feed VARCHAR NOT NULL, row_number BIGINT NOT NULL,
        column_name VARCHAR NOT NULL, raw_value VARCHAR, reason VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS meta.revisions (
        sha256 VARCHAR NOT NULL, replaced_sha256 VARCHAR NOT NULL, feed VARCHAR NOT NULL, scope VARCHAR NOT NULL,
        rows_removed BIGINT NOT NULL, revised_at TIMESTAMP NOT NULL)""",
    # the quality checks: summed results per expectation, and the per-batch results they are summed from
    """CREATE TABLE IF NOT EXISTS meta.check_results (
        feed VARCHAR NOT NULL, severity VARCHAR NOT NULL, expectation VARCHAR NOT NULL, column_name VARCHAR NOT NULL,
        success BOOLEAN NOT NULL, unexpected_count BIGINT NOT NULL, element_count BIGINT NOT NULL, detail VARCHAR,
        rows VARCHAR, checked_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS meta.check_batches (
        feed VARCHAR NOT NULL, severity VARCHAR NOT NULL, version VARCHAR NOT NULL, batch VARCHAR NOT NULL,
        files VARCHAR NOT NULL, expectation VARCHAR NOT NULL, column_name VARCHAR NOT NULL, success BOOLEAN NOT NULL,
        unexpected_count BIGINT NOT NULL, element_count BIGINT NOT NULL, examples VARCHAR NOT NULL,
        rows VARCHAR NOT NULL, checked_at TIMESTAMP NOT NULL)""",
    # per uniqueness expectation: the files it was last checked on and what it found (pipelines/checks/uniqueness.py)
    """CREATE TABLE IF NOT EXISTS meta.check_state (
        feed VARCHAR NOT NULL, severity VARCHAR NOT NULL, expectation VARCHAR NOT NULL, column_name VARCHAR NOT NULL,
        files VARCHAR NOT NULL, unexpected_count BIGINT NOT NULL, element_count BIGINT NOT NULL, groups VARCHAR NOT NULL,
        checked_at TIMESTAMP NOT NULL)""",
    # the plausible-volume check's counts per file, month and group (pipelines/checks/monthly.py)
    """CREATE TABLE IF NOT EXISTS meta.check_monthly (
        feed VARCHAR NOT NULL, counts VARCHAR NOT NULL, version VARCHAR NOT NULL, file VARCHAR NOT NULL,
        month TIMESTAMP, grp VARCHAR,
        n DOUBLE NOT NULL)""",
    # per partitioned model: the SQL version it was built from and the pending-partition id it has caught up to
    """CREATE TABLE IF NOT EXISTS meta.model_state (
        model VARCHAR PRIMARY KEY, code_version VARCHAR NOT NULL, pending_done BIGINT NOT NULL,
        built_at TIMESTAMP NOT NULL)""",
    # the last complete refresh: the fingerprint of code and configuration, and the last load it saw
    """CREATE TABLE IF NOT EXISTS meta.code_state (
        fingerprint VARCHAR NOT NULL, loads_seen BIGINT NOT NULL, refreshed_at TIMESTAMP NOT NULL)""",
]

# before meta.code_state, the fingerprint was a row of meta.model_state under this name
_OLD_CODE_ROW = "(code and configuration)"


# the table each statement after the schema's creates
_META_TABLES = [ddl.split("meta.", 1)[1].split(" ", 1)[0].split("(", 1)[0] for ddl in META_DDL[1:]]


def ensure_meta(con) -> None:
    """Create the ``meta`` tables that are missing (idempotent). One catalogue query first, then only the missing
    statements: each is a catalogue write, and issuing all of them cost ≈ 8 ms a call, ≈ 60 calls a refresh."""
    have = {r[0] for r in run(con, "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                                   "AND schema_name = 'meta'")}
    if not have:
        run(con, META_DDL[0])
    for table, ddl in zip(_META_TABLES, META_DDL[1:]):
        if table not in have:
            run(con, ddl)
    if "model_state" in have and run(con, "SELECT 1 FROM meta.model_state WHERE model = ?", [_OLD_CODE_ROW]):
        run(con, "DELETE FROM meta.model_state WHERE model = ?", [_OLD_CODE_ROW])


_FOLDERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def warehouse_folder(con) -> Path | None:
    """The folder of the warehouse file ``con`` works on (None in memory); asked once per connection."""
    try:
        return _FOLDERS[con]
    except (KeyError, TypeError):
        pass
    rows = run(con, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
    folder = Path(rows[0][0]).resolve().parent if rows and rows[0][0] else None
    try:
        _FOLDERS[con] = folder
    except TypeError:  # a connection that cannot be weakly referenced: asked each time
        pass
    return folder


def file_key(con, path: Path) -> str:
    """How ``meta.files`` and ``meta.file_stats`` name the file at ``path`` (resolved): its path relative to the
    warehouse's folder when it lies under it (``incoming/crime_reports/x.csv`` in a home), else its absolute path.
    A home moved or copied to another folder then still recognises its files instead of recording each again as
    a copy of itself."""
    folder = warehouse_folder(con)
    if folder is not None:
        try:
            return path.relative_to(folder).as_posix()
        except ValueError:
            pass
    return str(path)


def relocate_file_paths(con) -> None:
    """Rows written when paths were stored absolute: those under the warehouse's folder become relative (as
    :func:`file_key` names them). A warehouse moved before this ran keeps its old absolute paths (its files are
    recorded once more as copies, as they were before)."""
    folder = warehouse_folder(con)
    if folder is None:
        return
    prefix = str(folder) + os.sep
    for table in ("files", "file_stats"):
        run(con, f"UPDATE meta.{table} SET path = substr(path, ?) WHERE starts_with(path, ?)",
            [len(prefix) + 1, prefix])


@contextmanager
def transaction(con) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back (and the error raised) on any exception."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


@contextmanager
def registered(con, name: str, frame) -> Iterator[None]:
    """``frame`` readable as the table ``name`` inside the block; unregistered afterwards whatever happens."""
    con.register(name, frame)
    try:
        yield
    finally:
        con.unregister(name)


def code_state(con) -> tuple[str, int] | None:
    """(fingerprint, last load seq seen) of the last complete refresh, or None (none yet, or an older warehouse)."""
    try:
        rows = con.execute("SELECT fingerprint, loads_seen FROM meta.code_state").fetchall()
    except Exception:  # no meta.code_state yet (read-only connection to an older warehouse)
        return None
    return (rows[0][0], int(rows[0][1])) if rows else None


def save_code_state(con, fingerprint: str, loads_seen: int) -> None:
    with transaction(con):
        ensure_meta(con)
        run(con, "DELETE FROM meta.code_state")
        run(con, "INSERT INTO meta.code_state VALUES (?, ?, now()::timestamp)", [fingerprint, loads_seen])


def run_with_frame(con, sql: str, _frame, params=None) -> list:
    """Run ``sql`` that reads the pandas frame as ``_frame`` (DuckDB's replacement scan of this local variable).

    Used instead of ``con.register`` inside a transaction: DuckDB keeps every registered object alive until the
    transaction ends (``unregister`` does not free it), so a large file loaded chunk by chunk in one transaction
    would hold every chunk's frames in memory at once (2,8 million quarantined duplicate rows reached 1,3 GB)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        # a wrapped connection executes in another frame, where the name is unknown: register instead (correct,
        # but the frame stays alive until the transaction ends)
        with registered(con, "_frame", _frame):
            return run(con, sql, params)
    # the execute must happen in this function: DuckDB looks the name up in the calling frame's locals
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    try:
        return cur.fetchall()
    except Exception:  # statements without a result set
        return []


# ------------------------------------------------------------------------------------------ reads

def _has_meta(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'files'")
                .fetchall()[0][0])


def manifest(con) -> "pd.DataFrame":
    """Every file's verdict and counts (``meta.files``), oldest first."""
    import pandas as pd

    if not _has_meta(con):  # a read (also on a read-only connection): nothing loaded yet
        return pd.DataFrame(columns=["sha256", "path", "file_name", "feed", "profile", "format", "received_at",
                                     "status", "rows_read", "rows_loaded", "rows_quarantined", "masked_values",
                                     "message", "info"])
    return con.execute("SELECT * FROM meta.files ORDER BY received_at, feed, file_name").df()


def quarantine(con, feed: str | None = None) -> "pd.DataFrame":
    """Every rejected cell with its reason (``meta.quarantine``), optionally of one feed."""
    import pandas as pd

    if not _has_meta(con):
        return pd.DataFrame(columns=["sha256", "file_name", "feed", "row_number", "column_name", "raw_value", "reason"])
    if feed:
        return con.execute("SELECT * FROM meta.quarantine WHERE feed = ? ORDER BY file_name, row_number, column_name",
                           [feed]).df()
    return con.execute("SELECT * FROM meta.quarantine ORDER BY feed, file_name, row_number, column_name").df()
