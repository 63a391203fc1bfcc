"""Helpers shared by the page sections: periods, area names, quarter tables, series breaks, small areas,
revision notes and indicator formatting."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_date, fmt_int, fmt_percent, quarter_label
from sources.policy import Policy
from dashboards.statistics import suppress
from dashboards.data import SiteData, feed_label
from dashboards.render import Block
from sources.quarter import Quarter


def period_text(df: pd.DataFrame) -> str:
    if df.empty:
        return "inga data"
    first = df.sort_values(["year", "quarter"]).iloc[0]
    last = df.sort_values(["year", "quarter"]).iloc[-1]
    return f"{quarter_label(first.year, first.quarter)} – {quarter_label(last.year, last.quarter)}"


def area_names(data: SiteData, code: str) -> dict[str, str]:
    """Area code -> the name pages show: the areas feed's name, or for a DeSO (whose name in SCB's file is its code)
    the police export's name where there is one."""
    areas = data.marts["dim_areas"]
    mine = areas[areas.municipality_code == code]
    names = dict(zip(mine.area_code, mine.area_name))
    exported = data.marts.get("area_names_in_exports")
    if exported is not None and not exported.empty and "area_type" in mine.columns:
        deso = set(mine.area_code[mine.area_type == "deso"])
        names.update({c: n for c, n in zip(exported.area_code, exported.area_name) if c in deso})
    names[""] = "Ej platsbestämt"
    return names


def quarter_table(df: pd.DataFrame, stack: str, value: str, suppress: Policy | None = None
                   ) -> pd.DataFrame:
    pivot = figures.pivot_sum(figures.with_quarter_labels(df), ["period_key", "period"], stack, value)
    pivot = pivot.reset_index().drop(columns="period_key").rename(columns={"period": "Kvartal"})
    out = pivot.copy()
    for c in out.columns[1:]:
        if suppress is not None:
            out[c] = [suppress.suppressed_label if 1 <= v <= suppress.max_suppressed_count else fmt_int(v)
                      for v in pivot[c]]
        else:
            out[c] = [fmt_int(v) for v in pivot[c]]
    if suppress is None:
        out["Totalt"] = [fmt_int(v) for v in pivot.iloc[:, 1:].sum(axis=1)]
    out.columns.name = None
    return out


def last_quarter(df: pd.DataFrame) -> tuple[int, int]:
    last = df.sort_values(["year", "quarter"]).iloc[-1]
    return int(last.year), int(last.quarter)


def quarter_span(key_end: int, quarters: int) -> str:
    """ "kv. 4 2025 – kv. 3 2026": the ``quarters`` quarters ending at the quarter with sequence number ``key_end``."""
    return f"{Quarter.from_seq(key_end - quarters + 1).label} – {Quarter.from_seq(key_end).label}"


