"""Delimited text (CSV, semicolon, tab, pipe): delimiter and header row detected from the file, not assumed; the
line guard and stream chain that let a large file be read in chunks."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import pandas as pd

from sources.readers.common import FileRejected, HeaderMatcher, RawTable, check_columns


DELIMITERS = [";", ",", "\t", "|"]


DELIMITER_NAMES = {";": "semikolon", ",": "komma", "\t": "tabb", "|": "lodstreck"}


SCAN_LINES = 60


def _split_lines(text: str, limit: int) -> list[str]:
    out = []
    for line in io.StringIO(text):
        out.append(line)
        if len(out) >= limit:
            break
    return out


def sniff_delimiter(lines: list[str]) -> str:
    best, best_score = ",", -1.0
    for d in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=d) if any(c.strip() for c in r)]
        if not counts:
            continue
        modal, freq = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        score = freq * 1000 + modal  # rows agreeing on a field count, then the wider split
        if score > best_score:
            best, best_score = d, score
    return best


def delimiter_from_header(lines: list[str], header_matcher: HeaderMatcher | None) -> str | None:
    """The delimiter under which a known profile recognises a header row (robust to decimal commas in data)."""
    if header_matcher is None:
        return None
    for d in DELIMITERS:
        if any(header_matcher([c.strip() for c in r]) for r in csv.reader(lines, delimiter=d) if len(r) > 1):
            return d
    return None


def find_header(rows: list[list[str]], header_matcher: HeaderMatcher | None) -> int:
    if header_matcher is not None:
        for i, r in enumerate(rows):
            if header_matcher([c.strip() for c in r]):
                return i
    widths = [sum(1 for c in r if c.strip()) for r in rows]
    if not widths:
        return 0
    target = Counter(w for w in widths if w > 0).most_common(1)[0][0]
    for i, w in enumerate(widths):
        if w >= target and w > 0:
            return i
    return 0


def dedupe_headers(headers: Iterable[str]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for h in headers:
        h = str(h).replace("\ufeff", "").strip()
        seen[h] += 1
        out.append(h if seen[h] == 1 else f"{h}.{seen[h] - 1}")
    return out


def read_csv(path: Path, text: str, encoding: str, header_matcher: HeaderMatcher | None) -> RawTable:
    lines = _split_lines(text, SCAN_LINES)
    delimiter = delimiter_from_header(lines, header_matcher) or sniff_delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    hidx = find_header(rows, header_matcher)
    # line number of the header: count physical lines before it (quoted newlines in title rows are rare)
    header_line = hidx + 1
    headers = dedupe_headers(rows[hidx]) if rows else []
    if not any(headers):
        raise FileRejected(path, "filen saknar rubrikrad.", "Exportera med kolumnrubriker på första raden.")
    check_columns(path, len(headers))
    # title rows and the header are physical lines kept with their line endings: the body starts after them
    body = text[sum(len(line) for line in lines[: hidx + 1]):]
    if not body.strip():
        raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                           "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)
    # handed over as UTF-8 bytes: from a text buffer pandas encodes the text again piece by piece (≈ 20 % of the
    # parse); the text was decoded strictly or with replacement characters, so it always encodes
    data = body.encode("utf-8")
    frame = _arrow_frame(data, delimiter, len(headers)) if _plain(body) else None
    if frame is None:
        try:
            frame = pd.read_csv(io.BytesIO(data), encoding="utf-8", sep=delimiter, header=None, dtype=str,
                                keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c",
                                quotechar='"', names=range(len(headers)), index_col=False)
        except pd.errors.ParserError as exc:
            raise field_count_rejection(path, exc, header_line, len(headers), delimiter) from exc
    frame.columns = headers
    row_numbers = pd.Series(range(header_line + 1, header_line + 1 + len(frame)), index=frame.index, dtype="int64")
    blank = (frame == "").all(axis=1)
    frame, row_numbers = frame[~blank], row_numbers[~blank]
    if frame.empty:
        raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                           "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)
    return RawTable(frame=frame.reset_index(drop=True), row_numbers=row_numbers.reset_index(drop=True),
                    format="csv", info={"encoding": encoding, "delimiter": delimiter, "header_row": header_line})


def _plain(body: str) -> bool:
    """No quote character and no line ended by a lone carriage return: the text both parsers read alike (with
    quotes, an unclosed one is a rejection for pandas and a long field for Arrow; a lone \\r is a line end for
    one and a malformed line for the other)."""
    return '"' not in body and body.count("\r") == body.count("\r\n")


def _arrow_frame(data: bytes, delimiter: str, width: int) -> pd.DataFrame | None:
    """A plain body (``_plain``: no quotes, so none are looked for) parsed by Arrow's CSV reader into the frame
    pandas' C parser gives for it (every value text as written, an empty field empty, pandas' Arrow-backed text
    type), ≈ 4 × faster than pandas' parser and its conversion of the parsed text to Arrow; None for anything Arrow
    does not read as ``width`` fields on every line (a short or long row, a blank line it will not read …): pandas'
    parser then reads it and words a rejection. Single-threaded: it runs in forked workers too.
    ``tests/test_reader_properties.py`` compares the two."""
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    text_type = pd.StringDtype("pyarrow", na_value=np.nan)
    frame = table.to_pandas(types_mapper={pa.string(): text_type}.get)
    frame.columns = range(width)
    return frame


def field_count_rejection(path: Path, exc: Exception, header_line: int, n_headers: int, delimiter: str
                           ) -> FileRejected:
    """pandas' "Expected N fields in line L" as a coordinator's message naming the file row."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    row = header_line + int(m.group(2)) if m else None
    what = f"raden har {m.group(3)} fält men rubrikraden har {n_headers}." if m else "raderna har olika antal fält."
    return FileRejected(path, what, f"Kontrollera att filen är avgränsad med {DELIMITER_NAMES[delimiter]} och att "
                        "textfält som innehåller avgränsaren står inom citattecken.", row=row)


