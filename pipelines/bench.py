"""Benchmarks (commands, not tests): ``lagesbild bench ingest --rows N``.

Ingestion: N generated crime-report rows in one CSV (semicolon, UTF-8 with BOM, the shipped profile) are loaded by
``lagesbild ingest`` in a child process; wall time, rows/s and the child's peak RSS are printed.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sources.taxonomy import read_reference


def write_crime_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    codes = np.array([r["crime_code"] for r in read_reference("crime_codes")])
    days = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
    lag = pd.to_timedelta(rng.geometric(0.45, rows) - 1, unit="D")
    frame = pd.DataFrame({
        "Diarienummer": [f"5000-K{i:08d}" for i in range(rows)],
        "Brottsnummer": 1,
        "Brottskod": codes[rng.integers(0, len(codes), rows)],
        "Inskrivningsdatum": (days + lag).strftime("%Y-%m-%d"),
        "Brottsdatum från": days.strftime("%Y-%m-%d"),
        "Kommunkod": "0486",
        "Områdeskod": np.where(rng.random(rows) < 0.03, "", "0486-0" + pd.Series(rng.integers(1, 6, rows)).astype(str)),
        "Antal brott": 1,
    })
    frame["Inskrivningsdatum"] = frame["Inskrivningsdatum"].where(frame["Inskrivningsdatum"] <= "2026-09-30", "2026-09-30")
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        frame.to_csv(fh, sep=";", index=False)


def bench_ingest(rows: int) -> int:
    with tempfile.TemporaryDirectory(prefix="lagesbild-bench-") as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "brott_bench.csv"
        t0 = time.perf_counter()
        write_crime_csv(csv_path, rows)
        print(f"generated {rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        cmd = [sys.executable, "-m", "pipelines.cli", "--home", str(tmp / "home"), "ingest", str(csv_path),
               "--feed", "crime_reports", "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            return proc.returncode
        result = json.loads(proc.stdout)[0]
        print(f"ingest: {rows:,} rows in {wall:.1f} s = {rows / wall:,.0f} rows/s; peak RSS {peak_mb:,.0f} MB "
              f"(child process, incl. interpreter start-up); loaded {result['rows_loaded']:,}, "
              f"quarantined {result['rows_quarantined']:,}")
        if result["rows_loaded"] + result["rows_quarantined"] != rows:
            print("row conservation failed", file=sys.stderr)
            return 1
    return 0


def bench_pages(site: Path, runs: int = 3, only: list[str] | None = None, results: dict | None = None) -> int:
    """Per published page (median of ``runs``): time until the first screen's figures are drawn (figures below
    are drawn as the reader scrolls), time until every figure is drawn at the print address (``?utskrift``, as
    for the PDF), and the page's own payload (its HTML; plotly.min.js is shared by all pages and counted once)."""
    import shutil
    import statistics
    import threading

    from playwright.sync_api import sync_playwright

    from pipelines.serve import make_server

    browser_path = os.environ.get("BROWSER_PATH") or shutil.which("chromium")
    if not browser_path:
        print("Chromium saknas: installera Debian-paketet chromium eller ange BROWSER_PATH.", file=sys.stderr)
        return 2
    urls = only or (sorted(p.name for p in site.glob("*.html")) + sorted(str(p.relative_to(site))
                                                                     for p in site.glob("packs/*/index.html")))
    if not urls:
        print(f"Inga sidor i {site}. Kör `lagesbild refresh` först.", file=sys.stderr)
        return 2
    server = make_server(site, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    js = site / "plotly.min.js"
    print(f"shared plotly.min.js: {js.stat().st_size / 1e6:.2f} MB (loaded once, cached by the browser)")
    print(f"{'page':<60} {'figures':>7} {'1st screen (ms)':>15} {'all drawn (ms)':>14} {'payload (kB)':>13}")
    first_screen = ("() => [...document.querySelectorAll('.plotly-graph-div')]"
                    ".filter(d => d.getBoundingClientRect().top < window.innerHeight)"
                    ".every(d => d.querySelector('.main-svg'))")
    every = "() => [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=browser_path, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"])
            for url in urls:
                times: dict[str, list[float]] = {"first": [], "all": []}
                figures = 0
                for _ in range(runs):
                    for kind, suffix, ready in (("first", "", first_screen), ("all", "?utskrift=1", every)):
                        page = browser.new_page(viewport={"width": 1280, "height": 900})
                        t0 = time.perf_counter()
                        page.goto(f"{base}/{url}{suffix}", wait_until="domcontentloaded")
                        page.wait_for_function(ready, timeout=120000)
                        times[kind].append((time.perf_counter() - t0) * 1000)
                        figures = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
                        page.close()
                size = (site / url).stat().st_size / 1000
                if results is not None:
                    results[url] = (figures, statistics.median(times["first"]), statistics.median(times["all"]))
                print(f"{url:<60} {figures:>7} {statistics.median(times['first']):>15.0f} "
                      f"{statistics.median(times['all']):>14.0f} {size:>13.1f}")
            browser.close()
    finally:
        server.shutdown()
    return 0
