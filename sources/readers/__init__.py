"""Readers: any supported export file -> a frame of strings with the file's own headers and row numbers.

Detected, not assumed: gzip wrapping, encoding (UTF-8, UTF-8 with BOM, Windows-1252), delimiter (``,`` ``;``
tab ``|``), the header row below title rows, XLSX sheets, JSON arrays and Parquet. Every problem that stops a
whole file raises :class:`FileRejected` with a message a coordinator can act on.

This module picks the reader by content (:func:`read_file`) and streams large text files in chunks
(:func:`iter_file`); the formats live beside it: ``delimited.py`` (CSV and its detection), ``structured.py``
(Excel, JSON, GeoJSON, Parquet), ``common.py`` (FileRejected, RawTable, limits checked before the format is known).
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Iterable

import pandas as pd

from sources import limits as limits_config
from sources.readers.common import (UTF16_BOMS, FileRejected, HeaderMatcher, RawTable, control_share, decode_text,
                                    gunzip_bounded, looks_utf16, require_regular)
from sources.readers.delimited import (SCAN_LINES, Chain, LineGuard, dedupe_headers, delimiter_from_header,
                                       field_count_rejection, find_header, read_csv, sniff_delimiter)
from sources.readers.structured import read_json, read_parquet, read_xlsx


def read_file(path: Path, header_matcher: HeaderMatcher | None = None) -> RawTable:
    path = Path(path)
    limits = limits_config.load_limits()
    require_regular(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise FileRejected(path, f"filen kunde inte läsas ({exc.strerror}).", "Kontrollera sökvägen och behörigheten.")
    name = path.name.lower()
    if magic == b"\x1f\x8b":
        data = gunzip_bounded(path, limits.in_memory_bytes)
        if data is None:  # unpacks to more than fits in memory: read it in chunks from a temporary file
            return _whole(iter_file(path, header_matcher))
        name = name.removesuffix(".gz")
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileRejected(path, f"filen kunde inte läsas ({exc.strerror}).",
                               "Kontrollera sökvägen och behörigheten.")
    return _read_bytes(path, name, data, header_matcher)


def _whole(chunks: Iterable["RawTable"]) -> "RawTable":
    parts = list(chunks)
    if len(parts) == 1:
        return parts[0]
    return RawTable(frame=pd.concat([p.frame for p in parts], ignore_index=True),
                    row_numbers=pd.concat([p.row_numbers for p in parts], ignore_index=True),
                    format=parts[0].format, info=parts[0].info)


def _read_bytes(path: Path, name: str, data: bytes, header_matcher: HeaderMatcher | None) -> RawTable:
    limits = limits_config.load_limits()
    if not data.strip():
        raise FileRejected(path, "filen är tom.", "Exportera filen på nytt från källsystemet.")
    if data[:4] == b"PK\x03\x04":
        if name.endswith((".xlsx", ".xlsm")) or _is_xlsx(data):
            return read_xlsx(path, data, header_matcher)
        raise FileRejected(path, "filen är ett zip-arkiv, inte en export.", "Packa upp arkivet och lägg in filerna var för sig.")
    if data[:4] == b"PAR1":
        return read_parquet(path, data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRejected(path, "filen är i det gamla Excel-formatet (.xls).",
                           "Öppna den i Excel och spara som .xlsx eller CSV.")
    head = data[:8192]
    if looks_utf16(head):
        try:
            text = data.decode("utf-16") if head[:2] in UTF16_BOMS else data.decode(
                "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be")
            encoding = "utf-16"
        except UnicodeDecodeError as exc:
            raise FileRejected(path, "filen ser ut att vara sparad som UTF-16 men går inte att läsa.",
                               "Spara om filen som CSV UTF-8 (i Excel: \"CSV UTF-8 (kommaavgränsad)\").") from exc
        text = text.lstrip("\ufeff")
    else:
        if b"\x00" in head:
            raise FileRejected(path, "filen är inte en textfil (binärt innehåll).",
                               "Lägg in en CSV-, Excel- (.xlsx), JSON- eller Parquet-export.")
        text, encoding = decode_text(data)
    if control_share(text) > 0.01:
        raise FileRejected(path, "filen är inte en textfil (binärt innehåll).",
                           "Lägg in en CSV-, Excel- (.xlsx), JSON- eller Parquet-export.")
    stripped = text.lstrip()
    if name.endswith(".json") or stripped[:1] in ("[", "{"):
        return read_json(path, stripped, encoding)
    long_line = None
    if _longest_line_bytes(data) > limits.max_field_chars:  # bytes >= characters: only then look for the line
        long_line = re.search(r"[^\n]{%d}" % (limits.max_field_chars + 1), text)
    if long_line:
        line_no = text.count("\n", 0, long_line.start()) + 1
        raise FileRejected(path, f"en rad är längre än {limits.max_field_chars:,} tecken".replace(",", " ")
                           + " (gränsen i data/config/limits.yaml); filen är troligen trasig eller inte en export.",
                           "Kontrollera filen och exportera den på nytt.", row=line_no)
    return read_csv(path, text, encoding, header_matcher)


def _longest_line_bytes(data: bytes) -> int:
    """The longest line in bytes, counted in C (a regex over the whole text costs seconds on a large file)."""
    import numpy as np

    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    bounds = np.concatenate(([-1], newlines, [len(data)]))
    return int((np.diff(bounds) - 1).max())


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


CHUNK_BYTES = 64 * 1024 * 1024   # plain-text files at least this big are read in chunks (memory stays flat)


CHUNK_ROWS = 250_000


def _streamable_text(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(8192)
    if head[:2] == b"\x1f\x8b" or head[:4] in (b"PK\x03\x04", b"PAR1") or head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return False
    if b"\x00" in head or head.lstrip(b"\xef\xbb\xbf \r\n\t")[:1] in (b"[", b"{"):
        return False
    return True


def _stream_encoding(path: Path) -> str:
    """The file's encoding, decided on the whole file (as for small files) without holding it in memory."""
    import codecs

    with path.open("rb") as fh:
        if fh.read(3) == b"\xef\xbb\xbf":
            return "utf-8-sig"
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := fh.read(16 * 1024 * 1024):
                dec.decode(block)
            dec.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"


