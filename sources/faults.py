"""Named fault points for crash tests: ``LAGESBILD_FAULT=<point>`` makes the process SIGKILL itself when it
reaches that point, so a test kills a run in a chosen phase instead of sleeping a random time (which on a loaded
machine may land before or after the phase). Unset, a fault point costs one dictionary lookup.

Points: ingest:read, ingest:inserted (rows written, not committed), ingest:committed, model:rebuilt (a model's
rows replaced, not committed), checks:written (check results written, not committed), site:written (the new
version's pages written, snapshot not yet), snapshot:written (snapshot written, not yet published),
publish:swapped (published, old versions not yet pruned).
"""
from __future__ import annotations

import os
import signal

POINTS = ("ingest:read", "ingest:inserted", "ingest:committed", "model:rebuilt", "checks:written", "site:written",
          "snapshot:written", "publish:swapped")


def fault_point(name: str) -> None:
    want = os.environ.get("LAGESBILD_FAULT")
    if want and want == name:
        os.kill(os.getpid(), signal.SIGKILL)
