"""Honest-number rules of the publish layer (pure functions; rules documented in dashboards/STATISTICS.md).

* change signals for counts: Poisson z = 2(√now − √before), labels by configurable thresholds, no percent change on a
  small base;
* survey changes: called a change only when the 95 % interval of the difference excludes zero;
* suppression: primary (counts 1..max) and secondary (so no masked cell can be recovered from row/column totals);
* periods: ISO week, month, tertial, quarter, year, rolling 12 months, year to date, same period last year.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from dashboards.format import NBSP, fmt_number
from dashboards.policy import Policy

NO_CHANGE = "ingen säker förändring"
POSSIBLE = "möjlig förändring"
CLEAR = "tydlig förändring"


@dataclass(frozen=True)
class ChangeSignal:
    now: float
    before: float
    z: float
    label: str            # ingen säker förändring | möjlig förändring | tydlig förändring
    direction: str        # "ökning", "minskning" or ""
    percent: float | None  # None when the base is below the policy minimum

    def text(self) -> str:
        """What a council member reads: the label, the direction, and a % only where the base allows it."""
        if self.label == NO_CHANGE:
            return NO_CHANGE
        pct = ""
        if self.percent is not None:
            pct = f" ({'+' if self.percent > 0 else '−'}{fmt_number(abs(self.percent), 0)}{NBSP}%)"
        return f"{self.label}: {self.direction}{pct}"


def poisson_z(now: float, before: float) -> float:
    """Variance-stabilised difference of two Poisson counts (Anscombe/Wheeler): 2(√now − √before)."""
    if now < 0 or before < 0:
        raise ValueError("counts cannot be negative")
    return 2.0 * (math.sqrt(now) - math.sqrt(before))


def change_signal(now: float, before: float, policy: Policy) -> ChangeSignal:
    z = poisson_z(now, before)
    label = CLEAR if abs(z) >= policy.change_clear else POSSIBLE if abs(z) >= policy.change_possible else NO_CHANGE
    direction = "" if label == NO_CHANGE else ("ökning" if z > 0 else "minskning")
    percent = None
    if before >= policy.min_base_for_percent and before > 0:
        percent = (now - before) / before * 100.0
    return ChangeSignal(now=now, before=before, z=z, label=label, direction=direction, percent=percent)


def survey_change(share1: float, low1: float, high1: float, share2: float, low2: float, high2: float,
                  z: float = 1.959964) -> tuple[float, float, float, bool]:
    """Change between two survey rounds from their published 95 % intervals.

    The standard errors are read off the intervals (half-width / z), so design effects (weights, pooling) carry over.
    Returns (difference, low, high, supported): the change is called a change only when its interval excludes 0.
    """
    se1, se2 = (high1 - low1) / (2 * z), (high2 - low2) / (2 * z)
    diff = share2 - share1
    half = z * math.sqrt(se1 ** 2 + se2 ** 2)
    return diff, diff - half, diff + half, (diff - half > 0) or (diff + half < 0)


# ------------------------------------------------------------------------------------------ suppression

def primary_mask(values: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    return (values >= 1) & (values <= policy.max_suppressed_count)


def suppress(values: pd.DataFrame, policy: Policy, totals: bool = True) -> pd.DataFrame:
    """Cells to hide in a two-way table of counts (rows × columns) published with row and column totals.

    Primary: counts 1..max_suppressed_count. Secondary: while a row or column (whose total is published) has exactly
    one hidden cell, hide the smallest other cell of that line too (a non-zero one when there is one), so that no
    hidden cell equals "total minus the visible cells". Repeats until stable. Returns a boolean mask.
    """
    mask = primary_mask(values, policy)
    if not totals:
        return mask
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = mask.T if axis == 0 else mask
            data = values.T if axis == 0 else values
            for key in lines.index:
                row_mask, row_vals = lines.loc[key], data.loc[key]
                if int(row_mask.sum()) != 1:
                    continue
                candidates = row_vals[~row_mask]
                if candidates.empty:
                    continue
                nonzero = candidates[candidates > 0]
                pick = (nonzero if not nonzero.empty else candidates).sort_values(kind="stable").index[0]
                if axis == 0:
                    mask.loc[pick, key] = True
                else:
                    mask.loc[key, pick] = True
                changed = True
    return mask


def apply_mask(values: pd.DataFrame, mask: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Display strings: hidden cells read the policy label (primary) or "×" (secondary)."""
    primary = primary_mask(values, policy)
    out = values.astype(object).copy()
    for r in values.index:
        for c in values.columns:
            if mask.loc[r, c]:
                out.loc[r, c] = policy.suppressed_label if primary.loc[r, c] else "×"
            else:
                out.loc[r, c] = fmt_number(values.loc[r, c], 0)
    return out


# ------------------------------------------------------------------------------------------ periods

def iso_week(d: date) -> tuple[int, int]:
    y, w, _ = d.isocalendar()
    return y, w


def tertial(d: date) -> int:
    return (d.month - 1) // 4 + 1


def quarter(d: date) -> int:
    return (d.month - 1) // 3 + 1


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def rolling_12_months(end: date) -> tuple[date, date]:
    """The 12 whole months ending with the month of ``end``: first day of the month 11 months back .. ``end``."""
    month0 = end.month - 11
    year = end.year + (month0 - 1) // 12
    month = (month0 - 1) % 12 + 1
    return date(year, month, 1), end


def year_to_date(end: date) -> tuple[date, date]:
    return date(end.year, 1, 1), end


def same_period_last_year(start: date, end: date) -> tuple[date, date]:
    """The same dates a year earlier; 29 February maps to 28 February (the day the earlier year has)."""
    last_day = end
    if end.month == 2 and end.day == 29:
        last_day = end - timedelta(days=1)
    return _minus_year(start), _minus_year(last_day)


def sum_between(daily: pd.Series, start: date, end: date) -> float:
    """Sum of a date-indexed series over [start, end] inclusive."""
    idx = pd.to_datetime(daily.index)
    return float(daily[(idx >= pd.Timestamp(start)) & (idx <= pd.Timestamp(end))].sum())
