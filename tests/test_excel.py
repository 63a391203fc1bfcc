"""The one Excel writer: numbers as numbers, text never a formula, a sheet saying what the table is; the CSV export
neutralises formula-looking text. Expected cell values are written out by hand."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboards.excel import as_number, dangerous, safe_csv_value, table_workbook, write_csv

ATTACKS = ["=HYPERLINK(\"http://x\",\"klicka\")", "+1+1", "-2+3", "@SUM(A1)", "  =1+1", "\t=1+1", "\r=1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_looking_text_is_dangerous(text):
    assert dangerous(text)


@pytest.mark.parametrize("text", ["Hedersrelaterat", "a=b", "1 234", "<5", "×", "saknas", "e-post@x.se"])
def test_ordinary_text_is_not(text):
    assert not dangerous(text)


@pytest.mark.parametrize("text,value,fmt", [
    ("1 234", 1234, "#,##0"), ("12", 12, "#,##0"), ("12,5", 12.5, "#,##0.0"), ("−51", -51, "#,##0"),
    ("36 %", 0.36, "0%"), ("4,5\u00a0%", 0.045, "0.0%"), ("1\u00a0234\u00a0567", 1234567, "#,##0"),
])
def test_swedish_numbers_become_numbers(text, value, fmt):
    got = as_number(text)
    assert got[0] == pytest.approx(value) and got[1] == fmt


@pytest.mark.parametrize("text", ["<5", "×", "saknas", "0486", "kv. 3 2026", "12 (kv. 3 2026)", "1 23"])
def test_other_cells_stay_text(text):
    assert as_number(text) is None


def test_workbook_cells_and_about_sheet():
    table = pd.DataFrame({"Plats": ["=HYPERLINK(\"http://evil\",\"x\")", "Torget"], "År": ["2025", "2026"],
                          "Antal": ["1 234", "<5"], "Andel": ["36 %", "saknas"]})
    wb = load_workbook(io.BytesIO(table_workbook(table, {"Källa": "EST", "Period": "2026"})))
    ws = wb["Tabell"]
    assert ws["A2"].value == "=HYPERLINK(\"http://evil\",\"x\")" and ws["A2"].data_type == "s"  # text, not formula
    assert ws["B2"].value == 2025 and ws["B2"].number_format == "0"
    assert ws["C2"].value == 1234 and ws["C3"].value == "<5"
    assert ws["D2"].value == pytest.approx(0.36) and ws["D3"].value == "saknas"
    about = wb["Om tabellen"]
    assert (about["A1"].value, about["B1"].value, about["A2"].value) == ("Källa", "EST", "Period")


def test_csv_export_neutralises_formulas(tmp_path):
    df = pd.DataFrame({"raw_value": ["=HYPERLINK(\"x\")", "12", " @SUM(1)"], "row": [1, 2, 3]})
    write_csv(df, tmp_path / "q.csv")
    text = (tmp_path / "q.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "' @SUM(1)" in text and "\n12;2" in text.replace('"', "")
    assert safe_csv_value(5) == 5


def test_plotly_labels_from_input_are_escaped_once_on_the_page():
    """Place, area and indicator names with Plotly's label markup are shown as text in charts, not as links/styles."""
    import json
    import re

    from dashboards import figures
    from dashboards.render import Block

    place = '<a href="https://evil.example">Torget</a>'
    style = '<span style="font-size:80px">Ån</span>'
    df = pd.DataFrame({"place": [place, style], "events": [5, 3]})
    b = Block(id="est-platser", section="EST", title="t", description="", table=pd.DataFrame(),
              figure=figures.make_top_places_figure(df, "Flest"), source="", period="", status="")
    html = b.figure_html()
    assert html == b.figure_html()  # escaping happens once, however often the page renders it
    payload = json.loads(re.search(r'<script type="application/json" id="fig-est-platser-spec">(.*?)</script>', html,
                                   re.S).group(1))["data"]
    labels = [v for trace in payload for v in trace.get("y", [])]
    assert "&lt;a href=\"https://evil.example\"&gt;Torget&lt;/a&gt;" in labels
    assert "&lt;span style=\"font-size:80px\"&gt;Ån&lt;/span&gt;" in labels
    assert "<a href" not in json.dumps(payload) and "\\u003ca href" not in json.dumps(payload)


