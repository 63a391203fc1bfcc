"""Page section: safety survey (trygghetsmätning) shares with Wilson intervals, and Brå's NTU."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_int, fmt_number, fmt_percent
from sources.policy import Policy
from dashboards.statistics import survey_change_se
from dashboards.data import SiteData, feed_label
from dashboards.render import Block
from dashboards.sections.common import geography_order


def survey_blocks(data: SiteData, code: str, names: dict[str, str], policy: Policy) -> list[Block]:
    survey = data.of("survey_by_year", code)
    survey = survey[survey.n_eff >= policy.survey_min_n]
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
        source=feed_label("survey_responses"), period=f"{years[0]}–{years[-1]}" if years else "",
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
            source=feed_label("survey_responses"), period=str(latest),
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
        ntu = geography_order(ntu.assign(share=ntu.share_percent, ci_low=ntu.ci_low_percent,
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
            source=feed_label("bra_indicators"), period=f"{int(ntu.year.min())}–{int(ntu.year.max())}",
            status="Brås officiella statistik."))
    return blocks
