"""A corpus of broken inputs, each with the file it makes. Outcomes are asserted in tests/test_bad_inputs.py."""
from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

CRIME_H = "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott"
CRIME_OK = "5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1"
CONCERN_H = "Kommunkod;Månad;Åldersgrupp;Kön;Skäl;Anmälare;Antal anmälningar"
CONCERN_OK = "0486;2024-01;0-12 år;Flicka;Övrigt;Skola;7"
EST_H = "Händelse-id,Tidpunkt,Kommunkod,Områdeskod,Plats,Latitud,Longitud,Kategori,Underkategori,Beskrivning"
EST_OK = "E1,2024-05-01 22:10,0486,0486-01,Torget,59.37,17.03,Nedskräpning,Nedskräpning,Skräp"
POP_H = "Kommunkod;Områdeskod;År;Ålder;Folkmängd"
ACT_H = "Kommunkod;Datum;Aktivitet-id;Antal;Part;Anteckning"
BRA_H = "Kommunkod;Brottskategori;Periodtyp;Period;Antal;Preliminär"
ID_HEADERS = ["ID", "Löpnummer", "Barnets id", "Ärendenr", "Pers.nr", "P-nr", "Födelsenummer", "Elev", "Dnr",
              "Identitet", "Person"]
# 19121212-1212 (Skatteverket's test number) and 121272-1219 (a samordningsnummer: day 12 + 60) as people type them
PNR_SPELLINGS = ["19121212\u20131212", "121212\u22121212", "121212\u00a01212", "12 12 12-12 12",
                 "1912-12-12-1212", "121212 - 1212", "121272-1219", "19121212+1212"]


