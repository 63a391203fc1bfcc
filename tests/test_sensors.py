"""The incoming-folder sensor asks for a refresh when files arrive, once, and not while they are copying."""
import os
import time

import dagster as dg

from pipelines.resources import LagesbildHome
from pipelines.sensors import SETTLE_SECONDS, incoming_files


def _tick(home, cursor=None):
    ctx = dg.build_sensor_context(cursor=cursor, resources={"home": home})
    return incoming_files(ctx), ctx.cursor


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_sensor_requests_one_run_per_change_and_waits_for_copies(tmp_path):
    home = LagesbildHome(root=str(tmp_path))
    result, cursor = _tick(home)
    assert isinstance(result, dg.SkipReason)  # nothing yet
    f = tmp_path / "incoming" / "crime_reports" / "brott.csv"
    f.parent.mkdir(parents=True)
    f.write_text("x", encoding="utf-8")
    result, _ = _tick(home, cursor)
    assert isinstance(result, dg.SkipReason) and "kopieras" in result.skip_message  # too fresh
    _age(f, SETTLE_SECONDS + 5)
    result, cursor = _tick(home, cursor)
    assert isinstance(result, dg.RunRequest) and result.run_key == cursor
    result, cursor2 = _tick(home, cursor)
    assert isinstance(result, dg.SkipReason) and cursor2 == cursor  # same files: no second run
    f.write_text("xy", encoding="utf-8")
    _age(f, SETTLE_SECONDS + 1)
    result, cursor3 = _tick(home, cursor)
    assert isinstance(result, dg.RunRequest) and cursor3 != cursor


def test_definitions_carry_sensor_and_schedule():
    from pipelines.definitions import defs

    assert defs.resolve_sensor_def("incoming_files").job_name == "refresh"
    assert defs.resolve_schedule_def("quarterly_refresh").cron_schedule == "0 6 1 1,4,7,10 *"
