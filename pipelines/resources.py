"""Dagster resources: the DuckDB warehouse and the lägesbild home (incoming folder, site)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipelines.home import Home


class LagesbildHome(dg.ConfigurableResource):
    """Where incoming files and the published site live. Empty root = LAGESBILD_HOME or the project default."""

    root: str = ""

    def resolve(self) -> Home:
        return Home.resolve(self.root or None)


class WarehouseResource(DuckDBResource):
    """The warehouse, opened once per run in a process rather than once per step.

    Opening the DuckDB file reads its catalogue and closing it checkpoints: ≈ 45 ms a step, some 70 steps a
    refresh. The file is opened on the first ``get_connection`` and closed when the run's resources are torn down
    (the in-process executor: once per run; the multiprocess executor: once per step process, as before). Each
    ``get_connection`` still yields a connection of its own (DuckDB's ``cursor()``: same database, its own
    transaction and temporary tables), closed when the step's block ends, so steps share nothing but the file.
    After each step DuckDB's buffer cache is emptied (the memory limit lowered and restored: DuckDB evicts and
    gives the memory back), so what one step read does not add to the next step's peak memory, as it did not when
    every step closed the file (without this the run's peak RSS grew ≈ 80 MB at `bench --scale 0.2`).

    ``keep_cache``: a small refresh of changed feeds (``pipelines/changes.is_small``, ``refresh_changed``) keeps the
    cache between steps instead: its steps read the same national tables again (the checks, the models, the pages,
    the snapshot), and what they read stays far below the memory a full refresh needs (national increment: 0,3 s
    faster, peak RSS 507 → 685 MB)."""

    keep_cache: bool = False
    _anchor: Any = PrivateAttr(default=None)

    @contextmanager
    def get_connection(self):
        if self._anchor is None:  # as DuckDBResource connects (retrying while another process holds the file)
            self._anchor = backoff(fn=duckdb.connect, retry_on=(RuntimeError, duckdb.IOException), max_retries=10,
                                   kwargs={"database": self.database, "read_only": False,
                                           "config": {"custom_user_agent": "dagster", **self.connection_config}})
        con = self._anchor.cursor()
        try:
            yield con
        finally:
            con.close()
            if not self.keep_cache:
                self._release_memory()

    def _release_memory(self) -> None:
        try:
            self._anchor.execute("SET memory_limit = '1MB'")
        except duckdb.Error:  # something still pinned: keep the cache rather than fail the step
            pass
        finally:  # back to the configured limit (DuckDB's default unless connection_config sets one)
            limit = self.connection_config.get("memory_limit")
            self._anchor.execute("RESET memory_limit" if limit is None else f"SET memory_limit = '{limit}'")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close_warehouse()

    def close_warehouse(self) -> None:
        if self._anchor is not None:
            anchor, self._anchor = self._anchor, None
            anchor.close()


def build_resources(home: Home, keep_cache: bool = False) -> dict:
    home.ensure()
    return {
        "duckdb": WarehouseResource(database=str(home.warehouse), keep_cache=keep_cache),
        "home": LagesbildHome(root=str(home.root) if home.root else ""),
    }
