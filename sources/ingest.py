"""Ingestion engine: file -> contract -> raw table, with manifest, quarantine and revisions.

Guarantees (tested in tests/test_ingest.py):
* conservation: rows read = rows loaded + rows quarantined, for every file;
* a file loads in one transaction: any error leaves the warehouse exactly as before;
* the same bytes again (same sha256) change nothing;
* a file covering the same scope (municipality × period, per the contract) as earlier files replaces those
  rows; ``meta.revisions`` records which file replaced which rows.
No Dagster here: the CLI and the Dagster assets both call :func:`ingest_paths`.
"""
from __future__ import annotations

import hashlib
import json
import re
import stat as stat_module
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd

from sources.coerce import ConservationError, coerce  # noqa: F401 (ConservationError: raised here, tested by name)
from sources.contract import Contract, Profile, all_feeds, load_contract, load_profiles
from sources.faults import fault_point
from sources.privacy import _CANDIDATE, find_personnummer, mask_text, screen_frame
from sources.readers import FileRejected, RawTable, iter_file
from sources.db import q, run, scalar
from sources.meta import ensure_meta, file_key, relocate_file_paths, run_with_frame, transaction
from sources.revisions import record_pending_partitions, replace_earlier_rows, scope_keys
from sources.workers import fork_pool, fork_workers

SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json", ".parquet", ".gz")
# Column headers that identify a person: never accepted in an aggregate-only feed.
IDENTIFYING_HEADER = re.compile(
    r"(pers(on)?\.?\s*-?\s*nr|personnummer|personnr|\bp\.?\s*-?\s*nr\b|\bpnr\b|ssn|födelse(datum|nummer|nr)|"
    r"fodelse(datum|nummer|nr)|förnamn|efternamn|\bnamn\b|\bname\b|klient|barn(ets)?\s*-?\s*id|person\s*-?id|"
    r"\bperson\b|individ|ärende\s*-?\s*(id|nr|nummer)|arende\s*-?\s*(id|nr|nummer)|\bärendenr\b|\bid\b|"
    r"löpnummer|lopnummer|löpnr|\belev|\bdnr\b|diarienummer|diarienr|identitet|samordningsnummer)", re.IGNORECASE)

Progress = Callable[[str], None]


def display_name(path: Path) -> str:
    """A file's name as stored and shown: personnummer in a file name are masked too."""
    return mask_text(Path(path).name)
MAX_PROFILES_IN_MESSAGE = 3

STATUS_LABELS = {"loaded": "inläst", "already_loaded": "redan inläst", "replaced": "ersatt av nyare fil",
                 "rejected": "avvisad"}


@dataclass
class IngestResult:
    path: str
    sha256: str
    feed: str | None
    profile: str | None
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    masked_values: int = 0
    message: str = ""
    replaced: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        name = Path(self.path).name
        if self.status == "rejected":
            return f"AVVISAD  {self.message}"
        if self.status == "already_loaded":
            return f"oförändrad  {name}: {self.message}"
        extra = f", {self.rows_quarantined} i karantän" if self.rows_quarantined else ""
        masked = f", {self.masked_values} personnummer maskerade" if self.masked_values else ""
        return f"inläst  {name} ({self.feed}, profil {self.profile}): {self.rows_loaded} rader{extra}{masked}"


def raw_table_ddl(contract: Contract) -> str:
    cols = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in contract.columns)
    return (f"CREATE TABLE IF NOT EXISTS raw.{q(contract.feed)} (_sha256 VARCHAR NOT NULL, _row BIGINT NOT NULL, "
            f"_scope VARCHAR NOT NULL, {cols})")


