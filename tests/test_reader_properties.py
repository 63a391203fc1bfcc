"""Property tests (hypothesis) on the readers and the Swedish number parser."""
from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sources.coerce import _parse_number_written, parse_number
from sources.readers import read_file

LETTERS = "abcdefghijklmnopqrstuvwxyzåäöÅÄÖé0123456789 -_./:()"
DELIMS = [";", ",", "\t"]
ENCODINGS = [("utf-8", False), ("utf-8", True), ("cp1252", False)]


def _table(draw, alphabet: str):
    ncols = draw(st.integers(2, 6))
    headers = [f"Kolumn {i + 1}" for i in range(ncols)]
    cell = st.text(alphabet=alphabet, min_size=1, max_size=12).map(str.strip).filter(bool)
    rows = draw(st.lists(st.lists(cell, min_size=ncols, max_size=ncols), min_size=1, max_size=15))
    return headers, rows


def _write(path, headers, rows, delimiter, encoding, bom, titles):
    buf = io.StringIO()
    for t in titles:
        buf.write(t + "\r\n")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(headers)
    w.writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode(encoding))


settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("ci")


@given(data=st.data())
def test_any_cells_round_trip_when_a_profile_knows_the_header(tmp_path, data):
    """Cells may contain the other delimiters and quotes; the known header decides the dialect."""
    headers, rows = _table(data.draw, LETTERS + ";,\t\"")
    delimiter = data.draw(st.sampled_from(DELIMS))
    encoding, bom = data.draw(st.sampled_from(ENCODINGS))
    titles = data.draw(st.lists(st.sampled_from(["Brottsstatistik", "Uttag 2026-10-01", ""]), max_size=2))
    path = tmp_path / "f.csv"
    _write(path, headers, rows, delimiter, encoding, bom, titles)
    table = read_file(path, header_matcher=lambda cells: cells[:2] == headers[:2])
    assert table.headers == headers
    assert table.frame.astype(str).values.tolist() == rows
    assert table.info["delimiter"] == delimiter
    assert table.row_numbers.tolist() == list(range(len(titles) + 2, len(titles) + 2 + len(rows)))


@given(data=st.data())
def test_unambiguous_files_round_trip_without_a_profile(tmp_path, data):
    headers, rows = _table(data.draw, LETTERS)
    delimiter = data.draw(st.sampled_from(DELIMS))
    encoding, bom = data.draw(st.sampled_from(ENCODINGS))
    path = tmp_path / "f.csv"
    _write(path, headers, rows, delimiter, encoding, bom, [])
    table = read_file(path)
    assert table.headers == headers and table.frame.astype(str).values.tolist() == rows
    assert table.info["encoding"] == ("utf-8-sig" if bom else encoding) or (
        encoding == "cp1252" and table.info["encoding"] == "utf-8")  # pure ASCII is valid UTF-8 too


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
def test_swedish_number_formats_parse_back(value):
    x = float(value)
    plain = f"{x:.2f}"
    swedish = f"{x:,.2f}".replace(",", "\u00a0").replace(".", ",")
    spaced = swedish.replace("\u00a0", " ")
    parsed = parse_number(pd.Series([plain, swedish, spaced], dtype="string"))
    assert all(abs(p - x) < 1e-6 for p in parsed)


PLAIN = st.one_of(st.from_regex(r"\A[+-]?[0-9]{1,21}\Z"),  # 20+ digits: beyond int64
                  st.from_regex(r"\A[+-]?[0-9]{1,12}\.[0-9]{1,6}\Z"))
WRITTEN = st.sampled_from(["1 234", "1\u00a0234,5", "1.234,5", "\u22123", "12,0", " 7 ", "x", "1e3"])


