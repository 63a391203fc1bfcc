"""The pages' partial plotly.js bundle (dashboards/static/plotly/): built from the plotly.js version the plotly
package draws for, registering exactly the trace types the renderer allows, licence kept, and a figure of any
other type refused before it could reach a page that cannot draw it. (That every figure of the sample site is
drawn by it, with no console error, is test_browser's.)"""
from __future__ import annotations

import re
from pathlib import Path

import plotly
import plotly.graph_objects as go
import pandas as pd
import pytest

from dashboards.render import BUNDLED_TRACES, PLOTLY_BUNDLE, Block

FOLDER = PLOTLY_BUNDLE.parent


def _version(text: str) -> str:
    return re.search(r"plotly\.js v(\d+\.\d+\.\d+)", text[:2000]).group(1)


def test_bundle_is_built_from_the_plotly_js_the_python_package_targets():
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    bundle = PLOTLY_BUNDLE.read_text(encoding="utf-8")
    assert _version(bundle) == _version(shipped.read_text(encoding="utf-8"))
    assert '"plotly.js": "' + _version(bundle) + '"' in (FOLDER / "package.json").read_text(encoding="utf-8")
    # smaller than the full bundle by a wide margin (what the page-load benchmark depends on)
    assert PLOTLY_BUNDLE.stat().st_size < shipped.stat().st_size / 2


def test_entry_registers_exactly_the_allowed_trace_types():
    entry = (FOLDER / "entry.js").read_text(encoding="utf-8")
    registered = set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", entry)) - {"core"}
    assert registered | {"scatter"} == set(BUNDLED_TRACES)  # scatter lives in plotly.js's core


def test_bundle_keeps_the_licence():
    head = PLOTLY_BUNDLE.read_text(encoding="utf-8")[:300]
    assert "MIT License" in head and "Plotly, Inc." in head
    assert "MIT License" in (FOLDER / "LICENSE").read_text(encoding="utf-8")


def _block(fig: go.Figure) -> Block:
    return Block(id="x", section="s", title="t", description="", figure=fig, table=pd.DataFrame(), source="",
                 period="", status="")


@pytest.mark.parametrize("trace", [go.Scatter(x=[1], y=[2]), go.Bar(x=["a"], y=[1]), go.Heatmap(z=[[1, 2]])])
def test_bundled_trace_types_render(trace):
    assert 'class="plotly-graph-div lazy-figure"' in _block(go.Figure(trace)).figure_html()


@pytest.mark.parametrize("trace", [go.Pie(labels=["a"], values=[1]), go.Box(y=[1, 2])])
def test_a_trace_type_outside_the_bundle_is_refused(trace):
    with pytest.raises(ValueError, match="not in the pages' plotly.js bundle"):
        _block(go.Figure([go.Scatter(x=[1], y=[1]), trace])).figure_html()


def test_a_stale_bundle_beside_the_pages_is_replaced_even_at_the_same_size(tmp_path):
    from dashboards.render import PLOTLY_JS, ensure_plotly_js

    stale = tmp_path / PLOTLY_JS
    stale.write_bytes(b"x" * PLOTLY_BUNDLE.stat().st_size)
    ensure_plotly_js(tmp_path)
    assert stale.read_bytes() == PLOTLY_BUNDLE.read_bytes()


@pytest.mark.parametrize("default", ["lagesbild", "plotly"])
def test_every_figure_is_drawn_with_the_products_theme(default, monkeypatch):
    """The theme is the process's default template (no copy validated into each figure); if something changed the
    default, a figure still names the theme itself. Either way the figure's JSON holds the theme: Swedish
    separators (decimal comma, space between thousands) and the colour-blind-safe palette."""
    import plotly.io as pio

    from dashboards import figures, theme

    monkeypatch.setattr(pio.templates, "default", default)
    frame = pd.DataFrame({"year": [2024, 2025, 2024, 2025], "area_name": ["Centrum", "Centrum", "Väster", "Väster"],
                          "crimes": [12, 15, 3, 4]})
    layout = figures.make_area_year_figure(frame, "crimes", "Brott per område", "antal").to_plotly_json()["layout"]
    template = layout["template"]["layout"]
    assert template["separators"] == ", " and template["colorway"] == theme.PALETTE
    assert layout["template"] == theme.TEMPLATE.to_plotly_json()
    assert layout["height"] == 380