def history_table_ddl(contract: Contract) -> str:
    cols = ", ".join(f"{q(c.name)} {c.duckdb_type}" for c in contract.columns)
    return (f"CREATE TABLE IF NOT EXISTS history.{q(contract.feed)} (_sha256 VARCHAR NOT NULL, _row BIGINT NOT NULL, "
            f"_scope VARCHAR NOT NULL, {cols}, _replaced_by VARCHAR NOT NULL, _replaced_at TIMESTAMP NOT NULL)")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Every feed's raw and history table with every column its contract has. Only what is missing is created
    (one catalog query first): each DDL statement is a catalog write, and issuing them all cost ≈ 0,2 s a call."""
    ensure_meta(con)
    have: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in run(con, "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                                          "WHERE database_name = current_database() "
                                          "AND schema_name IN ('raw', 'history')"):
        have.setdefault((schema, table), set()).add(column)
    schemas = {r[0] for r in run(con, "SELECT schema_name FROM duckdb_schemas() "
                                      "WHERE database_name = current_database()")}
    for schema in ("raw", "history"):
        if schema not in schemas:
            run(con, f"CREATE SCHEMA {schema}")
    for feed in all_feeds():
        contract = load_contract(feed)
        for schema, ddl in (("raw", raw_table_ddl), ("history", history_table_ddl)):
            columns = have.get((schema, feed))
            if columns is None:
                run(con, ddl(contract))
                continue
            # a column a contract gained since the warehouse was made: added, empty for the rows already loaded
            for c in contract.columns:
                if c.name not in columns:
                    run(con, f"ALTER TABLE {schema}.{q(feed)} ADD COLUMN {q(c.name)} {c.duckdb_type}")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ profiles

def _candidates(feed: str | None, profile_name: str | None) -> list[tuple[Contract, Profile]]:
    feeds = [feed] if feed else all_feeds()
    out = []
    for f in feeds:
        contract = load_contract(f)
        for p in load_profiles(f):
            if profile_name is None or p.name == profile_name:
                out.append((contract, p))
    return out


def _header_matcher(cands: list[tuple[Contract, Profile]]):
    def match(cells: list[str]) -> bool:
        return any(not p.match(cells, c)[1] for c, p in cands)
    return match


def _resolve_profile(path: Path, table: RawTable, feed: str | None, profile_name: str | None
                     ) -> tuple[Contract, Profile, dict[str, str]]:
    headers = table.headers
    cands = _candidates(feed, profile_name)
    if profile_name and not cands:
        known = sorted({p.name for f in ([feed] if feed else all_feeds()) for p in load_profiles(f)})
        raise FileRejected(path, f"profilen \"{profile_name}\" finns inte"
                           + (f" för flödet {feed}." if feed else "."),
                           f"Välj en av: {', '.join(known)}.")
    scored = []
    for contract, prof in cands:
        mapping, missing = prof.match(headers, contract)
        scored.append((contract, prof, mapping, missing))
    fitting = [s for s in scored if not s[3]]
    if fitting:
        contract, prof, mapping, _ = max(fitting, key=lambda s: len(s[2]))
        return contract, prof, mapping
    # does the file belong to another feed?
    if feed and not profile_name:
        for contract, prof in _candidates(None, None):
            if contract.feed != feed and not prof.match(headers, contract)[1]:
                raise FileRejected(path, f"filen ser ut att vara en fil för flödet \"{contract.feed}\" "
                                   f"({contract.title}), inte för \"{feed}\".",
                                   f"Lägg filen i incoming/{contract.feed}/ eller ange --feed {contract.feed}.")
    closest = sorted(scored, key=lambda s: (len(set(s[3])), -len(s[2]), s[1].name))
    shown_profiles = closest[:MAX_PROFILES_IN_MESSAGE]
    tried = "; ".join(
        f"{p.name}: saknar " + ", ".join(f"\"{h}\"" for h in dict.fromkeys(p.expected_header(m) for m in missing))
        for _, p, _, missing in shown_profiles) or "inga profiler"
    if len(closest) > len(shown_profiles):
        tried += f" (och {len(closest) - len(shown_profiles)} profiler till som passar sämre)"
    shown = ", ".join(f"\"{h}\"" for h in headers[:12]) + (" …" if len(headers) > 12 else "")
    raise FileRejected(path, f"ingen profil känner igen filens rubriker ({shown}). Provade: {tried}.",
                       "Kontrollera att rätt fil exporterats med rubrikrad, eller lägg till en profil "
                       "(se sources/<flöde>/profiles/) och ange den med --profile.")


def _check_aggregate_only(path: Path, table: RawTable, contract: Contract) -> None:
    for h in table.headers:
        if IDENTIFYING_HEADER.search(h):
            raise FileRejected(path, f"filen har kolumnen \"{h}\", som pekar ut enskilda personer. "
                               f"Flödet {contract.feed} tar bara emot sammanräknade antal (aggregat).",
                               "Exportera en sammanställning per månad, åldersgrupp och skäl utan id- eller "
                               "personuppgifter. Filen har inte lästs in.", column=h)
    for h in table.headers:
        col = table.frame[h].astype("string").fillna("")
        hits = col.astype(object).str.contains(_CANDIDATE, regex=True).fillna(False).astype(bool)
        for idx in col.index[hits][:200]:
            if find_personnummer(str(col.loc[idx])):
                raise FileRejected(path, "filen innehåller personnummer. Flödet tar bara emot aggregat.",
                                   "Ta bort personuppgifterna och exportera en sammanställning. Filen har inte "
                                   "lästs in.", row=int(table.row_numbers.loc[idx]), column=h)


# ------------------------------------------------------------------------------------------ ingest

def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _record_rejection(con, path: Path, sha: str, feed: str | None, exc: FileRejected) -> IngestResult:
    key = file_key(con, path)
    run(con, "DELETE FROM meta.files WHERE sha256 = ? AND path = ?", [sha, key])
    run(con, "INSERT INTO meta.files VALUES (?, ?, ?, ?, NULL, NULL, ?, 'rejected', 0, 0, 0, 0, ?, NULL)",
                [sha, key, display_name(path), feed, _now(), str(exc)])
    return IngestResult(path=str(path), sha256=sha, feed=feed, profile=None, status="rejected", message=str(exc))


def _cached_sha256(con, path: Path) -> str:
    """The file's sha256; not read again while its path, size and modification time are unchanged (a refresh
    of a folder of large, already loaded exports then costs a stat per file, not a read)."""
    st = path.stat()
    key = file_key(con, path)
    hit = con.execute("SELECT sha256 FROM meta.file_stats WHERE path = ? AND size = ? AND mtime_ns = ?",
                      [key, st.st_size, st.st_mtime_ns]).fetchall()
    if hit:
        return hit[0][0]
    sha = sha256_of(path)
    run(con, "INSERT OR REPLACE INTO meta.file_stats VALUES (?, ?, ?, ?)", [key, st.st_size, st.st_mtime_ns, sha])
    return sha


def ingest_file(con: duckdb.DuckDBPyConnection, path: Path, feed: str | None = None,
                profile: str | None = None, retry_rejected: bool = True,
                prepared: Future | None = None) -> IngestResult:
    """Load one file. Whatever happens, the file gets a manifest entry with a verdict and the caller goes on to the
    next file: a file that cannot be read or hits a limit is *rejected* with a message; an unexpected error is a
    rejection too (rolled back whole), never a crash that stops the other files. ``retry_rejected=False`` (a
    refresh) skips a file whose same bytes at the same path were rejected before."""
    from sources.readers.common import require_regular

    path = Path(path)
    try:
        require_regular(path)  # before hashing: a FIFO would block the hash (and the writer lock) forever
    except FileRejected as exc:
        return _reject(con, path, _path_key(path), feed, exc)
    path = path.resolve()
    try:
        sha = _cached_sha256(con, path)
    except OSError as exc:
        return _reject(con, path, _path_key(path), feed, FileRejected(
            path, f"filen kunde inte läsas ({exc.strerror}).", "Kontrollera sökvägen och behörigheten."))
    if not retry_rejected:
        earlier = con.execute("SELECT message FROM meta.files WHERE sha256 = ? AND path = ? AND status = 'rejected'",
                              [sha, file_key(con, path)]).fetchall()
        if earlier:
            return IngestResult(path=str(path), sha256=sha, feed=feed, profile=None, status="rejected",
                                message=f"{earlier[0][0]} (avvisad tidigare; filen har inte ändrats)")
    try:
        return _ingest_file(con, path, sha, feed, profile, prepared)
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - one bad file never stops the rest
        name = exc.type_name if isinstance(exc, _WorkerError) else type(exc).__name__
        return _reject(con, path, sha, feed, FileRejected(
            path, f"filen kunde inte läsas in: ett oväntat fel ({name}). Inget av filen har sparats.",
            "Kontrollera att filen är en export i något av de format som tas emot; rapportera felet till den som "
            "förvaltar lägesbild om filen ser riktig ut."))


def _path_key(path: Path) -> str:
    """A manifest key for something that cannot be hashed (not a regular file)."""
    import hashlib

    return "sökväg:" + hashlib.sha256(str(path).encode()).hexdigest()


def _ingest_file(con: duckdb.DuckDBPyConnection, path: Path, sha: str, feed: str | None,
                 profile: str | None, prepared: Future | None = None) -> IngestResult:
    prior = con.execute("SELECT path, status, feed FROM meta.files WHERE sha256 = ? AND status <> 'rejected'",
                        [sha]).fetchall()
    if prior:
        key = file_key(con, path)
        same_path = [p for p in prior if p[0] == key]
        first = prior[0]
        msg = f"samma innehåll (sha256) som {mask_text(Path(first[0]).name)} är redan inläst; inget ändrades."
        if not same_path:
            run(con, "INSERT INTO meta.files VALUES (?, ?, ?, ?, NULL, NULL, ?, 'already_loaded', 0, 0, 0, 0, ?, NULL)",
                        [sha, key, display_name(path), first[2], _now(), msg])
        return IngestResult(path=str(path), sha256=sha, feed=first[2], profile=None, status="already_loaded",
                            message=msg)
    cands = _candidates(feed, profile)
    done = None
    if prepared is not None:  # read ahead by a worker: stored from that
        try:
            done = prepared.result()
        except Exception:  # noqa: BLE001 - the worker is gone (killed, out of memory): the file is read here
            done = None
    if done is not None and done.sha == sha:
        return _ingest_prepared(con, path, sha, feed, done)
    sql = _sql_plan(con, path, feed, profile, cands)
    if sql is not None:
        return _ingest_sql(con, path, sha, feed, *sql)
    chunks = iter_file(path, header_matcher=_header_matcher(cands) if cands else None)
    try:
        table, chunks, contract, prof, mapping = _open(path, chunks, feed, profile)
        fault_point("ingest:read")
    except FileRejected as exc:
        return _reject(con, path, sha, feed, exc)

    def load(now: datetime, totals: dict) -> set[str]:
        replaced: set[str] = set()
        n_chunks = 0
        for part in _chain_first(table, chunks):
            if n_chunks and contract.aggregate_only:
                _check_aggregate_only(path, part, contract)
            n_chunks += 1
            replaced |= _store_chunk(con, sha, _prepare_chunk(path, sha, part, contract, prof, mapping), contract,
                                     now, totals)
        if n_chunks > 1 and contract.natural_key:
            totals["loaded"] -= _dedupe_across_chunks(con, path, sha, contract, totals)
        return replaced

    return _load_file(con, path, sha, feed, contract, prof, mapping, table.format, dict(table.info), load)


def _open(path: Path, chunks: Iterable[RawTable], feed: str | None, profile: str | None):
    """The file's first chunk (a small file: the whole file), the chunks after it, and the contract, profile and
    column mapping its headers fit; raises FileRejected (nothing has been written)."""
    table = next(iter(chunks))
    contract, prof, mapping = _resolve_profile(path, table, feed, profile)
    if contract.aggregate_only:
        _check_aggregate_only(path, table, contract)
    if table.info.get("chunked") and (prof.synthetic_key or prof.unpivot):
        # these profiles number or reshape rows across the whole file: read it whole
        rest = list(chunks)
        table = RawTable(frame=pd.concat([table.frame] + [t.frame for t in rest], ignore_index=True),
                         row_numbers=pd.concat([table.row_numbers] + [t.row_numbers for t in rest], ignore_index=True),
                         format=table.format, info=table.info)
        chunks = iter(())
    return table, chunks, contract, prof, mapping


@dataclass
class _Prepared:
    """A small file read and coerced in a worker process (:func:`_prepare_file`), for the main process to store."""
    sha: str
    feed: str | None = None
    profile: str | None = None
    mapping: dict | None = None
    fmt: str | None = None
    info: dict | None = None
    chunk: _Chunk | None = None
    rejected: tuple | None = None   # FileRejected's arguments: the file is rejected with this message
    error: str | None = None        # the type of an unexpected error: rejected as such, as in ingest_file


def _prepare_file(path: Path, sha: str, feed: str | None, profile: str | None) -> _Prepared | None:
    """Read, screen and coerce a small file without the warehouse (in a worker process). None when the file turns
    out to need the main process (read in chunks): it is then read there as usual."""
    try:
        cands = _candidates(feed, profile)
        chunks = iter_file(path, header_matcher=_header_matcher(cands) if cands else None)
        table, chunks, contract, prof, mapping = _open(path, chunks, feed, profile)
        if table.info.get("chunked"):
            return None
        chunk = _prepare_chunk(path, sha, table, contract, prof, mapping)
        return _Prepared(sha, contract.feed, prof.name, mapping, table.format, dict(table.info), chunk)
    except FileRejected as exc:
        return _Prepared(sha, rejected=(exc.path, exc.what, exc.fix, exc.row, exc.column))
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - worded by the main process
        return _Prepared(sha, error=type(exc).__name__)


def _in_worker(*args) -> _Prepared | None:
    return _prepare_file(*args)  # looked up in the worker (a forked copy of this module), by name


def _ingest_prepared(con, path: Path, sha: str, feed: str | None, done: _Prepared) -> IngestResult:
    """Store a file a worker has read and coerced: the same verdicts, rows and manifest as the serial path."""
    if done.rejected is not None:
        return _reject(con, path, sha, feed, FileRejected(*done.rejected))
    if done.error is not None:
        raise _WorkerError(done.error)
    contract = load_contract(done.feed)
    prof = next(p for p in load_profiles(done.feed) if p.name == done.profile)
    fault_point("ingest:read")

    def load(now: datetime, totals: dict) -> set[str]:
        return _store_chunk(con, sha, done.chunk, contract, now, totals)

    return _load_file(con, path, sha, feed, contract, prof, done.mapping, done.fmt, done.info, load)


class _WorkerError(Exception):
    """An unexpected error in a worker process, named by its type (the file is rejected as in :func:`ingest_file`)."""

    def __init__(self, type_name: str):
        super().__init__(type_name)
        self.type_name = type_name


def _sql_plan(con, path: Path, feed: str | None, profile: str | None, cands):
    """(scan, contract, profile, mapping) when the file goes through the DuckDB path (``sources/sqlingest.py``)
    and DuckDB has read it into a temp table; None for the pandas path."""
    from sources import sqlingest

    if not cands or not sqlingest.wanted(path):
        return None
    scan = sqlingest.prescan(path, _header_matcher(cands))
    if scan is None:
        return None
    try:
        contract, prof, mapping = _resolve_profile(path, scan.head, feed, profile)
    except FileRejected:
        return None  # the pandas path words the rejection
    if not sqlingest.supports(contract, prof) or sqlingest.read(con, path, scan) is None:
        return None
    return scan, contract, prof, mapping


def _ingest_sql(con, path: Path, sha: str, feed: str | None, scan, contract: Contract, prof: Profile,
                mapping: dict) -> IngestResult:
    from sources import sqlingest

    def load(now: datetime, totals: dict) -> set[str]:
        fault_point("ingest:read")
        return sqlingest.load(con, path, sha, scan, contract, prof, mapping, now, totals, display_name(path))

    try:
        return _load_file(con, path, sha, feed, contract, prof, mapping, "csv", {**scan.info, "reader": "duckdb"}, load)
    finally:
        sqlingest.drop(con)


def _load_file(con, path: Path, sha: str, feed: str | None, contract: Contract, prof: Profile, mapping: dict,
               fmt: str, info: dict, load: Callable[[datetime, dict], set[str]]) -> IngestResult:
    """The file's transaction: its rows (``load``), its partitions, its load number and its manifest entry."""
    now = _now()
    feed_name = contract.feed
    totals = {"read": 0, "loaded": 0, "quarantined": 0, "masked": 0}
    try:
        with transaction(con):
            replaced = load(now, totals)
            record_pending_partitions(con, contract, sha, now)
            # a load sequence number: a refresh can tell exactly which feeds got rows since the last complete one
            run(con, "INSERT INTO meta.loads SELECT coalesce(max(seq), 0) + 1, ?, ?, ? FROM meta.loads",
                [feed_name, sha, now])
            for old in sorted(replaced):
                left = scalar(con, f"SELECT count(*) FROM raw.{q(feed_name)} WHERE _sha256 = ?", [old])
                if left == 0:
                    run(con, "UPDATE meta.files SET status = 'replaced', message = ? WHERE sha256 = ? "
                             "AND status = 'loaded'", [f"ersatt av {display_name(path)}", old])
            message = ""
            if totals["quarantined"]:
                message = f"{totals['quarantined']} av {totals['read']} rader i karantän (se lagesbild quarantine)."
            if replaced:
                message += (" " if message else "") + f"Ersatte rader från {len(replaced)} tidigare fil(er)."
            fault_point("ingest:inserted")
            info["mapping"] = mapping
            key = file_key(con, path)
            run(con, "DELETE FROM meta.files WHERE sha256 = ? AND path = ?", [sha, key])
            run(con, "INSERT INTO meta.files VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?, ?)",
                [sha, key, display_name(path), feed_name, prof.name, fmt, now, totals["read"],
                 totals["loaded"], totals["quarantined"], totals["masked"], message,
                 json.dumps(info, ensure_ascii=False)])
    except FileRejected as exc:  # a problem found further down a large file: nothing of it stayed
        return _reject(con, path, sha, feed, exc)
    fault_point("ingest:committed")
    return IngestResult(path=str(path), sha256=sha, feed=feed_name, profile=prof.name, status="loaded",
                        rows_read=totals["read"], rows_loaded=totals["loaded"],
                        rows_quarantined=totals["quarantined"], masked_values=totals["masked"], message=message,
                        replaced=sorted(replaced))


