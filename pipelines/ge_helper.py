"""Great Expectations made ready beside a small refresh: a helper process that imports GE while the run reads files
and builds models, then validates the new rows' batches handed to it.

Importing GE costs more than a second (most of it pydantic building GE's expectation classes) and a refresh with
new rows pays it before its first check; the rest of a refresh runs on one core. ``start`` starts one process (a
fresh interpreter, so nothing of the run's DuckDB connections or threads is inherited) that imports GE and builds
its context while the run goes on; ``call`` hands it a batch and waits for the outcomes. Only small inputs use it:
a batch is copied to the helper (pickled through a socket), so only a small refresh starts it
(``pipelines/changes.is_small``: a larger one spends far longer than the import elsewhere, and the copy would add
to its peak memory), and a batch of more than ``MAX_ROWS`` rows is validated in the run's own process.

The helper changes where the validation runs, not what it finds: the same function validates the same frame with
the same date (``tests/test_ge_helper.py``). Anything that goes wrong with the helper (it failed to start, died,
raised, or was sent something that does not pickle) makes ``call`` return None and the caller validates in its own
process, which then reports any real error itself. The helper dies with the refresh (Linux's parent-death signal)
and is stopped when the run ends.
"""
from __future__ import annotations

import os
import pickle
import select
import socket
import struct
import subprocess
import sys

from pipelines.home import PROJECT_ROOT

MAX_ROWS = 200_000  # rows of one batch, above which it is validated in the run's own process

_helper = None  # [process, socket, asked anything yet] while one runs


def _send(sock: socket.socket, obj) -> None:
    """One message: its pickled length, then the pickle. ``MSG_NOSIGNAL``: a peer that is gone is an error here,
    not a SIGPIPE (the CLI restores SIGPIPE's default, which would end the refresh)."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(struct.pack("!Q", len(data)) + data, socket.MSG_NOSIGNAL)


def _recv(sock: socket.socket):
    def exactly(n: int) -> bytes:
        parts, left = [], n
        while left:
            chunk = sock.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError("the other side ended")
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    (n,) = struct.unpack("!Q", exactly(8))
    return pickle.loads(exactly(n))


def _serve(fd: int, parent: int) -> None:  # pragma: no cover - runs in the helper process
    from pipelines import startup
    from sources.workers import die_with_parent

    die_with_parent(parent)
    sock = socket.socket(fileno=fd)
    with startup.paused():  # GE's import makes objects that live as long as the helper (pipelines/startup.py)
        from pipelines.checks.gx import context

        context()  # imports GE and builds the context the validations use
        try:
            warm_up()
        except Exception:  # noqa: BLE001 - only a warm-up: the run's batches are validated all the same
            pass
        startup.collect_from_here()
    while True:
        try:
            msg = _recv(sock)
        except (EOFError, OSError):
            break
        if msg is None:
            break
        fn, args = msg
        try:
            answer = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - the caller validates again in its own process
            answer = ("error", repr(exc))
        try:
            _send(sock, answer)
        except Exception:  # noqa: BLE001 - the run is gone, or the answer does not pickle: the run validates
            break
    sock.close()
    os._exit(0)  # nothing to clean up or flush: skip tearing down GE's modules (≈ 0,5 s)


def warm_up() -> list:
    """Validate two made-up rows with the kinds of expectation the suites use most: GE's first validation in a
    process pays for setting itself up (≈ 0,1 s), which the helper pays here while it waits for the run's first
    batch instead of while the run waits for its answer. Returns the outcomes."""
    from datetime import date

    import pandas as pd

    from pipelines.checks.suites import validate
    from sources.expectations import Suite

    frame = pd.DataFrame({"k": ["a", "b"], "v": pd.array(["x", None], dtype="string"), "n": [1, 2]})
    return validate(frame, Suite("uppvärmning", "staging.uppvarmning", ["k"], [
        {"type": "expect_column_values_to_be_in_set", "column": "v", "value_set": ["x"]},
        {"type": "expect_column_values_to_not_be_null", "column": "v", "mostly": 0.5},
        {"type": "expect_column_values_to_be_between", "column": "n", "min_value": 0, "max_value": 1}]),
        {}, date.today())


def worth_starting(unread_bytes: int) -> bool:
    """A small refresh with new files (``pipelines/changes.is_small``) starts a helper, unless its process has
    imported GE already (a test run, a second run in the same process): it validates itself then."""
    from pipelines.changes import is_small

    return "great_expectations" not in sys.modules and unread_bytes > 0 and is_small(unread_bytes)


def start() -> bool:
    """Start the helper (once per process; False when one runs already or it cannot be started)."""
    global _helper
    if _helper is not None:
        return False
    ours, theirs = socket.socketpair()
    code = f"from pipelines.ge_helper import _serve; _serve({theirs.fileno()}, {os.getpid()})"
    quiet = subprocess.DEVNULL if not os.environ.get("LAGESBILD_DEBUG") else None
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                stdout=quiet, stderr=quiet, cwd=str(PROJECT_ROOT))
    except OSError:
        ours.close()
        return False
    finally:
        theirs.close()
    _helper = [proc, ours, False]
    return True


def running() -> bool:
    return _helper is not None and _helper[0].poll() is None


def call(fn, *args):
    """``fn(*args)`` in the helper; None when there is no helper or it could not give an answer."""
    if _helper is None:
        return None
    proc, sock, _ = _helper
    _helper[2] = True
    try:
        _send(sock, (fn, args))
        while not select.select([sock], [], [], 0.2)[0]:
            if proc.poll() is not None:
                raise EOFError("the helper ended")
        status, value = _recv(sock)
    except Exception:  # noqa: BLE001 - gone, or something that does not pickle: the stream cannot be trusted
        stop()
        return None
    return value if status == "ok" else None


def stop() -> None:
    """End the helper: told to, and killed if it was never asked anything (it may still be importing GE) or does
    not end at once."""
    global _helper
    if _helper is None:
        return
    proc, sock, asked = _helper
    _helper = None
    if not asked:
        proc.kill()
    try:
        _send(sock, None)
    except OSError:
        pass
    sock.close()
    try:
        proc.wait(timeout=0.2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
