"""Page section: the agreement in force — indicators per priority area, the activity follow-up and every
interpretation the encoding makes."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_date, fmt_int, fmt_number, quarter_label
from sources.policy import Policy
from dashboards.disclosure import Fact
from dashboards.signals import SignalFamily, page_family
from dashboards.statistics import survey_change_se
from dashboards.data import SiteData
from dashboards.render import Block
from dashboards.sections.common import STATUS_ORDER, breaks_in, breaks_text, fmt_indicator
from dashboards.sections.concern import concern_cells, concern_universe
from sources.quarter import Quarter


def agreement_blocks(data: SiteData, code: str, policy: Policy,
                     family: SignalFamily | None = None) -> tuple[dict | None, list[Block]]:
    """The agreement in force for the latest quarter: indicators per priority area and the activity follow-up."""
    plan = data.plan
    crime = data.of("crime_by_quarter", code)
    if crime.empty or plan["agreements"].empty:
        return None, []
    last = crime.sort_values(["year", "quarter"]).iloc[-1]
    year, quarter = int(last.year), int(last.quarter)
    q_start = pd.Timestamp(year=year, month=3 * quarter - 2, day=1).date()
    ags = plan["agreements"]
    ags = ags[(ags.municipality_code == code) & (pd.to_datetime(ags.valid_from).dt.date <= q_start)
              & (pd.to_datetime(ags.valid_to).dt.date >= q_start)]
    if ags.empty:
        return None, []
    ag = ags.iloc[0]
    marks = interpretations_of(data, ag.agreement_id)
    valid_marks = marks[(marks.item_type == "document") & marks.field.isin(["valid_from", "valid_to"])]
    info = {"id": ag.agreement_id, "title": ag.title, "valid": f"{fmt_date(pd.Timestamp(ag.valid_from).date())} – "
                                       f"{fmt_date(pd.Timestamp(ag.valid_to).date())}",
            # dates the document does not state are shown as the encoding's reading, with its reason
            "valid_note": "; ".join(dict.fromkeys(valid_marks.why)) or None,
            "goal": ag.overall_goal, "period": quarter_label(year, quarter)}
    ind = data.marts["indicators_by_quarter"]
    ind = ind[(ind.agreement_id == ag.agreement_id) & (ind.area_code == "")]
    family = family or page_family(data, code, policy, agreement_id=ag.agreement_id)
    areas = plan["priority_areas"][plan["priority_areas"].agreement_id == ag.agreement_id].sort_values("ordinal")
    labels = (plan["indicator_map"][plan["indicator_map"].agreement_id == ag.agreement_id]
              .groupby("indicator_id").agg(label=("label", "first"), kind=("kind", "first"),
                                           rationale=("rationale", "first"), ordinal=("ordinal", "min"),
                                           higher_is_worse=("higher_is_worse", "first"),
                                           priority_area_id=("priority_area_id", "first")).reset_index())
    key_now = Quarter(year, quarter).seq
    imap = plan["indicator_map"]
    survey_items = dict(imap[(imap.agreement_id == ag.agreement_id) & (imap.dimension == "item")]
                        [["indicator_id", "value"]].itertuples(index=False))
    blocks = []
    for area in areas.itertuples():
        defs = labels[labels.priority_area_id == area.priority_area_id].sort_values("ordinal")
        if defs.empty:
            continue
        rows = []
        signals = []
        facts = []
        for d in defs.itertuples():
            series = ind[ind.indicator_id == d.indicator_id]
            if d.kind == "survey":
                yearly = series.dropna(subset=["value"]).sort_values("year")
                latest = yearly.iloc[-1] if len(yearly) else None
                prev = yearly.iloc[-2] if len(yearly) > 1 else None
                change = "–"
                item = survey_items.get(d.indicator_id)
                if latest is not None and prev is not None and item:
                    sv = data.marts["survey_by_year"]
                    sv = sv[(sv.municipality_code == code) & (sv.area_code == "") & (sv.item == item)].set_index("year")
                    if latest.year in sv.index and prev.year in sv.index:
                        a, b = sv.loc[prev.year], sv.loc[latest.year]
                        diff, _, _, ok = survey_change_se(a.share, a.se, b.share, b.se)
                        signals.append({"indicator_id": d.indicator_id, "kind": d.kind,
                                        "direction": ("up" if diff > 0 else "down") if ok else None,
                                        "higher_is_worse": bool(d.higher_is_worse)})
                        change = (f"{'säkerställd' if ok else 'ingen säkerställd'} förändring "
                                  f"({'+' if diff > 0 else '−'}{fmt_number(abs(diff) * 100, 0)} procentenheter)")
                rows.append({"Indikator": d.label,
                             "Senaste": f"{fmt_indicator('survey', latest.value, policy)} ({latest.year})" if latest is not None else "–",
                             "Jämförelse": f"{fmt_indicator('survey', prev.value, policy)} ({prev.year})" if prev is not None else "–",
                             "Senaste fyra kvartalen": "–", "Fyra kvartal före": "–", "Förändring kvartal": "–",
                             "Förändring": change,
                             "Varför": d.rationale})
                continue
            s = series.dropna(subset=["quarter_seq"])
            by_key = s.groupby(s.quarter_seq.astype(int))["value"].sum()
            sig4, sigq = family.get(("ind4", d.indicator_id)), family.get(("indq", d.indicator_id))
            signals.append({"indicator_id": d.indicator_id, "kind": d.kind,
                            "direction": None if not sig4.signal else ("up" if sig4.direction == "ökning" else "down"),
                            "higher_is_worse": bool(d.higher_is_worse)})

            sensitive = d.kind == "concern"
            if sensitive:
                _concern_indicator_facts(data, code, ag.agreement_id, d.indicator_id, area, d.label, len(rows),
                                         key_now, sig4, sigq, by_key, policy, facts)
            rows.append({"Indikator": d.label,
                         "Senaste": ("saknas" if sigq.missing is not None else
                                     f"{fmt_indicator(d.kind, by_key.get(key_now, 0), policy)} ({quarter_label(year, quarter)})"),
                         "Jämförelse": ("saknas" if sigq.missing is not None else
                                        f"{fmt_indicator(d.kind, by_key.get(key_now - 4, 0), policy)} ({quarter_label(year - 1, quarter)})"),
                         "Senaste fyra kvartalen": "saknas" if sig4.missing is not None else fmt_indicator(d.kind, sig4.now, policy),
                         "Fyra kvartal före": "saknas" if sig4.missing is not None else fmt_indicator(d.kind, sig4.before, policy),
                         "Förändring kvartal": sigq.text(percent=not sensitive),
                         "Förändring": sig4.text(percent=not sensitive), "Varför": d.rationale})
        counts = ind[(ind.priority_area_id == area.priority_area_id) & (ind.kind.isin(["crime", "est", "activity"]))
                     & (ind.quarter_seq > key_now - 12)].copy()
        figure = (figures.make_indicator_trend_figure(counts, "Indikatorer per kvartal, senaste tre åren")
                  if not counts.empty else None)
        area_breaks = []
        if figure is not None:
            mapped = imap[(imap.agreement_id == ag.agreement_id) & (imap.priority_area_id == area.priority_area_id)
                          & imap.dimension.isin(["level2", "level3"])]
            area_breaks = breaks_in(data, set(mapped.value), figures.all_quarters(counts))
            figures.add_series_breaks(figure, area_breaks)
        blocks.append(Block(
            id=f"omrade-{area.priority_area_id}", section="Prioriterade områden i samverkansöverenskommelsen",
            title=" ".join(str(area.name).split()),
            description=("Indikatorerna som följer området enligt indikatorkartläggningen (data/agreements/indicators). "
                         "Antal jämförs med samma kvartal året innan och de fyra senaste kvartalen med de fyra före; "
                         "enkätandelar med föregående mätning. Ett kvartal utan uppgifter visas som \"saknas\" och "
                         "jämförs aldrig. " + family.note() + breaks_text(area_breaks)),
            figure=figure, table=pd.DataFrame(rows),
            source="Samverkansöverenskommelsen; anmälda brott, EST, orosanmälningar, trygghetsmätning, aktivitetslogg",
            period=quarter_label(year, quarter), status="Preliminära uppgifter för senaste kvartalet.",
            signals=signals, facts=facts))
    follow = data.marts["followup"]
    follow = follow[(follow.document_id == ag.agreement_id) & (follow.grain == "tertial")
                    & (pd.to_datetime(follow.period_start).dt.year == year)]
    if not follow.empty:
        latest = follow.sort_values("period_start").groupby("item_id").tail(1).sort_values("ordinal")
        latest = latest.assign(order=latest.status.map(STATUS_ORDER)).sort_values(["order", "ordinal"])
        # values the agreement does not state (e.g. a responsible party where the plan has no such column) are
        # shown as interpretations, and the reasons are given under the table
        act_marks = marks[marks.item_type == "activities"]
        marked = {(r.item_id, r.field) for r in act_marks.itertuples()}
        responsible_interpreted = [(i, "responsible") in marked for i in latest.item_id]
        target_interpreted = [(i, "count") in marked or (i, "per") in marked for i in latest.item_id]
        table = pd.DataFrame({
            "Aktivitet": [" ".join(str(n).split()) for n in latest.name],
            "Ansvarig": [str(p).capitalize() + (" (tolkning)" if m else "")
                         for p, m in zip(latest.party, responsible_interpreted)],
            "Mål för året": [(fmt_int(t) + (" (tolkning)" if m else "")) if pd.notna(t) else "inget antal"
                             for t, m in zip(latest.target, target_interpreted)],
            "Genomfört hittills": [fmt_int(v) for v in latest.done_to_date],
            "Förväntat hittills": [fmt_int(v) if pd.notna(v) else "–" for v in latest.expected],
            "Status": latest.status})
        blocks.append(Block(
            id="uppfoljning", section="Prioriterade områden i samverkansöverenskommelsen",
            title=f"Uppföljning av handlingsplanen {year}",
            description=("Status per aktivitet vid senaste tertialet. Regler: klar = årets mål är nått; "
                         "efter plan = färre än förväntat hittills (målet fördelat jämnt över året, avrundat nedåt) "
                         "eller året slut utan att målet nåtts; ej påbörjad = inget gjort och inget förväntat ännu; "
                         "enligt plan = i övrigt. Aktiviteter utan antal: enligt plan om något gjorts under tertialet."
                         + _interpretation_note(act_marks[act_marks.item_id.isin(set(latest.item_id))],
                                                ["responsible", "count", "per"])),
            figure=None, table=table, source="Aktivitetslogg; samverkansöverenskommelsens handlingsplan",
            period=f"{year}", status="Enligt aktivitetsloggen; aktiviteter som inte loggats räknas inte."))
    note = interpretation_block(data, ag.agreement_id, "samverkansöverenskommelsen")
    if note is not None:
        blocks.append(note)
    return info, blocks


def interpretations_of(data: SiteData, document_id: str) -> pd.DataFrame:
    """The values of an agreement or promise document that the encoding assumes (plan.interpretations)."""
    marks = data.plan.get("interpretations")
    if marks is None or marks.empty:
        return pd.DataFrame(columns=["document_id", "ordinal", "item_type", "item_id", "item", "field", "field_label",
                                     "value", "by_whom", "why"])
    return marks[marks.document_id == document_id].sort_values("ordinal")


def _interpretation_note(marks: pd.DataFrame, fields: list[str]) -> str:
    """" Tolkning (inte överenskommelsens text): …" with each distinct reason once."""
    reasons = list(dict.fromkeys(f"{r.field_label}: {r.why}" for r in marks.itertuples() if r.field in fields))
    if not reasons:
        return ""
    return " Tolkning (inte överenskommelsens text) – " + " ".join(
        r if r.endswith(".") else r + "." for r in reasons)


def interpretation_block(data: SiteData, document_id: str, title: str) -> Block | None:
    """Every value the encoding of an agreement or promise document assumes, with who assumed it and why."""
    marks = interpretations_of(data, document_id)
    if marks.empty:
        return None
    table = pd.DataFrame({"Gäller": list(marks["item"]), "Uppgift": list(marks.field_label),
                          "Värde i lägesbild": list(marks.value), "Varför det är en tolkning": list(marks.why),
                          "Tolkad av": list(marks.by_whom)})
    return Block(
        id=f"tolkningar-{document_id}", section="Prioriterade områden i samverkansöverenskommelsen",
        title=f"Tolkningar i {title}",
        description=("Uppgifter som lägesbilden behöver men som dokumentet inte anger (till exempel en "
                     "mötesfrekvens eller en ansvarig part). De är tolkningar, inte dokumentets text, och markeras "
                     "\"tolkning\" där de visas. Allt annat är dokumentets egna ord."),
        figure=None, table=table, source=f"data/agreements/{document_id}.yaml och det undertecknade dokumentet",
        period="Hela giltighetstiden", status="Tolkningarna kan ändras när parterna förtydligar dokumentet.")


def _concern_indicator_facts(data: SiteData, code: str, agreement_id: str, indicator_id: str, area, label: str,
                             row: int, key_now: int, sig4, sigq, by_key, policy: Policy, facts: list) -> None:
    """The numbers a concern-report indicator row publishes, as facts for the page-wide disclosure control."""
    imap = data.plan["indicator_map"]
    dims = imap[(imap.agreement_id == agreement_id) & (imap.indicator_id == indicator_id)]
    concern = data.marts["concern_by_quarter"]
    universe = concern_universe(concern[concern.municipality_code == code])
    reasons = set(dims[dims.dimension == "reason"].value) or None
    ages = set(dims[dims.dimension == "age_band"].value) or None
    title = " ".join(str(area.name).split())

    def quarters(first: int, last: int) -> set:
        return {(y, q) for y, q in universe[0] if first <= Quarter(y, q).seq <= last}

    windows = []
    if sigq.missing is None:
        windows += [("Senaste", quarters(key_now, key_now), by_key.get(key_now, 0)),
                    ("Jämförelse", quarters(key_now - 4, key_now - 4), by_key.get(key_now - 4, 0))]
    if sig4.missing is None:
        windows += [("Senaste fyra kvartalen", quarters(key_now - 3, key_now), sig4.now),
                    ("Fyra kvartal före", quarters(key_now - 7, key_now - 4), sig4.before)]
    for column, selected, value in windows:
        facts.append(Fact(f"omrade-{area.priority_area_id}", title, label, column,
                          concern_cells(universe, selected, ages, reasons),
                          fmt_indicator("concern", value, policy), (row, column)))