def _reject(con, path: Path, sha: str, feed: str | None, exc: FileRejected) -> IngestResult:
    with transaction(con):
        return _record_rejection(con, path, sha, feed, exc)


def _chain_first(first: RawTable, rest: Iterable[RawTable]) -> Iterable[RawTable]:
    yield first
    yield from rest


@dataclass
class _Chunk:
    """One chunk read, screened and coerced (no warehouse needed): what :func:`_store_chunk` writes."""
    rows: pd.DataFrame        # typed rows with _sha256, _row and _scope
    quarantine: pd.DataFrame  # one row per rejected cell, ready for meta.quarantine
    rows_read: int
    quarantined_rows: int
    masked: int


def _prepare_chunk(path: Path, sha: str, table: RawTable, contract: Contract, prof: Profile, mapping: dict) -> _Chunk:
    """Screen, reshape and coerce one chunk, with the conservation check (pure: runs in a worker process too)."""
    screened, masked_at_door = screen_frame(table.frame)  # every text value, every column, before anything else
    frame, row_numbers = prof.reshape(screened, table.row_numbers)
    canonical = prof.canonical_frame(frame, mapping)
    coerced = coerce(canonical, row_numbers, contract, prof)
    rows_read = len(frame)  # for a wide file: one row per (file row, period column)
    if rows_read != len(coerced.rows) + coerced.quarantined_rows:  # an explicit check: `python -O` keeps it
        raise ConservationError(f"{display_name(path)}: {rows_read} rader lästes men {len(coerced.rows)} lästes in "
                                f"och {coerced.quarantined_rows} lades i karantän. Inget av filen har sparats; "
                                "rapportera felet till den som förvaltar lägesbild.")
    rows = coerced.rows
    rows.insert(0, "_sha256", sha)
    rows.insert(2, "_scope", scope_keys(rows, contract) if len(rows) else pd.Series([], dtype="string"))
    qf = coerced.quarantine.rename(columns={"_row": "row_number", "column": "column_name"})
    if len(qf):
        qf.insert(0, "sha256", sha)
        qf.insert(1, "file_name", display_name(path))
        qf.insert(2, "feed", contract.feed)
    return _Chunk(rows, qf, rows_read, coerced.quarantined_rows, masked_at_door + coerced.masked)


