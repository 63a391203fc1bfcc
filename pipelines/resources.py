"""Dagster resources: the DuckDB warehouse and the lägesbild home (incoming folder, site)."""
from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.home import Home


class LagesbildHome(dg.ConfigurableResource):
    """Where incoming files and the published site live. Empty root = LAGESBILD_HOME or the project default."""

    root: str = ""

    def resolve(self) -> Home:
        return Home.resolve(self.root or None)


def build_resources(home: Home) -> dict:
    home.ensure()
    return {
        "duckdb": DuckDBResource(database=str(home.warehouse)),
        "home": LagesbildHome(root=str(home.root) if home.root else ""),
    }
