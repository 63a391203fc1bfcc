"""Deterministic sample exports for Strängnäs kommun (0486), 2021-01 to 2026-09.

The generator writes *export files* (CSV in three dialects and XLSX with title rows) into
``<out>/<feed>/``; they enter the warehouse through the same readers and profiles as real files.
Volumes follow the real municipality's scale (≈ 39 000 inhabitants, ≈ 3 000 reported crimes a year) with
seasonality, a category mix close to the national one, ~3 % of crimes without a place, EST events with
weekday × hour patterns and hot spots, concern-report aggregates and a yearly weighted survey.
The same arguments always give byte-identical files.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from sources.taxonomy import read_reference

MUNICIPALITY = "0486"
SEED = 486


@dataclass(frozen=True)
class District:
    code: str
    name: str
    lat: float
    lon: float
    population_2020: int
    crime_factor: float  # crimes per inhabitant relative to the municipality


DISTRICTS = [
    District("0486-01", "Strängnäs tätort", 59.3770, 17.0310, 23300, 1.25),
    District("0486-02", "Mariefred", 59.2590, 17.2230, 4550, 0.85),
    District("0486-03", "Åkers styckebruk", 59.2480, 17.0900, 3750, 0.80),
    District("0486-04", "Stallarholmen", 59.3660, 17.2050, 2100, 0.60),
    District("0486-05", "Landsbygd", 59.3200, 17.1000, 4800, 0.55),
]

# (place, district, lat, lon, weight, growth per year from 2025) – EST hot spots
HOT_SPOTS = [
    ("Strängnäs resecentrum", "0486-01", 59.3745, 17.0334, 9.0, 0.35),
    ("Nygatan – centrum", "0486-01", 59.3777, 17.0300, 6.0, 0.0),
    ("Långbergaskolan", "0486-01", 59.3680, 17.0180, 4.0, 0.0),
    ("Finninge centrum", "0486-01", 59.3860, 17.0080, 3.5, 0.0),
    ("Visholmens badplats", "0486-01", 59.3810, 17.0440, 2.5, 0.0),
    ("Mariefreds hamn", "0486-02", 59.2590, 17.2240, 3.0, 0.0),
    ("Åkers centrum", "0486-03", 59.2490, 17.0900, 3.0, 0.0),
    ("Stallarholmens skola", "0486-04", 59.3660, 17.2050, 1.5, 0.0),
]

# Level-2 crime categories and their share of reported crime (rough national mix), yearly trend factor.
CRIME_MIX = {
    "Tillgreppsbrott (exkl i butik)": (0.24, 0.98),
    "Tillgrepp i butik": (0.05, 1.02),
    "Skadegörelsebrott": (0.12, 1.00),
    "Våldsbrott": (0.10, 1.00),
    "Övriga brott mot person": (0.10, 1.01),
    "Bedrägeribrott m.m.": (0.17, 1.07),
    "Narkotikabrott": (0.06, 1.03),
    "Trafikbrott": (0.06, 1.00),
    "Övriga BrB-brott": (0.04, 1.00),
    "Övriga specialstraffrättsliga brott": (0.03, 1.00),
    "Lokala trafikkoder": (0.03, 1.00),
}
MONTH_SEASON = np.array([0.88, 0.85, 0.93, 0.96, 1.05, 1.10, 1.12, 1.12, 1.02, 0.99, 0.98, 1.00])

EST_MIX = [  # category, subcategory, share, hours (peak), weekend factor, summer factor
    ("Skadegörelse", "Klotter", 0.20, (7, 10), 0.8, 1.1),
    ("Skadegörelse", "Glaskross", 0.08, (6, 9), 1.2, 1.0),
    ("Skadegörelse", "Brand", 0.04, (20, 23), 1.4, 1.3),
    ("Skadegörelse", "Övrig skadegörelse", 0.07, (7, 10), 1.0, 1.0),
    ("Nedskräpning", "Nedskräpning", 0.24, (8, 12), 1.1, 1.5),
    ("Otrygghetsskapande samling av personer", "Samling av personer", 0.09, (19, 23), 2.2, 1.6),
    ("Annat otrygghetsskapande/ordningsstörande", "Bråk eller våld", 0.03, (21, 24), 2.5, 1.3),
    ("Annat otrygghetsskapande/ordningsstörande", "Misstänkt droghantering", 0.04, (18, 23), 1.5, 1.2),
    ("Annat otrygghetsskapande/ordningsstörande", "Buskörning", 0.04, (17, 22), 1.6, 1.8),
    ("Annat otrygghetsskapande/ordningsstörande", "Övrigt ordningsstörande", 0.03, (18, 23), 1.5, 1.2),
    ("Otrygg plats", "Belysning", 0.05, (16, 20), 1.0, 0.4),
    ("Otrygg plats", "Insyn och ödslighet", 0.03, (10, 16), 1.0, 1.0),
    ("Arrangemang", "Arrangemang", 0.02, (12, 20), 2.0, 2.0),
    ("Incident mot anställd", "Incident mot anställd", 0.03, (9, 17), 0.6, 1.0),
]
EST_TEXT = {
    "Klotter": ["Klotter på busskur vid {p}", "Nya taggar på fasaden, {p}", "Klotter på elskåp nära {p}"],
    "Glaskross": ["Krossad ruta i entrén, {p}", "Glaskross på gångvägen vid {p}"],
    "Brand": ["Brand i papperskorg vid {p}", "Anlagd brand i container, {p}"],
    "Övrig skadegörelse": ["Sönderslagen bänk, {p}", "Skadad belysningsstolpe vid {p}"],
    "Nedskräpning": ["Nedskräpning kring återvinningsstationen, {p}", "Mycket skräp efter helgen vid {p}"],
    "Samling av personer": ["Grupp om cirka 10 ungdomar, högljudda, {p}", "Samling av personer sent på kvällen vid {p}"],
    "Bråk eller våld": ["Bråk mellan flera personer vid {p}", "Hot och knuffar vid {p}"],
    "Misstänkt droghantering": ["Misstänkt langning vid {p}", "Lukt av cannabis och kanyler vid {p}"],
    "Buskörning": ["Buskörning med moped på gångvägen, {p}", "A-traktorer kör i hög fart genom {p}"],
    "Övrigt ordningsstörande": ["Störande beteende vid {p}"],
    "Belysning": ["Trasig belysning längs gångvägen vid {p}", "Mörkt i gångtunneln, {p}"],
    "Insyn och ödslighet": ["Igenvuxen buskage skymmer insynen, {p}"],
    "Arrangemang": ["Marknad vid {p}, mycket folk"],
    "Incident mot anställd": ["Personal hotad vid {p}", "Busschaufför utsatt för hot, {p}"],
}
REPORTERS = ["Strängnäs kommun – fältverksamhet", "Strängnäs Bostads AB", "Bevakningsföretag", "Polisen",
             "Räddningstjänsten", "Kommunens gatuenhet", "Kollektivtrafiken"]

CONCERN = {
    "age": [("0-12 år", 0.50), ("13-17 år", 0.42), ("18-20 år", 0.08)],
    "sex": [("Flicka", 0.48), ("Pojke", 0.50), ("Uppgift saknas", 0.02)],
    "reason": [("Barnets eget beteende", 0.30), ("Våld i nära relation", 0.25), ("Förälderns problem", 0.30),
               ("Hedersrelaterat", 0.03), ("Övrigt", 0.12)],
    "reporter": [("Skola", 0.28), ("Polis", 0.30), ("Hälso- och sjukvård", 0.12), ("Socialtjänst", 0.10),
                 ("Privatperson", 0.10), ("Annan", 0.10)],
}
SURVEY_ITEMS = [  # column header, base probability, district effects, women effect, yearly trend
    ("Otrygg sent på kvällen", 0.22, {"0486-01": 0.05, "0486-05": -0.07}, 0.12, 0.004),
    ("Orolig för brottsligheten", 0.45, {"0486-01": 0.03}, 0.08, 0.005),
    ("Problem nedskräpning", 0.30, {"0486-01": 0.06, "0486-02": -0.04}, 0.0, 0.0),
    ("Problem narkotikaförsäljning", 0.12, {"0486-01": 0.05, "0486-05": -0.06}, 0.0, 0.006),
    ("Förtroende för polisen", 0.62, {}, 0.03, -0.004),
]
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
LAST_DAY = date(2026, 9, 30)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *key])


def _population(year: int, d: District) -> int:
    return int(round(d.population_2020 * (1.008 ** (year - 2020))))


def _write_csv(path: Path, header: list[str], rows: list[list], delimiter: str, encoding: str,
               bom: bool = False, title_rows: list[str] | None = None) -> None:
    buf = io.StringIO()
    for t in title_rows or []:
        buf.write(t + "\r\n")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _sv_decimal(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _months(first_year: int, last: date):
    y, m = first_year, 1
    while date(y, m, 1) <= last:
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _days_in_month(y: int, m: int) -> int:
    return ((date(y + (m == 12), m % 12 + 1, 1)) - date(y, m, 1)).days


def write_areas(out: Path) -> list[Path]:
    """The districts as GeoJSON with schematic outlines (sources/sample_geo.py: not real boundaries)."""
    from sources.sample_geo import write_areas_geojson

    return [write_areas_geojson(out / "areas" / f"omraden_{MUNICIPALITY}.geojson", MUNICIPALITY,
                                [(d.code, d.name, d.lat, d.lon) for d in DISTRICTS])]


def write_population(out: Path, first_year: int, last: date) -> list[Path]:
    shares = {"0-17 år": 0.22, "18-64 år": 0.57, "65+ år": 0.21}
    rows = []
    for year in range(first_year - 1, last.year):  # 31 December of the previous years
        for d in DISTRICTS:
            total = _population(year, d)
            kids = int(round(total * shares["0-17 år"]))
            old = int(round(total * shares["65+ år"]))
            for band, n in (("0-17 år", kids), ("18-64 år", total - kids - old), ("65+ år", old)):
                rows.append([MUNICIPALITY, d.code, year, band, n, "Ja"])
    p = out / "population" / f"folkmangd_{MUNICIPALITY}_{first_year - 1}-{last.year - 1}.tsv"
    _write_csv(p, ["Kommunkod", "Områdeskod", "År", "Ålder", "Folkmängd", "Slutlig"], rows, "\t", "utf-8")
    return [p]


def _crime_codes_by_category() -> dict[str, list[str]]:
    by: dict[str, list[str]] = {}
    for r in read_reference("crime_codes"):
        by.setdefault(r["level2"], []).append(r["crime_code"])
    return by


def write_crime_reports(out: Path, first_year: int, last: date, scale: float) -> list[Path]:
    codes = _crime_codes_by_category()
    cats = list(CRIME_MIX)
    weights = np.array([CRIME_MIX[c][0] for c in cats])
    weights = weights / weights.sum()
    dist_w = np.array([_population(2023, d) * d.crime_factor for d in DISTRICTS], dtype=float)
    dist_w /= dist_w.sum()
    paths = []
    for year in range(first_year, last.year + 1):
        rng = _rng(1, year)
        rows = []
        report_no = 0
        for y, m in _months(year, last):
            if y != year:
                break
            for ci, cat in enumerate(cats):
                trend = CRIME_MIX[cat][1] ** (year - first_year)
                lam = 3000 * scale / 12 * weights[ci] * MONTH_SEASON[m - 1] * trend
                if cat == "Skadegörelsebrott" and year == 2026:
                    lam *= 1.35  # a real rise the change signal should pick up
                n = rng.poisson(lam)
                pool = codes[cat]
                zipf = 1.0 / np.arange(1, len(pool) + 1) ** 1.3
                zipf /= zipf.sum()
                for _ in range(n):
                    report_no += 1
                    day = int(rng.integers(1, _days_in_month(y, m) + 1))
                    offence = date(y, m, day)
                    registered = offence + timedelta(days=int(rng.geometric(0.45) - 1))
                    if registered > last:
                        registered = last
                    if registered.year != year:
                        registered = date(year, 12, 31)
                    di = int(rng.choice(len(DISTRICTS), p=dist_w))
                    area = "" if rng.random() < 0.03 else DISTRICTS[di].code
                    code = pool[int(rng.choice(len(pool), p=zipf))]
                    rid = f"5000-K{report_no:06d}-{year % 100:02d}"
                    offence_txt = "-" if rng.random() < 0.02 else offence.isoformat()
                    count = 1 if rng.random() < 0.95 else int(rng.integers(2, 5))
                    rows.append([rid, 1, code, registered.isoformat(), offence_txt, MUNICIPALITY, area, count])
                    if rng.random() < 0.08:  # a second crime in the same report
                        code2 = pool[int(rng.choice(len(pool), p=zipf))]
                        rows.append([rid, 2, code2, registered.isoformat(), offence_txt, MUNICIPALITY, area, 1])
        rows.sort(key=lambda r: (r[3], r[0], r[1]))
        if year == 2024:  # what real exports contain now and then: the quarantine must catch them
            rows.append([f"5000-K{report_no + 1:06d}-24", 1, "12AB", "2024-06-03", "2024-06-01", MUNICIPALITY, "0486-01", 1])
            rows.append([f"5000-K{report_no + 2:06d}-24", 1, "1212", "2024-02-31", "2024-02-28", MUNICIPALITY, "0486-02", 1])
            rows.append([rows[0][0], rows[0][1], rows[0][2], rows[0][3], rows[0][4], MUNICIPALITY, rows[0][6], 1])
        p = out / "crime_reports" / f"brott_{MUNICIPALITY}_{year}.csv"
        _write_csv(p, ["Diarienummer", "Brottsnummer", "Brottskod", "Inskrivningsdatum", "Brottsdatum från",
                       "Kommunkod", "Områdeskod", "Antal brott"], rows, ";", "utf-8", bom=True)
        paths.append(p)
    return paths


def write_concern_reports(out: Path, first_year: int, last: date, scale: float) -> list[Path]:
    dims = [CONCERN[k] for k in ("age", "sex", "reason", "reporter")]
    cells = [(a[0], s[0], r[0], t[0]) for a in dims[0] for s in dims[1] for r in dims[2] for t in dims[3]]
    probs = np.array([a[1] * s[1] * r[1] * t[1] for a in dims[0] for s in dims[1] for r in dims[2] for t in dims[3]])
    probs /= probs.sum()
    paths = []
    for year in range(first_year, last.year + 1):
        rng = _rng(2, year)
        rows = []
        for y, m in _months(year, last):
            if y != year:
                break
            total = rng.poisson(135 * scale * (1.03 ** (year - first_year)) * (0.8 if m == 7 else 1.0))
            counts = rng.multinomial(total, probs)
            for cell, n in zip(cells, counts):
                if n:
                    rows.append([MUNICIPALITY, f"{y}-{m:02d}", *cell, int(n)])
        p = out / "concern_reports" / f"orosanmalningar_{MUNICIPALITY}_{year}.csv"
        _write_csv(p, ["Kommunkod", "Månad", "Åldersgrupp", "Kön", "Skäl", "Anmälare", "Antal anmälningar"],
                   rows, ";", "cp1252")
        paths.append(p)
    return paths


def write_est_events(out: Path, first_year: int, last: date, scale: float) -> list[Path]:
    shares = np.array([e[2] for e in EST_MIX])
    shares /= shares.sum()
    paths = []
    event_no = 0
    for year in range(first_year, last.year + 1):
        rng = _rng(3, year)
        rows = []
        spot_w = np.array([w * (1 + g) ** max(0, year - 2024) for _, _, _, _, w, g in HOT_SPOTS])
        spot_w = np.append(spot_w, 12.0)  # events elsewhere
        spot_w /= spot_w.sum()
        for y, m in _months(year, last):
            if y != year:
                break
            summer = m in (6, 7, 8)
            for ei, (cat, sub, _, (h0, h1), wk, sf) in enumerate(EST_MIX):
                lam = 900 * scale / 12 * shares[ei] * (sf if summer else 1.0) * (1.04 ** (year - first_year))
                for _ in range(rng.poisson(lam)):
                    event_no += 1
                    # weekday: weekend days weighted by wk
                    days = [date(y, m, d) for d in range(1, _days_in_month(y, m) + 1)]
                    dw = np.array([wk if d.weekday() >= 4 else 1.0 for d in days])
                    day = days[int(rng.choice(len(days), p=dw / dw.sum()))]
                    hour = int(rng.integers(h0, h1 + 1)) % 24 if rng.random() < 0.75 else int(rng.integers(0, 24))
                    ts = datetime(day.year, day.month, day.day, hour, int(rng.integers(0, 60)))
                    si = int(rng.choice(len(spot_w), p=spot_w))
                    if si < len(HOT_SPOTS):
                        place, area, lat, lon, _, _ = HOT_SPOTS[si]
                        lat += rng.normal(0, 0.0004)
                        lon += rng.normal(0, 0.0006)
                    else:
                        d = DISTRICTS[int(rng.integers(0, len(DISTRICTS)))]
                        place, area = f"Övrig plats, {d.name}", d.code
                        lat, lon = d.lat + rng.normal(0, 0.01), d.lon + rng.normal(0, 0.015)
                    texts = EST_TEXT[sub]
                    text = texts[int(rng.integers(0, len(texts)))].format(p=place)
                    if event_no % 397 == 0:
                        text += ". Kontaktperson 19121212-1212 har informerats"  # must be masked at the door
                    if event_no % 1499 == 0:
                        text += ' <script>alert("x")</script>'  # must be escaped on pages
                    status = ["Ny", "Granskad", "Avslutad"][int(rng.choice(3, p=[0.1, 0.3, 0.6]))]
                    rows.append([f"EST-{year}-{event_no:06d}", ts.strftime("%Y-%m-%d %H:%M"), MUNICIPALITY, area, place,
                                 f"{lat:.5f}", f"{lon:.5f}", cat, sub, REPORTERS[int(rng.integers(0, len(REPORTERS)))],
                                 text, status])
        rows.sort(key=lambda r: (r[1], r[0]))
        p = out / "est_events" / f"est_{MUNICIPALITY}_{year}.csv"
        _write_csv(p, ["Händelse-id", "Tidpunkt", "Kommunkod", "Områdeskod", "Plats", "Latitud", "Longitud",
                       "Kategori", "Underkategori", "Rapportör", "Beskrivning", "Status"], rows, ",", "utf-8")
        paths.append(p)
    return paths


def _deterministic_xlsx(wb, path: Path) -> None:
    """openpyxl stamps the current time into the zip and core properties: rewrite with fixed times."""
    fixed = datetime(*FIXED_ZIP_TIME)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "lagesbild sample"
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            payload = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the time of saving
                payload = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>2026-01-01T00:00:00Z\g<2>", payload)
            dst.writestr(zi, payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def write_survey(out: Path, first_year: int, last: date, scale: float) -> list[Path]:
    from openpyxl import Workbook

    pops = np.array([_population(2023, d) for d in DISTRICTS], dtype=float)
    pop_share = pops / pops.sum()
    sample_share = np.full(len(DISTRICTS), 1 / len(DISTRICTS))  # equal allocation: small areas oversampled
    paths = []
    for year in range(first_year, last.year + 1):
        rng = _rng(4, year)
        n = max(60, int(round(900 * scale)))
        wb = Workbook()
        ws = wb.active
        ws.title = "Svar"
        ws.append([f"Trygghetsmätning Strängnäs kommun {year}"])
        ws.append(["Svar per respondent med designvikter. Källa: kommunens trygghetsmätning (exempeldata)."])
        ws.append([])
        ws.append(["Löpnummer", "År", "Kommunkod", "Områdeskod", "Kön", "Åldersgrupp", "Vikt"]
                  + [i[0] for i in SURVEY_ITEMS])
        for r in range(1, n + 1):
            di = int(rng.choice(len(DISTRICTS), p=sample_share))
            d = DISTRICTS[di]
            woman = rng.random() < 0.52
            weight = pop_share[di] / sample_share[di] * rng.uniform(0.7, 1.3) * (pops.sum() / n) / 40
            answers = []
            for _, base, eff, fem, trend in SURVEY_ITEMS:
                p = base + eff.get(d.code, 0.0) + (fem if woman else 0.0) + trend * (year - first_year)
                if rng.random() < 0.03:
                    answers.append(None)
                else:
                    answers.append("Ja" if rng.random() < min(max(p, 0.01), 0.99) else "Nej")
            ws.append([f"{year}-{r:05d}", year, MUNICIPALITY, d.code, "Kvinna" if woman else "Man",
                       ["16-29", "30-49", "50-64", "65-84"][int(rng.integers(0, 4))], round(weight, 4)] + answers)
        info = wb.create_sheet("Om mätningen")
        info.append(["Urval: slumpmässigt, lika många per kommundel; vikter återställer befolkningsfördelningen."])
        p = out / "survey_responses" / f"trygghetsmatning_{MUNICIPALITY}_{year}.xlsx"
        _deterministic_xlsx(wb, p)
        paths.append(p)
    return paths


# Strängnäs agreement activities and 2020 promise targets: occasions a year (id, party, per year, note)
ACTIVITY_PLAN = [
    ("sspf", "Kommunen", 10, "SSPF-möte"), ("linkopingsmodellen", "Polisen", 8, "Hembesök"),
    ("strangnasmodellen", "Kommunen", 6, "Hembesök"), ("samverkan-evenemang", "Kommunen", 4, "Samverkan vid evenemang"),
    ("trygghetsvandringar", "Kommunen", 3, "Trygghetsvandring"), ("sociala-medier", "Kommunen", 24, "Gemensamt inlägg"),
    ("skydd-bedrageri", "Polisen", 4, "Information om bedrägerier"), ("grannsamverkan", "Polisen", 2, "Informationsträff"),
    ("malgruppskommunikation", "Kommunen", 3, "Riktad kommunikation"), ("kunskap-temadagar", "Kommunen", 2, "Temadag"),
    ("trafikovervakning", "Polisen", 12, "Hastighets- och nykterhetskontroll"),
    ("riktad-information-trafik", "Kommunen", 2, "Information"), ("trafiksakerhet-unga", "Kommunen", 2, "Samverkansmöte"),
    ("gemensam-tillsyn", "Kommunen", 4, "Tillsyn"), ("hyresvardsnatverket", "Kommunen", 3, "Nätverksträff"),
    ("naringslivets-delaktighet", "Kommunen", 1, "Möte"), ("forum-naringsidkare", "Kommunen", 2, "Forum"),
    ("aas", "Kommunen", 1, "Utbildning Ansvarsfull alkoholservering"), ("kmk", "Polisen", 1, "Krogar mot knark"),
    ("myndighetssamrad", "Polisen", 2, "Samråd"),
]
PROMISE_2020 = [("planlagda-insatser", "Polisen", 2), ("narkotikasok-hund", "Polisen", 2),
                ("foraldratraffar", "Kommunen", 1),  # one of the promised two: shown as behind
                ("avloppsvatten", "Kommunen", 1), ("informationstraffar-orosanmalan", "Kommunen", 2),
                ("tata-kontakter", "Polisen", 12)]


def write_activity_log(out: Path, last: date) -> list[Path]:
    """What the parties did, per year from 2020 (the 2020 citizen promise) to ``last``."""
    paths = []
    for year in range(2020, last.year + 1):
        rng = _rng(5, year)
        start = date(2020, 3, 16) if year == 2020 else date(year, 1, 1)
        end = min(date(year, 12, 31), last)
        days = (end - start).days + 1
        plan = [(a, p, n, t) for a, p, n, t in ACTIVITY_PLAN]
        if year == 2020:
            plan = [(a, p, n, "Medborgarlöfte 2020") for a, p, n in PROMISE_2020]
        rows = []
        for activity, party, per_year, note in plan:
            if activity == "aas" and year == 2025:
                continue  # the yearly AAS training was not held in 2025: the follow-up shows it
            n = int(round(per_year * days / 365)) if year < last.year else int(rng.poisson(per_year * days / 365))
            for d in sorted(rng.choice(days, size=min(n, days), replace=False)):
                rows.append([MUNICIPALITY, (start + timedelta(days=int(d))).isoformat(), activity, 1, party, note])
        rows.sort(key=lambda r: (r[1], r[2]))
        p = out / "activity_log" / f"aktivitetslogg_{MUNICIPALITY}_{year}.csv"
        _write_csv(p, ["Kommunkod", "Datum", "Aktivitet-id", "Antal", "Part", "Anteckning"], rows, ";", "utf-8")
        paths.append(p)
    return paths


ANALYSIS = """# Analys inför BRÅ, kvartal 3 2026

