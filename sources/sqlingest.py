"""Ingest compiled to DuckDB: a large delimited file read by ``read_csv`` and typed by one SQL statement per step.

The pandas path (``sources/readers`` + ``sources/coerce.py``) stays the reference and handles every file this path
does not take (Excel, JSON, Parquet, gzip, other encodings, blank lines, profiles that reshape or derive columns,
aggregate-only feeds) and every file DuckDB cannot read as written (the pandas path then rejects it with its own
message). A file this path takes gives the same rows, row numbers, quarantine reasons and counts as the pandas path
(``tests/test_sql_ingest.py`` loads the same files both ways and compares).

How values are typed: each column's common spelling (``2024-03-01``, ``12``, ``59.123``) is cast in SQL; every other
distinct value (a handful, usually none) is typed by the pandas path's own functions and joined back, so the two
paths cannot disagree on an unusual spelling. Personnummer are screened the same way: a looser RE2 pattern finds
candidate values in SQL, the exact rule (date, checksum) masks them in Python.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from sources import limits as limits_config
from sources.contract import WHITESPACE, Contract, Profile
from sources.db import q, run, scalar
from sources.meta import run_with_frame
from sources.privacy import _ARROW_PREFILTER, mask_personnummer
from sources.readers.common import RawTable
from sources.readers.delimited import SCAN_LINES, dedupe_headers, delimiter_from_header, find_header, sniff_delimiter

# Files smaller than this go through the pandas path: faster there, as the DuckDB path pays about 0,15 s a file in
# statements. Measured, best of 3, one crime file: 100 000 rows (5,9 MB) pandas 0,61 s, DuckDB 0,78 s; 150 000 rows
# (8,8 MB) 0,83 s both; 500 000 rows (29 MB) 2,7 s and 1,7 s.
MIN_BYTES = 8 << 20
ENGINE_ENV = "LAGESBILD_INGEST_ENGINE"   # auto (default) | sql (every file it can take) | pandas (never)
BLOCK = 16 << 20
_WS_CHARS = "".join(chr(c) for c in range(0x3001) if WHITESPACE.fullmatch(chr(c)))  # what the pandas path strips
CANONICAL_DATETIME = {"%Y-%m-%d": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                      "%Y-%m-%d %H:%M:%S": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
                      "%Y-%m-%d %H:%M": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$",
                      "%Y-%m-%dT%H:%M:%S": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"}
FAST_NUMBER = {"integer": r"^[+-]?[0-9]{1,18}$", "number": r"^[+-]?[0-9]{1,15}([.][0-9]{1,15})?$"}
SRC, CLEAN, TYPED = "_sql_src", "_sql_clean", "_sql_typed"


def engine() -> str:
    return os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"


def wanted(path: Path) -> bool:
    """Whether to try this path for the file (the file may still turn out not to fit: see :func:`prescan`)."""
    mode = engine()
    if mode == "pandas":
        return False
    return mode == "sql" or Path(path).stat().st_size >= MIN_BYTES


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass
class Scan:
    """What the pandas reader would detect, found from the file's head and one streaming pass over its bytes."""
    encoding: str
    delimiter: str
    header_line: int      # 1-based physical line of the header
    headers: list[str]
    head: RawTable        # the header (no rows): enough to choose the profile

    @property
    def info(self) -> dict:
        return {"encoding": self.encoding, "delimiter": self.delimiter, "header_row": self.header_line}


