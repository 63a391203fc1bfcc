"""Meeting packs: immutable, dated folders (HTML, Excel downloads and a PDF) for one meeting and period.

    lagesbild publish --meeting bra|council|quality|public --period 2026-Q3 [--municipality 0486]

* bra      – the BRÅ meeting's lägesbild, structured as Lag (2023:196) § 4: kartläggning, övrig information, analys
             (the coordinator's Markdown from <home>/analys/<kommunkod>-<period>.md, rendered with raw HTML disabled);
* council  – the strategic council: each priority area with a status whose rule is stated, headline figures with
             change signals, the activity-plan status table and the citizen promises' progress;
* quality  – files, quarantine and checks for data stewards;
* public   – the citizen promises and their progress per tertial (non-sensitive aggregates only).
Every pack's footer lists the source files with their sha256 and the time of publication. A later refresh never
changes an old pack: a pack folder is written once (a new publication gets a new, dated folder).
"""
from __future__ import annotations

import json
import os
from html import escape as html_escape
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from dashboards.data import SiteData
from dashboards.disclosure import Fact
from dashboards.format import fmt_date, fmt_int, quarter_label
from dashboards.render import PLOTLY_JS, STATIC, Block, jinja_env, list_packs, protect_blocks, write_atomic
from dashboards.sections.agreement import agreement_blocks, interpretation_block, interpretations_of
from dashboards.sections.common import fmt_indicator, with_revision_notes
from dashboards.sections.concern import concern_cells, concern_universe
from dashboards.sections.page import municipality_blocks
from dashboards.sections.quality import quality_context, sources_table
from sources.policy import Policy
from sources.quarter import Quarter, QuarterError
from dashboards.sections.overview import RULE, first_screen
from dashboards.signals import add_window_test, covered_quarters, municipal_population, page_family

MEETINGS = {"bra": "Lägesbild inför BRÅ", "council": "Strategiska rådet", "quality": "Datakvalitet",
            "public": "Medborgarlöften"}


class PackError(ValueError):
    """Written for the coordinator."""


def parse_period(text: str) -> tuple[int, int]:
    try:
        q = Quarter.parse(text or "")
    except QuarterError:
        raise PackError(f"Perioden \"{text}\" ska skrivas ÅÅÅÅ-Qn, t.ex. 2026-Q3.") from None
    return q.year, q.q


def until_period(data: SiteData, year: int, quarter: int) -> SiteData:
    """The data as it stands for a period: nothing after its last day enters a pack for that period."""
    key = Quarter(year, quarter).seq
    end = pd.Timestamp(year=year, month=3 * quarter, day=1) + pd.offsets.MonthEnd(0)
    marts = {}
    for name, df in data.marts.items():
        if {"year", "quarter"} <= set(df.columns):
            year_ended = (df.year < year) | ((df.year == year) & (quarter == 4))
            keep = df.quarter.isna() & year_ended | (df.quarter_seq <= key)
            marts[name] = df[keep]
        elif "period_end" in df.columns:  # periods (tertials…) that end after the pack's period are left out whole
            marts[name] = df[pd.to_datetime(df.period_end) <= end]
        elif "period_start" in df.columns:
            marts[name] = df[pd.to_datetime(df.period_start) <= end]
        elif "year" in df.columns:  # a yearly figure enters only when its whole year has ended by the period's end
            marts[name] = df[(df.year < year) | ((df.year == year) & (quarter == 4))]
        else:
            marts[name] = df
    return replace(data, marts=marts)


def render_analysis(path: Path) -> str | None:
    """The coordinator's Markdown, raw HTML disabled and personnummer masked (it is typed text like any input)."""
    from sources.privacy import mask_text

    if not path.exists():
        return None
    return MarkdownIt("commonmark", {"html": False}).render(mask_text(path.read_text(encoding="utf-8")))


