"""``lagesbild serve``: the published folder over HTTP on this machine (plain files: any web server can host them).
Traversal outside the folder is refused by the standard library's handler (tests/test_hardening.py)."""
from __future__ import annotations

from pathlib import Path


def make_server(site: Path, address: str = "127.0.0.1", port: int = 8000):
    """A static file server for the published folder (plain files: any intranet web server can host them)."""
    import functools
    import http.server

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no per-request noise on the coordinator's terminal
            pass

    handler = functools.partial(QuietHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((address, port), handler)