class LineGuard(io.TextIOBase):
    """A text stream that refuses a line longer than ``limit`` characters while it is read (a 10 MB field in a large
    file is found without holding it)."""

    def __init__(self, inner, limit: int, path: Path, header_line: int):
        self._inner, self._limit, self._path, self._run, self._line = inner, limit, path, 0, header_line

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        chunk = self._inner.read(size)
        last = chunk.rfind("\n")
        if last < 0:
            self._run += len(chunk)
        else:
            first = chunk.find("\n")
            longest = max(self._run + first, max((len(x) for x in chunk[first + 1:last].split("\n")), default=0))
            if longest > self._limit:
                self._fail()
            self._line += chunk.count("\n")
            self._run = len(chunk) - last - 1
        if self._run > self._limit:
            self._fail()
        return chunk

    def _fail(self):
        limit = f"{self._limit:,}".replace(",", " ")
        raise FileRejected(self._path, f"en rad är längre än {limit} tecken (gränsen i data/config/limits.yaml); "
                           "filen är troligen trasig eller inte en export.",
                           "Kontrollera filen och exportera den på nytt.", row=self._line + 1)

    def readline(self, size: int = -1) -> str:
        return self.read(size) if size >= 0 else self._readline()

    def _readline(self) -> str:
        line = self._inner.readline()
        if len(line) > self._limit:
            self._fail()
        self._line += 1
        return line


class Chain(io.TextIOBase):
    """Two text streams read as one (the already-scanned head, then the open file)."""

    def __init__(self, first: io.StringIO, second):
        self._streams = [first, second]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        out = ""
        while self._streams and (size < 0 or len(out) < size):
            chunk = self._streams[0].read(-1 if size < 0 else size - len(out))
            if not chunk:
                self._streams.pop(0)
                continue
            out += chunk
        return out

    def readline(self, size: int = -1) -> str:
        while self._streams:
            line = self._streams[0].readline(size)
            if line:
                return line
            self._streams.pop(0)
        return ""