def prescan(path: Path, header_matcher) -> Scan | None:
    """The file's layout, or None when the pandas path must read it: not plain UTF-8 text, a blank line (DuckDB
    skips those and the row numbers would shift), a line over the field limit, binary content, too many columns."""
    from sources.readers import _streamable_text
    from sources.readers.common import check_columns, control_share, FileRejected

    path = Path(path)
    if not _streamable_text(path):
        return None
    limits = limits_config.load_limits()
    head_bytes = b""
    longest, run_len = 0, 0
    dec = codecs.getincrementaldecoder("utf-8")()
    prev = b""
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            if len(head_bytes) < (1 << 20):
                head_bytes += block[: (1 << 20) - len(head_bytes)]
            try:
                dec.decode(block)
            except UnicodeDecodeError:
                return None
            joined = prev + block
            if b"\n\n" in joined or b"\n\r\n" in joined:
                return None
            prev = block[-2:]
            import numpy as np

            nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            if len(nl):
                longest = max(longest, run_len + int(nl[0]), int((np.diff(nl) - 1).max()) if len(nl) > 1 else 0)
                run_len = len(block) - int(nl[-1]) - 1
            else:
                run_len += len(block)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    longest = max(longest, run_len)
    if longest > limits.max_field_chars:
        return None
    bom = head_bytes.startswith(b"\xef\xbb\xbf")
    text = head_bytes[3 if bom else 0:].decode("utf-8", errors="ignore")
    if head_bytes.startswith(b"\n") or head_bytes.startswith(b"\r\n") or control_share(text) > 0.01:
        return None
    lines = []
    for line in io.StringIO(text):  # lines as the pandas reader splits them
        lines.append(line)
        if len(lines) >= SCAN_LINES:
            break
    if len(lines) < SCAN_LINES and not head_bytes.endswith(b"\n") and len(head_bytes) >= (1 << 20):
        lines = lines[:-1]  # the head was cut inside a line
    if not lines:
        return None
    delimiter = delimiter_from_header(lines, header_matcher) or sniff_delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    hidx = find_header(rows, header_matcher)
    if hidx >= len(lines) - 1 or any("\n" in "".join(r) for r in rows[: hidx + 1]):
        return None  # no body in the head, or a quoted newline above the body: the pandas path decides
    headers = dedupe_headers(rows[hidx]) if rows else []
    if not any(headers):
        return None
    try:
        check_columns(path, len(headers))
    except FileRejected:
        return None
    head = RawTable(frame=pd.DataFrame({h: pd.Series([], dtype="string") for h in headers}),
                    row_numbers=pd.Series([], dtype="int64"), format="csv")
    return Scan(encoding="utf-8-sig" if bom else "utf-8", delimiter=delimiter, header_line=hidx + 1,
                headers=headers, head=head)


def supports(contract: Contract, prof: Profile) -> bool:
    """Profiles whose columns are the file's cells, renamed (plus constants and value maps)."""
    if contract.aggregate_only or prof.unpivot or prof.synthetic_key or prof.compose or prof.patterns or prof.lookups:
        return False
    types = {c.name: c.type for c in contract.columns}
    if any(types[k] not in ("string", "integer", "boolean", "date", "datetime", "month") for k in contract.natural_key):
        return False
    if contract.revision_by == "natural_key":
        return all(types[k] in ("string", "integer") for k in contract.natural_key)
    return all(types[k] in ("string", "integer") for k in contract.revision_scope)


def read(con, path: Path, scan: Scan) -> int | None:
    """The file's body as the temp table ``_sql_src`` (c0…cN as text, ``_row`` the pandas path's row number, blank
    rows dropped); returns the row count, or None when DuckDB cannot read it as written (nothing is left behind)."""
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(scan.headers))) + "}"
    try:
        run(con, f"""CREATE OR REPLACE TEMP TABLE {SRC}_file AS SELECT * FROM read_csv(?, delim = ?, quote = '"',
                     escape = '"', header = false, skip = ?, columns = {cols}, auto_detect = false,
                     strict_mode = true, null_padding = false, parallel = true)""",
            [str(path), scan.delimiter, scan.header_line])
    except Exception:  # noqa: BLE001 - any reading problem: the pandas path reads it and words the rejection
        drop(con)
        return None
    cells = [f"c{i}" for i in range(len(scan.headers))]
    blank = " AND ".join(f"coalesce({c}, '') = ''" for c in cells)
    n = int(scalar(con, f"SELECT count(*) FROM {SRC}_file WHERE NOT ({blank})"))
    if n == 0 or n > limits_config.load_limits().max_rows:
        drop(con)
        return None
    return n


def _body(scan: Scan) -> str:
    """The rows of the file (blank rows dropped) with the pandas path's row numbers."""
    cells = [f"c{i}" for i in range(len(scan.headers))]
    blank = " AND ".join(f"coalesce({c}, '') = ''" for c in cells)
    return (f"(SELECT rowid + {scan.header_line + 1} AS _row, {', '.join(cells)} FROM {SRC}_file "
            f"WHERE NOT ({blank}))")


def drop(con) -> None:
    run(con, f"DROP VIEW IF EXISTS {CLEAN}")
    for t in (f"{SRC}_file", SRC, TYPED):
        run(con, f"DROP TABLE IF EXISTS {t}")
    for name in [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND "
                                           "table_name LIKE '\\_sql\\_%' ESCAPE '\\'").fetchall()]:
        run(con, f"DROP TABLE IF EXISTS {q(name)}")


