"""Swedish number, date and period formats for everything a reader sees: ``1 234,5``, ``kv. 3 2026``."""
from __future__ import annotations

from sources.quarter import Quarter

import math
from datetime import date, datetime

NBSP = "\u00a0"


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",").replace("-", "\u2212")


def fmt_int(value) -> str:
    return fmt_number(value, 0)


def fmt_percent(share: float | None, decimals: int = 0) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{fmt_number(share * 100, decimals)}{NBSP}%"


def quarter_label(year: int, quarter: int) -> str:
    """ "kv. 3 2026" (sources/quarter.py is the one quarter vocabulary)."""
    return Quarter(int(year), int(quarter)).label


def quarter_key(year: int, quarter: int) -> int:
    """Consecutive quarters, consecutive numbers (``Quarter.seq``)."""
    return Quarter(int(year), int(quarter)).seq


def fmt_date(d: date | datetime | None) -> str:
    if d is None:
        return "–"
    if isinstance(d, datetime):
        return d.strftime("%Y-%m-%d %H:%M")
    return d.isoformat()
