"""A feed is its folder (#14): a new feed — fire-service call-outs, with a shipped code list of incident types —
takes files only (contract, profile, expectations, example, staging SQL, code list) and appears with its label and
freshness on the quality page. Done in a temporary copy of the project; no Python file is edited."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONTRACT = """feed: fire_callouts
title: Räddningstjänstens utryckningar (en utryckning per rad)
label: Räddningstjänstens utryckningar
freshness: {expected: varje månad, max_age_days: 40}
description: One row per call-out of the fire service.
natural_key: [callout_id]
revision_scope: [municipality_code]
period: {column: date, grain: month}
columns:
  - {name: callout_id, type: string, required: true, description: Ärendenummer}
  - {name: date, type: date, required: true, not_future: true, description: Datum}
  - {name: municipality_code, type: string, required: true, pad: 4, allowed_from: municipalities, description: Kommunkod}
  - {name: incident_type, type: string, required: true, allowed_from: incident_types, description: Händelsetyp}
"""
PROFILE = """name: utryckningar
feed: fire_callouts
title: Utryckningar med svenska rubriker
columns:
  callout_id: [Ärende]
  date: [Datum]
  municipality_code: [Kommunkod]
  incident_type: [Händelsetyp]
"""
SUITE = """table: staging.stg_fire_callouts
row_id: [callout_id]
expectations:
  - {type: expect_table_row_count_to_be_between, min_value: 1, severity: warn}
  - {type: expect_column_values_to_be_in_set, column: incident_type, value_set: {reference: incident_types}, severity: error}
"""
EXAMPLE = ("Ärende;Datum;Kommunkod;Händelsetyp\n"
           "U-1;2026-08-03;0486;brand_i_byggnad\n"
           "U-2;2026-08-09;0486;brand_ej_byggnad\n"
           "U-3;2026-08-11;0486;trafikolycka\n")
STAGING = """-- Fire-service call-outs: one row per call-out.
-- @materialized: view
with source as (
    select * from raw.fire_callouts
),

renamed as (
    select callout_id, date, municipality_code, incident_type, _sha256 as source_sha256
    from source
)

select * from renamed
"""
CODES = "incident_type,label\nbrand_i_byggnad,Brand i byggnad\nbrand_ej_byggnad,Brand ej i byggnad\n"


def test_a_new_feed_is_files_only(tmp_path):
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache", "site", "tests")
    shutil.copytree(ROOT, copy, ignore=ignore)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.py")}

    feed = copy / "sources" / "fire_callouts"
    (feed / "profiles").mkdir(parents=True)
    (feed / "contract.yaml").write_text(CONTRACT, encoding="utf-8")
    (feed / "profiles" / "utryckningar.yaml").write_text(PROFILE, encoding="utf-8")
    (feed / "expectations.yaml").write_text(SUITE, encoding="utf-8")
    (feed / "example.csv").write_text(EXAMPLE, encoding="utf-8")
    (copy / "models" / "staging" / "stg_fire_callouts.sql").write_text(STAGING, encoding="utf-8")
    (copy / "data" / "reference" / "incident_types.csv").write_text(CODES, encoding="utf-8")
    (copy / "data" / "reference" / "incident_types.yaml").write_text("label: händelsetyper\n", encoding="utf-8")

    env = {**os.environ, "PYTHONPATH": str(copy)}
    home = tmp_path / "home"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipelines.cli", "--home", str(home), *args], cwd=copy, env=env,
                              capture_output=True, text=True, timeout=900)

    r = cli("ingest", str(feed / "example.csv"), "--feed", "fire_callouts")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 rader, 1 i karantän" in r.stdout  # "trafikolycka" is not in the shipped code list
    r = cli("quarantine")
    assert "händelsetyper" in r.stdout, r.stdout  # the reason names the code list by its label
    r = cli("refresh")
    assert r.returncode == 0, r.stdout + r.stderr
    quality = next(p for p in (home / "site").glob("*.html") if "kvalitet" in p.name or "quality" in p.name)
    page = quality.read_text(encoding="utf-8")
    assert "Räddningstjänstens utryckningar" in page and "varje månad" in page
    assert {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*.py")} == before  # files only
