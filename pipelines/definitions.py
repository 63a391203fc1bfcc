"""The single Dagster ``Definitions`` of lägesbild.

``dagster dev -m pipelines.definitions`` shows this graph; ``lagesbild refresh`` executes the same ``refresh`` job
in-process. The warehouse location comes from ``LAGESBILD_HOME`` (or the project default), see pipelines/home.py.
DuckDB allows one writer process per file, so every job uses the in-process executor.
"""
from __future__ import annotations

import dagster as dg

from pipelines.assets import SITE_KEY, all_assets
from pipelines.checks import all_checks
from pipelines.home import Home
from pipelines.resources import build_resources
from pipelines.sensors import incoming_files, quarterly_refresh


def build_definitions(home: Home | None = None) -> dg.Definitions:
    home = home or Home.resolve()
    refresh = dg.define_asset_job(
        "refresh", selection=dg.AssetSelection.all(),
        description="Read new files in incoming/, rebuild staging and marts, run the quality checks, publish the site.")
    publish = dg.define_asset_job("publish", selection=dg.AssetSelection.assets(SITE_KEY),
                                  description="Rebuild the published pages from the current marts.")
    return dg.Definitions(
        assets=all_assets(),
        asset_checks=all_checks(),
        jobs=[refresh, publish],
        sensors=[incoming_files],
        schedules=[quarterly_refresh],
        resources=build_resources(home),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
