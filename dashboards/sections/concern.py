"""Page section: social-services concern reports (aggregates only, suppressed, disclosure-controlled)."""
from __future__ import annotations

import pandas as pd

from dashboards import figures
from dashboards.format import fmt_int, fmt_number
from sources.policy import Policy
from dashboards.disclosure import Fact
from dashboards.statistics import apply_mask, suppress
from dashboards.data import SiteData, feed_label
from dashboards.render import Block
from dashboards.sections.common import last_quarter, period_text, quarter_span, quarter_table
from sources.quarter import Quarter


def concern_universe(concern: pd.DataFrame) -> tuple[list, list, list]:
    """Every (quarter, age band, reason) a reader could suppose exists for a municipality: the cross product of the
    quarters delivered, the age bands and the reasons seen. A combination without rows is still an unknown to the
    reader (it is not published as structurally zero), so the auditor treats it as one."""
    quarters = sorted({(int(y), int(q)) for y, q in zip(concern.year, concern.quarter)})
    return quarters, sorted(set(concern.age_band)), sorted(set(concern.reason))


def concern_cells(universe, quarters=None, ages=None, reasons=None) -> frozenset:
    """The underlying concern-report cells (quarter × age band × reason) a published number sums."""
    qs, age_bands, reason_list = universe
    return frozenset(("oro", y, q, a, r) for (y, q) in qs if quarters is None or (y, q) in quarters
                     for a in age_bands if ages is None or a in ages
                     for r in reason_list if reasons is None or r in reasons)


def _child_bands(data: SiteData) -> set[str]:
    return {"0-12", "13-17"} if not data.child_age_bands else set(data.child_age_bands)


def concern_blocks(data: SiteData, code: str, policy: Policy) -> list[Block]:
    concern = data.marts["concern_by_quarter"]
    concern = concern[concern.municipality_code == code]
    if concern.empty:
        return []
    blocks = []
    facts = []
    universe = concern_universe(concern)
    by_age = concern.groupby(["year", "quarter", "age_band"], as_index=False)["reports"].sum()
    by_age["age_band"] = by_age["age_band"].map(lambda a: f"{a.replace('-', '–')} år")
    rates = data.of("rates_by_year", code)
    rates = rates[(rates.measure == "orosanmalningar") & rates.rate.notna()]
    rate_text = ""
    if not rates.empty:
        r = rates.sort_values("year").iloc[-1]
        rate_text = (f" {int(r.year)}: {fmt_int(r['count'])} anmälningar om barn 0–17 år, {fmt_number(r.rate, 1)} "
                     f"per 1 000 barn 0–17 år (medelfolkmängd {fmt_number(r.denominator, 0)} barn).")
        year_quarters = {(int(r.year), q) for q in (1, 2, 3, 4)}
        facts.append(Fact("oro-kvartal", "Orosanmälningar per kvartal och åldersgrupp", f"beskrivningen, {int(r.year)}",
                          "anmälningar om barn 0–17 år",
                          concern_cells(universe, year_quarters, _child_bands(data)), fmt_int(r["count"])))
    table = quarter_table(by_age, "age_band", "reports", suppress=policy)
    raw_age = {f"{a.replace('-', '–')} år": a for a in concern.age_band.unique()}
    labels = figures.with_quarter_labels(by_age)[["period_key", "period", "year", "quarter"]].drop_duplicates()
    by_label = {p: (int(y), int(q)) for p, y, q in zip(labels.period, labels.year, labels.quarter)}
    for i, period in enumerate(table["Kvartal"]):
        y, q = by_label[period]
        for col in table.columns[1:]:
            facts.append(Fact("oro-kvartal", "Orosanmälningar per kvartal och åldersgrupp", period, col,
                              concern_cells(universe, {(y, q)}, {raw_age.get(col, col)}), str(table.iloc[i][col]),
                              (i, col)))
    blocks.append(Block(
        id="oro-kvartal", section="Orosanmälningar", title="Orosanmälningar per kvartal och åldersgrupp",
        description=(f"Antal orosanmälningar (inte antal barn).{rate_text} Antal mellan 1 och "
                     f"{policy.max_suppressed_count} visas som \"{policy.suppressed_label}\" och ritas inte ut; "
                     "\"×\" = dolt så att ett litet tal inte kan räknas ut från andra tal på sidan."),
        figure=figures.make_suppressed_stacked_figure(by_age, "reports", "age_band", "Orosanmälningar per kvartal",
                                                      "Antal anmälningar", policy.max_suppressed_count,
                                                      policy.suppressed_label),
        table=table, source=feed_label("concern_reports"), period=period_text(by_age),
        status="Socialtjänstens registrering; uppgifter för senaste månaden kan kompletteras.", facts=facts,
        redraw=lambda hidden: figures.make_suppressed_stacked_figure(
            by_age, "reports", "age_band", "Orosanmälningar per kvartal", "Antal anmälningar",
            policy.max_suppressed_count, policy.suppressed_label, also_hidden=hidden)))
    # reason × age band over the last four quarters, with primary and secondary suppression
    year, quarter = last_quarter(concern)
    key_now = Quarter(year, quarter).seq
    recent = concern[concern.quarter_seq > key_now - 4]
    grid = figures.pivot_sum(recent, "reason", "age_band", "reports")
    mask = suppress(grid, policy)
    shown = apply_mask(grid, mask, policy)
    row_tot, col_tot = grid.sum(axis=1), grid.sum(axis=0)

    def total_text(v):
        return policy.suppressed_label if 1 <= v <= policy.max_suppressed_count else fmt_int(v)

    shown["Totalt"] = [total_text(v) for v in row_tot]
    reasons = list(shown.index)
    ages = [c for c in grid.columns]
    shown.index = [data.concern_reason_labels.get(r, r) for r in shown.index]
    shown.columns = [f"{c.replace('-', '–')} år" if c != "Totalt" else c for c in shown.columns]
    table = shown.reset_index(names="Skäl")
    table = pd.concat([table, pd.DataFrame([{"Skäl": "Totalt", **{f"{c.replace('-', '–')} år": total_text(v)
                                                                   for c, v in col_tot.items()},
                                             "Totalt": total_text(grid.values.sum())}])], ignore_index=True)
    title = f"Orosanmälningar per skäl och åldersgrupp, {quarter_span(key_now, 4)}"
    skal_facts = []
    window = {(y, q) for y, q in universe[0] if key_now - 4 < Quarter(y, q).seq <= key_now}
    for i, reason in enumerate(reasons + [None]):
        for j, age in enumerate(ages + [None]):
            col = table.columns[1 + j]
            cells = concern_cells(universe, window, None if age is None else {age},
                                  None if reason is None else {reason})
            skal_facts.append(Fact("oro-skal", title, str(table.iloc[i]["Skäl"]), col, cells,
                                   str(table.iloc[i][col]), (i, col)))
    hidden = int(mask.values.sum())
    blocks.append(Block(
        id="oro-skal", section="Orosanmälningar", title=title,
        description=(f"\"{policy.suppressed_label}\" = 1–{policy.max_suppressed_count} anmälningar. \"×\" = dolt så att "
                     "ett litet tal inte kan räknas ut från summorna eller från andra tal på sidan (sekundär "
                     f"röjandekontroll). {hidden} celler är dolda i tabellen själv."),
        figure=None, table=table, source=feed_label("concern_reports"), period=quarter_span(key_now, 4),
        status="Socialtjänstens registrering.", facts=skal_facts))
    return blocks
