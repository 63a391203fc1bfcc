"""Honest-number rules of the publish layer (pure functions; rules documented in dashboards/STATISTICS.md).

* change signals for counts: the exact conditional test scaled for overdispersion, Benjamini–Hochberg over a page,
  labels at configurable two-sided levels, no percent change on a small base, "saknas" when a period lacks data;
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
from sources.policy import Policy

NO_CHANGE = "ingen säker förändring"
POSSIBLE = "möjlig förändring"
CLEAR = "tydlig förändring"
MISSING = "saknas"


@dataclass(frozen=True)
class ChangeSignal:
    """One comparison of two counts, as published.

    ``p`` is the two-sided p-value of the exact conditional test scaled for overdispersion; ``p_adjusted`` the same
    after the page-wide Benjamini–Hochberg adjustment (equal to ``p`` for a lone test). The label is read off
    ``p_adjusted``. ``missing`` says why no comparison is made (a period without data is missing, never 0).
    """
    now: float | None
    before: float | None
    p: float | None
    p_adjusted: float | None
    dispersion: float
    label: str            # ingen säker förändring | möjlig förändring | tydlig förändring | saknas
    direction: str        # "ökning", "minskning" or ""
    percent: float | None  # None when the base is below the policy minimum (or missing)
    missing: str | None = None

    @property
    def signal(self) -> bool:
        return self.label in (POSSIBLE, CLEAR)

    def text(self, percent: bool = True) -> str:
        """What a council member reads: the label, the direction, and a % only where the base allows it
        (``percent=False`` for sensitive counts, where a percent could give a hidden count away)."""
        if self.missing is not None:
            return f"{MISSING} ({self.missing})"
        if self.label == NO_CHANGE:
            return NO_CHANGE
        pct = ""
        if self.percent is not None and percent:
            pct = f" ({'+' if self.percent > 0 else '−'}{fmt_number(abs(self.percent), 0)}{NBSP}%)"
        return f"{self.label}: {self.direction}{pct}"


def conditional_p(now, before, share_now: float = 0.5, dispersion: float = 1.0):
    """Two-sided p-value of the exact conditional test for two counts.

    Given n = now + before, ``now`` is Binomial(n, share_now) under no change, where share_now is the later period's
    share of the two periods' exposure (equal lengths and populations: ½). Overdispersion φ (variance = φ × mean)
    is handled as in quasi-Poisson: both counts are divided by φ, and the binomial tails are taken on the continuous
    extension P(X ≥ a) = I_p(a, n − a + 1) (the regularised incomplete beta function), which equals the exact sum
    for whole numbers. Two-sided = twice the smaller tail, at most 1. Takes numbers or numpy arrays.
    """
    import numpy as np
    from scipy.special import betainc

    now_a, before_a = np.asarray(now, dtype=float), np.asarray(before, dtype=float)
    if (now_a < 0).any() or (before_a < 0).any():
        raise ValueError("counts cannot be negative")
    if not 0 < share_now < 1:
        raise ValueError("share_now must lie strictly between 0 and 1")
    phi = max(float(dispersion), 1e-9)
    a, n = now_a / phi, (now_a + before_a) / phi
    tiny = 1e-300
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(a <= 0, 1.0, betainc(np.maximum(a, tiny), np.maximum(n - a + 1, tiny), share_now))
        lower = np.where(a >= n, 1.0, 1.0 - betainc(a + 1, np.maximum(n - a, tiny), share_now))
    p = np.where(n <= 0, 1.0, np.minimum(1.0, 2.0 * np.minimum(upper, lower)))
    return float(p) if p.ndim == 0 else p


def bh_adjust(pvalues: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (step-up; controls the expected share of false alarms among signals)."""
    m = len(pvalues)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def label_for(p: float, policy: Policy) -> str:
    return CLEAR if p <= policy.change_clear_level else POSSIBLE if p <= policy.change_possible_level else NO_CHANGE


