"""A feed's quality expectations as declared in ``sources/<feed>/expectations.yaml`` (no Great Expectations here:
``pipelines/checks`` runs them; the quality page only lists them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sources.contract import SOURCES_DIR
from sources.schemas import SuiteSpec, validate
from sources.yamlfile import read_mapping


@dataclass
class Suite:
    feed: str
    table: str
    row_id: list[str]
    expectations: list[dict]

    @property
    def path(self) -> Path:
        return SOURCES_DIR / self.feed / "expectations.yaml"


def load_suite(feed: str) -> Suite | None:
    path = SOURCES_DIR / feed / "expectations.yaml"
    if not path.exists():
        return None
    d = read_mapping(path)
    validate(SuiteSpec, d, path)  # a misspelt key is an error naming file, line and key (sources/schemas.py)
    # the checks read each expectation as the file writes it (GE's own keyword names), so the dicts are kept
    return Suite(feed=feed, table=d["table"], row_id=list(d.get("row_id", [])), expectations=list(d["expectations"]))


def repeats_contract(spec: dict, contract) -> str | None:
    """Why coercion already guarantees ``spec`` on every loaded row (so it cannot fail), or None.

    A staging column named like a contract column carries that column's loaded values. Coercion quarantines every
    cell outside the contract, so these expectations would only repeat it: ``not_null`` on a required column (or
    one with a default); ``between`` within the contract's own ``min``/``max`` (and ``today`` for a ``not_future``
    column); ``in_set`` over an inline list that contains every value the contract allows. An ``in_set`` over a
    reference list is not a repeat: the list can change after rows were loaded."""
    column = spec.get("column")
    if column not in contract.column_names:
        return None
    c = contract.column(column)
    kind = spec["type"]
    if kind == "expect_column_values_to_not_be_null" and (c.required or c.default is not None):
        return f"{column} är obligatorisk (eller har ett standardvärde) i kontraktet"
    if kind == "expect_column_values_to_be_between":
        low, high = spec.get("min_value"), spec.get("max_value")
        low_held = low is None or (isinstance(low, (int, float)) and c.min is not None and c.min >= low)
        high_held = high is None or (high == {"today": True} and c.not_future) or (
            isinstance(high, (int, float)) and c.max is not None and c.max <= high)
        if low_held and high_held:
            return f"kontraktet håller redan {column} inom gränserna"
    if kind == "expect_column_values_to_be_in_set" and isinstance(spec.get("value_set"), list) \
            and c.allowed is not None and set(c.allowed) <= {str(v) for v in spec["value_set"]}:
        return f"kontraktet tillåter redan bara dessa värden i {column}"
    return None