def _xlsx(rows_per_sheet: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in rows_per_sheet.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _survey(weight: str, item: str) -> str:
    return ("Löpnummer;År;Kommunkod;Områdeskod;Vikt;Otrygg sent på kvällen\n"
            f"2024-00001;2024;0486;0486-01;1,2;Ja\n2024-00002;2024;0486;0486-01;{weight};{item}\n")


@dataclass(frozen=True)
class Case:
    name: str
    file_name: str
    content: Callable[[], bytes]
    feed: str | None = None
    profile: str | None = None


def text(s: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: s.encode(encoding)


CASES = [
    # ---- whole-file rejections
    Case("empty", "tom.csv", text(""), "crime_reports"),
    Case("whitespace_only", "blank.csv", text("\n \n\t\n"), "crime_reports"),
    Case("header_only", "rubriker.csv", text(CRIME_H + "\n"), "crime_reports"),
    Case("binary_png", "bild.csv", lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "crime_reports"),
    Case("old_xls", "gammal.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "crime_reports"),
    Case("zip_not_xlsx", "arkiv.zip", lambda: _zip({"a.csv": CRIME_H + "\n" + CRIME_OK}), "crime_reports"),
    Case("broken_gzip", "trasig.csv.gz", lambda: gzip.compress(b"abc")[:12], "crime_reports"),
    Case("broken_json", "trasig.json", text('[{"id": 1, "type": "Brand",'), "polisen_events"),
    Case("json_not_records", "tal.json", text("[1, 2, 3]"), "polisen_events"),
    Case("json_empty_list", "tom.json", text("[]"), "polisen_events"),
    Case("other_feed", "oro.csv", text(CONCERN_H + "\n" + CONCERN_OK + "\n"), "crime_reports"),
    Case("missing_required_column", "brott.csv", text("Diarienummer;Brottskod;Kommunkod\n5000-K1-24;1212;0486\n"),
         "crime_reports"),
    Case("unrecognised_header", "okand.csv", text("a;b;c\n1;2;3\n"), "est_events"),
    Case("identifying_column", "oro.csv",
         text("Personnummer;" + CONCERN_H + "\n19121212-1212;" + CONCERN_OK + "\n"), "concern_reports"),
    Case("personnummer_in_cell", "oro.csv",
         text(CONCERN_H + ";Kommentar\n" + CONCERN_OK + ";gäller 19121212-1212\n"), "concern_reports"),
    Case("child_id_column", "oro.csv", text("Barn-ID;" + CONCERN_H + "\nB17;" + CONCERN_OK + "\n"), "concern_reports"),
    # id-style headers in an aggregate-only feed (hardening issue): each rejected whole
    *[Case(f"id_header_{i}", "oro.csv", text(f"{h};" + CONCERN_H + "\nX1;" + CONCERN_OK + "\n"), "concern_reports")
      for i, h in enumerate(ID_HEADERS)],
    # personnummer in the spellings people type, in an aggregate-only feed: rejected whole
    *[Case(f"pnr_spelling_{i}", "oro.csv", text(CONCERN_H + ";Kommentar\n" + CONCERN_OK + f";gäller {v}\n"),
           "concern_reports") for i, v in enumerate(PNR_SPELLINGS)],
    # not personnummer: a checksum-invalid number and an impossible date load (and are not masked)
    Case("pnr_bad_checksum_loads", "oro.csv", text(CONCERN_H + ";Kommentar\n" + CONCERN_OK + ";ref 121212-1213\n"),
         "concern_reports"),
    Case("pnr_impossible_date_loads", "oro.csv", text(CONCERN_H + ";Kommentar\n" + CONCERN_OK + ";ref 121312-1211\n"),
         "concern_reports"),
    Case("unknown_profile", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n"), "crime_reports", "finns-inte"),
    Case("ragged_rows", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n" + CRIME_OK + ";extra;fält\n"),
         "crime_reports"),
    Case("xlsx_without_data_header", "brott.xlsx", lambda: _xlsx({"Info": [["Brottsstatistik"], ["Uttag saknas"]]}),
         "crime_reports"),
    Case("xlsx_empty", "tom.xlsx", lambda: _xlsx({"Blad1": []}), "crime_reports"),
    Case("geojson_unsupported_crs", "omr.geojson", text(json.dumps({
        "type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:3021"}},
        "features": [{"type": "Feature", "properties": {"desokod": "x"}, "geometry": None}]})), "areas"),
    Case("geojson_no_features", "omr.geojson", text('{"type": "FeatureCollection", "features": []}'), "areas"),
    # ---- row-level quarantine (the file loads, the bad rows do not)
    Case("unknown_crime_code", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;99X9;2024-03-02;;0486;;1\n"),
         "crime_reports"),
    Case("impossible_date", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2024-02-30;;0486;;1\n"),
         "crime_reports"),
    Case("future_date", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2099-01-01;;0486;;1\n"),
         "crime_reports"),
    Case("count_below_minimum", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2024-03-02;;0486;;0\n"),
         "crime_reports"),
    Case("decimal_count", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2024-03-02;;0486;;1,5\n"),
         "crime_reports"),
    Case("duplicate_key", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n" + CRIME_OK + "\n"), "crime_reports"),
    Case("unknown_municipality", "brott.csv",
         text(CRIME_H + "\n" + CRIME_OK + "\n5000-K2-24;1;1212;2024-03-02;;9999;;1\n"), "crime_reports"),
    Case("missing_required_value", "brott.csv", text(CRIME_H + "\n" + CRIME_OK + "\n;1;1212;2024-03-02;;0486;;1\n"),
         "crime_reports"),
    Case("est_unknown_category", "est.csv",
         text(EST_H + "\n" + EST_OK + "\nE2,2024-05-01 22:10,0486,,Torget,,,Ufo,,Ljus\n"), "est_events"),
    Case("est_latitude_outside_sweden", "est.csv",
         text(EST_H + "\n" + EST_OK + "\nE2,2024-05-01 22:10,0486,,Torget,45.0,17.03,Nedskräpning,,x\n"), "est_events"),
    Case("concern_bad_month", "oro.csv", text(CONCERN_H + "\n" + CONCERN_OK + "\n0486;2024-13;0-12 år;Flicka;Övrigt;Skola;2\n"),
         "concern_reports"),
    Case("concern_unknown_reason", "oro.csv",
         text(CONCERN_H + "\n" + CONCERN_OK + "\n0486;2024-02;0-12 år;Flicka;Okänt skäl;Skola;2\n", "cp1252"),
         "concern_reports"),
    Case("survey_zero_weight", "trygghet.csv", text(_survey("0", "Nej")), "survey_responses"),
    Case("survey_not_boolean", "trygghet.csv", text(_survey("1,0", "kanske")), "survey_responses"),
    Case("population_negative", "folk.csv",
         text(POP_H + "\n0486;0486-01;2024;0-17 år;100\n0486;0486-02;2024;0-17 år;-5\n"), "population"),
    Case("bra_unknown_period_type", "bra.csv",
         text(BRA_H + "\n0486;Totalt antal brott;År;2024;3000;Nej\n0486;Totalt antal brott;Vecka;2024-03;50;Ja\n"),
         "bra_stats"),
    Case("activity_date_not_a_date", "logg.csv",
         text(ACT_H + "\n0486;2024-03-01;A1;1;Polisen;\n0486;första mars;A1;1;Polisen;\n"), "activity_log"),
]


def _zip(files: dict[str, str]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


def write_case(case: Case, folder: Path) -> Path:
    path = folder / case.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(case.content())
    return path
