"""The first screen of the BRÅ and council packs: "what changed and where do we stand", one card per priority area.

Each card: the area's status by the council's rule (``packs.area_status``, stated on the page) shown as colour,
symbol and word (Okabe–Ito colours, readable without colour); the one or two changes that drove it, in the
statistics rules' own wording; a small trend line of one count indicator over the last eight quarters (never of
concern reports: their counts are disclosure-controlled); the activity plan's progress in the latest tertial; and a
link to the section below that explains it. Nothing here is new: every word comes from the blocks below it.
"""
from __future__ import annotations

import pandas as pd

from dashboards.data import SiteData
from dashboards.signals import SignalFamily
from sources.quarter import Quarter

STATUS_LOOK = {  # word -> (symbol, css class); colour is never the only carrier
    "Uppmärksamma": ("▲", "status-attention"),
    "Förbättring": ("✓", "status-better"),
    "Oförändrat": ("●", "status-same"),
}
TREND_KINDS = ("crime", "est", "activity")
RULE = ("Uppmärksamma = minst en indikator har ändrats åt fel håll (möjlig eller tydlig förändring, de fyra senaste "
        "kvartalen mot de fyra före) eller minst en av områdets aktiviteter ligger efter plan; Förbättring = minst en "
        "indikator har ändrats åt rätt håll och ingen åt fel håll; annars Oförändrat.")


def first_screen(data: SiteData, code: str, agreement_id: str, family: SignalFamily, plan_blocks: list,
                 status_of, link: str | None = None) -> list[dict]:
    """Cards for the areas of ``plan_blocks`` (the ``omrade-*`` blocks); ``status_of(signals, behind)`` is the
    council's rule; ``link``: where every card points (default: the area's own block)."""
    plan = data.plan
    imap = plan["indicator_map"][plan["indicator_map"].agreement_id == agreement_id]
    labels = imap.groupby("indicator_id").agg(label=("label", "first"), kind=("kind", "first"),
                                              ordinal=("ordinal", "min"))
    links = plan["activity_areas"][plan["activity_areas"].agreement_id == agreement_id]
    progress = _latest_activity_status(data, code, agreement_id)
    cards = []
    for b in plan_blocks:
        if not b.id.startswith("omrade-"):
            continue
        area_id = b.id.removeprefix("omrade-")
        acts = set(links[links.priority_area_id == area_id].activity_id)
        statuses = [progress[a] for a in acts if a in progress]
        status, _, _ = status_of(b.signals, statuses.count("efter plan"))
        symbol, css = STATUS_LOOK[status]
        judged = [s for s in b.signals if s["direction"] is not None and s["kind"] != "activity"]
        judged.sort(key=lambda s: (s["direction"] == "up") != s["higher_is_worse"])  # worsenings first
        drivers = []
        for s in judged[:2]:
            sig = family.get(("ind4", s["indicator_id"]))
            drivers.append(f"{labels.label.get(s['indicator_id'], s['indicator_id'])}: "
                           f"{sig.text(percent=s['kind'] != 'concern')}")
        count_ids = [i for i in labels.sort_values("ordinal").index
                     if labels.kind[i] in TREND_KINDS and i in set(imap[imap.priority_area_id == area_id].indicator_id)]
        lead = next((s["indicator_id"] for s in judged if s["indicator_id"] in count_ids), None) or \
            (count_ids[0] if count_ids else None)
        cards.append({
            "id": area_id, "name": b.title, "status": status, "symbol": symbol, "css": css,
            "drivers": drivers or ["Ingen indikator visar en förändring som klarar statistikreglerna."],
            "trend": _sparkline(data, code, agreement_id, lead, labels.label.get(lead, "")) if lead else None,
            "progress": _progress_text(statuses),
            "href": link or f"#{b.id}",
        })
    return cards


def _latest_activity_status(data: SiteData, code: str, agreement_id: str) -> dict[str, str]:
    follow = data.marts["followup"]
    follow = follow[(follow.municipality_code == code) & (follow.document_id == agreement_id)
                    & (follow.grain == "tertial") & (follow.item_type == "aktivitet")]
    if follow.empty:
        return {}
    year = pd.to_datetime(follow.period_start).dt.year.max()
    latest = follow[pd.to_datetime(follow.period_start).dt.year == year].sort_values("period_start")
    return dict(latest.groupby("item_id").tail(1)[["item_id", "status"]].itertuples(index=False))


def _progress_text(statuses: list[str]) -> str:
    if not statuses:
        return "Inga aktiviteter följs upp för området."
    order = ["efter plan", "enligt plan", "klar", "ej påbörjad"]
    parts = [f"{statuses.count(s)} {s}" for s in order if statuses.count(s)]
    return f"Aktiviteter senaste tertialet: {', '.join(parts)}."


def _sparkline(data: SiteData, code: str, agreement_id: str, indicator_id: str, label: str) -> dict | None:
    """An inline SVG polyline of the last eight quarters (no axes: a shape to read with the words next to it)."""
    ind = data.marts["indicators_by_quarter"]
    ind = ind[(ind.agreement_id == agreement_id) & (ind.municipality_code == code) & (ind.area_code == "")
              & (ind.indicator_id == indicator_id)].dropna(subset=["quarter_seq"])
    if ind.empty:
        return None
    last = int(ind.quarter_seq.max())
    keys = list(range(last - 7, last + 1))
    series = ind.groupby(ind.quarter_seq.astype(int))["value"].sum()
    values = [float(series.get(k, 0.0)) for k in keys]
    top = max(values) or 1.0
    width, height = 120, 28
    points = " ".join(f"{i * width / 7:.1f},{height - 2 - v / top * (height - 4):.1f}" for i, v in enumerate(values))
    return {"points": points, "width": width, "height": height,
            "title": f"{label} per kvartal, {Quarter.from_seq(keys[0]).label} – {Quarter.from_seq(last).label}"}
