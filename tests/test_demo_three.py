"""The demo's three agreement municipalities (`lagesbild sample` default): Strängnäs, Eskilstuna and Södertälje each
get their own page with their own agreement's priority areas, and their counties get a county page; every new page
loads in headless Chromium with every figure drawn, and passes the output scans."""
from __future__ import annotations

import re
import pytest
import yaml

from tests.conftest import REPO, run_cli

AGREEMENTS = {"0486": "strangnas-2023-2026.yaml", "0484": "eskilstuna-2024-2027.yaml",
              "0181": "sodertalje-2023-2026.yaml"}
PNR = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]\d{4}(?!\d)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo3") / "home"
    assert run_cli("--home", str(home), "sample", "--scale", "0.05", "--first-year", "2025") == 0
    assert run_cli("--home", str(home), "refresh") == 0
    return home / "site"


def test_three_municipality_pages_with_their_own_priority_areas_and_two_county_pages(demo):
    pages = sorted(p.name for p in demo.glob("*.html"))
    assert {"lagesbild-0486.html", "lagesbild-0484.html", "lagesbild-0181.html", "lan-04.html", "lan-01.html"} <= set(pages)
    index = (demo / "index.html").read_text(encoding="utf-8")
    for code, file in AGREEMENTS.items():
        doc = yaml.safe_load((REPO / "data" / "agreements" / file).read_text(encoding="utf-8"))
        page = (demo / f"lagesbild-{code}.html").read_text(encoding="utf-8")
        names = [a["name"] for a in doc["priority_areas"]]
        assert names and all(n in page for n in names), code            # its own agreement's priority areas
        others = [n for c, f in AGREEMENTS.items() if c != code for n in
                  [a["name"] for a in yaml.safe_load((REPO / "data" / "agreements" / f).read_text(encoding="utf-8"))
                   ["priority_areas"]] if n not in names]
        assert not any(n in page for n in others), code                  # and not another municipality's
        assert f'href="lagesbild-{code}.html"' in index
    county = (demo / "lan-04.html").read_text(encoding="utf-8")
    assert 'href="lagesbild-0486.html"' in county and 'href="lagesbild-0484.html"' in county
    assert 'href="lagesbild-0181.html"' in (demo / "lan-01.html").read_text(encoding="utf-8")


def test_the_new_pages_load_in_a_browser_and_pass_the_output_scans(demo):
    from tests.test_browser import load_pages_and_draw

    urls = ["lagesbild-0484.html", "lagesbild-0181.html", "lan-01.html", "lan-04.html"]
    for url in urls:
        text = (demo / url).read_text(encoding="utf-8")
        assert not PNR.search(text) and "<script>alert" not in text, url
        figures = text.count('class="plotly-graph-div lazy-figure"')
        assert figures >= (5 if url.startswith("lagesbild") else 2), url
    maps = {u: "#fig-karta-brott .main-svg path.js-fill" for u in urls if u.startswith("lagesbild")}
    load_pages_and_draw(demo, urls, "demo3_", require=maps)
