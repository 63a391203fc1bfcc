"""Running a Dagster job from the command line: under the writer lock, only the assets new files affect, with
messages a coordinator can read (the failing step's own error, not a traceback) and phase timings."""
from __future__ import annotations

import logging
import sys
import time

from pipelines.home import PROJECT_ROOT, Home
from pipelines.warehouse import Busy, connect, writer_lock

log = logging.getLogger("lagesbild")


def run_job(home: Home, job_name: str, wait: bool = False, tags: dict | None = None, timings: bool = False) -> int:
    try:
        with writer_lock(home, wait=wait):
            return run_job_locked(home, job_name, tags, timings=timings)
    except Busy as exc:
        print(str(exc), file=sys.stderr)
        return 3


def phase_timings(instance, run_id: str, total: float) -> list[tuple[str, float]]:
    """Seconds per phase of a run from Dagster's event log (step start to step end)."""
    starts, spent = {}, {}
    for rec in instance.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            starts[ev.step_key] = rec.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in starts:
            key = ev.step_key
            phase = ("kvalitetskontroller" if key.endswith(("_blocking", "_warnings")) else
                     "inläsning (raw)" if key.startswith("raw__") else
                     "sidor" if key == "published__site" else
                     "publicering (ögonblicksbild)" if key == "published__snapshot" else
                     "modeller" if key.startswith(("staging__", "intermediate__", "marts__")) else "referens/planer")
            spent[phase] = spent.get(phase, 0.0) + rec.timestamp - starts[key]
    out = sorted(spent.items(), key=lambda kv: -kv[1])
    out.append(("Dagster och uppstart", max(0.0, total - sum(spent.values()))))
    return out


def dagster_instance(home: Home):
    """The home's persistent Dagster instance (created with the project's settings on first use)."""
    import shutil

    import dagster as dg

    home.dagster.mkdir(parents=True, exist_ok=True)
    config = home.dagster / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PROJECT_ROOT / "pipelines" / "dagster.yaml", config)
    return dg.DagsterInstance.from_config(str(home.dagster))


def run_job_locked(home: Home, job_name: str, tags: dict | None = None, quiet_success: bool = False,
                    timings: bool = False) -> int:
    import dagster as dg

    from pipelines.changes import remember_code
    from pipelines.definitions import build_definitions

    home.ensure()
    t0 = time.perf_counter()
    changed = None
    if job_name == "refresh" and not tags and home.warehouse.exists():  # tagged runs (--full, backfill) run all
        changed = changed_feeds_of(home)
    defs = build_definitions(home, changed_feeds=changed)
    if changed is not None:
        job_name = "refresh_changed"
        log.info("Nya eller ändrade filer i: %s", ", ".join(changed) or "inga flöden (sidorna uppdateras)")
    job = defs.resolve_job_def(job_name)
    with dagster_instance(home) as instance:  # persistent: the UI shows this run and its check results
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, tags=tags or None,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
        if timings:
            for phase, seconds in phase_timings(instance, result.run_id, time.perf_counter() - t0):
                log.info("tid %-30s %7.1f s", phase, seconds)
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for e in failed_checks:
        if e.severity == dg.AssetCheckSeverity.ERROR:
            log.info("Blockerande kvalitetskontroll %s underkänd: sidorna uppdaterades inte. Se datakvalitetssidan.",
                     e.check_name)
    warnings_ = [e.check_name for e in failed_checks if e.severity != dg.AssetCheckSeverity.ERROR]
    if warnings_:
        log.info("%d kvalitetsvarningar (t.ex. flöden utan filer); se datakvalitetssidan.", len(warnings_))
    if not result.success:
        for ev in result.all_events:
            if ev.is_step_failure:
                err = ev.step_failure_data.error
                log.error("FEL i steget %s: %s", ev.step_key, error_line(err))
        log.error("Uppdateringen avbröts efter %.1f s. Publicerade sidor är oförändrade.", time.perf_counter() - t0)
        return 1
    if job_name in ("refresh", "refresh_changed"):
        con = connect(home)
        try:
            remember_code(con)  # what this complete refresh was built with (pipelines/changes.py)
        finally:
            con.close()
    if not quiet_success:
        log.info("Klart på %.1f s. Öppna %s", time.perf_counter() - t0, home.site / "index.html")
    return 0


def changed_feeds_of(home: Home) -> list[str] | None:
    from pipelines.changes import changed_feeds
    from sources.contract import all_feeds

    con = connect(home)
    try:
        return changed_feeds(con, home, all_feeds())
    finally:
        con.close()


def error_line(err) -> str:
    """The line of a step failure a coordinator can read: the innermost cause's message, not the traceback."""
    while err is not None and err.cause is not None:
        err = err.cause
    if err is None:
        return "okänt fel"
    lines = [ln.strip() for ln in err.message.strip().splitlines() if ln.strip() and set(ln.strip()) - set("^~ ")]
    return lines[-1] if lines else err.message.strip()
