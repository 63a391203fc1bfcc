"""Coercion: a frame of strings under contract column names -> typed rows, plus a quarantine list naming row,
column, raw value and reason for every cell that broke the contract (a row with two bad cells is one quarantined
row with two reasons). Dates and times are read as written in Sweden (Europe/Stockholm)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from sources.contract import WHITESPACE, Contract, ContractError, Profile
from sources.privacy import mask_personnummer_series
from sources.taxonomy import list_label

TYPE_WORDS = {"integer": "ett heltal", "number": "ett tal", "date": "ett datum (ÅÅÅÅ-MM-DD)",
              "datetime": "en tidpunkt (ÅÅÅÅ-MM-DD TT:MM)", "month": "en månad (ÅÅÅÅ-MM)",
              "boolean": "ja/nej"}
TRUE_WORDS = {"1", "ja", "j", "true", "sant", "yes", "y", "x"}
FALSE_WORDS = {"0", "nej", "n", "false", "falskt", "no"}


class ConservationError(RuntimeError):
    """Rows read != rows loaded + rows quarantined: a bug, never a data problem; the file is rolled back (raised by
    both ingest paths, sources/ingest.py and sources/sqlingest.py)."""


@dataclass
class Coerced:
    rows: pd.DataFrame          # typed rows that passed, with "_row" (row number in the file)
    quarantine: pd.DataFrame    # _row, column, raw_value, reason (one line per failing cell)
    quarantined_rows: int
    masked: int                 # personal identity numbers masked in free-text columns


def _clean(series: pd.Series, nulls: tuple[str, ...]) -> pd.Series:
    s = series.astype("string").str.strip()
    s = s.str.replace("\ufeff", "", regex=False)
    return s.mask(s.isin(nulls) | (s == ""))


# A number written plainly (ASCII digits, an optional sign and decimal point): the full parse below would change
# nothing in it (no space, comma or minus sign to rewrite), so it is read as it is. Most export columns are plain
# integers, which Arrow converts about thirty times faster than pandas' to_numeric; the full parse's passes over the
# text and to_numeric were a seventh of a crime file's ingest.
_PLAIN_INTEGER = r"[+-]?[0-9]+"
_PLAIN_NUMBER = r"[+-]?[0-9]+(?:\.[0-9]+)?"


def parse_number(s: pd.Series) -> pd.Series:
    """Swedish and international spellings: "1 234,5", "1.234,5", "1234.5", "−3" (the typographic minus). The result
    is always the full parse's (values and dtype; tests/test_reader_properties.py), only faster on plain columns."""
    present = s.dropna()
    if len(present) and bool(present.str.fullmatch(_PLAIN_INTEGER).all()):
        fast = _arrow_integers(s)
        return fast if fast is not None else pd.to_numeric(s, errors="coerce")
    if bool(present.str.fullmatch(_PLAIN_NUMBER).all()):
        return pd.to_numeric(s, errors="coerce")
    return _parse_number_written(s)


def _arrow_integers(s: pd.Series) -> pd.Series | None:
    """Plain integers as pandas' Int64 (what to_numeric gives them), or None beyond int64 (to_numeric decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        ints = pc.cast(pa.array(s.array), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    mask = ints.is_null().to_numpy(zero_copy_only=False)
    values = ints.fill_null(0).to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(values, mask), index=s.index, name=s.name)


def _parse_number_written(s: pd.Series) -> pd.Series:
    t = s.str.replace(WHITESPACE.pattern, "", regex=True)  # the pattern text: a compiled one runs in Python
    both = t.str.contains(",", regex=False) & t.str.contains(".", regex=False)
    t = t.mask(both, t.str.replace(".", "", regex=False))
    t = t.str.replace(",", ".", regex=False)
    t = t.str.replace("\u2212", "-", regex=False)
    return pd.to_numeric(t, errors="coerce")


LOCAL_TZ = "Europe/Stockholm"


_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def _naive_local(parsed: pd.Series) -> pd.Series:
    """Timestamps with an offset become Swedish local time without offset (what the pages show)."""
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return parsed.astype("datetime64[us]")


def _parse_dates(s: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    rest = s.notna()
    for fmt in formats:
        if not rest.any():
            break
        parsed = _naive_local(pd.to_datetime(s[rest], format=fmt, errors="coerce", utc="%z" in fmt))
        out.loc[parsed.index] = out.loc[parsed.index].fillna(parsed)
        rest = s.notna() & out.isna()
    return out


def _parse_iso(s: pd.Series) -> pd.Series:
    """ISO 8601 fallback; values with an offset are converted to local time, naive values kept as they are."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    offset = s.str.contains(_HAS_OFFSET, regex=True).fillna(False).astype(bool)
    if offset.any():
        out.loc[offset] = _naive_local(pd.to_datetime(s[offset], format="ISO8601", errors="coerce", utc=True))
    naive = ~offset & s.notna()
    if naive.any():
        out.loc[naive] = pd.to_datetime(s[naive], format="ISO8601", errors="coerce").astype("datetime64[us]")
    return out


