"""Assets: reference -> raw (files dropped directly in incoming/, then one per feed) -> staging/intermediate/marts
(one per SQL file) -> published site."""

import logging
import warnings

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.models import Model, build_model, discover
from pipelines.tags import FULL_TAG
from pipelines.partitions import Deployment, keys_frame, partitions_def as make_partitions_def
from pipelines.resources import LagesbildHome
from sources.agreements import load_folder
from sources.agreements.warehouse import load_plan_tables
from sources.contract import all_feeds, load_contract
from sources.ingest import ensure_schema, ingest_paths
from sources.taxonomy import load_reference_tables
from sources.db import scalar

# BackfillPolicy.single_run (one run builds a whole partition range) is beta in dagster 1.13; used knowingly
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")

# Human progress lines ("what is happening") for the command line; Dagster's own log stays technical.
progress = logging.getLogger("lagesbild")

REFERENCE_KEY = dg.AssetKey(["ref", "reference"])
PLAN_KEY = dg.AssetKey(["plan", "agreements"])
LOOSE_KEY = dg.AssetKey(["raw", "incoming_loose"])
SITE_KEY = dg.AssetKey(["published", "site"])
SNAPSHOT_KEY = dg.AssetKey(["published", "snapshot"])


def key_for(schema: str, table: str) -> dg.AssetKey:
    if schema == "ref":
        return REFERENCE_KEY
    if schema == "plan":
        return PLAN_KEY
    return dg.AssetKey([schema, table])


def group_for(model: Model) -> str:
    if model.layer == "staging" and model.name.startswith("stg_") and model.name[4:] in all_feeds():
        return model.name[4:]
    return model.layer


@dg.asset(key=REFERENCE_KEY, group_name="reference", kinds={"duckdb"},
          description="Shipped reference taxonomies (crime codes, municipalities, EST categories, …) from data/reference/.")
def reference(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        counts = load_reference_tables(con)
    progress.info("Referensdata: %s tabeller", len(counts))
    return dg.MaterializeResult(metadata={f"rows_{k}": v for k, v in counts.items()})


@dg.asset(key=PLAN_KEY, group_name="agreements", kinds={"duckdb", "yaml"},
          description="Agreements, citizen promises and indicator mappings from data/agreements/ (validated).")
def agreements(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    plan = load_folder()  # raises PlanInvalid, naming file, line and field, before anything is written
    with duckdb.get_connection() as con:
        counts = load_plan_tables(con, plan)
    progress.info("Överenskommelser: %s dokument, %s aktiviteter, %s indikatorrader",
                  len(plan.documents), counts["activities"], counts["indicator_map"])
    return dg.MaterializeResult(metadata={f"rows_{k}": v for k, v in counts.items()})


@dg.asset(key=LOOSE_KEY, group_name="reference", kinds={"duckdb"},
          description="Files dropped directly in incoming/ instead of a feed's folder, read as `lagesbild ingest` "
                      "reads them: the feed recognised by the column headers; a file no feed recognises is rejected "
                      "(listed on the quality page) and not tried again until it changes. Before every feed's raw "
                      "asset.")
def loose_files(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
    files = home.resolve().loose_files()
    if not files:
        return dg.MaterializeResult(metadata={"files_seen": 0})
    progress.info("%d fil(er) direkt i incoming/: flödet känns igen på kolumnrubrikerna.", len(files))
    with duckdb.get_connection() as con:
        results, metadata = _read(context, con, files)
    loaded = {r.feed for r in results if r.status == "loaded" and r.feed}
    return dg.MaterializeResult(metadata={**metadata, "feeds": ", ".join(sorted(loaded)) or "inga"})


def _read(context: dg.AssetExecutionContext, con, paths: list, feed: str | None = None) -> tuple[list, dict]:
    """Ingest ``paths`` as a refresh does (a file rejected before is not tried again until it changes): the results
    and the asset's metadata; each rejection is also a warning in Dagster's log."""
    ensure_schema(con)
    results = ingest_paths(con, paths, feed=feed, retry_rejected=False, quiet_unchanged=True,
                           progress=lambda line: progress.info("  %s", line))
    rejected = [r for r in results if r.status == "rejected"]
    for r in rejected:
        context.log.warning(r.message)
    return results, {
        "files_seen": len(results),
        "files_loaded_now": sum(r.status == "loaded" for r in results),
        "files_rejected_now": len(rejected),
        "rejections": dg.MetadataValue.md("\n".join(f"- {r.message}" for r in rejected) or "inga"),
    }


def build_raw_asset(feed: str) -> dg.AssetsDefinition:
    contract = load_contract(feed)

    @dg.asset(key=["raw", feed], deps=[LOOSE_KEY], group_name=feed, kinds={"duckdb"},
              description=f"{contract.title}: every file in incoming/{feed}/ loaded through its profile "
                          "(manifest, quarantine, revisions).")
    def _raw(context: dg.AssetExecutionContext, duckdb: DuckDBResource, home: LagesbildHome) -> dg.MaterializeResult:
        folder = home.resolve().incoming / feed
        with duckdb.get_connection() as con:
            _, metadata = _read(context, con, [folder] if folder.exists() else [], feed=feed)
            total = scalar(con, f'SELECT count(*) FROM raw."{feed}"')
            quarantined = scalar(con, "SELECT count(*) FROM meta.quarantine WHERE feed = ?", [feed])
        return dg.MaterializeResult(metadata={**metadata, "rows_in_warehouse": int(total),
                                              "rows_quarantined_total": int(quarantined)})

    return _raw




def build_model_asset(model: Model, partitions: dg.PartitionsDefinition | None = None) -> dg.AssetsDefinition:
    deps = sorted({key_for(s, t) for s, t in model.refs}, key=lambda k: k.to_user_string())
    pdef = partitions if model.partitioned else None

    @dg.asset(key=[model.layer, model.name], deps=deps, group_name=group_for(model), kinds={"duckdb", "sql"},
              description=model.description or None, code_version=model.code_version, partitions_def=pdef,
              backfill_policy=dg.BackfillPolicy.single_run() if pdef else None)
    def _model(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
        keys = None
        if pdef is not None and (context.has_partition_key or context.has_partition_key_range):
            keys = keys_frame(context.partition_keys)
        full = context.run.tags.get(FULL_TAG) == "true"
        with duckdb.get_connection() as con:
            result = build_model(con, model, keys=keys, full=full)
        if result.mode == "partitions":
            progress.info("Modell %s: %s partitioner (kommun × kvartal) ombyggda", model.key, result.partitions)
        elif result.mode == "up to date":
            progress.info("Modell %s: inga nya data", model.key)
        elif result.rows >= 0:
            progress.info("Modell %s: %s rader", model.key, result.rows)
        return dg.MaterializeResult(metadata={
            "mode": result.mode, "rows": result.rows, "partitions_rebuilt": result.partitions,
            "sql_file": str(model.path.relative_to(model.path.parents[2]))})

    return _model


def all_assets(deployment: Deployment | None = None) -> list:
    from pipelines.assets.site import site, snapshot

    partitions = make_partitions_def(deployment or Deployment.load())
    return [reference, agreements, loose_files, *[build_raw_asset(f) for f in all_feeds()],
            *[build_model_asset(m, partitions) for m in discover()], site, snapshot]
