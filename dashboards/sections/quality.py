"""The data-quality page and the data documentation: manifest, checks, quarantine, freshness, coverage."""
from __future__ import annotations

import json
import os
import re

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_date, fmt_int
from sources.policy import Policy, load_policy
from dashboards.data import SiteData, expected_freshness, feed_label
from sources.expectations import load_suite
from dashboards.sections.common import area_names, small_count, small_areas


STATUS_LABELS = {"loaded": "inläst", "already_loaded": "redan inläst", "replaced": "ersatt", "rejected": "avvisad"}


def sources_table(files: pd.DataFrame) -> list[dict]:
    if files.empty:
        return []
    current = files[files.status == "loaded"].sort_values(["feed", "file_name"])
    return [{"feed": feed_label(r.feed), "file": r.file_name, "sha256": r.sha256,
             "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "rows": fmt_int(r.rows_loaded)}
            for r in current.itertuples()]


def page_totals(data: SiteData, code: str) -> dict:
    """The event totals a municipality's page was built from (checked against the marts after a crash)."""
    out = {}
    for mart, column in (("crime_by_quarter", "crimes"), ("est_by_quarter", "events")):  # no concern counts here
        out[mart] = int(data.of(mart, code)[column].sum())
    return out


def anchor(feed: str, expectation: str, column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{feed}-{expectation}-{column}".lower()).strip("-")


def datadocs_context(data: SiteData) -> list[dict]:
    results = {}
    checked = {}
    for r in data.checks.itertuples() if not data.checks.empty else []:
        results[(r.feed, r.expectation, r.column_name)] = r
        checked[r.feed] = max(checked.get(r.feed, r.checked_at), r.checked_at)
    out = []
    for suite in data.suites:
        rows = []
        for spec in suite["expectations"]:
            column = spec.get("column") or ",".join(spec.get("column_list", [])) or "(tabell)"
            r = results.get((suite["feed"], spec["type"], column))
            settings = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("type", "severity"))
            offending = json.loads(r.rows) if r is not None and r.rows else []
            rows.append({
                "anchor": anchor(suite["feed"], spec["type"], column), "type": spec["type"], "settings": settings,
                "severity": "blockerande" if spec.get("severity", "error") == "error" else "varning",
                "ok": None if r is None else bool(r.success),
                "unexpected": "" if r is None else f"{fmt_int(r.unexpected_count)} av {fmt_int(r.element_count)}",
                "examples": "" if r is None or r.success else r.detail, "rows": "; ".join(offending[:20])})
        out.append({"feed": suite["feed"], "label": feed_label(suite["feed"]),
                    "table": suite["table"], "path": suite["path"], "row_id": ", ".join(suite["row_id"]),
                    "checked_at": fmt_date(pd.Timestamp(checked[suite["feed"]]).to_pydatetime())
                    if suite["feed"] in checked else "aldrig", "expectations": rows})
    return out


def coverage_matrix(data: SiteData, policy: Policy | None = None) -> pd.DataFrame:
    """Reported crimes per quarter (rows) and area (columns) for one municipality, or per municipality (columns)
    when there are several: where and when data exist."""
    crime = data.crime_coverage if data.crime_coverage is not None else data.marts["crime_by_quarter"]
    if crime.empty:
        return pd.DataFrame()
    several = crime.municipality_code.nunique() > 1
    column = "municipality_code" if several else "area_code"
    names = dict(data.municipalities) if several else {}
    if not several:
        for code in crime.municipality_code.unique():
            names.update(area_names(data, code))
    c = figures.with_quarter_labels(crime.groupby(["year", "quarter", column], as_index=False)["crimes"].sum())
    grid = figures.pivot_sum(c, ["period_key", "period"], column, "crimes").reset_index(level=0, drop=True)
    tiny = set()
    if not several:
        for code in crime.municipality_code.unique():
            tiny |= small_areas(data, code, policy or Policy())
    shown = pd.DataFrame({col: [("–" if not v else small_count(v, col in tiny, policy or Policy()))
                                for v in grid[col]] for col in grid.columns}, index=grid.index)
    shown.columns = [names.get(col, col) for col in grid.columns]
    shown.index.name = "Kvartal"
    return shown


def check_history_url(feed: str) -> str | None:
    """Where the Dagster UI shows every run of a feed's checks (the home's persistent instance; ``make dagster``
    serves it on localhost:3000, another address is set with LAGESBILD_DAGSTER_URL)."""
    suite = load_suite(feed)
    if suite is None:
        return None
    base = os.environ.get("LAGESBILD_DAGSTER_URL", "http://localhost:3000").rstrip("/")
    return f"{base}/assets/{suite.table.replace('.', '/')}?view=checks"


def quality_context(data: SiteData) -> dict:
    files = data.files.copy()
    rows = []
    for r in files.sort_values(["feed", "file_name"]).itertuples():
        rows.append({"feed": feed_label(r.feed), "file": r.file_name,
                     "status": STATUS_LABELS.get(r.status, r.status), "status_key": r.status,
                     "read": fmt_int(r.rows_read), "loaded": fmt_int(r.rows_loaded),
                     "quarantined": fmt_int(r.rows_quarantined), "masked": fmt_int(r.masked_values),
                     "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "message": r.message or ""})
    checks = []
    for r in data.checks.sort_values(["feed", "severity", "expectation"]).itertuples() if not data.checks.empty else []:
        checks.append({"feed": feed_label(r.feed), "expectation": r.expectation, "column": r.column_name,
                       "href": f"datadocs.html#{anchor(r.feed, r.expectation, r.column_name)}",
                       "history": check_history_url(r.feed),
                       "severity": "blockerande" if r.severity == "error" else "varning", "ok": bool(r.success),
                       "detail": r.detail})
    quarantine = data.quarantine.head(200)
    qrows = [{"feed": feed_label(r.feed), "file": r.file_name, "row": r.row_number, "column": r.column_name,
              "value": r.raw_value, "reason": r.reason} for r in quarantine.itertuples()]
    fresh = []
    loaded = files[files.status == "loaded"] if not files.empty else files
    for feed, cadence, days in expected_freshness():
        part = loaded[loaded.feed == feed] if not loaded.empty else loaded
        if part.empty:
            fresh.append({"feed": feed_label(feed), "last": "–", "age": "–", "cadence": cadence,
                          "state": "ingen fil", "late": True})
            continue
        last = pd.Timestamp(part.received_at.max()).to_pydatetime()
        age = (data.published_at - last).days
        fresh.append({"feed": feed_label(feed), "last": fmt_date(last), "age": f"{age} dagar",
                      "cadence": cadence, "state": "i tid" if age <= days else "sen", "late": age > days})
    coverage = coverage_matrix(data, load_policy())
    return {"files": rows, "checks": checks, "quarantine": qrows, "quarantine_total": len(data.quarantine),
            "freshness": fresh, "coverage_columns": list(coverage.columns),
            "coverage_by": "kommun" if len(data.municipalities) > 1 else "område", "coverage": coverage.reset_index().values.tolist(),
            "failed_errors": sum(1 for c in checks if not c["ok"] and c["severity"] == "blockerande"),
            "failed_warnings": sum(1 for c in checks if not c["ok"] and c["severity"] == "varning"),
            "rejected": sum(1 for r in rows if r["status_key"] == "rejected")}