def _parse_month(s: pd.Series) -> pd.Series:
    t = s.str.replace(r"^(\d{4})(\d{2})$", r"\1-\2", regex=True).str.slice(0, 7)
    return _parse_dates(t, ("%Y-%m",))


def _parse_boolean(s: pd.Series) -> pd.Series:
    low = s.str.casefold()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(TRUE_WORDS)] = True
    out[low.isin(FALSE_WORDS)] = False
    return out


def _fmt(v: Any) -> str:
    """A number as a Swedish reader writes it: 100 000, 69,5."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        return f"{v:,}".replace(",", "\u00a0")
    return str(v).replace(".", ",")


def coerce(frame: pd.DataFrame, row_numbers: pd.Series, contract: Contract, profile: Profile,
           today: date | None = None) -> Coerced:
    """Type every contract column of ``frame`` (string cells, contract column names)."""
    today = today or date.today()
    n = len(frame)
    index = frame.index
    typed: dict[str, pd.Series] = {}
    errors: list[pd.DataFrame] = []
    masked_total = 0

    def fail(mask: pd.Series, column: str, raw: pd.Series, reasons: pd.Series | str) -> None:
        if not mask.any():
            return
        r = reasons[mask] if isinstance(reasons, pd.Series) else pd.Series(reasons, index=index[mask])
        errors.append(pd.DataFrame({"_idx": index[mask], "column": column,
                                    "raw_value": raw[mask].astype("string").fillna(""), "reason": r.values}))

    for col in contract.columns:
        raw = frame[col.name] if col.name in frame.columns else pd.Series(pd.NA, index=index, dtype="string")
        s = _clean(raw, profile.null_values)
        vmap = profile.value_maps.get(col.name)
        if vmap:
            folded = {str(k).casefold(): v for k, v in vmap.items()}
            mapped = s.str.casefold().map(folded)
            s = mapped.where(mapped.notna(), s).astype("string")
        if col.default is not None:
            s = s.fillna(str(col.default).lower() if isinstance(col.default, bool) else str(col.default))
        if col.pad:
            digits = s.str.fullmatch(r"\d+").fillna(False).astype(bool)
            s = s.mask(digits, s.str.zfill(col.pad))
        present = s.notna()

        if col.type == "string":
            value = s
            if col.free_text:
                value, masked = mask_personnummer_series(value)
                masked_total += masked
        elif col.type == "integer":
            num = parse_number(s)
            bad = present & (num.isna() | (num.notna() & (num % 1 != 0)))
            fail(bad, col.name, raw, f"värdet är inte {TYPE_WORDS['integer']}")
            value = num.where(~bad).astype("Int64") if not bad.all() else pd.Series(pd.NA, index=index, dtype="Int64")
            present &= ~bad
        elif col.type == "number":
            value = parse_number(s).astype("Float64")
            bad = present & value.isna()
            fail(bad, col.name, raw, f"värdet är inte {TYPE_WORDS['number']}")
            present &= ~bad
        elif col.type in ("date", "datetime"):
            formats = profile.date_formats if col.type == "date" else profile.datetime_formats
            value = _parse_dates(s, formats)
            if col.type == "datetime":
                rest = present & value.isna()
                if rest.any():
                    value.loc[rest] = _parse_iso(s[rest])
            bad = present & value.isna()
            fail(bad, col.name, raw, f"värdet är inte {TYPE_WORDS[col.type]}")
            present &= ~bad
            if col.not_future:
                future = present & (value >= pd.Timestamp(today) + pd.Timedelta(days=1)).fillna(False)
                fail(future, col.name, raw, f"datumet ligger efter dagens datum ({today.isoformat()})")
        elif col.type == "month":
            value = _parse_month(s)
            bad = present & value.isna()
            fail(bad, col.name, raw, f"värdet är inte {TYPE_WORDS['month']}")
            present &= ~bad
            if col.not_future:
                future = present & (value >= pd.Timestamp(today) + pd.Timedelta(days=1)).fillna(False)
                fail(future, col.name, raw, "månaden ligger efter innevarande månad")
        elif col.type == "boolean":
            value = _parse_boolean(s)
            bad = present & value.isna()
            fail(bad, col.name, raw, f"värdet är inte {TYPE_WORDS['boolean']}")
            present &= ~bad
        else:  # pragma: no cover - guarded by load_contract
            raise ContractError(col.type)

        if col.required:
            fail(s.isna(), col.name, raw, "värde saknas i en obligatorisk kolumn")
        if col.type in ("integer", "number") and (col.min is not None or col.max is not None):
            v = value.astype("Float64")
            lo = v < col.min if col.min is not None else pd.Series(False, index=index)
            hi = v > col.max if col.max is not None else pd.Series(False, index=index)
            out_of_range = present & (lo.fillna(False) | hi.fillna(False)).astype(bool)
            fail(out_of_range, col.name, raw,
                 f"värdet ligger utanför det tillåtna intervallet {_fmt(col.min) if col.min is not None else '…'}"
                 f"–{_fmt(col.max) if col.max is not None else '…'}")
        allowed = col.allowed_set()
        if allowed is not None:
            unknown = present & ~s.isin(allowed)
            listname = list_label(col.allowed_from) if col.allowed_from else "tillåtna värden"
            if col.allowed is not None and len(col.allowed) <= 8:
                listname = ", ".join(col.allowed)
            fail(unknown, col.name, raw, pd.Series(f"okänt värde; finns inte i kodlistan ({listname})", index=index))
        typed[col.name] = value

    # duplicates of the natural key inside the file: the first occurrence wins
    err = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame(columns=["_idx", "column", "raw_value", "reason"])
    bad_idx = set(err["_idx"].tolist())
    if contract.natural_key and n:
        key = pd.DataFrame({k: typed[k] for k in contract.natural_key}, index=index)
        ok = ~index.isin(list(bad_idx))
        kf = key[ok]
        dup = kf.duplicated(keep="first")
        if dup.any():
            # vectorised (a file of a million duplicate rows must not become a million Python lookups):
            # the index of each key's first occurrence, by grouping on the key columns
            pos = pd.Series(kf.index, index=kf.index)
            first = pos.groupby([kf[k] for k in contract.natural_key], dropna=False, sort=False).transform("first")
            dup_idx = dup[dup].index
            first_rows = row_numbers.loc[first[dup].to_numpy()].astype("int64").astype(str).to_numpy()
            shown = kf.loc[dup_idx, contract.natural_key[0]].map(str)
            for k in contract.natural_key[1:]:
                shown = shown + " | " + kf.loc[dup_idx, k].map(str)
            reasons = f"dubblett: samma nyckel ({', '.join(contract.natural_key)}) som rad " + pd.Series(first_rows)
            err = pd.concat([err, pd.DataFrame({"_idx": dup_idx, "column": ",".join(contract.natural_key),
                                                 "raw_value": shown.to_numpy(),
                                                 "reason": reasons.to_numpy()})], ignore_index=True)
            bad_idx |= set(dup_idx.tolist())

    good = ~index.isin(list(bad_idx))
    rows = pd.DataFrame(typed, index=index)[good].copy()
    rows.insert(0, "_row", row_numbers[good].astype("int64").values)
    quarantine = pd.DataFrame({
        "_row": row_numbers.loc[err["_idx"]].astype("int64").values if len(err) else pd.Series([], dtype="int64"),
        "column": err["column"].astype(str).values, "raw_value": err["raw_value"].astype(str).values,
        "reason": err["reason"].astype(str).values,
    }).sort_values(["_row", "column"], kind="stable").reset_index(drop=True)
    return Coerced(rows=rows.reset_index(drop=True), quarantine=quarantine,
                   quarantined_rows=len(bad_idx), masked=masked_total)
