"""Said and interpreted (sources/agreements/README.md): reading the marks an entry carries — the document's own
words behind a normalised value (``said``) and a value the document does not state, with who assumed it and why
(``interpreted``) — and listing every interpretation of a document for the pages and ``lagesbild plan show``."""
from __future__ import annotations

from datetime import date
from typing import Any

from sources.agreements import CADENCE_LABELS, MARKS


def interpretation(m: Any, key: str) -> dict | None:
    """``{by, why}`` when ``m[key]`` is marked as an interpretation, else None."""
    if isinstance(m, dict) and isinstance(m.get("interpreted"), dict):
        v = m["interpreted"].get(key)
        return dict(v) if isinstance(v, dict) else None
    return None


def said(m: Any, key: str) -> str | None:
    """The document's own words behind ``m[key]``, when given."""
    if isinstance(m, dict) and isinstance(m.get("said"), dict):
        v = m["said"].get(key)
        if isinstance(v, list):
            v = " … ".join(str(x) for x in v)
        return " ".join(str(v).split()) if v else None
    return None


FIELD_LABELS = {"cadence": "mötesfrekvens", "frequency": "frekvens", "responsible": "ansvariga", "count": "antal",
                "per": "period för målet", "valid_from": "gäller från", "valid_to": "gäller till", "title": "titel",
                "min_per_year": "minst antal per år", "activities": "kopplade aktiviteter", "forum": "forum",
                "name": "namn", "text": "text", "party": "part"}


PER_LABELS = {"year": "per år", "tertial": "per tertial", "quarter": "per kvartal", "month": "per månad",
              "period": "under giltighetstiden"}


_KIND_LABELS = {"forums": "Forum", "activities": "Aktivitet", "follow_up": "Uppföljning", "promises": "Löfte",
                "targets": "Mål", "parties": "Part", "priority_areas": "Område", "reporting": "Rapportering",
                "target": "Mål"}


def shown_value(doc: Any, key: str, value: Any) -> str:
    """A normalised value as a reader sees it (Swedish labels, party names)."""
    if key in ("cadence", "frequency") and value in CADENCE_LABELS:
        return CADENCE_LABELS[value]
    if key == "per" and value in PER_LABELS:
        return PER_LABELS[value]
    if key == "responsible" and isinstance(value, list):
        names = {str(p["id"]): str(p["name"]) for p in (doc.get("parties") or [])}
        return ", ".join(names.get(str(r.get("party")), str(r.get("party"))) for r in value if isinstance(r, dict))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def interpretations(doc: Any) -> list[dict]:
    """Every value of a document marked as an interpretation, in document order:
    ``{item_type, item_id, item, field, field_label, value, by, why}`` (item: the entry it belongs to, as named)."""
    out: list[dict] = []

    def label_of(m: dict, kind: str) -> str:
        for k in ("name", "what", "text", "title"):
            if isinstance(m.get(k), str):
                text = " ".join(m[k].split())
                return f"{_KIND_LABELS.get(kind, kind)}: {text[:80]}{'…' if len(text) > 80 else ''}"
        return _KIND_LABELS.get(kind, kind)

    def visit(m: Any, kind: str, item_id: str | None, item: str) -> None:
        if isinstance(m, list):
            for x in m:
                visit(x, kind, item_id, item)
            return
        if not isinstance(m, dict):
            return
        if "id" in m and kind:
            item_id, item = str(m["id"]), label_of(m, kind)
        elif kind in ("follow_up", "reporting", "target"):
            item = label_of(m, kind)
        for key, mark in (m.get("interpreted") or {}).items():
            if isinstance(mark, dict):
                out.append({"item_type": kind or "document", "item_id": item_id, "item": item, "field": key,
                            "field_label": ("uppföljningsfrekvens" if kind == "reporting" and key == "cadence"
                                            else FIELD_LABELS.get(key, key)),
                            "value": shown_value(doc, key, m.get(key)),
                            "by": " ".join(str(mark.get("by", "")).split()),
                            "why": " ".join(str(mark.get("why", "")).split())})
        for key, v in m.items():
            if key in MARKS:
                continue
            if isinstance(v, (list, dict)):
                visit(v, key if key in _KIND_LABELS else kind, item_id, item)

    visit(doc, "", None, "Dokumentet")
    return out


def interpreted_mark(m: Any, key: str) -> str:
    """`` [tolkning: …]`` or `` (”the document's words”)`` for ``plan show``; empty when neither is given."""
    i = interpretation(m, key)
    if i:
        return f" [tolkning: {' '.join(i['why'].split())}]"
    q = said(m, key)
    return f" (”{q}”)" if q else ""
