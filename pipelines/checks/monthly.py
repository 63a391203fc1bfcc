"""Monthly counts per group for the plausible-volume check, kept per file so a refresh counts only new files.

The check compares each group's latest complete month with the months before it, so it needs the whole table's
counts per month and group: 15 M rows at national scale, grouped again by every refresh. A file's rows do not
change while its content hash and row count stay the same (a revision that removes rows changes the count), so
the counts are kept per file (``meta.check_monthly``: the file as ``sha256:rows``, month, group, count); a refresh
counts the rows of files not seen before, drops the counts of files that are gone, and sums the kept counts.
They are kept per check (``counts``: the table, the column, group and count column) and *version* (the SQL of
the table it reads: a changed staging model counts everything again and drops the counts of the version before).
Every counted file also has one row with an empty month, so a file whose rows all lack the month is known as
counted too.
"""
from __future__ import annotations

import hashlib
import json

import pandas as pd

from sources.db import q, run
from sources.meta import registered, transaction


def _keys(con, target: str, spec: dict) -> tuple[str, str]:
    """(which counts: table, column, group and count column; their version: the SQL of the table they come from)."""
    schema, name = [p.strip('"') for p in target.split(".")]
    sql = con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = ? AND view_name = ? UNION ALL "
                      "SELECT sql FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                      [schema, name, schema, name]).fetchall()
    which = json.dumps([target, spec["column"], spec.get("group_by"), spec.get("count_column")])
    return which, hashlib.sha1((sql[0][0] if sql else "").encode()).hexdigest()[:16]


def counts(con, target: str, spec: dict, feed: str, files: list[tuple[str, int]]) -> pd.DataFrame:
    """The table's counts per month (``spec["column"]``, truncated to the month), group (``group_by``) and count
    (``count_column`` summed, or ``_n`` rows), as a whole-table ``GROUP BY`` gives them; ``files`` = the table's
    (sha256, rows). Updates the kept counts (one transaction)."""
    column, group_by, count_col = spec["column"], spec.get("group_by"), spec.get("count_column")
    which, version = _keys(con, target, spec)
    current = {f"{sha}:{n}": sha for sha, n in files}
    kept = con.execute("SELECT DISTINCT file, version FROM meta.check_monthly WHERE feed = ? AND counts = ?",
                       [feed, which]).fetchall()
    new = sorted(set(current) - {f for f, v in kept if v == version})
    gone = sorted({f for f, v in kept if v != version or f not in current})
    if new or gone:
        group = f"{q(group_by)}::VARCHAR" if group_by else "NULL::VARCHAR"
        amount = f"sum({q(count_col)})::DOUBLE" if count_col else "count(*)::DOUBLE"
        with transaction(con):
            if gone:
                run(con, "DELETE FROM meta.check_monthly WHERE feed = ? AND counts = ? AND (version <> ? OR file IN "
                         "(SELECT unnest(?::VARCHAR[])))", [feed, which, version, gone])
            if new:
                frame = pd.DataFrame({"file": new, "sha": [current[f] for f in new]}, dtype="string")
                with registered(con, "_monthly_files", frame):
                    run(con, f"""INSERT INTO meta.check_monthly
                        SELECT ?, ?, ?, f.file, c.month, c.grp, c.n FROM _monthly_files AS f
                        JOIN (SELECT source_sha256 AS sha, date_trunc('month', {q(column)})::TIMESTAMP AS month,
                                     {group} AS grp, {amount} AS n
                              FROM {target} WHERE source_sha256 IN (SELECT sha FROM _monthly_files)
                                AND {q(column)} IS NOT NULL GROUP BY ALL) AS c ON c.sha = f.sha
                        UNION ALL
                        SELECT ?, ?, ?, f.file, NULL, NULL, 0 FROM _monthly_files AS f""",
                        [feed, which, version, feed, which, version])
    out = con.execute(f"""SELECT month AS {q(column)}, grp AS {q(group_by or '_group')},
                                 sum(n) AS {q(count_col or '_n')}
                          FROM meta.check_monthly WHERE feed = ? AND counts = ? AND month IS NOT NULL
                          GROUP BY ALL""", [feed, which]).df()
    return out if group_by else out.drop(columns=["_group"])
