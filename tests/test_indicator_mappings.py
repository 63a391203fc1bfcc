"""Indicator mappings a coordinator would accept (#13): every mapped code exists in the shipped code tree, every
category a filter counts is named in its label, and every crime its rationale names is in its filter."""
from __future__ import annotations

import re

import pytest

from sources.agreements import AGREEMENTS_DIR, read_yaml
from sources.taxonomy import read_reference

CODES = read_reference("crime_codes")
STOP = {"och", "eller", "mot", "av", "i", "för", "m", "exkl", "med", "utan", "inkl", "övriga", "övrigt"}
DIMS = ("level2", "level3", "crime_code", "question_area")


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.casefold()) if w not in STOP and len(w) >= 3}


def resolve(flt: dict) -> list[dict]:
    """The crime codes a filter counts: every dimension must match (AND), values within one are alternatives."""
    return [r for r in CODES if all(str(r[d]) in {str(v) for v in flt[d]} for d in DIMS if d in flt)]


def categories(flt: dict, rows: list[dict]) -> set[str]:
    """The categories a reader needs named: the filter's own level2/level3 values; for a code list, each level3
    whose codes are all included, else the level4 of the codes taken from it."""
    named = {str(v) for d in ("level2", "level3") for v in flt.get(d, [])}
    if "crime_code" in flt:
        taken = {r["crime_code"] for r in rows}
        for level3 in {r["level3"] for r in rows}:
            every = {r["crime_code"] for r in CODES if r["level3"] == level3}
            named |= {level3} if every <= taken else {r["level4"] for r in rows if r["level3"] == level3}
    return named


def crime_indicators():
    for path in sorted((AGREEMENTS_DIR / "indicators").glob("*.yaml")):
        for ind in read_yaml(path)["indicators"]:
            if ind["kind"] == "crime":
                yield path.stem, ind


CASES = list(crime_indicators())


@pytest.mark.parametrize("agreement,ind", CASES, ids=[f"{a}:{i['id']}" for a, i in CASES])
def test_each_mapped_code_exists_and_the_label_names_every_category(agreement, ind):
    flt = ind["filter"]
    for code in flt.get("crime_code", []):
        assert any(r["crime_code"] == str(code) for r in CODES), f"{code} is not in data/reference/crime_codes.csv"
    rows = resolve(flt)
    assert rows, "the filter counts no crime code"
    label = words(ind["label"])
    for name in sorted(categories(flt, rows)):
        missing = words(name) - label
        assert not missing, f"the label {ind['label']!r} does not name {name!r} (missing {sorted(missing)})"


VOCABULARY = sorted({r[k] for r in CODES for k in ("level3", "level4")
                     if len(r[k]) >= 4 and r[k] not in ("Fullbordat", "Försök")}, key=len, reverse=True)


def named_crimes(text: str) -> set[str]:
    """Crime categories of the code tree named in a text (whole words, longest names first)."""
    found, folded = set(), text.casefold()
    for name in VOCABULARY:
        pattern = r"(?<!\w)" + re.escape(re.sub(r"\s*\(.*\)$", "", name).casefold()) + r"(?!\w)"
        if re.search(pattern, folded):
            found.add(name)
            folded = re.sub(pattern, " ", folded)
    return found


@pytest.mark.parametrize("agreement,ind", CASES, ids=[f"{a}:{i['id']}" for a, i in CASES])
def test_every_crime_the_rationale_names_is_counted(agreement, ind):
    rows = resolve(ind["filter"])
    counted = {r["level3"] for r in rows} | {r["level4"] for r in rows}
    for name in named_crimes(" ".join(ind["rationale"].split())):
        assert name in counted, f"the rationale names {name!r} but the filter does not count it"


def test_the_checks_can_fail():
    """Known answers: the old mappings the issue found are caught."""
    old_otp = {"question_area": ["Fråga 7 - Otillåten påverkan och välfärdsbrottslighet"]}
    rows = resolve(old_otp)
    counted = {r["level3"] for r in rows} | {r["level4"] for r in rows}
    assert "Övergrepp i rättssak" in named_crimes("Övergrepp i rättssak och liknande brott")
    assert "Övergrepp i rättssak" not in counted  # fråga 7 is trolöshet, skattebrott, penningtvätt
    old_fraud = resolve({"level2": ["Bedrägeribrott m.m."]})
    assert {"Penningtvättsbrott", "Bidragsbrott"} <= {r["level3"] for r in old_fraud}
    assert words("Penningtvättsbrott") - words("Anmälda bedrägerier")  # the old label hid them
    burglary = resolve({"level3": ["Inbrott"]})
    assert {r["level4"] for r in burglary} - {"Bostadsinbrott"}  # cellars, shops, holiday homes
    assert categories({"crime_code": ["9801", "9802"]}, resolve({"crime_code": ["9801", "9802"]})) == {"Bostadsinbrott"}