**Sammanfattning.** Skadegörelsen har ökat tydligt under det senaste året, främst i Strängnäs tätort och kring
resecentrum, där EST-rapporterna om klotter och samlingar på kvällstid också ökar. Övriga brottskategorier ligger
på samma nivå som året innan.

## Bedömning

- Ökningen av skadegörelse är en *tydlig förändring* enligt förändringssignalen, inte slumpmässig variation.
- Trygghetsmätningen visar ingen säkerställd förändring i andelen otrygga sent på kvällen.
- Den årliga utbildningen i Ansvarsfull alkoholservering genomfördes inte 2025.

## Förslag till åtgärder

1. Trygghetsvandring vid resecentrum med bostadsbolaget och kollektivtrafiken under oktober.
2. Förstärkt EST-rapportering och klottersanering inom 24 timmar vid resecentrum.

<script>alert("inskickad text ska aldrig köras")</script>
"""


def write_analysis(home_analysis: Path) -> Path:
    """The coordinator's written analysis for the sample period (Markdown, rendered on the BRÅ pack)."""
    path = home_analysis / f"{MUNICIPALITY}-2026-Q3.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ANALYSIS, encoding="utf-8")
    return path


def write_bra_indicators(out: Path, first_year: int, last: date) -> list[Path]:
    from sources.sample_bra import write_bra_indicators as write

    return write(out, first_year, last, _rng, _write_csv)