def write_excel(blocks: list[Block], folder: Path, policy: Policy) -> dict[str, str]:
    """One workbook per table, with exactly the shown (formatted, suppressed) values."""
    from dashboards.excel import block_about, table_workbook

    folder.mkdir(parents=True, exist_ok=True)
    links = {}
    for b in blocks:
        name = f"{b.id}.xlsx"
        (folder / name).write_bytes(table_workbook(b.table, block_about(b, policy)))
        links[b.id] = name
    return links


def print_pdf(html: Path, pdf: Path, timeout: int = 120) -> str | None:
    """Print a page with headless Chromium; returns None on success or a reason for the coordinator."""
    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        return "PDF skapades inte: Chromium saknas (installera Debian-paketet chromium eller ange BROWSER_PATH)."
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={pdf.parent / '.chromium'}", "--virtual-time-budget=15000", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf}", html.as_uri() + "?utskrift=1"]  # ?utskrift: draw every figure, not only the first
    # a page that opens a dialog (or any other hang) must not hang publication: Chromium runs in its own process
    # group and the whole group is killed after ``timeout`` seconds; the pack is then written without a PDF
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        import signal

        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        shutil.rmtree(pdf.parent / ".chromium", ignore_errors=True)
        pdf.unlink(missing_ok=True)
        return (f"PDF skapades inte: Chromium blev inte klar inom {timeout} sekunder (t.ex. en dialogruta på sidan). "
                "Sidan och Excel-filerna är publicerade; skriv ut PDF:en från webbläsaren.")
    finally:
        if proc.poll() is None:
            proc.kill()
    shutil.rmtree(pdf.parent / ".chromium", ignore_errors=True)
    if not pdf.exists() or pdf.stat().st_size < 1000:
        return "PDF skapades inte: Chromium kunde inte skriva ut sidan."
    return None


def area_status(signals: list[dict], behind: int) -> tuple[str, int, int]:
    """The council's status for one priority area (the rule is stated on the page).

    A signal is a worsening when its direction is the bad one for the indicator (up when higher is worse, down when
    higher is better); activity counts are not judged by direction (more activities is not a worsening: their
    progress shows as 'efter plan'). Returns (status, worsening indicators, improving indicators).
    """
    judged = [s for s in signals if s["direction"] is not None and s["kind"] != "activity"]
    worse = sum((s["direction"] == "up") == s["higher_is_worse"] for s in judged)
    better = len(judged) - worse
    status = "Uppmärksamma" if worse or behind else "Förbättring" if better else "Oförändrat"
    return status, worse, better


def latest_behind(data: SiteData, code: str, agreement: dict) -> set[str]:
    """Agreement activities that are 'efter plan' in the latest tertial of the reporting year."""
    follow = data.marts["followup"]
    follow = follow[(follow.municipality_code == code) & (follow.document_id == agreement["id"])
                    & (follow.grain == "tertial")]
    if follow.empty:
        return set()
    year = pd.to_datetime(follow.period_start).dt.year.max()
    latest = follow[pd.to_datetime(follow.period_start).dt.year == year].sort_values("period_start")
    latest = latest.groupby("item_id").tail(1)
    return set(latest[latest.status == "efter plan"].item_id)


