"""Every count comparison one page publishes, tested together (rules in dashboards/STATISTICS.md).

A page (or meeting pack) compares many counts at once: crime categories, the agreement's indicators, headline
figures. Testing each at 5 % would flag about one in twenty unchanged series, so the comparisons of a page are
collected in one ``SignalFamily`` first; its p-values (exact conditional test, scaled by the dispersion estimated
for that series) are adjusted together with Benjamini–Hochberg, and only then labelled. A comparison whose periods
are not fully covered by the feed is *missing* ("saknas", with the quarters that lack data), never a comparison
against 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dashboards.format import fmt_int, fmt_number
from sources.policy import Policy
from sources.quarter import Quarter
from dashboards.statistics import ChangeSignal, Dispersion, bh_adjust, change_signal, estimate_dispersion

FEED_NAMES = {"crime": "polisens export", "est": "EST-rapporterna", "concern": "orosanmälningarna",
              "activity": "aktivitetsloggen"}


# Quarters are keyed by their sequence number (``Quarter.seq``, the marts' ``quarter_seq``): consecutive quarters,
# consecutive numbers, so "the four quarters before" is ``key - 4``.

def key_label(key: int) -> str:
    return Quarter.from_seq(key).label


def quarter_days(key: int) -> int:
    q = Quarter.from_seq(key)
    return (q.end - q.start).days + 1


def missing_text(keys: list[int], feed: str) -> str:
    return f"{FEED_NAMES.get(feed, feed)} saknar {', '.join(key_label(k) for k in keys)}"


@dataclass
class _Test:
    now: float | None
    before: float | None
    share_now: float
    dispersion: Dispersion
    missing: str | None


@dataclass
class SignalFamily:
    """The count comparisons of one page; ``resolve`` adjusts them together and labels them."""
    policy: Policy
    tests: dict = field(default_factory=dict)
    _resolved: dict | None = None

    def add(self, key, now: float | None, before: float | None, dispersion: Dispersion, share_now: float = 0.5,
            missing: str | None = None) -> None:
        if self._resolved is not None:
            raise RuntimeError("a resolved family takes no more comparisons")
        self.tests[key] = _Test(now, before, share_now, dispersion, missing)

    def resolve(self) -> "SignalFamily":
        keys = [k for k, t in self.tests.items() if t.missing is None and t.now is not None and t.before is not None]
        raw = [change_signal(self.tests[k].now, self.tests[k].before, self.policy, self.tests[k].share_now,
                             self.tests[k].dispersion.value).p for k in keys]
        adjusted = dict(zip(keys, bh_adjust(raw)))
        self._resolved = {}
        for k, t in self.tests.items():
            self._resolved[k] = change_signal(t.now, t.before, self.policy, t.share_now, t.dispersion.value,
                                              p_adjusted=adjusted.get(k), missing=t.missing)
        return self

    @property
    def size(self) -> int:
        """How many comparisons were actually tested (missing ones are not)."""
        return sum(1 for t in self.tests.values() if t.missing is None)

    def get(self, key) -> ChangeSignal:
        if self._resolved is None:
            self.resolve()
        return self._resolved[key]

    def has(self, key) -> bool:
        return key in self.tests

    def dispersion(self, key) -> Dispersion:
        return self.tests[key].dispersion

    def note(self) -> str:
        """The page's statement of how false alarms are controlled (shown on every page with signals)."""
        p = self.policy
        return (f"Förändringssignalerna bygger på ett exakt test av två antal (betingat på summan), justerat för "
                f"överspridning (spridningsmåttet φ skattas per serie ur tidigare kvartal). Sidans {self.size} "
                "jämförelser prövas tillsammans med Benjamini–Hochbergs metod, så att högst "
                f"{fmt_number(p.change_possible_level * 100, 0)} % av signalerna väntas vara falsklarm. "
                f"\"Möjlig förändring\": justerat p-värde högst {fmt_number(p.change_possible_level, 2)}; "
                f"\"tydlig förändring\": högst {fmt_number(p.change_clear_level, 3)}. Procent visas bara när "
                f"jämförelsetalet är minst {fmt_int(p.min_base_for_percent)}.")


def exposure_share(now_keys: list[int], before_keys: list[int], population: dict[int, float] | None = None) -> float:
    """The later window's share of the two windows' exposure: days × population (population of the quarter's year,
    or the nearest known year; days only when no population is known)."""
    def exposure(keys):
        total = 0.0
        for k in keys:
            year = Quarter.from_seq(k).year
            pop = 1.0
            if population:
                nearest = min(population, key=lambda y: (abs(y - year), -y))
                pop = float(population[nearest])
            total += quarter_days(k) * pop
        return total

    a, b = exposure(now_keys), exposure(before_keys)
    return a / (a + b) if a + b > 0 else 0.5


def add_window_test(family: SignalFamily, key, by_quarter: pd.Series, covered: set[int], key_now: int,
                    quarters: int, feed: str, population: dict[int, float] | None = None,
                    lag: int | None = None) -> None:
    """Compare the ``quarters`` quarters ending ``key_now`` with the same number ending ``lag`` quarters earlier
    (default: the window just before). ``by_quarter``: counts indexed by quarter key (absent = 0 where covered)."""
    lag = quarters if lag is None else lag
    now_keys = list(range(key_now - quarters + 1, key_now + 1))
    before_keys = [k - lag for k in now_keys]
    gaps = [k for k in before_keys + now_keys if k not in covered]
    history = {(Quarter.from_seq(k).year, Quarter.from_seq(k).q): float(by_quarter.get(k, 0.0))
               for k in sorted(covered) if k <= key_now}
    disp = estimate_dispersion(history, family.policy)
    if gaps:
        family.add(key, None, None, disp, missing=missing_text(sorted(set(gaps)), feed))
        return
    now = float(sum(by_quarter.get(k, 0.0) for k in now_keys))
    before = float(sum(by_quarter.get(k, 0.0) for k in before_keys))
    family.add(key, now, before, disp, share_now=exposure_share(now_keys, before_keys, population))


