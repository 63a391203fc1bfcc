"""Forked worker processes (ingest's read-ahead, the page build): how many, and a pool that is safe to fork.

The workers share the parent's loaded data by forking. A forked child must never finalize an object it inherited
(a DuckDB connection or relation left as garbage by the parent: its C++ state does not survive the fork, and
collecting it in the child crashed the worker, found by tests/test_ingest_workers.py). So the parent freezes every
object it has into Python's permanent generation before forking (``gc.freeze``): the children's collector never
looks at them, garbage included; the parent unfreezes when the pool is shut down and collects that garbage itself.
Before freezing, only the young generations are collected: a full collection went through every object of a
refresh's process (Dagster, pandas) for each pool, ≈ 0,1 s each.

A worker dies with the process that forked it (Linux: the kernel's parent-death signal). Without that, a refresh
killed mid-run left its workers running until their current item was done: page workers went on writing pages
into the interrupted version's folder while the next refresh could be cleaning it up.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from contextlib import contextmanager
from typing import Iterator


def fork_workers(cap: int, env: str | None = None) -> int:
    """One per CPU up to ``cap``, or the number in the environment variable ``env``; 0 where the platform cannot
    fork."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    wanted = os.environ.get(env, "").strip() if env else ""
    return int(wanted) if wanted.isdigit() else min(os.cpu_count() or 1, cap)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> bool:
    """In a forked worker: ask the kernel to kill this process when its parent dies (Linux ``prctl``; elsewhere
    nothing is done and False is returned). A parent already gone by then ends the worker at once."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # not Linux, or no C library to ask
        return False
    if os.getppid() != parent:  # the parent died before the request: nobody left to work for
        os._exit(1)
    return True


@contextmanager
def fork_pool(workers: int) -> Iterator:
    """A ``ProcessPoolExecutor`` of ``workers`` forked processes that die with this one; pending work is cancelled
    on the way out. The signal follows the thread that forks them, so the pool is used from the thread that
    opens it (its workers are forked on the first ``submit``/``map``)."""
    from concurrent.futures import ProcessPoolExecutor

    gc.collect(1)  # the young garbage; what is left in the oldest generation is frozen with the rest
    gc.freeze()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=die_with_parent,
                               initargs=(os.getpid(),))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
