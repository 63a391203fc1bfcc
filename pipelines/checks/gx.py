"""Great Expectations, imported on first need (it costs seconds), and the one ephemeral context validations use.

Both the refresh's own process (``pipelines/checks/suites.py``) and its GE helper (``pipelines/ge_helper.py``)
load GE through here.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
from contextlib import contextmanager
from functools import lru_cache

# Modules GE imports when it is imported but that no suite here uses: scipy.stats serves its distribution and
# KL-divergence expectations (≈ 0,8 s of GE's ≈ 3 s import, paid by every refresh with new rows). They are put in
# place as lazily executed modules first: such a module runs on the first use of one of its names, so code that
# uses scipy.stats (in GE or anywhere else in the process) still gets the whole module.
LAZY_FOR_GE = ("scipy.stats",)


def _lazy_module(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def great_expectations():
    """The ``great_expectations`` module, imported on first need (see ``LAZY_FOR_GE``)."""
    if "great_expectations" not in sys.modules:
        for name in LAZY_FOR_GE:
            _lazy_module(name)
    import great_expectations as gx

    return gx


@lru_cache(maxsize=1)
def context():
    gx = great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from great_expectations.execution_engine import pandas_execution_engine

    # GE fingerprints every batch by hashing the whole DataFrame (about a third of the validation time on large
    # batches); the fingerprint is not used here, and GE skips it above this size threshold
    pandas_execution_engine.HASH_THRESHOLD = 0
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ds = ctx.data_sources.add_pandas("lagesbild")
    asset = ds.add_dataframe_asset("frame")
    return ctx, asset.add_batch_definition_whole_dataframe("whole")


_kept = threading.local()  # per thread: the configurations kept while a batch is validated (None: not now)


@contextmanager
def configurations_built_once():
    """While GE validates a batch, each expectation's configuration is built once per state of the expectation.

    GE builds ``Expectation.configuration`` afresh from the expectation's fields every time it is read (pydantic's
    ``dict()``, a deep copy element by element) and reads it about 230 times per validation of a suite: with value
    sets of hundreds of codes (crime codes, municipalities) that is ≈ 0,2 s per batch whatever its number of rows,
    7 s of a national refresh's 30 batches of crime reports. Inside this block (in this thread) it is kept per
    expectation object and the identity of each of its field values, so a field given a new value builds it again;
    outside it, and in other threads, GE builds it as it always does. GE reads it, it does not change it (the
    outcomes are the same: ``tests/test_checks_can_fail.py``). A GE release without the property: no change.
    """
    if not _keep_configurations():
        yield
        return
    outer = getattr(_kept, "by_id", None)
    _kept.by_id = {} if outer is None else outer
    try:
        yield
    finally:
        _kept.by_id = outer


@lru_cache(maxsize=1)
def _keep_configurations() -> bool:
    """Put the keeping property in place of GE's (once per process); False when GE has no such property."""
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.__dict__.get("configuration")
    if not isinstance(built, property) or built.fget is None:
        return False

    def configuration(self):
        by_id = getattr(_kept, "by_id", None)
        if by_id is None:
            return built.fget(self)
        state = tuple((k, id(v)) for k, v in self.__dict__.items())
        hit = by_id.get(id(self))
        if hit is None or hit[0] is not self or hit[1] != state:
            hit = by_id[id(self)] = (self, state, built.fget(self))
        return hit[2]

    Expectation.configuration = property(configuration, doc=built.__doc__)
    return True
