"""Page section: a map of reported crimes per area (DeSO or district outlines from the areas feed), with Polisen's
vulnerable areas outlined where they exist. Drawn offline with Plotly's cartesian axes (filled outlines in
longitude/latitude, no tiles, no topojson); the table beside it holds the same numbers and goes to Excel."""
from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go

from dashboards.data import SiteData, feed_label
from dashboards.figures import plain_figure, plotly_text
from dashboards.format import fmt_int, fmt_number
from dashboards.render import Block
from dashboards.sections.common import area_names, small_areas
from dashboards.theme import PALETTE
from sources.policy import Policy

# sequential blues (ColorBrewer Blues 5: ordered by lightness, readable with colour-vision deficiencies)
CLASS_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
HIDDEN_COLOUR, MISSING_COLOUR, VULNERABLE_COLOUR = "#bdbdbd", "#ffffff", "#D55E00"


def classes(values: list[float], k: int = 5) -> list[tuple[float, float]]:
    """Up to ``k`` classes of whole numbers by quantiles of the shown values: [(low, high)], each inclusive,
    adjacent, covering min..max; fewer when values repeat."""
    vals = sorted(v for v in values if pd.notna(v))
    if not vals:
        return []
    cuts = sorted({int(math.floor(pd.Series(vals).quantile(i / k))) for i in range(1, k)} | {int(vals[-1])})
    out, low = [], int(vals[0])
    for c in cuts:
        if c >= low:
            out.append((low, c))
            low = c + 1
    return out


def make_area_map_figure(areas: pd.DataFrame, vulnerable: pd.DataFrame, title: str, legend_title: str,
                         places: pd.DataFrame | None = None) -> go.Figure:
    """``areas``: name, code, outline (JSON rings), shown (text), value (number or NaN), hidden (bool).
    ``vulnerable``: name, area_class, outline. ``places`` (optional): EST places (place, lat, lon, events) drawn as
    circles sized by events. Built as plain dicts, valid by construction (tests validate it)."""
    bins = classes(areas.loc[~areas.hidden, "value"].tolist())
    traces, legend_seen = [], set()
    lats = []

    def klass(v, hidden):
        if hidden:
            return "färre än 5 (skyddat)", HIDDEN_COLOUR
        if pd.isna(v):
            return "uppgift saknas", MISSING_COLOUR
        for i, (lo, hi) in enumerate(bins):
            if lo <= v <= hi:
                colour = CLASS_COLOURS[round(i * (len(CLASS_COLOURS) - 1) / max(1, len(bins) - 1))]
                return f"{fmt_int(lo)}–{fmt_int(hi)}", colour
        return "uppgift saknas", MISSING_COLOUR

    order = {f"{fmt_int(lo)}–{fmt_int(hi)}": i for i, (lo, hi) in enumerate(bins)}
    rows = sorted(areas.itertuples(index=False), key=lambda r: order.get(klass(r.value, r.hidden)[0], 99))
    for r in rows:
        label, colour = klass(r.value, r.hidden)
        text = f"{plotly_text(r.name)} ({plotly_text(r.code)}): {plotly_text(r.shown)}"
        for ring in json.loads(r.outline):
            xs, ys = [p[0] for p in ring], [p[1] for p in ring]
            lats += ys
            traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                               line=dict(color="#555", width=0.6), name=label, legendgroup=label,
                               showlegend=label not in legend_seen, hoveron="fills", hoverinfo="text", text=text))
            legend_seen.add(label)
    for r in vulnerable.itertuples(index=False):
        label = "Polisens utsatta områden"
        text = f"{plotly_text(r.name)}: {plotly_text(r.area_class or 'utsatt område')} (Polisen)"
        for ring in json.loads(r.outline):
            traces.append(dict(type="scatter", x=[p[0] for p in ring], y=[p[1] for p in ring], mode="lines",
                               line=dict(color=VULNERABLE_COLOUR, width=2.5, dash="dash"), name=label,
                               legendgroup=label, showlegend=label not in legend_seen, hoveron="points",
                               hoverinfo="text", text=text))
            legend_seen.add(label)
    if places is not None and len(places):
        top = float(places.events.max()) or 1.0
        traces.append(dict(type="scatter", x=places.lon.tolist(), y=places.lat.tolist(), mode="markers",
                           marker=dict(size=[6 + 24 * (e / top) ** 0.5 for e in places.events], color=PALETTE[3],
                                       opacity=0.8, line=dict(width=1, color="#333")),
                           name="EST-platser (händelser)", hoverinfo="text",
                           text=[f"{plotly_text(p)}: {fmt_int(e)} EST-händelse{'' if e == 1 else 'r'}" for p, e in
                                 zip(places.place, places.events)]))
    lat0 = sum(lats) / len(lats) if lats else 60.0
    layout = dict(xaxis=dict(visible=False, rangemode="normal", constrain="domain"),
                  legend=dict(title=dict(text=plotly_text(legend_title))),
                  # one degree of latitude is 1/cos(latitude) times as long as one of longitude
                  yaxis=dict(visible=False, rangemode="normal", scaleanchor="x",
                             scaleratio=1 / math.cos(math.radians(lat0))),
                  plot_bgcolor="white", margin=dict(l=10, r=10, t=50, b=10), hovermode="closest")
    return plain_figure(traces, layout, plotly_text(title), height=560)


