"""The warehouse file of a home: connections (read-write, read-only, or the published snapshot while a refresh
writes) and the one-writer lock."""
from __future__ import annotations

import contextlib
import logging
import os
import time

from pipelines.home import Home

log = logging.getLogger("lagesbild")


def connect(home: Home, read_only: bool = False):
    import duckdb

    home.ensure()
    if read_only and not home.warehouse.exists():
        con = duckdb.connect(str(home.warehouse))
        con.close()
    return duckdb.connect(str(home.warehouse), read_only=read_only)


def read_connection(home: Home):
    """For reads (files, quarantine): the warehouse read-only, or, while a refresh holds it, the published snapshot
    (the state after the last complete refresh). Never waits for the writer and never writes."""
    import duckdb

    if home.warehouse.exists():
        try:
            return duckdb.connect(str(home.warehouse), read_only=True)
        except duckdb.IOException:
            if home.snapshot.exists():
                log.info("En uppdatering pågår: visar läget efter den senaste färdiga uppdateringen.")
                return duckdb.connect(str(home.snapshot), read_only=True)
            raise
    return duckdb.connect(":memory:")


class Busy(Exception):
    pass


@contextlib.contextmanager
def writer_lock(home: Home, wait: bool = False):
    """One writer per home: a second refresh or ingest waits (wait=True) or stops with a clear message.

    The lock file holds the holder's pid and start time so the message can say who is writing.
    """
    import fcntl

    home.ensure()
    path = home.warehouse.parent / ".lagesbild-writer.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "okänd process"
            raise Busy(f"En uppdatering pågår redan ({holder}). Vänta tills den är klar, eller kör igen med --wait.")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, startad {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock, also when the process is killed


def read_published(home: Home):
    """The site's data from the published snapshot (the state after the last complete refresh; never waits for a
    refresh). Raises ``WarehouseNotReady`` with a coordinator's message when there is none yet."""
    import duckdb

    from dashboards.data import WarehouseNotReady, load_site_data

    if not home.snapshot.exists():
        raise WarehouseNotReady("Det finns inget publicerat lager ännu. Kör `lagesbild refresh` först.")
    con = duckdb.connect(str(home.snapshot), read_only=True)
    try:
        return load_site_data(con)
    finally:
        con.close()