def iter_file(path: Path, header_matcher: HeaderMatcher | None = None, chunk_rows: int | None = None,
              chunk_bytes: int | None = None) -> Iterable[RawTable]:
    """The file as one or more :class:`RawTable` chunks with continuing row numbers.

    Small files and non-CSV formats come whole (``read_file``); a large CSV is streamed ``chunk_rows`` rows at a
    time so memory does not grow with the file. Detection (encoding, delimiter, header row) is the same.
    """
    path = Path(path)
    chunk_rows = chunk_rows or CHUNK_ROWS
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    require_regular(path)
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if gz:  # chunking is decided on the unpacked size: a small .gz can unpack to gigabytes
        import tempfile

        with tempfile.TemporaryDirectory(prefix="lagesbild-gunzip-") as tmp:
            target = Path(tmp) / path.name.removesuffix(".gz").removesuffix(".GZ")
            data = gunzip_bounded(path, chunk_bytes, target)
            if data is not None:
                yield _read_bytes(path, path.name.lower().removesuffix(".gz"), data, header_matcher)
                return
            try:
                yield from iter_file(target, header_matcher, chunk_rows, chunk_bytes)
            except FileRejected as exc:  # messages name the file the coordinator gave, not the temporary copy
                raise FileRejected(path, exc.what, exc.fix, exc.row, exc.column) from exc
        return
    size = path.stat().st_size
    if size < chunk_bytes or not _streamable_text(path):
        yield read_file(path, header_matcher)
        return
    encoding = _stream_encoding(path)
    limit = limits_config.load_limits().max_field_chars
    with path.open("r", encoding=encoding, newline="", errors="replace") as fh:
        lines = []
        for i in range(SCAN_LINES):
            line = fh.readline(limit + 2)  # bounded: a multi-gigabyte line is never held whole
            if not line:
                break
            if len(line) > limit and not line.endswith("\n"):
                raise FileRejected(path, f"en rad är längre än {limit:,} tecken".replace(",", " ")
                                   + " (gränsen i data/config/limits.yaml); filen är troligen trasig eller inte "
                                   "en export.", "Kontrollera filen och exportera den på nytt.", row=i + 1)
            lines.append(line)
        delimiter = delimiter_from_header(lines, header_matcher) or sniff_delimiter(lines)
        rows = list(csv.reader(lines, delimiter=delimiter))
        hidx = find_header(rows, header_matcher)
        headers = dedupe_headers(rows[hidx]) if rows else []
        if not any(headers):
            raise FileRejected(path, "filen saknar rubrikrad.", "Exportera med kolumnrubriker på första raden.")
        header_line = hidx + 1
        # the body: the scanned lines after the header, then the rest of the stream
        rest = io.StringIO("".join(lines[hidx + 1:]))
        body = LineGuard(Chain(rest, fh), limits_config.load_limits().max_field_chars, path, header_line)
        info = {"encoding": encoding, "delimiter": delimiter, "header_row": header_line, "chunked": True}
        reader = pd.read_csv(body, sep=delimiter, header=None, dtype=str, keep_default_na=False, na_filter=False,
                             skip_blank_lines=False, engine="c", quotechar='"', names=range(len(headers)),
                             index_col=False, chunksize=chunk_rows)
        start = header_line + 1
        produced = 0
        try:
            for frame in reader:
                frame.columns = headers
                row_numbers = pd.Series(range(start, start + len(frame)), index=frame.index, dtype="int64")
                start += len(frame)
                blank = (frame == "").all(axis=1)
                frame, row_numbers = frame[~blank], row_numbers[~blank]
                if frame.empty:
                    continue
                produced += len(frame)
                yield RawTable(frame=frame.reset_index(drop=True), row_numbers=row_numbers.reset_index(drop=True),
                               format="csv", info=info)
            if produced > limits_config.load_limits().max_rows:
                raise FileRejected(path, f"filen har fler än {limits_config.load_limits().max_rows:,} rader".replace(",", " ")
                                   + " (gränsen i data/config/limits.yaml).", "Dela upp exporten per år eller kommun.")
        except pd.errors.ParserError as exc:
            raise field_count_rejection(path, exc, header_line, len(headers), delimiter) from exc
        if not produced:
            raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                               "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)
