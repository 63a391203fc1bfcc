"""Page composition: marts (as DataFrames) -> static site (index, one lägesbild page per municipality, quality).

Works offline: one shared ``plotly.min.js`` beside the pages, no CDN. All text from input data is escaped by
Jinja's autoescape; figure JSON is escaped by Plotly. Files are written atomically (temp file + rename).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dashboards import figures
from dashboards.format import fmt_date, fmt_int, fmt_number, fmt_percent, quarter_label
from dashboards.policy import Policy, load_policy
from dashboards.disclosure import Fact, audit, protect
from dashboards.signals import SignalFamily, page_family
from dashboards.statistics import apply_mask, suppress, survey_change_se

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = "plotly.min.js"

FEED_LABELS = {
    "crime_reports": "Anmälda brott (polisens export)",
    "est_events": "EST-rapporter",
    "concern_reports": "Orosanmälningar (aggregat)",
    "survey_responses": "Trygghetsmätning",
    "population": "Folkmängd",
    "areas": "Områden",
}
FEED_LABELS.update({
    "polisen_events": "Polisens händelser (polisen.se)", "bra_stats": "Brås statistik (aggregat)",
    "bra_indicators": "Brås indikatorer för kommuners lägesbild", "survey_aggregates": "Trygghetsmätning (andelar)",
    "activity_log": "Aktivitetslogg",
})
STATUS_LABELS = {"loaded": "inläst", "already_loaded": "redan inläst", "replaced": "ersatt", "rejected": "avvisad"}


@dataclass
class Block:
    id: str
    section: str
    title: str
    description: str
    figure: go.Figure | None
    table: pd.DataFrame
    source: str
    period: str
    status: str
    # structured change per indicator (for rules applied elsewhere, e.g. the council's area status):
    # {"indicator_id", "kind", "direction": "up" | "down" | None, "higher_is_worse": bool}
    signals: list[dict] = field(default_factory=list)
    # numbers published from a sensitive source, for the page-wide disclosure control (dashboards/disclosure.py)
    facts: list = field(default_factory=list)
    # redraws the figure when the disclosure control hid more cells: called with {(row label, column label)}
    redraw: Callable | None = None
    _escaped: object = field(default=None, repr=False, compare=False)

    def figure_html(self) -> str:
        if self.figure is None:
            return ""
        if self._escaped is not self.figure:  # once per figure: input text in labels is shown, never rendered
            figures.escape_figure(self.figure)
            self._escaped = self.figure
        return self.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{self.id}",
                                   config={"displaylogo": False, "responsive": True,
                                           "toImageButtonOptions": {"filename": self.id}})


@dataclass
class SiteData:
    marts: dict[str, pd.DataFrame]
    files: pd.DataFrame
    checks: pd.DataFrame
    quarantine: pd.DataFrame
    municipalities: dict[str, str]            # code -> name
    suites: list[dict]                        # {feed, table, row_id, path, expectations: [spec]}
    survey_labels: dict[str, str]
    concern_reason_labels: dict[str, str]
    published_at: datetime
    series_breaks: list[dict] = field(default_factory=list)
    revisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # meta.revisions: which file replaced which rows
    level3_to_level2: dict[str, str] = field(default_factory=dict)
    plan: dict[str, pd.DataFrame] = field(default_factory=dict)  # plan.* tables (agreements, areas, indicators)
    # reported crimes per municipality, area and quarter for every municipality (the quality page's coverage table;
    # ``marts`` may hold only the municipalities whose pages are being rebuilt)
    crime_coverage: pd.DataFrame | None = None
    child_age_bands: list[str] = field(default_factory=list)  # concern age bands of children 0–17 (ref.age_bands)


@dataclass
class SiteResult:
    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, list[str]] = field(default_factory=dict)


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(int=fmt_int, number=fmt_number, percent=fmt_percent, date=fmt_date)
    return env


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8") if isinstance(text, str) else text)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a web server running as another user must read the site
    os.replace(tmp, path)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _ensure_plotly_js(out_dir: Path) -> None:
    import plotly.offline

    js = plotly.offline.get_plotlyjs().encode("utf-8")
    target = out_dir / PLOTLY_JS
    if not target.exists() or target.stat().st_size != len(js):
        _write(target, js)


def _period_text(df: pd.DataFrame) -> str:
    if df.empty:
        return "inga data"
    first = df.sort_values(["year", "quarter"]).iloc[0]
    last = df.sort_values(["year", "quarter"]).iloc[-1]
    return f"{quarter_label(first.year, first.quarter)} – {quarter_label(last.year, last.quarter)}"


def _area_names(data: SiteData, code: str) -> dict[str, str]:
    areas = data.marts["dim_areas"]
    names = dict(zip(areas.loc[areas.municipality_code == code, "area_code"],
                     areas.loc[areas.municipality_code == code, "area_name"]))
    names[""] = "Ej platsbestämt"
    return names


def _quarter_table(df: pd.DataFrame, stack: str, value: str, suppress: Policy | None = None
                   ) -> pd.DataFrame:
    pivot = figures.with_quarter_labels(df).pivot_table(index=["period_key", "period"], columns=stack, values=value,
                                                        aggfunc="sum", fill_value=0)
    pivot = pivot.reset_index().drop(columns="period_key").rename(columns={"period": "Kvartal"})
    out = pivot.copy()
    for c in out.columns[1:]:
        if suppress is not None:
            out[c] = [suppress.suppressed_label if 1 <= v <= suppress.max_suppressed_count else fmt_int(v)
                      for v in pivot[c]]
        else:
            out[c] = [fmt_int(v) for v in pivot[c]]
    if suppress is None:
        out["Totalt"] = [fmt_int(v) for v in pivot.iloc[:, 1:].sum(axis=1)]
    out.columns.name = None
    return out


def _last_quarter(df: pd.DataFrame) -> tuple[int, int]:
    last = df.sort_values(["year", "quarter"]).iloc[-1]
    return int(last.year), int(last.quarter)


def _quarter_span(key_end: int, quarters: int) -> str:
    first = key_end - quarters + 1
    return f"{quarter_label((first - 1) // 4, (first - 1) % 4 + 1)} – {quarter_label((key_end - 1) // 4, (key_end - 1) % 4 + 1)}"


def _breaks_in(data: SiteData, categories: set[str] | None, quarters: list[str]) -> list[tuple[str, str]]:
    """Series breaks (data/reference/series_breaks.csv) inside the quarters drawn, for charts whose series include
    the break's crime category (``categories`` as level-2 names; None = every category, e.g. a total)."""
    out = []
    level2_of = data.level3_to_level2
    for b in data.series_breaks:
        d = pd.Timestamp(b["date"])
        label = quarter_label(d.year, (d.month - 1) // 3 + 1)
        if label in quarters and quarters.index(label) > 0 and (
                categories is None or level2_of.get(b["level3"]) in categories or b["level3"] in categories):
            out.append((label, f"Lagändring: {b['level3'].lower()}"))
    return out


def _year_breaks(data: SiteData, years: list[int]) -> list[tuple[str, str]]:
    """Series breaks inside a yearly series of total crime (every category is included): a break crosses the
    series when there are data both before and after its date; it is marked at the first year it touches."""
    out = []
    if not years:
        return out
    start, end = pd.Timestamp(min(years), 1, 1), pd.Timestamp(max(years), 12, 31)
    for b in data.series_breaks:
        d = pd.Timestamp(b["date"])
        if start < d <= end:
            out.append((str(d.year), f"Lagändring: {b['level3'].lower()}"))
    return out


def _breaks_text(breaks: list[tuple[str, str]]) -> str:
    if not breaks:
        return ""
    return (" Serien bryts av lagändringar (" + "; ".join(f"{t.removeprefix('Lagändring: ')} {p}" for p, t in breaks)
            + "): jämför inte över brytpunkten utan att ta hänsyn till det.")


def _bra_status(data: SiteData, code: str, years: list[int]) -> str:
    """Preliminary or final, per year, as Brå's own files say (bra_stats); never assumed."""
    status = data.marts.get("bra_status_by_year", pd.DataFrame())
    known = status[(status.municipality_code == code) & status.year.isin(years)] if not status.empty else status
    if known.empty:
        return ("Brås officiella statistik. Om uppgifterna är preliminära eller slutliga framgår inte av de inlästa "
                "filerna (se Brås publicering).")
    prelim = sorted(int(y) for y, p in zip(known.year, known.preliminary) if p)
    final = sorted(int(y) for y, p in zip(known.year, known.preliminary) if not p)
    parts = []
    if final:
        parts.append(f"slutlig för {_years_text(final)}")
    if prelim:
        parts.append(f"preliminär för {_years_text(prelim)}")
    unknown = sorted(set(years) - set(prelim) - set(final))
    if unknown:
        parts.append(f"status okänd för {_years_text(unknown)}")
    return "Brås officiella statistik: " + ", ".join(parts) + " (enligt Brås fil)."


def _years_text(years: list[int]) -> str:
    if len(years) > 2 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


def _geography_order(df: pd.DataFrame, code: str) -> pd.DataFrame:
    """Municipality, then its county, then the whole country; years ascending."""
    rank = df.geography_code.map({code: 0, code[:2]: 1, "00": 2}).fillna(3)
    return df.assign(_rank=rank).sort_values(["_rank", "year"]).drop(columns="_rank")


def crime_blocks(data: SiteData, code: str, names: dict[str, str], policy: Policy,
                 family: SignalFamily | None = None) -> list[Block]:
    crime = data.marts["crime_by_quarter"]
    crime = crime[crime.municipality_code == code]
    if crime.empty:
        return []
    blocks = []
    counted = crime[crime.counts_as_crime]
    excluded = int(crime.loc[~crime.counts_as_crime, "crimes"].sum())
    top = figures.top_categories(counted[["year", "quarter", "category", "crimes"]], "category", "crimes", 6)
    fig = figures.make_quarterly_stacked_figure(counted, "crimes", "category", "Anmälda brott per kvartal",
                                                "Antal anmälda brott")
    quarters = figures.all_quarters(counted)
    breaks = _breaks_in(data, set(counted["category"]), quarters)  # every category drawn, "övriga" included
    figures.add_series_breaks(fig, breaks)
    year, quarter = _last_quarter(counted)
    family = family or page_family(data, code, policy)
    blocks.append(Block(
        id="brott-kvartal", section="Anmälda brott", title="Anmälda brott per kvartal och brottskategori",
        description=("Antal anmälda brott efter inskrivningsdatum, de sex största kategorierna och övriga. "
                     f"{fmt_int(excluded)} registreringar som inte är brott (t.ex. viltolyckor) ingår inte. "
                     "Anmälda brott påverkas av anmälningsbenägenhet och polisens egna insatser. "
                     + ("Streckade linjer markerar lagändringar som bryter serien." if breaks else "")),
        figure=fig, table=_quarter_table(top, "category", "crimes"),
        source=FEED_LABELS["crime_reports"], period=_period_text(counted),
        status=f"Preliminära uppgifter ur polisens export (inskrivningsdatum); {quarter_label(year, quarter)} kan "
               "kompletteras."))
    # the last four quarters against the four before, per category, with the change signal (page-wide family)
    key_now = year * 4 + quarter
    label_now, label_before = _quarter_span(key_now, 4), _quarter_span(key_now - 4, 4)
    cats = sorted(k[1] for k in family.tests if k[0] == "crime" and k[1] is not None)
    total = family.get(("crime", None))
    if total.missing is not None:
        blocks.append(Block(
            id="brott-forandring", section="Anmälda brott",
            title="Senaste fyra kvartalen jämfört med de fyra kvartalen före",
            description=f"Ingen jämförelse: uppgift saknas ({total.missing}). Saknade kvartal räknas aldrig som 0.",
            figure=None, table=pd.DataFrame({"Kategori": ["Totalt"], label_now: ["saknas"], label_before: ["saknas"],
                                             "Förändring": [total.text()]}),
            source=FEED_LABELS["crime_reports"], period=f"{label_now} mot {label_before}",
            status="Preliminära uppgifter ur polisens export."))
    else:
        sigs = [family.get(("crime", c)) for c in cats]
        comp = pd.DataFrame({"category": cats, "now": [sg.now for sg in sigs], "before": [sg.before for sg in sigs]})
        table = pd.DataFrame({"Kategori": cats, label_now: [fmt_int(sg.now) for sg in sigs],
                              label_before: [fmt_int(sg.before) for sg in sigs],
                              "Förändring": [sg.text() for sg in sigs],
                              "Spridning φ": [family.dispersion(("crime", c)).text() for c in cats]})
        table = pd.concat([table, pd.DataFrame([{"Kategori": "Totalt", label_now: fmt_int(total.now),
                                                 label_before: fmt_int(total.before), "Förändring": total.text(),
                                                 "Spridning φ": family.dispersion(("crime", None)).text()}])])
        flagged = [c for c, sg in zip(cats, sigs) if sg.signal]
        ytd = family.get(("crime_ytd", None))
        ytd_span = f"kv. 1–{quarter} {year}" if quarter > 1 else quarter_label(year, 1)
        ytd_text = (f"Hittills i år ({ytd_span}): {fmt_int(ytd.now)} anmälda brott mot {fmt_int(ytd.before)} samma "
                    f"period {year - 1}, {ytd.text()}. " if ytd.missing is None else
                    f"Hittills i år ({ytd_span}): ingen jämförelse, {ytd.text()}. ")
        blocks.append(Block(
            id="brott-forandring", section="Anmälda brott",
            title="Senaste fyra kvartalen (rullande tolv månader) jämfört med de fyra kvartalen före",
            description=(f"Rullande tolv månader: totalt {fmt_int(total.now)} anmälda brott, {total.text()}. " + ytd_text
                         + (f"Signal för: {', '.join(flagged)}. " if flagged else "Ingen kategori visar en säker förändring. ")
                         + "Spridning φ: hur mycket serien varierar utöver slumpen (1 = som Poisson), skattat ur "
                         "kvartalen före med år och årstid. " + family.note()),
            figure=figures.make_period_comparison_figure(comp, label_now, label_before, "Anmälda brott per kategori"),
            table=table, source=FEED_LABELS["crime_reports"], period=f"{label_now} mot {label_before}",
            status="Preliminära uppgifter ur polisens export."))
    # rates per area and complete year
    rates = data.marts["rates_by_year"]
    rates = rates[(rates.municipality_code == code) & (rates.measure == "anmalda_brott") & rates.complete_year]
    if not rates.empty:
        rates = rates.assign(area_name=rates.area_code.map(names).fillna(rates.area_code))
        rates.loc[rates.area_code == "", "area_name"] = "Hela kommunen"
        tiny = small_areas(data, code, policy)
        hide = rates.area_code.isin(tiny) & rates["count"].between(1, policy.max_suppressed_count)
        # a small area's small count is not shown, nor the rate that would give it away (count = rate × population)
        rates = rates.assign(count=rates["count"].astype("Float64").mask(hide), rate=rates.rate.mask(hide),
                             _hidden=hide)
        # a 3-year average whose window holds a hidden count would give it away (with the years beside it)
        near_hidden = {(a, y + k) for a, y in zip(rates.area_code[hide], rates.year[hide]) for k in (0, 1, 2)}
        shown = rates.assign(per_1000=rates.rate / 100)
        tab = rates.sort_values(["area_code", "year"])
        year_breaks = _year_breaks(data, sorted(int(y) for y in rates.year.unique()))
        whole = dict(zip(rates.loc[rates.area_code == "", "year"], rates.loc[rates.area_code == "", "rate"]))
        few_residents = sorted({n for n, y, r, a in zip(rates.area_name, rates.year, rates.rate, rates.area_code)
                                if a != "" and pd.notna(r) and whole.get(y) and r > 3 * whole[y]})
        blocks.append(Block(
            id="brott-omrade", section="Anmälda brott", title="Anmälda brott per kommundel och år, antal och per 100 000 invånare",
            description=("Diagrammet visar antal brott per kommundel (brottsplatsen); antal per 100 000 invånare står i "
                         "tabellen och när man pekar på en stapel. Talen per invånare räknas på de boende "
                         "(medelfolkmängd under året, som Brå räknar): i områden med få boende och många besökare, "
                         "som centrum och köpcentrum, blir de mycket höga utan att de boende är mer utsatta"
                         + (f" ({', '.join(few_residents)} har mer än tre gånger kommunens tal)" if few_residents else "")
                         + f". Kommundelar med färre än {fmt_int(policy.small_area_population)} invånare redovisas "
                         "också som treårsmedelvärde, eftersom enskilda år varierar mycket. Brott som inte kan "
                         "platsbestämmas ingår bara i hela kommunen. Bara hela år redovisas." + _breaks_text(year_breaks)),
            figure=figures.make_area_year_figure(rates, "count", "Anmälda brott per kommundel och år",
                                                 "Antal anmälda brott", rate="rate"),
            table=pd.DataFrame({"Område": tab.area_name, "År": tab.year.astype(str),
                                "Antal brott": [policy.suppressed_label if h else fmt_int(v)
                                                for v, h in zip(tab["count"], tab._hidden)],
                                "Per 100 000 inv.": ["×" if h else fmt_number(v, 0) for v, h in zip(tab.rate, tab._hidden)],
                                "Treårsmedel per 100 000": [
                                    "×" if (a, y) in near_hidden else
                                    fmt_number(v, 0) if pd.notna(v) else
                                    (f"för få år ({int(n)} av 3)" if small and pd.notna(n) else "–")
                                    for v, small, n, a, y in zip(tab.rate_3y, tab.small_area.fillna(False),
                                                                 tab.years_in_3y, tab.area_code, tab.year)],
                                "Befolkning": [f"{fmt_number(d, 0)} ({b})" for d, b in zip(tab.denominator, tab.population_basis)]}),
            source=f"{FEED_LABELS['crime_reports']}; {FEED_LABELS['population']}",
            period=f"{int(rates.year.min())}–{int(rates.year.max())}",
            status="Preliminära brottsuppgifter; befolkning enligt folkmängdsfilen." + _basis_note(tab)))
    # the municipality beside its county and the country (Brå's official statistics)
    bra = data.marts["bra_crime_by_year"]
    county = code[:2]
    comp_geo = bra[bra.geography_code.isin([code, county, "00"]) & (bra.variable == "Totalt antal anmälda brott")]
    if (comp_geo.geography_code == code).any():
        comp_geo = _geography_order(comp_geo, code)
        blocks.append(Block(
            id="jamforelse", section="Anmälda brott", title="Jämfört med länet och riket (Brås officiella statistik)",
            description=("Anmälda brott per 100 000 invånare enligt Brås indikatorer för kommuners lägesbild. "
                         "Brå räknar brott i den kommun där brottet begicks; talen skiljer sig därför från polisens "
                         "export ovan." + _breaks_text(_year_breaks(data, sorted(int(y) for y in comp_geo.year.unique())))),
            figure=figures.add_series_breaks(
                figures.make_geography_comparison_figure(comp_geo, "per_100k", "Anmälda brott per 100 000 invånare",
                                                         "Per 100 000 invånare"),
                _year_breaks(data, sorted(int(y) for y in comp_geo.year.unique()))),
            table=pd.DataFrame({"Geografi": comp_geo.geography_name, "År": comp_geo.year.astype(str),
                                "Antal": [fmt_int(v) for v in comp_geo.crimes],
                                "Per 100 000 inv.": [fmt_int(v) for v in comp_geo.per_100k]}),
            source=FEED_LABELS["bra_indicators"], period=f"{int(comp_geo.year.min())}–{int(comp_geo.year.max())}",
            status=_bra_status(data, code, sorted(int(y) for y in comp_geo.year.unique()))))
    return blocks


def small_areas(data: SiteData, code: str, policy: Policy) -> set[str]:
    """Areas of a municipality whose latest known population is below the policy's minimum, or unknown: their small
    counts are shown as the suppression label everywhere (the whole municipality, area '', never is)."""
    pop = data.marts.get("population_by_year", pd.DataFrame())
    known = {}
    if not pop.empty:
        part = pop[(pop.municipality_code == code) & (pop.area_code != "") & pop.population.notna()]
        part = part.sort_values("year").groupby("area_code").tail(1)
        known = dict(zip(part.area_code, part.population))
    areas = set(_area_names(data, code)) - {""}
    crime = data.marts["crime_by_quarter"]
    areas |= set(crime.loc[(crime.municipality_code == code) & (crime.area_code != ""), "area_code"])
    return {a for a in areas if known.get(a) is None or known[a] < policy.area_min_population}


def _small_count(v, small: bool, policy: Policy) -> str:
    if small and pd.notna(v) and 1 <= v <= policy.max_suppressed_count:
        return policy.suppressed_label
    return fmt_int(v)


def _basis_note(rates: pd.DataFrame) -> str:
    """Say when a rate rests on a carried-forward population or on a year-end instead of a mean population."""
    notes = []
    carried = sorted({int(y) for y, b in zip(rates.year, rates.population_basis) if str(b).startswith("senast kända")})
    if carried:
        notes.append(f"För {', '.join(map(str, carried))} saknas befolkningsuppgifter: talen bygger på senast kända "
                     "folkmängd och är inte slutliga")
    year_end = sorted({int(y) for y, b in zip(rates.year, rates.population_basis) if str(b).startswith("folkmängd 31 dec")})
    if year_end:
        notes.append(f"för {', '.join(map(str, year_end))} är nämnaren folkmängden en 31 december, inte "
                     "medelfolkmängden")
    if "population_final" in rates and (~rates.population_final.fillna(False).astype(bool)).any() and not carried:
        notes.append("befolkningsuppgifterna är inte slutliga för alla år")
    return (" " + "; ".join(notes).capitalize() + ".") if notes else ""


def concern_universe(concern: pd.DataFrame) -> tuple[list, list, list]:
    """Every (quarter, age band, reason) a reader could suppose exists for a municipality: the cross product of the
    quarters delivered, the age bands and the reasons seen. A combination without rows is still an unknown to the
    reader (it is not published as structurally zero), so the auditor treats it as one."""
    quarters = sorted({(int(y), int(q)) for y, q in zip(concern.year, concern.quarter)})
    return quarters, sorted(set(concern.age_band)), sorted(set(concern.reason))


def concern_cells(universe, quarters=None, ages=None, reasons=None) -> frozenset:
    """The underlying concern-report cells (quarter × age band × reason) a published number sums."""
    qs, age_bands, reason_list = universe
    return frozenset(("oro", y, q, a, r) for (y, q) in qs if quarters is None or (y, q) in quarters
                     for a in age_bands if ages is None or a in ages
                     for r in reason_list if reasons is None or r in reasons)


def _child_bands(data: SiteData) -> set[str]:
    return {"0-12", "13-17"} if not data.child_age_bands else set(data.child_age_bands)


def concern_blocks(data: SiteData, code: str, policy: Policy) -> list[Block]:
    concern = data.marts["concern_by_quarter"]
    concern = concern[concern.municipality_code == code]
    if concern.empty:
        return []
    blocks = []
    facts = []
    universe = concern_universe(concern)
    by_age = concern.groupby(["year", "quarter", "age_band"], as_index=False)["reports"].sum()
    by_age["age_band"] = by_age["age_band"].map(lambda a: f"{a.replace('-', '–')} år")
    rates = data.marts["rates_by_year"]
    rates = rates[(rates.municipality_code == code) & (rates.measure == "orosanmalningar") & rates.rate.notna()]
    rate_text = ""
    if not rates.empty:
        r = rates.sort_values("year").iloc[-1]
        rate_text = (f" {int(r.year)}: {fmt_int(r['count'])} anmälningar om barn 0–17 år, {fmt_number(r.rate, 1)} "
                     f"per 1 000 barn 0–17 år (medelfolkmängd {fmt_number(r.denominator, 0)} barn).")
        year_quarters = {(int(r.year), q) for q in (1, 2, 3, 4)}
        facts.append(Fact("oro-kvartal", "Orosanmälningar per kvartal och åldersgrupp", f"beskrivningen, {int(r.year)}",
                          "anmälningar om barn 0–17 år",
                          concern_cells(universe, year_quarters, _child_bands(data)), fmt_int(r["count"])))
    table = _quarter_table(by_age, "age_band", "reports", suppress=policy)
    raw_age = {f"{a.replace('-', '–')} år": a for a in concern.age_band.unique()}
    labels = figures.with_quarter_labels(by_age)[["period_key", "period", "year", "quarter"]].drop_duplicates()
    by_label = {p: (int(y), int(q)) for p, y, q in zip(labels.period, labels.year, labels.quarter)}
    for i, period in enumerate(table["Kvartal"]):
        y, q = by_label[period]
        for col in table.columns[1:]:
            facts.append(Fact("oro-kvartal", "Orosanmälningar per kvartal och åldersgrupp", period, col,
                              concern_cells(universe, {(y, q)}, {raw_age.get(col, col)}), str(table.iloc[i][col]),
                              (i, col)))
    blocks.append(Block(
        id="oro-kvartal", section="Orosanmälningar", title="Orosanmälningar per kvartal och åldersgrupp",
        description=(f"Antal orosanmälningar (inte antal barn).{rate_text} Antal mellan 1 och "
                     f"{policy.max_suppressed_count} visas som \"{policy.suppressed_label}\" och ritas inte ut; "
                     "\"×\" = dolt så att ett litet tal inte kan räknas ut från andra tal på sidan."),
        figure=figures.make_suppressed_stacked_figure(by_age, "reports", "age_band", "Orosanmälningar per kvartal",
                                                      "Antal anmälningar", policy.max_suppressed_count,
                                                      policy.suppressed_label),
        table=table, source=FEED_LABELS["concern_reports"], period=_period_text(by_age),
        status="Socialtjänstens registrering; uppgifter för senaste månaden kan kompletteras.", facts=facts,
        redraw=lambda hidden: figures.make_suppressed_stacked_figure(
            by_age, "reports", "age_band", "Orosanmälningar per kvartal", "Antal anmälningar",
            policy.max_suppressed_count, policy.suppressed_label, also_hidden=hidden)))
    # reason × age band over the last four quarters, with primary and secondary suppression
    year, quarter = _last_quarter(concern)
    key_now = year * 4 + quarter
    recent = concern[(concern.year * 4 + concern.quarter) > key_now - 4]
    grid = recent.pivot_table(index="reason", columns="age_band", values="reports", aggfunc="sum", fill_value=0)
    mask = suppress(grid, policy)
    shown = apply_mask(grid, mask, policy)
    row_tot, col_tot = grid.sum(axis=1), grid.sum(axis=0)

    def total_text(v):
        return policy.suppressed_label if 1 <= v <= policy.max_suppressed_count else fmt_int(v)

    shown["Totalt"] = [total_text(v) for v in row_tot]
    reasons = list(shown.index)
    ages = [c for c in grid.columns]
    shown.index = [data.concern_reason_labels.get(r, r) for r in shown.index]
    shown.columns = [f"{c.replace('-', '–')} år" if c != "Totalt" else c for c in shown.columns]
    table = shown.reset_index(names="Skäl")
    table = pd.concat([table, pd.DataFrame([{"Skäl": "Totalt", **{f"{c.replace('-', '–')} år": total_text(v)
                                                                   for c, v in col_tot.items()},
                                             "Totalt": total_text(grid.values.sum())}])], ignore_index=True)
    title = f"Orosanmälningar per skäl och åldersgrupp, {_quarter_span(key_now, 4)}"
    skal_facts = []
    window = {(y, q) for y, q in universe[0] if key_now - 4 < y * 4 + q <= key_now}
    for i, reason in enumerate(reasons + [None]):
        for j, age in enumerate(ages + [None]):
            col = table.columns[1 + j]
            cells = concern_cells(universe, window, None if age is None else {age},
                                  None if reason is None else {reason})
            skal_facts.append(Fact("oro-skal", title, str(table.iloc[i]["Skäl"]), col, cells,
                                   str(table.iloc[i][col]), (i, col)))
    hidden = int(mask.values.sum())
    blocks.append(Block(
        id="oro-skal", section="Orosanmälningar", title=title,
        description=(f"\"{policy.suppressed_label}\" = 1–{policy.max_suppressed_count} anmälningar. \"×\" = dolt så att "
                     "ett litet tal inte kan räknas ut från summorna eller från andra tal på sidan (sekundär "
                     f"röjandekontroll). {hidden} celler är dolda i tabellen själv."),
        figure=None, table=table, source=FEED_LABELS["concern_reports"], period=_quarter_span(key_now, 4),
        status="Socialtjänstens registrering.", facts=skal_facts))
    return blocks


def protect_blocks(blocks: list[Block], policy: Policy, page: str) -> int:
    """Page-wide disclosure control: every sensitive number on the page (tables, figure values, prose) is audited
    together; cells that would give a hidden number away are hidden too ("×"), figures redrawn, and the page is
    refused (DisclosureError) if a hidden number can still be worked out. Returns how many cells were hidden."""
    facts = [f for b in blocks for f in b.facts]
    if not facts:
        return 0
    hidden = protect(facts, policy)
    by_block: dict[str, set] = {}
    for f in hidden:
        block = next(b for b in blocks if b.id == f.block_id and f in b.facts)
        row, col = f.position
        old = str(block.table.iloc[row][col])
        block.table.iat[row, block.table.columns.get_loc(col)] = re.sub(r"^(<\d+|[\d\u00a0 ]+)", "×", old, count=1)
        by_block.setdefault(block.id, set()).add((f.row, f.column))
    for b in blocks:
        if b.id in by_block and b.redraw is not None:
            b.figure = b.redraw(by_block[b.id])
    audit(facts, policy, page)
    return len(hidden)


def survey_blocks(data: SiteData, code: str, names: dict[str, str], policy: Policy) -> list[Block]:
    survey = data.marts["survey_by_year"]
    survey = survey[(survey.municipality_code == code) & (survey.n_eff >= policy.survey_min_n)]
    ntu = ntu_blocks(data, code)
    if survey.empty:
        return ntu
    blocks = []
    whole = survey[survey.area_code == ""].sort_values(["item", "year"])
    years = sorted(whole.year.unique())
    change = []
    for item, part in whole.groupby("item", sort=False):
        prev = None
        for r in part.itertuples():
            if prev is None or prev.year != r.year - 1:
                change.append("–")
            else:
                d, lo, hi, ok = survey_change_se(prev.share, prev.se, r.share, r.se)
                change.append(f"{'säkerställd' if ok else 'ingen säkerställd'} förändring "
                              f"({'+' if d > 0 else '−'}{fmt_number(abs(d) * 100, 0)} procentenheter)")
            prev = r
    blocks.append(Block(
        id="trygghet-trend", section="Trygghetsmätning", title="Trygghetsmätningen per år",
        description=("Viktade andelar med 95 % konfidensintervall (Wilsons intervall på det effektiva antalet svar, "
                     "som tar hänsyn till vikterna). En förändring mellan två år kallas säkerställd bara när "
                     "intervallet för skillnaden inte omfattar noll. En enskild mätning är ingen trend. Frågor och år "
                     f"med ett effektivt antal svar under {policy.survey_min_n} redovisas inte."),
        figure=figures.make_survey_trend_figure(whole, data.survey_labels, "Trygghetsmätningen, hela kommunen"),
        table=pd.DataFrame({"Fråga": whole["item"].map(data.survey_labels), "År": whole["year"].astype(str),
                            "Andel": [fmt_percent(v) for v in whole["share"]],
                            "95 % KI": [f"{fmt_percent(a)}–{fmt_percent(b)}" for a, b in zip(whole.ci_low, whole.ci_high)],
                            "Antal svar": [fmt_int(v) for v in whole["n"]], "Mot året innan": change}),
        source=FEED_LABELS["survey_responses"], period=f"{years[0]}–{years[-1]}" if years else "",
        status="Urvalsundersökning: skattningar med osäkerhet."))
    latest = int(survey.year.max())
    area_part = survey[(survey.area_code != "") & (survey.year == latest) & (survey.item == "unsafe_evening")].copy()
    if not area_part.empty:
        area_part["area_name"] = area_part["area_code"].map(names).fillna(area_part["area_code"])
        label = data.survey_labels.get("unsafe_evening", "unsafe_evening")
        blocks.append(Block(
            id="trygghet-omrade", section="Trygghetsmätning", title=f"{label}, per kommundel {latest}",
            description=(f"Viktade andelar med 95 % konfidensintervall (Wilson, på effektivt antal svar). Kommundelar "
                         f"med ett effektivt antal svar under {policy.survey_min_n} redovisas inte."),
            figure=figures.make_survey_area_figure(area_part, f"{label} ({latest})"),
            table=pd.DataFrame({"Kommundel": area_part["area_name"], "Andel": [fmt_percent(v) for v in area_part["share"]],
                                "95 % KI": [f"{fmt_percent(a)}–{fmt_percent(b)}" for a, b in
                                            zip(area_part.ci_low, area_part.ci_high)],
                                "Antal svar": [fmt_int(v) for v in area_part["n"]]}),
            source=FEED_LABELS["survey_responses"], period=str(latest),
            status="Urvalsundersökning: skattningar med osäkerhet."))
    return blocks + ntu


def ntu_blocks(data: SiteData, code: str) -> list[Block]:
    """Brå's NTU for the municipality beside its county and the country: shown whenever Brå has it, with or without a
    municipal survey."""
    blocks = []
    ntu = data.marts["ntu_by_year"]
    county = code[:2]
    item = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
    ntu = ntu[ntu.geography_code.isin([code, county, "00"]) & (ntu.variable == item)]
    if (ntu.geography_code == code).any():
        ntu = _geography_order(ntu.assign(share=ntu.share_percent, ci_low=ntu.ci_low_percent,
                                          ci_high=ntu.ci_high_percent), code)
        blocks.append(Block(
            id="ntu-jamforelse", section="Trygghetsmätning", title="Otrygghet sent på kvällen enligt NTU: kommun, län, riket",
            description=("Brås nationella trygghetsundersökning med Brås egna 95 % konfidensintervall (kommunens "
                         "skattningar bygger på flera års svar)."),
            figure=figures.make_geography_comparison_figure(ntu, "share", "Andel otrygga (%)", "Andel (%)", percent=True),
            table=pd.DataFrame({"Geografi": ntu.geography_name, "År": ntu.year.astype(str),
                                "Andel": [f"{fmt_number(v, 0)} %" for v in ntu.share],
                                "95 % KI": [f"{fmt_number(a, 0)}–{fmt_number(b, 0)} %" for a, b in zip(ntu.ci_low, ntu.ci_high)],
                                "Antal svarande": [fmt_int(v) if pd.notna(v) else "–" for v in ntu.n]}),
            source=FEED_LABELS["bra_indicators"], period=f"{int(ntu.year.min())}–{int(ntu.year.max())}",
            status="Brås officiella statistik."))
    return blocks


def est_blocks(data: SiteData, code: str) -> list[Block]:
    est = data.marts["est_by_quarter"]
    est = est[est.municipality_code == code]
    if est.empty:
        return []
    places = data.marts["est_places"]
    places = places[places.municipality_code == code]
    year, quarter = _last_quarter(places)
    key_now = year * 4 + quarter
    recent = places[(places.year * 4 + places.quarter) > key_now - 4]
    top = recent.groupby("place", as_index=False)["events"].sum().sort_values("events", ascending=False).head(10)
    span = _quarter_span(key_now, 4)
    spots = (recent.groupby("place", as_index=False).agg(events=("events", "sum"), lat=("lat", "mean"),
                                                        lon=("lon", "mean")))
    wh = data.marts["est_weekday_hour"]
    wh = wh[(wh.municipality_code == code) & ((wh.year * 4 + wh.quarter) > key_now - 4)]
    extra = []
    if spots[["lat", "lon"]].notna().all(axis=1).any():
        extra.append(Block(
            id="est-karta", section="EST – platsbundna händelser", title=f"Var EST-händelserna inträffar, {span}",
            description="Varje cirkel är en plats; storleken visar antalet händelser. Kartan saknar bakgrund så att "
                        "sidan fungerar utan internet.",
            figure=figures.make_places_map_figure(spots, "EST-händelser per plats"),
            table=pd.DataFrame({"Plats": spots.sort_values("events", ascending=False)["place"],
                                "Antal händelser": [fmt_int(v) for v in spots.sort_values("events", ascending=False)["events"]]}),
            source=FEED_LABELS["est_events"], period=span, status="Löpande rapportering."))
    if not wh.empty:
        grid = wh.pivot_table(index="weekday", columns="hour", values="events", aggfunc="sum", fill_value=0)
        grid = grid.reindex(index=range(1, 8), columns=range(24), fill_value=0)
        table = pd.DataFrame({"Veckodag": figures.WEEKDAYS,
                              **{f"{h:02d}": [fmt_int(v) for v in grid[h]] for h in grid.columns}})
        extra.append(Block(
            id="est-veckodag", section="EST – platsbundna händelser", title=f"EST-händelser per veckodag och timme, {span}",
            description="När händelserna inträffar: underlag för att planera fältarbete, bevakning och polisens närvaro.",
            figure=figures.make_weekday_hour_figure(wh, "EST-händelser per veckodag och timme"), table=table,
            source=FEED_LABELS["est_events"], period=span, status="Löpande rapportering."))
    return [
        Block(id="est-kvartal", section="EST – platsbundna händelser", title="EST-händelser per kvartal och kategori",
              description="Händelser rapporterade av EST-rapportörer (kommun, bostadsbolag, bevakning, polis m.fl.).",
              figure=figures.make_quarterly_stacked_figure(est, "events", "category", "EST-händelser per kvartal",
                                                           "Antal händelser"),
              table=_quarter_table(figures.top_categories(est[["year", "quarter", "category", "events"]], "category",
                                                          "events", 6), "category", "events"),
              source=FEED_LABELS["est_events"], period=_period_text(est),
              status="Löpande rapportering; kan kompletteras i efterhand."),
        Block(id="est-platser", section="EST – platsbundna händelser",
              title="Platser med flest EST-händelser, senaste fyra kvartalen",
              description="De tio platser som fått flest rapporter under de senaste fyra kvartalen.",
              figure=figures.make_top_places_figure(top, "Flest EST-händelser, senaste fyra kvartalen"),
              table=pd.DataFrame({"Plats": top["place"], "Antal händelser": [fmt_int(v) for v in top["events"]]}),
              source=FEED_LABELS["est_events"], period=_quarter_span(key_now, 4), status="Löpande rapportering."),
    ] + extra


def municipality_blocks(data: SiteData, code: str, policy: Policy, family: SignalFamily | None = None) -> list[Block]:
    names = _area_names(data, code)
    return (crime_blocks(data, code, names, policy, family) + est_blocks(data, code) + concern_blocks(data, code, policy)
            + survey_blocks(data, code, names, policy))


STATUS_ORDER = {"efter plan": 0, "ej påbörjad": 1, "enligt plan": 2, "klar": 3}


def _fmt_indicator(kind: str, value, policy: Policy) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind == "survey":
        return fmt_percent(value)
    if kind == "concern" and 1 <= value <= policy.max_suppressed_count:
        return policy.suppressed_label
    return fmt_int(value)


def agreement_blocks(data: SiteData, code: str, policy: Policy,
                     family: SignalFamily | None = None) -> tuple[dict | None, list[Block]]:
    """The agreement in force for the latest quarter: indicators per priority area and the activity follow-up."""
    plan = data.plan
    crime = data.marts["crime_by_quarter"]
    crime = crime[crime.municipality_code == code]
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
    marks = _interpretations(data, ag.agreement_id)
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
    key_now = year * 4 + quarter
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
                             "Senaste": f"{_fmt_indicator('survey', latest.value, policy)} ({latest.year})" if latest is not None else "–",
                             "Jämförelse": f"{_fmt_indicator('survey', prev.value, policy)} ({prev.year})" if prev is not None else "–",
                             "Senaste fyra kvartalen": "–", "Fyra kvartal före": "–", "Förändring kvartal": "–",
                             "Förändring": change,
                             "Varför": d.rationale})
                continue
            s = series.dropna(subset=["quarter"]).copy()
            s["key"] = s.year * 4 + s.quarter
            by_key = s.groupby("key")["value"].sum()
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
                                     f"{_fmt_indicator(d.kind, by_key.get(key_now, 0), policy)} ({quarter_label(year, quarter)})"),
                         "Jämförelse": ("saknas" if sigq.missing is not None else
                                        f"{_fmt_indicator(d.kind, by_key.get(key_now - 4, 0), policy)} ({quarter_label(year - 1, quarter)})"),
                         "Senaste fyra kvartalen": "saknas" if sig4.missing is not None else _fmt_indicator(d.kind, sig4.now, policy),
                         "Fyra kvartal före": "saknas" if sig4.missing is not None else _fmt_indicator(d.kind, sig4.before, policy),
                         "Förändring kvartal": sigq.text(percent=not sensitive),
                         "Förändring": sig4.text(percent=not sensitive), "Varför": d.rationale})
        counts = ind[(ind.priority_area_id == area.priority_area_id) & (ind.kind.isin(["crime", "est", "activity"]))
                     & ((ind.year * 4 + ind.quarter) > key_now - 12)].copy()
        figure = (figures.make_indicator_trend_figure(counts, "Indikatorer per kvartal, senaste tre åren")
                  if not counts.empty else None)
        area_breaks = []
        if figure is not None:
            mapped = imap[(imap.agreement_id == ag.agreement_id) & (imap.priority_area_id == area.priority_area_id)
                          & imap.dimension.isin(["level2", "level3"])]
            area_breaks = _breaks_in(data, set(mapped.value), figures.all_quarters(counts))
            figures.add_series_breaks(figure, area_breaks)
        blocks.append(Block(
            id=f"omrade-{area.priority_area_id}", section="Prioriterade områden i samverkansöverenskommelsen",
            title=" ".join(str(area.name).split()),
            description=("Indikatorerna som följer området enligt indikatorkartläggningen (data/agreements/indicators). "
                         "Antal jämförs med samma kvartal året innan och de fyra senaste kvartalen med de fyra före; "
                         "enkätandelar med föregående mätning. Ett kvartal utan uppgifter visas som \"saknas\" och "
                         "jämförs aldrig. " + family.note() + _breaks_text(area_breaks)),
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


def _interpretations(data: SiteData, document_id: str) -> pd.DataFrame:
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
    marks = _interpretations(data, document_id)
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
        return {(y, q) for y, q in universe[0] if first <= y * 4 + q <= last}

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
                          _fmt_indicator("concern", value, policy), (row, column)))


