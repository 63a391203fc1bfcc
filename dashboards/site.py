"""Page composition: marts (as DataFrames) -> static site (index, one lägesbild page per municipality, quality).

Works offline: one shared ``plotly.min.js`` beside the pages, no CDN. All text from input data is escaped by
Jinja's autoescape; figure JSON is escaped by Plotly. Files are written atomically (temp file + rename).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape

from dashboards import figures
from dashboards.format import fmt_date, fmt_int, fmt_number, fmt_percent, quarter_label
from dashboards.policy import Policy

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
PLOTLY_JS = "plotly.min.js"

FEED_LABELS = {
    "crime_reports": "Anmälda brott (polisens export)",
    "est_events": "EST-rapporter",
    "concern_reports": "Orosanmälningar (aggregat)",
    "survey_responses": "Trygghetsmätning",
    "population": "Folkmängd",
    "areas": "Områden",
}
FEED_LABELS.update({
    "polisen_events": "Polisens händelser (polisen.se)", "bra_stats": "Brås statistik (aggregat)",
    "bra_indicators": "Brås indikatorer för kommuners lägesbild", "survey_aggregates": "Trygghetsmätning (andelar)",
    "activity_log": "Aktivitetslogg",
})
STATUS_LABELS = {"loaded": "inläst", "already_loaded": "redan inläst", "replaced": "ersatt", "rejected": "avvisad"}


@dataclass
class Block:
    id: str
    section: str
    title: str
    description: str
    figure: go.Figure | None
    table: pd.DataFrame
    source: str
    period: str
    status: str

    def figure_html(self) -> str:
        if self.figure is None:
            return ""
        return self.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{self.id}",
                                   config={"displaylogo": False, "responsive": True,
                                           "toImageButtonOptions": {"filename": self.id}})


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
    plan: dict[str, pd.DataFrame] = field(default_factory=dict)  # plan.* tables (agreements, areas, indicators)


@dataclass
class SiteResult:
    index: Path
    pages: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, list[str]] = field(default_factory=dict)


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(int=fmt_int, number=fmt_number, percent=fmt_percent, date=fmt_date)
    return env


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8") if isinstance(text, str) else text)
    os.replace(tmp, path)


def _ensure_plotly_js(out_dir: Path) -> None:
    import plotly.offline

    js = plotly.offline.get_plotlyjs().encode("utf-8")
    target = out_dir / PLOTLY_JS
    if not target.exists() or target.stat().st_size != len(js):
        _write(target, js)


def _period_text(df: pd.DataFrame) -> str:
    if df.empty:
        return "inga data"
    first = df.sort_values(["year", "quarter"]).iloc[0]
    last = df.sort_values(["year", "quarter"]).iloc[-1]
    return f"{quarter_label(first.year, first.quarter)} – {quarter_label(last.year, last.quarter)}"


def _area_names(data: SiteData, code: str) -> dict[str, str]:
    areas = data.marts["dim_areas"]
    names = dict(zip(areas.loc[areas.municipality_code == code, "area_code"],
                     areas.loc[areas.municipality_code == code, "area_name"]))
    names[""] = "Ej platsbestämt"
    return names


def _quarter_table(df: pd.DataFrame, stack: str, value: str, stack_label: str, suppress: Policy | None = None
                   ) -> pd.DataFrame:
    pivot = figures.with_quarter_labels(df).pivot_table(index=["period_key", "period"], columns=stack, values=value,
                                                        aggfunc="sum", fill_value=0)
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


def municipality_blocks(data: SiteData, code: str, policy: Policy) -> list[Block]:
    names = _area_names(data, code)
    blocks: list[Block] = []

    # --- reported crime -----------------------------------------------------------------------
    crime = data.marts["crime_by_quarter"]
    crime = crime[crime.municipality_code == code]
    if not crime.empty:
        counted = crime[crime.counts_as_crime]
        excluded = int(crime.loc[~crime.counts_as_crime, "crimes"].sum())
        blocks.append(Block(
            id="brott-kvartal", section="Anmälda brott", title="Anmälda brott per kvartal och brottskategori",
            description=("Antal anmälda brott efter inskrivningsdatum, de sex största kategorierna och övriga. "
                         f"{fmt_int(excluded)} registreringar som inte är brott (t.ex. viltolyckor) ingår inte. "
                         "Anmälda brott påverkas av anmälningsbenägenhet och polisens egna insatser."),
            figure=figures.make_quarterly_stacked_figure(counted, "crimes", "category", "Anmälda brott per kvartal",
                                                         "Antal anmälda brott"),
            table=_quarter_table(figures.top_categories(counted[["year", "quarter", "category", "crimes"]],
                                                        "category", "crimes", 6), "category", "crimes", "Kategori"),
            source=FEED_LABELS["crime_reports"], period=_period_text(counted),
            status="Preliminära uppgifter ur polisens export (räknat på inskrivningsdatum)."))
        pop = data.marts["population_by_year"]
        pop = pop[(pop.municipality_code == code) & (pop.area_code != "")]
        by_area = counted.groupby(["area_code", "year"], as_index=False)["crimes"].sum()
        by_area = by_area.merge(pop[["area_code", "year", "population"]], on=["area_code", "year"], how="left")
        by_area["per_1000"] = by_area["crimes"] / by_area["population"] * 1000
        by_area["area_name"] = by_area["area_code"].map(names).fillna(by_area["area_code"])
        table = by_area.sort_values(["area_name", "year"])
        blocks.append(Block(
            id="brott-omrade", section="Anmälda brott", title="Anmälda brott per kommundel och år",
            description=("Antal anmälda brott per kommundel och år; i tabellen även per 1 000 invånare (folkmängd "
                         "31 december samma år, tomt när folkmängden ännu inte finns). Brott som inte kan "
                         "platsbestämmas redovisas separat."),
            figure=figures.make_area_year_figure(by_area, "crimes", "Anmälda brott per kommundel", "Antal anmälda brott",
                                                 rate="per_1000"),
            table=pd.DataFrame({"Kommundel": table["area_name"], "År": table["year"].astype(str),
                                "Antal brott": [fmt_int(v) for v in table["crimes"]],
                                "Per 1 000 invånare": [fmt_number(v, 1) for v in table["per_1000"]]}),
            source=f"{FEED_LABELS['crime_reports']}; {FEED_LABELS['population']}", period=_period_text(counted),
            status="Preliminära uppgifter; innevarande år är ofullständigt."))

    # --- EST ------------------------------------------------------------------------------------
    est = data.marts["est_by_quarter"]
    est = est[est.municipality_code == code]
    if not est.empty:
        blocks.append(Block(
            id="est-kvartal", section="EST – platsbundna händelser", title="EST-händelser per kvartal och kategori",
            description="Händelser rapporterade av EST-rapportörer (kommun, bostadsbolag, bevakning, polis m.fl.).",
            figure=figures.make_quarterly_stacked_figure(est, "events", "category", "EST-händelser per kvartal",
                                                         "Antal händelser"),
            table=_quarter_table(figures.top_categories(est[["year", "quarter", "category", "events"]], "category",
                                                        "events", 6), "category", "events", "Kategori"),
            source=FEED_LABELS["est_events"], period=_period_text(est), status="Löpande rapportering; kan kompletteras i efterhand."))
        places = data.marts["est_places"]
        places = places[places.municipality_code == code]
        last_key = int(places.year.max()) * 4 + int(places[places.year == places.year.max()].quarter.max())
        recent = places[(places.year * 4 + places.quarter) > last_key - 4]
        top = (recent.groupby("place", as_index=False)["events"].sum().sort_values("events", ascending=False).head(10))
        blocks.append(Block(
            id="est-platser", section="EST – platsbundna händelser", title="Platser med flest EST-händelser, senaste fyra kvartalen",
            description="De tio platser som fått flest rapporter under de senaste fyra kvartalen.",
            figure=figures.make_top_places_figure(top, "Flest EST-händelser, senaste fyra kvartalen"),
            table=pd.DataFrame({"Plats": top["place"], "Antal händelser": [fmt_int(v) for v in top["events"]]}),
            source=FEED_LABELS["est_events"], period=_period_text(recent), status="Löpande rapportering."))

    # --- concern reports -----------------------------------------------------------------------
    concern = data.marts["concern_by_quarter"]
    concern = concern[concern.municipality_code == code]
    if not concern.empty:
        by_age = concern.groupby(["year", "quarter", "age_band"], as_index=False)["reports"].sum()
        by_age["age_band"] = by_age["age_band"].map(lambda a: f"{a.replace('-', '–')} år")
        blocks.append(Block(
            id="oro-kvartal", section="Orosanmälningar", title="Orosanmälningar per kvartal och åldersgrupp",
            description=(f"Antal orosanmälningar (inte antal barn). Antal mellan 1 och {policy.max_suppressed_count} "
                         f"visas som \"{policy.suppressed_label}\" och ritas inte ut."),
            figure=figures.make_suppressed_stacked_figure(by_age, "reports", "age_band", "Orosanmälningar per kvartal",
                                                          "Antal anmälningar", policy.max_suppressed_count,
                                                          policy.suppressed_label),
            table=_quarter_table(by_age, "age_band", "reports", "Åldersgrupp", suppress=policy),
            source=FEED_LABELS["concern_reports"], period=_period_text(by_age),
            status="Socialtjänstens registrering; uppgifter för senaste månaden kan kompletteras."))

    # --- survey ---------------------------------------------------------------------------------
    survey = data.marts["survey_by_year"]
    survey = survey[(survey.municipality_code == code) & (survey.n >= policy.survey_min_n)]
    if not survey.empty:
        whole = survey[survey.area_code == ""]
        years = sorted(whole.year.unique())
        blocks.append(Block(
            id="trygghet-trend", section="Trygghetsmätning", title="Trygghetsmätningen per år",
            description=("Viktade andelar med 95 % konfidensintervall. En förändring mellan två år är bara säker "
                         "när intervallen inte överlappar. En enskild mätning är ingen trend."),
            figure=figures.make_survey_trend_figure(whole, data.survey_labels, "Trygghetsmätningen, hela kommunen"),
            table=pd.DataFrame({"Fråga": whole["item"].map(data.survey_labels), "År": whole["year"].astype(str),
                                "Andel": [fmt_percent(v) for v in whole["share"]],
                                "95 % KI": [f"{fmt_percent(a)}–{fmt_percent(b)}" for a, b in zip(whole.ci_low, whole.ci_high)],
                                "Antal svar": [fmt_int(v) for v in whole["n"]]}),
            source=FEED_LABELS["survey_responses"], period=f"{years[0]}–{years[-1]}" if years else "",
            status="Urvalsundersökning: skattningar med osäkerhet."))
        latest = int(survey.year.max())
        area_part = survey[(survey.area_code != "") & (survey.year == latest) & (survey.item == "unsafe_evening")].copy()
        if not area_part.empty:
            area_part["area_name"] = area_part["area_code"].map(names).fillna(area_part["area_code"])
            label = data.survey_labels.get("unsafe_evening", "unsafe_evening")
            blocks.append(Block(
                id="trygghet-omrade", section="Trygghetsmätning", title=f"{label}, per kommundel {latest}",
                description=(f"Viktade andelar med 95 % konfidensintervall. Kommundelar med färre än "
                             f"{policy.survey_min_n} svar redovisas inte."),
                figure=figures.make_survey_area_figure(area_part, f"{label} ({latest})"),
                table=pd.DataFrame({"Kommundel": area_part["area_name"], "Andel": [fmt_percent(v) for v in area_part["share"]],
                                    "95 % KI": [f"{fmt_percent(a)}–{fmt_percent(b)}" for a, b in
                                                zip(area_part.ci_low, area_part.ci_high)],
                                    "Antal svar": [fmt_int(v) for v in area_part["n"]]}),
                source=FEED_LABELS["survey_responses"], period=str(latest),
                status="Urvalsundersökning: skattningar med osäkerhet."))
    return blocks


STATUS_ORDER = {"efter plan": 0, "ej påbörjad": 1, "enligt plan": 2, "klar": 3}


def _fmt_indicator(kind: str, value, policy: Policy) -> str:
    if value is None or pd.isna(value):
        return "–"
    if kind == "survey":
        return fmt_percent(value)
    if kind == "concern" and 1 <= value <= policy.max_suppressed_count:
        return policy.suppressed_label
    return fmt_int(value)


def agreement_blocks(data: SiteData, code: str, policy: Policy) -> tuple[dict | None, list[Block]]:
    """The agreement in force for the latest quarter: indicators per priority area and the activity follow-up."""
    plan = data.plan
    crime = data.marts["crime_by_quarter"]
    crime = crime[crime.municipality_code == code]
    if crime.empty or plan["agreements"].empty:
        return None, []
    last = crime.sort_values(["year", "quarter"]).iloc[-1]
    year, quarter = int(last.year), int(last.quarter)
    q_start = pd.Timestamp(year=year, month=3 * quarter - 2, day=1).date()
    ags = plan["agreements"]
    ags = ags[(ags.municipality_code == code) & (pd.to_datetime(ags.valid_from).dt.date <= q_start)
              & (pd.to_datetime(ags.valid_to).dt.date >= q_start)]
    if ags.empty:
        return None, []
    ag = ags.iloc[0]
    info = {"title": ag.title, "valid": f"{fmt_date(pd.Timestamp(ag.valid_from).date())} – "
                                       f"{fmt_date(pd.Timestamp(ag.valid_to).date())}",
            "goal": ag.overall_goal, "period": quarter_label(year, quarter)}
    ind = data.marts["indicators_by_quarter"]
    ind = ind[(ind.agreement_id == ag.agreement_id) & (ind.area_code == "")]
    areas = plan["priority_areas"][plan["priority_areas"].agreement_id == ag.agreement_id].sort_values("ordinal")
    labels = (plan["indicator_map"][plan["indicator_map"].agreement_id == ag.agreement_id]
              .groupby("indicator_id").agg(label=("label", "first"), kind=("kind", "first"),
                                           rationale=("rationale", "first"), ordinal=("ordinal", "min"),
                                           priority_area_id=("priority_area_id", "first")).reset_index())
    key_now = year * 4 + quarter
    blocks = []
    for area in areas.itertuples():
        defs = labels[labels.priority_area_id == area.priority_area_id].sort_values("ordinal")
        if defs.empty:
            continue
        rows = []
        for d in defs.itertuples():
            series = ind[ind.indicator_id == d.indicator_id]
            if d.kind == "survey":
                yearly = series.dropna(subset=["value"]).sort_values("year")
                latest = yearly.iloc[-1] if len(yearly) else None
                prev = yearly.iloc[-2] if len(yearly) > 1 else None
                rows.append({"Indikator": d.label,
                             "Senaste": f"{_fmt_indicator('survey', latest.value, policy)} ({latest.year})" if latest is not None else "–",
                             "Jämförelse": f"{_fmt_indicator('survey', prev.value, policy)} ({prev.year})" if prev is not None else "–",
                             "Senaste fyra kvartalen": "–", "Fyra kvartal före": "–", "Varför": d.rationale})
                continue
            s = series.dropna(subset=["quarter"]).copy()
            s["key"] = s.year * 4 + s.quarter
            by_key = s.groupby("key")["value"].sum()
            now, before = by_key.get(key_now), by_key.get(key_now - 4)
            last4 = by_key[(by_key.index > key_now - 4) & (by_key.index <= key_now)].sum()
            prev4 = by_key[(by_key.index > key_now - 8) & (by_key.index <= key_now - 4)].sum()
            rows.append({"Indikator": d.label,
                         "Senaste": f"{_fmt_indicator(d.kind, now or 0, policy)} ({quarter_label(year, quarter)})",
                         "Jämförelse": f"{_fmt_indicator(d.kind, before or 0, policy)} ({quarter_label(year - 1, quarter)})",
                         "Senaste fyra kvartalen": _fmt_indicator(d.kind, last4, policy),
                         "Fyra kvartal före": _fmt_indicator(d.kind, prev4, policy), "Varför": d.rationale})
        counts = ind[(ind.priority_area_id == area.priority_area_id) & (ind.kind.isin(["crime", "est", "activity"]))
                     & ((ind.year * 4 + ind.quarter) > key_now - 12)].copy()
        figure = (figures.make_indicator_trend_figure(counts, "Indikatorer per kvartal, senaste tre åren")
                  if not counts.empty else None)
        blocks.append(Block(
            id=f"omrade-{area.priority_area_id}", section="Prioriterade områden i samverkansöverenskommelsen",
            title=" ".join(str(area.name).split()),
            description=("Indikatorerna som följer området enligt indikatorkartläggningen (data/agreements/indicators). "
                         "Enkätandelar jämförs med föregående mätning; antal jämförs med samma kvartal året innan."),
            figure=figure, table=pd.DataFrame(rows),
            source="Samverkansöverenskommelsen; anmälda brott, EST, orosanmälningar, trygghetsmätning, aktivitetslogg",
            period=quarter_label(year, quarter), status="Preliminära uppgifter för senaste kvartalet."))
    follow = data.marts["followup"]
    follow = follow[(follow.document_id == ag.agreement_id) & (follow.grain == "tertial")
                    & (pd.to_datetime(follow.period_start).dt.year == year)]
    if not follow.empty:
        latest = follow.sort_values("period_start").groupby("item_id").tail(1).sort_values("ordinal")
        latest = latest.assign(order=latest.status.map(STATUS_ORDER)).sort_values(["order", "ordinal"])
        table = pd.DataFrame({
            "Aktivitet": [" ".join(str(n).split()) for n in latest.name],
            "Ansvarig": latest.party.str.capitalize(),
            "Mål för året": [fmt_int(t) if pd.notna(t) else "inget antal" for t in latest.target],
            "Genomfört hittills": [fmt_int(v) for v in latest.done_to_date],
            "Förväntat hittills": [fmt_int(v) if pd.notna(v) else "–" for v in latest.expected],
            "Status": latest.status})
        blocks.append(Block(
            id="uppfoljning", section="Prioriterade områden i samverkansöverenskommelsen",
            title=f"Uppföljning av handlingsplanen {year}",
            description=("Status per aktivitet vid senaste tertialet. Regler: klar = årets mål är nått; "
                         "efter plan = färre än förväntat hittills (målet fördelat jämnt över året, avrundat nedåt) "
                         "eller året slut utan att målet nåtts; ej påbörjad = inget gjort och inget förväntat ännu; "
                         "enligt plan = i övrigt. Aktiviteter utan antal: enligt plan om något gjorts under tertialet."),
            figure=None, table=table, source="Aktivitetslogg; samverkansöverenskommelsens handlingsplan",
            period=f"{year}", status="Enligt aktivitetsloggen; aktiviteter som inte loggats räknas inte."))
    return info, blocks


def _sources_table(files: pd.DataFrame) -> list[dict]:
    if files.empty:
        return []
    current = files[files.status == "loaded"].sort_values(["feed", "file_name"])
    return [{"feed": FEED_LABELS.get(r.feed, r.feed), "file": r.file_name, "sha256": r.sha256,
             "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "rows": fmt_int(r.rows_loaded)}
            for r in current.itertuples()]


def build_site(data: SiteData, out_dir: Path, policy: Policy) -> SiteResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _env()
    _ensure_plotly_js(out_dir)
    _write(out_dir / "site.css", (STATIC / "site.css").read_bytes())
    published = fmt_date(data.published_at)
    sources = _sources_table(data.files)
    result = SiteResult(index=out_dir / "index.html")

    pages = []
    for code, name in sorted(data.municipalities.items()):
        agreement, plan_blocks = agreement_blocks(data, code, policy)
        blocks = plan_blocks + municipality_blocks(data, code, policy)
        sections: dict[str, list[Block]] = {}
        for b in blocks:
            sections.setdefault(b.section, []).append(b)
        file_name = f"lagesbild-{code}.html"
        html = env.get_template("municipality.html").render(
            title=f"Lägesbild {name}", municipality=name, code=code, sections=sections, published=published,
            agreement=agreement,
            sources=sources, plotly_js=PLOTLY_JS)
        _write(out_dir / file_name, html)
        result.pages[file_name] = out_dir / file_name
        result.figures[file_name] = [f"fig-{b.id}" for b in blocks if b.figure is not None]
        pages.append({"href": file_name, "title": f"Lägesbild {name}", "code": code,
                      "figures": len(result.figures[file_name])})

    quality = quality_context(data)
    _write(out_dir / "datakvalitet.html", env.get_template("quality.html").render(
        title="Datakvalitet", published=published, plotly_js=None, **quality))
    result.pages["datakvalitet.html"] = out_dir / "datakvalitet.html"
    result.figures["datakvalitet.html"] = []
    _write(out_dir / "datadocs.html", env.get_template("datadocs.html").render(
        title="Data Docs – kvalitetskontroller", published=published, plotly_js=None, suites=datadocs_context(data)))
    result.pages["datadocs.html"] = out_dir / "datadocs.html"
    result.figures["datadocs.html"] = []
    _write(result.index, env.get_template("index.html").render(
        title="Lägesbild – publicerade sidor", pages=pages, published=published, plotly_js=None,
        failed_checks=quality["failed_errors"], rejected=quality["rejected"]))
    return result


def anchor(feed: str, expectation: str, column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{feed}-{expectation}-{column}".lower()).strip("-")


def datadocs_context(data: SiteData) -> list[dict]:
    results = {}
    checked = {}
    for r in data.checks.itertuples() if not data.checks.empty else []:
        results[(r.feed, r.expectation, r.column_name)] = r
        checked[r.feed] = max(checked.get(r.feed, r.checked_at), r.checked_at)
    out = []
    for suite in data.suites:
        rows = []
        for spec in suite["expectations"]:
            column = spec.get("column") or ",".join(spec.get("column_list", [])) or "(tabell)"
            r = results.get((suite["feed"], spec["type"], column))
            settings = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("type", "severity"))
            offending = json.loads(r.rows) if r is not None and r.rows else []
            rows.append({
                "anchor": anchor(suite["feed"], spec["type"], column), "type": spec["type"], "settings": settings,
                "severity": "blockerande" if spec.get("severity", "error") == "error" else "varning",
                "ok": None if r is None else bool(r.success),
                "unexpected": "" if r is None else f"{fmt_int(r.unexpected_count)} av {fmt_int(r.element_count)}",
                "examples": "" if r is None or r.success else r.detail, "rows": "; ".join(offending[:20])})
        out.append({"feed": suite["feed"], "label": FEED_LABELS.get(suite["feed"], suite["feed"]),
                    "table": suite["table"], "path": suite["path"], "row_id": ", ".join(suite["row_id"]),
                    "checked_at": fmt_date(pd.Timestamp(checked[suite["feed"]]).to_pydatetime())
                    if suite["feed"] in checked else "aldrig", "expectations": rows})
    return out


def quality_context(data: SiteData) -> dict:
    files = data.files.copy()
    rows = []
    for r in files.sort_values(["feed", "file_name"]).itertuples():
        rows.append({"feed": FEED_LABELS.get(r.feed, r.feed or "okänt flöde"), "file": r.file_name,
                     "status": STATUS_LABELS.get(r.status, r.status), "status_key": r.status,
                     "read": fmt_int(r.rows_read), "loaded": fmt_int(r.rows_loaded),
                     "quarantined": fmt_int(r.rows_quarantined), "masked": fmt_int(r.masked_values),
                     "received": fmt_date(pd.Timestamp(r.received_at).to_pydatetime()), "message": r.message or ""})
    checks = []
    for r in data.checks.sort_values(["feed", "severity", "expectation"]).itertuples() if not data.checks.empty else []:
        checks.append({"feed": FEED_LABELS.get(r.feed, r.feed), "expectation": r.expectation, "column": r.column_name,
                       "href": f"datadocs.html#{anchor(r.feed, r.expectation, r.column_name)}",
                       "severity": "blockerande" if r.severity == "error" else "varning", "ok": bool(r.success),
                       "detail": r.detail})
    quarantine = data.quarantine.head(200)
    qrows = [{"feed": FEED_LABELS.get(r.feed, r.feed), "file": r.file_name, "row": r.row_number, "column": r.column_name,
              "value": r.raw_value, "reason": r.reason} for r in quarantine.itertuples()]
    return {"files": rows, "checks": checks, "quarantine": qrows, "quarantine_total": len(data.quarantine),
            "failed_errors": sum(1 for c in checks if not c["ok"] and c["severity"] == "blockerande"),
            "failed_warnings": sum(1 for c in checks if not c["ok"] and c["severity"] == "varning"),
            "rejected": sum(1 for r in rows if r["status_key"] == "rejected")}
