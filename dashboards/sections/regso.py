"""Page section: reported crimes per RegSO (regional statistical area), for municipalities whose crimes are placed by
DeSO: the DeSO rows rolled up by SCB's key, shown by name with the code on hover and in the table."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.data import SiteData, feed_label
from dashboards.figures import plotly_text
from dashboards.format import fmt_int, fmt_number
from dashboards.render import Block
from dashboards.theme import PALETTE, apply
from sources.policy import Policy


def make_regso_bars_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Horizontal bars per RegSO (``regso_name``, ``crimes``; ``shown`` is the count as published, ``regso_code``
    on hover), most crimes on top."""
    part = df.sort_values("crimes_shown", ascending=True)
    fig = go.Figure(go.Bar(
        x=part["crimes_shown"], y=[plotly_text(n) for n in part["regso_name"]], orientation="h",
        marker_color=PALETTE[0], customdata=[[plotly_text(c), s] for c, s in zip(part["regso_code"], part["shown"])],
        hovertemplate="%{y} (RegSO %{customdata[0]}): %{customdata[1]} brott<extra></extra>"))
    fig.update_layout(xaxis=dict(title="Antal anmälda brott", tickformat=",.0f"), yaxis=dict(type="category"))
    return apply(fig, title, height=max(320, 26 * len(part) + 140))


def regso_blocks(data: SiteData, code: str, policy: Policy) -> list[Block]:
    regso = data.marts.get("crime_by_regso_year", pd.DataFrame())
    if regso.empty:
        return []
    regso = regso[(regso.municipality_code == code) & (regso.quarters == 4)]
    if regso.empty:
        return []
    year = int(regso.year.max())
    latest = regso[regso.year == year].copy()
    # a RegSO with few or unknown inhabitants is a small area: its counts 1..4 are shown as the label
    small = latest.population.isna() | (latest.population < policy.area_min_population)
    hide = small & latest.crimes.between(1, policy.max_suppressed_count)
    latest["shown"] = [policy.suppressed_label if h else fmt_int(v) for v, h in zip(latest.crimes, hide)]
    latest["crimes_shown"] = latest.crimes.where(~hide, 0)
    years = sorted(int(y) for y in regso.year.unique())
    table_rows = []
    for (rc, rn), g in regso.groupby(["regso_code", "regso_name"], sort=False):
        row = {"RegSO": rn, "Kod": rc}
        for y in years:
            v = g.loc[g.year == y, "crimes"]
            pop = g.loc[g.year == y, "population"]
            tiny = pop.empty or pd.isna(pop.iloc[0]) or pop.iloc[0] < policy.area_min_population
            row[str(y)] = ("saknas" if v.empty else policy.suppressed_label
                           if tiny and 1 <= int(v.iloc[0]) <= policy.max_suppressed_count else fmt_int(v.iloc[0]))
        p_latest = g.loc[g.year == year, "population"]
        pop = p_latest.iloc[0] if len(p_latest) and pd.notna(p_latest.iloc[0]) else None
        row[f"Folkmängd {year}"] = fmt_number(pop, 0) if pop is not None else "saknas"
        n = g.loc[g.year == year, "crimes"]
        # per 100 000 on the year's population (31 December, the sum of the RegSO's DeSOs); hidden with its count
        row[f"Per 100 000 inv. {year}"] = (
            "saknas" if pop is None or not pop or n.empty else
            "×" if row[str(year)] == policy.suppressed_label else fmt_number(float(n.iloc[0]) / pop * 1e5, 0))
        table_rows.append(row)
    table = pd.DataFrame(table_rows)
    order = {n: i for i, n in enumerate(latest.sort_values("crimes", ascending=False).regso_name)}
    table = table.assign(_o=table.RegSO.map(order).fillna(len(order))).sort_values(["_o", "RegSO"]).drop(columns="_o")
    unnamed = int((~latest.named).sum())
    return [Block(
        id="brott-regso", section="Anmälda brott", title=f"Anmälda brott per RegSO {year}",
        description=("Brotten i polisens export är platsbestämda till DeSO; här summeras de per RegSO (SCB:s "
                     "regionala statistikområden, med SCB:s nyckel från DeSO till RegSO). Namnen kommer från "
                     "exportens områdesnamn; koden står i tabellen och när man pekar på en stapel."
                     + (f" {unnamed} RegSO saknar namn i exporten och visas med kod." if unnamed else "")
                     + f" RegSO med färre än {fmt_int(policy.area_min_population)} invånare eller okänd folkmängd "
                     f"visar 1–{policy.max_suppressed_count} brott som \"{policy.suppressed_label}\". Bara hela år. "
                     "Talet per 100 000 invånare räknas på folkmängden den 31 december (summan av RegSO:ts DeSO): i "
                     "områden med få boende och många besökare blir det högt utan att de boende är mer utsatta."),
        figure=make_regso_bars_figure(latest, f"Anmälda brott per RegSO {year}"),
        table=table, source=f"{feed_label('crime_reports')}; {feed_label('areas')}",
        period=f"{years[0]}–{years[-1]}" if len(years) > 1 else str(year),
        status="Preliminära uppgifter ur polisens export (inskrivningsdatum).")]