def _store_chunk(con, sha: str, chunk: _Chunk, contract: Contract, now: datetime, totals: dict) -> set[str]:
    """Insert one prepared chunk (inside the file's transaction); returns the files whose rows it replaced."""
    rows = chunk.rows
    feed_name = contract.feed
    replaced: set[str] = set()
    if len(rows):
        replaced = replace_earlier_rows(con, contract, rows, sha, now)
        cols = ["_sha256", "_row", "_scope"] + contract.column_names
        select = ", ".join([q(c) for c in cols[:3]]
                           + [f"CAST({q(c.name)} AS {c.duckdb_type})" for c in contract.columns])
        run_with_frame(con, f"INSERT INTO raw.{q(feed_name)} ({', '.join(q(c) for c in cols)}) SELECT {select} "
                            "FROM _frame", rows)
    if len(chunk.quarantine):
        run_with_frame(con, "INSERT INTO meta.quarantine SELECT sha256, file_name, feed, row_number, column_name, "
                            "raw_value, reason FROM _frame", chunk.quarantine)
    totals["read"] += chunk.rows_read
    totals["loaded"] += len(rows)
    totals["quarantined"] += chunk.quarantined_rows
    totals["masked"] += chunk.masked
    return replaced


def _dedupe_across_chunks(con, path: Path, sha: str, contract: Contract, totals: dict) -> int:
    """Natural-key duplicates between chunks of one large file: the first occurrence wins, as within a chunk."""
    feed = q(contract.feed)
    key = ", ".join(q(k) for k in contract.natural_key)
    # all in SQL: a file of millions of duplicate rows must not become millions of Python objects
    shown = " || ' | ' || ".join(f"coalesce(CAST({q(k)} AS VARCHAR), 'None')" for k in contract.natural_key)
    run(con, f"CREATE OR REPLACE TEMP TABLE _dup_rows AS SELECT _row, first_row, {shown} AS raw_value FROM ("
             f"SELECT _row, {key}, min(_row) OVER (PARTITION BY {key}) AS first_row FROM raw.{feed} "
             "WHERE _sha256 = ?) WHERE _row > first_row", [sha])
    try:
        n = int(scalar(con, "SELECT count(*) FROM _dup_rows"))
        if n:
            run(con, "INSERT INTO meta.quarantine SELECT ?, ?, ?, _row, ?, raw_value, "
                     "'dubblett: samma nyckel (' || ? || ') som rad ' || first_row FROM _dup_rows ORDER BY _row",
                [sha, display_name(path), contract.feed, ",".join(contract.natural_key),
                 ", ".join(contract.natural_key)])
            run(con, f"DELETE FROM raw.{feed} WHERE _sha256 = ? AND _row IN (SELECT _row FROM _dup_rows)", [sha])
    finally:
        run(con, "DROP TABLE IF EXISTS _dup_rows")
    totals["quarantined"] += n
    return n


