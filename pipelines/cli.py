"""The ``lagesbild`` command line. Messages are in Swedish (for coordinators); code and help text in English.

Verbs (stable; other tools rely on them): sample, ingest, files, quarantine, refresh, publish.
Exit codes: 0 ok; 1 the refresh failed (a blocking check or a step); 2 a file was rejected or an argument is wrong;
3 the warehouse is busy (another refresh is writing).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import warnings
from pathlib import Path

from pipelines import startup
from pipelines.home import ENV_VAR, Home
from pipelines.jobs import run_job, run_job_locked
from pipelines.warehouse import Busy, connect, read_connection, read_published, writer_lock
from pipelines.cli_plan import cmd_draft, cmd_plan_show, cmd_plan_validate

log = logging.getLogger("lagesbild")


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is when a message is logged (``main`` may be called again in one process,
    e.g. by the tests, with standard output redirected in between); with ``--json`` messages go to standard error,
    so standard output is the JSON document alone."""

    to_stderr = False

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr if self.to_stderr else sys.stdout
        super().emit(record)


def _setup_logging() -> None:
    if not log.handlers:
        h = _StdoutHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(h)
    log.setLevel(logging.INFO)
    log.propagate = False


def _json_default(v):
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _print_json(records) -> None:
    print(json.dumps(records, ensure_ascii=False, indent=2, default=_json_default))


def _frame_records(df) -> list[dict]:
    return [{k: (None if (v is not None and v != v) else v) for k, v in r.items()} for r in df.to_dict("records")]


def cmd_sample(args, home: Home) -> int:
    from sources.sample import LAST_DAY, generate, write_analysis

    home.ensure()
    t0 = time.perf_counter()
    from sources.sample import MUNICIPALITIES
    from sources.taxonomy import read_reference

    codes = tuple(c.strip().zfill(4) for c in (args.municipalities or ",".join(MUNICIPALITIES)).split(",") if c.strip())
    unknown = [c for c in codes if c not in MUNICIPALITIES]
    if unknown or not codes:
        print(f"Exempeldata finns för {', '.join(MUNICIPALITIES)}, inte för {', '.join(unknown) or 'ingen kommun'}.",
              file=sys.stderr)
        return 2
    files = generate(home.incoming, first_year=args.first_year, last=LAST_DAY, scale=args.scale, municipalities=codes)
    if "0486" in codes:
        write_analysis(home.analysis)
    n = sum(len(v) for v in files.values())
    for feed, paths in files.items():
        log.info("  %-18s %d fil(er)", feed, len(paths))
    names = {r["municipality_code"]: r["municipality_name"] for r in read_reference("municipalities")}
    log.info("Skrev %d exempelfiler för %s till %s (%.1f s).", n, ", ".join(names.get(c, c) for c in codes),
             home.incoming, time.perf_counter() - t0)
    return 0


def cmd_ingest(args, home: Home) -> int:
    from sources.contract import all_feeds
    from sources.ingest import ingest_paths

    if args.feed and args.feed not in all_feeds():
        print(f"Okänt flöde \"{args.feed}\". Välj ett av: {', '.join(all_feeds())}.", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"Hittar inte: {', '.join(missing)}. Kontrollera sökvägen.", file=sys.stderr)
        return 2
    try:
        with writer_lock(home, wait=args.wait):
            con = connect(home)
            try:
                results = ingest_paths(con, [Path(p) for p in args.paths], feed=args.feed, profile=args.profile,
                                       progress=None if args.json else log.info)
            finally:
                con.close()
    except Busy as exc:
        print(str(exc), file=sys.stderr)
        return 3
    if args.json:
        _print_json([r.to_dict() for r in results])
    else:
        loaded = sum(r.status == "loaded" for r in results)
        rejected = sum(r.status == "rejected" for r in results)
        same = sum(r.status == "already_loaded" for r in results)
        log.info("Klart: %d inlästa, %d redan inlästa, %d avvisade. Kör `lagesbild refresh` för att uppdatera sidorna.",
                 loaded, same, rejected)
    return 2 if any(r.status == "rejected" for r in results) else 0


def cmd_files(args, home: Home) -> int:
    from sources.ingest import STATUS_LABELS
    from sources.meta import manifest

    con = read_connection(home)
    try:
        df = manifest(con)
    finally:
        con.close()
    if args.json:
        _print_json(_frame_records(df))
        return 0
    if df.empty:
        log.info("Inga filer har lästs in ännu.")
        return 0
    for r in df.itertuples():
        log.info("%-14s %-16s %-40s läst %6d  inläst %6d  karantän %5d  %s", STATUS_LABELS.get(r.status, r.status),
                 r.feed or "-", r.file_name[:40], r.rows_read, r.rows_loaded, r.rows_quarantined, r.message or "")
    return 0


