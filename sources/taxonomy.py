"""Shipped reference taxonomies (``data/reference/*.csv``): code lists that contracts validate against."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from sources.db import run

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"

# name used in contracts (allowed_from) -> (file, column, optional filter column=value)
_LISTS: dict[str, tuple[str, str, tuple[str, str] | None]] = {
    "municipalities": ("municipalities.csv", "municipality_code", None),
    "crime_codes": ("crime_codes.csv", "crime_code", None),
    "est_categories": ("est_categories.csv", "category", None),
    "est_subcategories": ("est_categories.csv", "subcategory", None),
    "concern_reasons": ("concern_reasons.csv", "reason", None),
    "concern_age_bands": ("age_bands.csv", "age_band", ("scheme", "concern")),
    "population_age_bands": ("age_bands.csv", "age_band", ("scheme", "population")),
    "survey_items": ("survey_items.csv", "item", None),
}

# Reference tables loaded into the warehouse schema ``ref`` (file stem = table name).
REFERENCE_TABLES = ["municipalities", "crime_codes", "est_categories", "concern_reasons", "age_bands",
                    "survey_items", "series_breaks"]


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=None)
def allowed_values(list_name: str) -> frozenset[str]:
    if list_name == "geographies":
        return frozenset(geographies())
    if list_name not in _LISTS:
        raise KeyError(f"unknown reference list {list_name!r}; known: {sorted(_LISTS)}")
    file, column, flt = _LISTS[list_name]
    rows = read_reference(Path(file).stem)
    if flt:
        rows = [r for r in rows if r[flt[0]] == flt[1]]
    return frozenset(r[column] for r in rows)


COUNTRY_CODE = "00"
COUNTRY_NAMES = ("Hela landet", "Riket", "Sverige", "Hela riket")


@lru_cache(maxsize=None)
def geographies() -> dict[str, tuple[str, str]]:
    """Every geography a figure can belong to: code -> (level, name). Levels: kommun, län, riket."""
    out: dict[str, tuple[str, str]] = {COUNTRY_CODE: ("riket", "Hela landet")}
    for r in read_reference("municipalities"):
        out[r["municipality_code"]] = ("kommun", r["municipality_name"])
        out[r["county_code"]] = ("län", r["county_name"])
    return out


@lru_cache(maxsize=None)
def name_to_code(list_name: str) -> dict[str, str]:
    """Case-folded names (in the forms exports use) -> code, for profile ``lookups``."""
    names: dict[str, str] = {}
    rows = read_reference("municipalities")
    if list_name in ("municipalities", "geographies"):
        for r in rows:
            code, name = r["municipality_code"], r["municipality_name"]
            for form in (name, f"{name} kommun", f"{name}s kommun", code):
                names.setdefault(form.casefold(), code)
    if list_name == "geographies":
        for r in rows:
            county = r["county_name"]  # "Dalarnas län"
            for form in (county, county.removesuffix(" län"), county.removesuffix("s län"), r["county_code"]):
                names.setdefault(form.casefold(), r["county_code"])
        for form in COUNTRY_NAMES:
            names[form.casefold()] = COUNTRY_CODE
    if not names:
        raise KeyError(f"unknown name list {list_name!r}")
    return names



_BOOLEAN_COLUMNS = {"counts_as_crime", "higher_is_worse"}


def load_reference_tables(con) -> dict[str, int]:
    """(Re)load every shipped reference table into schema ``ref`` in one transaction; returns row counts."""
    import pandas as pd

    counts = {}
    con.begin()
    try:
        run(con, "CREATE SCHEMA IF NOT EXISTS ref")
        for name in REFERENCE_TABLES:
            frame = pd.read_csv(REFERENCE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
            for col in _BOOLEAN_COLUMNS & set(frame.columns):
                frame[col] = frame[col].str.lower().eq("true")
            con.register("_ref_frame", frame)
            run(con, f'CREATE OR REPLACE TABLE ref."{name}" AS SELECT * FROM _ref_frame')
            con.unregister("_ref_frame")
            counts[name] = len(frame)
        from sources.policy import policy_rows  # publication policy, for SQL models (ref.policy)

        con.register("_policy", pd.DataFrame(policy_rows()))
        run(con, "CREATE OR REPLACE TABLE ref.policy AS SELECT * FROM _policy")
        con.unregister("_policy")
        con.commit()
    except Exception:
        con.rollback()
        raise
    return counts
