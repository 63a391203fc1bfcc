"""Where the warehouse, the incoming drop folder and the published site live.

``--home DIR`` (or env ``LAGESBILD_HOME``) puts all three below DIR. Without it the project's own folders are
used: ``data/incoming/`` for drop files and ``build/`` for the warehouse and the site.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = PROJECT_ROOT / "models"  # the SQL files (staging -> intermediate -> marts, lookups for the checks)
ENV_VAR = "LAGESBILD_HOME"


@dataclass(frozen=True)
class Home:
    root: Path | None = None

    def __post_init__(self) -> None:
        if self.root is not None and not isinstance(self.root, Path):
            object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> "Home":
        value = home if home not in (None, "") else os.environ.get(ENV_VAR)
        return cls(Path(value).expanduser().resolve()) if value else cls(None)

    @property
    def incoming(self) -> Path:
        return (self.root / "incoming") if self.root else PROJECT_ROOT / "data" / "incoming"

    @property
    def warehouse(self) -> Path:
        return (self.root / "warehouse.duckdb") if self.root else PROJECT_ROOT / "build" / "warehouse.duckdb"

    @property
    def site(self) -> Path:
        return (self.root / "site") if self.root else PROJECT_ROOT / "build" / "site"

    @property
    def published(self) -> Path:
        """Link to the published version: its site/ and the warehouse snapshot (pipelines/publication.py)."""
        return (self.root / "published") if self.root else PROJECT_ROOT / "build" / "published"

    @property
    def snapshot(self) -> Path:
        """Read-only copy of the warehouse as of the last complete refresh, for pages and ad-hoc readers."""
        return self.published / "warehouse.duckdb"

    @property
    def analysis(self) -> Path:
        """The coordinator's written analyses: <kommunkod>-<period>.md (e.g. 0486-2026-Q3.md)."""
        return (self.root / "analys") if self.root else PROJECT_ROOT / "data" / "analys"

    @property
    def dagster(self) -> Path:
        """The home's own Dagster instance (DAGSTER_HOME): every run, materialization and check result, whether
        started by ``lagesbild refresh`` or from the UI (``make dagster`` / ``dagster dev`` pointed at it)."""
        return (self.root / "dagster") if self.root else PROJECT_ROOT / "build" / "dagster"

    def loose_files(self) -> list[Path]:
        """Files dropped directly in incoming/ instead of a feed's folder (hidden files left out)."""
        if not self.incoming.is_dir():
            return []
        return sorted(p for p in self.incoming.iterdir() if p.is_file() and not p.name.startswith("."))

    def ensure(self) -> "Home":
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        return self
