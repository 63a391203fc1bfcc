"""`lagesbild` in a process of its own for tests that kill it (fault points) or need a process boundary, without
paying Python's start-up and imports for every run.

The process is forked from a server process (multiprocessing's *forkserver*) that has imported what a refresh
imports, Great Expectations included (as the product imports it, see pipelines/checks/gx.py); the server is
started once per test process. Each run is still a real process of its own: it runs ``pipelines.cli.main`` as the
console script does, can be SIGKILLed at a fault point, and its exit status is the test's to read. A new Python
per run cost ≈ 3 s of start-up, and ≈ 2 s more for the GE import in every run that reached the checks.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

PRELOAD = ["pipelines.cli", "pipelines.jobs", "pipelines.definitions", "tests._ge_preload"]

_CTX = None


def _run(argv: list[str], env: dict[str, str], out_path: str) -> None:
    os.environ.update(env)  # e.g. LAGESBILD_FAULT: read when the run reaches a fault point
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)
    from pipelines.cli import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def run_lagesbild(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[int, str]:
    """(exit status, standard output and error together) of ``lagesbild *argv`` in its own process; a negative
    status is the signal that ended it (-9: killed)."""
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(PRELOAD)
    with tempfile.TemporaryDirectory(prefix="lagesbild-run-") as tmp:
        out = Path(tmp) / "out.txt"
        proc = _CTX.Process(target=_run, args=(list(argv), dict(env or {}), str(out)))
        proc.start()
        proc.join(timeout)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise TimeoutError(f"lagesbild {' '.join(argv)} did not end within {timeout} s")
        return proc.exitcode, out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