def _validated(frame, value, y_title, title, rate=None, breaks=()):
    """make_area_year_figure as it was built through Plotly's validating API (the reference for the plain dicts)."""
    from dashboards import figures, theme

    fig = go.Figure()
    years = sorted(frame["year"].unique())
    areas = frame.groupby("area_name")[value].sum().sort_values(ascending=False).index.tolist()
    for i, year in enumerate(years):
        part = frame[frame["year"] == year].set_index("area_name").reindex(areas)
        hover = "%{x}, " + str(year) + ": %{y:,.0f}" + ("<br>per 100 000 invånare: %{customdata:,.0f}" if rate else "")
        fig.add_bar(x=areas, y=part[value].tolist(), name=str(year), customdata=part[rate].tolist() if rate else None,
                    marker_color=theme.PALETTE[i % len(theme.PALETTE)], hovertemplate=hover + "<extra></extra>")
    fig.update_layout(barmode="group", yaxis_title=y_title, xaxis=dict(type="category"))
    fig = theme.apply(fig, title)
    for period, text in breaks:
        fig.add_vline(x=period, line_dash="dash", line_color="#444", line_width=1)
        fig.add_annotation(x=period, y=1, yref="paper", text=figures.plotly_text(text), showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=11, color="#444"))
    return fig


@pytest.mark.parametrize("rate", [None, "rate"])
def test_figures_built_as_plain_dicts_are_what_plotlys_validating_api_builds(rate):
    """The builders that skip Plotly's validation (plain_figure) give the JSON the validating API gives: the area
    figure against its former add_bar/update_layout/add_vline build (a missing year is an empty bar, the rate in
    the hover only when asked), and every plain figure unchanged through Plotly's validating constructor."""
    import json

    from dashboards import figures

    frame = pd.DataFrame({"year": [2024, 2025, 2024, 2026], "area_name": ["Centrum", "Centrum", "Väster", "Väster"],
                          "crimes": [12, 15, 3, 4], "rate": [410.5, 512.0, 98.25, 130.0]})
    breaks = [("2025", "Ny lag 1 juli 2025 (<b>SFS</b> 2025:1)")]
    plain = figures.add_series_breaks(figures.make_area_year_figure(frame, "crimes", "Brott per område", "antal",
                                                                    rate=rate), breaks)
    reference = _validated(frame, "crimes", "antal", "Brott per område", rate=rate, breaks=breaks)
    assert json.loads(plain.to_json()) == json.loads(reference.to_json())
    stacked = figures.make_quarterly_stacked_figure(
        pd.DataFrame({"year": [2025, 2025, 2026], "quarter": [1, 2, 1], "category": ["Stöld", "Rån 50 %", "Stöld"],
                      "crimes": [3, 1, 5]}), "crimes", "category", "Brott", "antal")
    for fig in (plain, stacked):
        assert json.loads(go.Figure(fig.to_plotly_json()).to_json()) == json.loads(fig.to_json())


