"""The published site in a real headless Chromium (Debian's chromium driven by Playwright), and scans of all output.

Every page loads through the preview server with no console errors and every figure drawn; a screenshot of each
page is written to build/screenshots/ for inspection; each meeting pack's PDF exists and has pages.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import REPO, run_cli

SHOTS = REPO / "build" / "screenshots"
# a reader scrolling to the end of the page, a screen at a time
SCROLL_THROUGH = """async () => {
  for (let y = 0; y <= document.body.scrollHeight; y += 700) {
    window.scrollTo(0, y);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  }
}"""
PNR = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]\d{4}(?!\d)")


def chromium() -> str:
    path = os.environ.get("BROWSER_PATH") or shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    return path


@pytest.fixture(scope="module")
def published(sample_home):
    """The sample site plus one pack per meeting type, served on loopback like `lagesbild serve`."""
    from pipelines.serve import make_server

    chromium()
    for meeting in ("bra", "council", "quality", "public"):
        assert run_cli("--home", str(sample_home), "publish", "--meeting", meeting, "--period", "2026-Q3") == 0
    site = sample_home / "site"
    server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def open_and_draw(browser, address: str):
    """A new 1 280 px page at ``address``, scrolled through so every figure is drawn (they are drawn as they come
    near the screen), waiting until each is; returns (page, figures on the page, console/page errors, failed
    requests)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(address)
    expected = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
    page.evaluate(SCROLL_THROUGH)
    page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(d => d.querySelector('.main-svg'))", timeout=60000)
    return page, expected, errors, failed


