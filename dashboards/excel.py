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
import math
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


# Characters XML 1.0 cannot hold (openpyxl refuses them): shown as U+FFFD instead of failing the publication.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel's built-in number formats (ids an application knows without a <numFmt>); others get ids from 164.
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10}


def _cell(value, plain: bool = False):
    """(kind, value, number format) of one cell: "n" number, "b" boolean, "s" text (never a formula), or None for
    an empty cell."""
    if value is None or (isinstance(value, str) and not value) or (
            isinstance(value, float) and not math.isfinite(value)):
        return None  # an empty cell (openpyxl wrote an empty text as one too)
    if isinstance(value, bool):
        return "b", value, "General"
    if isinstance(value, (int, float)):
        return "n", value, "General"
    text = str(value)
    number = as_number(text)
    if number is not None:
        return "n", number[0], "0" if plain else number[1]
    return "s", _ILLEGAL_XML.sub("\ufffd", text), "General"


def _column(j: int) -> str:
    letters = ""
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _workbook_bytes(sheets: list[tuple[str, list[list]]]) -> bytes:
    """A minimal SpreadsheetML package (workbook, sheets, shared strings, number styles), written directly: openpyxl
    took 13-17 ms for a page's small table (15 of them a page), this well under 1 ms. Deterministic (fixed zip
    times, no creation date): the same table gives the same bytes. ``tests/test_excel.py`` reads every cell back
    with openpyxl against the openpyxl-written workbook."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}
    formats: dict[str, int] = {"General": 0}   # number format -> cellXfs index
    sheet_xml = []
    for _, rows in sheets:
        out = [_XML, f'<worksheet xmlns="{_MAIN}"><sheetData>']
        for i, row in enumerate(rows, start=1):
            cells = []
            for j, cell in enumerate(row, start=1):
                if cell is None:
                    continue
                kind, value, fmt = cell
                style = formats.setdefault(fmt, len(formats))
                ref = f"{_column(j)}{i}" + (f'" s="{style}' if style else "")
                if kind == "s":
                    cells.append(f'<c r="{ref}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
                elif kind == "b":
                    cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{float(value)!r}</v></c>' if isinstance(value, float)
                                 else f'<c r="{ref}"><v>{int(value)}</v></c>')
            out.append(f'<row r="{i}">{"".join(cells)}</row>')
        out.append("</sheetData></worksheet>")
        sheet_xml.append("".join(out))
    custom = {fmt: 164 + k for k, fmt in enumerate(f for f in formats if f not in _BUILTIN_FORMATS)}
    num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{escape(f, {chr(34): "&quot;"})}"/>'
                       for f, i in custom.items())
    xfs = "".join(f'<xf numFmtId="{_BUILTIN_FORMATS.get(f, custom.get(f))}" fontId="0" fillId="0" borderId="0" '
                  f'xfId="0"{" applyNumberFormat=" + chr(34) + "1" + chr(34) if f != "General" else ""}/>'
                  for f in formats)
    styles = (f'{_XML}<styleSheet xmlns="{_MAIN}">'
              + (f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>' if custom else "")
              + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
              '<fills count="2"><fill><patternFill patternType="none"/></fill>'
              '<fill><patternFill patternType="gray125"/></fill></fills>'
              '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
              '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
              f'<cellXfs count="{len(formats)}">{xfs}</cellXfs>'
              '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
              '</styleSheet>')
    shared = (f'{_XML}<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">'
              + "".join(f'<si><t xml:space="preserve">{escape(t, {chr(13): "&#13;"})}</t></si>' for t in strings)
              + "</sst>")  # a carriage return escaped: XML readers turn a raw one into a line feed
    n = len(sheets)
    names = "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{k}" r:id="rId{k}"/>'
                    for k, (name, _) in enumerate(sheets, start=1))
    parts = {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{_CT}.worksheet+xml"/>'
                      for k in range(1, n + 1))
            + f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>'),
        "_rels/.rels": (f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
                        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{names}</sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL}">'
            + "".join(f'<Relationship Id="rId{k}" Type="{_REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                      for k in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": styles,
        "xl/sharedStrings.xml": shared,
        **{f"xl/worksheets/sheet{k}.xml": xml for k, xml in enumerate(sheet_xml, start=1)},
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def table_workbook(table, about: dict[str, str]) -> bytes:
    """An .xlsx with the table (sheet "Tabell") and what it is (sheet "Om tabellen")."""
    plain = [str(c) in ("År", "Year") for c in table.columns]  # years: numbers without a thousands separator
    rows = [[_cell(str(name)) for name in table.columns]]
    rows += [[_cell(value, plain[j]) for j, value in enumerate(row)] for row in table.itertuples(index=False)]
    meta = [[_cell(key), _cell(value)] for key, value in about.items()]
    return _workbook_bytes([("Tabell", rows), ("Om tabellen", meta)])


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
