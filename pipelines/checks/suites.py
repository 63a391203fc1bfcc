"""Great Expectations 1.x suites, declared per feed in ``sources/<feed>/expectations.yaml``.

GE is imported lazily (it costs seconds: ``pipelines/checks/gx.py``) and validates pandas DataFrames read from DuckDB
(GE cannot validate DuckDB through SQLAlchemy). Each outcome names the offending rows by the feed's natural key, so
a steward sees what failed and where.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dashboards.format import fmt_int
from pipelines.checks.gx import configurations_built_once, context, great_expectations
from pipelines.home import MODELS_DIR
from sources.expectations import Suite
from sources.taxonomy import allowed_values

MAX_EXAMPLES = 20


@dataclass
class Outcome:
    expectation: str
    column: str
    severity: str          # "error" (blocking) or "warn"
    success: bool
    unexpected_count: int = 0
    element_count: int = 0
    examples: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)  # natural keys of offending rows

    def describe(self) -> str:
        if self.success:
            return "ok"
        if not self.unexpected_count and not self.element_count and self.examples \
                and self.examples[0].startswith("kunde inte kontrolleras"):
            return self.examples[0]
        ex = f"; t.ex. {', '.join(self.examples[:5])}" if self.examples else ""
        return f"{fmt_int(self.unexpected_count)} av {fmt_int(self.element_count)} värden avviker{ex}"


def lookup_sql(name: str) -> str:
    path = MODELS_DIR / "lookups" / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def _class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _resolve(value, lookups: dict[str, set], today: date):
    if isinstance(value, dict):
        if "reference" in value:
            return sorted(allowed_values(value["reference"]))
        if "lookup" in value:
            return sorted(lookups[value["lookup"]])
        if value.get("today"):
            return today
    return value


def run_suite(frame: pd.DataFrame, suite: Suite, lookups: dict[str, set] | None = None,
              today: date | None = None) -> list[Outcome]:
    """The suite's outcomes on ``frame``: in the refresh's GE helper when one runs, GE is not imported here yet and
    the frame is small (``pipelines/ge_helper.py``), else here."""
    from pipelines import ge_helper

    today = today or date.today()
    lookups = lookups or {}
    if "great_expectations" not in sys.modules and len(frame) <= ge_helper.MAX_ROWS:
        outcomes = ge_helper.call(validate, frame, suite, lookups, today)
        if outcomes is not None:
            return outcomes
    return validate(frame, suite, lookups, today)


def validate(frame: pd.DataFrame, suite: Suite, lookups: dict[str, set], today: date) -> list[Outcome]:
    """The suite's outcomes on ``frame``, validated by GE in this process."""
    gx = great_expectations()
    _, batch_definition = context()
    gsuite = gx.ExpectationSuite(name=f"lagesbild_{suite.feed}")
    specs = []
    custom: list[Outcome] = []
    for spec in suite.expectations:
        if spec["type"] in CUSTOM:
            custom.append(CUSTOM[spec["type"]](frame, spec))
            continue
        kwargs = {k: v for k, v in spec.items() if k not in ("type", "severity")}
        for key in ("value_set", "min_value", "max_value"):
            if key in kwargs:
                kwargs[key] = _resolve(kwargs[key], lookups, today)
        col = kwargs.get("column")
        if col is not None and isinstance(kwargs.get("max_value"), date) and col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                kwargs["max_value"] = pd.Timestamp(kwargs["max_value"]) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        if col is not None and isinstance(kwargs.get("value_set"), list) and col in frame.columns:
            if pd.api.types.is_string_dtype(frame[col]):
                kwargs.setdefault("mostly", 1.0)
        cls = getattr(gx.expectations, _class_name(spec["type"]))
        # GE lists results in its own order (an expectation that raised comes first): the index says whose it is
        gsuite.add_expectation(cls(**kwargs, meta={"lagesbild_spec": len(specs)}))
        specs.append(spec)
    if not specs:
        return custom
    data = frame.reset_index(drop=True)
    # GE's pandas engine handles numpy dtypes best: hand it object/float columns instead of pandas' extension types
    data = data.astype({c: object for c in data.columns if isinstance(data[c].dtype, pd.StringDtype)
                        and data[c].dtype.na_value is pd.NA})
    # … and the dtypes its vectorised range check recognises (datetime64[ns], int64/float64); others go row by row
    casts = {}
    for c in data.columns:
        dt = data[c].dtype
        if pd.api.types.is_datetime64_dtype(dt) and dt != "datetime64[ns]":
            casts[c] = "datetime64[ns]"
        elif pd.api.types.is_integer_dtype(dt) and not isinstance(dt, pd.api.extensions.ExtensionDtype):
            casts[c] = "int64"
        elif pd.api.types.is_numeric_dtype(dt) and isinstance(dt, pd.api.extensions.ExtensionDtype) \
                and not pd.api.types.is_bool_dtype(dt):
            casts[c] = "float64"
    data = data.astype(casts)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
    # SUMMARY: counts plus the first MAX_EXAMPLES offending values and row indexes (COMPLETE would list them all)
    with configurations_built_once():
        result = batch.validate(gsuite, result_format={"result_format": "SUMMARY",
                                                       "partial_unexpected_count": MAX_EXAMPLES})
    outcomes = []
    for r in sorted(result.results, key=lambda r: r.expectation_config.meta["lagesbild_spec"]):
        spec = specs[r.expectation_config.meta["lagesbild_spec"]]
        res = r.result or {}
        problem = _raised(r.exception_info, spec)
        idx = res.get("partial_unexpected_index_list") or res.get("unexpected_index_list") or []
        rows = []
        for i in idx[:MAX_EXAMPLES]:
            pos = i if isinstance(i, int) else i.get("index") if isinstance(i, dict) else None
            if isinstance(pos, int) and suite.row_id and pos < len(data):
                rows.append(" | ".join(str(data.at[pos, c]) for c in suite.row_id if c in data.columns))
        examples = ["saknas" if _missing(v) else str(v) for v in (res.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]
        if problem:
            examples = [problem]
        column = spec.get("column") or ",".join(spec.get("column_list", [])) or "(tabell)"
        outcomes.append(Outcome(
            expectation=spec["type"], column=column, severity=spec.get("severity", "error"),
            success=bool(r.success), unexpected_count=int(res.get("unexpected_count") or 0),
            element_count=int(res.get("element_count") or 0),
            examples=examples, rows=rows))
    return outcomes + custom


def _raised(info, spec: dict) -> str | None:
    """Why GE could not evaluate an expectation (it then reports failure with no counts), in words for a steward."""
    if not info:
        return None
    found = [info] if info.get("raised_exception") else [v for v in info.values() if isinstance(v, dict)
                                                          and v.get("raised_exception")]
    if not found:
        return None
    message = str(found[0].get("exception_message") or "")
    if "does not exist" in message:
        return f"kunde inte kontrolleras: kolumnen {spec.get('column') or ', '.join(spec.get('column_list', []))} " \
               "finns inte i tabellen"
    return f"kunde inte kontrolleras: {message}"


def _missing(value) -> bool:
    """An empty cell as GE lists it (None, NaN or pd.NA, depending on the column's dtype): shown as "saknas"."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array value is not an empty cell
        return False


def plausible_volume(frame: pd.DataFrame, spec: dict) -> Outcome:
    """The latest complete month per group against the median of the ``window`` months before it.

    Fails when it is more than ``max_factor`` times larger or smaller: a half-exported file, a doubled load or a
    changed registration routine. Months with no rows count as zero. The current (incomplete) month is skipped.
    A group's months run from its first month with rows to its last before the current month; a group with fewer
    than ``window`` + 1 such months is not judged. All groups at once (a national table: 290 municipalities ×
    120 months), in the groups' order.
    """
    column, group_by = spec["column"], spec.get("group_by")
    window, factor = int(spec.get("window", 12)), float(spec.get("max_factor", 3))
    outcome = Outcome(expectation=spec["type"], column=column, severity=spec.get("severity", "warn"), success=True)
    if frame.empty or column not in frame.columns:
        return outcome
    data = frame[[c for c in (column, group_by, spec.get("count_column")) if c]].dropna(subset=[column])
    stamp = pd.to_datetime(data[column])
    sums = pd.DataFrame({
        "g": data[group_by].to_numpy() if group_by else "alla",
        "m": (stamp.dt.year * 12 + stamp.dt.month - 1).to_numpy(),
        "n": data[spec["count_column"]].astype(float).to_numpy() if spec.get("count_column") else 1.0,
    }).groupby(["g", "m"])["n"].sum()  # groups with an empty key are left out, as pandas' groupby leaves them
    if sums.empty:
        return outcome
    today = date.today()
    current = today.year * 12 + today.month - 1
    grid = sums.unstack("m", fill_value=0.0)
    first_month = int(grid.columns.min())
    grid = grid.reindex(columns=range(first_month, int(grid.columns.max()) + 1), fill_value=0.0)
    months = sums.index.get_level_values("m")
    span = pd.DataFrame({"g": sums.index.get_level_values("g"), "m": months}).groupby("g")["m"].agg(["min", "max"])
    span = span.reindex(grid.index)
    last = np.minimum(span["max"].to_numpy(), current - 1)  # the latest month before the current one
    judged = last - span["min"].to_numpy() + 1 >= window + 1
    if not judged.any():
        return outcome
    rows = np.flatnonzero(judged)
    cols = (last[rows] - first_month)[:, None] + np.arange(-window, 1)[None, :]
    values = grid.to_numpy()[rows[:, None], cols]
    latest, medians = values[:, -1], np.median(values[:, :-1], axis=1)
    outcome.element_count = len(rows)
    for i, value, median in zip(rows, latest, medians):
        if median > 0 and (value > factor * median or value < median / factor):
            key, month = grid.index[i], int(last[i])
            label = f"{month // 12:04d}-{month % 12 + 1:02d}"
            outcome.success = False
            outcome.unexpected_count += 1
            outcome.rows.append(f"{key}: {label} = {fmt_int(round(float(value)))} mot median "
                                f"{fmt_int(round(float(median)))} för de {window} månaderna före")
            outcome.examples.append(f"{key} {label}")
    return outcome


CUSTOM = {"lagesbild_expect_plausible_volume": plausible_volume}
