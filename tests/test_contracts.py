"""Contracts, profiles, their human pages and example files agree with each other."""
from __future__ import annotations

import pytest

from sources.contract import SOURCES_DIR, all_feeds, load_contract, load_profiles
from sources.docs import render
from sources.ingest import ensure_schema, ingest_file

FEEDS = all_feeds()


def test_every_feed_has_contract_profiles_suite_page_and_example():
    assert len(FEEDS) == 11
    for feed in FEEDS:
        folder = SOURCES_DIR / feed
        assert load_contract(feed).columns and load_profiles(feed), feed
        assert (folder / "expectations.yaml").exists(), feed
        assert list(folder.glob("example*")), feed


@pytest.mark.parametrize("feed", FEEDS)
def test_contract_page_is_up_to_date(feed):
    page = (SOURCES_DIR / feed / "README.md").read_text(encoding="utf-8")
    assert page == render(feed), f"run `python -m sources.docs` to update sources/{feed}/README.md"
    for col in load_contract(feed).columns:
        assert f"`{col.name}`" in page


@pytest.mark.parametrize("feed", FEEDS)
def test_example_file_loads_cleanly_through_a_shipped_profile(feed, warehouse):
    ensure_schema(warehouse)
    for example in sorted((SOURCES_DIR / feed).glob("example*")):
        r = ingest_file(warehouse, example)  # feed and profile recognised from the header
        assert (r.feed, r.status, r.rows_quarantined) == (feed, "loaded", 0), (example.name, r.message)
        assert r.rows_loaded > 0
