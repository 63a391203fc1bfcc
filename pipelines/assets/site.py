"""The published site: pages rebuilt from the marts after every refresh."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from dashboards.policy import load_policy
from dashboards.site import SiteData, build_site
from pipelines.models import discover
from pipelines.resources import LagesbildHome
from sources.ingest import ensure_schema
from sources.taxonomy import read_reference

progress = logging.getLogger("lagesbild")
MART_KEYS = [dg.AssetKey(["marts", m.name]) for m in discover() if m.layer == "marts"]
SITE_FEEDS_MARTS = ["crime_by_quarter", "est_by_quarter", "concern_by_quarter", "survey_by_year"]


def load_site_data(con) -> SiteData:
    ensure_schema(con)
    marts = {m.name: con.execute(f'SELECT * FROM marts."{m.name}"').df() for m in discover() if m.layer == "marts"}
    codes = sorted(set().union(*[set(marts[name]["municipality_code"]) for name in SITE_FEEDS_MARTS]))
    names = {r["municipality_code"]: r["municipality_name"] for r in read_reference("municipalities")}
    return SiteData(
        marts=marts,
        files=con.execute("SELECT * FROM meta.files").df(),
        checks=con.execute("SELECT * FROM meta.check_results").df(),
        quarantine=con.execute("SELECT * FROM meta.quarantine ORDER BY feed, file_name, row_number").df(),
        municipalities={c: names.get(c, c) for c in codes},
        survey_labels={r["item"]: r["label"] for r in read_reference("survey_items")},
        concern_reason_labels={r["reason"]: r["label"] for r in read_reference("concern_reasons")},
        published_at=datetime.now(ZoneInfo("Europe/Stockholm")).replace(tzinfo=None, microsecond=0),
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