def _validated_survey_trend(df, labels, title):
    """make_survey_trend_figure as it was built through Plotly's validating API (the reference)."""
    from dashboards import theme

    fig = go.Figure()
    for i, (item, part) in enumerate(df.sort_values("year").groupby("item", sort=False)):
        fig.add_scatter(
            x=part["year"].astype(str), y=part["share"], name=labels.get(item, item), mode="lines+markers",
            marker_color=theme.PALETTE[i % len(theme.PALETTE)],
            error_y=dict(type="data", symmetric=False, array=(part["ci_high"] - part["share"]).tolist(),
                         arrayminus=(part["share"] - part["ci_low"]).tolist(), thickness=1.2, width=4),
            customdata=part[["ci_low", "ci_high", "n"]].values,
            hovertemplate="%{x}: %{y:.0%} (95 % KI %{customdata[0]:.0%}–%{customdata[1]:.0%}, n = %{customdata[2]:,.0f})"
                          "<extra>" + labels.get(item, item) + "</extra>")
    fig.update_layout(yaxis=dict(tickformat=".0%", range=[0, 1], title="Andel av de svarande (viktad)"),
                      xaxis=dict(type="category"))
    return theme.apply(fig, title, height=440)


def test_the_survey_trend_built_as_plain_dicts_is_what_plotlys_validating_api_builds():
    """Two items, one with a year missing, an item without a label, unsorted years, whole counts of answers."""
    import json

    from dashboards import figures

    frame = pd.DataFrame({"item": ["otrygg", "otrygg", "polis", "otrygg", "polis"],
                          "year": [2025, 2023, 2025, 2024, 2023], "share": [0.31, 0.28, 0.62, 0.3, 0.6],
                          "ci_low": [0.27, 0.24, 0.58, 0.26, 0.55], "ci_high": [0.35, 0.32, 0.66, 0.34, 0.65],
                          "n": [412, 388, 405, 390, 377]})
    labels = {"otrygg": "Otrygg <sent> på kvällen"}
    plain = figures.make_survey_trend_figure(frame, labels, "Trygghet")
    assert json.loads(plain.to_json()) == json.loads(_validated_survey_trend(frame, labels, "Trygghet").to_json())
    assert json.loads(go.Figure(plain.to_plotly_json()).to_json()) == json.loads(plain.to_json())


def _validated_places_map(df, title):
    """make_places_map_figure as it was built through Plotly's validating API (the reference)."""
    import math

    from dashboards import theme

    data = df.dropna(subset=["lat", "lon"]).sort_values("events", ascending=False)
    size = (data["events"] / max(float(data["events"].max()), 1.0)) ** 0.5 * 40 + 6
    fig = go.Figure(go.Scatter(
        x=data["lon"], y=data["lat"], mode="markers+text", text=data["place"].where(data.index.isin(data.index[:6]), ""),
        textposition="top center", marker=dict(size=size, color=theme.PALETTE[5], opacity=0.65,
                                                line=dict(width=1, color="#333")),
        customdata=data[["place", "events"]].values,
        hovertemplate="%{customdata[0]}: %{customdata[1]:,.0f} händelser<extra></extra>"))
    mid = float(data["lat"].mean()) if len(data) else 59.0
    fig.update_layout(xaxis=dict(title="Longitud", showgrid=True, gridcolor="#eee"),
                      yaxis=dict(title="Latitud", scaleanchor="x", scaleratio=1 / math.cos(math.radians(mid)),
                                 showgrid=True, gridcolor="#eee", rangemode="normal"))
    return theme.apply(fig, title, height=460)


@pytest.mark.parametrize("n", [0, 3, 8])  # no place with a position, fewer than six labelled places, more
def test_the_places_map_built_as_plain_dicts_is_what_plotlys_validating_api_builds(n):
    import json

    from dashboards import figures

    frame = pd.DataFrame({"place": [f"Plats <{i}>" for i in range(n)] + ["Utan läge"],
                          "events": [(7 * i) % 11 + 1 for i in range(n)] + [5],
                          "lat": [59.3 + i / 100 for i in range(n)] + [None],
                          "lon": [16.5 + i / 50 for i in range(n)] + [16.4]})
    plain = figures.make_places_map_figure(frame, "Platser")
    assert json.loads(plain.to_json()) == json.loads(_validated_places_map(frame, "Platser").to_json())
    assert json.loads(go.Figure(plain.to_plotly_json()).to_json()) == json.loads(plain.to_json())