def expand_paths(paths: Iterable[Path]) -> list[tuple[Path, str | None]]:
    """Files to ingest, in a stable order. A folder named after a feed gives that feed to its files."""
    feeds = set(all_feeds())
    out: list[tuple[Path, str | None]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            # every entry that is not a folder gets a verdict (FIFOs, links pointing elsewhere are rejected)
            for f in sorted(x for x in p.rglob("*") if not x.is_dir() and not x.name.startswith(".")):
                parent_feed = f.parent.name if f.parent.name in feeds else None
                out.append((f, parent_feed))
        else:
            out.append((p, p.parent.name if p.parent.name in feeds else None))
    return out


def _under(path: Path, root: Path) -> bool:
    try:
        Path(path).relative_to(root)
        return True
    except ValueError:
        return False


# Small files on the pandas path are read, screened and coerced in worker processes ahead of the main process,
# which stores them in order, one transaction each (DuckDB has one writer). A pool costs a fork per worker: worth it
# from a few hundred kB together (the sample's folders, each in a fresh warehouse, 3 alternating runs: six survey
# workbooks of 300 kB 0,87 → 0,57 s, six concern-report CSVs of 320 kB 0,34 → 0,30 s, six EST CSVs of 1,2 MB
# 0,34 → 0,30 s; seven activity logs of 36 kB stay one by one). LAGESBILD_INGEST_WORKERS sets the number of
# workers (0 or 1: no pool).
WORKERS_ENV = "LAGESBILD_INGEST_WORKERS"
PREPARE_MIN_FILES = 3
PREPARE_MIN_BYTES = 256 * 1024
# files up to this size are read ahead in workers, including those the DuckDB path would take when read here: with
# many files the workers use every core while the main process stores (a national refresh's files, paired runs:
# wall 0,78 of reading the files of 8 MB or more through DuckDB in the main process); a lone large file still goes
# through DuckDB, whose threads use every core. Bounded: a worker holds its whole file in memory.
PREPARE_MAX_BYTES = 16 * 1024 * 1024


def _to_prepare(con, files: list[tuple[Path, str | None, bool]], feed: str | None, profile: str | None,
                retry_rejected: bool) -> dict[int, tuple[Path, str, str | None]]:
    """The files worth reading ahead in a worker (index -> resolved path, sha256, feed): regular files under
    ``PREPARE_MAX_BYTES`` that are not loaded yet. The main process checks everything again when it gets to them."""
    from sources import sqlingest
    from sources.readers.common import require_regular

    if sqlingest.engine() == "sql":
        return {}
    out, total = {}, 0
    for i, (f, folder_feed, outside) in enumerate(files):
        if outside:
            continue
        try:
            require_regular(f)
            path = f.resolve()
            size = path.stat().st_size
            if size >= PREPARE_MAX_BYTES:
                continue
            sha = _cached_sha256(con, path)
        except (FileRejected, OSError):
            continue
        if con.execute("SELECT 1 FROM meta.files WHERE sha256 = ? AND (status <> 'rejected' OR (? AND path = ?))",
                       [sha, not retry_rejected, file_key(con, path)]).fetchall():
            continue
        out[i] = (path, sha, feed or folder_feed)
        total += size
    if len(out) < PREPARE_MIN_FILES or total < PREPARE_MIN_BYTES:
        return {}
    return out


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], feed: str | None = None,
                 profile: str | None = None, progress: Progress | None = None,
                 retry_rejected: bool = True, quiet_unchanged: bool = False) -> list[IngestResult]:
    """Load files and folders, each file with its own verdict (``ingest_file``). ``progress`` gets a line per file;
    with ``quiet_unchanged`` (a refresh) the files loaded before as they are now get one line together instead."""
    ensure_schema(con)
    relocate_file_paths(con)
    paths = list(paths)
    files = []
    for f, folder_feed in expand_paths(paths):
        root = next((Path(p) for p in paths if Path(p).is_dir() and _under(f, Path(p))), None)
        # a link in a drop folder that points elsewhere (e.g. /etc/…) is never followed
        outside = root is not None and f.is_symlink() and not _under(f.resolve(), root.resolve())
        files.append((f, folder_feed, outside))
    unchanged = _unchanged(con, files)
    workers = fork_workers(4, WORKERS_ENV)
    todo = [(f, ff, outside) if i not in unchanged else (f, ff, True) for i, (f, ff, outside) in enumerate(files)]
    ahead = _to_prepare(con, todo, feed, profile, retry_rejected) if workers > 1 else {}
    with fork_pool(min(workers, len(ahead))) if ahead else nullcontext() as pool:
        results = _ingest_in_order(con, files, feed, profile, progress, retry_rejected, ahead, pool, workers,
                                   unchanged, quiet_unchanged)
    if progress and quiet_unchanged and unchanged:
        progress(f"{len(unchanged)} av {len(files)} filer oförändrade sedan de lästes in; inget ändrades.")
    return results


