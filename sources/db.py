"""Small DuckDB helpers shared by the ingestion engine, the model runner and the checks."""
from __future__ import annotations


def q(identifier: str) -> str:
    """Quote an identifier taken from a shipped contract (never from input data)."""
    return '"' + identifier.replace('"', '""') + '"'


def run(con, sql: str, params=None) -> list:
    """Execute a statement and consume its result.

    DuckDB 2.x refuses some connection calls (register/unregister, commit) while a previous ``execute`` result is
    unconsumed ("connection has an unfinished result"); DML and DDL results are tiny, so fetching them is free.
    """
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    try:
        return cur.fetchall()
    except Exception:  # statements without a result set
        return []


def run_many(con, sql: str, rows: list) -> None:
    """``executemany`` with its result consumed (see :func:`run`)."""
    if not rows:
        return
    cur = con.executemany(sql, rows)
    try:
        cur.fetchall()
    except Exception:
        pass


def scalar(con, sql: str, params=None):
    """First column of the first row, with the result fully consumed (``fetchone`` leaves it open in DuckDB 2.x)."""
    rows = (con.execute(sql, params) if params is not None else con.execute(sql)).fetchall()
    return rows[0][0] if rows else None
