"""SQL models kept as files in ``models/<layer>/<name>.sql`` (staging -> intermediate -> marts).

Each file is one SELECT; the runner materializes it as ``<layer>.<name>`` inside a transaction. Dependencies are
read from the ``schema.table`` references in the file (like dbt's ``ref``), so the Dagster graph follows the SQL.

Directives are comment lines starting with ``-- @`` (not part of the description):

* ``-- @materialized: view`` builds a view instead of a table (staging models: no copy of the raw rows).
* ``-- @partitioned: municipality_code, year, quarter`` marks a model whose rows belong to one partition each, keyed
  by the listed columns (any of ``municipality_code``, ``year``, ``quarter``: the dimensions loads record in
  ``meta.pending_partitions``; ``municipality_code, year`` rebuilds whole years). Such a model can be rebuilt for
  some partitions only: the partitions' rows are deleted and inserted again from the same SELECT filtered to them,
  in one transaction (idempotent).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.home import MODELS_DIR, PROJECT_ROOT
from sources.db import run, scalar
from sources.faults import fault_point
from sources.meta import registered, transaction

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
LAYERS = ["staging", "intermediate", "marts"]
# the dimensions a load records for the partitions it touches (meta.pending_partitions; Dagster's partition keys)
PARTITION_DIMENSIONS = ("municipality_code", "year", "quarter")


class ModelError(ValueError):
    """A model file's directive is wrong (named with the file)."""
