"""Shared rendering: the Block a page section returns, the Jinja environment, atomic writes, the Plotly bundle,
the one Excel writer and the page-wide disclosure control applied to a set of blocks.

All text from input data is escaped by Jinja's autoescape; figure JSON is escaped by Plotly. Files are written
atomically (temp file + rename) and respect the umask.
"""
from __future__ import annotations

import json
from html import escape as html_escape
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
import functools
import os
import re
import tempfile

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dashboards import figures
from dashboards.format import fmt_date, fmt_int, fmt_number, fmt_percent
from sources.policy import Policy
from dashboards.disclosure import audit, protect


TEMPLATES = Path(__file__).resolve().parent / "templates"


STATIC = Path(__file__).resolve().parent / "static"


PLOTLY_JS = "plotly.min.js"

# The pages ship a partial plotly.js (dashboards/static/plotly/: the core, which holds scatter, plus bar and
# heatmap; built by its build.js from the plotly.js version that the plotly package draws for). A figure of
# another trace type would not draw, so Block.figure_html refuses it: add the type to entry.js, rebuild, and here.
PLOTLY_BUNDLE = STATIC / "plotly" / "plotly-lagesbild.min.js"
BUNDLED_TRACES = frozenset({"scatter", "bar", "heatmap"})


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
    # the table can be sorted by clicking a column heading (pages that include the sorting script)
    sortable: bool = False

    def figure_html(self) -> str:
        """The figure as a placeholder of its height plus its JSON; the page's loader (base.html) draws it when it
        comes near the screen, or every figure at once for print (``?utskrift``) and browsers without
        IntersectionObserver. The JSON is built without Plotly's per-trace validation (the builders made valid
        figures) and cannot close its script element (``<``, ``>``, ``&`` are escaped)."""
        if self.figure is None:
            return ""
        from plotly.io.json import to_json_plotly

        fig = self.figure.to_plotly_json()  # a copy: input text in labels is escaped here (shown, never rendered)
        missing = {t.get("type", "scatter") for t in fig["data"]} - BUNDLED_TRACES
        if missing:
            raise ValueError(f"figure {self.id}: trace type {', '.join(sorted(missing))} is not in the pages' "
                             f"plotly.js bundle ({PLOTLY_BUNDLE.relative_to(STATIC.parent.parent)})")
        spec = to_json_plotly({"data": figures.escape_traces(fig["data"]), "layout": fig["layout"],
                               "config": {"displaylogo": False, "responsive": True,
                                          "toImageButtonOptions": {"filename": self.id}}})
        spec = spec.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        height = int(self.figure.layout.height or 450)
        div_id = html_escape(f"fig-{self.id}")
        return (f'<div id="{div_id}" class="plotly-graph-div lazy-figure" style="height:{height}px; width:100%;">'
                f'</div>\n<script type="application/json" id="{div_id}-spec">{spec}</script>')


@dataclass
class SiteResult:
    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, list[str]] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def jinja_env() -> Environment:
    """One environment per process: it keeps the compiled templates (compiling municipality.html with its base and
    macros took a third of a page's build when each page made its own). Jinja still reloads a template whose file
    changed (auto_reload), so a long-lived process never renders a stale one."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(int=fmt_int, number=fmt_number, percent=fmt_percent, date=fmt_date)
    return env


def write_atomic(path: Path, text: str | bytes) -> None:
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


def ensure_plotly_js(out_dir: Path) -> None:
    js = PLOTLY_BUNDLE.read_bytes()
    target = out_dir / PLOTLY_JS
    if not target.exists() or target.read_bytes() != js:  # by content: a rebuilt bundle can keep its size
        write_atomic(target, js)


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


def write_block_excel(blocks: list[Block], folder: Path, policy: Policy, prefix: str = "") -> None:
    """The shown table of every block (formatted and suppressed exactly as on the page) as an Excel file."""
    from dashboards.excel import block_about, table_workbook

    folder.mkdir(parents=True, exist_ok=True)
    for b in blocks:
        write_atomic(folder / f"{prefix}{b.id}.xlsx", table_workbook(b.table, block_about(b, policy)))


def list_packs(site_dir: Path) -> list[dict]:
    packs = []
    for meta in sorted((Path(site_dir) / "packs").glob("*/pack.json")):
        if meta.parent.name.startswith("."):  # an unfinished pack (".<name>.tmp") is never listed
            continue
        d = json.loads(meta.read_text(encoding="utf-8"))
        d["href"] = f"packs/{meta.parent.name}/index.html"
        if d.get("pdf"):
            d["pdf_href"] = f"packs/{meta.parent.name}/{d['pdf']}"
        packs.append(d)
    return sorted(packs, key=lambda d: d["published"], reverse=True)
