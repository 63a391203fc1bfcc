"""The published site: pages rebuilt from the marts after every refresh."""

import logging

import dagster as dg
from dagster_duckdb import DuckDBResource

from sources.policy import load_policy
from dashboards.data import load_site_data
from dashboards.site import build_site
from pipelines.models import discover
from sources.contract import all_feeds
from pipelines.resources import LagesbildHome
from sources.faults import fault_point

progress = logging.getLogger("lagesbild")
MART_KEYS = [dg.AssetKey(["marts", m.name]) for m in discover() if m.layer == "marts"]
PAGE_INPUT_GLOBS = [("data/agreements", "**/*.yaml"), ("data/reference", "*.csv"), ("data/config", "*.yaml"),
                    ("dashboards", "**/*.py"), ("dashboards", "**/*.html"), ("dashboards", "**/*.css")]


def site_inputs_fingerprint(con) -> str:
    """Changes when something that can alter every page changed: files of feeds without municipality × quarter
    partitions (population, surveys, areas, Brå tables…), agreements, reference lists, configuration and the page
    code. Files of partitioned feeds only alter the pages of the municipalities they touch."""
    import hashlib

    from pipelines.changes import files_fingerprint

    h = hashlib.sha1(files_fingerprint(PAGE_INPUT_GLOBS).encode())
    from sources.contract import load_contract
    from sources.revisions import records_partitions

    # decided by the contracts, not by which feeds happen to have loaded a file yet
    partitioned_feeds = [f for f in all_feeds() if records_partitions(load_contract(f))]
    for row in con.execute("SELECT feed, sha256, status FROM meta.files WHERE status IN ('loaded', 'replaced') "
                           "AND feed IS NOT NULL ORDER BY ALL").fetchall():
        if row[0] not in partitioned_feeds:
            h.update("|".join(map(str, row)).encode())
    return h.hexdigest()[:16]


def pages_to_rebuild(con, site_dir, full: bool) -> tuple[set[str] | None, int, str]:
    """(municipalities whose pages need rebuilding or None for all, newest pending id, inputs fingerprint)."""
    from pipelines.publication import read_manifest
    from sources.db import scalar

    newest = int(scalar(con, "SELECT coalesce(max(id), 0) FROM meta.pending_partitions"))
    fingerprint = site_inputs_fingerprint(con)
    previous = read_manifest(site_dir)
    if full or not previous or previous.get("fingerprint") != fingerprint or "pending_upto" not in previous:
        return None, newest, fingerprint
    changed = {r[0] for r in con.execute("SELECT DISTINCT municipality_code FROM meta.pending_partitions WHERE id > ?",
                                         [int(previous["pending_upto"])]).fetchall()}
    return changed, newest, fingerprint


@dg.asset(key=["published", "site"], deps=MART_KEYS, group_name="published", kinds={"html"},
          description="Static dashboard site (index, one lägesbild page per municipality, data quality), built into a "
                      "new version folder; published together with the snapshot.")
