"""Agreements as data: seed coverage, validation errors that name file, line and field."""
from __future__ import annotations

import re
import shutil

import pytest

from sources.agreements import AGREEMENTS_DIR, PlanInvalid, load_folder, read_yaml, validate_file
from tests.conftest import SHARED

SEEDS = SHARED / "seeds"


def norm(text: str) -> str:
    """Whitespace folded, soft line-break hyphens and footnote marks removed: how text is compared."""
    text = re.sub(r"<sup>\d+</sup>", "", text)
    text = text.replace("heders-relaterat", "hedersrelaterat")
    return re.sub(r"\s+", " ", text).strip().casefold()


def seed(name: str) -> str:
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"needs {path} (../shared is beside the repo in CI, absent in a fresh clone)")
    return path.read_text(encoding="utf-8")


def texts(doc) -> str:
    """Every text field of an encoded document, folded, for 'is it in the encoding' checks."""
    out = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            out.append(norm(v))
    walk(doc)
    return " | ".join(out)


def bullets(block: str, mark: str = "•") -> list[str]:
    parts = [norm(p) for p in block.split(mark)[1:]]
    return [p for p in parts if p]


def test_all_shipped_agreements_validate():
    plan = load_folder()
    assert set(plan.documents) == {"strangnas-2023-2026", "strangnas-medborgarloften-2024-2025",
                                   "strangnas-medborgarlofte-2020", "eskilstuna-2024-2027", "sodertalje-2023-2026"}
    assert set(plan.indicators) == {"strangnas-2023-2026", "eskilstuna-2024-2027", "sodertalje-2023-2026"}


def test_strangnas_agreement_covers_every_priority_area_forum_source_and_activity():
    text = re.sub(r"\s+", " ", seed("000_519efa1abda2553c.txt"))  # the PDF text wraps sentences
    doc = read_yaml(AGREEMENTS_DIR / "strangnas-2023-2026.yaml")
    areas_block = text.split("De prioriterade områdena för den kommande perioden är att:")[1].split("Samverkansmodellen")[0]
    areas = bullets(areas_block)
    assert len(areas) == 6
    assert [norm(a["name"]) for a in doc["priority_areas"]] == areas
    forums = bullets(text.split("Forum för att skapa en gemensam lägesbild är:")[1].split("Kompletterande underlag")[0])
    assert [norm(f["name"]) for f in doc["forums"]] == forums
    sources = bullets(text.split("kompletteras med bland annat följande underlag:")[1].split("Bilagor")[0])
    assert [norm(s["name"]) for s in doc["data_sources"]] == sources
    plan = text.split("Prioriterade områden Aktivitet")[1].split("Uppföljning")[0]
    activities = bullets(plan)
    assert len(activities) >= 20
    encoded = [norm(a["name"]) for a in doc["activities"]]
    for act in activities:
        # the last bullet of a page can carry the next area's heading: compare the activity's own sentence(s)
        sentence = act.split(". ")[0]
        assert any(e.startswith(sentence) for e in encoded), act
    assert "genomföra regelbundna uppföljningar på centrala brottsförebyggande rådet." in texts(doc)


def test_strangnas_promises_2024_2025_are_all_encoded():
    text = seed("001_985a76aaaaef2117.txt")
    doc = read_yaml(AGREEMENTS_DIR / "strangnas-medborgarloften-2024-2025.yaml")
    block = text.split("Polisens och Strängnäs kommuns medborgarlöften 2024-2025")[1].split("Tidigare medborgarlöften")[0]
    promises = bullets(block)
    assert len(promises) == 6
    assert [norm(p["text"]) for p in doc["promises"]] == promises


