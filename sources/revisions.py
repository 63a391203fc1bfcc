"""Revisions: what rows of a new file replace, and which municipality × quarter partitions a load changed.

A file covering the same scope (the contract's ``revision_scope`` × period, or with ``revision.by: natural_key``
the same key) as earlier files replaces those rows; the replaced rows move to ``history.<feed>`` and
``meta.revisions`` records it. The partitions a load touched go to ``meta.pending_partitions`` in the same
transaction, for the partitioned models to rebuild (``pipelines/models.py``).
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from sources.contract import Contract
from sources.db import q, run, run_many, scalar
from sources.meta import run_with_frame


def scope_keys(rows: pd.DataFrame, contract: Contract) -> pd.Series:
    """What a row of a new file replaces: its revision scope × period, or (``revision.by: natural_key``) exactly the
    earlier row with the same natural key."""
    if contract.revision_by == "natural_key":
        out = None
        for c in contract.natural_key:
            part = rows[c].astype("string").fillna("")
            out = part if out is None else out + "|" + part
        return out
    parts = [rows[c].astype("string").fillna("") for c in contract.revision_scope]
    if contract.period_column:
        p = rows[contract.period_column]
        if contract.period_grain == "year":
            period = (p.dt.year if hasattr(p, "dt") else p).astype("string")
        else:
            # "2024-03": formatted once per distinct month, not once per row
            codes, months = pd.factorize(pd.to_datetime(p).dt.to_period("M"))
            labels = pd.array([str(m) for m in months] + [pd.NA], dtype="string")
            period = pd.Series(labels[codes], index=rows.index, dtype="string")  # code -1 (no date) -> <NA>
        parts.append(period)
    if not parts:
        return pd.Series("*", index=rows.index, dtype="string")
    out = parts[0]
    for part in parts[1:]:
        out = out + "|" + part
    return out


def replace_earlier_rows(con, contract: Contract, rows: pd.DataFrame, sha: str, now: datetime) -> set[str]:
    """Inside the file's transaction: rows of earlier files in the scopes the new rows cover (``_scope``) move to
    ``history.<feed>`` and ``meta.revisions`` records which file replaced how many rows of which; returns those
    files."""
    feed = q(contract.feed)
    scopes = pd.DataFrame({"scope": rows["_scope"].drop_duplicates().astype(str)})
    # frames are read by replacement scan, never registered: see sources.meta.run_with_frame
    where = "_scope IN (SELECT scope FROM _frame) AND _sha256 <> ?"
    removed = run_with_frame(con, f"SELECT _sha256, _scope, count(*) FROM raw.{feed} WHERE {where} "
                                  "GROUP BY ALL ORDER BY 1, 2", scopes, [sha])
    if not removed:
        return set()
    # the replaced rows move to history.<feed>: which file gave which figures stays on record
    # by name: a column added to the contract later sits after _replaced_at in an older warehouse's history table
    run_with_frame(con, f"INSERT INTO history.{feed} BY NAME SELECT *, ?::VARCHAR AS _replaced_by, "
                        f"?::TIMESTAMP AS _replaced_at FROM raw.{feed} WHERE {where}",
                   scopes, [sha, now, sha])
    run_with_frame(con, f"DELETE FROM raw.{feed} WHERE {where}", scopes, [sha])
    run_many(con, "INSERT INTO meta.revisions VALUES (?, ?, ?, ?, ?, ?)",
             [[sha, old, contract.feed, scope, n, now] for old, scope, n in removed])
    return {old for old, _, _ in removed}


def records_partitions(contract: Contract) -> bool:
    """Whether the feed's rows belong to municipality × quarter partitions (a municipality and a dated period);
    yearly feeds (population, Brå tables, surveys) are small and not partitioned by quarter."""
    if not contract.period_column or "municipality_code" not in contract.column_names:
        return False
    period_type = next(c.duckdb_type for c in contract.columns if c.name == contract.period_column)
    return period_type in ("DATE", "TIMESTAMP")


def record_pending_partitions(con, contract: Contract, sha: str, now: datetime) -> None:
    """Which municipality × quarter partitions this file changed (its rows and the rows it replaced).

    Written in the file's transaction, so a crash can never lose the note that partitions need rebuilding; each
    partitioned model keeps the id up to which it has rebuilt (pipelines/models.py).
    """
    if not records_partitions(contract):
        return
    feed, col = q(contract.feed), q(contract.period_column)
    next_id = int(scalar(con, "SELECT coalesce(max(id), 0) + 1 FROM meta.pending_partitions"))
    run(con, f"""INSERT INTO meta.pending_partitions
        SELECT DISTINCT ?, ?, ?, municipality_code, year({col})::INTEGER, quarter({col})::INTEGER, ?
        FROM (SELECT municipality_code, {col} FROM raw.{feed} WHERE _sha256 = ?
              UNION ALL SELECT municipality_code, {col} FROM history.{feed} WHERE _replaced_by = ?)
        WHERE municipality_code IS NOT NULL AND {col} IS NOT NULL""",
        [next_id, contract.feed, sha, now, sha, sha])