def _mask_values(con, table: str, column: str) -> tuple[pd.DataFrame, int]:
    """Distinct values of ``column`` holding a personnummer -> (old, new) pairs and the count masked (per cell)."""
    hits = con.execute(f"SELECT {column}, count(*) FROM {table} WHERE regexp_matches({column}, ?) GROUP BY 1",
                       [_ARROW_PREFILTER]).fetchall()
    pairs, total = [], 0
    for value, freq in hits:
        masked, n = mask_personnummer(str(value))
        if n:
            pairs.append((value, masked))
            total += n * int(freq)
    return pd.DataFrame(pairs, columns=["old", "new"], dtype="string"), total


def screen(con, scan: Scan) -> int:
    """Every cell of every column screened at the door (as ``privacy.screen_frame``); returns the count masked."""
    total = 0
    for i in range(len(scan.headers)):
        pairs, n = _mask_values(con, f"{SRC}_file", f"c{i}")
        if n:
            run_with_frame(con, f"UPDATE {SRC}_file SET c{i} = _frame.new FROM _frame WHERE {SRC}_file.c{i} = _frame.old",
                           pairs)
            total += n
    return total


def _clean_steps(col, prof: Profile, name: str) -> list[str]:
    """The pandas path's cleaning of one column, as successive expressions over ``name`` (each one applied to the
    previous step's result: nesting them in one expression would repeat the text exponentially)."""
    # trim() with 29 characters is slow: only values that start or end with one of them are trimmed
    ws = _lit(_WS_CHARS)
    steps = [f"CASE WHEN strpos({ws}, left({name}, 1)) > 0 OR strpos({ws}, right({name}, 1)) > 0 "
             f"THEN trim({name}, {ws}) ELSE {name} END",
             f"replace({name}, {_lit(chr(0xfeff))}, '')"]
    nulls = ", ".join(_lit(v) for v in dict.fromkeys(("",) + tuple(prof.null_values)))
    steps.append(f"CASE WHEN {name} IN ({nulls}) THEN NULL ELSE {name} END")
    vmap = prof.value_maps.get(col.name)
    if vmap:
        folded = {str(k).casefold(): str(v) for k, v in vmap.items()}
        steps.append(f"CASE lower({name}) " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in folded.items())
                     + f" ELSE {name} END")
    if col.default is not None:
        default = str(col.default).lower() if isinstance(col.default, bool) else str(col.default)
        steps.append(f"coalesce({name}, {_lit(default)})")
    if col.pad:
        steps.append(f"CASE WHEN regexp_full_match({name}, '[0-9]+') AND length({name}) < {int(col.pad)} "
                     f"THEN lpad({name}, {int(col.pad)}, '0') ELSE {name} END")
    return steps


def _fast(col, prof: Profile, s: str) -> str:
    """SQL typing the common spellings of a column's values (NULL for any other: typed in Python)."""
    if col.type in FAST_NUMBER:
        cast = "BIGINT" if col.type == "integer" else "DOUBLE"
        return f"(CASE WHEN regexp_full_match({s}, {_lit(FAST_NUMBER[col.type][1:-1])}) THEN TRY_CAST({s} AS {cast}) END)"
    if col.type in ("date", "datetime"):
        formats = prof.date_formats if col.type == "date" else prof.datetime_formats
        whens = []
        for fmt in formats:  # only a leading run of the canonical spellings (they cannot parse each other's values)
            if fmt not in CANONICAL_DATETIME:
                break
            whens.append(f"WHEN regexp_full_match({s}, {_lit(CANONICAL_DATETIME[fmt][1:-1])}) "
                         f"THEN TRY_STRPTIME({s}, {_lit(fmt)})")
        return f"(CASE {' '.join(whens)} END)" if whens else "CAST(NULL AS TIMESTAMP)"
    if col.type == "month":
        return (f"(CASE WHEN regexp_full_match({s}, '[0-9]{{4}}-[0-9]{{2}}') THEN TRY_STRPTIME({s}, '%Y-%m') END)")
    if col.type == "boolean":
        from sources.coerce import FALSE_WORDS, TRUE_WORDS

        return (f"(CASE WHEN lower({s}) IN ({', '.join(map(_lit, sorted(TRUE_WORDS)))}) THEN true "
                f"WHEN lower({s}) IN ({', '.join(map(_lit, sorted(FALSE_WORDS)))}) THEN false END)")
    return s


