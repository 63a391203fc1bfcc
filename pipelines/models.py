"""SQL models kept as files in ``models/<layer>/<name>.sql`` (staging -> intermediate -> marts).

Each file is one SELECT; the runner materializes it as ``<layer>.<name>`` inside a transaction. Dependencies are
read from the ``schema.table`` references in the file (like dbt's ``ref``), so the Dagster graph follows the SQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.home import PROJECT_ROOT
from sources.db import run, scalar

MODELS_DIR = PROJECT_ROOT / "models"
LAYERS = ["staging", "intermediate", "marts"]
_REF = re.compile(r"\b(raw|ref|plan|staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def description(self) -> str:
        lines = [ln[2:].strip() for ln in self.sql.splitlines() if ln.startswith("--")]
        return " ".join(lines).strip()

    @property
    def refs(self) -> list[tuple[str, str]]:
        body = _COMMENT.sub("", self.sql)
        return sorted({m.groups() for m in _REF.finditer(body)} - {(self.layer, self.name)})


def discover() -> list[Model]:
    out = []
    for layer in LAYERS:
        for p in sorted((MODELS_DIR / layer).glob("*.sql")):
            out.append(Model(layer, p.stem, p))
    return out


def run_model(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    """(Re)build one model as a table; returns its row count. Atomic: the old table stays on error."""
    sql = model.sql.strip().rstrip(";")
    con.begin()
    try:
        run(con, f'CREATE SCHEMA IF NOT EXISTS "{model.layer}"')
        run(con, f'CREATE OR REPLACE TABLE "{model.layer}"."{model.name}" AS {sql}')
        n = scalar(con, f'SELECT count(*) FROM "{model.layer}"."{model.name}"')
        con.commit()
    except Exception:
        con.rollback()
        raise
    return int(n)


def ordered(models: list[Model] | None = None) -> list[Model]:
    """Models in dependency order (a model after every model it reads)."""
    models = models if models is not None else discover()
    by_key = {(m.layer, m.name): m for m in models}
    done: list[Model] = []
    seen: set = set()

    def visit(m: Model, path: tuple = ()) -> None:
        key = (m.layer, m.name)
        if key in seen:
            return
        if key in path:
            raise ValueError(f"models depend on each other in a cycle: {' -> '.join('.'.join(k) for k in path + (key,))}")
        for ref in m.refs:
            if ref in by_key:
                visit(by_key[ref], path + (key,))
        seen.add(key)
        done.append(m)

    for m in models:
        visit(m)
    return done


def run_all(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Build every model in dependency order (what the Dagster graph does, without Dagster)."""
    return {f"{m.layer}.{m.name}": run_model(con, m) for m in ordered()}