def test_a_figure_with_a_missing_value_is_escaped_and_serialised():
    """An area without population has no rate (pandas' NA) beside labels from input: the page still renders (Plotly
    compares old and new values when a trace is changed in place, and NA cannot be compared: the national bench
    failed on it), the label is escaped and the missing bar is null."""
    import json
    import re

    import plotly.graph_objects as go

    from dashboards.render import Block

    fig = go.Figure(go.Bar(x=["<b>Centrum</b>", "Ån"], y=(36.0, pd.NA)))  # as the area section builds it
    b = Block(id="brott-omrade", section="s", title="t", description="", table=pd.DataFrame(), figure=fig,
              source="", period="", status="")
    spec = json.loads(re.search(r'id="fig-brott-omrade-spec">(.*?)</script>', b.figure_html(), re.S).group(1))
    assert spec["data"][0]["x"] == ["&lt;b&gt;Centrum&lt;/b&gt;", "Ån"]
    assert spec["data"][0]["y"] == [36.0, None]


def _openpyxl_workbook(table, about) -> bytes:
    """The workbook as openpyxl wrote it before the direct writer (the reference the direct writer is read against)."""
    from openpyxl import Workbook

    def put(cell, value, plain=False):
        if value is None:
            return
        if isinstance(value, (bool, int, float)):
            cell.value = value
            return
        number = as_number(str(value))
        if number is not None:
            cell.value, cell.number_format = number
            if plain:
                cell.number_format = "0"
            return
        cell.value = str(value)
        cell.data_type = "s"

    wb = Workbook()
    ws = wb.active
    ws.title = "Tabell"
    for j, name in enumerate(table.columns, start=1):
        put(ws.cell(row=1, column=j), str(name))
    plain = [str(c) in ("År", "Year") for c in table.columns]
    for i, row in enumerate(table.itertuples(index=False), start=2):
        for j, value in enumerate(row, start=1):
            put(ws.cell(row=i, column=j), value, plain[j - 1])
    meta = wb.create_sheet("Om tabellen")
    for i, (key, value) in enumerate(about.items(), start=1):
        put(meta.cell(row=i, column=1), key)
        put(meta.cell(row=i, column=2), value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cells(data: bytes):
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [[(c.value, c.data_type if c.value is not None else "tom", c.number_format) for c in row]
                       for row in ws.iter_rows()] for ws in wb.worksheets}


def test_the_direct_writer_gives_the_cells_openpyxl_wrote():
    """Every kind of cell a page's table holds reads back (openpyxl) with the value, type and number format the
    openpyxl-written workbook had: Swedish numbers and percents, years, codes with a leading zero, labels, formula
    text, markup characters, Python and numpy numbers, empty cells; and the same table gives the same bytes."""
    import numpy as np

    table = pd.DataFrame({
        "Plats": ["=HYPERLINK(\"http://evil\",\"x\")", "Torget & <Ån>", "  lead and trail  ", "\t=1+1", "0486",
                  "kv. 3 2026", "12 (kv. 3 2026)", "\"citat\""],
        "År": ["2025", "2026", 2024, "2023", None, "1 999", "saknas", "12,5"],
        "Antal": ["1 234", "<5", "×", "−51", "1\u00a0234\u00a0567", "12,5", "0", "4,25"],
        "Andel": ["36 %", "4,5\u00a0%", "saknas", "−2 %", "100 %", "0,05 %", "", None],
        "Tal": [np.int64(7), np.float64(2.5), 3, 0.125, True, False, 10**12, -0.0],
    })
    about = {"Tabell": "Anmälda brott per kvartal", "Källa": "Polisen (brott_0486_2026.csv)", "Period": "2026",
             "Röjandekontroll": "\"<5\" = 1–4; \"×\" = dolt", "Tom": ""}
    direct, reference = table_workbook(table, about), _openpyxl_workbook(table, about)
    assert _cells(direct) == _cells(reference)
    assert table_workbook(table, about) == direct


def test_text_keeps_carriage_returns_and_control_characters_do_not_stop_the_publication():
    table = pd.DataFrame({"Text": ["\r=1", "rad 1\r\nrad 2", "klocka\x07ringer"]})
    ws = load_workbook(io.BytesIO(table_workbook(table, {})))["Tabell"]
    assert [ws["A2"].value, ws["A3"].value, ws["A4"].value] == ["\r=1", "rad 1\r\nrad 2", "klocka\ufffdringer"]
    assert ws["A2"].data_type == "s"