@given(st.lists(st.one_of(PLAIN, st.none()), min_size=1, max_size=20), st.one_of(st.none(), WRITTEN))
def test_plainly_written_columns_parse_as_the_full_parse_would(cells, written):
    """A column of plain numbers skips the rewriting passes; one cell written otherwise (a space, comma, typographic
    minus, text) sends the whole column through them. Either way the values and the dtype are the full parse's."""
    column = pd.Series(cells + ([written] if written else []), dtype="string", name="Antal")
    fast, full = parse_number(column), _parse_number_written(column)
    pd.testing.assert_series_equal(fast, full)


def test_decimal_commas_do_not_fool_the_delimiter_detection(tmp_path):
    """More decimal commas than semicolons on every row: the header still decides."""
    path = tmp_path / "pop.csv"
    path.write_text("Kommunkod;Områdeskod;År;Ålder;Folkmängd\n" + "0486;0486-01;2024;0-17 år;1,5,2,5,3,5\n" * 3,
                    encoding="utf-8")
    table = read_file(path, header_matcher=lambda c: "Folkmängd" in c)
    assert table.info["delimiter"] == ";" and table.headers[-1] == "Folkmängd"


def test_whitespace_pattern_is_pythons_whitespace_spelt_out():
    """sources/contract.py spells Python's \\s out so pandas can run it in Arrow's engine: the same characters."""
    import re
    import sys

    from sources.contract import WHITESPACE

    every = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    assert [c for c in every if re.fullmatch(r"\s", c)] == [c for c in every if WHITESPACE.fullmatch(c)]
    # and a number with every kind of space between its digit groups parses
    spaced = pd.Series(["1\u00a0234", "1\u202f234", "1\u2009234", "1 234,5"], dtype="string")
    assert parse_number(spaced).tolist() == [1234.0, 1234.0, 1234.0, 1234.5]


def _pandas_parse(body: str, delimiter: str, width: int) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(body.encode("utf-8")), encoding="utf-8", sep=delimiter, header=None, dtype=str,
                       keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c", quotechar='"',
                       names=range(width), index_col=False)


# cells with what CSV bodies hold: text, spaces, tabs, NUL, non-BMP characters, the other delimiters, blank lines
BODY_CHARS = ["a", "é", " ", "\t", "x", "\x00", "0", "-", "\u00a0", "😀", ",", ";", "|"]


@settings(max_examples=300)
@given(st.data())
def test_arrows_parse_of_a_plain_body_is_pandas_parse(data):
    """The delimited reader lets Arrow's CSV reader parse a body without quotes or lone carriage returns
    (``sources/readers/delimited._arrow_frame``); the frame must be the one pandas' C parser gives: values,
    empty fields, blank lines, the text type and the index. A body Arrow does not read as the header's width on
    every line (None) goes to pandas, which words any rejection."""
    from sources.readers.delimited import _arrow_frame, _plain

    delimiter = data.draw(st.sampled_from(DELIMS))
    width = data.draw(st.integers(1, 5))
    cell = st.text(alphabet=[c for c in BODY_CHARS if c != delimiter], max_size=5)
    line = st.one_of(st.lists(cell, min_size=width, max_size=width).map(delimiter.join),
                     st.just(""), st.lists(cell, min_size=1, max_size=width + 1).map(delimiter.join))
    lines = data.draw(st.lists(line, min_size=1, max_size=8))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    body = newline.join(lines) + data.draw(st.sampled_from(["", newline]))
    assert _plain(body)
    frame = _arrow_frame(body.encode("utf-8"), delimiter, width)
    if frame is not None:
        expected = _pandas_parse(body, delimiter, width)
        assert frame.equals(expected) and frame.dtypes.equals(expected.dtypes) and frame.index.equals(expected.index)


def test_quotes_and_lone_carriage_returns_are_left_to_pandas():
    """Where the two parsers part: an unclosed quote (pandas rejects the file, Arrow would read a long field) and a
    line ended by a lone carriage return."""
    from sources.readers.delimited import _plain

    assert not _plain('a;"b\n')
    assert not _plain('"a";b\r\n')
    assert not _plain("a;b\rc;d\r")
    assert _plain("a;b\r\nc;d\n")
