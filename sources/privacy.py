"""Personal data at the door: Swedish personal identity numbers (personnummer, samordningsnummer).

A candidate is a date of birth (YYMMDD or YYYYMMDD) followed by four digits, in the spellings people type: with or
without a separator before the last four (hyphen, en dash, em dash, U+2212 minus, plus, spaces around it), with
spaces, non-breaking spaces or hyphens between the digit pairs ("19 85 03 12 – 12 34", "1985-03-12-1234",
"850312 - 1234"). It is a personnummer when

* its month is 01–12 and its day is a real day of that month (29 February only in leap years when the century is
  known), or that day + 60 (samordningsnummer), and
* the Luhn checksum over the ten digits YYMMDDNNNN holds.

A checksum-invalid number or an impossible date is not a personnummer (and is left as it is).
Every text value is screened before storage (``screen_frame``); the count of masked numbers is recorded per file.
"""
from __future__ import annotations

import calendar
import re

import pandas as pd

_S = r"[ \u00a0\u2009\u202f]"                   # spaces people type between digit groups
_SEP = r"[-\u2010\u2011\u2012\u2013\u2014\u2212+]"  # hyphens, dashes, minus, plus
PNR_PATTERN = re.compile(
    rf"(?<![\d])"
    rf"(?:(\d{{2}}){_S}?)?"                     # century (optional)
    rf"(\d{{2}})(?:{_S}|{_SEP})?(\d{{2}})(?:{_S}|{_SEP})?(\d{{2}})"   # YY MM DD, maybe separated
    rf"{_S}*{_SEP}?{_S}*"                        # separator before the last four
    rf"(\d{{2}}){_S}?(\d{{2}})"                  # the last four, maybe split in pairs
    rf"(?![\d])")
# a pre-filter for the aggregate-only gate (Python's engine; each step consumes exactly one digit after at most
# three separators, so it is linear: no catastrophic backtracking)
_CANDIDATE = r"\d(?:[ \u00a0\u2009\u202f\-\u2010-\u2014\u2212+]{0,3}\d){9,}"
# The same pattern in RE2's syntax (Arrow's regex engine, run over a whole column in C), looser: look-arounds become
# a consumed non-digit or the text's edge, and only the month (01-12) and the day (01-31, or 61-91 for a
# samordningsnummer) are checked. Every value PNR_PATTERN matches with a valid date matches this, so the exact
# check (date, checksum) runs only on the few values that do.
_MM, _DD = r"(?:0[1-9]|1[0-2])", r"(?:[0-2]\d|3[01]|[6-8]\d|9[01])"
_ARROW_PREFILTER = re.sub(r"\\u([0-9a-f]{4})", r"\\x{\1}",
                          rf"(?:^|\D)(?:\d{{2}}{_S}?)?\d{{2}}(?:{_S}|{_SEP})?{_MM}(?:{_S}|{_SEP})?{_DD}"
                          rf"{_S}*{_SEP}?{_S}*\d{{2}}{_S}?\d{{2}}(?:\D|$)")
MASK = "[personnummer borttaget]"


def luhn_ok(ten_digits: str) -> bool:
    total = 0
    for i, ch in enumerate(ten_digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def valid_date(century: str | None, yy: str, mm: str, dd: str) -> bool:
    """Is (century)yy-mm-dd a real date of birth? A samordningsnummer adds 60 to the day."""
    if century is not None and century not in ("18", "19", "20"):
        return False
    month, day = int(mm), int(dd)
    if day > 60:
        day -= 60
    if not 1 <= month <= 12 or day < 1:
        return False
    if century is not None:
        last = calendar.monthrange(int(century + yy), month)[1]
    else:  # without the century, 29 February is possible in a leap year of either century
        last = calendar.monthrange(2000 + int(yy), month)[1] if month == 2 and int(yy) % 4 == 0 else \
            calendar.monthrange(2001, month)[1]
    return day <= last


def _is_pnr(m: re.Match) -> bool:
    century, yy, mm, dd, l1, l2 = m.groups()
    return valid_date(century, yy, mm, dd) and luhn_ok(yy + mm + dd + l1 + l2)


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


def mask_text(text: str) -> str:
    return mask_personnummer(text)[0]


def mask_personnummer_series(s: pd.Series) -> tuple[pd.Series, int]:
    """Mask every personal identity number in a string series; returns (masked series, count).

    The whole column is first matched in C against a looser pattern (:data:`_ARROW_PREFILTER`, Arrow's RE2);
    only the values it finds (a handful, usually none) are checked exactly (date, checksum) and rewritten."""
    hits = _prefilter(s)
    if not hits.any():
        return s, 0
    out = s.copy()
    total = 0
    for idx in s.index[hits]:
        masked, n = mask_personnummer(str(s.loc[idx]))
        if n:
            out.loc[idx] = masked
            total += n
    return out, total


def _prefilter(s: pd.Series):
    """Boolean numpy mask: the values that may hold a personnummer (a superset of those that do)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.Array.from_pandas(s)
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed objects: as text
        arr = pa.array([v if isinstance(v, str) else None for v in s.astype(object)], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, _ARROW_PREFILTER), False).to_numpy(zero_copy_only=False),
                      dtype=bool)


def screen_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Every text value of a raw table screened at the door: personnummer masked in every column (not only free
    text), so nothing unmasked reaches the warehouse, quarantine, pages, Excel or PDF. Returns (frame, count)."""
    total = 0
    out = frame
    for col in frame.columns:
        masked, n = mask_personnummer_series(frame[col])
        if n:
            if out is frame:
                out = frame.copy()
            out[col] = masked
            total += n
    return out, total