MUNICIPALITIES = ("0486", "0484", "0181")  # Strängnäs (every feed), Eskilstuna and Södertälje (sources/sample_more.py)


WORKERS_ENV = "LAGESBILD_SAMPLE_WORKERS"


def _write_one(task: tuple) -> dict[str, list[Path]]:
    """One independent part of the sample (its own files, its own random streams): the same bytes in any process."""
    kind, out, first_year, last, scale, arg = task
    if kind == "0486":  # written in this order, as listed
        return {"areas": write_areas(out), "population": write_population(out, first_year, last),
                "crime_reports": write_crime_reports(out, first_year, last, scale),
                "concern_reports": write_concern_reports(out, first_year, last, scale),
                "est_events": write_est_events(out, first_year, last, scale)}
    if kind == "survey":
        return {"survey_responses": write_survey(out, first_year, last, scale)}
    if kind == "activity":
        return {"activity_log": write_activity_log(out, last)}
    if kind == "bra":
        return {"bra_indicators": write_bra_indicators(out, first_year, last)}
    from sources.sample_more import SAMPLES, write_municipality

    return write_municipality(out, SAMPLES[arg], first_year, last, scale, _write_csv, CRIME_MIX, MONTH_SEASON,
                              _crime_codes_by_category())


def generate(out: Path, first_year: int = 2021, last: date = LAST_DAY, scale: float = 1.0,
             municipalities: tuple[str, ...] = MUNICIPALITIES) -> dict[str, list[Path]]:
    """Write every feed's sample exports into ``out/<feed>/``. Returns the files per feed.

    The parts (Strängnäs's feeds, its survey workbooks, each further municipality, the Brå indicators) write files
    of their own from random streams of their own, so forked workers write them side by side
    (``LAGESBILD_SAMPLE_WORKERS``, 0: one after the other) with the same bytes (tests/test_sample.py)."""
    from sources.sample_more import SAMPLES
    from sources.workers import fork_pool, fork_workers

    out = Path(out)
    tasks = []
    if "0486" in municipalities:
        tasks += [(kind, out, first_year, last, scale, None) for kind in ("0486", "survey", "activity")]
    tasks += [("more", out, first_year, last, scale, code) for code in municipalities if code in SAMPLES]
    tasks.append(("bra", out, first_year, last, scale, None))
    workers = min(fork_workers(4, WORKERS_ENV), len(tasks))
    if workers > 1:
        with fork_pool(workers) as pool:
            parts = list(pool.map(_write_one, tasks))
    else:
        parts = [_write_one(t) for t in tasks]
    files: dict[str, list[Path]] = {}
    for part in parts:  # in the order the parts were listed, whichever process wrote them
        for feed, paths in part.items():
            files.setdefault(feed, []).extend(paths)
    return files
