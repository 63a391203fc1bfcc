"""`lagesbild draft`: the coordinator's analysis draft holds only what the warehouse holds, each figure with its
period, never overwrites an analysis without --force, and is what the next pack shows."""
from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from tests.conftest import run_cli
from tests.test_ingest import crime_csv

PERIOD = "2026-Q3"
NOW, BEFORE = "kv. 4 2025 – kv. 3 2026", "kv. 4 2024 – kv. 3 2025"  # the four quarters to 2026-Q3 and the four before
# 2024-Q4 .. 2025-Q3 and 2025-Q4 .. 2026-Q3 as quarter_seq (year * 4 + quarter - 1), worked by hand
SEQ_BEFORE = [2024 * 4 + 3, 2025 * 4 + 0, 2025 * 4 + 1, 2025 * 4 + 2]
SEQ_NOW = [2025 * 4 + 3, 2026 * 4 + 0, 2026 * 4 + 1, 2026 * 4 + 2]


@pytest.fixture()
def home(sample_home, tmp_path):
    target = tmp_path / "home"
    shutil.copytree(sample_home, target, symlinks=True)  # the shared sample stays without an analysis
    # packs other tests published on the shared sample (read-only files) would share this snapshot's stamp
    packs = (target / "site" / "packs").resolve()
    if packs.exists() and packs.is_relative_to(target.resolve()):  # the copy's own (links are relative)
        for path in [packs, *packs.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(packs)
    return target


def _number(text: str) -> int:
    return int(re.sub(r"[\s\u00a0\u202f]", "", text))


def test_the_draft_states_only_figures_the_marts_hold_with_their_periods(home):
    (home / "analys" / f"0486-{PERIOD}.md").unlink(missing_ok=True)  # the sample ships an example analysis
    # a month of many reported vandalism crimes (a file for 0486 × 2026-08 replaces that month's rows), so that at
    # least one change passes the rules at this small sample's volume
    rows = [f"9000-K{i}-26;1;1201;2026-08-{1 + i % 28:02d};2026-08-01;0486;;1" for i in range(80)]
    crime_csv(home / "incoming" / "crime_reports", rows=rows, name="skadegorelse_2026_08.csv")
    assert run_cli("--home", str(home), "refresh") == 0
    assert run_cli("--home", str(home), "draft", "--period", PERIOD, "--municipality", "0486") == 0
    path = home / "analys" / f"0486-{PERIOD}.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Analys – Strängnäs, kv. 3 2026")
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        areas = [r[0] for r in con.execute("SELECT name FROM plan.priority_areas WHERE agreement_id = "
                                           "'strangnas-2023-2026' ORDER BY ordinal").fetchall()]
        # one section per priority area, each with the coordinator's heading for judgement
        assert [line[3:] for line in text.splitlines() if line.startswith("## ")][:len(areas)] == areas
        assert text.count("### Bedömning") == len(areas)
        # every count signal: its two figures are the indicator's sums over the two windows in the mart
        signals = re.findall(r"^- (.+?): ([\d\s\u00a0]+) \((.+?)\) mot ([\d\s\u00a0]+) \((.+?)\): (.+)$", text, re.M)
        assert signals, text  # the sample has at least one change that passes the rules
        for label, now, span_now, before, span_before, wording in signals:
            assert (span_now, span_before) == (NOW, BEFORE)
            assert wording.startswith(("möjlig förändring", "tydlig förändring")), wording
            sums = con.execute(
                "SELECT sum(CASE WHEN quarter_seq IN (SELECT unnest(?)) THEN value END), "
                "       sum(CASE WHEN quarter_seq IN (SELECT unnest(?)) THEN value END) "
                "FROM marts.indicators_by_quarter WHERE agreement_id = 'strangnas-2023-2026' AND area_code = '' "
                "AND label = ?", [SEQ_NOW, SEQ_BEFORE, label]).fetchall()[0]
            assert (_number(now), _number(before)) == (int(sums[0]), int(sums[1])), label
        # a feed said to lack a quarter has no row for it
        gaps = text.split("## Dataluckor", 1)[1]
        for feed, quarters in re.findall(r"^- (.+?) saknar (.+)\.$", gaps, re.M):
            mart = {"Polisens export": "crime_by_quarter", "EST-rapporterna": "est_by_quarter",
                    "Orosanmälningarna": "concern_by_quarter"}.get(feed)
            for q, y in re.findall(r"kv\. (\d) (\d{4})", quarters):
                if mart:
                    assert con.execute(f"SELECT count(*) FROM marts.{mart} WHERE municipality_code = '0486' "
                                       "AND year = ? AND quarter = ?", [int(y), int(q)]).fetchall()[0][0] == 0
        # a population caveat names a year whose rates rest on that basis
        for y, basis in re.findall(r"^- Befolkning (\d{4})(?: saknas)?: (?:talen per invånare bygger på|nämnaren är) "
                                   r"(.+?)(?:,| och)", gaps, re.M):
            assert con.execute("SELECT count(*) FROM marts.rates_by_year WHERE municipality_code = '0486' "
                               "AND year = ? AND population_basis = ?", [int(y), basis]).fetchall()[0][0] > 0
    finally:
        con.close()