def with_revision_notes(blocks: list[Block], revisions: pd.DataFrame) -> list[Block]:
    """Carry revisions to every figure: when a feed's figures were last replaced by a corrected file, say so."""
    if revisions is None or revisions.empty:
        return blocks
    latest = revisions.groupby("feed").agg(last_revised=("revised_at", "max"), rows=("rows_removed", "sum"))
    for b in blocks:
        notes = [f"{FEED_LABELS.get(feed, feed)} reviderad {fmt_date(pd.Timestamp(r.last_revised).date())} "
                 f"({fmt_int(r.rows)} rader ersatta av rättade filer)"
                 for feed, r in latest.iterrows() if FEED_LABELS.get(feed, feed) in b.source]
        if notes:
            b.status = f"{b.status} {'; '.join(notes)}."
    return blocks


def _sources_table(files: pd.DataFrame) -> list[dict]:
    if files.empty:
        return []
    current = files[files.status == "loaded"].sort_values(["feed", "file_name"])
    return [{"feed": FEED_LABELS.get(r.feed, r.feed), "file": r.file_name, "sha256": r.sha256,
             "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "rows": fmt_int(r.rows_loaded)}
            for r in current.itertuples()]


def _write_excel(blocks: list[Block], folder: Path, policy: Policy, prefix: str = "") -> None:
    """The shown table of every block (formatted and suppressed exactly as on the page) as an Excel file."""
    from dashboards.excel import block_about, table_workbook

    folder.mkdir(parents=True, exist_ok=True)
    for b in blocks:
        _write(folder / f"{prefix}{b.id}.xlsx", table_workbook(b.table, block_about(b, policy)))


def list_packs(out_dir: Path) -> list[dict]:
    from dashboards.packs import list_packs as _list

    return _list(out_dir)


def build_site(data: SiteData, out_dir: Path, policy: Policy, only: set[str] | None = None,
               manifest: dict | None = None) -> SiteResult:
    """Write the site into ``out_dir``.

    ``only``: rebuild the pages of these municipalities and keep the other pages already in ``out_dir`` (an
    incremental refresh; ``data`` may then hold only these municipalities' rows). The index, the quality pages and
    ``publicering.json`` (pages, figure counts and the totals each page was built from) are always rewritten;
    ``manifest`` adds keys to that file.
    """
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _env()
    _ensure_plotly_js(out_dir)
    _write(out_dir / "site.css", (STATIC / "site.css").read_bytes())
    published = fmt_date(data.published_at)
    sources = _sources_table(data.files)
    result = SiteResult(index=out_dir / "index.html")
    previous = {}
    if (out_dir / "publicering.json").exists():
        previous = json.loads((out_dir / "publicering.json").read_text(encoding="utf-8"))
    kept_pages = previous.get("pages", {})
    totals: dict[str, dict] = dict(previous.get("totals", {})) if only is not None else {}

    pages = []
    todo = []
    for code, name in sorted(data.municipalities.items()):
        file_name = f"lagesbild-{code}.html"
        if only is not None and code not in only and file_name in kept_pages and (out_dir / file_name).exists():
            pages.append(kept_pages[file_name])  # unchanged since the last refresh: the page is kept as it is
        else:
            todo.append((code, name))
    for page, figure_ids, page_total in _build_pages(data, todo, out_dir, policy, published, sources):
        pages.append(page)
        result.pages[page["href"]] = out_dir / page["href"]
        result.figures[page["href"]] = figure_ids
        totals[page["code"]] = page_total
    pages.sort(key=lambda p: p["code"])

    quality = quality_context(data)
    _write(out_dir / "datakvalitet.html", env.get_template("quality.html").render(
        title="Datakvalitet", published=published, plotly_js=None, **quality))
    result.pages["datakvalitet.html"] = out_dir / "datakvalitet.html"
    result.figures["datakvalitet.html"] = []
    _write(out_dir / "datadocs.html", env.get_template("datadocs.html").render(
        title="Data Docs – kvalitetskontroller", published=published, plotly_js=None, suites=datadocs_context(data)))
    result.pages["datadocs.html"] = out_dir / "datadocs.html"
    result.figures["datadocs.html"] = []
    _write(result.index, env.get_template("index.html").render(
        title="Lägesbild – publicerade sidor", pages=pages, published=published, plotly_js=None,
        failed_checks=quality["failed_errors"], rejected=quality["rejected"], packs=list_packs(out_dir)))
    doc = {**(manifest or {}), "published_at": data.published_at.isoformat(),
           "pages": {p["href"]: p for p in pages}, "totals": {c: totals[c] for c in sorted(totals)}}
    _write(out_dir / "publicering.json", json.dumps(doc, ensure_ascii=False, indent=1))
    return result


PARALLEL_MIN_PAGES = 8  # below this, starting worker processes costs more than it saves
_WORK: tuple | None = None  # (data, out_dir, policy, published, sources), inherited by forked workers


def _municipality_page(data: SiteData, code: str, name: str, out_dir: Path, policy: Policy, published: str,
                       sources: list[dict]) -> tuple[dict, list[str], dict]:
    """Write one municipality's page and its Excel tables; returns (index entry, figure ids, totals)."""
    env = _env()
    family = page_family(data, code, policy)  # every count comparison on the page, adjusted together
    agreement, plan_blocks = agreement_blocks(data, code, policy, family)
    blocks = with_revision_notes(plan_blocks + municipality_blocks(data, code, policy, family), data.revisions)
    sections: dict[str, list[Block]] = {}
    for b in blocks:
        sections.setdefault(b.section, []).append(b)
    file_name = f"lagesbild-{code}.html"
    protect_blocks(blocks, policy, file_name)  # before anything is written: tables, Excel and figures alike
    excel = {b.id: f"data/{code}-{b.id}.xlsx" for b in blocks}
    _write_excel(blocks, out_dir / "data", policy, prefix=f"{code}-")
    html = env.get_template("municipality.html").render(
        title=f"Lägesbild {name}", municipality=name, code=code, sections=sections, published=published,
        agreement=agreement, excel=excel, sources=sources, plotly_js=PLOTLY_JS)
    _write(out_dir / file_name, html)
    figure_ids = [f"fig-{b.id}" for b in blocks if b.figure is not None]
    return ({"href": file_name, "title": f"Lägesbild {name}", "code": code, "figures": len(figure_ids)},
            figure_ids, page_totals(data, code))


def _pages_worker(chunk: list[tuple[str, str]]) -> list[tuple[dict, list[str], dict]]:
    data, out_dir, policy, published, sources = _WORK
    return [_municipality_page(data, code, name, out_dir, policy, published, sources) for code, name in chunk]


def _build_pages(data: SiteData, todo: list[tuple[str, str]], out_dir: Path, policy: Policy, published: str,
                 sources: list[dict]) -> list[tuple[dict, list[str], dict]]:
    """The municipality pages, on every CPU when there are many (forked workers share the loaded data)."""
    import multiprocessing

    workers = min(os.cpu_count() or 1, 8)
    if len(todo) < PARALLEL_MIN_PAGES or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [_municipality_page(data, code, name, out_dir, policy, published, sources) for code, name in todo]
    global _WORK
    _WORK = (data, out_dir, policy, published, sources)
    chunks = [todo[i::workers * 4] for i in range(workers * 4)]
    try:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return [page for part in pool.map(_pages_worker, [c for c in chunks if c]) for page in part]
    finally:
        _WORK = None


def page_totals(data: SiteData, code: str) -> dict:
    """The event totals a municipality's page was built from (checked against the marts after a crash)."""
    out = {}
    for mart, column in (("crime_by_quarter", "crimes"), ("est_by_quarter", "events")):  # no concern counts here
        df = data.marts[mart]
        out[mart] = int(df.loc[df["municipality_code"] == code, column].sum())
    return out


def anchor(feed: str, expectation: str, column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{feed}-{expectation}-{column}".lower()).strip("-")


def datadocs_context(data: SiteData) -> list[dict]:
    results = {}
    checked = {}
    for r in data.checks.itertuples() if not data.checks.empty else []:
        results[(r.feed, r.expectation, r.column_name)] = r
        checked[r.feed] = max(checked.get(r.feed, r.checked_at), r.checked_at)
    out = []
    for suite in data.suites:
        rows = []
        for spec in suite["expectations"]:
            column = spec.get("column") or ",".join(spec.get("column_list", [])) or "(tabell)"
            r = results.get((suite["feed"], spec["type"], column))
            settings = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("type", "severity"))
            offending = json.loads(r.rows) if r is not None and r.rows else []
            rows.append({
                "anchor": anchor(suite["feed"], spec["type"], column), "type": spec["type"], "settings": settings,
                "severity": "blockerande" if spec.get("severity", "error") == "error" else "varning",
                "ok": None if r is None else bool(r.success),
                "unexpected": "" if r is None else f"{fmt_int(r.unexpected_count)} av {fmt_int(r.element_count)}",
                "examples": "" if r is None or r.success else r.detail, "rows": "; ".join(offending[:20])})
        out.append({"feed": suite["feed"], "label": FEED_LABELS.get(suite["feed"], suite["feed"]),
                    "table": suite["table"], "path": suite["path"], "row_id": ", ".join(suite["row_id"]),
                    "checked_at": fmt_date(pd.Timestamp(checked[suite["feed"]]).to_pydatetime())
                    if suite["feed"] in checked else "aldrig", "expectations": rows})
    return out


# How often each feed is expected to arrive (label, days after which the latest file is late).
EXPECTED_CADENCE = {
    "crime_reports": ("varje kvartal", 100), "est_events": ("varje vecka", 10), "concern_reports": ("varje kvartal", 100),
    "survey_responses": ("varje år", 400), "population": ("varje år", 400), "areas": ("vid ändring", 100000),
    "activity_log": ("varje tertial", 130), "bra_indicators": ("varje år", 400),
}


def coverage_matrix(data: SiteData, policy: Policy | None = None) -> pd.DataFrame:
    """Reported crimes per quarter (rows) and area (columns) for one municipality, or per municipality (columns)
    when there are several: where and when data exist."""
    crime = data.crime_coverage if data.crime_coverage is not None else data.marts["crime_by_quarter"]
    if crime.empty:
        return pd.DataFrame()
    several = crime.municipality_code.nunique() > 1
    column = "municipality_code" if several else "area_code"
    names = dict(data.municipalities) if several else {}
    if not several:
        for code in crime.municipality_code.unique():
            names.update(_area_names(data, code))
    c = figures.with_quarter_labels(crime.groupby(["year", "quarter", column], as_index=False)["crimes"].sum())
    grid = c.pivot_table(index=["period_key", "period"], columns=column, values="crimes", aggfunc="sum",
                         fill_value=0).reset_index(level=0, drop=True)
    tiny = set()
    if not several:
        for code in crime.municipality_code.unique():
            tiny |= small_areas(data, code, policy or Policy())
    shown = pd.DataFrame({col: [("–" if not v else _small_count(v, col in tiny, policy or Policy()))
                                for v in grid[col]] for col in grid.columns}, index=grid.index)
    shown.columns = [names.get(col, col) for col in grid.columns]
    shown.index.name = "Kvartal"
    return shown


def quality_context(data: SiteData) -> dict:
    files = data.files.copy()
    rows = []
    for r in files.sort_values(["feed", "file_name"]).itertuples():
        rows.append({"feed": FEED_LABELS.get(r.feed, r.feed or "okänt flöde"), "file": r.file_name,
                     "status": STATUS_LABELS.get(r.status, r.status), "status_key": r.status,
                     "read": fmt_int(r.rows_read), "loaded": fmt_int(r.rows_loaded),
                     "quarantined": fmt_int(r.rows_quarantined), "masked": fmt_int(r.masked_values),
                     "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "message": r.message or ""})
    checks = []
    for r in data.checks.sort_values(["feed", "severity", "expectation"]).itertuples() if not data.checks.empty else []:
        checks.append({"feed": FEED_LABELS.get(r.feed, r.feed), "expectation": r.expectation, "column": r.column_name,
                       "href": f"datadocs.html#{anchor(r.feed, r.expectation, r.column_name)}",
                       "severity": "blockerande" if r.severity == "error" else "varning", "ok": bool(r.success),
                       "detail": r.detail})
    quarantine = data.quarantine.head(200)
    qrows = [{"feed": FEED_LABELS.get(r.feed, r.feed), "file": r.file_name, "row": r.row_number, "column": r.column_name,
              "value": r.raw_value, "reason": r.reason} for r in quarantine.itertuples()]
    fresh = []
    loaded = files[files.status == "loaded"] if not files.empty else files
    for feed, (cadence, days) in EXPECTED_CADENCE.items():
        part = loaded[loaded.feed == feed] if not loaded.empty else loaded
        if part.empty:
            fresh.append({"feed": FEED_LABELS.get(feed, feed), "last": "–", "age": "–", "cadence": cadence,
                          "state": "ingen fil", "late": True})
            continue
        last = pd.Timestamp(part.received_at.max()).to_pydatetime()
        age = (data.published_at - last).days
        fresh.append({"feed": FEED_LABELS.get(feed, feed), "last": fmt_date(last), "age": f"{age} dagar",
                      "cadence": cadence, "state": "i tid" if age <= days else "sen", "late": age > days})
    coverage = coverage_matrix(data, load_policy())
    return {"files": rows, "checks": checks, "quarantine": qrows, "quarantine_total": len(data.quarantine),
            "freshness": fresh, "coverage_columns": list(coverage.columns),
            "coverage_by": "kommun" if len(data.municipalities) > 1 else "område", "coverage": coverage.reset_index().values.tolist(),
            "failed_errors": sum(1 for c in checks if not c["ok"] and c["severity"] == "blockerande"),
            "failed_warnings": sum(1 for c in checks if not c["ok"] and c["severity"] == "varning"),
            "rejected": sum(1 for r in rows if r["status_key"] == "rejected")}
