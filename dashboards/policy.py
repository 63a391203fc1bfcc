"""Publication policy (suppression, survey minimum n, change-signal thresholds) from data/config/policy.yaml."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

POLICY_FILE = Path(__file__).resolve().parents[1] / "data" / "config" / "policy.yaml"


@dataclass(frozen=True)
class Policy:
    max_suppressed_count: int = 4
    suppressed_label: str = "<5"
    survey_min_n: int = 30
    change_possible: float = 2.0
    change_clear: float = 3.0
    min_base_for_percent: int = 20


def load_policy(path: Path = POLICY_FILE) -> Policy:
    d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    s, sv, c = d.get("suppression", {}), d.get("survey", {}), d.get("change_signal", {})
    return Policy(
        max_suppressed_count=int(s.get("max_suppressed_count", 4)), suppressed_label=str(s.get("label", "<5")),
        survey_min_n=int(sv.get("min_n", 30)), change_possible=float(c.get("possible", 2.0)),
        change_clear=float(c.get("clear", 3.0)), min_base_for_percent=int(c.get("min_base_for_percent", 20)),
    )
