"""One shared Plotly template: colour-blind-safe palette (Okabe–Ito), Swedish separators, print-friendly."""
from __future__ import annotations

import copy
import functools

import plotly.graph_objects as go
import plotly.io as pio

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"]
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=PALETTE,
        font=dict(family=FONT, size=13, color="#1a1a1a"),
        separators=", ",  # decimal comma, space between thousands (1 234,5)
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=60, r=20, t=40, b=60),
        hoverlabel=dict(font=dict(family=FONT)),
        legend=dict(orientation="h", yanchor="top", y=-0.28, x=0),
        # automargin makes room for every tick label, so none can overflow the figure; "allow" spares Plotly.js
        # its overflow test ("hide past div" on numeric axes measures every label once per label drawn): the same
        # pixels, ≈ a tenth less drawing time (tests/test_browser.py, CHANGELOG #15)
        xaxis=dict(showgrid=False, linecolor="#444", ticks="outside", automargin=True, ticklabeloverflow="allow"),
        yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#999", rangemode="tozero", automargin=True,
                   ticklabeloverflow="allow"),
    )
)
pio.templates["lagesbild"] = TEMPLATE
# The default for every figure of the process: Plotly then gives each figure the template when it is serialised,
# without validating a copy of it into each figure (``update_layout(template=...)`` cost ≈ 3 ms a figure, a twelfth
# of a page's build). Only this product's figures are drawn in its processes.
pio.templates.default = "lagesbild"


@functools.lru_cache(maxsize=1)
def _template_json() -> dict:
    return TEMPLATE.to_plotly_json()


def template_json() -> dict:
    """The theme as the plain dict a figure's layout carries (a copy: figures may be changed after they are built)."""
    return copy.deepcopy(_template_json())


def apply(fig: go.Figure, title: str | None = None, height: int = 380) -> go.Figure:
    if pio.templates.default != "lagesbild" and fig.layout.template != TEMPLATE:
        fig.update_layout(template="lagesbild")  # something changed the default: the figure says it itself
    fig.update_layout(height=height)
    if title:
        fig.update_layout(title=title_layout(title))
    return fig


def title_layout(text: str) -> dict:
    """A figure's title as every figure of the product shows it (left-aligned, 15 px)."""
    return dict(text=text, x=0, xanchor="left", font=dict(size=15))
