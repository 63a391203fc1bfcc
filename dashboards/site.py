"""Page composition: marts (as DataFrames) -> static site (index, one lägesbild page per municipality, quality).

Each page section is a module in ``dashboards/sections``; shared rendering is ``dashboards/render``. Works
offline: one shared ``plotly.min.js`` beside the pages, no CDN.
"""
from __future__ import annotations

from pathlib import Path
import json

from dashboards.format import fmt_date
from sources.policy import Policy
from dashboards.signals import SignalFamily, page_family
from dashboards.data import SiteData
from dashboards.render import list_packs, Block, PLOTLY_JS, STATIC, SiteResult, ensure_plotly_js, jinja_env, write_atomic, write_block_excel, protect_blocks
from dashboards.sections.agreement import agreement_blocks
from dashboards.sections.page import municipality_blocks
from dashboards.sections.common import area_names, with_revision_notes
from dashboards.sections.quality import sources_table, datadocs_context, page_totals, quality_context


def build_site(data: SiteData, out_dir: Path, policy: Policy, only: set[str] | None = None,
               manifest: dict | None = None) -> SiteResult:
    """Write the site into ``out_dir``.

    ``only``: rebuild the pages of these municipalities and keep the other pages already in ``out_dir`` (an
    incremental refresh; ``data`` may then hold only these municipalities' rows). The index, the quality pages and
    ``publicering.json`` (pages, figure counts and the totals each page was built from) are always rewritten;
    ``manifest`` adds keys to that file.
    """
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = jinja_env()
    ensure_plotly_js(out_dir)
    write_atomic(out_dir / "site.css", (STATIC / "site.css").read_bytes())
    published = fmt_date(data.published_at)
    sources = sources_table(data.files)
    result = SiteResult(index=out_dir / "index.html")
    previous = {}
    if (out_dir / "publicering.json").exists():
        previous = json.loads((out_dir / "publicering.json").read_text(encoding="utf-8"))
    kept_pages = previous.get("pages", {})
    totals: dict[str, dict] = dict(previous.get("totals", {})) if only is not None else {}

    pages = []
    todo = []
    for code, name in sorted(data.municipalities.items()):
        file_name = f"lagesbild-{code}.html"
        if only is not None and code not in only and file_name in kept_pages and (out_dir / file_name).exists():
            pages.append(kept_pages[file_name])  # unchanged since the last refresh: the page is kept as it is
        else:
            todo.append((code, name))
    for page, figure_ids, page_total in _build_pages(data, todo, out_dir, policy, published, sources):
        pages.append(page)
        result.pages[page["href"]] = out_dir / page["href"]
        result.figures[page["href"]] = figure_ids
        totals[page["code"]] = page_total
    pages.sort(key=lambda p: p["code"])

    counties = _county_pages(data, out_dir, policy, published, sources, {p["code"] for p in pages})
    for page in counties:
        result.pages[page["href"]] = out_dir / page["href"]
        result.figures[page["href"]] = page.pop("figure_ids")

    quality = quality_context(data)
    write_atomic(out_dir / "datakvalitet.html", env.get_template("quality.html").render(
        title="Datakvalitet", published=published, plotly_js=None, **quality))
    result.pages["datakvalitet.html"] = out_dir / "datakvalitet.html"
    result.figures["datakvalitet.html"] = []
    write_atomic(out_dir / "datadocs.html", env.get_template("datadocs.html").render(
        title="Data Docs – kvalitetskontroller", published=published, plotly_js=None, suites=datadocs_context(data)))
    result.pages["datadocs.html"] = out_dir / "datadocs.html"
    result.figures["datadocs.html"] = []
    write_atomic(result.index, env.get_template("index.html").render(
        title="Lägesbild – publicerade sidor", pages=pages, counties=counties, published=published, plotly_js=None,
        failed_checks=quality["failed_errors"], rejected=quality["rejected"], packs=list_packs(out_dir)))
    doc = {**(manifest or {}), "published_at": data.published_at.isoformat(),
           "pages": {p["href"]: p for p in pages}, "counties": {p["href"]: p for p in counties}, "totals": {c: totals[c] for c in sorted(totals)}}
    write_atomic(out_dir / "publicering.json", json.dumps(doc, ensure_ascii=False, indent=1))
    return result