def change_signal(now: float | None, before: float | None, policy: Policy, share_now: float = 0.5,
                  dispersion: float = 1.0, p_adjusted: float | None = None,
                  missing: str | None = None) -> ChangeSignal:
    """The published signal for ``now`` against ``before``; ``missing`` (a reason) when either period lacks data."""
    if missing is not None or now is None or before is None or pd.isna(now) or pd.isna(before):
        return ChangeSignal(now=now, before=before, p=None, p_adjusted=None, dispersion=dispersion, label=MISSING,
                            direction="", percent=None, missing=missing or "uppgift saknas")
    p = conditional_p(now, before, share_now, dispersion)
    p_adj = p if p_adjusted is None else p_adjusted
    label = label_for(p_adj, policy)
    expected_now = (now + before) * share_now
    direction = "" if label == NO_CHANGE else ("ökning" if now > expected_now else "minskning")
    percent = None
    if before >= policy.min_base_for_percent and before > 0:
        percent = (now - before) / before * 100.0
    return ChangeSignal(now=now, before=before, p=p, p_adjusted=p_adj, dispersion=dispersion, label=label,
                        direction=direction, percent=percent)


@dataclass(frozen=True)
class Dispersion:
    value: float
    df: int           # residual degrees of freedom of the fit (0 when the default was used)
    estimated: bool   # False: the configured default (history too short)

    def text(self) -> str:
        if not self.estimated:
            return f"{fmt_number(self.value, 1)} (standardvärde, för kort historik)"
        return f"{fmt_number(self.value, 1)}"


def estimate_dispersion(counts: dict[tuple[int, int], float], policy: Policy) -> Dispersion:
    """Dispersion φ of quarterly counts {(year, quarter): count} around a year + season model (quasi-Poisson).

    The main-effects log-linear Poisson model μ(y, q) = r_y × c_q is fitted by iterative proportional fitting on the
    observed cells (its maximum-likelihood fit); φ = Pearson X² / (cells − years − 4 + 1), never below the floor.
    With fewer residual degrees of freedom than the policy's minimum, or no counts, the configured default is used.
    """
    cells = {k: float(v) for k, v in counts.items() if v is not None and not pd.isna(v)}
    years = sorted({y for y, _ in cells})
    seasons = sorted({q for _, q in cells})
    df = len(cells) - (len(years) + len(seasons) - 1)
    total = sum(cells.values())
    if df < policy.dispersion_min_df or total <= 0:
        return Dispersion(max(policy.dispersion_default, policy.dispersion_floor), 0, False)
    r = {y: 1.0 for y in years}
    c = {q: 1.0 for q in seasons}
    for _ in range(200):
        new_r = {}
        for y in years:
            den = sum(c[q] for (yy, q) in cells if yy == y)
            new_r[y] = sum(v for (yy, _), v in cells.items() if yy == y) / den if den else 0.0
        new_c = {}
        for q in seasons:
            den = sum(new_r[y] for (y, qq) in cells if qq == q)
            new_c[q] = sum(v for (_, qq), v in cells.items() if qq == q) / den if den else 0.0
        delta = max(abs(new_r[y] - r[y]) for y in years) + max(abs(new_c[q] - c[q]) for q in seasons)
        r, c = new_r, new_c
        if delta < 1e-10:
            break
    x2 = 0.0
    for (y, q), v in cells.items():
        mu = r[y] * c[q]
        if mu > 0:
            x2 += (v - mu) ** 2 / mu
    return Dispersion(max(policy.dispersion_floor, x2 / df), df, True)


def survey_change_se(share1: float, se1: float, share2: float, se2: float,
                     z: float = 1.959964) -> tuple[float, float, float, bool]:
    """Change between two survey rounds from their (unclipped, Kish effective n) standard errors.

    Returns (difference, low, high, supported): a change only when the interval of the difference excludes 0.
    """
    diff = share2 - share1
    half = z * math.sqrt(se1 ** 2 + se2 ** 2)
    return diff, diff - half, diff + half, (diff - half > 0) or (diff + half < 0)


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