def load_pages_and_draw(site: Path, urls: list[str], shot_prefix: str, require: dict[str, str] | None = None) -> None:
    """Serve ``site`` on loopback and load each page in headless Chromium: no console error, no failed request
    (nothing fetched from the internet), every figure drawn after scrolling through, and for a page in ``require``
    at least one element matching its CSS selector (e.g. a map's drawn fills); a screenshot of each."""
    from playwright.sync_api import sync_playwright

    from pipelines.serve import make_server

    path = chromium()
    server = make_server(site, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
            for url in urls:
                address = f"http://127.0.0.1:{server.server_address[1]}/{url}"
                page, expected, errors, failed = open_and_draw(browser, address)
                assert expected >= 1 and not errors and not failed, (url, expected, errors, failed)
                if require and url in require:
                    assert page.evaluate("s => document.querySelectorAll(s).length", require[url]) > 0, url
                page.screenshot(path=str(SHOTS / f"{shot_prefix}{url}.png"), full_page=True)
                page.close()
            browser.close()
    finally:
        server.shutdown()


def pages(site: Path) -> list[str]:
    top = sorted(p.name for p in site.glob("*.html"))
    packs = sorted(str(p.relative_to(site)) for p in site.glob("packs/*/index.html"))
    return top + packs


def test_every_page_loads_without_console_errors_and_draws_every_figure(published):
    from playwright.sync_api import sync_playwright

    site, base = published
    SHOTS.mkdir(parents=True, exist_ok=True)
    urls = pages(site)
    assert len([u for u in urls if u.startswith("packs/")]) == 4
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        for url in urls:
            page, expected, errors, failed = open_and_draw(browser, f"{base}/{url}")
            drawn = page.evaluate("document.querySelectorAll('.plotly-graph-div .main-svg').length")
            assert not errors, (url, errors)
            assert not failed, (url, failed)
            assert drawn >= expected, url
            # nothing is wider than the window at 1 280 px: a wide table scrolls inside its block
            too_wide = page.evaluate("""() => [...document.querySelectorAll('figure.block, .table-wrap, main > *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.id || e.className || e.tagName)""")
            assert too_wide == [], (url, too_wide)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
            # every tick label lies inside its figure (automargin makes room), which is why the theme lets Plotly
            # skip its overflow test (ticklabeloverflow "allow": a label outside would show, not be hidden)
            outside = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')].flatMap(d => {
                const box = d.getBoundingClientRect();
                return [...d.querySelectorAll('.xtick text, .ytick text')].filter(t => {
                    const r = t.getBoundingClientRect();
                    return r.width && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
                                       || r.bottom > box.bottom + 1);
                }).map(t => d.id + ': ' + t.textContent);
            })""")
            assert outside == [], (url, outside)
            if url.startswith("lagesbild-") or url.startswith("packs/bra"):
                assert expected >= 10, url
            page.screenshot(path=str(SHOTS / (url.replace("/", "_") + ".png")), full_page=True)
            page.close()
        browser.close()
    assert len(list(SHOTS.glob("*.png"))) >= len(urls)


def test_each_pack_has_a_pdf_with_pages_and_is_listed_on_the_index(published):
    site, _ = published
    index = (site / "index.html").read_text(encoding="utf-8")
    for pack in site.glob("packs/*/"):
        pdfs = list(pack.glob("*.pdf"))
        assert len(pdfs) == 1, pack.name
        data = pdfs[0].read_bytes()
        assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 1, pack.name
        assert f"packs/{pack.name}/index.html" in index
        assert "sha256" in (pack / "index.html").read_text(encoding="utf-8") or pack.name.startswith(("quality", "public"))



def test_a_pack_pdf_reads_as_a_report(published):
    """One page break per section (a section's heading opens a page), no page without its number, every figure
    drawn (the PDF prints the print address), and the source list and footer at the end."""
    import html

    import pypdf

    site, _ = published
    pack = next(site.glob("packs/bra-*/"))
    page_html = (pack / "index.html").read_text(encoding="utf-8")
    sections = [html.unescape(t) for t in re.findall(r'<section class="pack-section">\s*<h2>(.*?)</h2>', page_html)]
    figures = page_html.count('class="plotly-graph-div')
    assert len(sections) >= 5 and figures >= 10
    # what opens a page: each part's title (its first section follows on the same page), then each later section
    openers = []
    for part in re.split(r'<section class="part">', page_html)[1:]:
        title = re.search(r'<h2 class="part-title">(.*?)</h2>', part).group(1)
        inner = [html.unescape(t) for t in re.findall(r'<section class="pack-section">\s*<h2>(.*?)</h2>', part)]
        openers += [html.unescape(title)] + inner[1:]
    reader = pypdf.PdfReader(next(pack.glob("*.pdf")))
    texts = [pg.extract_text() for pg in reader.pages]
    n = len(texts)
    assert all(f"Sida {i} av {n}" in t for i, t in enumerate(texts, start=1))
    # the line after the running footer is the first line of the page's content
    firsts = [" ".join(re.split(r"Sida \d+ av \d+\s*Lägesbild", t, maxsplit=1)[-1].split())[:40] for t in texts]
    opened = [s for s in openers if any(f.startswith(" ".join(s.split())[:25]) for f in firsts)]
    assert opened == openers, set(openers) - set(opened)
    assert n >= len(openers) >= len(sections)
    assert "Framtagen med lägesbild" in texts[-1] and "sha256" in "".join(texts[-3:])


def test_packs_are_immutable_and_a_new_publication_is_a_new_folder(published, sample_home):
    site, _ = published
    before = {p.name: p.stat().st_mtime_ns for p in site.glob("packs/bra-*/index.html")}
    pack = next(site.glob("packs/bra-*/"))
    assert all(not os.access(f, os.W_OK) or os.geteuid() == 0 for f in pack.iterdir())
    assert all(f.stat().st_mode & 0o222 == 0 for f in pack.iterdir())
    assert run_cli("--home", str(sample_home), "refresh") == 0
    after = {p.name: p.stat().st_mtime_ns for p in site.glob("packs/bra-*/index.html")}
    assert after == before  # a refresh never touches an old pack


def _all_text(site: Path) -> list[tuple[str, str]]:
    out = [(str(p.relative_to(site)), p.read_text(encoding="utf-8")) for p in site.rglob("*.html")]
    for x in site.rglob("*.xlsx"):
        wb = load_workbook(x, read_only=True)
        cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        out.append((str(x.relative_to(site)), "\n".join(cells)))
    return out


def test_no_personal_data_small_counts_or_injected_script_anywhere_in_the_output(published):
    site, _ = published
    texts = _all_text(site)
    assert any(name.endswith(".xlsx") for name, _ in texts)
    for name, text in texts:
        assert not PNR.search(text), name
        assert "<script>alert" not in text and 'alert("' not in text.replace("&#34;", '"').split("&lt;script&gt;")[0], name
    # the coordinator's analysis contains a script tag: it is shown as text, never run
    bra = next(site.glob("packs/bra-*/index.html")).read_text(encoding="utf-8")
    assert "&lt;script&gt;" in bra and "Förslag till åtgärder" in bra
    # sensitive tables (concern reports) never show a count of 1–4, on pages or in downloads
    for name, text in texts:
        if "oro-" in name and name.endswith(".xlsx"):
            assert not re.search(r"(?m)^[1-4]$", text), name
    for name, text in texts:
        if name.endswith(".html"):
            for block in re.findall(r'id="oro-[^"]+".*?</tbody>', text, flags=re.S):
                assert not re.search(r"<td>\s*[1-4]\s*</td>", block), name


def test_figures_are_drawn_when_they_come_near_the_screen_and_all_for_print(published):
    """The first screen draws only its own figures (the page is usable sooner); scrolling draws the rest; the print
    address (?utskrift, used for the PDF) draws every figure without scrolling, static (no hover or zoom layers)."""
    from playwright.sync_api import sync_playwright

    site, base = published
    url = next(p.name for p in sorted(site.glob("lagesbild-*.html")))
    drawn_js = "document.querySelectorAll('.plotly-graph-div .main-svg').length"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/{url}")
        total = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
        page.wait_for_load_state("networkidle")
        assert total >= 10
        first_screen = page.evaluate(drawn_js)
        assert first_screen < total  # the figures far down the page are not drawn yet
        page.evaluate(SCROLL_THROUGH)
        page.wait_for_function(f"() => {drawn_js} >= {total}", timeout=60000)
        drag_js = "document.querySelectorAll('.plotly-graph-div .nsewdrag').length"
        assert page.evaluate(drag_js) >= total  # on screen a reader can hover and zoom every figure
        printed = browser.new_page(viewport={"width": 1280, "height": 900})
        printed.goto(f"{base}/{url}?utskrift=1")
        printed.wait_for_function(f"() => {drawn_js} >= {total}", timeout=60000)  # no scrolling
        assert printed.evaluate(drag_js) == 0  # the print address draws static figures
        browser.close()


def test_council_and_bra_packs_open_with_a_status_per_priority_area(published, sample_home):
    """The first screen: one card per priority area of the agreement, with status as symbol and word (not colour
    alone), the changes behind it, and a link to a section that exists on the page; on the council pack the
    statuses are those of its status table."""
    import duckdb
    from playwright.sync_api import sync_playwright

    site, base = published
    con = duckdb.connect(str(sample_home / "published" / "warehouse.duckdb"), read_only=True)
    areas = [r[0] for r in con.execute("SELECT name FROM plan.priority_areas WHERE agreement_id = "
                                       "'strangnas-2023-2026' ORDER BY ordinal").fetchall()]
    con.close()
    looks = {"Uppmärksamma": "▲", "Förbättring": "✓", "Oförändrat": "●"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        for meeting in ("bra", "council"):
            url = str(next(site.glob(f"packs/{meeting}-0486-*/index.html")).relative_to(site))
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/{url}")
            cards = page.evaluate("""() => [...document.querySelectorAll('.first-screen .card')].map(c => ({
                status: c.querySelector('.status').innerText, area: c.querySelector('.area').innerText,
                target: !!document.querySelector(c.getAttribute('href')),
                top: c.getBoundingClientRect().top}))""")
            assert [c["area"] for c in cards] == areas, meeting
            for c in cards:
                symbol, word = c["status"].split(" ", 1)
                assert looks[word] == symbol and c["target"], (meeting, c)
            assert cards[0]["top"] < 900  # it is the first screen
            first_part = page.evaluate("document.querySelector('.part').getBoundingClientRect().top")
            assert first_part > max(c["top"] for c in cards)
            if meeting == "council":
                table = page.evaluate("""() => [...document.querySelectorAll('#omradesstatus tbody tr')]
                    .map(r => [...r.querySelectorAll('td')].map(td => td.innerText))""")
                assert [(r[0], r[1]) for r in table] == [(c["area"], c["status"].split(" ", 1)[1]) for c in cards]
        browser.close()


def test_the_county_page_lists_every_municipality_and_its_table_sorts(published):
    """The demo's county page (Södermanlands län, from the sample's Brå indicators): every municipality of the
    county is named, those with a page are linked, and a click on a column heading sorts the overview table."""
    from playwright.sync_api import sync_playwright

    site, base = published
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/lan-04.html")
        names = page.eval_on_selector_all("nav.toc a, nav.toc span.meta", "els => els.map(e => e.textContent)")
        assert len(names) == 9  # Södermanland's nine municipalities
        assert page.eval_on_selector_all("nav.toc a", "els => els.map(e => e.getAttribute('href'))") == [
            "lagesbild-0486.html"]

        def column(i: int) -> list[float]:
            cells = page.eval_on_selector_all(f"#lan-oversikt tbody tr td:nth-child({i + 1})",
                                              "els => els.map(e => e.textContent)")
            return [float(c.replace("\u00a0", "").replace(" ", "")) for c in cells]

        before = column(1)
        page.click("#lan-oversikt thead th:nth-child(2) button.sort")
        assert column(1) == sorted(before)
        assert page.get_attribute("#lan-oversikt thead th:nth-child(2)", "aria-sort") == "ascending"
        page.click("#lan-oversikt thead th:nth-child(2) button.sort")
        assert column(1) == sorted(before, reverse=True)
        page.click("#lan-oversikt thead th:nth-child(1) button.sort")   # names in Swedish order
        first = page.eval_on_selector_all("#lan-oversikt tbody tr td:first-child", "els => els.map(e => e.textContent)")
        assert first[0] == "Eskilstuna" and first[-1] == "Vingåker"
        assert not errors
        page.screenshot(path=str(SHOTS / "lan-04_sorted.png"), full_page=True)
        browser.close()
