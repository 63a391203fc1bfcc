"""The one Excel writer of the publish layer (pages and packs) and the one CSV writer for exports.

* numbers are numbers: cells shown as Swedish numbers ("1 234", "12,5", "36 %") are written as numeric cells with a
  matching number format, so a coordinator can sum them; everything else ("<5", "×", "saknas", labels) is text;
* text is never a formula: text that a spreadsheet would run as a formula (beginning with = + - @, also after
  leading spaces or a tab, or a control character) is written as a plain string cell (and, in CSV, behind an
  apostrophe, as OWASP recommends), so "=HYPERLINK(…)" from an input file stays inert;
* a second sheet "Om tabellen" states the source, period, status, basis and the suppression rules.
"""
from __future__ import annotations

import csv
import io
import re

NUMBER = re.compile(r"^[−-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:,\d+)?$|^[−-]?\d+(?:,\d+)?$")
PERCENT = re.compile(r"^([−-]?\d+(?:,\d+)?)[ \u00a0]?%$")
FORMULA_START = re.compile(r"^[\s\t\r\n]*[=+\-@]|^[\t\r]")


def dangerous(text: str) -> bool:
    """Would a spreadsheet treat this text as a formula?"""
    return bool(FORMULA_START.match(text))


def as_number(text: str) -> tuple[float | int, str] | None:
    """(value, number format) for a cell shown as a Swedish number or percent, else None. Codes with a leading
    zero ("0486") stay text."""
    t = text.strip()
    if len(t) > 1 and t[0] == "0" and t[1].isdigit():
        return None
    m = PERCENT.match(t)
    if m:
        v = float(m.group(1).replace("−", "-").replace(",", "."))
        decimals = len(m.group(1).split(",")[1]) if "," in m.group(1) else 0
        return v / 100, "0" + ("." + "0" * decimals if decimals else "") + "%"
    if NUMBER.match(t):
        clean = re.sub(r"[ \u00a0\u202f]", "", t).replace("−", "-")
        if "," in clean:
            decimals = len(clean.split(",")[1])
            return float(clean.replace(",", ".")), "#,##0." + "0" * decimals
        return int(clean), "#,##0"
    return None


def _put(cell, value, plain: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        cell.value = value
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
        return
    text = str(value)
    number = as_number(text)
    if number is not None:
        cell.value, cell.number_format = number
        if plain:
            cell.number_format = "0"
        return
    cell.value = text
    cell.data_type = "s"  # never a formula, whatever it begins with


def table_workbook(table, about: dict[str, str]) -> bytes:
    """An .xlsx with the table (sheet "Tabell") and what it is (sheet "Om tabellen")."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tabell"
    for j, name in enumerate(table.columns, start=1):
        _put(ws.cell(row=1, column=j), str(name))
    plain = [str(c) in ("År", "Year") for c in table.columns]  # years: numbers without a thousands separator
    for i, row in enumerate(table.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            _put(ws.cell(row=i, column=j), value, plain[j - 1])
    meta = wb.create_sheet("Om tabellen")
    for i, (key, value) in enumerate(about.items(), start=1):
        _put(meta.cell(row=i, column=1), key)
        _put(meta.cell(row=i, column=2), value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def block_about(block, policy) -> dict[str, str]:
    return {
        "Tabell": block.title,
        "Källa": block.source,
        "Period": block.period,
        "Status": block.status,
        "Beskrivning och beräkningsgrund": block.description,
        "Röjandekontroll": (f"\"{policy.suppressed_label}\" = 1–{policy.max_suppressed_count} (små tal visas inte i "
                            "känsliga tabeller); \"×\" = dolt så att ett litet tal inte kan räknas ut från andra tal; "
                            "\"saknas\" = uppgift saknas (aldrig 0)."),
        "Regler": "Reglerna bakom varje tal: dashboards/STATISTICS.md i lägesbild.",
    }


def safe_csv_value(value):
    """A CSV field that no spreadsheet runs as a formula: an apostrophe in front of dangerous text."""
    if isinstance(value, str) and dangerous(value):
        return "'" + value
    return value


def write_csv(frame, path, sep: str = ";") -> None:
    """CSV export (UTF-8 with BOM for Excel) with formula-looking text neutralised."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).map(safe_csv_value)
    out.to_csv(path, index=False, sep=sep, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
