"""The published site: pages rebuilt from the marts after every refresh."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from dashboards.policy import load_policy
from dashboards.site import SiteData, build_site
from pipelines.checks.suites import load_suite
from pipelines.models import discover
from sources.contract import all_feeds
from pipelines.resources import LagesbildHome
from sources.taxonomy import read_reference

progress = logging.getLogger("lagesbild")
MART_KEYS = [dg.AssetKey(["marts", m.name]) for m in discover() if m.layer == "marts"]
SITE_FEEDS_MARTS = ["crime_by_quarter", "est_by_quarter", "concern_by_quarter", "survey_by_year"]
SITE_MARTS = SITE_FEEDS_MARTS + ["est_places", "population_by_year", "dim_areas", "indicators_by_quarter", "followup",
                                  "rates_by_year", "bra_crime_by_year", "ntu_by_year", "est_weekday_hour"]
PLAN_TABLES = ["agreements", "priority_areas", "indicator_map", "activities", "activity_areas", "promise_docs",
               "promises", "promise_activities", "promise_targets"]


class WarehouseNotReady(RuntimeError):
    pass


def load_site_data(con) -> SiteData:
    """Everything the pages need, read only (packs are built from a read-only connection)."""
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
    missing = [m for m in SITE_MARTS if m not in existing]
    plan_existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'plan'").fetchall()}
    missing += [f"plan.{t}" for t in PLAN_TABLES if t not in plan_existing]
    if missing:
        raise WarehouseNotReady(f"Lagret saknar tabellerna {', '.join(m if '.' in m else 'marts.' + m for m in missing)}. "
                                "Kör `lagesbild refresh` först.")
    marts = {name: con.execute(f'SELECT * FROM marts."{name}"').df() for name in SITE_MARTS}
    codes = sorted(set().union(*[set(marts[name]["municipality_code"]) for name in SITE_FEEDS_MARTS]))
    names = {r["municipality_code"]: r["municipality_name"] for r in read_reference("municipalities")}
    return SiteData(
        marts=marts,
        files=con.execute("SELECT * FROM meta.files").df(),
        checks=con.execute("SELECT * FROM meta.check_results").df(),
        quarantine=con.execute("SELECT * FROM meta.quarantine ORDER BY feed, file_name, row_number").df(),
        municipalities={c: names.get(c, c) for c in codes},
        suites=[{"feed": s.feed, "table": s.table, "row_id": s.row_id, "expectations": s.expectations,
                 "path": str(s.path.relative_to(s.path.parents[2]))}
                for s in (load_suite(f) for f in all_feeds()) if s is not None],
        survey_labels={r["item"]: r["label"] for r in read_reference("survey_items")},
        concern_reason_labels={r["reason"]: r["label"] for r in read_reference("concern_reasons")},
        published_at=datetime.now(ZoneInfo("Europe/Stockholm")).replace(tzinfo=None, microsecond=0),
        plan={name: con.execute(f'SELECT * FROM plan."{name}"').df() for name in PLAN_TABLES},
        series_breaks=read_reference("series_breaks"),
        revisions=con.execute("SELECT * FROM meta.revisions").df(),
        level3_to_level2={r["level3"]: r["level2"] for r in read_reference("crime_codes")},
    )


@dg.asset(key=["published", "site"], deps=MART_KEYS, group_name="published", kinds={"html"},
          description="Static dashboard site (index, one lägesbild page per municipality, data quality) in <home>/site.")
def site(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
    out_dir = home.resolve().site
    with duckdb.get_connection() as con:
        data = load_site_data(con)
    result = build_site(data, out_dir, load_policy())
    progress.info("Publicerade %s sidor i %s", len(result.pages) + 1, out_dir)
    return dg.MaterializeResult(metadata={
        "index": dg.MetadataValue.path(str(result.index)),
        "pages": len(result.pages) + 1,
        "figures": sum(len(v) for v in result.figures.values()),
    })


def publish_snapshot(con, target) -> int:
    """Copy the whole warehouse to ``target`` and swap it in atomically; returns the copied table count.

    Readers open the snapshot read-only: they never block a refresh (it writes another file) and never see half of
    one (the file is replaced whole, after the marts and pages are built; an open reader keeps the old file).
    """
    import os
    from pathlib import Path

    from sources.db import run

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        leftover.unlink()
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    quoted = str(tmp).replace("'", "''")
    run(con, f"ATTACH '{quoted}' AS lagesbild_snapshot")
    try:
        run(con, f'COPY FROM DATABASE "{source}" TO lagesbild_snapshot')
        tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lagesbild_snapshot'").fetchall()[0][0]
    finally:
        run(con, "DETACH lagesbild_snapshot")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return int(tables)


@dg.asset(key=["published", "snapshot"], deps=[dg.AssetKey(["published", "site"])], group_name="published",
          kinds={"duckdb"}, description="Read-only copy of the warehouse for readers, swapped in whole after a refresh.")
def snapshot(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
    target = home.resolve().snapshot
    with duckdb.get_connection() as con:
        tables = publish_snapshot(con, target)
    progress.info("Ögonblicksbild för läsare: %s", target)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(target)), "tables": tables})