def _slow(col, prof: Profile, values: pd.Series) -> pd.Series:
    """The pandas path's own typing, for the few values the SQL did not type."""
    from sources import coerce as co

    if col.type in ("integer", "number"):
        num = co.parse_number(values)
        if col.type == "integer":
            num = num.where(num.notna() & (num % 1 == 0))
            return num.astype("Float64").astype("Int64")
        return num.astype("Float64")
    if col.type == "date":
        return co._parse_dates(values, prof.date_formats)
    if col.type == "datetime":
        value = co._parse_dates(values, prof.datetime_formats)
        rest = value.isna()
        if rest.any():
            value.loc[rest] = co._parse_iso(values[rest])
        return value
    if col.type == "month":
        return co._parse_month(values)
    raise ValueError(col.type)


def load(con, path: Path, sha: str, scan: Scan, contract: Contract, prof: Profile, mapping: dict[str, str],
         now: datetime, totals: dict, file_name: str, today: date | None = None) -> set[str]:
    """Type ``_sql_src`` under the contract and insert it (inside the file's transaction), as ``ingest._store_chunk``
    does for a pandas chunk; returns the files whose rows it replaced."""
    from sources.coerce import TYPE_WORDS, _fmt
    from sources.revisions import replace_earlier_rows
    from sources.taxonomy import list_label

    today = today or date.today()
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time())
    masked = screen(con, scan)
    index = {h: i for i, h in enumerate(scan.headers)}
    cols = list(contract.columns)
    # 1. the canonical cells (raw, for quarantine) and the cleaned text, per contract column
    selects = ["_row"]
    for k, col in enumerate(cols):
        header = mapping.get(col.name)
        if header is not None and header in index:
            raw = f"c{index[header]}"
        elif col.name in prof.constants:
            raw = _lit(prof.constants[col.name])
        else:
            raw = "CAST(NULL AS VARCHAR)"
        selects += [f"{raw} AS raw{k}", f"{raw} AS s{k}"]
    sql = f"SELECT {', '.join(selects)} FROM {_body(scan)}"
    steps = [_clean_steps(col, prof, f"s{k}") for k, col in enumerate(cols)]
    for depth in range(max(len(x) for x in steps)):
        repl = [f"{x[depth]} AS s{k}" for k, x in enumerate(steps) if depth < len(x)]
        sql = f"SELECT * REPLACE ({', '.join(repl)}) FROM ({sql})"
    # a view, not a table: the values are typed from it in one pass (materializing it cost as much as typing)
    run(con, f"CREATE OR REPLACE TEMP VIEW {CLEAN} AS {sql}")
    rows_read = int(scalar(con, f"SELECT count(*) FROM {_body(scan)}"))
    # 2. values: SQL for the common spellings, the pandas functions for the rest (joined back by value)
    values, joins, reasons = [], [], []
    fasts = [_fast(col, prof, f"c.s{k}") for k, col in enumerate(cols)]
    # the values the common spellings do not type, for every typed column in one scan of the view (a scan per
    # column cleaned the whole file again for each)
    slow = [k for k, col in enumerate(cols) if col.type not in ("string", "boolean")]
    rests = dict(zip(slow, con.execute("SELECT " + ", ".join(
        f"list(DISTINCT c.s{k}) FILTER (WHERE c.s{k} IS NOT NULL AND ({fasts[k]}) IS NULL)" for k in slow)
        + f" FROM {CLEAN} c").fetchall()[0])) if slow else {}
    for k, col in enumerate(cols):
        s = f"c.s{k}"
        fast = fasts[k]
        value = fast
        if col.type == "string" and col.free_text:
            pairs, n = _mask_values(con, CLEAN, f"s{k}")
            if n:
                masked += n
                run_with_frame(con, f"CREATE TEMP TABLE _sql_m{k} AS SELECT old, new FROM _frame", pairs)
                joins.append(f"LEFT JOIN _sql_m{k} m{k} ON m{k}.old = c.s{k}")
                value = f"coalesce(m{k}.new, c.s{k})"
        elif k in rests:
            rest = rests[k] or []
            if rest:
                vals = pd.Series(sorted(rest), dtype="string")
                typed = _slow(col, prof, vals)
                frame = pd.DataFrame({"s": vals, "v": typed})
                run_with_frame(con, f"CREATE TEMP TABLE _sql_r{k} AS SELECT s, CAST(v AS "
                                    f"{'TIMESTAMP' if col.type in ('date', 'datetime', 'month') else col.duckdb_type}) "
                                    "AS v FROM _frame", frame)
                joins.append(f"LEFT JOIN _sql_r{k} r{k} ON r{k}.s = c.s{k}")
                value = f"coalesce({fast}, r{k}.v)"
        values.append(value)
        value, s = f"t{k}", f"s{k}"  # the reasons read the value computed once, in the inner query
        # reasons, in the pandas path's order for one cell: type, future, required, range, allowed
        present = f"({s} IS NOT NULL AND ({value}) IS NOT NULL)" if col.type != "string" else f"({s} IS NOT NULL)"
        rs = []
        if col.type != "string":
            rs.append((f"{s} IS NOT NULL AND ({value}) IS NULL", _lit(f"värdet är inte {TYPE_WORDS[col.type]}")))
        if col.type in ("date", "datetime", "month") and col.not_future:
            why = (f"datumet ligger efter dagens datum ({today.isoformat()})" if col.type != "month"
                   else "månaden ligger efter innevarande månad")
            rs.append((f"{present} AND CAST({value} AS TIMESTAMP) >= TIMESTAMP '{tomorrow.isoformat(sep=' ')}'",
                       _lit(why)))
        if col.required:
            rs.append((f"{s} IS NULL", _lit("värde saknas i en obligatorisk kolumn")))
        if col.type in ("integer", "number") and (col.min is not None or col.max is not None):
            tests = ([f"CAST({value} AS DOUBLE) < {float(col.min)!r}"] if col.min is not None else []) + \
                    ([f"CAST({value} AS DOUBLE) > {float(col.max)!r}"] if col.max is not None else [])
            lo = _fmt(col.min) if col.min is not None else "…"
            hi = _fmt(col.max) if col.max is not None else "…"
            rs.append((f"{present} AND ({' OR '.join(tests)})",
                       _lit(f"värdet ligger utanför det tillåtna intervallet {lo}–{hi}")))
        allowed = col.allowed_set()
        if allowed is not None:
            allowed_frame = pd.DataFrame({"v": sorted(allowed)}, dtype="string")
            run_with_frame(con, f"CREATE TEMP TABLE _sql_a{k} AS SELECT v FROM _frame", allowed_frame)
            listname = list_label(col.allowed_from) if col.allowed_from else "tillåtna värden"
            if col.allowed is not None and len(col.allowed) <= 8:
                listname = ", ".join(col.allowed)
            rs.append((f"{present} AND {s} NOT IN (SELECT v FROM _sql_a{k})",
                       _lit(f"okänt värde; finns inte i kodlistan ({listname})")))
        reasons.append(rs)
    reason_cols = []
    for k, rs in enumerate(reasons):
        for j, (cond, text) in enumerate(rs):
            reason_cols.append((k, j, f"CASE WHEN {cond} THEN {text} END AS why{k}_{j}"))
    inner = ", ".join(f"c.raw{k}, c.s{k}, {v} AS t{k}" for k, v in enumerate(values))
    typed_cols = [f"CAST(t{k} AS {c.duckdb_type}) AS v{k}" for k, c in enumerate(cols)]
    any_reason = " OR ".join(f"why{k}_{j} IS NOT NULL" for k, j, _ in reason_cols) or "false"
    run(con, f"""CREATE OR REPLACE TEMP TABLE {TYPED} AS SELECT *, {any_reason} AS _bad FROM (
                 SELECT _row, {', '.join(f'raw{k}' for k in range(len(cols)))}, {', '.join(typed_cols)}
                 {''.join(', ' + e for _, _, e in reason_cols)}
                 FROM (SELECT c._row, {inner} FROM {CLEAN} c {' '.join(joins)}))""")
    run(con, f"DROP VIEW IF EXISTS {CLEAN}")
    run(con, f"DROP TABLE IF EXISTS {SRC}_file")
    # 3. natural-key duplicates among the rows without a reason: the first occurrence wins
    pos = {c.name: k for k, c in enumerate(cols)}
    dup_rows = 0
    if contract.natural_key:
        keys = [f"v{pos[n]}" for n in contract.natural_key]
        run(con, f"""CREATE OR REPLACE TEMP TABLE _sql_dup AS SELECT _row, first_row, {_shown(contract, pos)} AS shown
                     FROM (SELECT *, min(_row) OVER (PARTITION BY {', '.join(keys)}) AS first_row
                           FROM {TYPED} WHERE NOT _bad) WHERE _row > first_row""")
        dup_rows = int(scalar(con, "SELECT count(*) FROM _sql_dup"))
    # 4. quarantine: one line per failing cell (and per duplicate row), as the pandas path writes them
    parts = [f"SELECT _row, {_lit(cols[k].name)} AS col, coalesce(raw{k}, '') AS raw, why{k}_{j} AS why, "
             f"{k * 10 + j} AS ord FROM {TYPED} WHERE why{k}_{j} IS NOT NULL" for k, j, _ in reason_cols]
    if contract.natural_key:
        parts.append(f"SELECT _row, {_lit(','.join(contract.natural_key))}, shown, "
                     f"{_lit('dubblett: samma nyckel (' + ', '.join(contract.natural_key) + ') som rad ')} || first_row, "
                     "1000000 FROM _sql_dup")
    if parts:
        run(con, f"INSERT INTO meta.quarantine SELECT ?, ?, ?, _row, col, raw, why FROM ({' UNION ALL '.join(parts)}) "
                 "ORDER BY _row, col, ord", [sha, file_name, contract.feed])
    bad_rows = int(scalar(con, f"SELECT count(*) FROM {TYPED} WHERE _bad")) + dup_rows
    good = f"NOT _bad" + (" AND _row NOT IN (SELECT _row FROM _sql_dup)" if contract.natural_key else "")
    # 5. the rows: earlier files' rows in the scopes these cover are replaced, then these are inserted
    loaded = rows_read - bad_rows
    replaced: set[str] = set()
    if loaded:
        scope = _scope_expr(contract, pos)
        scopes = con.execute(f"SELECT DISTINCT {scope} AS _scope FROM {TYPED} WHERE {good}").df()
        replaced = replace_earlier_rows(con, contract, scopes, sha, now)
        names = ["_sha256", "_row", "_scope"] + contract.column_names
        run(con, f"INSERT INTO raw.{q(contract.feed)} ({', '.join(q(c) for c in names)}) SELECT ?, _row, {scope}, "
                 f"{', '.join(f'v{k}' for k in range(len(cols)))} FROM {TYPED} WHERE {good} ORDER BY _row", [sha])
        loaded = int(scalar(con, f"SELECT count(*) FROM raw.{q(contract.feed)} WHERE _sha256 = ?", [sha]))
    drop(con)
    if rows_read != loaded + bad_rows:
        from sources.coerce import ConservationError

        raise ConservationError(f"{file_name}: {rows_read} rader lästes men {loaded} lästes in och {bad_rows} lades "
                                "i karantän. Inget av filen har sparats; rapportera felet till den som förvaltar "
                                "lägesbild.")
    totals["read"] += rows_read
    totals["loaded"] += loaded
    totals["quarantined"] += bad_rows
    totals["masked"] += masked
    return replaced


