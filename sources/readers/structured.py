"""Structured formats: Excel workbooks (as stored, first matching sheet), JSON arrays and GeoJSON, Parquet."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd

from sources import limits as limits_config
from sources.limits import human_bytes
from sources.readers.common import FileRejected, HeaderMatcher, RawTable, cell_text
from sources.readers.delimited import SCAN_LINES, dedupe_headers, find_header


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


def read_xlsx(path: Path, data: bytes, header_matcher: HeaderMatcher | None) -> RawTable:
    from openpyxl import load_workbook  # imported lazily: only needed for Excel files

    limits = limits_config.load_limits()
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
    hidx = find_header(rows[:SCAN_LINES], header_matcher)
    width = max(len(r) for r in rows)
    headers = dedupe_headers((rows[hidx] + [""] * width)[:width])
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
        rows.append([cell_text(c) for c in values])
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


def read_json(path: Path, text: str, encoding: str) -> RawTable:
    limit = limits_config.load_limits().max_json_depth
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
                                        else (json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else cell_text(v))))
    return RawTable(frame=frame.astype("string"), row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"),
                    format="json", info=info)


def _read_geojson(path: Path, doc: dict, encoding: str) -> RawTable:
    from sources.geo import centroid, outline, sweref99tm_to_wgs84

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
        props = {k: cell_text(v) for k, v in (f.get("properties") or {}).items()}
        c = centroid(f.get("geometry") or {})
        lat = lon = ""
        if c is not None:
            la, lo = sweref99tm_to_wgs84(c[1], c[0]) if projected else (c[1], c[0])
            lat, lon = f"{la:.6f}", f"{lo:.6f}"
        props.update({"geometry.type": (f.get("geometry") or {}).get("type", ""), "centroid.lat": lat, "centroid.lon": lon,
                      "outline": outline(f.get("geometry") or {}, projected)})
        rows.append(props)
    frame = pd.DataFrame(rows).fillna("").astype("string")
    return RawTable(frame=frame, row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"), format="geojson",
                    info={"encoding": encoding, "features": len(frame), "crs": crs or "EPSG:4326"})


def read_parquet(path: Path, data: bytes) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise FileRejected(path, "Parquet-filen kunde inte läsas.", "Exportera filen på nytt.") from exc
    if frame.empty:
        raise FileRejected(path, "Parquet-filen innehåller inga rader.", "Kontrollera att exporten inte blev tom.")
    frame = frame.apply(lambda s: s.map(cell_text)).astype("string")
    return RawTable(frame=frame, row_numbers=pd.Series(range(1, len(frame) + 1), dtype="int64"), format="parquet",
                    info={"columns": len(frame.columns)})
