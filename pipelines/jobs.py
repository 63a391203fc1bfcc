"""Running a Dagster job from the command line: under the writer lock, only the assets new files affect, with
messages a coordinator can read (the failing step's own error, not a traceback) and phase timings."""
from __future__ import annotations

import logging
import sys
import time

from pipelines import startup
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
    instance = dg.DagsterInstance.from_config(str(home.dagster))
    reuse_event_log_engines(instance)
    return instance


def reuse_event_log_engines(instance) -> bool:
    """The instance's SQLite event log keeps one engine and one connection per database and thread.

    Dagster's SQLite event log builds a new SQLAlchemy engine and opens a new SQLite connection for every event it
    stores, and drops both after one statement: ≈ 10 ms an event, 337 events in a sample refresh (≈ 4 s of 14).
    This process's storage keeps, per database (the run's and the index), one engine whose pool holds one
    connection per thread (SQLAlchemy's ``SingletonThreadPool``): each event is still its own transaction, written
    under Dagster's own lock, and SQLite's write-ahead log still lets the UI read while a run writes. The
    connections are closed with the instance. Only this process's instance object is changed (``dagster dev``
    and the multiprocess executor's step processes, which start afresh, keep Dagster's behaviour).

    Returns False, changing nothing, when the storage is not Dagster's SQLite event log or its internals are not
    those of the Dagster version this was written for (1.13); a test fails then, so an upgrade notices."""
    from contextlib import contextmanager

    try:
        from sqlalchemy.pool import SingletonThreadPool

        from dagster._core.storage.event_log.sqlite import sqlite_event_log as module
    except ImportError:
        return False
    storage = instance.event_log_storage
    needed = ("_db_lock", "_initialized_dbs", "_initdb", "conn_string_for_shard", "_connect", "dispose")
    if type(storage) is not module.SqliteEventLogStorage or not all(hasattr(storage, n) for n in needed):
        return False
    engines: dict[str, object] = {}

    @contextmanager
    def _connect(shard: str):
        with storage._db_lock:
            engine = engines.get(shard)
            if engine is None:
                engine = engines[shard] = module.create_engine(
                    storage.conn_string_for_shard(shard), poolclass=SingletonThreadPool,
                    connect_args={"timeout": module.SQLITE_BUSY_TIMEOUT_SECONDS})
            if shard not in storage._initialized_dbs:
                storage._initdb(engine)
                storage._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    dispose = storage.dispose

    def _dispose():
        with storage._db_lock:
            for engine in engines.values():
                engine.dispose()
            engines.clear()
        dispose()

    storage._connect = _connect
    storage.dispose = _dispose
    return True


def run_job_locked(home: Home, job_name: str, tags: dict | None = None, quiet_success: bool = False,
                    timings: bool = False) -> int:
    home.ensure()
    t0 = time.perf_counter()
    with startup.paused():  # until the run starts (pipelines/startup.py)
        return _prepare_and_execute(home, job_name, tags, quiet_success, timings, t0)


def _prepare_and_execute(home: Home, job_name: str, tags: dict | None, quiet_success: bool, timings: bool,
                         t0: float) -> int:
    from pipelines import ge_helper as checks_helper
    from pipelines.changes import changed_feeds, is_small, unread_bytes

    changed, helper, keep_cache = None, False, False
    if job_name == "refresh":
        con = connect(home) if home.warehouse.exists() else None
        try:
            # a refresh with few new bytes gets GE ready beside it, started before anything heavy is imported here
            unread = unread_bytes(con, home)
            helper = checks_helper.worth_starting(unread) and checks_helper.start()
            if not tags and con is not None:  # tagged runs (--full, backfill) run all
                from sources.contract import all_feeds

                changed = changed_feeds(con, home, all_feeds())
        finally:
            if con is not None:
                con.close()
        # DuckDB's cache is kept between steps only when a small refresh runs just what its new files affect: a run
        # of everything (a first refresh, changed code) empties it after each step, for its peak memory
        keep_cache = is_small(unread) and changed is not None
    try:
        return _execute(home, job_name, changed, tags, quiet_success, timings, t0, keep_cache)
    finally:
        if helper:
            checks_helper.stop()


def _execute(home: Home, job_name: str, changed: list[str] | None, tags: dict | None, quiet_success: bool,
             timings: bool, t0: float, keep_cache: bool = False) -> int:
    import dagster as dg

    from pipelines.changes import remember_code
    from pipelines.definitions import build_definitions

    defs = build_definitions(home, changed_feeds=changed, keep_cache=keep_cache)
    if changed is not None:
        job_name = "refresh_changed"
        log.info("Nya eller ändrade filer i: %s", ", ".join(changed) or "inga flöden (sidorna uppdateras)")
    job = defs.resolve_job_def(job_name)
    with dagster_instance(home) as instance:  # persistent: the UI shows this run and its check results
        startup.collect_from_here()
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
    """Feeds with new or changed files since the last complete refresh (None: run everything;
    ``pipelines/changes.py``)."""
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