def _as_text(contract: Contract, name: str, ref: str) -> str:
    """A typed value as pandas' ``str()`` shows it (the duplicate's raw value)."""
    kind = contract.column(name).type
    if kind == "boolean":
        return f"CASE {ref} WHEN true THEN 'True' WHEN false THEN 'False' ELSE '<NA>' END"
    if kind in ("date", "datetime", "month"):
        return f"coalesce(strftime(CAST({ref} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S'), 'NaT')"
    return f"coalesce(CAST({ref} AS VARCHAR), '<NA>')"


def _shown(contract: Contract, pos: dict[str, int]) -> str:
    return " || ' | ' || ".join(_as_text(contract, n, f"v{pos[n]}") for n in contract.natural_key)


def _scope_expr(contract: Contract, pos: dict[str, int]) -> str:
    """``revisions.scope_keys`` in SQL."""
    if contract.revision_by == "natural_key":
        return " || '|' || ".join(f"coalesce(CAST(v{pos[c]} AS VARCHAR), '')" for c in contract.natural_key)
    parts = [f"coalesce(CAST(v{pos[c]} AS VARCHAR), '')" for c in contract.revision_scope]
    if contract.period_column:
        p = f"v{pos[contract.period_column]}"
        kind = contract.column(contract.period_column).type
        if contract.period_grain == "year":
            parts.append(f"CAST(year({p}) AS VARCHAR)" if kind in ("date", "datetime", "month")
                         else f"CAST({p} AS VARCHAR)")
        else:
            parts.append(f"strftime(CAST({p} AS TIMESTAMP), '%Y-%m')")
    return " || '|' || ".join(parts) if parts else "'*'"
