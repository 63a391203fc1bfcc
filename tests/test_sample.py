"""The sample generator: deterministic bytes, realistic volumes, the quirks it promises."""
from __future__ import annotations

import hashlib
import zipfile
from datetime import date

import pandas as pd

from sources.sample import generate


def _digest(files: dict) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for paths in files.values() for p in paths}


def test_same_arguments_give_identical_bytes(tmp_path):
    a = generate(tmp_path / "a", first_year=2025, scale=0.05)
    b = generate(tmp_path / "b", first_year=2025, scale=0.05)
    assert _digest(a) == _digest(b)
    xlsx = a["survey_responses"][0]
    core = zipfile.ZipFile(xlsx).read("docProps/core.xml").decode()
    # openpyxl would stamp the time of saving; the generator pins it so a re-run is "already loaded"
    assert core.count("2026-01-01T00:00:00Z") == 2
    assert all(i.date_time == (2026, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(xlsx).infolist())


def test_workers_write_the_same_files_in_the_same_order_as_one_process(tmp_path, monkeypatch):
    """The parts of the sample written side by side by forked workers: the same files, bytes and listing order."""
    from sources.sample import WORKERS_ENV

    runs = {}
    for workers in ("0", "2"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        files = generate(tmp_path / workers, first_year=2025, scale=0.05, municipalities=("0486", "0484", "0181"))
        runs[workers] = [(feed, p.relative_to(tmp_path / workers).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
                         for feed, paths in files.items() for p in paths]
    assert runs["0"] == runs["2"]
    # the feeds in the order the generator has always listed them (Strängnäs's, then the Brå indicators)
    assert list(dict.fromkeys(feed for feed, *_ in runs["2"])) == [
        "areas", "population", "crime_reports", "concern_reports", "est_events", "survey_responses", "activity_log",
        "bra_indicators"]
    written = sorted(p.relative_to(tmp_path / "2").as_posix() for p in (tmp_path / "2").rglob("*") if p.is_file())
    assert written == sorted(path for _, path, _ in runs["2"])  # every file written is listed, once


def test_full_scale_volumes_are_those_of_a_municipality_of_39000(tmp_path):
    files = generate(tmp_path, first_year=2024, last=date(2025, 12, 31), scale=1.0)
    crime = pd.read_csv(files["crime_reports"][1], sep=";", dtype=str, encoding="utf-8-sig")
    assert 2800 <= crime["Antal brott"].astype(int).sum() <= 4200  # ≈ 3 000 crimes a year
    placeless = (crime["Områdeskod"].isna()).mean()
    assert 0.015 <= placeless <= 0.05  # ≈ 3 % cannot be placed
    est = pd.read_csv(files["est_events"][1], dtype=str)
    hours = pd.to_datetime(est["Tidpunkt"]).dt.hour
    gatherings = est["Underkategori"] == "Samling av personer"
    assert hours[gatherings].between(18, 23).mean() > 0.6  # evening pattern
    assert est["Plats"].value_counts().index[0] == "Övrig plats, Strängnäs tätort" or \
        est["Plats"].value_counts().iloc[0] > len(est) * 0.05  # hot spots stand out
    raw = files["concern_reports"][0].read_bytes()
    raw.decode("cp1252")  # Windows-1252, as many case systems export
    assert b"\xe5" in raw  # 'å' in Windows-1252


def test_eskilstuna_and_sodertalje_districts_fit_their_agreements_and_volumes(tmp_path):
    import yaml

    from sources.sample_more import SAMPLES

    files = generate(tmp_path, first_year=2025, last=date(2025, 12, 31), scale=1.0, municipalities=("0484", "0181"))
    assert set(files) == {"areas", "population", "crime_reports", "bra_indicators"}   # Strängnäs's feeds not written
    import json

    areas = pd.DataFrame([f["properties"] for p in files["areas"]
                          for f in json.loads(p.read_text(encoding="utf-8"))["features"]])
    # Södertälje's lägesbild areas are its agreement's focus places (read from the agreement here)
    from tests.conftest import REPO

    doc = yaml.safe_load((REPO / "data" / "agreements" / "sodertalje-2023-2026.yaml").read_text(encoding="utf-8"))
    places = {p["name"] for p in doc["focus_places"]}
    assert places <= set(areas.loc[areas.Kommunkod == "0181", "Områdesnamn"])
    assert {"Skiftinge", "Fröslunda", "Årby"} <= set(areas.loc[areas.Kommunkod == "0484", "Områdesnamn"])
    for code in ("0484", "0181"):
        [path] = [p for p in files["crime_reports"] if f"_{code}_2025" in p.name]
        crime = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
        expected = SAMPLES[code].crimes_per_year
        assert 0.85 * expected <= len(crime) <= 1.15 * expected, code   # Poisson months around the yearly volume
        assert set(crime.Kommunkod) == {code} and crime.Diarienummer.is_unique
