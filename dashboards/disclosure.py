"""Disclosure control for a whole publication (a page or a meeting pack), not table by table.

Every number a page publishes from a sensitive source (concern reports) is registered as a ``Fact``: the set of
underlying cells it sums (municipality × quarter × age band × reason) and the text it is shown as ("12", "<5", "×").
The auditor builds the linear relations between all of them (every published number is the sum of its cells; a "<5"
is a sum between 1 and the policy maximum; cells are non-negative) and computes, for every hidden number, its
feasible interval with two linear programs (min and max; integer-rounded bounds). A hidden number whose interval is
narrower than ``disclosure.min_interval`` (policy; for a "<5" its own stated width 1..4 if that is less) is *pinned*: it can be worked out, or nearly, from the rest.

``protect`` hides further visible numbers (shown "×") until nothing is pinned, choosing each time the one whose
hiding widens the pinned interval most (the smallest value on ties). ``audit`` is the final check: a page that still
pins a hidden number is not published (``DisclosureError`` names page, table and cell).
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

from sources.policy import Policy

HIDDEN_SECONDARY = "×"


class DisclosureError(RuntimeError):
    """Written for the coordinator: which page, table and cell would give a hidden number away."""


@dataclass
class Fact:
    block_id: str                 # the block (table) it is published in
    table: str                    # the table's title, for messages
    row: str                      # row label, for messages
    column: str                   # column label, for messages
    cells: frozenset              # underlying cells summed by this number
    shown: str                    # as published
    position: tuple | None = None  # (row position, column name) in the block's table; None: prose (cannot be hidden)

    def value(self, policy: Policy) -> tuple[float, float] | None:
        """The interval the published text states: (v, v) for a number, (1, max) for the suppression label, None
        when it states nothing (hidden, missing)."""
        text = self.shown.strip()
        if text == policy.suppressed_label:
            return 1.0, float(policy.max_suppressed_count)
        digits = re.sub(r"[\s\u00a0\u202f]", "", text)
        if re.fullmatch(r"\d+", digits):
            v = float(digits)
            return v, v
        return None

    def visible(self, policy: Policy) -> bool:
        v = self.value(policy)
        return v is not None and v[0] == v[1]

    def where(self) -> str:
        return f"tabellen \"{self.table}\", rad \"{self.row}\", kolumn \"{self.column}\""


@dataclass
class Finding:
    fact: Fact
    low: float
    high: float


class _Solver:
    """The linear system of one list of facts, solved with HiGHS directly (the solver behind scipy's ``linprog``):
    one row per fact with cells, its bounds the interval the fact states (free when it states nothing), so hiding a
    number only frees its row; each min/max starts from the last basis. ``linprog`` rebuilt and validated the whole
    problem for each of the two LPs of every interval (4-5 ms each against < 1 ms here); the intervals are the same
    (``tests/test_disclosure.py`` compares both on random systems)."""

    def __init__(self, policy: Policy, facts: list[Fact], core):
        import numpy as np

        self.policy, self.facts, self._h = policy, facts, core
        self.cells = sorted({c for f in facts for c in f.cells}, key=repr)
        self.index = {c: i for i, c in enumerate(self.cells)}
        self.rows = [f for f in facts if f.cells]
        n, m = len(self.cells), len(self.rows)
        starts, columns = [0], []
        for f in self.rows:
            columns.extend(sorted(self.index[c] for c in f.cells))
            starts.append(len(columns))
        lp = core.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, core.kHighsInf)
        self.bounds = self._row_bounds()
        lp.row_lower_, lp.row_upper_ = self.bounds
        lp.a_matrix_.format_ = core.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(columns, dtype=np.int32)
        lp.a_matrix_.value_ = np.ones(len(columns))
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        self.highs = core._Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.n = n
        self._all = np.arange(n, dtype=np.int32)

    def _row_bounds(self):
        import numpy as np

        inf = self._h.kHighsInf
        lower, upper = np.full(len(self.rows), -inf), np.full(len(self.rows), inf)
        for i, f in enumerate(self.rows):
            v = f.value(self.policy)
            if v is not None:
                lower[i], upper[i] = v
        return lower, upper

    def _optimum(self, cost) -> float | None:
        self.highs.changeColsCost(self.n, self._all, cost)
        self.highs.run()
        if self.highs.getModelStatus() != self._h.HighsModelStatus.kOptimal:
            return None
        return self.highs.getInfo().objective_function_value

    def interval(self, target: Fact) -> tuple[float, float]:
        import numpy as np

        lower, upper = self._row_bounds()  # the facts' texts as they are now (protect hides and restores numbers)
        changed = np.flatnonzero((lower != self.bounds[0]) | (upper != self.bounds[1])).astype(np.int32)
        if len(changed):
            for i in changed:
                self.highs.changeRowBounds(int(i), float(lower[i]), float(upper[i]))
            self.bounds = (lower, upper)
        c = np.zeros(self.n)
        c[[self.index[cell] for cell in target.cells]] = 1.0
        low, high = self._optimum(c), self._optimum(-c)
        lo = math.ceil(low - 1e-6) if low is not None else 0.0
        hi = math.floor(-high + 1e-6) if high is not None else math.inf  # not optimal: unbounded
        return float(lo), float(hi)


def _core_from_its_file():
    """``scipy.optimize._highspy._core`` loaded from its file. Imported by name, it runs ``scipy.optimize``'s
    ``__init__`` first, which imports nearly all of scipy's optimisers (≈ 0,2 s of a page build or a meeting pack);
    a later import by name gets this same module (Python keeps one per extension file)."""
    import importlib.machinery
    import importlib.util
    import sys
    from pathlib import Path

    name = "scipy.optimize._highspy._core"
    if name in sys.modules:
        return sys.modules[name]
    import scipy

    folder = Path(scipy.__file__).parent / "optimize" / "_highspy"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (folder / f"_core{suffix}").exists():
            spec = importlib.util.spec_from_file_location(name, folder / f"_core{suffix}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise ImportError(f"{name} is not in {folder}")


@functools.lru_cache(maxsize=1)
def _highs_core():
    """scipy's compiled HiGHS module (private: None when a scipy release moves it; ``linprog`` is used then)."""
    try:
        try:
            _core = _core_from_its_file()
        except (ImportError, OSError):
            from scipy.optimize._highspy import _core

        _core.HighsLp, _core.MatrixFormat.kRowwise, _core.HighsModelStatus.kOptimal, _core.kHighsInf  # noqa: B018
        for name in ("passModel", "changeRowBounds", "changeColsCost", "run", "getModelStatus", "getInfo"):
            getattr(_core._Highs, name)
        return _core
    except (ImportError, AttributeError):
        return None


@dataclass
class Auditor:
    policy: Policy
    facts: list[Fact] = field(default_factory=list)
    use_highs: bool = True        # False: scipy's linprog for each LP (the reference the tests compare with)
    _solvers: dict = field(default_factory=dict, init=False, repr=False)

    def _system(self, facts: list[Fact]):
        import numpy as np

        cells = sorted({c for f in facts for c in f.cells}, key=repr)
        index = {c: i for i, c in enumerate(cells)}
        a_eq, b_eq, a_ub, b_ub = [], [], [], []
        for f in facts:
            v = f.value(self.policy)
            if v is None or not f.cells:
                continue
            row = np.zeros(len(cells))
            for c in f.cells:
                row[index[c]] = 1.0
            if v[0] == v[1]:
                a_eq.append(row)
                b_eq.append(v[0])
            else:
                a_ub.append(row)
                b_ub.append(v[1])
                a_ub.append(-row)
                b_ub.append(-v[0])
        return cells, index, a_eq, b_eq, a_ub, b_ub

    def interval(self, target: Fact, facts: list[Fact] | None = None) -> tuple[float, float]:
        """Feasible (integer-rounded) interval of ``target``'s sum given every other published fact."""
        facts = self.facts if facts is None else facts
        if not target.cells:
            return 0.0, 0.0
        core = _highs_core() if self.use_highs else None
        if core is not None:
            solver = self._solvers.get(id(facts))
            if solver is None or solver.facts is not facts:
                solver = self._solvers[id(facts)] = _Solver(self.policy, facts, core)
            return solver.interval(target)
        return self._linprog_interval(target, facts)

    def _linprog_interval(self, target: Fact, facts: list[Fact]) -> tuple[float, float]:
        import numpy as np
        from scipy.optimize import linprog

        cells, index, a_eq, b_eq, a_ub, b_ub = self._system(facts)
        c = np.zeros(len(cells))
        for cell in target.cells:
            c[index[cell]] = 1.0
        kwargs = dict(A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                      A_ub=np.array(a_ub) if a_ub else None, b_ub=np.array(b_ub) if b_ub else None,
                      bounds=(0, None), method="highs")
        low = linprog(c, **kwargs)
        high = linprog(-c, **kwargs)
        lo = math.ceil(low.fun - 1e-6) if low.status == 0 else 0.0
        hi = math.floor(-high.fun + 1e-6) if high.status == 0 else math.inf  # status 3: unbounded
        return float(lo), float(hi)

    def findings(self, facts: list[Fact] | None = None, first: bool = False,
                 safe: set | None = None) -> list[Finding]:
        """Hidden numbers whose feasible interval is narrower than the policy's protection (``first``: stop at one).
        ``safe``: (fact id, text) pairs already found protected, skipped and added to; hiding more numbers only
        removes constraints, so an interval never narrows (``protect`` passes one set through its rounds)."""
        facts = self.facts if facts is None else facts
        out = []
        for f in facts:
            if f.visible(self.policy) or not f.cells:
                continue
            key = (id(f), f.shown)
            if safe is not None and key in safe:
                continue
            lo, hi = self.interval(f, facts)
            stated = f.value(self.policy)
            needed = self.policy.disclosure_min_interval
            if stated is not None:  # "<5" itself states 1..4: it cannot be asked to be wider than that
                needed = min(needed, stated[1] - stated[0])
            if hi - lo < needed:
                out.append(Finding(f, lo, hi))
                if first:
                    break
            elif safe is not None:
                safe.add(key)
        return out


def protect(facts: list[Fact], policy: Policy, max_rounds: int = 500, candidates_per_round: int = 12,
            reference: bool = False) -> list[Fact]:
    """Hide published numbers (shown "×") until no hidden number is pinned; returns the facts hidden.

    Each round takes the first pinned number and, among the hideable numbers that share a cell with it or with a
    number that does (visible ones or "<5" labels, whose 1..4 is a constraint too), hides the one that widens its
    interval most (then the smallest). Prose (position None) is never hidden: a table cell goes instead.
    ``reference``: every LP by ``linprog`` and every hidden number checked again each round (what the tests compare
    the fast path with)."""
    auditor = Auditor(policy, facts, use_highs=not reference)
    hidden: list[Fact] = []
    safe: set | None = None if reference else set()
    for _ in range(max_rounds):
        found = auditor.findings(first=True, safe=safe)
        if not found:
            return hidden
        target = found[0].fact
        related = {c for f in facts if f.cells & target.cells for c in f.cells}
        candidates = [f for f in facts if f.position is not None and f.cells & related and f.value(policy) is not None]
        if not candidates:
            return hidden
        # the smallest first: hiding a small number costs the reader least
        candidates.sort(key=lambda f: (f.value(policy)[0] == 0, f.value(policy)[1]))
        best, best_key = None, None
        for cand in candidates[:candidates_per_round]:
            original = cand.shown
            cand.shown = HIDDEN_SECONDARY
            lo, hi = auditor.interval(target)
            cand.shown = original
            value = cand.value(policy)[1]
            key = (-(hi - lo), value == 0, value)  # widest interval first, then a non-zero, then the smallest
            if best_key is None or key < best_key:
                best, best_key = cand, key
        best.shown = HIDDEN_SECONDARY
        hidden.append(best)
    return hidden


def audit(facts: list[Fact], policy: Policy, page: str) -> None:
    """Raise ``DisclosureError`` when a hidden number on ``page`` can be worked out from what the page publishes."""
    found = Auditor(policy, facts).findings()
    if found:
        f = found[0]
        interval = (f"exakt {int(f.low)}" if f.low == f.high else f"mellan {int(f.low)} och {int(f.high)}")
        raise DisclosureError(
            f"Sidan {page} publiceras inte: det dolda talet i {f.fact.where()} kan räknas ut ({interval}) från andra "
            f"tal på samma sida. {len(found)} dolda tal är röjda. Åtgärd: dölj fler celler eller ta bort tabellen; "
            "kontakta den som förvaltar publiceringsreglerna.")
