"""``lagesbild bench refresh``: national-scale full refresh, incremental refresh and a plain-DuckDB floor.

Inputs (generated, deterministic; ``--scale`` shrinks them): municipalities × years of
crime reports (15 M rows at scale 1), EST events (3 M) and survey responses (1 M), written as real-looking
exports (one file per year and group of about 30 municipalities, like county exports), plus population.

Measured, each in a child process (wall time, the child's peak RSS from ``wait4``, and the peak of the memory its
whole process tree holds at once: the sum of each process's proportional set size (PSS, so pages a forked worker
shares with its parent count once), sampled five times a second from /proc):

1. ``lagesbild refresh`` on a fresh home: ingestion, quality checks, every model, pages, snapshot.
2. The floor: ``pipelines/bench_floor.sql`` in plain DuckDB, reading the same files straight into the same
   partitioned marts (no contracts, no quarantine, no checks, no pages): what the hardware needs at least.
3. An incremental refresh after one new file for one municipality and one new quarter.
4. ``make demo``'s commands (read from the Makefile's ``demo`` recipe) in a fresh home, each a new process.
5. With ``--with-tests``: the test suite as ``make test`` runs it (pytest in a child process).

The totals of the product's marts and the floor's are compared, so the floor computes the same thing.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.home import PROJECT_ROOT
from sources.taxonomy import read_reference

FULL_SCALE = {"crime_reports": 15_000_000, "est_events": 3_000_000, "survey_responses": 1_000_000}
GROUP = 30  # municipalities per export file
FLOOR_SQL = PROJECT_ROOT / "pipelines" / "bench_floor.sql"
ITEMS = ["Otrygg sent på kvällen", "Orolig för brottsligheten", "Problem nedskräpning", "Problem narkotikaförsäljning",
         "Förtroende för polisen"]


def _municipalities(n: int) -> list[str]:
    codes = [r["municipality_code"] for r in read_reference("municipalities")]
    return codes[:n]


def _weights(codes: list[str], rng) -> np.ndarray:
    w = rng.lognormal(0, 1.0, len(codes))  # a few large municipalities, many small ones
    return w / w.sum()


def _crime_code_weights(rng) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([r["crime_code"] for r in read_reference("crime_codes")])
    rng.shuffle(codes)
    w = 1.0 / np.arange(1, len(codes) + 1) ** 1.1  # a few codes make up most reports, as in real statistics
    return codes, w / w.sum()


def _write(path: Path, frame: pd.DataFrame, sep: str = ";") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, sep=sep, index=False, quoting=csv.QUOTE_MINIMAL)


def _crime_frame(rng, munis: np.ndarray, year: int, quarter_range: tuple[int, int], rows: int, first_id: int,
                 codes, code_w) -> pd.DataFrame:
    start = pd.Timestamp(year, 3 * quarter_range[0] - 2, 1)
    end = pd.Timestamp(year, 3 * quarter_range[1] - 2, 1) + pd.offsets.QuarterEnd(0)
    span = (end - start).days + 1
    reg = start + pd.to_timedelta(rng.integers(0, span, rows), unit="D")
    lag = pd.to_timedelta(rng.geometric(0.45, rows) - 1, unit="D")
    area = pd.Series(rng.integers(1, 6, rows)).astype(str)
    return pd.DataFrame({
        "Diarienummer": [f"5000-K{first_id + i:09d}" for i in range(rows)],
        "Brottsnummer": 1,
        "Brottskod": codes[rng.choice(len(codes), rows, p=code_w)],
        "Inskrivningsdatum": reg.strftime("%Y-%m-%d"),
        "Brottsdatum från": (reg - lag).strftime("%Y-%m-%d"),
        "Kommunkod": munis,
        "Områdeskod": np.where(rng.random(rows) < 0.05, "", pd.Series(munis) + "-0" + area),
        "Antal brott": 1,
    })


def _est_frame(rng, munis: np.ndarray, year: int, quarter_range: tuple[int, int], rows: int, first_id: int,
               cats: list[tuple[str, str]]) -> pd.DataFrame:
    start = pd.Timestamp(year, 3 * quarter_range[0] - 2, 1)
    end = pd.Timestamp(year, 3 * quarter_range[1] - 2, 1) + pd.offsets.QuarterEnd(0)
    minutes = int(((end - start).days + 1) * 24 * 60)
    ts = start + pd.to_timedelta(rng.integers(0, minutes, rows), unit="m")
    place = rng.integers(1, 21, rows)
    ci = rng.integers(0, len(cats), rows)
    base_lat = 55.5 + (pd.Series(munis).str[:2].astype(int).to_numpy() % 25) * 0.5
    return pd.DataFrame({
        "Händelse-id": [f"EST-{first_id + i:09d}" for i in range(rows)],
        "Tidpunkt": ts.strftime("%Y-%m-%d %H:%M"),
        "Kommunkod": munis,
        "Områdeskod": pd.Series(munis) + "-0" + pd.Series((place % 5) + 1).astype(str),
        "Plats": "Plats " + pd.Series(place).astype(str),
        "Latitud": np.round(base_lat + place * 0.01 + rng.normal(0, 0.001, rows), 5),
        "Longitud": np.round(15.0 + place * 0.01 + rng.normal(0, 0.001, rows), 5),
        "Kategori": [cats[i][0] for i in ci],
        "Underkategori": [cats[i][1] for i in ci],
        "Rapportör": "Kommunen",
        "Beskrivning": "Rapport från EST-rundan",
        "Status": "Avslutad",
    })


def _survey_frame(rng, munis: np.ndarray, year: int, rows: int, first_id: int) -> pd.DataFrame:
    frame = pd.DataFrame({
        "Löpnummer": [f"R{first_id + i:08d}" for i in range(rows)],
        "År": year,
        "Kommunkod": munis,
        "Områdeskod": pd.Series(munis) + "-0" + pd.Series(rng.integers(1, 6, rows)).astype(str),
        "Kön": np.where(rng.random(rows) < 0.52, "Kvinna", "Man"),
        "Åldersgrupp": np.array(["16-29", "30-49", "50-64", "65-84"])[rng.integers(0, 4, rows)],
        "Vikt": np.round(rng.uniform(0.5, 2.0, rows), 4),
    })
    for k, item in enumerate(ITEMS):
        p = 0.15 + 0.1 * k
        ans = np.where(rng.random(rows) < p, "Ja", "Nej")
        frame[item] = np.where(rng.random(rows) < 0.03, "", ans)
    return frame


def generate(incoming: Path, scale: float, n_municipalities: int, years: int, last_year: int = 2025,
             progress=print) -> dict[str, int]:
    """Write the national inputs; returns rows per feed."""
    rng = np.random.default_rng(20261123)
    codes = _municipalities(n_municipalities)
    weights = _weights(codes, rng)
    crime_codes, code_w = _crime_code_weights(rng)
    cats = [(r["category"], r["subcategory"]) for r in read_reference("est_categories")]
    groups = [codes[i:i + GROUP] for i in range(0, len(codes), GROUP)]
    first_year = last_year - years + 1
    totals = {feed: max(1, int(n * scale)) for feed, n in FULL_SCALE.items()}
    ids = {feed: 0 for feed in totals}
    written = {feed: 0 for feed in totals}
    t0 = time.perf_counter()
    for year in range(first_year, last_year + 1):
        for gi, group in enumerate(groups):
            gw = np.array([weights[codes.index(c)] for c in group])
            for feed, total in totals.items():
                rows = int(round(total * gw.sum() / years))
                if rows == 0:
                    continue
                munis = np.array(group)[rng.choice(len(group), rows, p=gw / gw.sum())]
                if feed == "crime_reports":
                    frame = _crime_frame(rng, munis, year, (1, 4), rows, ids[feed], crime_codes, code_w)
                    name = f"brott_{year}_grupp{gi + 1:02d}.csv"
                elif feed == "est_events":
                    frame = _est_frame(rng, munis, year, (1, 4), rows, ids[feed], cats)
                    name = f"est_{year}_grupp{gi + 1:02d}.csv"
                else:
                    frame = _survey_frame(rng, munis, year, rows, ids[feed])
                    name = f"trygghet_{year}_grupp{gi + 1:02d}.csv"
                _write(incoming / feed / name, frame)
                ids[feed] += rows
                written[feed] += rows
        progress(f"  genererat {year}: {sum(written.values()):,} rader ({time.perf_counter() - t0:.0f} s)")
    # population (31 December) per municipality and year, total and 0-17
    pop_rows = []
    for c, w in zip(codes, weights):
        size = int(5000 + w * 8_000_000)
        for year in range(first_year - 1, last_year + 1):
            kids = int(size * 0.21)
            pop_rows += [[c, "", year, "0-17 år", kids, "Ja"], [c, "", year, "18-64 år", int(size * 0.58), "Ja"],
                         [c, "", year, "65+ år", size - kids - int(size * 0.58), "Ja"]]
    _write(incoming / "population" / "folkmangd.tsv",
           pd.DataFrame(pop_rows, columns=["Kommunkod", "Områdeskod", "År", "Ålder", "Folkmängd", "Slutlig"]), sep="\t")
    return written


def write_increment(incoming: Path, code: str, year: int, quarter: int, rows: int) -> list[Path]:
    """One new quarter's export for one municipality (crime reports and EST events)."""
    rng = np.random.default_rng(year * 10 + quarter)
    crime_codes, code_w = _crime_code_weights(np.random.default_rng(20261123))
    cats = [(r["category"], r["subcategory"]) for r in read_reference("est_categories")]
    munis = np.full(rows, code)
    first_id = 900_000_000 + (year * 4 + quarter) * 1_000_000  # ids of another quarter's increment never collide
    crime = _crime_frame(rng, munis, year, (quarter, quarter), rows, first_id, crime_codes, code_w)
    est = _est_frame(rng, np.full(max(1, rows // 5), code), year, (quarter, quarter), max(1, rows // 5), first_id, cats)
    paths = [incoming / "crime_reports" / f"brott_{code}_{year}_Q{quarter}.csv",
             incoming / "est_events" / f"est_{code}_{year}_Q{quarter}.csv"]
    _write(paths[0], crime)
    _write(paths[1], est)
    return paths


class Measured(NamedTuple):
    wall: float      # seconds
    rss: float       # MB: the largest single process's peak RSS (wait4 on the child: itself or a reaped child)
    rc: int
    out: str
    tree: float      # MB: the peak of the process tree's summed PSS (the child and its workers at once)


def tree_pss_mb(root: int) -> float | None:
    """The summed proportional set size of ``root`` and every process below it, in MB (None without /proc)."""
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                    todo += [int(x) for x in fh.read().split()]
        except (OSError, ValueError):  # gone meanwhile
            if pid == root and not os.path.exists("/proc/self/smaps_rollup"):
                return None
    return total / 1024


def run_measured(cmd: list[str], env: dict | None = None) -> Measured:
    """Run ``cmd`` and measure it (see the module's docstring)."""
    import threading

    t0 = time.perf_counter()
    peak = [0.0]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                cwd=PROJECT_ROOT)
        done = threading.Event()

        def sample():
            while not done.wait(0.2):
                now = tree_pss_mb(proc.pid)
                if now is None:
                    return
                peak[0] = max(peak[0], now)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Measured(wall, usage.ru_maxrss / 1024, proc.returncode, text, peak[0])


def _recipe(makefile: Path, target: str) -> list[list[str]]:
    """The command lines of a Makefile target's recipe, as words (up to the first line that is not a recipe line)."""
    import shlex

    lines, inside = [], False
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{target}:"):
            inside = True
            continue
        if inside:
            if not line.startswith("\t"):
                break
            lines.append(shlex.split(line.strip()))
    return lines


def demo_commands(makefile: Path = PROJECT_ROOT / "Makefile") -> list[list[str]]:
    """The ``lagesbild`` commands of the Makefile's ``demo`` recipe, as arguments (so the benchmark times exactly
    what ``make demo`` runs, without a copy of it here)."""
    commands = [words[1:] for words in _recipe(makefile, "demo") if words and words[0].endswith("/lagesbild")]
    if not commands:
        raise ValueError(f"{makefile}: no lagesbild command in the demo recipe")
    return commands


def pytest_arguments(makefile: Path = PROJECT_ROOT / "Makefile") -> list[str]:
    """The arguments the Makefile's ``test`` recipe gives pytest (``python -m pytest ARGS``)."""
    for words in _recipe(makefile, "test"):
        if words[1:3] == ["-m", "pytest"]:
            return words[3:]
    raise ValueError(f"{makefile}: no `python -m pytest` in the test recipe")


def bench_demo(workdir: Path) -> tuple[float, list[tuple[str, float]]]:
    """Wall seconds of ``make demo``'s commands in a fresh home under ``workdir`` (the install step excluded:
    it is a no-op once installed), in all and per command."""
    home = workdir / "demo-home"
    shutil.rmtree(home, ignore_errors=True)
    spent = []
    for args in demo_commands():
        wall, _, rc, out, _ = run_measured([sys.executable, "-m", "pipelines.cli", "--home", str(home), *args])
        if rc != 0:
            print(out[-4000:], file=sys.stderr)
            raise RuntimeError(f"make demo: `lagesbild {' '.join(args)}` failed (exit {rc})")
        spent.append((" ".join(args[:1]), wall))
    shutil.rmtree(home, ignore_errors=True)
    return sum(w for _, w in spent), spent


def demo_line(wall: float, steps: list[tuple[str, float]]) -> str:
    """The benchmark's line for ``make demo`` (``lagesbild bench`` and ``lagesbild bench demo`` print the same)."""
    return (f"make demo (its commands in a fresh home): {wall:.1f} s wall ("
            + ", ".join(f"{name} {w:.1f} s" for name, w in steps) + ") (target <= 15 s)")


def bench_tests() -> tuple[float, str]:
    """Wall seconds of the test suite as ``make test`` runs it (pytest from the project root with the recipe's
    arguments), and its last line."""
    wall, _, rc, out, _ = run_measured([sys.executable, "-m", "pytest", *pytest_arguments(), "-q", "-p", "no:cacheprovider"])
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return wall, last + ("" if rc == 0 else f" (exit {rc})")


def floor_sql(incoming: Path) -> str:
    return FLOOR_SQL.read_text(encoding="utf-8").replace("{incoming}", str(incoming)).replace(
        "{reference}", str(PROJECT_ROOT / "data" / "reference"))


def run_floor(incoming: Path, workdir: Path) -> tuple[float, float, int, str, Path]:
    db = workdir / "floor.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        if p.exists():
            p.unlink()
    script = workdir / "floor.sql"
    script.write_text(floor_sql(incoming), encoding="utf-8")
    code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "con.execute(open(sys.argv[2], encoding='utf-8').read()); con.close()")
    wall, rss, rc, out, _ = run_measured([sys.executable, "-c", code, str(db), str(script)])
    return wall, rss, rc, out, db


def compare(product: Path, floor: Path) -> list[str]:
    """Totals per mart in the product's snapshot and the floor's database; returns the differences."""
    import duckdb

    queries = {
        "crime_by_quarter": "SELECT count(*), sum(crimes) FROM marts.crime_by_quarter",
        "int_crime_by_code_quarter": "SELECT count(*), sum(crimes) FROM intermediate.int_crime_by_code_quarter",
        "est_by_quarter": "SELECT count(*), sum(events) FROM marts.est_by_quarter",
        "est_places": "SELECT count(*), sum(events) FROM marts.est_places",
        "est_weekday_hour": "SELECT count(*), sum(events) FROM marts.est_weekday_hour",
        "survey_by_year": "SELECT count(*), sum(n) FROM marts.survey_by_year",
    }
    a = duckdb.connect(str(product), read_only=True)
    b = duckdb.connect(str(floor), read_only=True)
    diffs = []
    try:
        for name, q in queries.items():
            x, y = a.execute(q).fetchall()[0], b.execute(q).fetchall()[0]
            if tuple(x) != tuple(y):
                diffs.append(f"{name}: product {x} vs floor {y}")
    finally:
        a.close()
        b.close()
    return diffs


def bench_refresh(scale: float, municipalities: int, years: int, workdir: Path | None = None,
                  keep: bool = False, skip_floor: bool = False, with_tests: bool = False,
                  skip_demo: bool = False, page_runs: int = 3) -> int:
    own = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="lagesbild-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    if home.exists():
        shutil.rmtree(home)
    cli = [sys.executable, "-m", "pipelines.cli", "--home", str(home)]
    try:
        print(f"bench: scale {scale}, {municipalities} municipalities, {years} years; work folder {workdir}")
        t0 = time.perf_counter()
        inputs = workdir / "inputs"
        if inputs.exists():
            shutil.rmtree(inputs)
        counts = generate(inputs, scale, municipalities, years)
        size = sum(p.stat().st_size for p in inputs.rglob("*") if p.is_file())
        print(f"inputs: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
              + f" rows; {size / 1e9:.2f} GB on disk; generated in {time.perf_counter() - t0:.0f} s")
        shutil.copytree(inputs, home / "incoming")

        full_wall, full_rss, rc, out, full_tree = run_measured(cli + ["refresh", "--timings"])
        print(out.strip().splitlines()[-1] if out.strip() else "")
        if rc != 0:
            print(out[-4000:], file=sys.stderr)
            print(f"full refresh failed (exit {rc})", file=sys.stderr)
            return 1
        phases = [ln for ln in out.splitlines() if ln.startswith("tid ")]
        print(f"full refresh: {full_wall:,.1f} s wall, peak RSS {full_rss:,.0f} MB (largest process), "
              f"process tree at most {full_tree:,.0f} MB (summed PSS, workers included)")
        for ln in phases:
            print("   " + ln)

        ratio = None
        if not skip_floor:
            floor_wall, floor_rss, rc, out, _ = run_floor(inputs, workdir)
            if rc != 0:
                print(out[-4000:], file=sys.stderr)
                return 1
            ratio = full_wall / floor_wall
            print(f"floor (plain DuckDB SQL, same files, same partitioned marts): {floor_wall:,.1f} s wall, "
                  f"peak RSS {floor_rss:,.0f} MB")
            diffs = compare(home / "warehouse.duckdb", workdir / "floor.duckdb")
            print("marts agree with the floor: " + ("yes" if not diffs else "NO\n  " + "\n  ".join(diffs)))
            print(f"ratio full refresh / floor: {ratio:.2f} (target <= 1.5)")

        code = _municipalities(municipalities)[min(3, municipalities - 1)]
        rows = max(10, int(FULL_SCALE["crime_reports"] * scale / municipalities / (years * 4)))
        new = write_increment(home / "incoming", code, 2026, 1, rows)
        inc_wall, inc_rss, rc, out, inc_tree = run_measured(cli + ["refresh", "--timings"])
        if rc != 0:
            print(out[-4000:], file=sys.stderr)
            return 1
        rebuilt = [ln for ln in out.splitlines() if "partitioner" in ln]
        print(f"incremental refresh (municipality {code}, 2026-Q1, {rows:,} crime rows + {rows // 5:,} EST events in "
              f"{len(new)} new files): {inc_wall:,.1f} s wall, peak RSS {inc_rss:,.0f} MB, process tree "
              f"{inc_tree:,.0f} MB (target <= 5 s)")
        for ln in rebuilt[:3]:
            print("   " + ln.strip())
        for ln in [ln for ln in out.splitlines() if ln.startswith("tid ")]:
            print("   " + ln)
        # the largest municipality page of this run, in headless Chromium (target: every figure drawn <= 1 s)
        pages = sorted((home / "site").glob("lagesbild-*.html"), key=lambda p: -p.stat().st_size)
        drawn: dict = {}
        if pages:
            from pipelines.bench import bench_pages

            bench_pages(home / "site", runs=page_runs, only=[pages[0].name], results=drawn)
        figures, first, every = next(iter(drawn.values()), (0, float("nan"), float("nan")))
        demo = "not run (--no-demo)"
        if not skip_demo:
            demo_wall, demo_steps = bench_demo(workdir)
            demo = f"{demo_wall:.1f} s"
            print(demo_line(demo_wall, demo_steps))
        tests = "not run (--with-tests)"
        if with_tests:
            tests_wall, tests_line = bench_tests()
            tests = f"{tests_wall:.0f} s"
            print(f"make test (pytest {' '.join(pytest_arguments())}): {tests_wall:.0f} s wall: {tests_line} (target <= 240 s)")
        print("summary (targets in brackets): "
              f"full {full_wall:.1f} s | floor {'-' if ratio is None else f'{full_wall / ratio:.1f} s'} | "
              f"ratio {'-' if ratio is None else f'{ratio:.2f}'} [<= 1.5] | "
              f"peak memory {max(full_rss, full_tree):,.0f} MB (largest process {full_rss:,.0f}, process tree "
              f"{full_tree:,.0f}) [<= 2000] | incremental {inc_wall:.1f} s [<= 5] | "
              f"{figures}-figure page: first screen {first:,.0f} ms, all drawn {every:,.0f} ms [<= 1000] | "
              f"make demo {demo} [<= 15] | make test {tests} [<= 240]")
        return 0
    finally:
        if own and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
