"""Rebuild the shipped reference taxonomies in ``data/reference/`` from public code lists.

Codes and names are public facts (police crime codes, SCB municipality codes); the product ships its own
derived files so that it runs without ``../shared``. Run by a maintainer, not at pipeline time::

    python -m sources.reference.build ../shared/data/real

Inputs: ``region-dalarna-brott/brott_niva_nyckel.csv`` (crime-code tree) and
``geo-kommuner/municipality_county.csv`` (municipality and county codes).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "data" / "reference"

# Level-2 branches of the crime-code tree that are not crimes in Brå's statistics
# (wildlife accidents and other local traffic codes registered in the police system).
NOT_CRIME_LEVEL2 = {"Lokala trafikkoder"}


def build_crime_codes(tree_csv: Path, out: Path) -> int:
    levels: dict[str, dict[int, str]] = {}
    question: dict[str, str] = {}
    with tree_csv.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["Brottskod"].strip().zfill(4)
            level = int(row["Brott_niva"])
            levels.setdefault(code, {})[level] = row["Brottskategorier_namn"].strip()
            if level == 1 and row["Frågeområde_namn"].strip():
                question[code] = row["Frågeområde_namn"].strip()
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["crime_code", "level1", "level2", "level3", "level4", "crime_name",
                    "question_area", "counts_as_crime"])
        for code in sorted(levels):
            lv = levels[code]
            w.writerow([code, lv.get(1, ""), lv.get(2, ""), lv.get(3, ""), lv.get(4, ""), lv.get(5, ""),
                        question.get(code, ""), "false" if lv.get(2) in NOT_CRIME_LEVEL2 else "true"])
    return len(levels)


def build_municipalities(src: Path, out: Path) -> int:
    with src.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["municipality_code", "municipality_name", "county_code", "county_name"])
        for r in sorted(rows, key=lambda r: r["municipality_code"]):
            w.writerow([r["municipality_code"].zfill(4), r["municipality_name_short"],
                        r["county_code"].zfill(2), r["county_name"]])
    return len(rows)


def main(argv: list[str]) -> int:
    real = Path(argv[1] if len(argv) > 1 else "../shared/data/real")
    n1 = build_crime_codes(real / "region-dalarna-brott" / "brott_niva_nyckel.csv", REFERENCE_DIR / "crime_codes.csv")
    n2 = build_municipalities(real / "geo-kommuner" / "municipality_county.csv", REFERENCE_DIR / "municipalities.csv")
    print(f"crime_codes.csv: {n1} codes; municipalities.csv: {n2} municipalities")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