def strategic_blocks(data: SiteData, code: str, policy: Policy) -> tuple[dict | None, list[Block]]:
    """Each priority area with a status (rule stated), headline figures, activity status, promise progress."""
    family = page_family(data, code, policy, resolve=False)
    crime = data.of("crime_by_quarter", code)
    crime = crime[crime.counts_as_crime]
    headline = []
    if not crime.empty:
        last = crime.sort_values(["year", "quarter"]).iloc[-1]
        key = int(last.quarter_seq)
        pop = municipal_population(data, code)
        for label, mart, col, feed in (("Anmälda brott", "crime_by_quarter", "crimes", "crime"),
                                       ("EST-händelser", "est_by_quarter", "events", "est"),
                                       ("Orosanmälningar", "concern_by_quarter", "reports", "concern")):
            df = data.marts[mart]
            df = df[df.municipality_code == code]
            if df.empty:
                continue
            covered = covered_quarters(df)
            if mart == "crime_by_quarter":
                df = df[df.counts_as_crime]
            series = df.groupby("quarter_seq")[col].sum()
            add_window_test(family, ("head", label), series, covered, key, 4, feed, pop)
            headline.append(label)
    family.resolve()
    agreement, plan_blocks = agreement_blocks(data, code, policy, family)
    if agreement is None:
        return None, []
    agreement["first_screen"] = first_screen(data, code, agreement["id"], family, plan_blocks, area_status,
                                             link="#omradesstatus")
    follow = next((b for b in plan_blocks if b.id == "uppfoljning"), None)
    behind_ids = latest_behind(data, code, agreement)
    links = data.plan.get("activity_areas", pd.DataFrame(columns=["priority_area_id", "activity_id"]))
    rows = []
    for b in plan_blocks:
        if not b.id.startswith("omrade-"):
            continue
        area_ids = set(links[links.priority_area_id == b.id.removeprefix("omrade-")].activity_id)
        status, worse, better = area_status(b.signals, len(area_ids & behind_ids))
        rows.append({"Prioriterat område": b.title, "Status": status,
                     "Indikatorer med försämring": worse, "Indikatorer med förbättring": better,
                     "Aktiviteter efter plan": len(area_ids & behind_ids)})
    status_table = pd.DataFrame(rows)
    blocks = [Block(
        id="omradesstatus", section="Samverkansöverenskommelsen", title="Status per prioriterat område",
        description=("Regel: Uppmärksamma = minst en indikator visar en försämring (möjlig eller tydlig förändring åt "
                     "fel håll, de fyra senaste kvartalen mot de fyra före, eller en säkerställd förändring åt fel håll "
                     "i trygghetsmätningen) eller minst en av områdets aktiviteter ligger efter plan. Förbättring = "
                     "minst en indikator visar en förbättring och ingen en försämring. Oförändrat = i övrigt. Antal "
                     "genomförda aktiviteter bedöms inte efter riktning. En ökning av anmälda brott kan spegla fler "
                     "insatser (t.ex. narkotika, trafik)."),
        figure=None, table=status_table, source="Indikatorer och aktivitetslogg enligt överenskommelsen",
        period=agreement["period"], status="Preliminära uppgifter för senaste kvartalet.")]
    # headline figures with honest change signals (tested together with the indicators above)
    head = []
    facts = []
    for label in headline:
        sig = family.get(("head", label))
        sensitive = label == "Orosanmälningar"
        shown_now, shown_before = (("saknas", "saknas") if sig.missing is not None else
                                   (fmt_indicator("concern" if sensitive else "crime", sig.now, policy),
                                    fmt_indicator("concern" if sensitive else "crime", sig.before, policy)))
        if sensitive and sig.missing is None:
            concern = data.marts["concern_by_quarter"]
            universe = concern_universe(concern[concern.municipality_code == code])
            for column, first, last, shown in (("Senaste fyra kvartalen", key - 3, key, shown_now),
                                               ("Fyra kvartal före", key - 7, key - 4, shown_before)):
                window = {(y, q) for y, q in universe[0] if first <= Quarter(y, q).seq <= last}
                facts.append(Fact("nyckeltal", "Nyckeltal", label, column,
                                           concern_cells(universe, window), shown, (len(head), column)))
        head.append({"Mått": label, "Senaste fyra kvartalen": shown_now, "Fyra kvartal före": shown_before,
                     "Förändring": sig.text(percent=not sensitive),
                     "Spridning φ": family.dispersion(("head", label)).text()})
    if head:
        blocks.append(Block(id="nyckeltal", section="Samverkansöverenskommelsen", title="Nyckeltal",
                            description=family.note(),
                            figure=None, table=pd.DataFrame(head), source="Polisens export, EST, socialtjänsten",
                            period=agreement["period"], status="Preliminära uppgifter.", facts=facts))
    if follow is not None:
        blocks.append(follow)
    blocks += promise_blocks(data, code)
    return agreement, blocks


