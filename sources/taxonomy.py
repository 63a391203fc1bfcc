"""Shipped reference taxonomies (``data/reference/*.csv``): code lists that contracts validate against."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from sources.db import run
from sources.meta import registered, transaction

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"

def reference_tables() -> list[str]:
    """Every shipped reference table (``data/reference/*.csv``), loaded into the warehouse as ``ref.<stem>``."""
    return sorted(p.stem for p in REFERENCE_DIR.glob("*.csv"))


@lru_cache(maxsize=None)
def code_list(list_name: str) -> dict:
    """How a contract's ``allowed_from: list_name`` resolves (``data/reference/lists.md``): ``{file, column, where,
    label, computed}`` from ``<list_name>.yaml`` beside (or instead of) ``<list_name>.csv``."""
    import yaml

    meta_path, csv_path = REFERENCE_DIR / f"{list_name}.yaml", REFERENCE_DIR / f"{list_name}.csv"
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    unknown = set(meta or {}) - {"from", "column", "where", "label", "computed"}
    if unknown:
        raise KeyError(f"{meta_path}: unknown keys {sorted(unknown)}")
    meta = meta or {}
    file = meta.get("from") or (list_name if csv_path.exists() else None)
    if file is None and not meta.get("computed"):
        known = sorted({p.stem for p in REFERENCE_DIR.glob("*.csv")} | {p.stem for p in REFERENCE_DIR.glob("*.yaml")})
        raise KeyError(f"unknown reference list {list_name!r}; known: {known}")
    column = meta.get("column")
    if file and not column:
        with (REFERENCE_DIR / f"{file}.csv").open(encoding="utf-8", newline="") as fh:
            column = next(csv.reader(fh))[0]
    return {"file": file, "column": column, "where": dict(meta.get("where") or {}),
            "label": meta.get("label") or list_name, "computed": meta.get("computed")}


def list_label(list_name: str) -> str:
    """The list's name as a coordinator reads it in a quarantine reason ("kommunkoder")."""
    try:
        return code_list(list_name)["label"]
    except KeyError:
        return list_name


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=None)
def allowed_values(list_name: str) -> frozenset[str]:
    spec = code_list(list_name)
    if spec["computed"] == "geographies":
        return frozenset(geographies())
    rows = read_reference(spec["file"])
    rows = [r for r in rows if all(r[k] == str(v) for k, v in spec["where"].items())]
    return frozenset(r[spec["column"]] for r in rows)


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
    with transaction(con):
        run(con, "CREATE SCHEMA IF NOT EXISTS ref")
        for name in reference_tables():
            frame = pd.read_csv(REFERENCE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
            for col in _BOOLEAN_COLUMNS & set(frame.columns):
                frame[col] = frame[col].str.lower().eq("true")
            with registered(con, "_ref_frame", frame):
                run(con, f'CREATE OR REPLACE TABLE ref."{name}" AS SELECT * FROM _ref_frame')
            counts[name] = len(frame)
        from sources.policy import policy_rows  # publication policy, for SQL models (ref.policy)

        with registered(con, "_policy", pd.DataFrame(policy_rows())):
            run(con, "CREATE OR REPLACE TABLE ref.policy AS SELECT * FROM _policy")
    return counts