def _unchanged(con, files: list[tuple[Path, str | None, bool]]) -> dict[int, IngestResult]:
    """Files loaded before at the same path whose size and modification time are those recorded with their hash:
    their verdict ("already loaded", nothing written) from two queries instead of four per file. A refresh of a
    feed with one new file reads the feed's whole folder (a national crime folder: 100 files, 0,33 s this way →
    a few hundredths); what ``ingest_file`` would answer for them is exactly this (tests/test_ingest.py)."""
    stats = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT path, size, mtime_ns, sha256 FROM meta.file_stats").fetchall()}
    if not stats:
        return {}
    first: dict[str, tuple[str, str]] = {}  # sha -> (path, feed) of its first manifest row, as _ingest_file takes it
    at: set[tuple[str, str]] = set()
    rejected: set[tuple[str, str]] = set()  # a rejection at the same path is answered by ingest_file itself
    for sha, path, feed_, status in con.execute("SELECT sha256, path, feed, status FROM meta.files").fetchall():
        if status == "rejected":
            rejected.add((sha, path))
            continue
        first.setdefault(sha, (path, feed_))
        at.add((sha, path))
    at -= rejected
    out = {}
    for i, (f, _, outside) in enumerate(files):
        if outside:
            continue
        try:
            st = f.stat()
            path = f.resolve()
        except OSError:
            continue
        if not stat_module.S_ISREG(st.st_mode):
            continue
        key = file_key(con, path)
        known = stats.get(key)
        if known is None or known[:2] != (st.st_size, st.st_mtime_ns) or (known[2], key) not in at:
            continue
        sha = known[2]
        name, feed_ = first[sha]
        msg = f"samma innehåll (sha256) som {mask_text(Path(name).name)} är redan inläst; inget ändrades."
        out[i] = IngestResult(path=str(path), sha256=sha, feed=feed_, profile=None, status="already_loaded",
                              message=msg)
    return out


