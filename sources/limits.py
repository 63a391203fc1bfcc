"""Input limits (data/config/limits.yaml): what one file may contain before it is rejected whole."""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

LIMITS_FILE = Path(__file__).resolve().parents[1] / "data" / "config" / "limits.yaml"


@dataclass(frozen=True)
class Limits:
    max_decompressed_bytes: int = 4 * 1024 ** 3
    in_memory_bytes: int = 64 * 1024 ** 2
    max_rows: int = 30_000_000
    max_columns: int = 500
    max_field_chars: int = 100_000
    max_json_depth: int = 64
    max_xlsx_cells: int = 50_000_000


@lru_cache(maxsize=1)
def load_limits(path: Path = LIMITS_FILE) -> Limits:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {f.name for f in fields(Limits)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: okänd nyckel {', '.join(unknown)} (kända: {', '.join(sorted(known))})")
    return Limits(**{k: int(v) for k, v in data.items()})


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("kB", 1024)):
        if n >= size:
            return f"{n / size:.0f} {unit}"
    return f"{n} byte"