_REF = re.compile(r"\b(raw|ref|plan|staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")
_DIRECTIVE = re.compile(r"^--\s*@(\w+)\s*:\s*(.*)$", re.M)


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def key(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def directives(self) -> dict[str, str]:
        return {k: v.strip() for k, v in _DIRECTIVE.findall(self.sql)}

    @property
    def materialized(self) -> str:
        return self.directives.get("materialized", "table")

    @property
    def partitioned(self) -> bool:
        return "partitioned" in self.directives

    @property
    def partition_columns(self) -> tuple[str, ...]:
        """The columns named by ``-- @partitioned:`` (empty for a model that is not partitioned)."""
        if not self.partitioned:
            return ()
        cols = tuple(c.strip() for c in self.directives["partitioned"].split(",") if c.strip())
        unknown = [c for c in cols if c not in PARTITION_DIMENSIONS]
        if not cols or unknown or len(set(cols)) != len(cols):
            raise ModelError(f"models/{self.layer}/{self.path.name}: `-- @partitioned:` names "
                             f"{', '.join(cols) or 'no column'}; it takes distinct columns among "
                             f"{', '.join(PARTITION_DIMENSIONS)}")
        return cols

    @property
    def description(self) -> str:
        lines = [ln[2:].strip() for ln in self.sql.splitlines() if ln.startswith("--") and not _DIRECTIVE.match(ln)]
        return " ".join(lines).strip()

    @property
    def refs(self) -> list[tuple[str, str]]:
        body = _COMMENT.sub("", self.sql)
        return sorted({m.groups() for m in _REF.finditer(body)} - {(self.layer, self.name)})

    @property
    def code_version(self) -> str:
        """Changes when the SQL or a reference list it reads changes (then every partition must be rebuilt)."""
        h = hashlib.sha1(self.sql.encode())
        for schema, table in self.refs:
            if schema == "ref":
                p = REFERENCE_DIR / f"{table}.csv"
                h.update(p.read_bytes() if p.exists() else table.encode())
        return h.hexdigest()[:12]


def discover() -> list[Model]:
    out = []
    for layer in LAYERS:
        for p in sorted((MODELS_DIR / layer).glob("*.sql")):
            out.append(Model(layer, p.stem, p))
    return out


def feeds_of(model: Model, models: list[Model] | None = None) -> set[str]:
    """The raw feeds a model reads, directly or through other models."""
    by_key = {(m.layer, m.name): m for m in (models if models is not None else discover())}
    out: set[str] = set()
    for schema, table in model.refs:
        if schema == "raw":
            out.add(table)
        elif (schema, table) in by_key:
            out |= feeds_of(by_key[(schema, table)], list(by_key.values()))
    return out


def _select(model: Model) -> str:
    return model.sql.strip().rstrip(";")


def run_model(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    """(Re)build one model as a table (or view); returns its row count. Atomic: the old one stays on error."""
    with transaction(con):
        return _build_full(con, model)


def _build_full(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    run(con, f'CREATE SCHEMA IF NOT EXISTS "{model.layer}"')
    if model.materialized == "view":
        if table_exists(con, model.layer, model.name):
            run(con, f'DROP TABLE "{model.layer}"."{model.name}"')
        run(con, f'CREATE OR REPLACE VIEW "{model.layer}"."{model.name}" AS {_select(model)}')
        return -1  # a view is not counted (counting would scan the raw rows)
    if scalar(con, "SELECT count(*) FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
              [model.layer, model.name]):
        run(con, f'DROP VIEW "{model.layer}"."{model.name}"')
    run(con, f'CREATE OR REPLACE TABLE "{model.layer}"."{model.name}" AS {_select(model)}')
    return int(scalar(con, f'SELECT count(*) FROM "{model.layer}"."{model.name}"'))


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                       [schema, name]))


def _literal(v) -> str:
    return str(int(v)) if not isinstance(v, str) else "'" + v.replace("'", "''") + "'"


def _rebuild_partitions(con: duckdb.DuckDBPyConnection, model: Model, keys: pd.DataFrame) -> int:
    """Delete and re-insert the rows of the given partitions (``keys`` has the columns of
    :data:`PARTITION_DIMENSIONS`; they are narrowed to the model's partition columns)."""
    target = f'"{model.layer}"."{model.name}"'
    cols = model.partition_columns
    if not table_exists(con, model.layer, model.name):
        run(con, f'CREATE SCHEMA IF NOT EXISTS "{model.layer}"')
        run(con, f"CREATE TABLE {target} AS SELECT * FROM ({_select(model)}) LIMIT 0")
    keys = keys[list(cols)].drop_duplicates().astype({c: "int64" for c in cols if c in ("year", "quarter")})
    with registered(con, "_partition_keys", keys):
        on = " AND ".join(f"t.{c} = k.{c}" for c in cols)
        run(con, f"DELETE FROM {target} AS t USING _partition_keys AS k WHERE {on}")
        # literal pre-filters on the grouping columns are pushed below the aggregation to the raw scan, so only the
        # partitions' rows are aggregated; the semi join then keeps exactly the partitions asked for
        prefilter = " AND ".join(
            f"t.{c} IN ({', '.join(_literal(v) for v in sorted(keys[c].unique()))})" for c in cols)
        run(con, f"INSERT INTO {target} SELECT t.* FROM ({_select(model)}) AS t SEMI JOIN _partition_keys AS k "
                 f"ON {on} WHERE {prefilter}")
        n = scalar(con, f"SELECT count(*) FROM {target} AS t SEMI JOIN _partition_keys AS k ON {on}")
    return int(n)


@dataclass
class BuildResult:
    mode: str          # "full", "partitions" or "up to date"
    rows: int          # rows in the table after the build (-1 for a view)
    partitions: int = 0  # partitions rebuilt (mode "partitions")


def _state(con, model: Model) -> tuple[str, int] | None:
    rows = con.execute("SELECT code_version, pending_done FROM meta.model_state WHERE model = ?", [model.key]).fetchall()
    return rows[0] if rows else None


def _save_state(con, model: Model, pending_done: int) -> None:
    run(con, "INSERT OR REPLACE INTO meta.model_state VALUES (?, ?, ?, now()::timestamp)",
        [model.key, model.code_version, pending_done])


def build_model(con: duckdb.DuckDBPyConnection, model: Model, keys: pd.DataFrame | None = None,
                full: bool = False) -> BuildResult:
    """Build a model the way a refresh needs it, atomically.

    * not partitioned: a full rebuild (tables) or a new definition (views);
    * ``keys`` given (a Dagster partition run or a backfill): those partitions only;
    * otherwise, for a partitioned model: a full rebuild when the table is missing, its SQL or reference lists
      changed, or ``full``; else only the partitions that files loaded since its last build touched
      (``meta.pending_partitions``), or nothing when there are none.
    """
    from sources.ingest import ensure_schema

    with transaction(con):
        if not model.partitioned:
            result = BuildResult("full", _build_full(con, model))
        else:
            ensure_schema(con)
            state = _state(con, model)
            newest = int(scalar(con, "SELECT coalesce(max(id), 0) FROM meta.pending_partitions"))
            if keys is not None:
                n = _rebuild_partitions(con, model, keys)
                result = BuildResult("partitions", n, len(keys))
            elif full or state is None or state[0] != model.code_version or not table_exists(con, model.layer, model.name):
                result = BuildResult("full", _build_full(con, model))
                _save_state(con, model, newest)
            else:
                feeds = sorted(feeds_of(model))
                pending = con.execute(
                    "SELECT DISTINCT municipality_code, year, quarter FROM meta.pending_partitions "
                    f"WHERE id > ? AND feed IN ({', '.join('?' * len(feeds))})", [state[1], *feeds]).df()
                if len(pending):
                    _rebuild_partitions(con, model, pending)
                    result = BuildResult("partitions", int(scalar(con, f'SELECT count(*) FROM "{model.layer}"."{model.name}"')),
                                         len(pending))
                else:
                    result = BuildResult("up to date", -1)
                _save_state(con, model, newest)
        if result.mode != "up to date":
            fault_point("model:rebuilt")
    return result


def partition_mismatches(con: duckdb.DuckDBPyConnection, model: Model) -> list[tuple]:
    """Partitions of a partitioned model whose rows differ from its SQL run now, ignoring the partitions still
    waiting for a rebuild (``meta.pending_partitions`` newer than the model's state). Empty = consistent."""
    if not table_exists(con, model.layer, model.name):
        return []
    state = _state(con, model)
    if state is None or state[0] != model.code_version:
        return []  # the next refresh rebuilds it whole
    feeds = sorted(feeds_of(model))
    cols = ", ".join(model.partition_columns)
    pending = (f"SELECT {cols} FROM meta.pending_partitions WHERE id > {int(state[1])} "
               f"AND feed IN ({', '.join(repr(f) for f in feeds)})")
    diff = (f"(SELECT * FROM \"{model.layer}\".\"{model.name}\" EXCEPT ALL SELECT * FROM ({_select(model)})) "
            f"UNION ALL (SELECT * FROM ({_select(model)}) EXCEPT ALL SELECT * FROM \"{model.layer}\".\"{model.name}\")")
    return con.execute(f"SELECT DISTINCT {cols} FROM ({diff}) WHERE ({cols}) NOT IN ({pending}) ORDER BY ALL").fetchall()


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
