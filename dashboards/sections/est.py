"""Page section: EST reports (per quarter, places, map, weekday and hour)."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_int
from dashboards.data import SiteData, feed_label
from dashboards.render import Block
from dashboards.sections.common import last_quarter, period_text, quarter_span, quarter_table
from sources.quarter import Quarter


def est_blocks(data: SiteData, code: str) -> list[Block]:
    est = data.of("est_by_quarter", code)
    if est.empty:
        return []
    places = data.of("est_places", code)
    year, quarter = last_quarter(places)
    key_now = Quarter(year, quarter).seq
    recent = places[places.quarter_seq > key_now - 4]
    top = recent.groupby("place", as_index=False)["events"].sum().sort_values("events", ascending=False).head(10)
    span = quarter_span(key_now, 4)
    spots = (recent.groupby("place", as_index=False).agg(events=("events", "sum"), lat=("lat", "mean"),
                                                        lon=("lon", "mean")))
    wh = data.of("est_weekday_hour", code)
    wh = wh[wh.quarter_seq > key_now - 4]
    extra = []
    if spots[["lat", "lon"]].notna().all(axis=1).any():
        extra.append(Block(
            id="est-karta", section="EST – platsbundna händelser", title=f"Var EST-händelserna inträffar, {span}",
            description="Varje cirkel är en plats; storleken visar antalet händelser. Kartan saknar bakgrund så att "
                        "sidan fungerar utan internet.",
            figure=figures.make_places_map_figure(spots, "EST-händelser per plats"),
            table=pd.DataFrame({"Plats": spots.sort_values("events", ascending=False)["place"],
                                "Antal händelser": [fmt_int(v) for v in spots.sort_values("events", ascending=False)["events"]]}),
            source=feed_label("est_events"), period=span, status="Löpande rapportering."))
    if not wh.empty:
        grid = figures.pivot_sum(wh, "weekday", "hour", "events")
        grid = grid.reindex(index=range(1, 8), columns=range(24), fill_value=0)
        table = pd.DataFrame({"Veckodag": figures.WEEKDAYS,
                              **{f"{h:02d}": [fmt_int(v) for v in grid[h]] for h in grid.columns}})
        extra.append(Block(
            id="est-veckodag", section="EST – platsbundna händelser", title=f"EST-händelser per veckodag och timme, {span}",
            description="När händelserna inträffar: underlag för att planera fältarbete, bevakning och polisens närvaro.",
            figure=figures.make_weekday_hour_figure(wh, "EST-händelser per veckodag och timme"), table=table,
            source=feed_label("est_events"), period=span, status="Löpande rapportering."))
    return [
        Block(id="est-kvartal", section="EST – platsbundna händelser", title="EST-händelser per kvartal och kategori",
              description="Händelser rapporterade av EST-rapportörer (kommun, bostadsbolag, bevakning, polis m.fl.).",
              figure=figures.make_quarterly_stacked_figure(est, "events", "category", "EST-händelser per kvartal",
                                                           "Antal händelser"),
              table=quarter_table(figures.top_categories(est[["year", "quarter", "category", "events"]], "category",
                                                          "events", 6), "category", "events"),
              source=feed_label("est_events"), period=period_text(est),
              status="Löpande rapportering; kan kompletteras i efterhand."),
        Block(id="est-platser", section="EST – platsbundna händelser",
              title="Platser med flest EST-händelser, senaste fyra kvartalen",
              description="De tio platser som fått flest rapporter under de senaste fyra kvartalen.",
              figure=figures.make_top_places_figure(top, "Flest EST-händelser, senaste fyra kvartalen"),
              table=pd.DataFrame({"Plats": top["place"], "Antal händelser": [fmt_int(v) for v in top["events"]]}),
              source=feed_label("est_events"), period=quarter_span(key_now, 4), status="Löpande rapportering."),
    ] + extra
