"""Sample Brå indicators ("Indikatorer för kommuners lägesbild", long format) for the demo: Strängnäs, every other
municipality of Södermanlands län and of Stockholms län (for the county pages and the peer comparison), the two
counties and the whole country.
Synthetic, deterministic values of plausible size; never real statistics."""
from __future__ import annotations

from datetime import date
from pathlib import Path

NTU = "Nationella trygghetsundersökningen (NTU)"
UNSAFE_ITEM = "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet"
UNSAFE_DEFINITION = ("Andel (%) i befolkningen (16–84 år) som känner sig ganska/mycket otrygga samt de som avstår "
                     "från att gå ut på grund av otrygghet.")
# the headline's share of all reported crime (roughly as in Brå's national figures)
CATEGORY_SHARES = {"Skadegörelsebrott": 0.12, "Våld i offentlig miljö mot vuxna": 0.025, "Narkotikabrott": 0.07,
                   "Bostadsinbrott": 0.012}
# the rest of Södermanlands län: name, crimes per 100 000 (base), population, unsafe share, NTU respondents
OTHER_MUNICIPALITIES = [
    ("Vingåker", 7600.0, 9000, 0.20, 250), ("Gnesta", 7100.0, 11300, 0.17, 300),
    ("Nyköping", 9900.0, 58000, 0.23, 700), ("Oxelösund", 9200.0, 12100, 0.25, 300),
    ("Flen", 9400.0, 16300, 0.24, 350), ("Katrineholm", 10300.0, 34800, 0.26, 550),
    ("Eskilstuna", 12800.0, 107000, 0.31, 1100), ("Trosa", 6800.0, 13600, 0.15, 300),
]


def _ntu_rows(name: str, year: int, share: float, n: int) -> list[list]:
    half = 1.96 * (share * (1 - share) / n) ** 0.5 * 1.2
    return [[name, UNSAFE_DEFINITION, year, UNSAFE_ITEM, round(share * 100, 1), NTU],
            [name, "KI (95 %) undre gräns", year, UNSAFE_ITEM, round((share - half) * 100, 1), NTU],
            [name, "KI (95 %) övre gräns", year, UNSAFE_ITEM, round((share + half) * 100, 1), NTU],
            [name, "", year, "Antal svarande i NTU.", n, NTU]]


def _crime_rows(name: str, year: int, variable: str, rate: float, pop: int) -> list[list]:
    return [[name, "Antal", year, variable, round(rate * pop / 100000), "Anmälda brott"],
            [name, "Antal per 100 000 inv", year, variable, round(rate), "Anmälda brott"]]


def write_bra_indicators(out: Path, first_year: int, last: date, rng_of, write_csv) -> list[Path]:
    """Strängnäs, the county and the country as before (same random stream, same values), then the other
    municipalities of the county and the category indicators of everyone from a second stream."""
    rng = rng_of(6, 0)
    geos = [("Strängnäs", 8600.0, 39000, 0.22, 900), ("Södermanlands län", 10100.0, 300000, 0.24, 2400),
            ("Hela landet", 14300.0, 10500000, 0.26, 74000)]
    years = range(first_year - 4, last.year)  # Brå's indicators end with the last complete year
    rows, totals = [], {}
    for year in years:
        for name, rate, pop, unsafe, n in geos:
            r = rate * (1 + rng.normal(0, 0.02)) * (0.995 ** (year - first_year))
            rows += _crime_rows(name, year, "Totalt antal anmälda brott", r, pop)
            totals[name, year] = (r, pop)
            rows += _ntu_rows(name, year, unsafe + rng.normal(0, 0.01), n)
    more = rng_of(6, 1)
    for year in years:
        for name, rate, pop, unsafe, n in OTHER_MUNICIPALITIES:
            r = rate * (1 + more.normal(0, 0.03)) * (0.995 ** (year - first_year))
            rows += _crime_rows(name, year, "Totalt antal anmälda brott", r, pop)
            totals[name, year] = (r, pop)
            rows += _ntu_rows(name, year, unsafe + more.normal(0, 0.015), n)
        for (name, y), (r, pop) in sorted(totals.items()):
            if y != year:
                continue
            for variable, share in CATEGORY_SHARES.items():
                rows += _crime_rows(name, year, variable, r * share * (1 + more.normal(0, 0.08)), pop)
    # Stockholms län (for Södertälje's county page and peers): every municipality from the reference list
    from sources.taxonomy import read_reference

    third = rng_of(6, 2)
    stockholm = [(r["municipality_name"], r["municipality_code"]) for r in read_reference("municipalities")
                 if r["county_code"] == "01"]
    base = {n: (14000.0 if c == "0181" else float(third.uniform(7000, 16000)),
                101000 if c == "0181" else int(third.uniform(10000, 120000)),
                0.30 if c == "0181" else float(third.uniform(0.14, 0.30))) for n, c in stockholm}
    base["Stockholms län"] = (13500.0, 2450000, 0.25)
    for year in years:
        for name, (rate, pop, unsafe) in base.items():
            r = rate * (1 + third.normal(0, 0.03)) * (0.995 ** (year - first_year))
            rows += _crime_rows(name, year, "Totalt antal anmälda brott", r, pop)
            rows += _ntu_rows(name, year, unsafe + third.normal(0, 0.015), max(250, pop // 150))
            for variable, share in CATEGORY_SHARES.items():
                rows += _crime_rows(name, year, variable, r * share * (1 + third.normal(0, 0.08)), pop)
    p = out / "bra_indicators" / "bra_kommunindikatorer_strangnas.csv"
    write_csv(p, ["geografi", "enhet", "ar", "variabel", "varde", "kalla"], rows, ",", "utf-8")
    return [p]