def promise_blocks(data: SiteData, code: str) -> list[Block]:
    """Citizen promises and their progress per tertial: occasions of their linked activities or targets."""
    docs = data.plan.get("promise_docs", pd.DataFrame())
    if docs.empty:
        return []
    docs = docs[docs.municipality_code == code].sort_values("valid_from")
    if docs.empty:
        return []
    doc = docs.iloc[-1]
    promises = data.plan["promises"][data.plan["promises"].promise_doc_id == doc.promise_doc_id].sort_values("ordinal")
    links = data.plan["promise_activities"]
    targets = data.plan["promise_targets"]
    follow = data.marts["followup"]
    follow = follow[(follow.municipality_code == code) & (follow.grain == "tertial")]
    tertials = sorted(pd.to_datetime(follow[(pd.to_datetime(follow.period_start) >= pd.Timestamp(doc.valid_from))
                                            & (pd.to_datetime(follow.period_start) <= pd.Timestamp(doc.valid_to))]
                                     .period_start).unique())
    rows = []
    for p in promises.itertuples():
        items = set(links[(links.promise_doc_id == doc.promise_doc_id) & (links.promise_id == p.promise_id)].activity_id)
        items |= set(targets[(targets.promise_doc_id == doc.promise_doc_id) & (targets.promise_id == p.promise_id)].target_id)
        row = {"Löfte": " ".join(str(p.text).split())}
        for t in tertials:
            part = follow[(follow.item_id.isin(items)) & (pd.to_datetime(follow.period_start) == t)]
            part = part.drop_duplicates("item_id")
            label = f"T{(t.month - 1) // 4 + 1} {t.year}"
            row[label] = fmt_int(part.done_in_period.sum()) if items else "–"
        rows.append(row)
    marks = interpretations_of(data, doc.promise_doc_id)
    cadence = getattr(doc, "reporting_cadence_label", None)
    reporting = ""
    if isinstance(cadence, str) and cadence:
        reporting = f" Dokumentet anger uppföljning {cadence}."
        why = marks[(marks.item_type == "reporting") & (marks.field == "cadence")].why
        if len(why):  # the document does not say so: the encoding's reading, with its reason
            reporting = f" Uppföljning {cadence} (tolkning, inte dokumentets text: {why.iloc[0]})"
    linked = marks[(marks.item_type == "promises") & (marks.field == "activities")].why
    if len(linked):
        reporting += f" Kopplingen mellan löften och aktiviteter är en tolkning: {linked.iloc[0]}"
    blocks = [Block(
        id="medborgarloften", section="Medborgarlöften", title=f"{doc.title}: genomfört per tertial",
        description=("Antal genomförda tillfällen per tertial för de aktiviteter och mål som hör till varje löfte "
                     "(enligt aktivitetsloggen)." + reporting),
        figure=None, table=pd.DataFrame(rows), source="Aktivitetslogg; medborgarlöften",
        period=f"{fmt_date(pd.Timestamp(doc.valid_from).date())} – {fmt_date(pd.Timestamp(doc.valid_to).date())}",
        status="Enligt aktivitetsloggen.")]
    note = interpretation_block(data, doc.promise_doc_id, "medborgarlöftena")
    if note is not None:
        note.section = "Medborgarlöften"
        blocks.append(note)
    return blocks


