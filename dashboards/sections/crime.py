"""Page section: reported crimes (per quarter, change, per area, rates, comparison with Brå's statistics)."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_int, fmt_number, quarter_label
from sources.policy import Policy
from dashboards.signals import SignalFamily, page_family
from dashboards.data import SiteData, feed_label
from dashboards.render import Block
from dashboards.sections.common import basis_note, breaks_in, breaks_text, geography_order, last_quarter, period_text, quarter_span, quarter_table, year_breaks, years_text, small_areas
from sources.quarter import Quarter


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
        parts.append(f"slutlig för {years_text(final)}")
    if prelim:
        parts.append(f"preliminär för {years_text(prelim)}")
    unknown = sorted(set(years) - set(prelim) - set(final))
    if unknown:
        parts.append(f"status okänd för {years_text(unknown)}")
    return "Brås officiella statistik: " + ", ".join(parts) + " (enligt Brås fil)."


def _deso_placed(data: SiteData, code: str) -> bool:
    """Whether the municipality's crimes are placed by DeSO rolled up to RegSO (a RegSO block is on the page)."""
    regso = data.marts.get("crime_by_regso_year", pd.DataFrame())
    return not regso.empty and bool((regso.municipality_code == code).any())


def crime_blocks(data: SiteData, code: str, names: dict[str, str], policy: Policy,
                 family: SignalFamily | None = None) -> list[Block]:
    crime = data.of("crime_by_quarter", code)
    if crime.empty:
        return []
    blocks = []
    counted = crime[crime.counts_as_crime]
    excluded = int(crime.loc[~crime.counts_as_crime, "crimes"].sum())
    top = figures.top_categories(counted[["year", "quarter", "category", "crimes"]], "category", "crimes", 6)
    fig = figures.make_quarterly_stacked_figure(counted, "crimes", "category", "Anmälda brott per kvartal",
                                                "Antal anmälda brott")
    quarters = figures.all_quarters(counted)
    breaks = breaks_in(data, set(counted["category"]), quarters)  # every category drawn, "övriga" included
    figures.add_series_breaks(fig, breaks)
    year, quarter = last_quarter(counted)
    family = family or page_family(data, code, policy)
    blocks.append(Block(
        id="brott-kvartal", section="Anmälda brott", title="Anmälda brott per kvartal och brottskategori",
        description=("Antal anmälda brott efter inskrivningsdatum, de sex största kategorierna och övriga. "
                     f"{fmt_int(excluded)} registreringar som inte är brott (t.ex. viltolyckor) ingår inte. "
                     "Anmälda brott påverkas av anmälningsbenägenhet och polisens egna insatser. "
                     + ("Streckade linjer markerar lagändringar som bryter serien." if breaks else "")),
        figure=fig, table=quarter_table(top, "category", "crimes"),
        source=feed_label("crime_reports"), period=period_text(counted),
        status=f"Preliminära uppgifter ur polisens export (inskrivningsdatum); {quarter_label(year, quarter)} kan "
               "kompletteras."))
    # the last four quarters against the four before, per category, with the change signal (page-wide family)
    key_now = Quarter(year, quarter).seq
    label_now, label_before = quarter_span(key_now, 4), quarter_span(key_now - 4, 4)
    cats = sorted(k[1] for k in family.tests if k[0] == "crime" and k[1] is not None)
    total = family.get(("crime", None))
    if total.missing is not None:
        blocks.append(Block(
            id="brott-forandring", section="Anmälda brott",
            title="Senaste fyra kvartalen jämfört med de fyra kvartalen före",
            description=f"Ingen jämförelse: uppgift saknas ({total.missing}). Saknade kvartal räknas aldrig som 0.",
            figure=None, table=pd.DataFrame({"Kategori": ["Totalt"], label_now: ["saknas"], label_before: ["saknas"],
                                             "Förändring": [total.text()]}),
            source=feed_label("crime_reports"), period=f"{label_now} mot {label_before}",
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
            table=table, source=feed_label("crime_reports"), period=f"{label_now} mot {label_before}",
            status="Preliminära uppgifter ur polisens export."))
    # rates per area and complete year
    rates = data.of("rates_by_year", code)
    rates = rates[(rates.measure == "anmalda_brott") & rates.complete_year]
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
        breaks_by_year = year_breaks(data, sorted(int(y) for y in rates.year.unique()))
        whole = dict(zip(rates.loc[rates.area_code == "", "year"], rates.loc[rates.area_code == "", "rate"]))
        few_residents = sorted({n for n, y, r, a in zip(rates.area_name, rates.year, rates.rate, rates.area_code)
                                if a != "" and pd.notna(r) and whole.get(y) and r > 3 * whole[y]})
        blocks.append(Block(
            id="brott-omrade", section="Anmälda brott", title="Anmälda brott per kommundel och år, antal och per 100 000 invånare",
            description=(("Tabellen visar antal brott per DeSO (brottsplatsen) med DeSO-namnet ur exporten; diagrammet "
                          "per RegSO står nedan. " if _deso_placed(data, code) else
                          "Diagrammet visar antal brott per kommundel (brottsplatsen); antal per 100 000 invånare står "
                          "i tabellen och när man pekar på en stapel. ") + "Talen per invånare räknas på de boende "
                         "(medelfolkmängd under året, som Brå räknar): i områden med få boende och många besökare, "
                         "som centrum och köpcentrum, blir de mycket höga utan att de boende är mer utsatta"
                         + (f" ({', '.join(few_residents)} har mer än tre gånger kommunens tal)" if few_residents else "")
                         + f". Kommundelar med färre än {fmt_int(policy.small_area_population)} invånare redovisas "
                         "också som treårsmedelvärde, eftersom enskilda år varierar mycket. Brott som inte kan "
                         "platsbestämmas ingår bara i hela kommunen. Bara hela år redovisas." + breaks_text(breaks_by_year)),
            # DeSO-placed crimes (dozens of areas): the per-RegSO chart is the picture; the DeSO figures stay in the
            # table
            figure=None if _deso_placed(data, code) else figures.make_area_year_figure(
                rates, "count", "Anmälda brott per kommundel och år", "Antal anmälda brott", rate="rate"),
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
            source=f"{feed_label('crime_reports')}; {feed_label('population')}",
            period=f"{int(rates.year.min())}–{int(rates.year.max())}",
            status="Preliminära brottsuppgifter; befolkning enligt folkmängdsfilen." + basis_note(tab)))
    # the municipality beside its county and the country (Brå's official statistics)
    bra = data.marts["bra_crime_by_year"]
    county = code[:2]
    comp_geo = bra[bra.geography_code.isin([code, county, "00"]) & (bra.variable == "Totalt antal anmälda brott")]
    if (comp_geo.geography_code == code).any():
        comp_geo = geography_order(comp_geo, code)
        blocks.append(Block(
            id="jamforelse", section="Anmälda brott", title="Jämfört med länet och riket (Brås officiella statistik)",
            description=("Anmälda brott per 100 000 invånare enligt Brås indikatorer för kommuners lägesbild. "
                         "Brå räknar brott i den kommun där brottet begicks; talen skiljer sig därför från polisens "
                         "export ovan." + breaks_text(year_breaks(data, sorted(int(y) for y in comp_geo.year.unique())))),
            figure=figures.add_series_breaks(
                figures.make_geography_comparison_figure(comp_geo, "per_100k", "Anmälda brott per 100 000 invånare",
                                                         "Per 100 000 invånare"),
                year_breaks(data, sorted(int(y) for y in comp_geo.year.unique()))),
            table=pd.DataFrame({"Geografi": comp_geo.geography_name, "År": comp_geo.year.astype(str),
                                "Antal": [fmt_int(v) for v in comp_geo.crimes],
                                "Per 100 000 inv.": [fmt_int(v) for v in comp_geo.per_100k]}),
            source=feed_label("bra_indicators"), period=f"{int(comp_geo.year.min())}–{int(comp_geo.year.max())}",
            status=_bra_status(data, code, sorted(int(y) for y in comp_geo.year.unique()))))
    return blocks
