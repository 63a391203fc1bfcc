"""A feed's quality expectations as declared in ``sources/<feed>/expectations.yaml`` (no Great Expectations here:
``pipelines/checks`` runs them; the quality page only lists them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sources.contract import SOURCES_DIR
from sources.yamlfile import check_keys, read_mapping

SUITE_KEYS = ("table", "row_id", "expectations", "description")
EXPECTATION_KEYS = ("type", "severity", "column", "column_list", "count_column", "group_by", "max_factor",
                    "max_value", "min_value", "mostly", "value_set", "window", "description")


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
    d = read_mapping(path)  # a misspelt key is an error naming file, line and key (sources/yamlfile.py)
    check_keys(d, path, "", SUITE_KEYS, ("table", "expectations"))
    for i, e in enumerate(d["expectations"]):
        check_keys(e, path, f"expectations[{i}]", EXPECTATION_KEYS, ("type", "severity"))
    return Suite(feed=feed, table=d["table"], row_id=list(d.get("row_id", [])), expectations=list(d["expectations"]))
