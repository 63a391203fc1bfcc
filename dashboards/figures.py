"""Pure figure builders: ``make_*_figure(df, ...) -> go.Figure``. No I/O, no warehouse access.

Each builder takes a tidy DataFrame (as produced by the marts, already filtered to one municipality) and returns a
figure in the shared theme. Suppression and minimum-n rules are applied by the caller's policy values, never
silently here: builders receive already-safe frames or the policy values they need.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboards.format import quarter_key, quarter_label
from dashboards.theme import PALETTE, apply
from sources.quarter import Quarter

OTHER = "Övriga"


def with_quarter_labels(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["period_key"] = [quarter_key(y, q) for y, q in zip(out["year"], out["quarter"])]
    out["period"] = [quarter_label(y, q) for y, q in zip(out["year"], out["quarter"])]
    return out.sort_values("period_key")


def all_quarters(df: pd.DataFrame) -> list[str]:
    """Every quarter from the first to the last in ``df`` (gaps shown as empty, not skipped)."""
    if df.empty:
        return []
    keys = [quarter_key(y, q) for y, q in zip(df["year"], df["quarter"])]
    return [Quarter.from_seq(k).label for k in range(min(keys), max(keys) + 1)]


def pivot_sum(df: pd.DataFrame, index: str | list[str], columns: str, values: str) -> pd.DataFrame:
    """What ``df.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", fill_value=0)`` gives, as
    one group sum unstacked (≈ 2,5 times faster; a page builds several): the same rows, columns, order and dtypes
    (tests/test_page_rules.py compares them on varied frames)."""
    keys = ([index] if isinstance(index, str) else list(index)) + [columns]
    return df.groupby(keys)[values].sum().unstack(columns, fill_value=0)


def top_categories(df: pd.DataFrame, stack: str, value: str, top: int) -> pd.DataFrame:
    totals = df.groupby(stack)[value].sum().sort_values(ascending=False)
    keep = set(totals.index[:top])
    out = df.copy()
    out[stack] = out[stack].where(out[stack].isin(keep), OTHER)
    return out.groupby([c for c in out.columns if c != value], as_index=False, dropna=False)[value].sum()


def make_quarterly_stacked_figure(df: pd.DataFrame, value: str, stack: str, title: str, y_title: str,
                                  top: int = 6) -> go.Figure:
    """Stacked bars per quarter; the ``top`` largest ``stack`` groups, the rest as 'Övriga'."""
    quarters = all_quarters(df)
    data = with_quarter_labels(top_categories(df[["year", "quarter", stack, value]], stack, value, top))
    order = data.groupby(stack)[value].sum().sort_values(ascending=False).index.tolist()
    if OTHER in order:
        order = [o for o in order if o != OTHER] + [OTHER]
    sums = data.groupby([stack, "period"])[value].sum()  # one pass, not one filter per category
    traces = [dict(type="bar", x=quarters, y=sums.loc[cat].reindex(quarters).tolist(), name=str(cat),
                   marker=dict(color=PALETTE[i % len(PALETTE)]),
                   hovertemplate="%{x}<br>" + plotly_text(cat).replace("%", "%%") + ": %{y:,.0f}<extra></extra>")
              for i, cat in enumerate(order)]
    return plain_figure(traces, dict(barmode="stack", yaxis=dict(title=dict(text=y_title)),
                                     xaxis=dict(type="category", tickangle=-45)), title)


def make_area_year_figure(df: pd.DataFrame, value: str, title: str, y_title: str,
                          rate: str | None = None) -> go.Figure:
    """Grouped bars: one group per area, one bar per year. ``rate`` (optional) is shown in the hover."""
    years = sorted(df["year"].unique())
    areas = df.groupby("area_name")[value].sum().sort_values(ascending=False).index.tolist()
    by_year = dict(tuple(df.groupby("year")))  # one split, not one filter per year
    traces = []
    for i, year in enumerate(years):
        part = by_year[year].set_index("area_name").reindex(areas)
        hover = "%{x}, " + str(year) + ": %{y:,.0f}"
        if rate:
            hover += "<br>per 100 000 invånare: %{customdata:,.0f}"
        trace = dict(type="bar", x=areas, y=part[value].tolist(), name=str(year),
                     marker=dict(color=PALETTE[i % len(PALETTE)]), hovertemplate=hover + "<extra></extra>")
        if rate:
            trace["customdata"] = part[rate].tolist()
        traces.append(trace)
    return plain_figure(traces, dict(barmode="group", yaxis=dict(title=dict(text=y_title)),
                                     xaxis=dict(type="category")), title)


def make_suppressed_stacked_figure(df: pd.DataFrame, value: str, stack: str, title: str, y_title: str,
                                   max_suppressed: int, label: str,
                                   also_hidden: set[tuple[str, str]] | None = None) -> go.Figure:
    """Stacked bars per quarter where counts 1..max_suppressed are not drawn and read ``label`` in the hover;
    ``also_hidden``: (quarter label, stack value) cells hidden by the page's disclosure control (read "×")."""
    also_hidden = also_hidden or set()
    quarters = all_quarters(df)
    data = with_quarter_labels(df)
    fig = go.Figure()
    for i, cat in enumerate(sorted(data[stack].unique())):
        part = data[data[stack] == cat].groupby("period")[value].sum().reindex(quarters)
        hidden = part.between(1, max_suppressed)
        secondary = pd.Series([(q, str(cat)) in also_hidden for q in quarters], index=part.index)
        shown = part.mask(hidden | secondary)
        text = [label if h else "" for h in hidden]
        fig.add_bar(x=quarters, y=shown.tolist(), name=str(cat), marker_color=PALETTE[i % len(PALETTE)],
                    customdata=[label if h else "×" if s2 else (f"{int(v):,}".replace(",", " ") if pd.notna(v) else "–")
                                for h, s2, v in zip(hidden, secondary, part)],
                    text=text, textposition="none",
                    hovertemplate="%{x}<br>" + plotly_text(cat) + ": %{customdata}<extra></extra>")
    fig.update_layout(barmode="stack", yaxis_title=y_title, xaxis=dict(type="category", tickangle=-45))
    return apply(fig, title)


