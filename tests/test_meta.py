"""The warehouse bookkeeping module (sources/meta.py) and the model runner's ``-- @partitioned`` directive."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.models import Model, ModelError, build_model
from sources.meta import code_state, ensure_meta, registered, save_code_state, transaction


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_transaction_commits_at_the_end_and_rolls_back_on_an_error(con):
    con.execute("CREATE TABLE t (x INTEGER)")
    with transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (2)")
            1 / 0
    assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
    # the connection is usable again: no transaction left open
    with transaction(con):
        con.execute("INSERT INTO t VALUES (3)")
    assert con.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (3,)]


def test_registered_frame_is_gone_after_the_block_even_on_error(con):
    with pytest.raises(KeyError):
        with registered(con, "_f", pd.DataFrame({"a": [1, 2]})):
            assert con.execute("SELECT sum(a) FROM _f").fetchall() == [(3,)]
            raise KeyError("x")
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM _f").fetchall()


def test_code_state_is_one_row_of_its_own_table(con):
    ensure_meta(con)
    assert code_state(con) is None
    save_code_state(con, "abc", 4)
    save_code_state(con, "def", 7)
    assert code_state(con) == ("def", 7)
    assert con.execute("SELECT count(*) FROM meta.code_state").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM meta.model_state").fetchall() == [(0,)]


def test_code_state_of_an_older_warehouse_is_moved_out_of_model_state(con):
    con.execute("CREATE SCHEMA meta")
    con.execute("CREATE TABLE meta.model_state (model VARCHAR PRIMARY KEY, code_version VARCHAR NOT NULL, "
                "pending_done BIGINT NOT NULL, built_at TIMESTAMP NOT NULL)")
    con.execute("INSERT INTO meta.model_state VALUES ('(code and configuration)', 'old', 3, now()::timestamp), "
                "('marts.x', 'v1', 2, now()::timestamp)")
    ensure_meta(con)
    assert con.execute("SELECT model FROM meta.model_state").fetchall() == [("marts.x",)]
    assert code_state(con) is None  # unknown: the next refresh runs everything


def test_only_missing_meta_tables_are_created_and_rows_are_kept(con):
    """ensure_meta issues only the missing statements (one catalogue query first): on an empty warehouse the 12
    meta tables; with two dropped, those two again, the rows of the others untouched; a second call changes nothing."""
    def tables():
        return sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'meta'")
                      .fetchall())

    ensure_meta(con)
    every = ["check_batches", "check_monthly", "check_results", "check_state", "code_state", "file_stats", "files", "loads",
             "model_state", "pending_partitions", "quarantine", "revisions"]  # the CREATE TABLEs of META_DDL
    assert tables() == every
    con.execute("INSERT INTO meta.loads VALUES (1, 'crime_reports', 'abc', now()::timestamp)")
    con.execute("DROP TABLE meta.quarantine")
    con.execute("DROP TABLE meta.code_state")
    ensure_meta(con)
    assert tables() == every
    ensure_meta(con)
    assert con.execute("SELECT seq, sha256 FROM meta.loads").fetchall() == [(1, "abc")]
    assert con.execute("SELECT count(*) FROM meta.quarantine").fetchall() == [(0,)]


def _model(tmp_path, directive: str) -> Model:
    path = tmp_path / "per_period.sql"
    path.write_text(f"-- counts per municipality and quarter\n-- @partitioned: {directive}\n"
                    "SELECT municipality_code, year, quarter, sum(n) AS n FROM raw.src GROUP BY ALL\n", encoding="utf-8")
    return Model("marts", "per_period", path)


def _counts(con) -> dict:
    return {(r[0], r[1], r[2]): r[3] for r in con.execute("SELECT * FROM marts.per_period").fetchall()}


@pytest.mark.parametrize("directive, rebuilt", [
    # the whole year 2026 of 0486 is one partition: both its quarters are rebuilt, 0484 is not
    ("municipality_code, year", {("0486", 2026, 1): 10, ("0486", 2026, 3): 30, ("0484", 2026, 3): 5}),
    # one quarter of 0486 only
    ("municipality_code, year, quarter", {("0486", 2026, 1): 1, ("0486", 2026, 3): 30, ("0484", 2026, 3): 5}),
])
def test_partitioned_directive_decides_what_a_partition_is(con, tmp_path, directive, rebuilt):
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.src AS SELECT * FROM (VALUES ('0486', 2026, 1, 1), ('0486', 2026, 3, 3), "
                "('0484', 2026, 3, 5)) t(municipality_code, year, quarter, n)")
    model = _model(tmp_path, directive)
    every = pd.DataFrame({"municipality_code": ["0486", "0486", "0484"], "year": [2026] * 3, "quarter": [1, 3, 3]})
    assert build_model(con, model, keys=every).mode == "partitions"
    assert _counts(con) == {("0486", 2026, 1): 1, ("0486", 2026, 3): 3, ("0484", 2026, 3): 5}
    # every source row changes; only the partition of (0486, 2026, Q3) is rebuilt
    con.execute("UPDATE raw.src SET n = n * 10 WHERE municipality_code = '0486'")
    con.execute("UPDATE raw.src SET n = n * 100 WHERE municipality_code = '0484'")
    build_model(con, model, keys=pd.DataFrame({"municipality_code": ["0486"], "year": [2026], "quarter": [3]}))
    assert _counts(con) == rebuilt


@pytest.mark.parametrize("directive", ["kommun, year", "", "year, year"])
def test_a_wrong_partitioned_directive_names_the_file(tmp_path, directive):
    with pytest.raises(ModelError, match=r"models/marts/per_period\.sql: `-- @partitioned:`"):
        _model(tmp_path, directive).partition_columns