def _ingest_in_order(con, files, feed, profile, progress, retry_rejected, ahead, pool, workers,
                     unchanged: dict[int, IngestResult], quiet_unchanged: bool = False) -> list[IngestResult]:
    """Each file in order in the main process; the files in ``ahead`` read ahead by ``pool``, those in
    ``unchanged`` answered from it (see ingest_paths)."""
    futures: dict[int, Future] = {}
    queue = sorted(ahead)

    def submit_up_to(i: int) -> None:  # a bounded window: prepared frames wait in memory until stored
        while queue and len(futures) < 2 * workers and queue[0] <= i + 4 * workers:
            j = queue.pop(0)
            try:
                futures[j] = pool.submit(_in_worker, *ahead[j][:2], ahead[j][2], profile)
            except Exception:  # noqa: BLE001 - a broken pool (a worker was killed): the rest is read here
                queue.clear()

    results = []
    for i, (f, folder_feed, outside) in enumerate(files):
        if pool is not None:
            submit_up_to(i)
        if i in unchanged:
            r = unchanged[i]
        elif outside:
            r = _reject(con, f, _path_key(f), feed or folder_feed, FileRejected(
                f, "filen är en länk som pekar utanför mappen och läses inte.", "Lägg själva filen i mappen."))
        else:
            r = ingest_file(con, f, feed=feed or folder_feed, profile=profile, retry_rejected=retry_rejected,
                            prepared=futures.pop(i, None))
        results.append(r)
        if progress and not (quiet_unchanged and i in unchanged):
            progress(f"[{i + 1}/{len(files)}] {r.summary()}")
    return results