def build_pack(data: SiteData, meeting: str, code: str, period: str, site_dir: Path, policy: Policy,
               analysis_dir: Path | None = None, pdf: bool = True) -> Path:
    if meeting not in MEETINGS:
        raise PackError(f"Okänt möte \"{meeting}\". Välj ett av: {', '.join(MEETINGS)}.")
    year, quarter = parse_period(period)
    if code not in data.municipalities:
        raise PackError(f"Det finns inga uppgifter för kommunkod {code}.")
    data = until_period(data, year, quarter)
    stamp = data.published_at.strftime("%Y%m%dT%H%M%S")
    folder = Path(site_dir) / "packs" / f"{meeting}-{code}-{period}-{stamp}"
    if folder.exists():
        raise PackError(f"Mötespaketet {folder.name} finns redan och ändras aldrig. Vänta en sekund och publicera igen.")
    tmp = folder.with_name("." + folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    name = data.municipalities[code]
    parts: list[tuple[str, dict[str, list[Block]]]] = []
    analysis = None
    agreement = None
    if meeting == "bra":
        family = page_family(data, code, policy)  # every count comparison in the pack, adjusted together
        agreement, plan_blocks = agreement_blocks(data, code, policy, family)
        if agreement is not None:
            agreement["first_screen"] = first_screen(data, code, agreement["id"], family, plan_blocks, area_status)
        parts.append(("1. Kartläggning", _sections(municipality_blocks(data, code, policy, family))))
        parts.append(("2. Övrig information: samverkansöverenskommelsen", _sections(plan_blocks)))
        analysis_file = (analysis_dir or Path(site_dir).parent / "analys") / f"{code}-{period}.md"
        analysis = render_analysis(analysis_file) or (
            # no server path on the page (and nothing unescaped): only the file's own name, escaped
            f"<p>Ingen analys är skriven ännu. Samordnaren skriver den i filen <code>{html_escape(analysis_file.name)}</code> "
            "i mappen <code>analys</code> (Markdown) och publicerar paketet igen.</p>")
    elif meeting == "council":
        agreement, blocks = strategic_blocks(data, code, policy)
        parts.append(("Strategiska rådet", _sections(blocks)))
    elif meeting == "public":
        parts.append(("Medborgarlöften", _sections(promise_blocks(data, code))))
    all_blocks = with_revision_notes([b for _, secs in parts for bl in secs.values() for b in bl],
                                              data.revisions)
    protect_blocks(all_blocks, policy, f"mötespaketet {folder.name}")  # the whole pack is one release
    excel = write_excel(all_blocks, tmp, policy)
    env = jinja_env()
    shutil.copy2(STATIC / "site.css", tmp / "site.css")
    title = f"{MEETINGS[meeting]} – {name} – {quarter_label(year, quarter)}"
    if meeting == "quality":
        html = env.get_template("quality.html").render(title=title, published=fmt_date(data.published_at),
                                                      plotly_js=None, pack=True, **quality_context(data))
    else:
        sources = sources_table(data.files) if meeting != "public" else []
        html = env.get_template("pack.html").render(
            title=title, parts=parts, analysis=analysis, agreement=agreement, excel=excel,
            published=fmt_date(data.published_at), sources=sources, pack=True,
            plotly_js=f"../../{PLOTLY_JS}" if any(b.figure is not None for b in all_blocks) else None,
            public=meeting == "public", rule=RULE)
    write_atomic(tmp / "index.html", html)
    meta = {"meeting": meeting, "meeting_title": MEETINGS[meeting], "municipality_code": code, "municipality": name,
            "period": period, "period_label": quarter_label(year, quarter),
            "published": data.published_at.isoformat(timespec="seconds"), "figures": sum(b.figure is not None for b in all_blocks),
            "pdf": None}
    if pdf:
        reason = print_pdf(tmp / "index.html", tmp / f"{meeting}-{code}-{period}.pdf")
        meta["pdf"] = None if reason else f"{meeting}-{code}-{period}.pdf"
        meta["pdf_problem"] = reason
    (tmp / "pack.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, folder)  # the pack appears whole or not at all
    for p in folder.rglob("*"):
        if p.is_file():
            p.chmod(0o444)  # immutable by intent: a refresh writes new packs, never into old ones
    return folder


def _sections(blocks: list[Block]) -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {}
    for b in blocks:
        out.setdefault(b.section, []).append(b)
    return out


def published_at_now() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Stockholm")).replace(tzinfo=None, microsecond=0)
