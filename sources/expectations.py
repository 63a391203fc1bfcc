"""A feed's quality expectations as declared in ``sources/<feed>/expectations.yaml`` (no Great Expectations here:
``pipelines/checks`` runs them; the quality page only lists them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sources.contract import SOURCES_DIR


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
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Suite(feed=feed, table=d["table"], row_id=list(d.get("row_id", [])), expectations=list(d["expectations"]))