def test_strangnas_promise_2020_targets_are_encoded_with_their_counts():
    text = seed("002_6853ef3c996a784c.txt")
    doc = read_yaml(AGREEMENTS_DIR / "strangnas-medborgarlofte-2020.yaml")
    block = norm(text.split("lovar genomföra")[1].split("Förväntad effekt")[0])
    starts = ["polisen kommer genomföra minst två planlagda", "områdespolis, kommunpolis", "polisen kommer genomföra två stycken",
              "polisen kommer kontinuerligt", "strängnäs kommun kommer via socialtjänsten", "strängnäs kommun kommer mäta",
              "strängnäs kommun kommer under året"]
    targets = [norm(t["text"]) for p in doc["promises"] for t in p["targets"]]
    for start in starts:
        assert start in block
        sentence = block.split(start)[1].split(".")[0]
        assert any((start + sentence) in t for t in targets), start
    counts = {t["id"]: t.get("count") for p in doc["promises"] for t in p["targets"]}
    assert counts["planlagda-insatser"] == 2 and counts["narkotikasok-hund"] == 2 and counts["foraldratraffar"] == 2
    assert counts["avloppsvatten"] == 1
    assert norm(doc["promises"][0]["text"]).startswith("i samverkan arbeta mot narkotikabrottsligheten")


def test_eskilstuna_goal_focus_areas_and_every_delmal():
    text = seed("003_27f4dc5660d5ddc5.txt")
    doc = read_yaml(AGREEMENTS_DIR / "eskilstuna-2024-2027.yaml")
    styr = text.split("## Fokusområden")[1]  # the adopted steering document, after the proposal
    areas = re.findall(r"Fokusområde \d - [^\n*]+", styr)
    assert len(areas) == 4
    assert [norm(a["name"]) for a in doc["priority_areas"]] == [norm(a) for a in areas]
    sections = re.split(r"Fokusområde \d - [^\n*]+", styr)[1:]
    for area, section in zip(doc["priority_areas"], sections):
        delmal = [norm(d) for d in re.findall(r"^- (.+)$", section.split("Utifrån fokusområdena")[0].split("---")[0],
                                               flags=re.M)]
        assert [norm(g["text"]) for g in area["sub_goals"]] == delmal, area["id"]
    assert sum(len(a["sub_goals"]) for a in doc["priority_areas"]) == 15
    assert norm(doc["overall_goal"]) == norm("Ett tryggt och socialt hållbart Eskilstuna där vi år 2027 tagit betydande "
                                             "steg för ett Eskilstuna utan utsatta områden på polisens nationella lista")
    forums = {f["id"] for f in doc["forums"]}
    assert {"kug", "ksg-trygghet", "ksg-systemhot"} <= forums
    freq = {f["frequency"] for f in doc["follow_up"]}
    assert {"delar2_and_year", "monthly"} <= freq


def test_sodertalje_parties_forums_areas_and_every_activity_plan_row():
    text = seed("004_63ea9c8be7928389.txt")
    doc = read_yaml(AGREEMENTS_DIR / "sodertalje-2023-2026.yaml")
    assert {p["name"] for p in doc["parties"]} == {"Södertälje kommun", "Södertälje lokalpolisområde",
                                                  "Södertörns brandförsvarsförbund"}
    for forum in ["Strategisk styrgrupp", "Operativt chefsamråd", "Måndagsmöten", "SSPF-grupper",
                  "Beredningsgrupp polisen/socialtjänsten", "Fredagsavstämningar"]:
        assert forum in text
        assert forum in [f["name"] for f in doc["forums"]]
    cadence = {f["id"]: f["cadence"] for f in doc["forums"]}
    assert cadence["strategisk-styrgrupp"] == "quarterly" and cadence["mandagsmoten"] == "weekly"
    assert cadence["beredningsgrupp"] == "every_3_weeks" and cadence["fredagsavstamningar"] == "weekly"
    areas = re.findall(r"^### \**([^*\n]+?)\**\s*$", text.split("GA-")[1].split("## AKTIVITETSPLAN")[0], flags=re.M)
    assert [norm(a["name"]) for a in doc["priority_areas"]] == [norm(a) for a in areas]
    joined = " ".join(norm(a["name"]) for a in doc["activities"])
    rows = []
    for line in text.split("## AKTIVITETSPLAN")[1].splitlines():
        cols = line.split("\t")
        if len(cols) > 2 and norm(cols[0]) in {norm(a["name"]) for a in doc["priority_areas"]} | {"organiserad brottslighet"}:
            rows.append(norm(cols[1]))
    assert len(rows) >= 27
    for row in rows:
        assert row in joined, row  # a row the PDF merged with the next spans two encoded activities
    assert len(doc["activities"]) == 28  # 10 Pax groups + 18 activities
    plan = text.split("**Samverkansöverenskommelsen**")[-1]  # the follow-up plan (bilaga 3) comes last
    whats = re.findall(r"^\*\*(.+?)\*\*$", "**Samverkansöverenskommelsen**" + plan, flags=re.M)
    assert [f["what"] for f in doc["follow_up"]][:len(whats)] == whats
    methods = re.findall(r"^Metod\t(.+)$", plan, flags=re.M)
    assert [norm(f["method"]) for f in doc["follow_up"]][:len(methods)] == [norm(m) for m in methods]
    # and § 10: the lägesbild is updated once a year (outside bilaga 3)
    assert norm(doc["follow_up"][len(whats)]["method"]) in norm(text.split("## 10.")[1].split("## 11.")[0])


