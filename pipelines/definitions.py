"""The single Dagster ``Definitions`` of lägesbild.

``dagster dev -m pipelines.definitions`` shows this graph; ``lagesbild refresh`` executes the same ``refresh`` job
in-process. The warehouse location comes from ``LAGESBILD_HOME`` (or the project default), see pipelines/home.py.
DuckDB allows one writer process per file, so jobs use the in-process executor by default; with
``LAGESBILD_EXECUTOR=multiprocess`` every step runs in its own process, one at a time (the step isolation a
Kubernetes or Celery executor needs; see README "Beyond one machine").
"""
from __future__ import annotations

import os

import dagster as dg

from pipelines.assets import LOOSE_KEY, SITE_KEY, SNAPSHOT_KEY, all_assets
from pipelines.checks.asset_checks import all_checks
from pipelines.home import Home
from pipelines.models import discover
from pipelines.partitions import Deployment
from pipelines.resources import build_resources
from pipelines.sensors import incoming_files, quarterly_refresh
from pipelines.tags import FULL_TAG


EXECUTOR_ENV = "LAGESBILD_EXECUTOR"


def executor() -> dg.ExecutorDefinition:
    """in_process (default) or multiprocess with one step at a time: every step opens and closes the DuckDB file
    itself and passes nothing in memory, so steps can run in separate processes; never two writers at once."""
    kind = os.environ.get(EXECUTOR_ENV, "in_process")
    if kind == "multiprocess":
        return dg.multiprocess_executor.configured({"max_concurrent": 1}, name="lagesbild_multiprocess")
    if kind != "in_process":
        raise ValueError(f"{EXECUTOR_ENV} must be in_process or multiprocess, not {kind!r}")
    return dg.in_process_executor


def build_definitions(home: Home | None = None, changed_feeds: list[str] | None = None,
                      keep_cache: bool = False) -> dg.Definitions:
    """``changed_feeds``: also define ``refresh_changed``, the refresh of only what files of these feeds affect
    (files dropped at the top of incoming/, their raw assets and everything downstream, the site and the snapshot).
    Reference data and agreements are left out: they are project files, and ``changed_feeds`` is only given when
    none of them changed since the last complete refresh (``pipelines/changes.py``), so reloading them would
    write the same tables again. ``keep_cache``: the warehouse keeps DuckDB's cache between steps (a small
    refresh, ``pipelines/resources.WarehouseResource``)."""
    home = home or Home.resolve()
    refresh = dg.define_asset_job(
        "refresh", selection=dg.AssetSelection.all(),
        description="Read new files in incoming/, rebuild staging and marts, run the quality checks, publish the site.")
    partitioned = dg.AssetSelection.assets(*[dg.AssetKey([m.layer, m.name]) for m in discover() if m.partitioned])
    partitions = dg.define_asset_job(
        "partitions", selection=partitioned,
        description="Rebuild chosen municipality × quarter partitions of the event-level marts (backfills); run "
                    "`refresh` afterwards to update what is built on them.")
    publish = dg.define_asset_job("publish", selection=dg.AssetSelection.assets(SITE_KEY, SNAPSHOT_KEY),
                                  tags={FULL_TAG: "true"},
                                  description="Rebuild the published pages from the current marts.")
    jobs = [refresh, partitions, publish]
    if changed_feeds is not None:
        changed = dg.AssetSelection.assets(*[dg.AssetKey(["raw", f]) for f in changed_feeds]).downstream()
        jobs.append(dg.define_asset_job(
            "refresh_changed", selection=dg.AssetSelection.assets(LOOSE_KEY, SITE_KEY, SNAPSHOT_KEY) | changed,
            description="The refresh of what new files affect (lagesbild refresh picks it when it can tell)."))
    return dg.Definitions(
        assets=all_assets(Deployment.load(home)),
        asset_checks=all_checks(),
        jobs=jobs,
        sensors=[incoming_files],
        schedules=[quarterly_refresh],
        resources=build_resources(home, keep_cache=keep_cache),
        executor=executor(),
    )


defs = build_definitions()
