"""The bad-input corpus (tests/corpus/bad_inputs.py): each broken input has exactly this outcome.

A string is the whole-file rejection message (nothing is loaded, the manifest says "rejected"); a list is the
quarantine (row, column, raw value, reason) of a file whose other rows load. ``{today}`` is today's date.
"""
from __future__ import annotations

from datetime import date

import pytest

from sources.ingest import ensure_schema, ingest_file
from tests.conftest import table_counts
from tests.corpus.bad_inputs import CASES, ID_HEADERS, PNR_SPELLINGS, write_case

EXPECTED = {
    'empty': 'tom.csv: filen är tom. Åtgärd: Exportera filen på nytt från källsystemet.',
    'whitespace_only': 'blank.csv: filen är tom. Åtgärd: Exportera filen på nytt från källsystemet.',
    'header_only': 'rubriker.csv, rad 1: filen innehåller bara rubriker, inga datarader. Åtgärd: Kontrollera att exporten gjordes för rätt period och inte blev tom.',
    'binary_png': 'bild.csv: filen är inte en textfil (binärt innehåll). Åtgärd: Lägg in en CSV-, Excel- (.xlsx), JSON- eller Parquet-export.',
    'old_xls': 'gammal.xls: filen är i det gamla Excel-formatet (.xls). Åtgärd: Öppna den i Excel och spara som .xlsx eller CSV.',
    'zip_not_xlsx': 'arkiv.zip: filen är ett zip-arkiv, inte en export. Åtgärd: Packa upp arkivet och lägg in filerna var för sig.',
    'broken_gzip': 'trasig.csv.gz: filen ser ut att vara gzip-komprimerad men är trasig. Åtgärd: Packa upp filen själv eller hämta den på nytt.',
    'broken_json': 'trasig.json, rad 1: JSON-filen är trasig eller avklippt (fel vid tecken 28). Åtgärd: Hämta filen på nytt.',
    'json_not_records': 'tal.json: JSON-filen är inte en lista med poster. Åtgärd: Använd en export där varje post är ett objekt.',
    'json_empty_list': 'tom.json: JSON-filen innehåller inga poster. Åtgärd: Kontrollera att exporten inte blev tom.',
    'other_feed': 'oro.csv: filen ser ut att vara en fil för flödet "concern_reports" (Orosanmälningar (aggregat)), inte för "crime_reports". Åtgärd: Lägg filen i incoming/concern_reports/ eller ange --feed concern_reports.',
    'missing_required_column': 'brott.csv: ingen profil känner igen filens rubriker ("Diarienummer", "Brottskod", "Kommunkod"). Provade: lagesbild-brott: saknar "Inskrivningsdatum"; polisen-brottsstatistik-deso: saknar "Inskrivningsdatum", "kallfil", "desokod", "Brottsdatum från", "Brottsdatum till", "antal_brott". Åtgärd: Kontrollera att rätt fil exporterats med rubrikrad, eller lägg till en profil (se sources/<flöde>/profiles/) och ange den med --profile.',
    'unrecognised_header': 'okand.csv: ingen profil känner igen filens rubriker ("a", "b", "c"). Provade: lagesbild-est: saknar "Händelse-id", "Tidpunkt", "Kommunkod", "Kategori". Åtgärd: Kontrollera att rätt fil exporterats med rubrikrad, eller lägg till en profil (se sources/<flöde>/profiles/) och ange den med --profile.',
    'identifying_column': 'oro.csv, kolumn "Personnummer": filen har kolumnen "Personnummer", som pekar ut enskilda personer. Flödet concern_reports tar bara emot sammanräknade antal (aggregat). Åtgärd: Exportera en sammanställning per månad, åldersgrupp och skäl utan id- eller personuppgifter. Filen har inte lästs in.',
    'personnummer_in_cell': 'oro.csv, rad 2, kolumn "Kommentar": filen innehåller personnummer. Flödet tar bara emot aggregat. Åtgärd: Ta bort personuppgifterna och exportera en sammanställning. Filen har inte lästs in.',
    'child_id_column': 'oro.csv, kolumn "Barn-ID": filen har kolumnen "Barn-ID", som pekar ut enskilda personer. Flödet concern_reports tar bara emot sammanräknade antal (aggregat). Åtgärd: Exportera en sammanställning per månad, åldersgrupp och skäl utan id- eller personuppgifter. Filen har inte lästs in.',
    **{f"id_header_{i}": (f'oro.csv, kolumn "{h}": filen har kolumnen "{h}", som pekar ut enskilda personer. Flödet '
                          'concern_reports tar bara emot sammanräknade antal (aggregat). Åtgärd: Exportera en '
                          'sammanställning per månad, åldersgrupp och skäl utan id- eller personuppgifter. Filen har '
                          'inte lästs in.') for i, h in enumerate(ID_HEADERS)},
    **{f"pnr_spelling_{i}": ('oro.csv, rad 2, kolumn "Kommentar": filen innehåller personnummer. Flödet tar bara '
                             'emot aggregat. Åtgärd: Ta bort personuppgifterna och exportera en sammanställning. Filen '
                             'har inte lästs in.') for i in range(len(PNR_SPELLINGS))},
    'pnr_bad_checksum_loads': [],
    'pnr_impossible_date_loads': [],
    'unknown_profile': 'brott.csv: profilen "finns-inte" finns inte för flödet crime_reports. Åtgärd: Välj en av: lagesbild-brott, polisen-brottsstatistik-deso.',
    'ragged_rows': 'brott.csv, rad 3: raden har 10 fält men rubrikraden har 8. Åtgärd: Kontrollera att filen är avgränsad med semikolon och att textfält som innehåller avgränsaren står inom citattecken.',
    'xlsx_without_data_header': 'brott.xlsx: ingen profil känner igen filens rubriker ("Brottsstatistik"). Provade: lagesbild-brott: saknar "Diarienummer", "Brottskod", "Inskrivningsdatum", "Kommunkod"; polisen-brottsstatistik-deso: saknar "Brottskod", "Inskrivningsdatum", "Kommunkod", "kallfil", "desokod", "Brottsdatum från", "Brottsdatum till", "antal_brott". Åtgärd: Kontrollera att rätt fil exporterats med rubrikrad, eller lägg till en profil (se sources/<flöde>/profiles/) och ange den med --profile.',
    'xlsx_empty': 'tom.xlsx: Excel-filen är tom. Åtgärd: Exportera filen på nytt från källsystemet.',
    'geojson_unsupported_crs': 'omr.geojson: koordinatsystemet EPSG:3021 stöds inte. Åtgärd: Exportera i WGS 84 (EPSG:4326) eller SWEREF 99 TM (EPSG:3006).',
    'geojson_no_features': 'omr.geojson: GeoJSON-filen innehåller inga områden (features). Åtgärd: Kontrollera exporten.',
    'unknown_crime_code': [(3, 'crime_code', '99X9', 'okänt värde; finns inte i kodlistan (brottskoder)')],
    'impossible_date': [(3, 'registered_date', '2024-02-30', 'värdet är inte ett datum (ÅÅÅÅ-MM-DD)')],
    'future_date': [(3, 'registered_date', '2099-01-01', 'datumet ligger efter dagens datum ({today})')],
    'count_below_minimum': [(3, 'crime_count', '0', 'värdet ligger utanför det tillåtna intervallet 1–10\xa0000')],
    'decimal_count': [(3, 'crime_count', '1,5', 'värdet är inte ett heltal')],
    'duplicate_key': [(3, 'report_id,crime_seq', '5000-K1-24 | 1', 'dubblett: samma nyckel (report_id, crime_seq) som rad 2')],
    'unknown_municipality': [(3, 'municipality_code', '9999', 'okänt värde; finns inte i kodlistan (kommunkoder)')],
    'missing_required_value': [(3, 'report_id', '', 'värde saknas i en obligatorisk kolumn')],
    'est_unknown_category': [(3, 'category', 'Ufo', 'okänt värde; finns inte i kodlistan (EST-kategorier)')],
    'est_latitude_outside_sweden': [(3, 'lat', '45.0', 'värdet ligger utanför det tillåtna intervallet 55–69,5')],
    'concern_bad_month': [(3, 'month', '2024-13', 'värdet är inte en månad (ÅÅÅÅ-MM)')],
    'concern_unknown_reason': [(3, 'reason', 'Okänt skäl', 'okänt värde; finns inte i kodlistan (skäl för orosanmälan)')],
    'survey_zero_weight': [(3, 'weight', '0', 'värdet ligger utanför det tillåtna intervallet 0,0001–100\xa0000')],
    'survey_not_boolean': [(3, 'unsafe_evening', 'kanske', 'värdet är inte ja/nej')],
    'population_negative': [(3, 'population', '-5', 'värdet ligger utanför det tillåtna intervallet 0–…')],
    'bra_unknown_period_type': [(3, 'period_type', 'Vecka', 'okänt värde; finns inte i kodlistan (år, kvartal, månad)')],
    'activity_date_not_a_date': [(3, 'date', 'första mars', 'värdet är inte ett datum (ÅÅÅÅ-MM-DD)')],
}


def _today(value):
    t = date.today().isoformat()
    if isinstance(value, str):
        return value.replace("{today}", t)
    return [(r, c, v, reason.replace("{today}", t)) for r, c, v, reason in value]


def test_corpus_has_at_least_thirty_distinct_cases():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert set(EXPECTED) == {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_outcome(case, tmp_path, warehouse):
    ensure_schema(warehouse)
    before = table_counts(warehouse)
    path = write_case(case, tmp_path / "in")
    result = ingest_file(warehouse, path, feed=case.feed, profile=case.profile)
    expected = _today(EXPECTED[case.name])
    quarantine = warehouse.execute(
        "SELECT row_number, column_name, raw_value, reason FROM meta.quarantine ORDER BY 1, 2").fetchall()
    if isinstance(expected, str):
        assert result.status == "rejected"
        assert result.message == expected
        assert quarantine == []
        after = table_counts(warehouse)
        assert {k: v for k, v in after.items() if k != "meta.files"} == {k: v for k, v in before.items() if k != "meta.files"}
    else:
        assert result.status == "loaded"
        assert quarantine == expected
        assert result.rows_read == result.rows_loaded + result.rows_quarantined
        assert result.rows_quarantined == len({r for r, *_ in expected})
