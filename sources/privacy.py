"""Personal data at the door: Swedish personal identity numbers (personnummer, samordningsnummer).

A candidate is 10 or 12 digits, optionally with ``-`` or ``+`` before the last four, whose Luhn checksum
(over the 10-digit form) is valid and whose month is 01–12 (day 01–31, or 61–91 for samordningsnummer).
Free-text fields are masked before storage; the count of masked numbers is recorded per file.
"""
from __future__ import annotations

import re

import pandas as pd

PNR_PATTERN = re.compile(r"(?<![\d])(\d{2})?(\d{2})(\d{2})(\d{2})[-+ ]?(\d{4})(?![\d])")
_CANDIDATE = r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)"
MASK = "[personnummer borttaget]"


def luhn_ok(ten_digits: str) -> bool:
    total = 0
    for i, ch in enumerate(ten_digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _is_pnr(m: re.Match) -> bool:
    century, yy, mm, dd, last = m.groups()
    if century is not None and century not in ("18", "19", "20"):
        return False
    month, day = int(mm), int(dd)
    if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
        return False
    return luhn_ok(yy + mm + dd + last)


def find_personnummer(text: str) -> list[str]:
    return [m.group(0) for m in PNR_PATTERN.finditer(text) if _is_pnr(m)]


def mask_personnummer(text: str) -> tuple[str, int]:
    count = 0

    def repl(m: re.Match) -> str:
        nonlocal count
        if _is_pnr(m):
            count += 1
            return MASK
        return m.group(0)

    return PNR_PATTERN.sub(repl, text), count


def mask_personnummer_series(s: pd.Series) -> tuple[pd.Series, int]:
    """Mask every personal identity number in a string series; returns (masked series, count)."""
    candidates = s.str.contains(_CANDIDATE, regex=True).fillna(False).astype(bool)
    if not candidates.any():
        return s, 0
    out = s.copy()
    total = 0
    for idx in s.index[candidates]:
        masked, n = mask_personnummer(str(s.loc[idx]))
        out.loc[idx] = masked
        total += n
    return out, total