# ------------------------------------------------------------------ malformed files get clear errors

def _broken(tmp_path, name, edit):
    src = AGREEMENTS_DIR / "strangnas-2023-2026.yaml"
    text = src.read_text(encoding="utf-8")
    new = edit(text)
    assert new != text
    folder = tmp_path / "agreements"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(new, encoding="utf-8")
    return path


def _line_of(path, needle):
    """Line of the last occurrence (a duplicate is reported where it repeats)."""
    lines = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in line]
    assert lines, needle
    return lines[-1]


@pytest.mark.parametrize("edit,needle,field,fragment", [
    (lambda t: t.replace("    priority_areas: [trafik]\n    responsible: [{party: polisen, lead: true}]",
                         "    priority_areas: [trafiken]\n    responsible: [{party: polisen, lead: true}]"),
     "priority_areas: [trafiken]", "activities[10].priority_areas", "okänt prioriterat område 'trafiken'"),
    (lambda t: t.replace("responsible: [{party: polisen, lead: true}]", "responsible: [{party: polis, lead: true}]"),
     "party: polis, lead", "activities[10].responsible[0].party", "okänd part 'polis'"),
    (lambda t: t.replace("    cadence: weekly\n", "    cadence: varje vecka\n", 1),
     "cadence: varje vecka", "forums[0].cadence", "okänt värde 'varje vecka'"),
    (lambda t: t.replace('why: "Överenskommelsen anger ingen mötesfrekvens för SSPF."', 'varför: "glömt"'),
     "varför:", "forums[2].interpreted.cadence.why", "obligatoriskt fält saknas"),
    (lambda t: t.replace("    interpreted:\n      cadence: {by", "    interpreted:\n      kadens: {by", 1),
     "kadens: {by", "forums[0].interpreted.kadens", "fältet finns inte i posten"),
    (lambda t: t.replace("said: {count: Årligen, per: Årligen}", "said: {count: Årligen, per: Årligen, antal: två}", 1),
     "antal: två", "activities[17].target.said.antal", "fältet finns inte i posten"),
    (lambda t: t.replace("valid_to: 2026-12-31", "valid_to: 2022-12-31"), "valid_to: 2022", "valid_to", "slutdatum före startdatum"),
    (lambda t: t.replace("    target: {count: 1, per: year, said: {count: Årligen, per: Årligen}}\n  - id: kmk",
                         "    target: {count: två, per: year, said: {count: Årligen, per: Årligen}}\n  - id: kmk"),
     "count: två", "activities[17].target.count", "heltal"),
    (lambda t: t.replace("  - id: trafikovervakning\n", "  - id: trafikovervakning\n    ansvarig: polisen\n"),
     "ansvarig: polisen", "activities[10].ansvarig", "okänt fält"),
    (lambda t: t.replace("  - id: kmk\n", "  - id: aas\n"), "  - id: aas", "activities[18].id", "används redan"),
    (lambda t: t.replace('municipality: {code: "0486", name: Strängnäs}', "municipality: {code: 486, name: Strängnäs}"),
     "municipality:", "municipality.code", "okänd kommunkod"),

    # the kind of a value (the typed models in sources/agreements/schema.py)
    (lambda t: t.replace("    cadence: weekly\n    builds_lagesbild: true\n", "    cadence: weekly\n    builds_lagesbild: ja\n", 1),
     "builds_lagesbild: ja", "forums[0].builds_lagesbild", "ska vara true eller false"),
    (lambda t: t.replace("    cadence: weekly\n    builds_lagesbild: true\n",
                         "    cadence: weekly\n    builds_lagesbild: true\n    members: Kommunpolis\n", 1),
     "members: Kommunpolis", "forums[0].members", "ska vara en lista"),
    (lambda t: t.replace("    cadence: weekly\n    builds_lagesbild: true\n",
                         "    cadence: weekly\n    builds_lagesbild: true\n    ordförande: Kommunpolis\n", 1),
     "ordförande: Kommunpolis", "forums[0].ordförande", "okänt fält"),
])
def test_malformed_agreement_errors_name_file_line_and_field(tmp_path, edit, needle, field, fragment):
    path = _broken(tmp_path, "strangnas-2023-2026.yaml", edit)
    errors = validate_file(path)
    assert errors, "expected a validation error"
    e = errors[0]
    assert e.path == str(path) and e.field == field and fragment in e.message, str(e)
    assert e.line == _line_of(path, needle), str(e)
    assert str(e).startswith(f"strangnas-2023-2026.yaml, rad {e.line}, fält {field}: ")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = _broken(tmp_path, "strangnas-2023-2026.yaml", lambda t: t.replace("  - id: trafik\n", "  - id: [trafik\n"))
    errors = validate_file(path)
    assert len(errors) == 1 and "inte giltig YAML" in errors[0].message and errors[0].line is not None