def cmd_quarantine(args, home: Home) -> int:
    from sources.meta import quarantine

    con = read_connection(home)
    try:
        df = quarantine(con, args.feed)
    finally:
        con.close()
    if args.csv:
        from dashboards.excel import write_csv

        write_csv(df, args.csv)  # text that looks like a formula is written inert
        log.info("Skrev %d karantänrader till %s.", len(df), args.csv)
        return 0
    if args.json:
        _print_json(_frame_records(df))
        return 0
    if df.empty:
        log.info("Karantänen är tom.")
    for r in df.itertuples():
        log.info("%s rad %d, kolumn %s: \"%s\" – %s", r.file_name, r.row_number, r.column_name, r.raw_value, r.reason)
    return 0


def cmd_refresh(args, home: Home) -> int:
    from pipelines.tags import FULL_TAG

    log.info("Uppdaterar lägesbilden (hem: %s)%s…", home.root or "projektets data/ och build/",
             ", allt byggs om" if args.full else "")
    return run_job(home, "refresh", wait=args.wait, tags={FULL_TAG: "true"} if args.full else None,
                    timings=args.timings)


def cmd_backfill(args, home: Home) -> int:
    """Rebuild municipality × quarter partitions over a range: one Dagster run per municipality (a contiguous key
    range, built in one go), then one refresh for what is built on them."""
    from pipelines.tags import PAGES_TAG
    from pipelines.partitions import Deployment, PartitionError, backfill_ranges

    try:
        deployment = Deployment.load(home)
        ranges = backfill_ranges(deployment, args.municipality, args.first, args.last)
    except PartitionError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not home.snapshot.exists():  # partitions are rebuilt from staging views a first refresh creates
        print("Lagret är inte uppbyggt ännu. Kör `lagesbild refresh` först.", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        with writer_lock(home, wait=args.wait):
            for i, (start, end) in enumerate(ranges, 1):
                log.info("[%d/%d] Kommun %s, %s–%s", i, len(ranges), start.keys_by_dimension["municipality"], args.first, args.last)
                rc = run_job_locked(home, "partitions", tags={"dagster/asset_partition_range_start": start,
                                                               "dagster/asset_partition_range_end": end},
                                     quiet_success=True)
                if rc:
                    return rc
            log.info("Partitionerna är ombyggda (%.1f s). Uppdaterar det som bygger på dem…", time.perf_counter() - t0)
            codes = sorted({start.keys_by_dimension["municipality"] for start, _ in ranges})
            return run_job_locked(home, "refresh", tags={PAGES_TAG: ",".join(codes)})
    except Busy as exc:
        print(str(exc), file=sys.stderr)
        return 3


def cmd_publish(args, home: Home) -> int:
    if not args.meeting:
        log.info("Publicerar sidorna från lagret…")
        return run_job(home, "publish")
    with startup.paused():  # until the published state is read (pipelines/startup.py)
        return _publish_meeting(args, home)


def _publish_meeting(args, home: Home) -> int:
    from dashboards.disclosure import DisclosureError
    from dashboards.packs import PackError, build_pack
    from sources.policy import load_policy
    from dashboards.site import build_site
    from dashboards.data import WarehouseNotReady

    from pipelines.publication import read_manifest

    from pipelines.publication import clean_unfinished_packs

    policy = load_policy()
    t0 = time.perf_counter()
    try:
        # everything is read *after* taking the lock: a refresh that was running has published its snapshot by
        # then, so the pack, the index and the quality page all show the same, newest state
        with writer_lock(home, wait=True):  # a refresh carries the published pages (and packs) forward
            clean_unfinished_packs(home.site)
            try:
                data = read_published(home)  # the published state
            except WarehouseNotReady as exc:
                print(str(exc), file=sys.stderr)
                return 2
            startup.collect_from_here()
            code = (args.municipality or (next(iter(data.municipalities)) if len(data.municipalities) == 1
                                          else "")).zfill(4)
            if not args.municipality and len(data.municipalities) > 1:
                print(f"Ange kommun med --municipality (finns: {', '.join(data.municipalities)}).", file=sys.stderr)
                return 2
            folder = build_pack(data, args.meeting, code, args.period, home.site, policy,
                                analysis_dir=home.analysis, pdf=not args.no_pdf)
            kept = {k: v for k, v in read_manifest(home.site).items() if k in ("run_id", "pending_upto", "fingerprint")}
            build_site(data, home.site, policy, only=set(), manifest=kept)  # the index lists the new pack
    except (PackError, DisclosureError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    meta = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    log.info("Mötespaket klart på %.1f s: %s", time.perf_counter() - t0, folder / "index.html")
    if meta.get("pdf"):
        log.info("PDF: %s", folder / meta["pdf"])
    elif meta.get("pdf_problem"):
        log.info("%s", meta["pdf_problem"])
    return 0


def cmd_serve(args, home: Home) -> int:
    from pipelines.serve import make_server

    if not (home.site / "index.html").exists():
        print("Det finns inga publicerade sidor. Kör `lagesbild refresh` först.", file=sys.stderr)
        return 2
    with make_server(home.site, args.address, args.port) as server:
        log.info("Visar %s på http://%s:%d/ (avsluta med Ctrl+C)", home.site, args.address, server.server_address[1])
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_bench(args, home: Home) -> int:
    from pipelines.bench import bench_ingest, bench_pages

    if args.what == "refresh":
        from pipelines.bench_national import bench_refresh

        return bench_refresh(args.scale, args.municipalities, args.years, workdir=args.dir, keep=args.keep,
                             skip_floor=args.no_floor, with_tests=args.with_tests,
                             skip_demo=args.no_demo, page_runs=args.runs)
    if args.what == "demo":
        import tempfile

        from pipelines.bench_national import bench_demo, demo_line

        with tempfile.TemporaryDirectory(prefix="lagesbild-demo-") as tmp:
            print(demo_line(*bench_demo(Path(tmp))))
        return 0
    if args.what == "ingest":
        return bench_ingest(args.rows)
    if args.what == "pages":
        return bench_pages(home.site, runs=args.runs)
    if args.what == "poison":
        from pipelines.bench_poison import bench_poison

        return bench_poison()
    return 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lagesbild",
        description="Lägesbild: the joint local situational picture of crime and safety (municipality + police).")
    p.add_argument("--home", default=None,
                   help=f"folder for the warehouse, incoming/ and site/ (default: ${ENV_VAR} or the project's data/ and build/)")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    s = sub.add_parser("sample", help="write deterministic sample exports for every feed into <home>/incoming/<feed>/")
    s.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 = a municipality of ~39 000)")
    s.add_argument("--first-year", type=int, default=2021, help="first year of data (last period is 2026-09)")
    s.add_argument("--municipalities", default=None,
                   help="comma-separated codes (default: 0486,0484,0181: Strängnäs with every feed, Eskilstuna and "
                        "Södertälje with areas, population and crime reports)")
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("ingest", help="load files or folders into the warehouse (manifest, quarantine, revisions)")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--feed", help="feed of the files (default: the folder name or recognised from the header)")
    s.add_argument("--profile", help="profile to read the files with (default: recognised from the header)")
    s.add_argument("--json", action="store_true", help="print the result per file as JSON")
    s.add_argument("--wait", action="store_true", help="wait for a running refresh instead of stopping")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("files", help="the file manifest: every file seen, its status and row counts")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_files)

    s = sub.add_parser("quarantine", help="rows that were not loaded, with file, row, column, value and reason")
    s.add_argument("--json", action="store_true")
    s.add_argument("--feed", help="only this feed")
    s.add_argument("--csv", metavar="FILE", help="export to a CSV file (semicolon, UTF-8 with BOM: opens in Excel)")
    s.set_defaults(func=cmd_quarantine)

    s = sub.add_parser("refresh", help="read new files, rebuild the models, run quality checks, publish the site")
    s.add_argument("--wait", action="store_true", help="wait for a running refresh instead of stopping")
    s.add_argument("--full", action="store_true",
                   help="rebuild every partition and page (default: only what new files changed)")
    s.add_argument("--timings", action="store_true", help="print where the time went (per phase)")
    s.set_defaults(func=cmd_refresh)

    s = sub.add_parser("backfill", help="rebuild municipality × quarter partitions over a range of quarters")
    s.add_argument("--from", dest="first", required=True, help="first quarter, e.g. 2024-Q1")
    s.add_argument("--to", dest="last", required=True, help="last quarter, e.g. 2026-Q3")
    s.add_argument("--municipality", action="append",
                   help="municipality code (repeatable); default: every municipality of the deployment")
    s.add_argument("--wait", action="store_true", help="wait for a running refresh instead of stopping")
    s.set_defaults(func=cmd_backfill)

    s = sub.add_parser("publish", help="rebuild the published pages, or write a dated meeting pack (--meeting)")
    s.add_argument("--meeting", choices=["bra", "council", "quality", "public"],
                   help="write an immutable meeting pack (HTML, Excel, PDF) for this meeting")
    s.add_argument("--period", default=None, help="the pack's period, e.g. 2026-Q3")
    s.add_argument("--municipality", help="municipality code (needed when the warehouse holds several)")
    s.add_argument("--no-pdf", action="store_true", help="skip printing the PDF")
    s.set_defaults(func=cmd_publish)

    s = sub.add_parser("draft", help="write the coordinator's analysis draft (Markdown) for a period from the "
                                     "warehouse; never overwrites an analysis without --force")
    s.add_argument("--period", required=True, help="the period, e.g. 2026-Q3")
    s.add_argument("--municipality", help="municipality code (default: every municipality with an agreement)")
    s.add_argument("--force", action="store_true", help="overwrite an existing analysis")
    s.set_defaults(func=cmd_draft)

    s = sub.add_parser("serve", help="serve the published site for preview (loopback only by default)")
    s.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=cmd_serve)
    plan = sub.add_parser("plan", help="agreements, citizen promises and indicator mappings (data/agreements/)")
    plan_sub = plan.add_subparsers(dest="plan_verb", required=True, metavar="PLAN_VERB")
    s = plan_sub.add_parser("validate", help="check agreement, promise or indicator files; errors name file, line, field")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.set_defaults(func=cmd_plan_validate)
    s = plan_sub.add_parser("show", help="show the agreements: priority areas, sub-goals, indicators, activities, follow-up")
    s.add_argument("--municipality", help="municipality code, e.g. 0486")
    s.add_argument("--folder", help="folder of agreement files (default: data/agreements)")
    s.set_defaults(func=cmd_plan_show)

    s = sub.add_parser("bench", help="benchmarks that print figures (not tests)")
    s.add_argument("what", choices=["refresh", "ingest", "pages", "poison", "demo"], nargs="?", default="refresh",
                   help="refresh (default): national-scale full refresh vs a plain DuckDB floor, then an incremental "
                        "refresh, the page, make demo's commands (and with --with-tests the test suite); ingest: N "
                        "generated crime rows from one CSV; pages: time until every figure is drawn; poison: peak "
                        "memory of ingesting hostile files (target ≤ 1 GB each); demo: make demo's commands in a "
                        "fresh home")
    s.add_argument("--rows", type=int, default=1_000_000, help="ingest: rows to load")
    s.add_argument("--scale", type=float, default=1.0,
                   help="refresh: share of national volume (1 = 15 M crime rows, 3 M EST events, 1 M survey answers)")
    s.add_argument("--municipalities", type=int, default=290, help="refresh: number of municipalities")
    s.add_argument("--years", type=int, default=10, help="refresh: years of data (ending 2025)")
    s.add_argument("--dir", type=Path, help="refresh: work folder (default: a temporary folder, removed afterwards)")
    s.add_argument("--keep", action="store_true", help="refresh: keep the temporary work folder")
    s.add_argument("--no-floor", action="store_true", help="refresh: skip the plain DuckDB floor")
    s.add_argument("--no-demo", action="store_true", help="refresh: skip timing make demo's commands")
    s.add_argument("--runs", type=int, default=3,
                   help="pages and refresh: loads of each page in the browser (the median is printed)")
    s.add_argument("--with-tests", action="store_true",
                   help="refresh: also time the test suite as make test runs it (2–5 minutes on 2 cores)")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    if hasattr(signal, "SIGPIPE") and argv is None:  # `lagesbild plan show | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    _setup_logging()
    args = build_parser().parse_args(argv)
    _StdoutHandler.to_stderr = bool(getattr(args, "json", False))
    home = Home.resolve(args.home)
    try:
        return args.func(args, home)
    except Exception as exc:  # last line of defence: a message for the coordinator, not a traceback
        import duckdb

        if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
            print("Lagret används just nu av en annan uppdatering. Vänta tills den är klar och försök igen.",
                  file=sys.stderr)
            return 3
        if os.environ.get("LAGESBILD_DEBUG"):
            raise
        print(f"Ett oväntat fel inträffade: {exc}\nKör igen med LAGESBILD_DEBUG=1 för detaljer.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
