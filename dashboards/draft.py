"""The coordinator's analysis draft (``lagesbild draft``): a Markdown file with only what the warehouse holds.

Per priority area of the agreement in force: the indicators whose change passes the statistics rules
(dashboards/STATISTICS.md: the page's own signal family, the same figures and wording as the page), the comparisons
that are missing and why, the activities behind plan and those that reached their target; then the data gaps
(feeds without data in the period, preliminary figures). Headings for the coordinator's own judgement are left
empty. Counts from concern reports are never written (the page's disclosure control decides what is shown of
them): their signals are named without numbers. The next publish renders the file (after the coordinator's edits).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from dashboards.data import SiteData
from dashboards.packs import until_period
from dashboards.sections.common import fmt_indicator, quarter_span
from dashboards.signals import FEED_NAMES, agreement_in_force, crime_last_key, feed_coverage, page_family
from sources.policy import Policy
from sources.quarter import Quarter

ASSESSMENT = "_Samordnarens bedömning: vad betyder det här lokalt, och vad vet ni som inte syns i siffrorna?_"


def draft_text(data: SiteData, code: str, period: Quarter, policy: Policy, today: date | None = None) -> str:
    """The draft for one municipality and period (Swedish Markdown)."""
    today = today or date.today()
    frozen = until_period(data, period.year, period.q)
    name = data.municipalities.get(code, code)
    key_now = period.seq
    last = crime_last_key(frozen, code)
    lines = [f"# Analys – {name}, {period.label}", "",
             f"> Utkast skrivet av `lagesbild draft` {today.isoformat()} ur lagret: bara uppgifter som lagret har, var "
             "och en med sin siffra och period. Redigera fritt; nästa publicering visar texten i mötespaketet.", ""]
    agreement_id = agreement_in_force(frozen, code, key_now)
    if agreement_id is None:
        lines += ["Ingen samverkansöverenskommelse gäller för perioden.", ""]
        return "\n".join(lines) + _gaps(frozen, code, key_now, last)
    family = page_family(frozen, code, policy, agreement_id=agreement_id)
    plan = frozen.plan
    areas = plan["priority_areas"][plan["priority_areas"].agreement_id == agreement_id].sort_values("ordinal")
    imap = plan["indicator_map"][plan["indicator_map"].agreement_id == agreement_id]
    indicators = (imap.groupby("indicator_id").agg(label=("label", "first"), kind=("kind", "first"),
                                                   area=("priority_area_id", "first"), ordinal=("ordinal", "min"))
                  .reset_index().sort_values("ordinal"))
    status = _activity_status(frozen, code, agreement_id, period)
    links = plan["activity_areas"][plan["activity_areas"].agreement_id == agreement_id]
    for area in areas.itertuples():
        lines += [f"## {area.name}", "", "### Förändringar som klarar statistikreglerna", ""]
        found, missing = [], []
        for ind in indicators[indicators.area == area.priority_area_id].itertuples():
            if ind.kind == "survey":
                continue  # yearly survey shares: their intervals are on the page, not a quarterly signal
            try:
                sig = family.get(("ind4", ind.indicator_id))
            except KeyError:  # no comparison was made: the municipality has no reported crime at all
                missing.append(f"- {ind.label}: saknas (lagret har inga uppgifter att jämföra)")
                continue
            if sig.missing is not None:
                missing.append(f"- {ind.label}: {sig.text()}")
            elif sig.signal:
                if ind.kind == "concern":  # sensitive: no counts outside the page's disclosure control
                    found.append(f"- {ind.label}: {sig.text(percent=False)} ({quarter_span(key_now, 4)} mot "
                                 f"{quarter_span(key_now - 4, 4)}; antalen visas i mötespaketets tabell).")
                else:
                    found.append(f"- {ind.label}: {fmt_indicator(ind.kind, sig.now, policy)} ({quarter_span(key_now, 4)}) "
                                 f"mot {fmt_indicator(ind.kind, sig.before, policy)} ({quarter_span(key_now - 4, 4)}): "
                                 f"{sig.text()}.")
        lines += found or ["Ingen indikator visar en förändring som klarar statistikreglerna."]
        if missing:
            lines += ["", "Jämförelser som saknas:"] + missing
        area_acts = set(links[links.priority_area_id == area.priority_area_id].activity_id)
        behind = [r for r in status if r["item_id"] in area_acts and r["status"] == "efter plan"]
        done = [r for r in status if r["item_id"] in area_acts and r["status"] == "klar"]
        lines += ["", "### Aktiviteter", ""]
        lines += [f"- Efter plan: {r['name']}: {r['done_to_date']} av förväntade {r['expected']} genomförda "
                  f"({r['period']})." for r in behind]
        lines += [f"- Målet nått: {r['name']}: {r['done_to_date']} av {r['target']} ({r['period']})." for r in done]
        if not behind and not done:
            lines.append("Ingen av områdets aktiviteter ligger efter plan eller har nått sitt mål.")
        lines += ["", "### Bedömning", "", ASSESSMENT, ""]
    return "\n".join(lines) + _gaps(frozen, code, key_now, last)


def write_drafts(data: SiteData, period: Quarter, folder: Path, policy: Policy, codes: list[str] | None = None,
                 force: bool = False) -> list[tuple[Path, bool]]:
    """One draft per municipality (default: every municipality with an agreement) as ``<code>-<period>.md`` in
    ``folder``, where the packs read the analysis; an existing file is kept unless ``force``. Returns (file,
    written?)."""
    codes = codes or sorted(set(data.plan["agreements"].municipality_code))
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for code in codes:
        target = folder / f"{code}-{period.text}.md"
        if target.exists() and not force:
            out.append((target, False))
            continue
        target.write_text(draft_text(data, code, period, policy), encoding="utf-8")
        out.append((target, True))
    return out


def _activity_status(data: SiteData, code: str, agreement_id: str, period: Quarter) -> list[dict]:
    """The latest tertial of the period's year that has started by the period's end, per activity."""
    follow = data.marts["followup"]
    follow = follow[(follow.municipality_code == code) & (follow.document_id == agreement_id)
                    & (follow.grain == "tertial") & (follow.item_type == "aktivitet")]
    starts = pd.to_datetime(follow.period_start)
    follow = follow[(starts.dt.year == period.year) & (starts.dt.date <= period.end)]
    if follow.empty:
        return []
    latest = follow.sort_values("period_start").groupby("item_id").tail(1)
    out = []
    for r in latest.itertuples():
        start = pd.Timestamp(r.period_start)
        out.append({"item_id": r.item_id, "name": r.name, "status": r.status,
                    "done_to_date": int(r.done_to_date), "expected": None if pd.isna(r.expected) else int(r.expected),
                    "target": None if pd.isna(r.target) else int(r.target),
                    "period": f"T{(start.month - 1) // 4 + 1} {start.year}"})
    return out


def _gaps(data: SiteData, code: str, key_now: int, last_crime: int | None) -> str:
    lines = ["", "## Dataluckor", ""]
    coverage = feed_coverage(data, code)
    window = set(range(key_now - 7, key_now + 1))
    for kind, quarters in coverage.items():
        lacking = sorted(window - quarters)
        if lacking:
            feed = FEED_NAMES.get(kind, kind)
            lines.append(f"- {feed[:1].upper() + feed[1:]} saknar "
                         f"{', '.join(Quarter.from_seq(k).label for k in lacking)}.")
    year = Quarter.from_seq(key_now).year
    rates = data.marts.get("rates_by_year", pd.DataFrame())
    if not rates.empty:
        rates = rates[(rates.municipality_code == code) & (rates.area_code == "") & rates.year.between(year - 1, year)]
        for y, basis in sorted({(int(y), str(b)) for y, b in zip(rates.year, rates.population_basis)}):
            if basis.startswith("senast kända"):
                lines.append(f"- Befolkning {y} saknas: talen per invånare bygger på {basis} och är inte slutliga.")
            elif basis.startswith("folkmängd 31 dec"):
                lines.append(f"- Befolkning {y}: nämnaren är {basis}, inte medelfolkmängden (talen per invånare "
                             "är preliminära).")
    pop = data.marts.get("population_by_year", pd.DataFrame())
    if not pop.empty and "carried_forward" in pop:
        carried = pop[(pop.municipality_code == code) & pop.carried_forward.fillna(False).astype(bool)]
        for y in sorted({int(v) for v in carried.year if year - 1 <= int(v) <= year}):
            lines.append(f"- Befolkningen för {y} är framskriven (varje område har samma siffra som året innan).")
    if last_crime is not None and last_crime >= key_now:
        lines.append(f"- Anmälda brott för {Quarter.from_seq(key_now).label} är preliminära (polisens export efter "
                     "inskrivningsdatum; de kan kompletteras).")
    if len(lines) == 3:
        lines.append("Inga luckor i de senaste åtta kvartalen.")
    lines += ["", "## Samordnarens sammanfattning", "", ASSESSMENT, ""]
    return "\n".join(lines) + "\n"