def test_the_draft_never_overwrites_an_analysis_without_force_and_the_pack_shows_it(home):
    path = home / "analys" / f"0486-{PERIOD}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Vår analys\n\nSkriven av samordnaren.\n", encoding="utf-8")
    assert run_cli("--home", str(home), "draft", "--period", PERIOD, "--municipality", "0486") == 2
    assert path.read_text(encoding="utf-8") == "# Vår analys\n\nSkriven av samordnaren.\n"
    assert run_cli("--home", str(home), "draft", "--period", PERIOD, "--municipality", "0486", "--force") == 0
    draft = path.read_text(encoding="utf-8")
    assert draft.startswith("# Analys – Strängnäs") and "## Dataluckor" in draft
    # the coordinator's edit, then the next pack renders it
    path.write_text(draft.replace("_Samordnarens bedömning: vad betyder det här lokalt, och vad vet ni som inte syns "
                                  "i siffrorna?_", "Skadegörelsen ökar kring resecentrum.", 1), encoding="utf-8")
    assert run_cli("--home", str(home), "publish", "--meeting", "bra", "--period", PERIOD, "--no-pdf") == 0
    [pack] = (home / "site" / "packs").glob("bra-0486-2026-Q3-*")  # the only one: the fixture removed the others
    page = (pack / "index.html").read_text(encoding="utf-8")
    assert "Skadegörelsen ökar kring resecentrum." in page and "Dataluckor" in page


def test_data_gaps_name_missing_quarters_and_population_caveats():
    """Hand-made marts: EST lacks one quarter, 2025's population is carried forward and its rates rest on the last
    known population; 2024 is complete. The gaps say exactly that, and nothing about 2024."""
    from types import SimpleNamespace

    import pandas as pd

    from dashboards.draft import _gaps

    now = 2026 * 4 + 2                                  # kv. 3 2026
    quarters = list(range(now - 7, now + 1))            # kv. 4 2024 .. kv. 3 2026
    full = pd.DataFrame({"municipality_code": "0486", "quarter_seq": quarters})
    est = full[full.quarter_seq != 2025 * 4 + 1]       # no EST rows for kv. 2 2025
    marts = {
        "crime_by_quarter": full, "est_by_quarter": est, "concern_by_quarter": full,
        # the activity log covers its first to its last logged quarter
        "indicators_by_quarter": pd.DataFrame({"municipality_code": "0486", "kind": "activity",
                                               "quarter_seq": [quarters[0], now]}),
        "rates_by_year": pd.DataFrame({"municipality_code": "0486", "area_code": "", "year": [2024, 2025],
                                       "population_basis": ["medelfolkmängd", "senast kända folkmängd (2024)"]}),
        "population_by_year": pd.DataFrame({"municipality_code": "0486", "year": [2024, 2025],
                                            "carried_forward": [False, True]}),
    }
    text = _gaps(SimpleNamespace(marts=marts), "0486", now, last_crime=now - 1)
    gap_lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert gap_lines == [
        "- EST-rapporterna saknar kv. 2 2025.",
        "- Befolkning 2025 saknas: talen per invånare bygger på senast kända folkmängd (2024) och är inte slutliga.",
        "- Befolkningen för 2025 är framskriven (varje område har samma siffra som året innan).",
    ]  # and no "preliminära" line: the newest police quarter (kv. 2 2026) is before the period