def site(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
    from pipelines.tags import FULL_TAG, PAGES_TAG
    from pipelines.publication import prepare

    version = prepare(home.resolve(), context.run_id)
    out_dir = version / "site"
    with duckdb.get_connection() as con:
        only, newest, fingerprint = pages_to_rebuild(con, out_dir, context.run.tags.get(FULL_TAG) == "true")
        if only is not None and context.run.tags.get(PAGES_TAG):
            only |= set(context.run.tags[PAGES_TAG].split(","))
        data = load_site_data(con, only)
    result = build_site(data, out_dir, load_policy(), only=only,
                        manifest={"run_id": context.run_id, "pending_upto": newest, "fingerprint": fingerprint})
    fault_point("site:written")
    rebuilt = len([p for p in result.pages if p.startswith("lagesbild-")])
    progress.info("Byggde %s kommunsidor (%s) och översikten", rebuilt, "alla" if only is None else "med nya data")
    return dg.MaterializeResult(metadata={
        "version": dg.MetadataValue.path(str(version)),
        "municipality_pages_rebuilt": rebuilt,
        "mode": "all pages" if only is None else "pages of changed municipalities",
        "figures": sum(len(v) for v in result.figures.values()),
    })


SNAPSHOT_SCHEMAS = ("marts", "plan", "ref", "meta")  # the results readers need; not raw, history or intermediates
# the hash cache (file paths by size and time) and the volume check's counts per file: nothing readers need
SNAPSHOT_LEFT_OUT = (("meta", "file_stats"), ("meta", "check_monthly"))


def reader_path(path: str) -> str:
    """A manifest path as the snapshot's readers see it: a file in the home by its path there, any other by its
    name (no server folders), masked like the file name (a personnummer in a file or folder name)."""
    import os

    from sources.ingest import display_name
    from sources.privacy import mask_text

    return display_name(path) if os.path.isabs(path) else mask_text(path)


def publish_snapshot(con, target, run_id: str = "") -> int:
    """Copy the result schemas of the warehouse into a new DuckDB file ``target``; returns the table count.

    Readers open the snapshot read-only: they never block a refresh (it writes another file) and never see half of
    one (the file is written before it is published, see pipelines/publication.py). ``meta.publication`` names
    the refresh it came from (the same id as the pages' publicering.json).
    """
    import os
    from pathlib import Path

    from sources.db import run
    from sources.meta import transaction

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for p in (target, target.with_name(target.name + ".wal")):
        if p.exists():
            p.unlink()
    quoted = str(target).replace("'", "''")
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
                         f"AND schema_name IN {SNAPSHOT_SCHEMAS} ORDER BY ALL").fetchall()
    run(con, f"ATTACH '{quoted}' AS lagesbild_snapshot")
    try:
        with transaction(con):
            for schema in SNAPSHOT_SCHEMAS:
                run(con, f'CREATE SCHEMA IF NOT EXISTS lagesbild_snapshot."{schema}"')
            for schema, table in tables:
                if (schema, table) in SNAPSHOT_LEFT_OUT:
                    continue
                run(con, f'CREATE TABLE lagesbild_snapshot."{schema}"."{table}" AS SELECT * FROM "{schema}"."{table}"')
            if ("meta", "files") in tables:
                for (path,) in run(con, "SELECT DISTINCT path FROM lagesbild_snapshot.meta.files"):
                    if reader_path(path) != path:
                        run(con, "UPDATE lagesbild_snapshot.meta.files SET path = ? WHERE path = ?",
                            [reader_path(path), path])
            run(con, "CREATE TABLE lagesbild_snapshot.meta.publication AS "
                     "SELECT ?::VARCHAR AS run_id, now()::TIMESTAMP AS published_at", [run_id])
    finally:
        run(con, "DETACH lagesbild_snapshot")
    with open(target, "rb") as fh:
        os.fsync(fh.fileno())
    return len([t for t in tables if t not in SNAPSHOT_LEFT_OUT]) + 1


@dg.asset(key=["published", "snapshot"], deps=[dg.AssetKey(["published", "site"])], group_name="published",
          kinds={"duckdb"}, description="Read-only copy of the marts for readers, written beside the new pages; then "
                                        "both are published with one atomic switch.")
def snapshot(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
    from pipelines.publication import swap, versions_dir

    h = home.resolve()
    version = versions_dir(h) / context.run_id
    if not (version / "site" / "index.html").exists():
        raise RuntimeError("Sidorna för den här uppdateringen saknas; kör `lagesbild refresh` igen.")
    with duckdb.get_connection() as con:
        tables = publish_snapshot(con, version / "warehouse.duckdb", run_id=context.run_id)
    fault_point("snapshot:written")
    swap(h, version)
    progress.info("Publicerat: sidorna och ögonblicksbilden för läsare (%s)", h.snapshot)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(h.snapshot)), "tables": tables})