def make_survey_trend_figure(df: pd.DataFrame, labels: dict[str, str], title: str) -> go.Figure:
    """Weighted shares per year with 95 % confidence intervals, one line per item."""
    traces = []
    for i, (item, part) in enumerate(df.sort_values("year").groupby("item", sort=False)):
        traces.append(dict(
            type="scatter", x=part["year"].astype(str).tolist(), y=_floats(part["share"]),
            name=labels.get(item, item), mode="lines+markers", marker=dict(color=PALETTE[i % len(PALETTE)]),
            error_y=dict(type="data", symmetric=False, array=(part["ci_high"] - part["share"]).tolist(),
                         arrayminus=(part["share"] - part["ci_low"]).tolist(), thickness=1.2, width=4),
            customdata=_floats(part[["ci_low", "ci_high", "n"]]),
            hovertemplate="%{x}: %{y:.0%} (95 % KI %{customdata[0]:.0%}–%{customdata[1]:.0%}, n = %{customdata[2]:,.0f})"
                          "<extra>" + labels.get(item, item) + "</extra>"))
    return plain_figure(traces, dict(yaxis=dict(tickformat=".0%", range=[0, 1],
                                                title=dict(text="Andel av de svarande (viktad)")),
                                     xaxis=dict(type="category")), title, height=440)


def make_survey_area_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """One item, one year: share per area with 95 % confidence intervals."""
    data = df.sort_values("share", ascending=True)
    fig = go.Figure(go.Bar(
        y=data["area_name"], x=data["share"], orientation="h", marker_color=PALETTE[0],
        error_x=dict(type="data", symmetric=False, array=(data["ci_high"] - data["share"]).tolist(),
                     arrayminus=(data["share"] - data["ci_low"]).tolist(), thickness=1.2, width=4),
        customdata=data[["ci_low", "ci_high", "n"]].values,
        hovertemplate="%{y}: %{x:.0%} (95 % KI %{customdata[0]:.0%}–%{customdata[1]:.0%}, n = %{customdata[2]:,.0f})"
                      "<extra></extra>"))
    fig.update_layout(xaxis=dict(tickformat=".0%", range=[0, 1], title="Andel (viktad)"), yaxis=dict(type="category"))
    return apply(fig, title, height=max(260, 60 + 45 * len(data)))


