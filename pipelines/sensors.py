"""Sensor on the incoming drop folder and the quarterly schedule, both starting the ``refresh`` job."""
import hashlib
import time

import dagster as dg

from pipelines.resources import LagesbildHome

# A file changed less than this many seconds ago may still be copying: wait for the next tick.
SETTLE_SECONDS = 10


def incoming_fingerprint(home: LagesbildHome, now: float | None = None) -> tuple[str, int, int]:
    """(fingerprint of the settled files, settled file count, files still being written)."""
    folder = home.resolve().incoming
    now = time.time() if now is None else now
    settled, busy = [], 0
    if folder.exists():
        for p in sorted(folder.rglob("*")):
            if not p.is_file() or p.name.startswith("."):
                continue
            st = p.stat()
            if now - st.st_mtime < SETTLE_SECONDS:
                busy += 1
                continue
            settled.append(f"{p.relative_to(folder)}|{st.st_size}|{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(settled).encode("utf-8")).hexdigest(), len(settled), busy


@dg.sensor(job_name="refresh", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts a refresh when files are added to or changed in <home>/incoming/.")
def incoming_files(context: dg.SensorEvaluationContext, home: LagesbildHome):
    fingerprint, count, busy = incoming_fingerprint(home)
    if busy:
        return dg.SkipReason(f"{busy} fil(er) kopieras fortfarande; väntar.")
    if fingerprint == context.cursor:
        return dg.SkipReason("Inga nya eller ändrade filer.")
    context.update_cursor(fingerprint)
    if count == 0:
        return dg.SkipReason("Mappen incoming/ är tom.")
    return dg.RunRequest(run_key=fingerprint, tags={"lagesbild/trigger": "incoming"})


quarterly_refresh = dg.ScheduleDefinition(
    name="quarterly_refresh", job_name="refresh", cron_schedule="0 6 1 1,4,7,10 *",
    execution_timezone="Europe/Stockholm", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Refresh at 06:00 on the first day of each quarter (turn on in the UI).")