def breaks_in(data: SiteData, categories: set[str] | None, quarters: list[str]) -> list[tuple[str, str]]:
    """Series breaks (data/reference/series_breaks.csv) inside the quarters drawn, for charts whose series include
    the break's crime category (``categories`` as level-2 names; None = every category, e.g. a total)."""
    out = []
    level2_of = data.level3_to_level2
    for b in data.series_breaks:
        d = pd.Timestamp(b["date"])
        label = quarter_label(d.year, (d.month - 1) // 3 + 1)
        if label in quarters and quarters.index(label) > 0 and (
                categories is None or level2_of.get(b["level3"]) in categories or b["level3"] in categories):
            out.append((label, f"Lagändring: {b['level3'].lower()}"))
    return out


def year_breaks(data: SiteData, years: list[int]) -> list[tuple[str, str]]:
    """Series breaks inside a yearly series of total crime (every category is included): a break crosses the
    series when there are data both before and after its date; it is marked at the first year it touches."""
    out = []
    if not years:
        return out
    start, end = pd.Timestamp(min(years), 1, 1), pd.Timestamp(max(years), 12, 31)
    for b in data.series_breaks:
        d = pd.Timestamp(b["date"])
        if start < d <= end:
            out.append((str(d.year), f"Lagändring: {b['level3'].lower()}"))
    return out


def breaks_text(breaks: list[tuple[str, str]]) -> str:
    if not breaks:
        return ""
    return (" Serien bryts av lagändringar (" + "; ".join(f"{t.removeprefix('Lagändring: ')} {p}" for p, t in breaks)
            + "): jämför inte över brytpunkten utan att ta hänsyn till det.")


def years_text(years: list[int]) -> str:
    if len(years) > 2 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


def geography_order(df: pd.DataFrame, code: str) -> pd.DataFrame:
    """Municipality, then its county, then the whole country; years ascending."""
    rank = df.geography_code.map({code: 0, code[:2]: 1, "00": 2}).fillna(3)
    return df.assign(_rank=rank).sort_values(["_rank", "year"]).drop(columns="_rank")


def small_areas(data: SiteData, code: str, policy: Policy) -> set[str]:
    """Areas of a municipality whose latest known population is below the policy's minimum, or unknown: their small
    counts are shown as the suppression label everywhere (the whole municipality, area '', never is)."""
    pop = data.marts.get("population_by_year", pd.DataFrame())
    known = {}
    if not pop.empty:
        part = pop[(pop.municipality_code == code) & (pop.area_code != "") & pop.population.notna()]
        part = part.sort_values("year").groupby("area_code").tail(1)
        known = dict(zip(part.area_code, part.population))
    areas = set(area_names(data, code)) - {""}
    crime = data.of("crime_by_quarter", code)
    areas |= set(crime.loc[crime.area_code != "", "area_code"])
    return {a for a in areas if known.get(a) is None or known[a] < policy.area_min_population}


def small_count(v, small: bool, policy: Policy) -> str:
    if small and pd.notna(v) and 1 <= v <= policy.max_suppressed_count:
        return policy.suppressed_label
    return fmt_int(v)


def basis_note(rates: pd.DataFrame) -> str:
    """Say when a rate rests on a carried-forward population or on a year-end instead of a mean population."""
    notes = []
    carried = sorted({int(y) for y, b in zip(rates.year, rates.population_basis) if str(b).startswith("senast kända")})
    if carried:
        notes.append(f"För {', '.join(map(str, carried))} saknas befolkningsuppgifter: talen bygger på senast kända "
                     "folkmängd och är inte slutliga")
    year_end = sorted({int(y) for y, b in zip(rates.year, rates.population_basis) if str(b).startswith("folkmängd 31 dec")})
    if year_end:
        notes.append(f"för {', '.join(map(str, year_end))} är nämnaren folkmängden en 31 december, inte "
                     "medelfolkmängden")
    if "population_final" in rates and (~rates.population_final.fillna(False).astype(bool)).any() and not carried:
        notes.append("befolkningsuppgifterna är inte slutliga för alla år")
    return (" " + "; ".join(notes).capitalize() + ".") if notes else ""


STATUS_ORDER = {"efter plan": 0, "ej påbörjad": 1, "enligt plan": 2, "klar": 3}


def fmt_indicator(kind: str, value, policy: Policy) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind == "survey":
        return fmt_percent(value)
    if kind == "concern" and 1 <= value <= policy.max_suppressed_count:
        return policy.suppressed_label
    return fmt_int(value)


def with_revision_notes(blocks: list[Block], revisions: pd.DataFrame) -> list[Block]:
    """Carry revisions to every figure: when a feed's figures were last replaced by a corrected file, say so."""
    if revisions is None or revisions.empty:
        return blocks
    latest = revisions.groupby("feed").agg(last_revised=("revised_at", "max"), rows=("rows_removed", "sum"))
    for b in blocks:
        notes = [f"{feed_label(feed)} reviderad {fmt_date(pd.Timestamp(r.last_revised).date())} "
                 f"({fmt_int(r.rows)} rader ersatta av rättade filer)"
                 for feed, r in latest.iterrows() if feed_label(feed) in b.source]
        if notes:
            b.status = f"{b.status} {'; '.join(notes)}."
    return blocks
