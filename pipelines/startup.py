"""A command's start-up without Python's cyclic garbage collector.

Importing Dagster, pandas, plotly and the project, and building Dagster's definitions, makes hundreds of
thousands of objects that live as long as the process; the collector goes through them again and again while they
are made (≈ 0,5–1 s of an incremental refresh, ≈ 0,25 s of a meeting pack). A command turns it off for its start
(``paused``) and, once started, sets what the start made aside (``gc.freeze``: the first time in a process only, so
a process that runs many commands, like the test suite, sets aside only its own start) and turns it on again for
the command's own objects (``collect_from_here``). Whatever happens, it is on again when the block ends.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def collect_from_here() -> None:
    if gc.get_freeze_count() == 0:
        gc.freeze()
    gc.enable()
