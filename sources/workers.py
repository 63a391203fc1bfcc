"""Forked worker processes (ingest's read-ahead, the page build): how many, and a pool that is safe to fork.

The workers share the parent's loaded data by forking. A forked child must never finalize an object it inherited
(a DuckDB connection or relation left as garbage by the parent: its C++ state does not survive the fork, and
collecting it in the child crashed the worker, found by tests/test_ingest_workers.py). So the parent collects its
garbage and freezes every object it has into Python's permanent generation before forking (``gc.freeze``): the
children's collector never looks at them; the parent unfreezes when the pool is shut down.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
from contextlib import contextmanager
from typing import Iterator


def fork_workers(cap: int, env: str | None = None) -> int:
    """One per CPU up to ``cap``, or the number in the environment variable ``env``; 0 where the platform cannot
    fork."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    wanted = os.environ.get(env, "").strip() if env else ""
    return int(wanted) if wanted.isdigit() else min(os.cpu_count() or 1, cap)


@contextmanager
def fork_pool(workers: int) -> Iterator:
    """A ``ProcessPoolExecutor`` of ``workers`` forked processes; pending work is cancelled on the way out."""
    from concurrent.futures import ProcessPoolExecutor

    gc.collect()
    gc.freeze()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
