"""Contracts, profiles, their human pages and example files agree with each other."""
from __future__ import annotations

import pytest

from sources.contract import SOURCES_DIR, all_feeds, load_contract, load_profiles
from sources.docs import render
from sources.ingest import ensure_schema, ingest_file

FEEDS = all_feeds()


def test_every_feed_has_contract_profiles_suite_page_and_example():
    # a feed is its folder: every folder with feed files is a feed with a contract, and the other way round
    folders = sorted(p.name for p in SOURCES_DIR.iterdir() if p.is_dir() and any(
        (p / part).exists() for part in ("contract.yaml", "profiles", "expectations.yaml")))
    assert folders == FEEDS and FEEDS
    for feed in FEEDS:
        assert load_contract(feed).label, f"{feed}: contract.yaml needs a label (its name on pages)"
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


def test_a_misspelt_key_in_a_feed_file_names_file_line_and_key(tmp_path, monkeypatch):
    """`requried:` is an error, not a silently optional column; the same in a profile and an expectation suite."""
    import shutil

    import sources.contract as contract
    import sources.expectations as expectations
    from sources.contract import ContractError
    from sources.yamlfile import FileFormatError

    shutil.copytree(SOURCES_DIR / "crime_reports", tmp_path / "crime_reports")
    monkeypatch.setattr(contract, "SOURCES_DIR", tmp_path)
    monkeypatch.setattr(expectations, "SOURCES_DIR", tmp_path)
    load_contract.cache_clear()
    load_profiles.cache_clear()
    try:
        path = tmp_path / "crime_reports" / "contract.yaml"
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        line = next(i for i, t in enumerate(lines, start=1) if "name: report_id" in t)
        path.write_text(text.replace("{name: report_id, type: string, required: true",
                                     "{name: report_id, type: string, requried: true"), encoding="utf-8")
        with pytest.raises(ContractError) as err:
            load_contract("crime_reports")
        assert f"contract.yaml, rad {line}, fält columns[0].requried: okänt fält" in str(err.value)
        path.write_text(text, encoding="utf-8")
        load_contract.cache_clear()
        profile = next((tmp_path / "crime_reports" / "profiles").glob("*.yaml"))
        profile.write_text(profile.read_text(encoding="utf-8") + "\nvalue_map: {}\n", encoding="utf-8")
        with pytest.raises(ContractError, match=r"fält value_map: okänt fält"):
            load_profiles("crime_reports")
        suite = tmp_path / "crime_reports" / "expectations.yaml"
        suite.write_text(suite.read_text(encoding="utf-8").replace("severity:", "severty:", 1), encoding="utf-8")
        with pytest.raises(FileFormatError, match=r"expectations.yaml, rad \d+, fält expectations\[0\]\.severty"):
            expectations.load_suite("crime_reports")
    finally:
        load_contract.cache_clear()
        load_profiles.cache_clear()


def test_a_new_code_list_is_a_file(tmp_path, monkeypatch):
    """allowed_from resolves from data/reference/<name>.csv (codes in the first column, label beside it)."""
    import shutil

    import sources.taxonomy as taxonomy

    for p in taxonomy.REFERENCE_DIR.iterdir():
        shutil.copy2(p, tmp_path / p.name)
    (tmp_path / "incident_types.csv").write_text("incident_type,label\nbrand_i_byggnad,Brand i byggnad\n"
                                                 "brand_ej_byggnad,Brand ej i byggnad\n", encoding="utf-8")
    (tmp_path / "incident_types.yaml").write_text("label: händelsetyper\n", encoding="utf-8")
    monkeypatch.setattr(taxonomy, "REFERENCE_DIR", tmp_path)
    taxonomy.code_list.cache_clear()
    taxonomy.allowed_values.cache_clear()
    try:
        assert taxonomy.allowed_values("incident_types") == {"brand_i_byggnad", "brand_ej_byggnad"}
        assert taxonomy.list_label("incident_types") == "händelsetyper"
        assert "incident_types" in taxonomy.reference_tables()
        assert taxonomy.allowed_values("concern_age_bands") == {"0-12", "13-17", "18-20"}  # a list inside a file
        with pytest.raises(KeyError, match="unknown reference list 'incident_typ'"):
            taxonomy.allowed_values("incident_typ")
    finally:
        taxonomy.code_list.cache_clear()
        taxonomy.allowed_values.cache_clear()


