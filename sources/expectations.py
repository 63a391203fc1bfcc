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
