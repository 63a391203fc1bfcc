"""Feed contracts and profiles.

A *contract* (``sources/<feed>/contract.yaml``) says what the warehouse accepts for a feed: columns, types,
required, allowed values (inline or from a shipped taxonomy), natural key and revision scope.
A *profile* (``sources/<feed>/profiles/*.yaml``) maps one real export onto the contract: header names, value maps,
date formats, null markers. Both are validated by their typed
models (``sources/schemas.py``); ``sources/coerce.py`` applies them to a file's cells.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from sources.schemas import COLUMN_TYPES, ContractSpec, ProfileSpec, validate
from sources.yamlfile import FileFormatError, read_mapping
from sources.taxonomy import allowed_values, name_to_code

SOURCES_DIR = Path(__file__).resolve().parent
# Python's \s spelt out (the same characters), so pandas can hand it to Arrow's regex engine (RE2's \s is ASCII)
WHITESPACE = re.compile("[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
# Brå's cell markers in published tables
STATUS_MARKERS = {"..": "skyddad uppgift (..)", "-": "uppgift saknas (-)", ".": "uppgift saknas (.)"}
WIDE_PERIOD, WIDE_VALUE, WIDE_PRELIMINARY, WIDE_STATUS = "__period", "__value", "__preliminary", "__status"


class ContractError(ValueError):
    """A contract or profile file is malformed (a maintainer's error, not a coordinator's)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    allowed: tuple[str, ...] | None = None
    allowed_from: str | None = None
    min: float | None = None
    max: float | None = None
    pad: int | None = None
    default: Any = None
    not_future: bool = False
    free_text: bool = False

    def allowed_set(self) -> frozenset[str] | None:
        if self.allowed is not None:
            return frozenset(self.allowed)
        if self.allowed_from:
            return allowed_values(self.allowed_from)
        return None

    @property
    def duckdb_type(self) -> str:
        return COLUMN_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    feed: str
    title: str
    description: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    revision_scope: tuple[str, ...]
    period_column: str | None = None
    # how a new file replaces earlier rows: "scope" (every earlier row in the revision scope × period the file
    # covers) or "natural_key" (only earlier rows with the same key: for feeds delivered in overlapping pieces)
    revision_by: str = "scope"
    period_grain: str | None = None
    aggregate_only: bool = False
    label: str = ""                          # the feed's name on pages (Swedish, short)
    freshness_expected: str | None = None    # how often files arrive, as the quality page says it ("varje vecka")
    freshness_days: int | None = None        # a feed whose newest file is older than this is shown as late

    @property
    def display_label(self) -> str:
        return self.label or self.title

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required and c.default is None]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Profile:
    name: str
    feed: str
    title: str
    columns: dict[str, tuple[str, ...]]
    value_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    datetime_formats: tuple[str, ...] = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")
    null_values: tuple[str, ...] = ("",)
    sheet: str | None = None
    path: Path | None = None
    constants: dict[str, str] = field(default_factory=dict)       # column -> fixed value for every row
    compose: dict[str, str] = field(default_factory=dict)         # column -> template with {Header} fields
    patterns: dict[str, str] = field(default_factory=dict)        # column -> regex; group 1 is kept
    lookups: dict[str, str] = field(default_factory=dict)         # column -> name list (names -> codes)
    synthetic_key: dict[str, Any] = field(default_factory=dict)   # {column, from: [headers]}: stable id
    signature: tuple[str, ...] = ()                               # headers that must all be present
    unpivot: dict[str, Any] = field(default_factory=dict)         # wide files: {pattern, into, value, preliminary}

    def provided(self) -> set[str]:
        """Contract columns filled without a header of their own."""
        out = set(self.constants) | set(self.compose)
        if self.unpivot:
            out |= {self.unpivot["into"], self.unpivot["value"]} | ({self.unpivot["preliminary"]}
                                                                   if self.unpivot.get("preliminary") else set())
        if self.synthetic_key:
            out.add(self.synthetic_key["column"])
        return out

    def match(self, headers: list[str], contract: Contract) -> tuple[dict[str, str], list[str]]:
        """Map contract columns to file headers. Returns (mapping, missing required contract columns)."""
        normalized = {normalize_header(h): h for h in headers}
        mapping: dict[str, str] = {}
        for col, alternatives in self.columns.items():
            for alt in alternatives:
                if normalize_header(alt) in normalized:
                    mapping[col] = normalized[normalize_header(alt)]
                    break
        missing = [c for c in contract.required if c not in mapping and c not in self.provided()]
        missing += [f"[{h}]" for h in self.signature if normalize_header(h) not in normalized]
        for template in self.compose.values():
            missing += [f"[{h}]" for h in re.findall(r"{([^}]+)}", template) if normalize_header(h) not in normalized]
        if self.synthetic_key:
            missing += [f"[{h}]" for h in self.synthetic_key.get("from", []) if normalize_header(h) not in normalized]
        if self.unpivot and not self.wide_columns(headers):
            missing.append("[" + self.unpivot.get("label", "årskolumner") + "]")
            return mapping, missing
        if self.unpivot:  # the cells under the year columns are not mapped by name
            mapping[self.unpivot["into"]] = WIDE_PERIOD
            mapping[self.unpivot["value"]] = WIDE_VALUE
            if self.unpivot.get("preliminary"):
                mapping[self.unpivot["preliminary"]] = WIDE_PRELIMINARY
            if self.unpivot.get("status"):
                mapping[self.unpivot["status"]] = WIDE_STATUS
        return mapping, missing

    def wide_columns(self, headers: list[str]) -> dict[str, tuple[str, bool]]:
        """Wide headers -> (period text, preliminary?) for a profile with ``unpivot``."""
        out = {}
        for h in headers:
            m = re.fullmatch(self.unpivot["pattern"], str(h).strip())
            if m:
                out[h] = (m.group(1), bool(m.lastindex and m.lastindex > 1 and m.group(2)))
        return out

    def reshape(self, frame: pd.DataFrame, row_numbers: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
        """Wide -> long: one row per (file row, period column); the file row number is kept for every cell."""
        if not self.unpivot:
            return frame, row_numbers
        wide = self.wide_columns(list(frame.columns))
        ids = [c for c in frame.columns if c not in wide]
        base = frame[ids].copy()
        base["__row"] = row_numbers.values
        parts = []
        for header, (period, prelim) in wide.items():
            part = base.copy()
            part[WIDE_PERIOD] = period
            part[WIDE_VALUE] = frame[header].values
            part[WIDE_PRELIMINARY] = "ja" if prelim else "nej"
            cells = frame[header].astype("string").str.strip()
            status = cells.where(~cells.str.fullmatch(r"[\d\s\u00a0.,\-−]*\d[\d\s\u00a0.,]*").fillna(True)
                                 & cells.ne(""), None)
            part[WIDE_STATUS] = status.map(lambda v: STATUS_MARKERS.get(v, v) if isinstance(v, str) else v).values
            parts.append(part)
        long = pd.concat(parts, ignore_index=True).sort_values("__row", kind="stable").reset_index(drop=True)
        return long.drop(columns="__row").astype("string"), long["__row"].astype("int64")

    def expected_header(self, column: str) -> str:
        if column.startswith("[") and column.endswith("]"):
            return column[1:-1]
        return self.columns.get(column, (column,))[0]

    def canonical_frame(self, frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
        """The file's cells under contract column names, with constants, templates, patterns and keys applied."""
        by_norm = {normalize_header(h): h for h in frame.columns}
        out = pd.DataFrame({col: frame[header].astype("string") for col, header in mapping.items()
                            if header in frame.columns}, index=frame.index)
        for col, value in self.constants.items():
            if col not in out.columns:
                out[col] = pd.Series(str(value), index=frame.index, dtype="string")
        for col, template in self.compose.items():
            text = pd.Series(template, index=frame.index, dtype="string")
            for f in re.findall(r"{([^}]+)}", template):
                text = _substitute(text, "{" + f + "}", frame[by_norm[normalize_header(f)]])
            out[col] = text
        for col, pattern in self.patterns.items():
            if col in out.columns:  # a value the pattern does not match is kept, so the type check reports it
                extracted = out[col].str.extract(pattern, expand=False)
                out[col] = extracted.where(extracted.notna(), out[col]).astype("string")
        for col, list_name in self.lookups.items():
            if col in out.columns:
                names = name_to_code(list_name)
                mapped = out[col].str.strip().str.casefold().map(names)
                out[col] = mapped.where(mapped.notna(), out[col]).astype("string")
        if self.synthetic_key:
            headers = [by_norm[normalize_header(h)] for h in self.synthetic_key.get("from", [])]
            joined = frame[headers].astype("string").fillna("").agg("\x1f".join, axis=1)
            digest = joined.map(lambda v: hashlib.sha1(v.encode("utf-8")).hexdigest()[:16])
            occurrence = digest.groupby(digest).cumcount() + 1
            out[self.synthetic_key["column"]] = (digest + "-" + occurrence.astype(str)).astype("string")
        return out


def _substitute(text: pd.Series, placeholder: str, values: pd.Series) -> pd.Series:
    vals = values.astype("string").fillna("").str.strip()
    return pd.Series([t.replace(placeholder, v) for t, v in zip(text, vals)], index=text.index, dtype="string")


def normalize_header(h: str) -> str:
    return WHITESPACE.sub(" ", str(h).replace("\ufeff", "")).strip().casefold()


def _validated(model, path: Path):
    """The file read with its lines and validated by its typed model (sources/schemas.py): an unknown or missing
    key, or a value of the wrong kind, is a ContractError naming file, line and field."""
    try:
        return validate(model, read_mapping(path), path)
    except FileFormatError as exc:
        raise ContractError(str(exc)) from exc


@lru_cache(maxsize=None)
def load_contract(feed: str) -> Contract:
    path = SOURCES_DIR / feed / "contract.yaml"
    if not path.exists():
        raise ContractError(f"no contract for feed {feed!r} ({path})")
    spec = _validated(ContractSpec, path)
    cols = tuple(Column(
        name=c.name, type=c.type, required=c.required, description=c.description,
        allowed=tuple(str(v) for v in c.allowed) if c.allowed is not None else None,
        allowed_from=c.allowed_from, min=c.min, max=c.max, pad=c.pad, default=c.default,
        not_future=c.not_future, free_text=c.free_text) for c in spec.columns)
    names = {c.name for c in cols}
    for k in spec.natural_key + spec.revision_scope:
        if k not in names:
            raise ContractError(f"{path}: key column {k!r} is not a contract column")
    revision_by = spec.revision.by if spec.revision else "scope"
    if revision_by == "natural_key" and not spec.natural_key:
        raise ContractError(f"{path}: revision.by natural_key needs a natural_key")
    return Contract(
        feed=spec.feed, title=spec.title, label=spec.label, description=spec.description.strip(),
        freshness_expected=spec.freshness.expected if spec.freshness else None,
        freshness_days=spec.freshness.max_age_days if spec.freshness else None,
        columns=cols, natural_key=tuple(spec.natural_key), revision_scope=tuple(spec.revision_scope),
        period_column=spec.period.column if spec.period else None,
        period_grain=spec.period.grain if spec.period else None,
        aggregate_only=spec.aggregate_only, revision_by=revision_by,
    )


def _profile(path: Path) -> Profile:
    spec = _validated(ProfileSpec, path)
    contract = load_contract(spec.feed)
    cols = {k: tuple([v] if isinstance(v, str) else v) for k, v in spec.columns.items()}
    unknown = set(cols) - set(contract.column_names)
    if unknown:
        raise ContractError(f"{path}: profile maps unknown contract columns {sorted(unknown)}")
    for key in ("constants", "compose", "patterns", "lookups"):
        unknown_cols = set(getattr(spec, key)) - set(contract.column_names)
        if unknown_cols:
            raise ContractError(f"{path}: {key} names unknown contract columns {sorted(unknown_cols)}")
    kw: dict[str, Any] = {key: tuple(str(v) for v in getattr(spec, key))
                          for key in ("date_formats", "datetime_formats", "null_values") if getattr(spec, key) is not None}
    return Profile(name=spec.name, feed=spec.feed, title=spec.title or spec.name, columns=cols,
                   value_maps={k: {str(a): b for a, b in v.items()} for k, v in spec.value_maps.items()},
                   sheet=spec.sheet, path=path, constants={k: str(v) for k, v in spec.constants.items()},
                   compose=dict(spec.compose), patterns=dict(spec.patterns), lookups=dict(spec.lookups),
                   synthetic_key=spec.synthetic_key.model_dump(by_alias=True) if spec.synthetic_key else {},
                   signature=tuple(spec.signature),
                   unpivot=spec.unpivot.model_dump(exclude_none=True) if spec.unpivot else {}, **kw)


@lru_cache(maxsize=None)
def load_profiles(feed: str) -> tuple[Profile, ...]:
    folder = SOURCES_DIR / feed / "profiles"
    return tuple(_profile(p) for p in sorted(folder.glob("*.yaml")))


def all_feeds() -> list[str]:
    return sorted(p.parent.name for p in SOURCES_DIR.glob("*/contract.yaml"))
