"""Agreements to the letter (#13): every value in data/agreements/*.yaml is either found in its source document or
marked as an interpretation (who assumed it and why). A test walks every field of every shipped file."""
from __future__ import annotations

import re
from datetime import date

import pytest

from sources.agreements import AGREEMENTS_DIR, MARKS, read_yaml
from tests.conftest import SHARED

# fields that hold the product's own structure, not the document's words
STRUCTURAL = {"id", "kind", "source", "municipality", "feed", "forum", "agreement", "builds_lagesbild", "lead",
              "type", "activity", "party"}
# normalised values (a code for a cadence, a number, a date, a party reference): the document's words behind them
# must be given in ``said`` (checked verbatim) unless the value itself is in the text; otherwise an interpretation
NORMALISED = {"cadence", "frequency", "count", "per", "min_per_year", "valid_from", "valid_to", "date", "signed",
              "updated"}
# lists of references, not text
REFERENCES = {"priority_areas", "sub_goals", "activities"}


def fold(text: str) -> str:
    """How document and encoding are compared: markup, footnote marks, bullets, full stops and line-break hyphens
    removed, typographic quotes made straight, whitespace folded, case ignored. Nothing else: the words must be the
    document's. (Full stops go because the PDFs' table cells end sentences where the encoding ends a list item.)"""
    text = re.sub(r"<sup>\d+</sup>", "", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = text.replace("*", "").replace("•", " ").replace(".", " ").replace("”", '"').replace("“", '"')
    text = re.sub(r"(\w)- +(\w)", r"\1\2", text)  # "Omsorgs- direktör" as set in a table cell
    text = re.sub(r"\s+", " ", text).strip().casefold()
    return text


def document_text(doc) -> str:
    path = SHARED / str(doc["source"]).removeprefix("shared/")
    if not path.exists():
        pytest.skip(f"needs {path} (../shared is beside the repo in CI, absent in a fresh clone)")
    return fold(path.read_text(encoding="utf-8"))


def walk(node, path: str, parent, key):
    """(path, parent mapping, key, value) of every leaf value, skipping structure and the marks themselves."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in MARKS or k in STRUCTURAL:
                continue
            if k in REFERENCES and isinstance(v, list) and all(isinstance(x, str) for x in v) and path:
                if k == "activities" and "promises[" in path:
                    # a promise linked to agreement activities: the document does not make that link
                    yield f"{path}.{k}", node, k, v
                continue  # an activity's priority_areas: [ids], placed under its area in the plan
            if k == "responsible" and isinstance(v, list):
                yield f"{path}.{k}", node, k, v  # a list of parties: one normalised value
                continue
            yield from walk(v, f"{path}.{k}" if path else k, node, k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]", parent, key)
    else:
        yield path, parent, key, node


FILES = sorted(p.name for p in AGREEMENTS_DIR.glob("*.yaml"))


def unsupported(name: str) -> list[str]:
    doc = read_yaml(AGREEMENTS_DIR / name)
    text = document_text(doc)
    problems = []
    for path, parent, key, value in walk(doc, "", None, None):
        interpreted = isinstance(parent, dict) and key in (parent.get("interpreted") or {})
        if interpreted:
            continue
        quote = (parent.get("said") or {}).get(key) if isinstance(parent, dict) else None
        if quote is not None:
            # a quote, or the parts of a text the PDF split across table rows (joined, they are the value)
            parts = quote if isinstance(quote, list) else [quote]
            missing = [q for q in parts if fold(q) not in text]
            if missing:
                problems.append(f"{path}: the quote in said is not in the document: {missing!r}")
            elif isinstance(quote, list) and fold(" ".join(parts)) != fold(str(value)):
                problems.append(f"{path}: the quoted parts joined are not the value")
            continue
        if (key in NORMALISED or isinstance(value, list)) and not isinstance(value, date):
            problems.append(f"{path}: normalised value {value!r} has neither the document's words (said) nor an "
                            "interpretation mark")
            continue
        if isinstance(value, date):
            shown = value.isoformat()
        elif isinstance(value, (bool, int, list)) or value is None:
            shown = None
        else:
            shown = str(value)
        if shown is not None and fold(shown) in text:
            continue
        what = "normalised value" if key in NORMALISED else "text"
        problems.append(f"{path}: {what} {value!r} is neither in the document nor marked as an interpretation")
    return problems


@pytest.mark.parametrize("name", FILES)
def test_every_value_is_the_documents_or_marked_as_an_interpretation(name):
    assert unsupported(name) == []


def test_the_walk_flags_an_unmarked_assumption_and_a_changed_word(tmp_path, monkeypatch):
    """The check can fail: remove one interpretation mark, change one word of a quoted text."""
    import tests.test_agreement_letter as me

    src = (AGREEMENTS_DIR / "strangnas-2023-2026.yaml").read_text(encoding="utf-8")
    unmarked = src.replace("      cadence: {by: \"lägesbild (kodningen av överenskommelsen, 2026)\", why: \"Överenskommelsen "
                           "anger ingen mötesfrekvens för SSPF.\"}\n", "")
    unmarked = unmarked.replace("    interpreted:\n  - id: sspf", "  - id: sspf")
    reworded = src.replace("Genomföra trygghetsvandringar med olika målgrupper", "Genomföra trygghetsvandringar med alla målgrupper")
    assert unmarked != src and reworded != src
    for text, expected in ((unmarked, "forums[2].cadence: normalised value 'as_needed'"),
                           (reworded, "activities[4].name: text")):
        (tmp_path / "strangnas-2023-2026.yaml").write_text(text, encoding="utf-8")
        monkeypatch.setattr(me, "AGREEMENTS_DIR", tmp_path)
        problems = me.unsupported("strangnas-2023-2026.yaml")
        assert len(problems) == 1 and problems[0].startswith(expected), problems


def _doc(name: str):
    doc = read_yaml(AGREEMENTS_DIR / name)
    return doc, document_text(doc)


def test_nothing_the_issue_found_dropped_is_missing():
    """Forum members, target texts, communication, signatories, commitments and follow-up rows: present and verbatim."""
    esk, esk_text = _doc("eskilstuna-2024-2027.yaml")
    forums = {f["id"]: f for f in esk["forums"]}
    assert "VD KFAST" in forums["kug"]["members"] and forums["kug"]["adjunct"] == ["HR-direktör"]
    assert len(forums["kug"]["members"]) == 7 and forums["ksg-trygghet"]["members"] == ["Kommunpolis"]
    assert all(fold(t["text"]) in esk_text for t in esk["commitments"]) and len(esk["commitments"]) == 3
    assert "inhämtningsuppdrag" in esk["commitments"][2]["text"]
    assert any("kontinuerligt av Trygghetsbredningen" in f["method"] for f in esk["follow_up"])

    sod, sod_text = _doc("sodertalje-2023-2026.yaml")
    forums = {f["id"]: f for f in sod["forums"]}
    assert len(forums["mandagsmoten"]["members"]) == 9
    assert len(forums["operativt-chefsamrad"]["members"]) == 5 and len(forums["sspf"]["members"]) == 5
    assert forums["beredningsgrupp"]["purpose"].startswith("Syftet är att gemensamt")
    for f in sod["forums"]:
        for m in f.get("members", []) + f.get("adjunct", []):
            assert fold(m) in sod_text, m
    assert fold(sod["communication"]) in sod_text and "genomslagskraft" in sod["communication"]
    assert any(f["method"].startswith("Den lokala lägesbilden enligt punkten 9 ska uppdateras en (1) gång")
               for f in sod["follow_up"])
    vuxna = next(a for a in sod["activities"] if a["id"] == "pax-vuxna-kriminella")
    assert {r["party"] for r in vuxna["responsible"] if r.get("lead")} == {"kommunen", "polisen"}

    p20, p20_text = _doc("strangnas-medborgarlofte-2020.yaml")
    targets = {t["id"]: t for p in p20["promises"] for t in p["targets"]}
    assert "15–18 årsåldern" in targets["linkopingsmodellen"]["text"]
    assert "ungdomar i riskzonen" in targets["informationstraffar-orosanmalan"]["text"]
    assert all(fold(t["text"]) in p20_text for t in targets.values())
    assert "Facebook och Instagram" in p20["communication"] and fold(p20["communication"]) in p20_text
    assert [s["name"] for s in p20["signatories"]] == ["Lars Ekström", "Christer Sjökvist"]

    p24, _ = _doc("strangnas-medborgarloften-2024-2025.yaml")
    assert p24["updated"] == date(2024, 1, 30)

    st, _ = _doc("strangnas-2023-2026.yaml")
    assert [p["id"] for p in st["parties"]] == ["kommunen", "polisen"]  # the others meet for the lägesbild
    assert "näringslivet, räddningstjänsten och polisen" in st["context"]


def test_pages_show_interpretations_as_such(sample_home, tmp_path):
    """The Strängnäs page marks the assumed values where they are shown and lists every interpretation with its
    reason; the promises' follow-up cadence in a pack is an interpretation, said so."""
    import html as html_mod

    import duckdb

    from dashboards.packs import build_pack
    from sources.policy import load_policy
    from dashboards.data import load_site_data

    page = html_mod.unescape((sample_home / "site" / "lagesbild-0486.html").read_text(encoding="utf-8"))
    # the action plan has no responsibility column: every responsible party shown is marked
    follow = page.split('id="uppfoljning"')[1].split('<section')[0].split('class="block"')[0]
    assert "(tolkning)" in follow and "Handlingsplanen har ingen kolumn för ansvar" in follow
    # the dates of a "2023–2026" agreement are a reading, shown as one
    assert "tolkning: Dokumentet anger perioden 2023–2026 utan datum" in page
    # the list: three forum cadences, the follow-up row (2 fields), the 20 activities' responsible parties, the dates
    block = page.split('id="tolkningar-strangnas-2023-2026"')[1].split("</table>")[0]
    assert block.count("<tr") - 1 == 3 + 2 + 20 + 2  # header row excluded
    assert "Överenskommelsen anger ingen mötesfrekvens för SSPF." in block

    con = duckdb.connect(str(sample_home / "warehouse.duckdb"), read_only=True)
    try:
        data = load_site_data(con)
    finally:
        con.close()
    folder = build_pack(data, "public", "0486", "2025-Q3", tmp_path / "site", load_policy(), pdf=False)
    pack = html_mod.unescape((folder / "index.html").read_text(encoding="utf-8"))
    assert "Uppföljning varje tertial (tolkning, inte dokumentets text: Sidan anger ingen uppföljningsfrekvens" in pack
    assert "Kopplingen mellan löften och aktiviteter är en tolkning" in pack
