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
