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


@dataclass
class Auditor:
    policy: Policy
    facts: list[Fact] = field(default_factory=list)

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
        import numpy as np
        from scipy.optimize import linprog

        facts = self.facts if facts is None else facts
        cells, index, a_eq, b_eq, a_ub, b_ub = self._system(facts)
        if not target.cells:
            return 0.0, 0.0
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

    def findings(self, facts: list[Fact] | None = None, first: bool = False) -> list[Finding]:
        """Hidden numbers whose feasible interval is narrower than the policy's protection (``first``: stop at one)."""
        facts = self.facts if facts is None else facts
        out = []
        for f in facts:
            if f.visible(self.policy) or not f.cells:
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
        return out


def protect(facts: list[Fact], policy: Policy, max_rounds: int = 500, candidates_per_round: int = 12) -> list[Fact]:
    """Hide published numbers (shown "×") until no hidden number is pinned; returns the facts hidden.

    Each round takes the first pinned number and, among the hideable numbers that share a cell with it or with a
    number that does (visible ones or "<5" labels, whose 1..4 is a constraint too), hides the one that widens its
    interval most (then the smallest). Prose (position None) is never hidden: a table cell goes instead."""
    auditor = Auditor(policy, facts)
    hidden: list[Fact] = []
    for _ in range(max_rounds):
        found = auditor.findings(first=True)
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