def make_top_places_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Horizontal bars: the places with most EST events in the period."""
    data = df.sort_values("events", ascending=True)
    fig = go.Figure(go.Bar(y=data["place"], x=data["events"], orientation="h", marker_color=PALETTE[5],
                           hovertemplate="%{y}: %{x:,.0f} händelser<extra></extra>"))
    fig.update_layout(xaxis_title="Antal EST-händelser", yaxis=dict(type="category"))
    return apply(fig, title, height=max(260, 60 + 32 * len(data)))


def make_indicator_trend_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Lines per indicator over quarters (count indicators of one priority area)."""
    quarters = all_quarters(df)
    data = with_quarter_labels(df)
    fig = go.Figure()
    for i, (label, part) in enumerate(data.groupby("label", sort=False)):
        # a quarter inside the period with nothing recorded is a zero, not a gap
        series = part.groupby("period")["value"].sum().reindex(quarters).fillna(0)
        fig.add_scatter(x=quarters, y=series.tolist(), name=str(label), mode="lines+markers",
                        marker_color=PALETTE[i % len(PALETTE)],
                        hovertemplate="%{x}: %{y:,.0f}<extra>" + plotly_text(label) + "</extra>")
    fig.update_layout(yaxis_title="Antal per kvartal", xaxis=dict(type="category", tickangle=-45))
    return apply(fig, title, height=360)


def add_series_breaks(fig: go.Figure, breaks: list[tuple[str, str]]) -> go.Figure:
    """Dashed vertical markers at the quarters where a law change breaks a series (label, text)."""
    if not breaks:
        return fig
    # the shapes fig.add_vline would make (a line across the plot's height), appended in one update
    shapes = [dict(type="line", x0=period, x1=period, xref="x", y0=0, y1=1, yref="y domain",
                   line=dict(dash="dash", color="#444", width=1)) for period, _ in breaks]
    notes = [dict(x=period, y=1, yref="paper", text=plotly_text(text), showarrow=False, xanchor="left",
                  yanchor="bottom", font=dict(size=11, color="#444")) for period, text in breaks]
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes], annotations=[*fig.layout.annotations, *notes])
    return fig


def _floats(values):
    """Numbers for a plain figure as Plotly's validation hands them on (a float array; an empty value NaN)."""
    return values.to_numpy(dtype=float, na_value=np.nan)


def plain_figure(traces: list[dict], layout: dict, title: str | None, height: int = 380) -> go.Figure:
    """A figure from plain dicts in the shared theme, as :func:`dashboards.theme.apply` gives it (theme, height,
    title), without Plotly's per-property validation: building through ``add_bar``/``update_layout`` validated
    every property and was the largest part of a page's build. The dicts are valid by construction:
    tests/test_plotly_bundle.py passes each such figure through Plotly's validating constructor and compares."""
    from dashboards.theme import template_json, title_layout

    layout = {**layout, "template": template_json(), "height": height}
    if title:
        layout["title"] = title_layout(title)
    return go.Figure(data=traces, layout=layout, _validate=False)


def make_period_comparison_figure(df: pd.DataFrame, label_now: str, label_before: str, title: str) -> go.Figure:
    """Horizontal grouped bars: each category's count now and in the comparison period (columns now, before)."""
    data = df.sort_values("now", ascending=True)
    fig = go.Figure()
    fig.add_bar(y=data["category"], x=data["before"], name=label_before, orientation="h", marker_color=PALETTE[8],
                hovertemplate="%{y}: %{x:,.0f}<extra>" + label_before + "</extra>")
    fig.add_bar(y=data["category"], x=data["now"], name=label_now, orientation="h", marker_color=PALETTE[0],
                hovertemplate="%{y}: %{x:,.0f}<extra>" + label_now + "</extra>")
    fig.update_layout(barmode="group", xaxis_title="Antal anmälda brott", yaxis=dict(type="category"))
    return apply(fig, title, height=max(300, 80 + 46 * len(data)))


def make_geography_comparison_figure(df: pd.DataFrame, value: str, title: str, y_title: str,
                                     percent: bool = False) -> go.Figure:
    """Lines per geography (municipality, county, country) over years; optional interval columns ci_low/ci_high."""
    fig = go.Figure()
    for i, (name, part) in enumerate(df.sort_values("year").groupby("geography_name", sort=False)):
        error = None
        if "ci_low" in part and part["ci_low"].notna().any():
            error = dict(type="data", symmetric=False, array=(part["ci_high"] - part[value]).tolist(),
                         arrayminus=(part[value] - part["ci_low"]).tolist(), thickness=1.2, width=4)
        fig.add_scatter(x=part["year"].astype(str), y=part[value], name=str(name), mode="lines+markers",
                        marker_color=PALETTE[i % len(PALETTE)], error_y=error,
                        hovertemplate="%{x}: %{y:,.1f}" + (" %" if percent else "") + "<extra>" + plotly_text(name) + "</extra>")
    fig.update_layout(yaxis_title=y_title, xaxis=dict(type="category"))
    return apply(fig, title)


WEEKDAYS = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]