@pytest.mark.parametrize("old, new, where, message", [
    # a value of the wrong kind, with the line of its key
    ("{name: report_id, type: string, required: true", "{name: report_id, type: strng, required: true",
     "columns[0].type", "okänt värde 'strng'"),
    ("{name: report_id, type: string, required: true", "{name: report_id, type: string, required: [ja]",
     "columns[0].required", "ska vara true eller false"),
    # a required key missing: the line of the entry that lacks it
    ("{name: report_id, type: string, required: true", "{name: report_id, required: true",
     "columns[0].type", "obligatoriskt fält saknas"),
])
def test_a_contract_value_of_the_wrong_kind_names_file_line_and_field(tmp_path, monkeypatch, old, new, where, message):
    import shutil

    import sources.contract as contract
    from sources.contract import ContractError

    shutil.copytree(SOURCES_DIR / "crime_reports", tmp_path / "crime_reports")
    monkeypatch.setattr(contract, "SOURCES_DIR", tmp_path)
    load_contract.cache_clear()
    try:
        path = tmp_path / "crime_reports" / "contract.yaml"
        text = path.read_text(encoding="utf-8")
        line = next(i for i, t in enumerate(text.splitlines(), start=1) if "name: report_id" in t)
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(ContractError) as err:
            load_contract("crime_reports")
        assert f"contract.yaml, rad {line}, fält {where}: {message}" in str(err.value)
    finally:
        load_contract.cache_clear()


def _lines_of(node):
    """A read document with every mapping's line and its keys' lines, for comparing two loaders."""
    from sources.yamlfile import LineMap

    if isinstance(node, LineMap):
        return ("map", node.line, dict(node.key_lines), {k: _lines_of(v) for k, v in node.items()})
    if isinstance(node, list):
        return [_lines_of(v) for v in node]
    return node


def test_the_fast_yaml_loader_reads_every_shipped_file_and_error_as_the_pure_one(tmp_path):
    """Maintainers' YAML is read with libyaml's parser when installed; the values, each mapping's and key's line,
    and the messages for a duplicate key and broken YAML are those of PyYAML's pure-Python loader."""
    import yaml

    from sources.yamlfile import FileFormatError, _Loader, _PureLoader, read_mapping

    assert yaml.__with_libyaml__ and issubclass(_Loader, yaml.CSafeLoader)  # otherwise this compares a loader with itself
    repo = SOURCES_DIR.parent
    files = [p for p in sorted((repo / "data").rglob("*.yaml")) + sorted(SOURCES_DIR.rglob("*.yaml"))
             if isinstance(yaml.safe_load(p.read_text(encoding="utf-8")), dict)]
    assert len(files) > 20
    for path in files:
        fast, pure = read_mapping(path), read_mapping(path, _PureLoader)
        assert _lines_of(fast) == _lines_of(pure), path
    (tmp_path / "dubbel.yaml").write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    (tmp_path / "trasig.yaml").write_text("a: 1\nb: [2, 3\nc: 4\n", encoding="utf-8")
    for name, expected in (("dubbel.yaml", "rad 4, fält c: fältet finns två gånger"),
                           ("trasig.yaml", "filen är inte giltig YAML")):
        messages = set()
        for loader in (_Loader, _PureLoader):
            with pytest.raises(FileFormatError) as err:
                read_mapping(tmp_path / name, loader)
            messages.add(str(err.value))
        assert len(messages) == 1 and expected in messages.pop(), messages