def map_blocks(data: SiteData, code: str, policy: Policy) -> list[Block]:
    dim = data.marts.get("dim_areas", pd.DataFrame())
    if dim.empty or "outline" not in dim.columns:
        return []
    mine = dim[(dim.municipality_code == code) & dim.outline.notna() & (dim.outline != "")]
    shapes = mine[mine.area_type.isin(["deso", "kommundel", "regso"])]
    if shapes.empty:
        return []
    rates = data.of("rates_by_year", code)
    rates = rates[(rates.measure == "anmalda_brott") & rates.complete_year & rates.area_code.isin(set(shapes.area_code))]
    if rates.empty:
        return []
    year = int(rates.year.max())
    latest = rates[rates.year == year]
    counts = dict(zip(latest.area_code, latest["count"]))
    per_100k = dict(zip(latest.area_code, latest["rate"])) if "rate" in latest.columns else {}
    tiny = small_areas(data, code, policy)
    names = area_names(data, code)
    rows = []
    for r in shapes.itertuples(index=False):
        v = counts.get(r.area_code)
        hidden = pd.notna(v) and r.area_code in tiny and 1 <= v <= policy.max_suppressed_count
        shown = policy.suppressed_label if hidden else ("saknas" if v is None or pd.isna(v) else fmt_int(v))
        rate = per_100k.get(r.area_code)
        # a hidden count's rate would give it away (count = rate × population): hidden too
        rate_shown = "×" if hidden else ("saknas" if rate is None or pd.isna(rate) else fmt_number(rate, 0))
        rows.append({"name": names.get(r.area_code) or r.area_code, "code": r.area_code, "outline": r.outline,
                     "shown": shown + ("" if hidden or rate_shown == "saknas" else f" ({rate_shown} per 100 000 inv.)"),
                     "count_shown": shown, "rate_shown": rate_shown,
                     "value": float("nan") if hidden or v is None or pd.isna(v) else float(v), "hidden": hidden})
    areas = pd.DataFrame(rows)
    vulnerable = mine[mine.area_type == "utsatt_omrade"].rename(columns={"area_name": "name"})
    est = data.marts.get("est_places", pd.DataFrame())
    places = pd.DataFrame()
    if not est.empty:
        part = data.of("est_places", code)
        part = part[(part.year == year) & part.lat.notna() & part.lon.notna()]
        if len(part):
            places = part.groupby("place", as_index=False).agg(
                events=("events", "sum"), lat=("lat", "mean"), lon=("lon", "mean"))
    kind = "DeSO" if (shapes.area_type == "deso").all() else "område"
    title = f"Anmälda brott per {kind} {year} (antal)"
    table = pd.DataFrame({"Område": areas.name, "Kod": areas.code, f"Anmälda brott {year}": areas.count_shown,
                          "Per 100 000 inv.": areas.rate_shown})
    table = table.assign(_v=areas.value.fillna(-1)).sort_values(["_v", "Område"], ascending=[False, True]) \
        .drop(columns="_v")
    return [Block(
        id="karta-brott", section="Anmälda brott", title=f"Karta: {title[0].lower() + title[1:]}",
        description=(f"Antal anmälda brott per {kind} under {year} (brottsplatsen, inskrivningsdatum), i fem klasser "
                     "efter fördelningen. Färgen visar antal; talet per 100 000 invånare (boende, medelfolkmängd) står "
                     "i tabellen och när man pekar på ett område: i områden med få boende och många besökare blir det "
                     "högt utan att de boende är mer utsatta. "
                     + (f"{kind} med få invånare visar 1–{policy.max_suppressed_count} brott som "
                        f"\"{policy.suppressed_label}\" (grå). " if areas.hidden.any() else "")
                     + ("Streckade orange linjer: Polisens utsatta områden (Polisens lägesbild). " if len(vulnerable)
                        else "")
                     + (f"Cirklar: EST-platser, storlek efter antal EST-händelser under {year}. " if len(places)
                        else "")
                     + "Gränserna är de som områdesfilen anger. Kartan ritas utan internetanslutning; tabellen har "
                       "samma siffror."),
        figure=make_area_map_figure(areas, vulnerable[["name", "area_class", "outline"]] if len(vulnerable)
                                    else pd.DataFrame(columns=["name", "area_class", "outline"]),
                                    title, f"Anmälda brott {year}", places),
        table=table, source=f"{feed_label('crime_reports')}; {feed_label('areas')}", period=str(year),
        status="Preliminära uppgifter ur polisens export (inskrivningsdatum).")]
