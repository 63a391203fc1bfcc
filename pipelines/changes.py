"""What changed since the last complete refresh: which feeds have new or changed files, and whether the code or
configuration the models and pages are built from changed. Lets ``lagesbild refresh`` run only the assets that
new files affect (fewer steps), and everything when in doubt."""
from __future__ import annotations

import hashlib
from pathlib import Path

from pipelines.home import PROJECT_ROOT, Home

CODE_GLOBS = [("data/reference", "*.csv"), ("data/agreements", "**/*.yaml"), ("data/config", "*.yaml"),
              ("models", "**/*.sql"), ("sources", "**/*.yaml"), ("sources", "**/*.py"), ("dashboards", "**/*"),
              ("pipelines", "**/*.py")]


def files_fingerprint(globs: list[tuple[str, str]]) -> str:
    """A short hash of the names and contents of the project files matching (folder, pattern) pairs."""
    h = hashlib.sha1()
    for folder, pattern in globs:
        for f in sorted((PROJECT_ROOT / folder).glob(pattern)):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(PROJECT_ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def code_fingerprint() -> str:
    return files_fingerprint(CODE_GLOBS)


def _known_files(con):
    """A test of whether a file was read as it is now (by path, size and modification time, ``meta.file_stats``);
    None when the warehouse has no such record yet."""
    from sources.meta import file_key

    try:
        known = {(r[0], r[1], r[2]) for r in con.execute("SELECT path, size, mtime_ns FROM meta.file_stats").fetchall()}
    except Exception:  # a warehouse from before this table, or none yet
        return None

    def unchanged(p: Path) -> bool:
        st = p.stat()
        resolved = p.resolve()  # named as ingest names it; an older warehouse's rows may be absolute
        return (file_key(con, resolved), st.st_size, st.st_mtime_ns) in known \
            or (str(resolved), st.st_size, st.st_mtime_ns) in known

    return unchanged


SMALL_REFRESH_BYTES = 64 * 1024 * 1024  # new input files together up to which a refresh counts as small


def is_small(unread: int) -> bool:
    """A refresh of at most ``SMALL_REFRESH_BYTES`` of new files: a coordinator's quarterly exports, not a national
    first load. It validates in a GE helper (``pipelines/ge_helper.py``) and, when it runs only what its files
    affect, keeps DuckDB's cache between steps (``pipelines/resources.WarehouseResource``)."""
    return unread <= SMALL_REFRESH_BYTES


def unread_bytes(con, home: Home) -> int:
    """Bytes of the files in incoming/ (its feeds' folders and its top; hidden files left out, as ingest leaves them)
    not read as they are now: all of them when ``con`` is None (no warehouse yet)."""
    if not home.incoming.is_dir():
        return 0
    unchanged = _known_files(con) if con is not None else None
    files = (p for p in home.incoming.rglob("*") if p.is_file() and not p.name.startswith("."))
    return sum(p.stat().st_size for p in files if unchanged is None or not unchanged(p))


def changed_feeds(con, home: Home, feeds: list[str]) -> list[str] | None:
    """Feeds whose folder in incoming/ has a file that is new or changed (by path, size and modification time)
    since it was last read; None when that cannot be told (a file at the top of incoming/ not read yet, a first
    run, or changed code or configuration): then everything runs. A file at the top of incoming/ that has been read
    (the asset raw/incoming_loose reads it first) counts through the load it made, under its feed."""
    from sources.db import scalar
    from sources.meta import code_state

    stored = code_state(con)
    unchanged = _known_files(con)
    if unchanged is None:
        return None
    try:
        if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'"):
            return None
    except Exception:  # a warehouse from before these tables, or none yet
        return None
    if stored is None or stored[0] != code_fingerprint():
        return None
    if not all(unchanged(p) for p in home.loose_files()):
        return None
    # files loaded since the last complete refresh (by `lagesbild ingest`, or by a refresh that was interrupted)
    try:
        out = sorted({r[0] for r in con.execute("SELECT DISTINCT feed FROM meta.loads WHERE seq > ?",
                                                 [stored[1]]).fetchall()} & set(feeds))
    except Exception:  # a warehouse from before the load sequence
        return None
    for feed in feeds:
        if feed in out:
            continue
        for p in sorted((home.incoming / feed).rglob("*")) if (home.incoming / feed).exists() else []:
            if p.is_file() and not p.name.startswith(".") and not unchanged(p):
                out.append(feed)
                break
    return sorted(out)


def remember_code(con) -> None:
    """After a complete refresh (under the writer lock): the code it was built with and the last load it saw."""
    from sources.db import scalar
    from sources.meta import save_code_state

    save_code_state(con, code_fingerprint(), int(scalar(con, "SELECT coalesce(max(seq), 0) FROM meta.loads")))
