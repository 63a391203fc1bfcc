"""Agreements as data: collaboration agreements, citizen promises and their indicator mappings.

One YAML file per agreement and per citizen-promise period in ``data/agreements/``; indicator mappings in
``data/agreements/indicators/``. The schema is documented in ``sources/agreements/README.md``. Every error names
the file, the line and the field (``activities[3].priority_areas``) and is written for the coordinator who edits the
file. What is the document's own text and what is an interpretation: ``marks.py``. No Dagster here: the ``agreements`` asset and ``lagesbild plan`` both use :func:`load_folder`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sources.agreements import schema
from sources.taxonomy import PROJECT_ROOT, allowed_values, read_reference
from sources.yamlfile import FileFormatError, LineMap, read_mapping


AGREEMENTS_DIR = PROJECT_ROOT / "data" / "agreements"


KINDS = ("samverkansöverenskommelse", "medborgarlöfte")


PARTY_TYPES = ("kommun", "polis", "raddningstjanst", "bostadsbolag", "naringsliv", "region", "annan")


CADENCES = ("weekly", "every_3_weeks", "monthly", "quarterly", "tertial", "yearly", "delar2_and_year",
            "continuous", "as_needed")


CADENCE_LABELS = {"weekly": "varje vecka", "every_3_weeks": "var tredje vecka", "monthly": "varje månad",
                  "quarterly": "varje kvartal", "tertial": "varje tertial", "yearly": "varje år",
                  "delar2_and_year": "delår 2 och helår", "continuous": "löpande", "as_needed": "vid behov"}


TARGET_PER = ("year", "tertial", "quarter", "month", "period")


INDICATOR_KINDS = {
    "crime": ("level2", "level3", "crime_code", "question_area"),
    "est": ("category", "subcategory"),
    "concern": ("reason", "age_band"),
    "survey": ("item",),
    "activity": ("activity",),
}


_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# Any entry may say which of its values are the document's own words and which are interpretations
# (sources/agreements/README.md, "Said and interpreted").
MARKS = ("said", "interpreted")


class AgreementError(ValueError):
    def __init__(self, path: Path | str, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = f"{Path(self.path).name}" + (f", rad {line}" if line else "") + (f", fält {field}" if field else "")
        super().__init__(f"{where}: {message}")


_Map = LineMap  # a mapping that remembers the line of each key (sources/yamlfile.py)


def read_yaml(path: Path) -> LineMap:
    path = Path(path)
    try:
        return read_mapping(path)
    except OSError as exc:
        raise AgreementError(path, None, "", f"filen kunde inte läsas ({exc.strerror})") from exc
    except FileFormatError as exc:
        message = exc.message
        if message.startswith("filen ska vara en samling"):
            message = "filen ska börja med fält som id:, kind:, title:"
        raise AgreementError(path, exc.line, exc.key, message) from exc


@dataclass
class _Checker:
    path: Path
    errors: list[AgreementError] = field(default_factory=list)

    def fail(self, m: _Map | None, key: str, where: str, message: str) -> None:
        line = None
        if isinstance(m, _Map):
            line = m.key_lines.get(key, m.line)
        self.errors.append(AgreementError(self.path, line, where, message))

    def keys(self, m: Any, where: str, model: type[schema.Entry]) -> bool:
        """The entry's keys against its model (sources/agreements/schema.py): required ones present and not empty,
        no unknown ones; then its said/interpreted marks."""
        required, optional = schema.keys_of(model)
        if not isinstance(m, _Map):
            self.errors.append(AgreementError(self.path, None, where, "ska vara en post med fält (nyckel: värde)"))
            return False
        for k in required:
            if k not in m or m[k] in (None, ""):
                self.fail(m, k, f"{where}.{k}" if where else k, "obligatoriskt fält saknas eller är tomt")
        allowed = set(required) | set(optional) | set(MARKS)
        for k in m:
            if k not in allowed:
                self.fail(m, k, f"{where}.{k}" if where else str(k),
                          f"okänt fält; tillåtna fält här är: {', '.join(sorted(allowed))}")
        self.marks(m, where)
        return True

    def marks(self, m: _Map, where: str) -> None:
        """``said`` (the document's own words behind a normalised value) and ``interpreted`` (a value the document
        does not state: who assumed it and why) name fields of the same entry."""
        pre = f"{where}." if where else ""
        said, interp = m.get("said"), m.get("interpreted")
        if said is not None:
            if not isinstance(said, _Map):
                self.fail(m, "said", f"{pre}said", "ska vara fält: \"dokumentets ordagranna text\"")
            else:
                for k, v in said.items():
                    if k not in m or k in MARKS:
                        self.fail(said, k, f"{pre}said.{k}", "fältet finns inte i posten")
                    elif not (isinstance(v, str) and v.strip()) and not (
                            isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)):
                        # a list: the parts of a text the document splits (e.g. over two table rows)
                        self.fail(said, k, f"{pre}said.{k}", "ska vara dokumentets ordagranna text")
        if interp is not None:
            if not isinstance(interp, _Map):
                self.fail(m, "interpreted", f"{pre}interpreted", "ska vara fält: {by: …, why: …}")
                return
            for k, v in interp.items():
                w = f"{pre}interpreted.{k}"
                if k not in m or k in MARKS:
                    self.fail(interp, k, w, "fältet finns inte i posten")
                    continue
                if isinstance(said, _Map) and k in said:
                    self.fail(interp, k, w, "ett värde är antingen dokumentets ord (said) eller en tolkning, inte båda")
                if not isinstance(v, _Map):
                    self.fail(interp, k, w, "ska vara {by: vem som tolkat, why: varför}")
                    continue
                for need in ("by", "why"):
                    if not isinstance(v.get(need), str) or not v[need].strip():
                        self.fail(v, need, f"{w}.{need}", "obligatoriskt fält saknas eller är tomt")
                for extra in v:
                    if extra not in ("by", "why"):
                        self.fail(v, extra, f"{w}.{extra}", "okänt fält; tillåtna fält här är: by, why")

    def typed(self, doc: _Map, model: type[schema.Entry]) -> None:
        """What the rules above leave to the model: the kind of every value (text, whole number, list, date…)."""
        from sources.schemas import problems

        for line, where, message in problems(model, doc):
            self.errors.append(AgreementError(self.path, line, where, message))

    def text(self, m: _Map, key: str, where: str) -> None:
        if key in m and m[key] is not None and not isinstance(m[key], str):
            self.fail(m, key, where, "ska vara text")

    def date_(self, m: _Map, key: str, where: str) -> date | None:
        v = m.get(key)
        if v is None:
            return None
        if isinstance(v, date):
            return v
        self.fail(m, key, where, f"ska vara ett datum ÅÅÅÅ-MM-DD, inte {v!r}")
        return None

    def choice(self, m: _Map, key: str, where: str, options: tuple) -> None:
        if key in m and m[key] not in options:
            self.fail(m, key, where, f"okänt värde {m[key]!r}; tillåtna: {', '.join(options)}")

    def ids(self, items: list, where: str, key: str = "id") -> set[str]:
        seen: set[str] = set()
        for i, it in enumerate(items):
            if not isinstance(it, _Map) or key not in it:
                continue
            v = str(it[key])
            if not _ID.match(v):
                self.fail(it, key, f"{where}[{i}].{key}", "id får bara innehålla a–z, 0–9 och bindestreck")
            if v in seen:
                self.fail(it, key, f"{where}[{i}].{key}", f"id {v!r} används redan")
            seen.add(v)
        return seen

    def list_(self, m: _Map, key: str, where: str, required: bool = False) -> list:
        v = m.get(key)
        if v is None:
            if required:
                self.fail(m, key, where, "obligatorisk lista saknas")
            return []
        if not isinstance(v, list):
            self.fail(m, key, where, "ska vara en lista")
            return []
        if required and not v:
            self.fail(m, key, where, "listan är tom")
        return v


AGREEMENT_OPTIONAL = ("source", "purpose", "overall_goal", "method", "priority_areas", "forums", "data_sources",
                      "activities", "follow_up", "decided", "replaces", "signed", "context", "commitments",
                      "coordinators", "focus_places", "communication", "updated")


PROMISE_OPTIONAL = ("source", "agreement", "reporting", "promises", "focus", "expected_effect", "follow_up",
                    "communication", "signatories", "updated")


def validate(doc: _Map, path: Path) -> list[AgreementError]:
    c = _Checker(Path(path))
    kind = doc.get("kind")
    c.keys(doc, "", schema.MODELS_BY_KIND.get(kind, schema.Document))
    c.choice(doc, "kind", "kind", KINDS)
    if "id" in doc and not _ID.match(str(doc["id"])):
        c.fail(doc, "id", "id", "id får bara innehålla a–z, 0–9 och bindestreck")
    if "id" in doc and Path(path).stem != str(doc["id"]):
        c.fail(doc, "id", "id", f"id ska vara samma som filnamnet ({Path(path).stem})")
    mun = doc.get("municipality")
    if c.keys(mun, "municipality", schema.Municipality) and "code" in mun:
        if str(mun["code"]) not in allowed_values("municipalities"):
            c.fail(mun, "code", "municipality.code", f"okänd kommunkod {mun['code']!r} (4 siffror, inom citattecken)")
    start, end = c.date_(doc, "valid_from", "valid_from"), c.date_(doc, "valid_to", "valid_to")
    if start and end and end < start:
        c.fail(doc, "valid_to", "valid_to", "slutdatum före startdatum")
    parties = c.list_(doc, "parties", "parties", required=True)
    for i, p in enumerate(parties):
        if c.keys(p, f"parties[{i}]", schema.Party):
            c.choice(p, "type", f"parties[{i}].type", PARTY_TYPES)
    party_ids = c.ids(parties, "parties")

    if kind == "samverkansöverenskommelse":
        areas = c.list_(doc, "priority_areas", "priority_areas", required=True)
        sub_goal_ids: dict[str, set[str]] = {}
        for i, a in enumerate(areas):
            if c.keys(a, f"priority_areas[{i}]", schema.PriorityArea):
                goals = c.list_(a, "sub_goals", f"priority_areas[{i}].sub_goals")
                for j, g in enumerate(goals):
                    c.keys(g, f"priority_areas[{i}].sub_goals[{j}]", schema.SubGoal)
                sub_goal_ids[str(a.get("id"))] = c.ids(goals, f"priority_areas[{i}].sub_goals")
        area_ids = c.ids(areas, "priority_areas")
        forums = c.list_(doc, "forums", "forums")
        for i, f in enumerate(forums):
            if c.keys(f, f"forums[{i}]", schema.Forum):
                c.choice(f, "cadence", f"forums[{i}].cadence", CADENCES)
        forum_ids = c.ids(forums, "forums")
        for i, s in enumerate(c.list_(doc, "data_sources", "data_sources")):
            if c.keys(s, f"data_sources[{i}]", schema.DataSource) and s.get("feed"):
                from sources.contract import all_feeds

                if s["feed"] not in all_feeds():
                    c.fail(s, "feed", f"data_sources[{i}].feed", f"okänt flöde {s['feed']!r}")
        activities = c.list_(doc, "activities", "activities")
        for i, a in enumerate(activities):
            w = f"activities[{i}]"
            if not c.keys(a, w, schema.Activity):
                continue
            for ref in c.list_(a, "priority_areas", f"{w}.priority_areas", required=True):
                if str(ref) not in area_ids:
                    c.fail(a, "priority_areas", f"{w}.priority_areas",
                           f"okänt prioriterat område {ref!r}; finns: {', '.join(sorted(area_ids))}")
            all_goals = set().union(*sub_goal_ids.values()) if sub_goal_ids else set()
            for ref in c.list_(a, "sub_goals", f"{w}.sub_goals"):
                if str(ref) not in all_goals:
                    c.fail(a, "sub_goals", f"{w}.sub_goals", f"okänt delmål {ref!r}")
            if a.get("forum") and str(a["forum"]) not in forum_ids:
                c.fail(a, "forum", f"{w}.forum", f"okänt forum {a['forum']!r}; finns: {', '.join(sorted(forum_ids))}")
            for j, r in enumerate(c.list_(a, "responsible", f"{w}.responsible", required=True)):
                if c.keys(r, f"{w}.responsible[{j}]", schema.Responsible) and \
                        str(r.get("party")) not in party_ids:
                    c.fail(r, "party", f"{w}.responsible[{j}].party", f"okänd part {r.get('party')!r}; finns: "
                           f"{', '.join(sorted(party_ids))}")
            if "target" in a:
                _target(c, a["target"], f"{w}.target")
        c.ids(activities, "activities")
        for i, f in enumerate(c.list_(doc, "follow_up", "follow_up")):
            if c.keys(f, f"follow_up[{i}]", schema.FollowUp):
                c.choice(f, "frequency", f"follow_up[{i}].frequency", CADENCES)
                if f.get("forum") and str(f["forum"]) not in forum_ids:
                    c.fail(f, "forum", f"follow_up[{i}].forum", f"okänt forum {f['forum']!r}")
    elif kind == "medborgarlöfte":
        rep = doc.get("reporting")
        if rep is not None and c.keys(rep, "reporting", schema.Reporting):
            c.choice(rep, "cadence", "reporting.cadence", CADENCES)
        promises = c.list_(doc, "promises", "promises", required=True)
        for i, p in enumerate(promises):
            w = f"promises[{i}]"
            if not c.keys(p, w, schema.PromiseItem):
                continue
            c.list_(p, "activities", f"{w}.activities")
            targets = c.list_(p, "targets", f"{w}.targets")
            for j, t in enumerate(targets):
                if c.keys(t, f"{w}.targets[{j}]", schema.PromiseTarget):
                    if t.get("party") and str(t["party"]) not in party_ids:
                        c.fail(t, "party", f"{w}.targets[{j}].party", f"okänd part {t['party']!r}")
                    if "count" in t or "per" in t:
                        _target(c, t, f"{w}.targets[{j}]")
            c.ids(targets, f"{w}.targets")
        c.ids(promises, "promises")
        for i, sg in enumerate(c.list_(doc, "signatories", "signatories")):
            c.keys(sg, f"signatories[{i}]", schema.Signatory)
        for i, f in enumerate(c.list_(doc, "follow_up", "follow_up")):
            if c.keys(f, f"follow_up[{i}]", schema.PromiseFollowUp):
                c.choice(f, "frequency", f"follow_up[{i}].frequency", CADENCES)
    if not c.errors and kind in schema.MODELS_BY_KIND:
        c.typed(doc, schema.MODELS_BY_KIND[kind])
    return c.errors


def _target(c: _Checker, t: Any, where: str) -> None:
    if not isinstance(t, _Map):
        c.errors.append(AgreementError(c.path, None, where, "ska vara en post med count: och per:"))
        return
    c.marks(t, where)
    n = t.get("count")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        c.fail(t, "count", f"{where}.count", f"ska vara ett heltal ≥ 1, inte {n!r}")
    if t.get("per") not in TARGET_PER:
        c.fail(t, "per", f"{where}.per", f"okänt värde {t.get('per')!r}; tillåtna: {', '.join(TARGET_PER)}")


def _indicator_values() -> dict[str, dict[str, frozenset[str]]]:
    codes = read_reference("crime_codes")
    est = read_reference("est_categories")
    return {
        "crime": {"level2": frozenset(r["level2"] for r in codes), "level3": frozenset(r["level3"] for r in codes),
                  "crime_code": frozenset(r["crime_code"] for r in codes),
                  "question_area": frozenset(r["question_area"] for r in codes if r["question_area"])},
        "est": {"category": frozenset(r["category"] for r in est), "subcategory": frozenset(r["subcategory"] for r in est)},
        "concern": {"reason": allowed_values("concern_reasons"), "age_band": allowed_values("concern_age_bands")},
        "survey": {"item": allowed_values("survey_items")},
    }


def validate_indicators(doc: _Map, path: Path, agreements: dict[str, _Map]) -> list[AgreementError]:
    c = _Checker(Path(path))
    c.keys(doc, "", schema.IndicatorFile)
    agreement = agreements.get(str(doc.get("agreement")))
    if agreement is None:
        c.fail(doc, "agreement", "agreement", f"okänd överenskommelse {doc.get('agreement')!r}")
        return c.errors
    areas = {str(a["id"]): a for a in agreement.get("priority_areas") or []}
    activities = {str(a["id"]) for a in agreement.get("activities") or []}
    values = _indicator_values()
    items = c.list_(doc, "indicators", "indicators", required=True)
    for i, ind in enumerate(items):
        w = f"indicators[{i}]"
        if not c.keys(ind, w, schema.Indicator):
            continue
        if str(ind.get("priority_area")) not in areas:
            c.fail(ind, "priority_area", f"{w}.priority_area", f"okänt prioriterat område {ind.get('priority_area')!r}")
        elif ind.get("sub_goal"):
            goals = {str(g["id"]) for g in areas[str(ind["priority_area"])].get("sub_goals") or []}
            if str(ind["sub_goal"]) not in goals:
                c.fail(ind, "sub_goal", f"{w}.sub_goal", f"okänt delmål {ind['sub_goal']!r} i området")
        kind = ind.get("kind")
        if kind not in INDICATOR_KINDS:
            c.fail(ind, "kind", f"{w}.kind", f"okänt värde {kind!r}; tillåtna: {', '.join(INDICATOR_KINDS)}")
            continue
        flt = ind.get("filter")
        if not isinstance(flt, _Map) or not flt:
            c.fail(ind, "filter", f"{w}.filter", f"ska ange minst ett av: {', '.join(INDICATOR_KINDS[kind])}")
            continue
        for dim, vals in flt.items():
            if dim not in INDICATOR_KINDS[kind]:
                c.fail(flt, dim, f"{w}.filter.{dim}", f"okänt filter för {kind}; tillåtna: {', '.join(INDICATOR_KINDS[kind])}")
                continue
            if not isinstance(vals, list) or not vals:
                c.fail(flt, dim, f"{w}.filter.{dim}", "ska vara en lista med minst ett värde")
                continue
            known = activities if kind == "activity" else values[kind][dim]
            for v in vals:
                if str(v) not in known:
                    c.fail(flt, dim, f"{w}.filter.{dim}", f"okänt värde {v!r} (finns inte i kodlistan)")
        if not str(ind.get("rationale") or "").strip():
            c.fail(ind, "rationale", f"{w}.rationale", "motivera varför indikatorn följer området")
    c.ids(items, "indicators")
    if not c.errors:
        c.typed(doc, schema.IndicatorFile)
    return c.errors


@dataclass
class Plan:
    documents: dict[str, _Map]          # id -> agreement or promise document
    paths: dict[str, Path]
    indicators: dict[str, list[_Map]]   # agreement id -> indicator definitions

    def agreements(self) -> list[_Map]:
        return [d for d in self.documents.values() if d["kind"] == "samverkansöverenskommelse"]

    def promises(self) -> list[_Map]:
        return [d for d in self.documents.values() if d["kind"] == "medborgarlöfte"]


def validate_file(path: Path, folder: Path | None = None) -> list[AgreementError]:
    """Validate one agreement, promise or indicator file (indicator files against their folder's agreements)."""
    path = Path(path)
    try:
        doc = read_yaml(path)
    except AgreementError as exc:
        return [exc]
    if "indicators" in doc and "kind" not in doc:
        base = folder or path.parent.parent
        docs = {}
        for p in sorted(base.glob("*.yaml")):
            try:
                d = read_yaml(p)
            except AgreementError:
                continue
            docs[str(d.get("id"))] = d
        return validate_indicators(doc, path, docs)
    errors = validate(doc, path)
    if doc.get("kind") == "medborgarlöfte" and doc.get("agreement") and not errors:
        base = folder or path.parent
        target = base / f"{doc['agreement']}.yaml"
        if not target.exists():
            errors.append(AgreementError(path, doc.key_lines.get("agreement"), "agreement",
                                         f"överenskommelsen {doc['agreement']!r} finns inte i {base}"))
        else:
            acts = {str(a["id"]) for a in read_yaml(target).get("activities") or []}
            for i, p in enumerate(doc.get("promises") or []):
                for ref in p.get("activities") or []:
                    if str(ref) not in acts:
                        errors.append(AgreementError(path, p.key_lines.get("activities"), f"promises[{i}].activities",
                                                     f"okänd aktivitet {ref!r} i {doc['agreement']}"))
    return errors


def load_folder(folder: Path = AGREEMENTS_DIR) -> Plan:
    """Read and validate every file; raises the first errors of the first invalid file."""
    folder = Path(folder)
    documents, paths, indicators = {}, {}, {}
    errors: list[AgreementError] = []
    for path in sorted(folder.glob("*.yaml")):
        errs = validate_file(path, folder)
        if errs:
            errors.extend(errs)
            continue
        doc = read_yaml(path)
        documents[str(doc["id"])] = doc
        paths[str(doc["id"])] = path
    for path in sorted((folder / "indicators").glob("*.yaml")):
        errs = validate_file(path, folder)
        if errs:
            errors.extend(errs)
            continue
        doc = read_yaml(path)
        indicators.setdefault(str(doc["agreement"]), []).extend(doc["indicators"])
    if errors:
        raise PlanInvalid(errors)
    return Plan(documents=documents, paths=paths, indicators=indicators)


class PlanInvalid(ValueError):
    def __init__(self, errors: list[AgreementError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
