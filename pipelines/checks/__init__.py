"""Great Expectations suites as Dagster asset checks on each feed's staging table.

Two checks per feed: ``<feed>_blocking`` (expectations with severity error; blocking=True, so a failure stops the
marts and pages from being rebuilt) and ``<feed>_warnings`` (shown, publication goes on). Results are also
written to ``meta.check_results`` for the data-quality page, naming the offending rows.
"""

import json
from datetime import datetime, timezone

import dagster as dg
import duckdb as duckdb_module
from dagster_duckdb import DuckDBResource

from pipelines.checks.suites import Outcome, Suite, load_suite, lookup_sql, run_suite
from sources.contract import all_feeds
from sources.ingest import ensure_schema
from sources.db import run, run_many


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


def evaluate(con, suite: Suite, severity: str) -> list[Outcome]:
    sub = Suite(feed=suite.feed, table=suite.table, row_id=suite.row_id,
                expectations=[e for e in suite.expectations if e.get("severity", "error") == severity])
    schema, table = suite.table.split(".")
    frame = con.execute(f'SELECT * FROM "{schema}"."{table}"').df()
    outcomes = run_suite(frame, sub, _lookups(con, sub))
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    con.begin()
    try:
        ensure_schema(con)
        run(con, "DELETE FROM meta.check_results WHERE feed = ? AND severity = ?", [suite.feed, severity])
        run_many(con, "INSERT INTO meta.check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            [suite.feed, severity, o.expectation, o.column, o.success, o.unexpected_count, o.element_count,
             o.describe(), json.dumps(o.rows, ensure_ascii=False), now] for o in outcomes])
        con.commit()
    except Exception:
        con.rollback()
        raise
    return outcomes


def _result(outcomes: list[Outcome], severity: str, row_id: list[str]) -> dg.AssetCheckResult:
    failed = [o for o in outcomes if not o.success]
    lines = [f"| {o.expectation} | {o.column} | {'ok' if o.success else 'FEL'} | {o.describe()} | "
             f"{'; '.join(o.rows[:5])} |" for o in outcomes]
    table = "| förväntan | kolumn | resultat | detaljer | rader (" + ", ".join(row_id) + ") |\n|---|---|---|---|---|\n" + "\n".join(lines)
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if severity == "error" else dg.AssetCheckSeverity.WARN,
        metadata={"expectations": len(outcomes), "failed": len(failed),
                  "offending_rows": dg.MetadataValue.json({o.expectation + ":" + o.column: o.rows for o in failed}),
                  "results": dg.MetadataValue.md(table)})


def build_checks(feed: str) -> list[dg.AssetChecksDefinition]:
    suite = load_suite(feed)
    if suite is None:
        return []
    schema, table = suite.table.split(".")
    checks = []
    for severity, name, blocking in (("error", f"{feed}_blocking", True), ("warn", f"{feed}_warnings", False)):
        if not any(e.get("severity", "error") == severity for e in suite.expectations):
            continue

        def _make(severity=severity, name=name, blocking=blocking):
            @dg.asset_check(asset=dg.AssetKey([schema, table]), name=name, blocking=blocking,
                            description=f"Great Expectations ({'blockerande' if blocking else 'varningar'}): "
                                        f"{suite.path.relative_to(suite.path.parents[2])}")
            def _check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
                with duckdb.get_connection() as con:
                    outcomes = evaluate(con, suite, severity)
                return _result(outcomes, severity, suite.row_id)
            return _check

        checks.append(_make())
    return checks


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [c for feed in all_feeds() for c in build_checks(feed)]