def test_file_name_must_match_id_and_folder_errors_are_collected(tmp_path):
    path = _broken(tmp_path, "fel-namn.yaml", lambda t: t.replace("  - id: kmk\n", "  - id: aas\n"))
    with pytest.raises(PlanInvalid) as info:
        load_folder(path.parent)
    messages = [str(e) for e in info.value.errors]
    assert any("id ska vara samma som filnamnet" in m for m in messages)
    assert any("används redan" in m for m in messages)


def test_indicator_mapping_rejects_unknown_codes(tmp_path):
    folder = tmp_path / "agreements"
    shutil.copytree(AGREEMENTS_DIR, folder)
    path = folder / "indicators" / "strangnas-2023-2026.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{level2: [Skadegörelsebrott]}", "{level2: [Skadegörelse]}"),
                    encoding="utf-8")
    errors = validate_file(path, folder)
    assert len(errors) == 1 and errors[0].field == "indicators[4].filter.level2" and "Skadegörelse" in errors[0].message


def test_plan_cli_validate_and_show(tmp_path, capsys):
    from tests.conftest import run_cli

    files = [str(p) for p in sorted(AGREEMENTS_DIR.glob("*.yaml"))]
    assert run_cli("plan", "validate", *files) == 0
    assert capsys.readouterr().out.count("giltig") == len(files)
    bad = _broken(tmp_path, "strangnas-2023-2026.yaml", lambda t: t.replace("cadence: weekly", "cadence: veckovis"))
    assert run_cli("plan", "validate", str(bad)) == 2
    err = capsys.readouterr().err
    assert f"strangnas-2023-2026.yaml, rad {_line_of(bad, 'cadence: veckovis')}, fält forums[0].cadence" in err
    assert run_cli("plan", "show", "--municipality", "0484") == 0
    out = capsys.readouterr().out
    assert "Fokusområde 4 - Bekämpa systemhotande brottslighet" in out and "delmål: Förebyggt våldsbejakande extremism" in out
    assert "KUG" in out and "Strängnäs" not in out
