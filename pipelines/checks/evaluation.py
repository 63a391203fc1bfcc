"""Running a feed's expectation suite on its staging table and keeping the outcomes (no Dagster here).

Row-level expectations run in Great Expectations (``pipelines/checks/suites.py``) on the rows of files not validated
yet; whole-table expectations (uniqueness, row count, plausible volume) in DuckDB SQL. Outcomes go to
``meta.check_results`` for the data-quality page. ``pipelines/checks/asset_checks.py`` makes Dagster asset checks of
this; the GE helper process (``pipelines/ge_helper.py``) imports this package without importing Dagster.
"""

import hashlib
import json
from datetime import datetime, timezone

import duckdb as duckdb_module
import pandas as pd

from dashboards.format import fmt_int
from pipelines.checks import monthly, uniqueness
from pipelines.checks.suites import CUSTOM, MAX_EXAMPLES, Outcome, lookup_sql, run_suite
from sources.db import run, run_many
from sources.expectations import Suite
from sources.faults import fault_point
from sources.meta import ensure_meta, registered, transaction
from sources.taxonomy import allowed_values


def _lookups(con, suite: Suite) -> dict[str, set]:
    names = {e["value_set"]["lookup"] for e in suite.expectations
             if isinstance(e.get("value_set"), dict) and "lookup" in e["value_set"]}
    out = {}
    for name in names:
        try:
            out[name] = {r[0] for r in con.execute(lookup_sql(name)).fetchall()}
        except duckdb_module.CatalogException:
            out[name] = set()  # the lookup's source is not loaded yet: every value is unknown (a warning)
    return out


TABLE_LEVEL = {"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique",
               "expect_table_row_count_to_be_between", *CUSTOM}
BATCH_ROWS = 500_000  # rows handed to GE at a time (memory stays flat on national volumes)


def _suite_version(suite: Suite, lookups: dict[str, set]) -> str:
    """Row-level results stay valid while the suite, its reference lists and lookup values are unchanged."""
    h = hashlib.sha1(json.dumps(suite.expectations, sort_keys=True, default=str).encode())
    for name in sorted(lookups):
        h.update(name.encode())
        h.update("\x1f".join(sorted(map(str, lookups[name]))).encode())
    for spec in suite.expectations:
        ref = spec.get("value_set", {}).get("reference") if isinstance(spec.get("value_set"), dict) else None
        if ref:
            h.update("\x1f".join(sorted(allowed_values(ref))).encode())
    return h.hexdigest()[:16]


def _batches(files: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    out, cur, n = [], [], 0
    for sha, rows in files:
        if cur and n + rows > BATCH_ROWS:
            out.append(cur)
            cur, n = [], 0
        cur.append((sha, rows))
        n += rows
    if cur:
        out.append(cur)
    return out


def _table_level(con, suite: Suite, specs: list[dict], files: list[tuple[str, int]] | None = None,
                 states: list | None = None) -> list[Outcome]:
    """Expectations about the whole table, in DuckDB SQL (they cannot be summed over batches). Uniqueness is checked
    incrementally when ``files`` (the table's files and rows) is given (``pipelines/checks/uniqueness.py``); the
    state to store is appended to ``states``. The monthly counts of the plausible-volume check are then kept per
    file (``pipelines/checks/monthly.py``)."""
    target = ".".join(f'"{p}"' for p in suite.table.split("."))
    total = int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])
    out = []
    for spec in specs:
        t = spec["type"]
        severity = spec.get("severity", "error")
        if t == "expect_table_row_count_to_be_between":
            lo, hi = spec.get("min_value"), spec.get("max_value")
            ok = (lo is None or total >= lo) and (hi is None or total <= hi)
            out.append(Outcome(t, "(tabell)", severity, ok, 0 if ok else 1, total,
                               [] if ok else [f"{fmt_int(total)} rader"]))
        elif t in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
            # rows with an empty key column are checked too (NULL groups with NULL): only a row whose whole key is
            # empty is left out (there is nothing to compare)
            cols = spec.get("column_list") or [spec["column"]]
            n_dup, elements, dups, _, state = uniqueness.check(con, target, cols, suite.feed, severity, t, files,
                                                              MAX_EXAMPLES)
            if state is not None and states is not None:
                states.append(state)
            keys = [" | ".join(str(v) for v in d[:-1]) for d in dups]
            out.append(Outcome(t, ",".join(cols), severity, n_dup == 0, n_dup, elements, keys, keys))
        else:  # custom expectations on monthly aggregates (pipelines/checks/suites.py)
            column, group_by, count_col = spec["column"], spec.get("group_by"), spec.get("count_column")
            if files is not None:  # counted per file, new files only (pipelines/checks/monthly.py)
                frame = monthly.counts(con, target, spec, suite.feed, files)
            else:
                cols = [f'date_trunc(\'month\', "{column}") AS "{column}"'] + ([f'"{group_by}"'] if group_by else [])
                agg = f'sum("{count_col}")' if count_col else "count(*)"
                frame = con.execute(f"SELECT {', '.join(cols)}, {agg} AS \"{count_col or '_n'}\" FROM {target} "
                                    f'WHERE "{column}" IS NOT NULL GROUP BY ALL').df()
            out.append(CUSTOM[t](frame, spec if count_col else {**spec, "count_column": "_n"}))
    return out


