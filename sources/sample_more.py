"""Sample exports for the demo's other agreement municipalities: Eskilstuna (0484) and Södertälje (0181).

Districts fit each agreement (Eskilstuna's kommundelar, among them Skiftinge, Fröslunda and Årby, Polisen's three
vulnerable areas the agreement's context speaks of; Södertälje's lägesbild areas, the focus places of its agreement:
Ronna, Lina, Geneta, Fornhöjden, Hovsjö). Areas, population and crime reports in the same formats as Strängnäs's
(``sources/sample.py``), from their own random streams: Strängnäs's files are unchanged. Synthetic, deterministic
values of plausible size; never real statistics; the area centroids are approximate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Sample:
    code: str
    name: str
    seed: int
    crimes_per_year: int            # at scale 1
    districts: tuple                # (code, name, lat, lon, population 2020, crime factor)


SAMPLES = {
    "0484": Sample("0484", "Eskilstuna", 484, 11000, (
        ("0484-01", "Centrum", 59.3710, 16.5100, 14000, 1.9),
        ("0484-02", "Fröslunda", 59.3570, 16.5230, 9500, 1.3),
        ("0484-03", "Skiftinge", 59.3890, 16.5520, 7200, 1.2),
        ("0484-04", "Årby", 59.3500, 16.4850, 6100, 1.1),
        ("0484-05", "Lagersberg–Råbergstorp", 59.3850, 16.4850, 8300, 1.0),
        ("0484-06", "Torshälla", 59.4190, 16.4730, 8700, 0.8),
        ("0484-07", "Övriga tätorten", 59.3700, 16.4700, 38000, 0.8),
        ("0484-08", "Landsbygd", 59.3300, 16.6000, 14500, 0.5))),
    "0181": Sample("0181", "Södertälje", 181, 10500, (
        ("0181-01", "Ronna", 59.2060, 17.6050, 9600, 1.3),
        ("0181-02", "Lina", 59.1950, 17.6600, 4600, 1.2),
        ("0181-03", "Geneta", 59.2000, 17.5950, 6300, 1.2),
        ("0181-04", "Fornhöjden", 59.1800, 17.6020, 4100, 1.1),
        ("0181-05", "Hovsjö", 59.1750, 17.5900, 5800, 1.1),
        ("0181-06", "Centrum", 59.1960, 17.6250, 7800, 2.0),
        ("0181-07", "Järna", 59.0930, 17.5660, 8200, 0.7),
        ("0181-08", "Övriga kommunen", 59.1900, 17.6500, 52000, 0.75))),
}


def _population(year: int, pop_2020: int) -> int:
    return int(round(pop_2020 * (1.007 ** (year - 2020))))


def write_municipality(out: Path, sample: Sample, first_year: int, last: date, scale: float, write_csv,
                       crime_mix: dict, season, codes_by_category: dict) -> dict[str, list[Path]]:
    """Areas, population and crime reports of one municipality; returns the files per feed."""
    from sources.sample_geo import write_areas_geojson

    p_areas = write_areas_geojson(out / "areas" / f"omraden_{sample.code}.geojson", sample.code,
                                  [(c, n, la, lo) for c, n, la, lo, _, _ in sample.districts])
    shares = {"0-17 år": 0.23, "18-64 år": 0.59, "65+ år": 0.18}
    pop_rows = []
    for year in range(first_year - 1, last.year):
        for c, _, _, _, pop, _ in sample.districts:
            total = _population(year, pop)
            kids, old = int(round(total * shares["0-17 år"])), int(round(total * shares["65+ år"]))
            for band, n in (("0-17 år", kids), ("18-64 år", total - kids - old), ("65+ år", old)):
                pop_rows.append([sample.code, c, year, band, n, "Ja"])
    p_pop = out / "population" / f"folkmangd_{sample.code}_{first_year - 1}-{last.year - 1}.tsv"
    write_csv(p_pop, ["Kommunkod", "Områdeskod", "År", "Ålder", "Folkmängd", "Slutlig"], pop_rows, "\t", "utf-8")
    cats = list(crime_mix)
    weights = np.array([crime_mix[c][0] for c in cats])
    weights = weights / weights.sum()
    dist_w = np.array([pop * f for _, _, _, _, pop, f in sample.districts], dtype=float)
    dist_w /= dist_w.sum()
    crime_paths = []
    area_codes = np.array([d[0] for d in sample.districts])
    for year in range(first_year, last.year + 1):
        rng = np.random.default_rng([sample.seed, 1, year])
        parts = []
        months = [(year, m) for m in range(1, 13) if date(year, m, 1) <= last]
        for y, m in months:  # vectorised per month and category: ~10 000 rows a year would take seconds row by row
            first = np.datetime64(date(y, m, 1))
            days = (date(y + (m == 12), m % 12 + 1, 1) - date(y, m, 1)).days
            for ci, cat in enumerate(cats):
                lam = sample.crimes_per_year * scale / 12 * weights[ci] * season[m - 1] * \
                    crime_mix[cat][1] ** (year - first_year)
                n = int(rng.poisson(lam))
                if not n:
                    continue
                pool = np.array(codes_by_category[cat])
                zipf = 1.0 / np.arange(1, len(pool) + 1) ** 1.3
                offence = first + rng.integers(0, days, n).astype("timedelta64[D]")
                registered = np.minimum(offence + (rng.geometric(0.45, n) - 1).astype("timedelta64[D]"),
                                        np.datetime64(last))
                registered = np.where(registered.astype("datetime64[Y]").astype(int) + 1970 != year,
                                      np.datetime64(date(year, 12, 31)), registered)
                area = np.where(rng.random(n) < 0.03, "", area_codes[rng.choice(len(dist_w), n, p=dist_w)])
                parts.append((registered.astype(str), offence.astype(str), pool[rng.choice(len(pool), n, p=zipf / zipf.sum())],
                              area))
        rows = [[None, 1, c, r, o, sample.code, a, 1] for reg, off, code, ar in parts
                for r, o, c, a in zip(reg, off, code, ar)]
        rows.sort(key=lambda r: r[3])
        for i, r in enumerate(rows, start=1):
            r[0] = f"{sample.seed}-K{i:06d}-{year % 100:02d}"
        p = out / "crime_reports" / f"brott_{sample.code}_{year}.csv"
        write_csv(p, ["Diarienummer", "Brottsnummer", "Brottskod", "Inskrivningsdatum", "Brottsdatum från",
                      "Kommunkod", "Områdeskod", "Antal brott"], rows, ";", "utf-8", bom=True)
        crime_paths.append(p)
    return {"areas": [p_areas], "population": [p_pop], "crime_reports": crime_paths}