def make_weekday_hour_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Heatmap: EST events per weekday (rows) and hour of day (columns)."""
    grid = pivot_sum(df, "weekday", "hour", "events")
    grid = grid.reindex(index=range(1, 8), columns=range(0, 24), fill_value=0)
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=[f"{h:02d}" for h in grid.columns], y=WEEKDAYS, colorscale="Blues",
        colorbar=dict(title="Antal"), hovertemplate="%{y} kl. %{x}: %{z:,.0f} händelser<extra></extra>"))
    fig.update_layout(xaxis_title="Timme", yaxis=dict(autorange="reversed", type="category"))
    return apply(fig, title, height=340)


def make_places_map_figure(df: pd.DataFrame, title: str) -> go.Figure:
    """Places as circles sized by events, on longitude/latitude axes (no map tiles: the site works offline)."""
    import math

    data = df.dropna(subset=["lat", "lon"]).sort_values("events", ascending=False)
    size = (data["events"] / max(float(data["events"].max()), 1.0)) ** 0.5 * 40 + 6
    trace = dict(
        type="scatter", x=_floats(data["lon"]), y=_floats(data["lat"]), mode="markers+text",
        text=data["place"].where(data.index.isin(data.index[:6]), "").tolist(), textposition="top center",
        marker=dict(size=_floats(size), color=PALETTE[5], opacity=0.65, line=dict(width=1, color="#333")),
        customdata=data[["place", "events"]].values.tolist(),
        hovertemplate="%{customdata[0]}: %{customdata[1]:,.0f} händelser<extra></extra>")
    mid = float(data["lat"].mean()) if len(data) else 59.0
    return plain_figure([trace], dict(
        xaxis=dict(title=dict(text="Longitud"), showgrid=True, gridcolor="#eee"),
        yaxis=dict(title=dict(text="Latitud"), scaleanchor="x", scaleratio=1 / math.cos(math.radians(mid)),
                   showgrid=True, gridcolor="#eee", rangemode="normal")), title, height=460)


# ------------------------------------------------------------------------------------------ label safety

def plotly_text(value) -> str:
    """Text from input data as Plotly shows it: Plotly renders a subset of HTML in labels (<a href>, <span style>,
    <b>, <br>…) and decodes entities, so < > & are written as entities: the text is shown, never interpreted."""
    import html

    return html.escape(str(value), quote=False)


_DATA_FIELDS = ("name", "text", "hovertext", "x", "y", "customdata", "labels", "ids")


def _escape_values(value):
    import numpy as np

    if isinstance(value, str):
        return plotly_text(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return np.vectorize(_escape_values, otypes=[object])(value) if value.size else value
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_escape_values(v) for v in value)
    return value


def escape_traces(traces: list[dict]) -> list[dict]:
    """Escape every data-derived string of every trace (names, category values, texts, customdata) for Plotly's
    label markup, in the figure's JSON form (``fig.to_plotly_json()["data"]``, a copy), at the one place figures
    are serialised. Hover templates are the builders' own. (Not on the Figure: Plotly compares old and new values
    when a trace property is set, and a missing value, pandas' NA, cannot be compared.)"""
    for trace in traces:
        for attr in _DATA_FIELDS:
            if trace.get(attr) is not None:
                trace[attr] = _escape_values(trace[attr])
    return traces