def _county_pages(data: SiteData, out_dir: Path, policy: Policy, published: str, sources: list[dict],
                  municipality_pages: set[str]) -> list[dict]:
    """One page per county with at least two municipalities in Brå's indicators (dashboards/sections/peers.py)."""
    from dashboards.sections.peers import county_blocks, county_names, counties_to_publish, county_table

    env = jinja_env()
    out = []
    for county in counties_to_publish(data):
        blocks = county_blocks(data, county, policy)
        if not blocks:
            continue
        name = county_names().get(county, county)
        file_name = f"lan-{county}.html"
        protect_blocks(blocks, policy, file_name)
        excel = {b.id: f"data/lan-{county}-{b.id}.xlsx" for b in blocks}
        write_block_excel(blocks, out_dir / "data", policy, prefix=f"lan-{county}-")
        sections: dict[str, list[Block]] = {}
        for b in blocks:
            sections.setdefault(b.section, []).append(b)
        members = county_table(data, county, policy)
        links = [{"name": n, "href": f"lagesbild-{c}.html" if c in municipality_pages else None}
                 for c, n in sorted(zip(members.code, members.name), key=lambda x: x[1])]
        write_atomic(out_dir / file_name, env.get_template("county.html").render(
            title=f"Länsöversikt: {name}", county_name=name, sections=sections, municipalities=links,
            published=published, excel=excel, sources=sources, plotly_js=PLOTLY_JS))
        out.append({"href": file_name, "title": f"Länsöversikt: {name}", "code": county,
                    "figures": sum(1 for b in blocks if b.figure is not None),
                    "figure_ids": [f"fig-{b.id}" for b in blocks if b.figure is not None]})
    return out


# below this, starting worker processes costs more than it saves: forking is cheap since a refresh sets its start
# aside and a pool collects only the young generations first (the sample's three pages: 1,65 → 1,38 s in workers)
PARALLEL_MIN_PAGES = 3


_WORK: tuple | None = None  # (data, out_dir, policy, published, sources), inherited by forked workers


def _municipality_page(data: SiteData, code: str, name: str, out_dir: Path, policy: Policy, published: str,
                       sources: list[dict]) -> tuple[dict, list[str], dict]:
    """Write one municipality's page and its Excel tables; returns (index entry, figure ids, totals)."""
    env = jinja_env()
    family = page_family(data, code, policy)  # every count comparison on the page, adjusted together
    agreement, plan_blocks = agreement_blocks(data, code, policy, family)
    blocks = with_revision_notes(plan_blocks + municipality_blocks(data, code, policy, family), data.revisions)
    sections: dict[str, list[Block]] = {}
    for b in blocks:
        sections.setdefault(b.section, []).append(b)
    file_name = f"lagesbild-{code}.html"
    protect_blocks(blocks, policy, file_name)  # before anything is written: tables, Excel and figures alike
    excel = {b.id: f"data/{code}-{b.id}.xlsx" for b in blocks}
    write_block_excel(blocks, out_dir / "data", policy, prefix=f"{code}-")
    html = env.get_template("municipality.html").render(
        title=f"Lägesbild {name}", municipality=name, code=code, sections=sections, published=published,
        agreement=agreement, excel=excel, sources=sources, plotly_js=PLOTLY_JS)
    write_atomic(out_dir / file_name, html)
    figure_ids = [f"fig-{b.id}" for b in blocks if b.figure is not None]
    return ({"href": file_name, "title": f"Lägesbild {name}", "code": code, "figures": len(figure_ids)},
            figure_ids, page_totals(data, code))


def _pages_worker(chunk: list[tuple[str, str]]) -> list[tuple[dict, list[str], dict]]:
    data, out_dir, policy, published, sources = _WORK
    return [_municipality_page(data, code, name, out_dir, policy, published, sources) for code, name in chunk]


def _build_pages(data: SiteData, todo: list[tuple[str, str]], out_dir: Path, policy: Policy, published: str,
                 sources: list[dict]) -> list[tuple[dict, list[str], dict]]:
    """The municipality pages, on every CPU when there are many (forked workers share the loaded data)."""
    from sources.workers import fork_pool, fork_workers

    workers = fork_workers(8)
    if len(todo) < PARALLEL_MIN_PAGES or workers < 2:
        return [_municipality_page(data, code, name, out_dir, policy, published, sources) for code, name in todo]
    global _WORK
    _WORK = (data, out_dir, policy, published, sources)
    chunks = [todo[i::workers * 4] for i in range(workers * 4)]
    try:
        with fork_pool(workers) as pool:
            return [page for part in pool.map(_pages_worker, [c for c in chunks if c]) for page in part]
    finally:
        _WORK = None
