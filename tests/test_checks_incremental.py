"""Uniqueness over a whole table, checked incrementally (pipelines/checks/uniqueness.py): after files are added
only the keys they carry are counted again, and the totals equal a full check's; a removed file means a full check."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.checks import uniqueness
from sources.meta import ensure_meta

EXP = "expect_compound_columns_to_be_unique"


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_meta(c)
    c.execute("CREATE SCHEMA staging")
    c.execute("CREATE TABLE staging.t (source_sha256 VARCHAR, a INTEGER, b VARCHAR)")
    yield c
    c.close()


def _add(con, sha: str, keys: list[tuple]) -> None:
    con.executemany("INSERT INTO staging.t VALUES (?, ?, ?)", [[sha, a, b] for a, b in keys])


def _files(con) -> list[tuple[str, int]]:
    return [(s, int(n)) for s, n in con.execute("SELECT source_sha256, count(*) FROM staging.t GROUP BY 1").fetchall()]


def _check(con, stored: bool = True):
    n_dup, elements, groups, how, state = uniqueness.check(con, "staging.t", ["a", "b"], "f", "error", EXP,
                                                           _files(con), 10)
    if stored:
        uniqueness.save(con, "f", "error", [state])
    return n_dup, elements, [tuple(g) for g in groups], how


def _full(con):
    """The same check with no stored state (what a full check finds)."""
    saved = con.execute("SELECT * FROM meta.check_state").fetchall()
    con.execute("DELETE FROM meta.check_state")
    result = _check(con, stored=False)
    con.executemany("INSERT INTO meta.check_state VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", saved)
    assert result[3] == uniqueness.FULL
    return result[:3]


def test_added_files_update_the_totals_a_full_check_would_give(con):
    _add(con, "f1", [(1, "x"), (2, "x"), (2, "x")])
    assert _check(con) == (2, 3, [(2, "x", 2)], uniqueness.FULL)
    # (2, x) had 2 rows and gets a third; (3, x) is new twice: 2 - 2 + 3 + 2 = 5 duplicated rows, 3 + 4 with a key
    _add(con, "f2", [(2, "x"), (3, "x"), (3, "x"), (4, "x")])
    assert _check(con) == (5, 7, [(2, "x", 3), (3, "x", 2)], uniqueness.INCREMENTAL)
    assert _full(con) == (5, 7, [(2, "x", 3), (3, "x", 2)])
    assert _check(con)[3] == uniqueness.UNCHANGED
    # a new key once adds nothing; a key seen once before, now twice, adds both rows: 5 + 2 = 7
    _add(con, "f3", [(5, "x"), (1, "x")])
    assert _check(con) == (7, 9, [(2, "x", 3), (1, "x", 2), (3, "x", 2)], uniqueness.INCREMENTAL)
    # an empty key column groups with empty (two rows); a row whose whole key is empty is not compared; ties are
    # listed by key as text ("3" before "None")
    _add(con, "f4", [(None, "x"), (None, "x"), (None, None)])
    assert _check(con) == (9, 11, [(2, "x", 3), (1, "x", 2), (3, "x", 2), (None, "x", 2)], uniqueness.INCREMENTAL)
    assert _full(con) == (9, 11, [(2, "x", 3), (1, "x", 2), (3, "x", 2), (None, "x", 2)])


def test_a_removed_or_changed_file_means_a_full_check(con):
    _add(con, "f1", [(1, "x"), (2, "x"), (2, "x")])
    _add(con, "f2", [(2, "x"), (3, "x")])
    assert _check(con) == (3, 5, [(2, "x", 3)], uniqueness.FULL)
    con.execute("DELETE FROM staging.t WHERE source_sha256 = 'f1'")   # a revision replaced f1
    assert _check(con) == (0, 2, [], uniqueness.FULL)
    _add(con, "f2", [(3, "x")])                                        # f2 now has 3 rows, not 2: changed
    assert _check(con) == (2, 3, [(3, "x", 2)], uniqueness.FULL)


def test_only_the_most_duplicated_groups_are_kept_and_stay_right_after_an_increment(con):
    _add(con, "f1", [(k, "x") for k in range(1, 13) for _ in range(2)])      # 12 keys twice
    n_dup, elements, groups, how = _check(con)
    assert (n_dup, elements, len(groups), how) == (24, 24, 10, uniqueness.FULL)
    _add(con, "f2", [(12, "x"), (12, "x"), (11, "x")])                       # 12 now 4 times, 11 three times
    n_dup, elements, groups, how = _check(con)
    assert (n_dup, elements, how) == (27, 27, uniqueness.INCREMENTAL)
    assert groups[:2] == [(12, "x", 4), (11, "x", 3)] and (groups, n_dup, elements) == (_full(con)[2], *_full(con)[:2])


# the plausible-volume check's monthly counts, kept per file (pipelines/checks/monthly.py)
VOLUME = {"type": "lagesbild_expect_plausible_volume", "column": "d", "count_column": "n", "group_by": "m",
          "window": 3, "max_factor": 2, "severity": "warn"}


@pytest.fixture
def vcon(tmp_path):
    c = duckdb.connect(str(tmp_path / "v.duckdb"))
    ensure_meta(c)
    c.execute("CREATE SCHEMA raw")
    c.execute("CREATE SCHEMA staging")
    c.execute("CREATE TABLE raw.v (source_sha256 VARCHAR, m VARCHAR, d DATE, n INTEGER)")
    c.execute("CREATE VIEW staging.v AS SELECT * FROM raw.v")
    yield c
    c.close()


def _volume(con, by_file: bool = True):
    from pipelines.checks.evaluation import _table_level
    from sources.expectations import Suite

    files = [(s, int(n)) for s, n in con.execute("SELECT source_sha256, count(*) FROM staging.v GROUP BY 1")
             .fetchall()] if by_file else None
    [o] = _table_level(con, Suite(feed="f", table="staging.v", row_id=[], expectations=[]), [VOLUME], files, [])
    return o.success, o.unexpected_count, o.element_count, o.rows


def test_monthly_counts_are_kept_per_file_and_sum_to_what_the_whole_table_gives(vcon):
    rows = [("f1", m, f"2024-0{k}-{day:02d}", 5) for m in "AB" for k in (1, 2, 3) for day in (3, 17)]  # 10 a month
    rows += [("f2", "A", "2024-04-02", 25), ("f2", "B", "2024-04-09", 20), ("f2", "B", None, 7)]
    vcon.executemany("INSERT INTO raw.v VALUES (?, ?, ?, ?)", rows)
    # by hand: A's April 25 is more than 2 × the median 10 of its three months before; B's 20 is 2 ×: at the factor
    want = (False, 1, 2, ["A: 2024-04 = 25 mot median 10 för de 3 månaderna före"])
    assert _volume(vcon) == _volume(vcon, by_file=False) == want
    kept = vcon.execute("SELECT file, count(*) FROM meta.check_monthly GROUP BY 1 ORDER BY 1").fetchall()
    assert kept == [("f1:12", 7), ("f2:3", 3)]  # 2 groups × 3 months + the file's own row, 2 × 1 + 1
    # f1's rows changed in place (same row count): the kept counts are used, not the table's rows
    vcon.execute("UPDATE raw.v SET n = 50 WHERE source_sha256 = 'f1' AND m = 'B'")
    assert _volume(vcon) == want
    assert _volume(vcon, by_file=False) == (False, 2, 2, [  # B's 20 against its median 100 now
        "A: 2024-04 = 25 mot median 10 för de 3 månaderna före", "B: 2024-04 = 20 mot median 100 för de 3 månaderna före"])
    # a changed staging model counts every file again
    vcon.execute("CREATE OR REPLACE VIEW staging.v AS SELECT source_sha256, m, d, n FROM raw.v")
    assert _volume(vcon) == _volume(vcon, by_file=False)
    # a revision removed a row of f1 (its row count changed) and f2 is gone: counted again, f2's counts dropped
    vcon.execute("DELETE FROM raw.v WHERE source_sha256 = 'f1' AND m = 'A' AND d = '2024-01-03'")
    vcon.execute("DELETE FROM raw.v WHERE source_sha256 = 'f2'")
    assert _volume(vcon) == _volume(vcon, by_file=False) == (True, 0, 0, [])  # three months each: too few to judge
    assert [r[0] for r in vcon.execute("SELECT DISTINCT file FROM meta.check_monthly").fetchall()] == ["f1:11"]
