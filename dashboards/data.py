"""What the pages are built from: ``SiteData`` (marts, plan tables, manifest, checks as DataFrames) and
``load_site_data`` that reads it from the warehouse (read only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from sources.contract import ContractError, all_feeds, load_contract
from sources.expectations import load_suite
from sources.meta import registered
from sources.taxonomy import read_reference


def feed_label(feed: str | None) -> str:
    """A feed's name on pages, from its folder (``label:`` in ``sources/<feed>/contract.yaml``)."""
    if not feed:
        return "okänt flöde"
    try:
        return load_contract(str(feed)).display_label
    except ContractError:
        return str(feed)


def expected_freshness() -> list[tuple[str, str, int]]:
    """(feed, how often files arrive, days after which the newest file is late) for every feed whose contract says
    so (``freshness:``): the quality page's freshness table."""
    out = []
    for feed in all_feeds():
        c = load_contract(feed)
        if c.freshness_expected and c.freshness_days:
            out.append((feed, c.freshness_expected, int(c.freshness_days)))
    return out


@dataclass
class SiteData:
    marts: dict[str, pd.DataFrame]
    files: pd.DataFrame
    checks: pd.DataFrame
    quarantine: pd.DataFrame
    municipalities: dict[str, str]            # code -> name
    suites: list[dict]                        # {feed, table, row_id, path, expectations: [spec]}
    survey_labels: dict[str, str]
    concern_reason_labels: dict[str, str]
    published_at: datetime
    series_breaks: list[dict] = field(default_factory=list)
    revisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # meta.revisions: which file replaced which rows
    level3_to_level2: dict[str, str] = field(default_factory=dict)
    plan: dict[str, pd.DataFrame] = field(default_factory=dict)  # plan.* tables (agreements, areas, indicators)
    # reported crimes per municipality, area and quarter for every municipality (the quality page's coverage table;
    # ``marts`` may hold only the municipalities whose pages are being rebuilt)
    crime_coverage: pd.DataFrame | None = None
    child_age_bands: list[str] = field(default_factory=list)  # concern age bands of children 0–17 (ref.age_bands)
    _split: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def of(self, mart: str, code: str) -> pd.DataFrame:
        """``mart``'s rows of one municipality: what ``df[df.municipality_code == code]`` gives (the same rows, order
        and index), from one split of the mart instead of comparing every row of a national mart for each figure of
        each page (a mart replaced in ``marts`` is split again)."""
        df = self.marts[mart]
        kept = self._split.get(mart)
        if kept is None or kept[0] is not df:  # the frame itself is kept with its split: its id cannot be reused
            kept = self._split[mart] = (df, df.groupby("municipality_code", sort=False).indices)
        rows = kept[1].get(code)
        return df.iloc[rows] if rows is not None else df.iloc[:0]


SITE_FEEDS_MARTS = ["crime_by_quarter", "est_by_quarter", "concern_by_quarter", "survey_by_year"]
SITE_MARTS = SITE_FEEDS_MARTS + ["est_places", "population_by_year", "dim_areas", "indicators_by_quarter", "followup",
                                  "rates_by_year", "bra_crime_by_year", "ntu_by_year", "est_weekday_hour",
                                  "bra_status_by_year", "crime_by_regso_year", "area_names_in_exports"]
PLAN_TABLES = ["agreements", "priority_areas", "indicator_map", "activities", "activity_areas", "promise_docs",
               "promises", "promise_activities", "promise_targets", "interpretations"]


class WarehouseNotReady(RuntimeError):
    pass


PER_MUNICIPALITY_MARTS = SITE_FEEDS_MARTS + ["est_places", "est_weekday_hour", "rates_by_year", "population_by_year",
                                             "indicators_by_quarter", "crime_by_regso_year"]


def load_site_data(con, municipalities: set[str] | None = None) -> SiteData:
    """Everything the pages need, read only (packs are built from a read-only connection).

    ``municipalities``: load the per-municipality marts for these only (an incremental refresh); the list of
    municipalities (for the index) is always complete."""
    existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()}
    missing = [m for m in SITE_MARTS if m not in existing]
    plan_existing = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'plan'").fetchall()}
    missing += [f"plan.{t}" for t in PLAN_TABLES if t not in plan_existing]
    if missing:
        raise WarehouseNotReady(f"Lagret saknar tabellerna {', '.join(m if '.' in m else 'marts.' + m for m in missing)}. "
                                "Kör `lagesbild refresh` först.")
    codes = sorted({r[0] for name in SITE_FEEDS_MARTS
                    for r in con.execute(f'SELECT DISTINCT municipality_code FROM marts."{name}"').fetchall()})
    with registered(con, "_only", pd.DataFrame({"code": sorted(municipalities or [])}, dtype="string")):
        marts = {name: con.execute(f'SELECT * FROM marts."{name}"' + (
                     " WHERE municipality_code IN (SELECT code FROM _only)"
                     if municipalities is not None and name in PER_MUNICIPALITY_MARTS else "")).df()
                 for name in SITE_MARTS}
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
        child_age_bands=[r["age_band"] for r in read_reference("age_bands")
                         if r["scheme"] == "concern" and r["max_age"] and int(r["max_age"]) <= 17],
        crime_coverage=con.execute("SELECT municipality_code, area_code, year, quarter, sum(crimes) AS crimes "
                                   "FROM marts.crime_by_quarter GROUP BY ALL").df(),
    )
