"""Great Expectations suites as Dagster asset checks on each feed's staging table.

Two checks per feed: ``<feed>_blocking`` (expectations with severity error; blocking=True, so a failure stops the
marts and pages from being rebuilt) and ``<feed>_warnings`` (shown, publication goes on). Results are also
written to ``meta.check_results`` for the data-quality page, naming the offending rows
(``pipelines/checks/evaluation.py``).
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.checks.evaluation import evaluate
from pipelines.checks.suites import Outcome
from sources.contract import all_feeds
from sources.expectations import load_suite


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
