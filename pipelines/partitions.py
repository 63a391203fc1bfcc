"""Partitions: municipality (static, from reference data or the deployment's list) × quarter (time).

Dagster keys look like ``0486|2026-07-01`` (municipality|first day of the quarter); people write ``2026-Q3``
(:func:`quarter_key` and :func:`quarter_label` translate). The partitioned assets are the models marked
``-- @partitioned`` in models/ (event-level marts and intermediates); everything else is small and rebuilt whole.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import yaml

from pipelines.home import PROJECT_ROOT, Home
from sources.quarter import Quarter, QuarterError
from sources.taxonomy import read_reference

DEFAULT_CONFIG = PROJECT_ROOT / "data" / "config" / "deployment.yaml"
QUARTER_CRON = "0 0 1 1,4,7,10 *"


class PartitionError(ValueError):
    """A partition or range written by a person that does not exist; the message says what does."""


@dataclass(frozen=True)
class Deployment:
    municipalities: tuple[str, ...]
    first_quarter: str

    @classmethod
    def load(cls, home: Home | None = None) -> "Deployment":
        path = DEFAULT_CONFIG
        if home is not None and home.root is not None and (home.root / "deployment.yaml").exists():
            path = home.root / "deployment.yaml"
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = [r["municipality_code"] for r in read_reference("municipalities")]
        wanted = doc.get("municipalities", "all")
        if wanted == "all":
            codes = known
        else:
            codes = [str(c).zfill(4) for c in wanted]
            unknown = sorted(set(codes) - set(known))
            if unknown:
                raise PartitionError(f"{path}: okända kommunkoder {', '.join(unknown)}.")
        first = str(doc.get("first_quarter", "2016-Q1"))
        quarter_start(first)  # validates
        return cls(tuple(sorted(codes)), first)


def quarter_start(label: str) -> date:
    try:
        return Quarter.parse(label).start
    except QuarterError as exc:
        raise PartitionError(str(exc)) from None


def quarter_key(label: str) -> str:
    try:
        return Quarter.parse(label).partition_key
    except QuarterError as exc:
        raise PartitionError(str(exc)) from None


def quarter_label(key: str) -> str:
    return Quarter.parse(key).text


class MunicipalityQuarterPartitions(dg.MultiPartitionsDefinition):
    """Municipality × quarter, with the list of keys kept while the quarters stay the same.

    Each step that reads a partitioned asset makes Dagster list every key (12 760 for the country since 2016) for
    its data-version bookkeeping, and Dagster's own cache is keyed on the clock, so every step built the list
    afresh: 0,25 s a step, about 3 s a refresh. The keys change only when a quarter begins (the time dimension's
    keys) or the municipalities change (a new definition), so they are kept per tuple of quarter keys."""

    def _get_partition_keys(self, _current_time):
        names = tuple(d.name for d in self._partitions_defs)
        dims = tuple(tuple(d.partitions_def.get_partition_keys()) for d in self._partitions_defs)
        cached = _KEPT_KEYS.get((names, dims))  # per process, not per object: Dagster works on copies of it
        if cached is None:
            keys = [dg.MultiPartitionKey(dict(zip(names, combo))) for combo in itertools.product(*dims)]
            cached = [k for k in keys if self.is_valid_key_format(k)]
            if len(_KEPT_KEYS) >= 4:
                _KEPT_KEYS.clear()
            _KEPT_KEYS[(names, dims)] = cached
        return cached


_KEPT_KEYS: dict[tuple, list] = {}


def partitions_def(deployment: Deployment) -> dg.MultiPartitionsDefinition:
    return MunicipalityQuarterPartitions({
        "municipality": dg.StaticPartitionsDefinition(list(deployment.municipalities)),
        "quarter": dg.TimeWindowPartitionsDefinition(
            cron_schedule=QUARTER_CRON, fmt="%Y-%m-%d", start=quarter_key(deployment.first_quarter),
            timezone="Europe/Stockholm", end_offset=1),  # the running quarter has a partition too
    })


def keys_frame(keys: list[str]) -> pd.DataFrame:
    """Dagster partition keys -> rows of (municipality_code, year, quarter) for the SQL runner."""
    rows = []
    for k in keys:
        dims = k.keys_by_dimension if isinstance(k, dg.MultiPartitionKey) else dg.MultiPartitionKey(
            dict(zip(("municipality", "quarter"), str(k).split("|")))).keys_by_dimension
        q = Quarter.parse(dims["quarter"])
        rows.append((dims["municipality"], q.year, q.q))
    return pd.DataFrame(rows, columns=["municipality_code", "year", "quarter"])


def key_for(municipality: str, quarter: str) -> dg.MultiPartitionKey:
    """The Dagster key of a municipality and a quarter written by a person (``2026-Q3``)."""
    return dg.MultiPartitionKey({"municipality": municipality, "quarter": quarter_key(quarter)})


def backfill_ranges(deployment: Deployment, municipalities: list[str] | None, first: str, last: str
                    ) -> list[tuple[str, str]]:
    """Contiguous key ranges (start, end) for a backfill: one per municipality over the quarters first..last."""
    codes = [c.zfill(4) for c in municipalities] if municipalities else list(deployment.municipalities)
    unknown = sorted(set(codes) - set(deployment.municipalities))
    if unknown:
        raise PartitionError(f"Kommunerna {', '.join(unknown)} finns inte i den här installationens partitioner.")
    if quarter_start(first) > quarter_start(last):
        raise PartitionError(f"{first} ligger efter {last}. Ange det tidigaste kvartalet först.")
    if quarter_start(first) < quarter_start(deployment.first_quarter):
        raise PartitionError(f"{first} ligger före det första partitionerade kvartalet ({deployment.first_quarter}). "
                             "Kör `lagesbild refresh --full` för äldre data.")
    return [(key_for(c, first), key_for(c, last)) for c in codes]
