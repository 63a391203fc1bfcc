"""Readers: any supported export file -> a frame of strings with the file's own headers and row numbers.

Detected, not assumed: gzip wrapping, encoding (UTF-8, UTF-8 with BOM, Windows-1252), delimiter (``,`` ``;``
tab ``|``), the header row below title rows, XLSX sheets, JSON arrays and Parquet. Every problem that stops a
whole file raises :class:`FileRejected` with a message a coordinator can act on.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from sources.limits import human_bytes, load_limits

DELIMITERS = [";", ",", "\t", "|"]
DELIMITER_NAMES = {";": "semikolon", ",": "komma", "\t": "tabb", "|": "lodstreck"}
SCAN_LINES = 60


class FileRejected(Exception):
    """A whole file cannot be loaded. ``str(exc)`` is written for a coordinator."""

    def __init__(self, path: Path | str, what: str, fix: str, row: int | None = None, column: str | None = None):
        self.path, self.what, self.fix, self.row, self.column = str(path), what, fix, row, column
        where = ""
        if row is not None:
            where += f", rad {row}"
        if column is not None:
            where += f", kolumn \"{column}\""
        from sources.privacy import mask_text  # the message is shown and stored: no personnummer in it, ever

        super().__init__(mask_text(f"{Path(self.path).name}{where}: {what} Åtgärd: {fix}"))


@dataclass
class RawTable:
    frame: pd.DataFrame            # string cells, the file's own header names
    row_numbers: pd.Series         # 1-based row number in the file (header row counted) or record number
    format: str
    info: dict = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


# A header matcher tells whether a list of cells looks like the header the caller expects (profile-guided).
HeaderMatcher = Callable[[list[str]], bool]


def read_file(path: Path, header_matcher: HeaderMatcher | None = None) -> RawTable:
    path = Path(path)
    limits = load_limits()
    _require_regular(path)
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


def _require_regular(path: Path) -> None:
    """Only regular files are read: a FIFO, device or socket named on the command line would block or never end."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise FileRejected(path, f"filen kunde inte läsas ({exc.strerror}).", "Kontrollera sökvägen och behörigheten.")
    if not stat.S_ISREG(mode):
        raise FileRejected(path, "det här är ingen vanlig fil (t.ex. en namngiven pipe eller en enhet) och läses inte.",
                           "Ange en exportfil (CSV, Excel, JSON, Parquet).")


