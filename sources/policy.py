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
    area_min_population: int = 1000  # areas with fewer inhabitants (or unknown): counts 1..max shown as the label
    survey_min_n: int = 30
    change_possible_level: float = 0.05   # two-sided, after page-wide Benjamini–Hochberg adjustment
    change_clear_level: float = 0.001
    dispersion_floor: float = 1.0
    dispersion_default: float = 2.0
    dispersion_min_df: int = 6
    min_base_for_percent: int = 20
    small_area_population: int = 5000
    confidence_z: float = 1.959964
    disclosure_min_interval: int = 3  # a hidden number's feasible interval must be at least this wide


def load_policy(path: Path = POLICY_FILE) -> Policy:
    d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    s, sv, c, r = d.get("suppression", {}), d.get("survey", {}), d.get("change_signal", {}), d.get("rates", {})
    return Policy(
        max_suppressed_count=int(s.get("max_suppressed_count", 4)), suppressed_label=str(s.get("label", "<5")),
        area_min_population=int(s.get("area_min_population", 1000)),
        survey_min_n=int(sv.get("min_n", 30)),
        change_possible_level=float(c.get("possible_level", 0.05)), change_clear_level=float(c.get("clear_level", 0.001)),
        dispersion_floor=float(c.get("dispersion_floor", 1.0)), dispersion_default=float(c.get("dispersion_default", 2.0)),
        dispersion_min_df=int(c.get("dispersion_min_df", 6)), min_base_for_percent=int(c.get("min_base_for_percent", 20)),
        small_area_population=int(r.get("small_area_population", 5000)),
        disclosure_min_interval=int(d.get("disclosure", {}).get("min_interval", 3)),
    )


def policy_rows(policy: Policy | None = None) -> list[dict]:
    """The policy as (key, value) rows for the warehouse table ref.policy (SQL models read it)."""
    from dataclasses import asdict

    return [{"key": k, "value": str(v)} for k, v in asdict(policy or load_policy()).items()]
