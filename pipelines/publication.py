"""Publishing a refresh atomically: pages and the read-only warehouse snapshot change together, or not at all.

Layout below a home (the default home keeps these in build/)::

    published -> .versions/<run id>     symlink, swapped with one rename (atomic on POSIX)
    .versions/<run id>/site/            the pages (unchanged files are hard links to the previous version's)
    .versions/<run id>/warehouse.duckdb the read-only snapshot the pages were built from
    site -> published/site              stable path for web servers and bookmarks

A refresh builds a new version beside the published one and swaps the ``published`` link last. A reader (a
browser, a DuckDB user with the snapshot open) keeps what it opened; a refresh killed at any point leaves the
previous version published and an unfinished version folder that the next refresh removes.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from pipelines.home import Home
from sources.faults import fault_point

MANIFEST = "publicering.json"
KEEP_VERSIONS = 2  # the published one and the one before (readers may still have it open)


def versions_dir(home: Home) -> Path:
    return home.published.parent / ".versions"


def current_version(home: Home) -> Path | None:
    link = home.published
    if link.is_symlink():
        target = link.resolve()
        return target if target.exists() else None
    return None


def _migrate_legacy(home: Home) -> None:
    """Homes from before versioned publication had real site/ and published/ folders: move them into a version."""
    legacy = versions_dir(home) / "legacy"
    if home.published.exists() and not home.published.is_symlink():
        legacy.mkdir(parents=True, exist_ok=True)
        for p in home.published.iterdir():
            os.replace(p, legacy / p.name)
        home.published.rmdir()
    if home.site.exists() and not home.site.is_symlink():
        legacy.mkdir(parents=True, exist_ok=True)
        if (legacy / "site").exists():
            shutil.rmtree(legacy / "site")
        os.replace(home.site, legacy / "site")
    if legacy.exists() and not home.published.exists():
        _point(home.published, legacy)


def _point(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}.lnk")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)


def ensure_links(home: Home) -> None:
    home.published.parent.mkdir(parents=True, exist_ok=True)
    _migrate_legacy(home)
    if not home.site.is_symlink():
        rel = os.path.relpath(home.published / "site", home.site.parent)
        os.symlink(rel, home.site)


def prepare(home: Home, run_id: str) -> Path:
    """A new version folder whose site/ starts as hard links to the published pages (so packs and unchanged
    pages carry over without copying); files are later replaced, never edited in place, so the old version
    is not touched."""
    ensure_links(home)
    new = versions_dir(home) / run_id
    if new.exists():
        shutil.rmtree(new)
    new.mkdir(parents=True)
    current = current_version(home)
    if current is not None and (current / "site").is_dir():
        # a pack folder left half-written by a killed `publish` (".<name>.tmp") is not carried forward
        shutil.copytree(current / "site", new / "site", copy_function=os.link, symlinks=True,
                        ignore=lambda folder, names: [n for n in names if n.startswith(".") and n.endswith(".tmp")])
    else:
        (new / "site").mkdir()
    return new


def read_manifest(site_dir: Path) -> dict:
    path = Path(site_dir) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def swap(home: Home, version: Path) -> None:
    """Publish ``version``: one atomic rename of the ``published`` link; then remove old unfinished versions."""
    ensure_links(home)
    _point(home.published, version)
    fault_point("publish:swapped")
    prune(home)


def prune(home: Home) -> None:
    """Keep the published version and the newest other one (a reader may still have it open); remove the rest
    (older versions and folders of refreshes that were interrupted)."""
    current = current_version(home)
    others = sorted((p for p in versions_dir(home).glob("*") if p.is_dir() and p != current),
                    key=lambda p: p.stat().st_mtime)
    for p in others[: max(0, len(others) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(p, ignore_errors=True)


def clean_unfinished_packs(site_dir: Path) -> int:
    """Remove pack folders a killed `publish` left behind (they are written as ".<name>.tmp", then renamed)."""
    removed = 0
    packs = Path(site_dir) / "packs"
    if packs.is_dir():
        for tmp in packs.glob(".*.tmp"):
            for p in tmp.rglob("*"):
                if p.is_file():
                    p.chmod(0o644)
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    return removed