def gunzip_bounded(path: Path, in_memory: int, target: Path | None = None) -> bytes | None:
    """Unpack a gzip file without ever holding more than ``in_memory`` bytes of it, refusing more than the configured
    maximum. Returns the bytes when they fit in memory; otherwise writes them to ``target`` (when given) and returns
    None. Decided on decompressed bytes, not on the size on disk."""
    import zlib

    limits = load_limits()
    out = io.BytesIO()
    total = 0
    sink = None
    try:
        with path.open("rb") as fh:
            dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                block = fh.read(1024 * 1024)
                if not block:
                    break
                while block:
                    piece = dec.decompress(block, 8 * 1024 * 1024)
                    block = dec.unconsumed_tail
                    total += len(piece)
                    if total > limits.max_decompressed_bytes:
                        raise FileRejected(path, f"den packade filen blir större än {human_bytes(limits.max_decompressed_bytes)} "
                                           "uppackad (gränsen i data/config/limits.yaml).",
                                           "Kontrollera filen; dela upp stora exporter per år eller kommun.")
                    if sink is None and total > in_memory:
                        if target is None:
                            return None
                        sink = target.open("wb")
                        sink.write(out.getvalue())
                        out = None
                    if sink is not None:
                        sink.write(piece)
                    else:
                        out.write(piece)
            if not dec.eof:
                raise FileRejected(path, "filen ser ut att vara gzip-komprimerad men är trasig.",
                                   "Packa upp filen själv eller hämta den på nytt.")
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected(path, "filen ser ut att vara gzip-komprimerad men är trasig.",
                           "Packa upp filen själv eller hämta den på nytt.") from exc
    finally:
        if sink is not None:
            sink.close()
    return None if sink is not None else out.getvalue()


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _looks_utf16(head: bytes) -> bool:
    if head[:2] in UTF16_BOMS:
        return True
    # no BOM: every other byte NUL in text of Latin letters
    pairs = head[:512]
    return len(pairs) >= 8 and (pairs[1::2].count(0) > 0.9 * (len(pairs) // 2)
                                or pairs[0::2].count(0) > 0.9 * (len(pairs) // 2))


def _control_share(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f") or 0x7f <= ord(ch) < 0xa0)
    return controls / len(sample)


def _read_bytes(path: Path, name: str, data: bytes, header_matcher: HeaderMatcher | None) -> RawTable:
    limits = load_limits()
    if not data.strip():
        raise FileRejected(path, "filen är tom.", "Exportera filen på nytt från källsystemet.")
    if data[:4] == b"PK\x03\x04":
        if name.endswith((".xlsx", ".xlsm")) or _is_xlsx(data):
            return _read_xlsx(path, data, header_matcher)
        raise FileRejected(path, "filen är ett zip-arkiv, inte en export.", "Packa upp arkivet och lägg in filerna var för sig.")
    if data[:4] == b"PAR1":
        return _read_parquet(path, data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRejected(path, "filen är i det gamla Excel-formatet (.xls).",
                           "Öppna den i Excel och spara som .xlsx eller CSV.")
    head = data[:8192]
    if _looks_utf16(head):
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
    if _control_share(text) > 0.01:
        raise FileRejected(path, "filen är inte en textfil (binärt innehåll).",
                           "Lägg in en CSV-, Excel- (.xlsx), JSON- eller Parquet-export.")
    stripped = text.lstrip()
    if name.endswith(".json") or stripped[:1] in ("[", "{"):
        return _read_json(path, stripped, encoding)
    long_line = re.search(r"[^\n]{%d}" % (limits.max_field_chars + 1), text)
    if long_line:
        line_no = text.count("\n", 0, long_line.start()) + 1
        raise FileRejected(path, f"en rad är längre än {limits.max_field_chars:,} tecken".replace(",", " ")
                           + " (gränsen i data/config/limits.yaml); filen är troligen trasig eller inte en export.",
                           "Kontrollera filen och exportera den på nytt.", row=line_no)
    return _read_csv(path, text, encoding, header_matcher)


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


def decode_text(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _check_columns(path: Path, n: int) -> None:
    limit = load_limits().max_columns
    if n > limit:
        raise FileRejected(path, f"filen har {n} kolumner; högst {limit} tas emot (gränsen i data/config/limits.yaml).",
                           "Exportera bara de kolumner flödet behöver.")


def json_depth(doc) -> int:
    """Nesting depth of a parsed JSON document, without recursion."""
    depth, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            depth = max(depth, d)
            stack.extend((v, d + 1) for v in node)
    return depth


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


def _delimiter_from_header(lines: list[str], header_matcher: HeaderMatcher | None) -> str | None:
    """The delimiter under which a known profile recognises a header row (robust to decimal commas in data)."""
    if header_matcher is None:
        return None
    for d in DELIMITERS:
        if any(header_matcher([c.strip() for c in r]) for r in csv.reader(lines, delimiter=d) if len(r) > 1):
            return d
    return None


def _find_header(rows: list[list[str]], header_matcher: HeaderMatcher | None) -> int:
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


def _dedupe(headers: Iterable[str]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for h in headers:
        h = str(h).replace("\ufeff", "").strip()
        seen[h] += 1
        out.append(h if seen[h] == 1 else f"{h}.{seen[h] - 1}")
    return out


def _read_csv(path: Path, text: str, encoding: str, header_matcher: HeaderMatcher | None) -> RawTable:
    lines = _split_lines(text, SCAN_LINES)
    delimiter = _delimiter_from_header(lines, header_matcher) or sniff_delimiter(lines)
    rows = list(csv.reader(lines, delimiter=delimiter))
    hidx = _find_header(rows, header_matcher)
    # line number of the header: count physical lines before it (quoted newlines in title rows are rare)
    header_line = hidx + 1
    headers = _dedupe(rows[hidx]) if rows else []
    if not any(headers):
        raise FileRejected(path, "filen saknar rubrikrad.", "Exportera med kolumnrubriker på första raden.")
    _check_columns(path, len(headers))
    # title rows and the header are physical lines kept with their line endings: the body starts after them
    body = text[sum(len(line) for line in lines[: hidx + 1]):]
    if not body.strip():
        raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                           "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)
    try:
        frame = pd.read_csv(io.StringIO(body), sep=delimiter, header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, engine="c", quotechar='"',
                            names=range(len(headers)), index_col=False)
    except pd.errors.ParserError as exc:
        raise _field_count_rejection(path, exc, header_line, len(headers), delimiter) from exc
    frame.columns = headers
    row_numbers = pd.Series(range(header_line + 1, header_line + 1 + len(frame)), index=frame.index, dtype="int64")
    blank = (frame == "").all(axis=1)
    frame, row_numbers = frame[~blank], row_numbers[~blank]
    if frame.empty:
        raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                           "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)
    return RawTable(frame=frame.reset_index(drop=True), row_numbers=row_numbers.reset_index(drop=True),
                    format="csv", info={"encoding": encoding, "delimiter": delimiter, "header_row": header_line})


def _field_count_rejection(path: Path, exc: Exception, header_line: int, n_headers: int, delimiter: str
                           ) -> FileRejected:
    """pandas' "Expected N fields in line L" as a coordinator's message naming the file row."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    row = header_line + int(m.group(2)) if m else None
    what = f"raden har {m.group(3)} fält men rubrikraden har {n_headers}." if m else "raderna har olika antal fält."
    return FileRejected(path, what, f"Kontrollera att filen är avgränsad med {DELIMITER_NAMES[delimiter]} och att "
                        "textfält som innehåller avgränsaren står inom citattecken.", row=row)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour or v.minute or v.second) else v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def _read_xlsx(path: Path, data: bytes, header_matcher: HeaderMatcher | None) -> RawTable:
    from openpyxl import load_workbook  # imported lazily: only needed for Excel files

    limits = load_limits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRejected(path, "Excel-filen kunde inte öppnas.", "Öppna och spara om filen i Excel (.xlsx).") from exc
    if unpacked > limits.max_decompressed_bytes:
        raise FileRejected(path, f"Excel-filen blir större än {human_bytes(limits.max_decompressed_bytes)} uppackad "
                           "(gränsen i data/config/limits.yaml).", "Exportera som CSV eller dela upp filen.")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise FileRejected(path, "Excel-filen kunde inte öppnas.", "Öppna och spara om filen i Excel (.xlsx).") from exc
    candidates = []
    for ws in wb.worksheets:
        rows = _sheet_rows(path, ws, limits)
        if not any(any(c.strip() for c in r) for r in rows):
            continue
        head = rows[:SCAN_LINES]
        matched = header_matcher is not None and any(header_matcher([c.strip() for c in r]) for r in head)
        candidates.append((matched, ws.title, rows))
    wb.close()
    if not candidates:
        raise FileRejected(path, "Excel-filen är tom.", "Exportera filen på nytt från källsystemet.")
    chosen = next((c for c in candidates if c[0]), candidates[0])
    _, sheet, rows = chosen
    hidx = _find_header(rows[:SCAN_LINES], header_matcher)
    width = max(len(r) for r in rows)
    headers = _dedupe((rows[hidx] + [""] * width)[:width])
    body = [(i + 1, (r + [""] * width)[:width]) for i, r in enumerate(rows) if i > hidx]
    body = [(n, r) for n, r in body if any(c.strip() for c in r)]
    if not body:
        raise FileRejected(path, f"bladet \"{sheet}\" innehåller bara rubriker, inga datarader.",
                           "Kontrollera att exporten inte blev tom.", row=hidx + 1)
    keep = [i for i, h in enumerate(headers) if h]
    frame = pd.DataFrame([[r[i] for i in keep] for _, r in body], columns=[headers[i] for i in keep], dtype="string")
    return RawTable(frame=frame, row_numbers=pd.Series([n for n, _ in body], dtype="int64"), format="xlsx",
                    info={"sheet": sheet, "header_row": hidx + 1, "sheets": [c[1] for c in candidates]})


def _sheet_rows(path: Path, ws, limits) -> list[list[str]]:
    """A sheet's rows as text, ignoring the sheet's own claim of its size (a 1,7 kB file can claim A1:XFD1048576,
    and read-only openpyxl pads every row to it): rows are read as they are stored, trailing empty cells dropped,
    and the configured row, column and cell limits are enforced while reading."""
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    rows, cells = [], 0
    for r in ws.iter_rows(values_only=True):
        values = list(r)
        while values and (values[-1] is None or values[-1] == ""):
            values.pop()
        if len(values) > limits.max_columns:
            raise FileRejected(path, f"bladet \"{ws.title}\" har fler än {limits.max_columns} kolumner med innehåll "
                               "(gränsen i data/config/limits.yaml).", "Exportera bara de kolumner flödet behöver.",
                               row=len(rows) + 1)
        rows.append([_cell_text(c) for c in values])
        cells += len(values)
        if len(rows) > limits.max_rows or cells > limits.max_xlsx_cells:
            raise FileRejected(path, f"bladet \"{ws.title}\" är för stort (gränserna i data/config/limits.yaml).",
                               "Exportera som CSV eller dela upp filen.")
        if any(len(c) > limits.max_field_chars for c in rows[-1]):
            raise FileRejected(path, f"en cell är längre än {limits.max_field_chars} tecken (gränsen i "
                               "data/config/limits.yaml).", "Kontrollera filen och exportera den på nytt.",
                               row=len(rows))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    return rows


def _read_json(path: Path, text: str, encoding: str) -> RawTable:
    limit = load_limits().max_json_depth
    too_deep = FileRejected(path, f"JSON-filen är nästlad i fler än {limit} nivåer (gränsen i "
                            "data/config/limits.yaml); den är troligen trasig eller inte en export.",
                            "Kontrollera filen och hämta den på nytt.")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(path, f"JSON-filen är trasig eller avklippt (fel vid tecken {exc.colno}).",
                           "Hämta filen på nytt.", row=exc.lineno) from exc
    except RecursionError as exc:
        raise too_deep from exc
    if json_depth(doc) > limit:
        raise too_deep
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        return _read_geojson(path, doc, encoding)
    records = doc
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        records = lists[0] if lists else [doc]
    if not isinstance(records, list) or not records:
        raise FileRejected(path, "JSON-filen innehåller inga poster.", "Kontrollera att exporten inte blev tom.")
    if not all(isinstance(r, dict) for r in records):
        raise FileRejected(path, "JSON-filen är inte en lista med poster.", "Använd en export där varje post är ett objekt.")
    info = {"encoding": encoding, "records": len(records)}
    nested = [k for k, v in records[0].items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if len(nested) == 1 and all(isinstance(r.get(nested[0]), list) for r in records):
        # one nested list of records per item (e.g. an event's versions): one row per nested record
        key = nested[0]
        meta = [k for k, v in records[0].items() if k != key and not isinstance(v, (list, dict))]
        frame = pd.json_normalize(records, record_path=key, meta=meta, meta_prefix="parent.", sep=".")
        info["exploded"] = key
    else:
        frame = pd.json_normalize(records, sep=".")
    frame = frame.apply(lambda s: s.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                                        else (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else _cell_text(v))))
    return RawTable(frame=frame.astype("string"), row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"),
                    format="json", info=info)


def _read_geojson(path: Path, doc: dict, encoding: str) -> RawTable:
    from sources.geo import centroid, sweref99tm_to_wgs84

    features = doc.get("features") or []
    if not features:
        raise FileRejected(path, "GeoJSON-filen innehåller inga områden (features).", "Kontrollera exporten.")
    crs = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    projected = "3006" in crs
    if crs and not projected and "4326" not in crs and "CRS84" not in crs:
        raise FileRejected(path, f"koordinatsystemet {crs} stöds inte.",
                           "Exportera i WGS 84 (EPSG:4326) eller SWEREF 99 TM (EPSG:3006).")
    rows = []
    for f in features:
        props = {k: _cell_text(v) for k, v in (f.get("properties") or {}).items()}
        c = centroid(f.get("geometry") or {})
        lat = lon = ""
        if c is not None:
            la, lo = sweref99tm_to_wgs84(c[1], c[0]) if projected else (c[1], c[0])
            lat, lon = f"{la:.6f}", f"{lo:.6f}"
        props.update({"geometry.type": (f.get("geometry") or {}).get("type", ""), "centroid.lat": lat, "centroid.lon": lon})
        rows.append(props)
    frame = pd.DataFrame(rows).fillna("").astype("string")
    return RawTable(frame=frame, row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"), format="geojson",
                    info={"encoding": encoding, "features": len(frame), "crs": crs or "EPSG:4326"})


def _read_parquet(path: Path, data: bytes) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise FileRejected(path, "Parquet-filen kunde inte läsas.", "Exportera filen på nytt.") from exc
    if frame.empty:
        raise FileRejected(path, "Parquet-filen innehåller inga rader.", "Kontrollera att exporten inte blev tom.")
    frame = frame.apply(lambda s: s.map(_cell_text)).astype("string")
    return RawTable(frame=frame, row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"), format="parquet",
                    info={"columns": len(frame.columns)})


# ------------------------------------------------------------------------------------------ large files in chunks

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
    _require_regular(path)
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
    limit = load_limits().max_field_chars
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
        delimiter = _delimiter_from_header(lines, header_matcher) or sniff_delimiter(lines)
        rows = list(csv.reader(lines, delimiter=delimiter))
        hidx = _find_header(rows, header_matcher)
        headers = _dedupe(rows[hidx]) if rows else []
        if not any(headers):
            raise FileRejected(path, "filen saknar rubrikrad.", "Exportera med kolumnrubriker på första raden.")
        header_line = hidx + 1
        # the body: the scanned lines after the header, then the rest of the stream
        rest = io.StringIO("".join(lines[hidx + 1:]))
        body = _LineGuard(_Chain(rest, fh), load_limits().max_field_chars, path, header_line)
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
            if produced > load_limits().max_rows:
                raise FileRejected(path, f"filen har fler än {load_limits().max_rows:,} rader".replace(",", " ")
                                   + " (gränsen i data/config/limits.yaml).", "Dela upp exporten per år eller kommun.")
        except pd.errors.ParserError as exc:
            raise _field_count_rejection(path, exc, header_line, len(headers), delimiter) from exc
        if not produced:
            raise FileRejected(path, "filen innehåller bara rubriker, inga datarader.",
                               "Kontrollera att exporten gjordes för rätt period och inte blev tom.", row=header_line)


class _LineGuard(io.TextIOBase):
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


class _Chain(io.TextIOBase):
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