def make_peer_band_figure(df: pd.DataFrame, own_name: str, title: str) -> go.Figure:
    """Small multiples, one per indicator (``variable``): the peer group's middle 50 % (``q25``–``q75``) as a band,
    its median dashed, and the municipality's own rate (``own``) as a line, per year. Built as plain trace and axis
    dicts (one figure per peer group on every municipality page: make_subplots and add_trace cost ~40 ms a trace)."""
    variables = list(dict.fromkeys(df["variable"]))
    cols = 2 if len(variables) > 1 else 1
    rows = (len(variables) + cols - 1) // cols
    gap_x, gap_y = 0.1, 0.5 / (rows * 2 + 1) if rows > 1 else 0.1
    width, height = (1 - gap_x * (cols - 1)) / cols, (1 - gap_y * (rows - 1)) / rows
    traces, layout, notes = [], {}, []
    own_label = plotly_text(own_name)
    for i, variable in enumerate(variables):
        part = df[df["variable"] == variable].sort_values("year")
        x = part["year"].astype(str).tolist()
        r, c = i // cols, i % cols
        ax = "" if i == 0 else str(i + 1)
        xd = [round(min(1.0, max(0.0, v)), 6) for v in (c * (width + gap_x), c * (width + gap_x) + width)]
        yd = [round(min(1.0, max(0.0, v)), 6) for v in (1 - (r + 1) * height - r * gap_y, 1 - r * height - r * gap_y)]
        layout[f"xaxis{ax}"] = dict(domain=xd, anchor=f"y{ax}", type="category")
        layout[f"yaxis{ax}"] = dict(domain=yd, anchor=f"x{ax}", rangemode="tozero", tickformat=",.0f",
                                    title=dict(text="Per 100 000 inv." if c == 0 else ""))
        notes.append(dict(text=plotly_text(variable), x=sum(xd) / 2, y=yd[1], xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)))
        band = part[part["q25"].notna()]
        refs = dict(xaxis=f"x{ax}", yaxis=f"y{ax}")
        first = i == 0
        bx = band["year"].astype(str).tolist()
        traces.append(dict(type="scatter", x=bx + bx[::-1], y=band["q75"].tolist() + band["q25"].tolist()[::-1],
                           fill="toself", fillcolor="rgba(153,153,153,0.35)", line=dict(width=0), mode="lines",
                           name="mittersta 50 % av jämförelsekommunerna", legendgroup="band", showlegend=first,
                           hoverinfo="skip", **refs))
        traces.append(dict(type="scatter", x=x, y=part["median"].tolist(), mode="lines",
                           line=dict(color="#444", dash="dash"), name="median", legendgroup="median", showlegend=first,
                           customdata=part[["q25", "q75", "n"]].to_numpy().tolist(),
                           hovertemplate="%{x}: median %{y:,.0f}, mittersta hälften %{customdata[0]:,.0f}–"
                                         "%{customdata[1]:,.0f} (%{customdata[2]} kommuner)<extra></extra>", **refs))
        traces.append(dict(type="scatter", x=x, y=part["own"].tolist(), mode="lines+markers",
                           line=dict(color=PALETTE[0], width=3), marker=dict(color=PALETTE[0]), name=own_label,
                           legendgroup="own", showlegend=first,
                           hovertemplate="%{x}: %{y:,.0f}<extra>" + own_label + "</extra>", **refs))
    layout.update(annotations=notes, legend=dict(y=-0.08 if rows > 2 else -0.2))
    # plain dicts (tests/test_peers.py also draws the figure through plotly.io): Plotly's per-property validation was
    # most of a page's cost for this figure
    return plain_figure(traces, layout, plotly_text(title), height=260 * rows + 120)


def make_ranked_bars_figure(df: pd.DataFrame, value: str, title: str, x_title: str,
                            references: dict[str, float] | None = None) -> go.Figure:
    """Horizontal bars, one per municipality (``name``), largest on top; reference values (county, country) as
    vertical dotted lines."""
    part = df.sort_values(value, ascending=True)
    fig = go.Figure(go.Bar(x=part[value], y=[plotly_text(n) for n in part["name"]], orientation="h",
                           marker_color=PALETTE[0], hovertemplate="%{y}: %{x:,.0f}<extra></extra>"))
    for i, (label, v) in enumerate((references or {}).items()):
        if pd.notna(v):
            fig.add_vline(x=float(v), line=dict(color=PALETTE[5 + i % 2], dash="dot"),
                          annotation_text=plotly_text(label), annotation_position="top")
    fig.update_layout(xaxis_title=x_title, yaxis=dict(type="category"), xaxis=dict(tickformat=",.0f"))
    return apply(fig, title, height=max(300, 28 * len(part) + 140))


def make_interval_dots_figure(df: pd.DataFrame, title: str, x_title: str) -> go.Figure:
    """One dot per municipality (``name``, ``share``) with its interval (``low``–``high``), sorted by share."""
    part = df.sort_values("share", ascending=True)
    fig = go.Figure(go.Scatter(
        x=part["share"], y=[plotly_text(n) for n in part["name"]], mode="markers", marker=dict(color=PALETTE[0], size=9),
        error_x=dict(type="data", symmetric=False, array=(part["high"] - part["share"]).tolist(),
                     arrayminus=(part["share"] - part["low"]).tolist(), thickness=1.5, width=4),
        customdata=part[["low", "high"]].to_numpy(),
        hovertemplate="%{y}: %{x:,.0f} % (95 % KI %{customdata[0]:,.0f}–%{customdata[1]:,.0f})<extra></extra>"))
    fig.update_layout(xaxis_title=x_title, yaxis=dict(type="category"), xaxis=dict(rangemode="tozero"))
    return apply(fig, title, height=max(300, 28 * len(part) + 140))