def _projection(row_specs: list[dict], row_id: list[str], columns: set[str]) -> str:
    """The columns GE needs: those the row-level expectations name (a suite's expectation reads only ``column`` or
    ``column_list``, sources/schemas.py) and the natural key that names offending rows. Reading only these from
    DuckDB into pandas is most of what validating a national table costs (crime reports: 4 of 15 columns for the
    blocking checks, 3 for the warnings). When an
    expectation names a column the table lacks, every column is read, so GE reports the missing column itself."""
    named = [c for e in row_specs for c in ([e["column"]] if e.get("column") else []) + list(e.get("column_list") or [])]
    if any(c not in columns for c in named):
        return "*"
    keep = list(dict.fromkeys(named + [c for c in row_id if c in columns]))
    return ", ".join(f'"{c}"' for c in keep) if keep else "*"


def evaluate(con, suite: Suite, severity: str) -> list[Outcome]:
    """Validate the feed's staging table and record the outcome in ``meta.check_results``.

    Row-level expectations run in Great Expectations on the rows of files not validated yet (in batches of at most
    ``BATCH_ROWS``); their outcomes are kept per batch in ``meta.check_batches`` and summed, so a refresh validates
    only new files. Whole-table expectations (uniqueness, row count, plausible volume) run on the whole table in SQL.
    A change of the suite, a reference list or a lookup re-validates every file.
    """
    sub = Suite(feed=suite.feed, table=suite.table, row_id=suite.row_id,
                expectations=[e for e in suite.expectations if e.get("severity", "error") == severity])
    lookups = _lookups(con, sub)
    version = _suite_version(sub, lookups)
    row_specs = [e for e in sub.expectations if e["type"] not in TABLE_LEVEL]
    target = ".".join(f'"{p}"' for p in suite.table.split("."))
    columns = {r[0] for r in con.execute(f"DESCRIBE {target}").fetchall()}
    by_file = "source_sha256" in columns
    ensure_meta(con)
    if by_file:
        files = [(r[0], int(r[1])) for r in con.execute(
            f"SELECT source_sha256, count(*) FROM {target} GROUP BY ALL ORDER BY ALL").fetchall()]
    else:
        files = [("*", int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]))]
    current = {f"{sha}:{n}" for sha, n in files}
    kept = {r[0]: json.loads(r[1]) for r in con.execute(
        "SELECT batch, any_value(files) FROM meta.check_batches WHERE feed = ? AND severity = ? AND version = ? "
        "GROUP BY batch", [suite.feed, severity, version]).fetchall()}
    # a batch stays valid while every file in it still has the same rows (a revision may have removed some)
    valid = {b for b, fs in kept.items() if all(f in current for f in fs)}
    done = {f for b in valid for f in kept[b]}
    todo = [(sha, n) for sha, n in files if f"{sha}:{n}" not in done and n > 0]
    # whole-table expectations first: while they run in SQL, a GE helper still importing GE gets ready for the rows
    states: list = []
    table_outcomes = _table_level(con, sub, [e for e in sub.expectations if e["type"] in TABLE_LEVEL],
                                  files if by_file else None, states)
    new_rows = []
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    select = _projection(row_specs, suite.row_id, columns)
    if row_specs:
        for batch in _batches(todo):
            if by_file:
                with registered(con, "_batch_files", pd.DataFrame({"sha": [sha for sha, _ in batch]}, dtype="string")):
                    frame = con.sql(f"SELECT {select} FROM {target} WHERE source_sha256 IN "
                                    "(SELECT sha FROM _batch_files)").to_arrow_table().to_pandas()
            else:
                frame = con.sql(f"SELECT {select} FROM {target}").to_arrow_table().to_pandas()
            outcomes = run_suite(frame, Suite(sub.feed, sub.table, sub.row_id, row_specs), lookups)
            del frame
            batch_id = hashlib.sha1(json.dumps(batch).encode()).hexdigest()[:16]
            names = json.dumps([f"{sha}:{n}" for sha, n in batch])
            new_rows += [[suite.feed, severity, version, batch_id, names, o.expectation, o.column, o.success,
                          o.unexpected_count, o.element_count, json.dumps(o.examples, ensure_ascii=False),
                          json.dumps(o.rows, ensure_ascii=False), now] for o in outcomes]
    with transaction(con):
        uniqueness.save(con, suite.feed, severity, states)
        run(con, "DELETE FROM meta.check_batches WHERE feed = ? AND severity = ? AND (version <> ? OR batch NOT IN "
                 "(SELECT unnest(?::VARCHAR[])))", [suite.feed, severity, version, sorted(valid)])
        if new_rows:
            run_many(con, "INSERT INTO meta.check_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new_rows)
        outcomes = _summed(con, suite.feed, severity, row_specs) + table_outcomes
        run(con, "DELETE FROM meta.check_results WHERE feed = ? AND severity = ?", [suite.feed, severity])
        run_many(con, "INSERT INTO meta.check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [suite.feed, severity, o.expectation, o.column, o.success, o.unexpected_count, o.element_count,
             o.describe(), json.dumps(o.rows, ensure_ascii=False), now] for o in outcomes])
        fault_point("checks:written")
    order = {(e["type"], e.get("column") or ",".join(e.get("column_list", [])) or "(tabell)"): i
             for i, e in enumerate(sub.expectations)}
    return sorted(outcomes, key=lambda o: order.get((o.expectation, o.column), 999))


def _summed(con, feed: str, severity: str, specs: list[dict]) -> list[Outcome]:
    """One outcome per row-level expectation: the sum over all batches (an expectation with ``mostly`` is judged
    on the summed share, as GE would on the whole table)."""
    out = []
    for spec in specs:
        column = spec.get("column") or ",".join(spec.get("column_list", [])) or "(tabell)"
        rows = con.execute("SELECT success, unexpected_count, element_count, examples, rows FROM meta.check_batches "
                           "WHERE feed = ? AND severity = ? AND expectation = ? AND column_name = ? ORDER BY batch",
                           [feed, severity, spec["type"], column]).fetchall()
        unexpected = sum(r[1] for r in rows)
        elements = sum(r[2] for r in rows)
        if "mostly" in spec and elements:
            success = (elements - unexpected) / elements >= float(spec["mostly"])
        else:
            success = all(r[0] for r in rows)
        examples = [e for r in rows for e in json.loads(r[3])][:MAX_EXAMPLES]
        offending = [e for r in rows for e in json.loads(r[4])][:MAX_EXAMPLES]
        out.append(Outcome(spec["type"], column, spec.get("severity", "error"), success, unexpected, elements,
                           examples, offending))
    return out
