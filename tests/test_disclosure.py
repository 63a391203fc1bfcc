"""The whole-publication disclosure auditor (dashboards/disclosure.py) on hand-made tables and on the three attacks
found against the concern-report page. Expected intervals are worked by hand."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dashboards.disclosure import Auditor, DisclosureError, Fact, audit, protect
from sources.policy import Policy
from tests.conftest import REPO

POLICY = Policy()  # "<5" = 1..4, min interval 3


def cell(name, shown, cells, pos=True, block="t"):
    return Fact(block_id=block, table="Tabell", row=name, column="", cells=frozenset(cells), shown=shown,
                position=(name, "") if pos else None)


def test_a_total_gives_a_lone_hidden_cell_away_and_protection_hides_one_more():
    # a = 3 hidden ("<5"), b = 10, total 13: a = 13 − 10 exactly
    facts = [cell("a", "<5", {"a"}), cell("b", "10", {"b"}), cell("total", "13", {"a", "b"})]
    auditor = Auditor(POLICY, facts)
    assert auditor.interval(facts[0]) == (3.0, 3.0)
    assert [f.fact.row for f in auditor.findings()] == ["a"]
    with pytest.raises(DisclosureError, match='rad "a"'):
        audit(facts, POLICY, "lagesbild-0486.html")
    hidden = protect(facts, POLICY)
    # hiding b (10) leaves a ∈ [1, 4] (b ∈ [9, 12]); hiding the total instead would do too, but b is smaller
    assert [f.row for f in hidden] == ["b"]
    assert Auditor(POLICY, facts).interval(facts[0]) == (1.0, 4.0)
    audit(facts, POLICY, "lagesbild-0486.html")  # nothing pinned now


def test_intervals_on_each_side_of_the_protection_width():
    # x hidden, x + y = 20 with y "<5": x ∈ [16, 19], width 3 = the minimum -> not pinned
    facts = [cell("x", "×", {"x"}), cell("y", "<5", {"y"}), cell("sum", "20", {"x", "y"}, pos=False)]
    assert Auditor(POLICY, facts).interval(facts[0]) == (16.0, 19.0)
    assert Auditor(POLICY, facts).findings() == []
    # with a protection of 4 the same interval (width 3) is pinned
    wider = Policy(disclosure_min_interval=4)
    assert [f.fact.row for f in Auditor(wider, facts).findings()] == ["x"]


def test_two_way_table_with_totals_needs_secondary_suppression():
    # rows r1 = (3, 10 | 13), r2 = (8, 9 | 17); columns (11, 19 | 30). 3 is primary.
    grid = {("r1", "c1"): 3, ("r1", "c2"): 10, ("r2", "c1"): 8, ("r2", "c2"): 9}
    facts = [cell(f"{r}{c}", "<5" if v <= 4 else str(v), {(r, c)}) for (r, c), v in grid.items()]
    facts += [cell("r1", "13", {("r1", "c1"), ("r1", "c2")}), cell("r2", "17", {("r2", "c1"), ("r2", "c2")}),
              cell("c1", "11", {("r1", "c1"), ("r2", "c1")}), cell("c2", "19", {("r1", "c2"), ("r2", "c2")}),
              cell("all", "30", set(grid))]
    assert Auditor(POLICY, facts).interval(facts[0]) == (3.0, 3.0)
    protect(facts, POLICY)
    audit(facts, POLICY, "test")
    # the primary cell is now only known to lie in an interval at least 3 wide
    lo, hi = Auditor(POLICY, facts).interval(facts[0])
    assert hi - lo >= 3 and lo <= 3 <= hi


def test_prose_cannot_be_hidden_so_a_table_cell_is():
    # "12 anmälningar 2025" in a caption (not hideable); quarters 3 (<5), 4, 5: q1 = 12 − 9 = 3
    facts = [cell("q1", "<5", {"q1"}), cell("q2", "4", {"q2"}), cell("q3", "5", {"q3"}),
             cell("year", "12", {"q1", "q2", "q3"}, pos=False)]
    hidden = protect(facts, POLICY)
    assert hidden and all(f.position is not None for f in hidden)
    audit(facts, POLICY, "test")


# ------------------------------------------------------------------ the three attacks on a real page build

def _concern_page(tmp_path):
    """A hand-made Strängnäs with concern reports built to expose the three attacks; returns (data, blocks).

    Reports per quarter, 2025 Q1–Q4 and 2026 Q1 (the latest quarter; the reason table covers 2025 Q2 – 2026 Q1):
      vald_nara 0–12: 2, 6, 7, 8 | 6        foralder 13–17: 9, 10, 12, 9 | 3
      eget_beteende 0–12: 0, 0, 0, 3 | 0    eget_beteende 13–17: 0, 0, 0, 11 | 0
      foralder 0–12: 0, 0, 5, 0 | 0         vald_nara 13–17: 0, 0, 6, 0 | 0
    Every month of 2024–2026 Q1 is delivered (zero rows for "övrigt"), so 0 is a real zero.
    Quarter × age table: 0–12: <5 (2), 6, 12, 11 | 6;   13–17: 9, 10, 18, 20 | <5 (3)
    Reason × age table (2025 Q2 – 2026 Q1): eget <5 (3) | 11; foralder 5 | 34; vald 27 | 6; övrigt 0 | 0;
    secondary suppression hides every non-zero cell but the 3 ("×"); totals 35 | 51, 86.
    The quarter table's caption: 2025 had 88 reports about children 0–17.
    """
    import duckdb

    from dashboards.data import load_site_data
    from pipelines.models import run_all
    from sources.agreements import load_folder
    from sources.agreements.warehouse import load_plan_tables
    from sources.ingest import ensure_schema, ingest_file
    from sources.taxonomy import load_reference_tables

    crimes = ["Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Kommunkod;Områdeskod;Antal brott"]
    months = [(y, m) for y in (2024, 2025) for m in range(1, 13)] + [(2026, m) for m in (1, 2, 3)]
    for year, m in months:
        crimes.append(f"K{year}{m};1;1209;{year}-{m:02d}-10;0486;0486-01;5")
    concern = ["Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar"]
    series = {("Våld i nära relation", "0-12 år"): [2, 6, 7, 8, 6], ("Förälderns problem", "13-17 år"): [9, 10, 12, 9, 3],
              ("Barnets eget beteende", "0-12 år"): [0, 0, 0, 3, 0],
              ("Barnets eget beteende", "13-17 år"): [0, 0, 0, 11, 0],
              ("Förälderns problem", "0-12 år"): [0, 0, 5, 0, 0], ("Våld i nära relation", "13-17 år"): [0, 0, 6, 0, 0]}
    for (reason, age), values in series.items():
        for i, v in enumerate(values):
            year, q = (2025, i + 1) if i < 4 else (2026, 1)
            if v:
                concern.append(f"0486;{year}-{3 * q - 1:02d};{age};Flicka;{reason};Polis;{v}")
    for year, m in months:  # every month delivered: a zero row for "övrigt"
        concern.append(f"0486;{year}-{m:02d};0-12 år;Flicka;Övrigt;Polis;0")
    pop = ("Kommunkod\tOmrådeskod\tÅr\tÅlder\tFolkmängd\tSlutlig\n"
           "0486\t0486\t2024\t0-17 år\t8 000\tJa\n0486\t0486\t2025\t0-17 år\t8 000\tJa\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    load_reference_tables(con)
    load_plan_tables(con, load_folder())
    for name, text in {"brott.csv": "\n".join(crimes) + "\n", "oro.csv": "\n".join(concern) + "\n",
                       "folk.tsv": pop}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = ingest_file(con, tmp_path / name)
        assert r.status == "loaded" and r.rows_quarantined == 0, r.message
    run_all(con)
    data = load_site_data(con)
    con.close()
    from dashboards.sections import agreement, page

    agreement, plan_blocks = agreement.agreement_blocks(data, "0486", POLICY)
    return data, plan_blocks + page.municipality_blocks(data, "0486", POLICY)


def _facts(blocks, block_id, rows=None, columns=None):
    return [f for b in blocks for f in b.facts if f.block_id == block_id
            and (rows is None or f.row in rows) and (columns is None or f.column in columns)]


def test_the_three_attacks_each_pin_a_hidden_count_and_the_page_is_protected(tmp_path):
    from dashboards.render import protect_blocks

    data, blocks = _concern_page(tmp_path)
    quarters = _facts(blocks, "oro-kvartal", columns={"0–12 år", "13–17 år"})
    q1_young = next(f for f in quarters if f.row == "kv. 1 2025" and f.column == "0–12 år")
    q1_teen = next(f for f in quarters if f.row == "kv. 1 2026" and f.column == "13–17 år")
    assert (q1_young.shown, q1_teen.shown) == ("<5", "<5")
    assert Auditor(POLICY, quarters).findings() == []  # the quarter table alone gives nothing away
    # attack 1: the column total of the reason table (13–17: 51) minus the visible quarters 10 + 18 + 20 = 3
    col_total = _facts(blocks, "oro-skal", rows={"Totalt"}, columns={"13–17 år"})
    assert [f.shown for f in col_total] == ["51"]
    assert Auditor(POLICY, quarters + col_total).interval(q1_teen) == (3.0, 3.0)
    # attack 2: the year's total in the caption (88 reports about children 0–17 in 2025) minus the visible quarters
    # 6 + 12 + 11 + 9 + 10 + 18 + 20 = 86: 2
    caption = [f for f in _facts(blocks, "oro-kvartal") if f.position is None]
    assert [f.shown for f in caption] == ["88"]
    assert Auditor(POLICY, quarters + caption).interval(q1_young) == (2.0, 2.0)
    # attack 3: the agreement's indicator row prints the secondary-hidden cell (eget beteende 13–17: 11)
    reason_table = _facts(blocks, "oro-skal")
    hidden_cell = next(f for f in reason_table if f.row == "Barnets eget beteende" and f.column == "13–17 år")
    assert hidden_cell.shown == "×"
    assert Auditor(POLICY, reason_table).findings() == []  # the table's own secondary suppression holds
    indicator = _facts(blocks, "omrade-barn-unga", columns={"Senaste fyra kvartalen"})
    assert [f.shown for f in indicator] == ["11"]
    assert Auditor(POLICY, reason_table + indicator).interval(hidden_cell) == (11.0, 11.0)
    # the whole page as one release: refused as it stands, protected by hiding more, then nothing is pinned
    with pytest.raises(DisclosureError, match="kan räknas ut"):
        audit([f for b in blocks for f in b.facts], POLICY, "lagesbild-0486.html")
    hidden = protect_blocks(blocks, POLICY, "lagesbild-0486.html")
    assert hidden > 0
    everything = [f for b in blocks for f in b.facts]
    assert Auditor(POLICY, everything).findings() == []
    for f in everything:
        if f.position is not None and not f.visible(POLICY):
            block = next(b for b in blocks if b.id == f.block_id)
            row, col = f.position
            assert str(block.table.iloc[row][col]).split(" (")[0] in ("×", "<5"), (f.row, f.column)


def _random_publication(rng):
    """A random two-way table of counts with row, column and grand totals and a few extra sums (the overlapping
    sums a page publishes); counts 1-4 shown "<5", some numbers already hidden, some only in prose."""
    rows, cols = rng.randint(2, 4), rng.randint(2, 4)
    grid = {(r, c): rng.choice([0, 1, 2, 3, 4, 5, 7, 9, 12, 20]) for r in range(rows) for c in range(cols)}

    def shown(v):
        return "<5" if 1 <= v <= 4 else ("×" if rng.random() < 0.1 else str(v))

    facts = [cell(f"{r}-{c}", shown(v), {(r, c)}) for (r, c), v in grid.items()]
    facts += [cell(f"r{r}", shown(sum(grid[r, c] for c in range(cols))), {(r, c) for c in range(cols)},
                   pos=rng.random() < 0.8) for r in range(rows)]
    facts += [cell(f"c{c}", shown(sum(grid[r, c] for r in range(rows))), {(r, c) for r in range(rows)})
              for c in range(cols)]
    facts.append(cell("alla", str(sum(grid.values())), set(grid), pos=False))
    for i in range(rng.randint(0, 3)):  # a sum over a random block of cells (a figure's value, a caption's number)
        block = {k for k in grid if rng.random() < 0.4} or {next(iter(grid))}
        facts.append(cell(f"s{i}", shown(sum(grid[k] for k in block)), block, pos=rng.random() < 0.5))
    if rng.random() < 0.3:  # a hidden number with a cell no published number constrains: unbounded above
        facts.append(cell("fri", "×", {("fri", 0)}))
    return facts


def test_the_direct_solver_and_linprog_give_the_same_intervals_and_the_same_protection():
    """Intervals come from HiGHS directly (one model per publication, warm-started, rows freed as numbers are
    hidden): on 20 random publications every hidden number's interval equals scipy's linprog's, also after
    numbers are hidden and shown again on the same model; protect (which skips numbers already found protected)
    hides, on the first 8, exactly the numbers the reference (linprog, every number checked again each round) hides."""
    import copy
    import math
    import random

    from dashboards.disclosure import _highs_core

    assert _highs_core() is not None  # scipy moved its HiGHS module: the fast path is off and this compares nothing
    rng = random.Random(20261127)
    compared = pinned = unbounded = 0
    for n in range(20):
        facts = _random_publication(rng)
        pinned += bool(Auditor(POLICY, facts, use_highs=False).findings())
        fast, slow = Auditor(POLICY, facts), Auditor(POLICY, facts, use_highs=False)
        toggled = rng.choice([f for f in facts if f.visible(POLICY)] or facts)
        original = toggled.shown
        for text in (original, "×", original):  # as published, one more number hidden, shown again (same model)
            toggled.shown = text
            for f in facts:
                if not f.visible(POLICY) and f.cells:
                    got, want = fast.interval(f), slow.interval(f)
                    assert got == want, (f.row, [(g.row, g.shown) for g in facts])
                    compared += 1
                    unbounded += math.isinf(want[1])
        if n < 8:  # the reference protection takes seconds a publication
            a, b = copy.deepcopy(facts), copy.deepcopy(facts)
            assert [f.row for f in protect(a, POLICY)] == [f.row for f in protect(b, POLICY, reference=True)]
            assert [f.shown for f in a] == [f.shown for f in b]
    # the random publications reach every case: many intervals, pinned numbers to protect, unbounded ones
    assert compared > 200 and pinned > 10 and unbounded > 5, (compared, pinned, unbounded)


def test_a_number_found_protected_is_checked_again_when_its_text_changes():
    """protect skips hidden numbers already found protected (hiding more only widens intervals), but a "<5" hidden
    further asks more: with a protection of 4, x = 2 shown "<5" beside y = 3 "<5" and their total 5 lies in 1..4
    (width 3, all a label can be asked); shown "×" the same 1..4 is narrower than 4 and x is pinned."""
    policy = Policy(disclosure_min_interval=4)
    facts = [cell("x", "<5", {"x"}), cell("y", "<5", {"y"}), cell("total", "5", {"x", "y"}, pos=False)]
    auditor, safe = Auditor(policy, facts), set()
    assert auditor.findings(safe=safe) == [] and len(safe) == 2
    facts[0].shown = "×"
    found = auditor.findings(safe=safe)
    assert [(f.fact.row, f.low, f.high) for f in found] == [("x", 1.0, 4.0)]


def test_the_direct_solver_is_loaded_without_importing_scipys_optimisers():
    """The page build and the meeting pack load HiGHS from its file (``dashboards/disclosure._core_from_its_file``):
    importing it by name would run ``scipy.optimize``'s ``__init__`` (nearly every optimiser) first; a later import
    by name gets the same module."""
    code = ("import sys\n"
            "from dashboards.disclosure import _highs_core\n"
            "core = _highs_core()\n"
            "assert core is not None and 'scipy.optimize' not in sys.modules, sorted(sys.modules)\n"
            "from scipy.optimize._highspy import _core\n"
            "assert _core is core\n"
            "from scipy.optimize import linprog\n"
            "print(linprog([1, 1], A_ub=[[-1, -1]], b_ub=[-1]).fun)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1.0"  # x + y >= 1 at the least cost 1: linprog still works beside it
