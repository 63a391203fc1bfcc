"""Uniqueness of a key over a whole staging table, checked incrementally.

A full check groups every row by its key (15 M rows at national scale: seconds). After a refresh that only added
files, the duplicates can change only for keys the new files carry: those keys are counted over the table (a
semi-join; the table's other keys are not grouped) and the stored totals are updated:

    duplicated rows = before − Σ old count of touched keys that were duplicated
                             + Σ new count of touched keys now duplicated

A file removed or changed (a revision) since the stored state, or no stored state, means a full check. The state
(``meta.check_state``) is written in the same transaction as the check's result.
"""
from __future__ import annotations

import json

from sources.db import q
from sources.meta import registered

FULL, INCREMENTAL, UNCHANGED = "full", "incremental", "unchanged"


def _key_text(values) -> str:
    return " | ".join(str(v) for v in values)


def _order(groups: list[list]) -> list[list]:
    """Most duplicated first, then by key as text (what the page lists)."""
    return sorted(groups, key=lambda g: (-g[-1], [str(v) for v in g[:-1]]))


def check(con, target: str, cols: list[str], feed: str, severity: str, expectation: str,
          files: list[tuple[str, int]] | None, limit: int) -> tuple[int, int, list[list], str, list | None]:
    """(duplicated rows, rows with a key, the ``limit`` most duplicated groups [*key, count], how it was computed,
    the state row to store or None). ``files`` = (sha256, rows) of the table's files, None when the table has no
    ``source_sha256`` (then always a full check)."""
    key = ", ".join(q(c) for c in cols)
    notnull = "NOT (" + " AND ".join(f"{q(c)} IS NULL" for c in cols) + ")"
    column = ",".join(cols)
    current = sorted(f"{sha}:{n}" for sha, n in files) if files is not None else None
    prev = None
    if current is not None:
        rows = con.execute("SELECT files, unexpected_count, element_count, groups FROM meta.check_state WHERE feed = ? "
                           "AND severity = ? AND expectation = ? AND column_name = ?",
                           [feed, severity, expectation, column]).fetchall()
        prev = rows[0] if rows else None
    if prev is not None and set(json.loads(prev[0])) <= set(current):
        new = sorted(set(current) - set(json.loads(prev[0])))
        if not new:
            return (int(prev[1]), int(prev[2]), json.loads(prev[3])[:limit], UNCHANGED,
                    [feed, severity, expectation, column, json.dumps(current), int(prev[1]), int(prev[2]), prev[3]])
        n_dup, elements, groups = _incremental(con, target, cols, key, notnull, [f.split(":")[0] for f in new],
                                               int(prev[1]), int(prev[2]), json.loads(prev[3]), limit)
        how = INCREMENTAL
    else:
        groups = [list(g) for g in con.execute(f"SELECT {key}, count(*) AS n FROM {target} WHERE {notnull} "
                                               "GROUP BY ALL HAVING count(*) > 1").fetchall()]
        groups = _order(groups)
        n_dup = sum(int(g[-1]) for g in groups)
        elements = int(con.execute(f"SELECT count(*) FROM {target} WHERE {notnull}").fetchall()[0][0])
        how = FULL
    groups = [[*g[:-1], int(g[-1])] for g in groups[:limit]]
    state = None if current is None else [feed, severity, expectation, column, json.dumps(current), n_dup, elements,
                                          json.dumps(groups, default=str, ensure_ascii=False)]
    return n_dup, elements, groups, how, state


def _incremental(con, target: str, cols: list[str], key: str, notnull: str, new_files: list[str], n_dup: int,
                 elements: int, groups: list[list], limit: int) -> tuple[int, int, list[list]]:
    import pandas as pd

    match = " AND ".join(f"t.{q(c)} IS NOT DISTINCT FROM n.{q(c)}" for c in cols)
    with registered(con, "_new_files", pd.DataFrame({"sha": new_files}, dtype="string")):
        touched = con.execute(f"""
            WITH n AS (SELECT {key}, count(*) AS n_new FROM {target}
                       WHERE source_sha256 IN (SELECT sha FROM _new_files) AND {notnull} GROUP BY ALL)
            SELECT {', '.join(f'n.{q(c)}' for c in cols)}, any_value(n.n_new), count(*)
            FROM n JOIN {target} t ON {match} GROUP BY ALL""").fetchall()
    for row in touched:
        n_new, c_new = int(row[-2]), int(row[-1])
        c_old = c_new - n_new
        elements += n_new
        n_dup += (c_new if c_new > 1 else 0) - (c_old if c_old > 1 else 0)
    # the most duplicated groups: the stored ones (untouched keys keep their counts) and the touched ones
    merged = {_key_text(g[:-1]): list(g) for g in groups}
    for row in touched:
        if int(row[-1]) > 1:
            merged[_key_text(row[:-2])] = [*row[:-2], int(row[-1])]
    return n_dup, elements, _order(list(merged.values()))[:limit]


def save(con, feed: str, severity: str, states: list[list]) -> None:
    """Inside the check's transaction: the stored state of each uniqueness expectation of this feed and severity
    (one without a state now, e.g. a table without files, is removed)."""
    from sources.db import run, run_many

    run(con, "DELETE FROM meta.check_state WHERE feed = ? AND severity = ?", [feed, severity])
    run_many(con, "INSERT INTO meta.check_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::timestamp)", states)