def covered_quarters(df: pd.DataFrame) -> set[int]:
    """Quarter keys in which a feed has any row for the municipality (rows of 0 count as data)."""
    if df.empty:
        return set()
    return {int(k) for k in df.quarter_seq.dropna()}


def municipal_population(data, code: str) -> dict[int, float]:
    pop = data.marts.get("population_by_year", pd.DataFrame())
    if pop.empty:
        return {}
    part = pop[(pop.municipality_code == code) & (pop.area_code == "") & pop.population.notna()]
    return {int(y): float(v) for y, v in zip(part.year, part.population)}


def crime_last_key(data, code: str) -> int | None:
    crime = data.of("crime_by_quarter", code)
    crime = crime[crime.counts_as_crime]
    if crime.empty:
        return None
    return int(crime.quarter_seq.max())


def feed_coverage(data, code: str) -> dict[str, set[int]]:
    """Quarters with data per feed for one municipality: the basis of "saknas"."""
    m = data.marts
    out = {}
    for kind, mart in (("crime", "crime_by_quarter"), ("est", "est_by_quarter"), ("concern", "concern_by_quarter")):
        df = m[mart]
        out[kind] = covered_quarters(df[df.municipality_code == code])
    ind = m["indicators_by_quarter"]
    act = ind[(ind.municipality_code == code) & (ind.kind == "activity")].dropna(subset=["quarter_seq"])
    if act.empty:
        out["activity"] = set()
    else:  # the activity log covers its first to its last logged quarter: quarters between without entries are 0
        out["activity"] = set(range(int(act.quarter_seq.min()), int(act.quarter_seq.max()) + 1))
    return out


def crime_tests(data, code: str, family: SignalFamily, key_now: int) -> None:
    """Reported crime per category (and in total): the last four quarters against the four before."""
    crime = data.of("crime_by_quarter", code)
    covered = covered_quarters(crime)
    counted = crime[crime.counts_as_crime]
    pop = municipal_population(data, code)
    for category, part in counted.groupby("category"):
        series = part.groupby("quarter_seq")["crimes"].sum()
        window = series[(series.index > key_now - 8) & (series.index <= key_now)]
        if window.sum() == 0:
            continue
        add_window_test(family, ("crime", category), series, covered, key_now, 4, "crime", pop)
    total = counted.groupby("quarter_seq")["crimes"].sum()
    add_window_test(family, ("crime", None), total, covered, key_now, 4, "crime", pop)
    # year to date: quarters 1..q of this year against the same quarters a year earlier
    add_window_test(family, ("crime_ytd", None), total, covered, key_now, Quarter.from_seq(key_now).q, "crime", pop,
                    lag=4)


def indicator_tests(data, code: str, agreement_id: str, family: SignalFamily, key_now: int) -> None:
    """Each count indicator of the agreement: the last four quarters against the four before, and the latest quarter
    against the same quarter a year earlier."""
    ind = data.marts["indicators_by_quarter"]
    ind = ind[(ind.agreement_id == agreement_id) & (ind.municipality_code == code) & (ind.area_code == "")
              & (ind.kind != "survey")]
    imap = data.plan["indicator_map"]
    kinds = (imap[(imap.agreement_id == agreement_id) & (imap.kind != "survey")]
             .groupby("indicator_id")["kind"].first())
    coverage = feed_coverage(data, code)
    pop = municipal_population(data, code)
    for indicator_id, kind in kinds.items():
        part = ind[ind.indicator_id == indicator_id].dropna(subset=["quarter_seq"])
        series = part.groupby(part.quarter_seq.astype(int))["value"].sum()
        covered = coverage.get(kind, set())
        add_window_test(family, ("ind4", indicator_id), series, covered, key_now, 4, kind, pop)
        add_window_test(family, ("indq", indicator_id), series, covered, key_now, 1, kind, pop, lag=4)


def page_family(data, code: str, policy: Policy, agreement_id: str | None = None,
                resolve: bool = True) -> SignalFamily:
    """The count comparisons of a municipality's page (crime categories and the agreement's indicators)."""
    family = SignalFamily(policy)
    key_now = crime_last_key(data, code)
    if key_now is None:
        return family.resolve() if resolve else family
    crime_tests(data, code, family, key_now)
    if agreement_id is None:
        agreement_id = agreement_in_force(data, code, key_now)
    if agreement_id is not None:
        indicator_tests(data, code, agreement_id, family, key_now)
    return family.resolve() if resolve else family


def agreement_in_force(data, code: str, key_now: int) -> str | None:
    ags = data.plan.get("agreements", pd.DataFrame())
    if ags.empty:
        return None
    q_start = Quarter.from_seq(key_now).start
    ags = ags[(ags.municipality_code == code) & (pd.to_datetime(ags.valid_from).dt.date <= q_start)
              & (pd.to_datetime(ags.valid_to).dt.date >= q_start)]
    return None if ags.empty else str(ags.iloc[0].agreement_id)
