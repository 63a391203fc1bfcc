"""Personal identity numbers at the door (sources/privacy.py): recognised in the spellings people type, only when the
checksum and the date hold, and masked in every text value before anything is stored or shown."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.privacy import MASK, find_personnummer, luhn_ok, mask_personnummer, screen_frame, valid_date


SPELLINGS = [
    "19121212-1212", "121212-1212", "121212+1212", "1212121212", "191212121212",
    "19121212\u20131212",        # en dash
    "121212\u22121212",          # U+2212 minus
    "121212\u00a01212",          # non-breaking space
    "12 12 12-12 12",            # spaces between digit pairs
    "1912-12-12-1212",           # YYYY-MM-DD-NNNN
    "121212 - 1212",             # YYMMDD - NNNN
    "121272-1219",               # samordningsnummer (day 12 + 60); Luhn by hand: 2+2+2+2+5+2+2+2+2 = 21, +9 = 30
    "20000229-1235",             # 29 February 2000 (a leap year); Luhn: 0+0+0+2+4+9+2+2+6 = 25, +5 = 30
]


@pytest.mark.parametrize("text", SPELLINGS)
def test_spellings_are_recognised_and_masked(text):
    masked, n = mask_personnummer(f"Kontakt {text} ringde")
    assert n == 1 and masked == f"Kontakt {MASK} ringde"


@pytest.mark.parametrize("text,why", [
    ("121212-1213", "checksum: 1212121213 sums to 21"),
    ("121312-1211", "month 13 (the checksum holds: 2+2+2+3+2+2+2+2+2 = 19, +1 = 20)"),
    ("121232-1210", "day 32 is neither a day nor a samordningsnummer day (61–91)"),
    ("19000229-1235", "1900 was not a leap year (same digits as the valid 20000229-1235)"),
    ("1234567890", "month 34"),
    ("070-123 45 67", "a phone number with its own grouping"),
])
def test_not_personnummer(text, why):
    assert find_personnummer(text) == [], why


def test_checksum_and_date_rules_on_each_side():
    # Luhn: 121212121|2 valid, |3 not; the rule is the checksum, not the pattern
    assert luhn_ok("1212121212") and not luhn_ok("1212121213")
    # dates: 31 January yes, 32 no; 30 February never; 29 February only in leap years (with a known century)
    assert valid_date("19", "12", "01", "31") and not valid_date("19", "12", "01", "32")
    assert not valid_date("20", "00", "02", "30")
    assert valid_date("20", "00", "02", "29") and not valid_date("19", "00", "02", "29")
    assert valid_date(None, "00", "02", "29") and not valid_date(None, "01", "02", "29")
    # samordningsnummer: day + 60 (61–91 for 1–31); 60 and 92 are nothing
    assert valid_date("19", "12", "12", "61") and valid_date("19", "12", "01", "91")
    assert not valid_date("19", "12", "01", "92") and not valid_date("19", "12", "12", "60")
    assert not valid_date("21", "12", "12", "12")  # no 21st-century-and-a-century-later births


@pytest.mark.parametrize("text", SPELLINGS)
def test_spellings_are_masked_by_the_column_screen(text):
    """A column is first filtered in C (Arrow's RE2); the filter must let every spelling through to the exact check,
    beside a timestamp that has ten digits but no personnummer."""
    frame = pd.DataFrame({"c": [f"Kontakt {text} ringde", "2024-04-05 12:30:00", None]}, dtype="string")
    out, n = screen_frame(frame)
    assert n == 1 and out.loc[0, "c"] == f"Kontakt {MASK} ringde" and out.loc[1, "c"] == "2024-04-05 12:30:00"


def _luhn_digit(nine: str) -> str:
    return next(d for d in "0123456789" if luhn_ok(nine + d))


@st.composite
def _texts_with_numbers(draw):
    """Text with a valid personnummer (random date, day + 60 sometimes, random spelling) among digits, separators
    and letters, so the filter meets near-misses on both sides."""
    y = draw(st.integers(1900, 2024))
    m = draw(st.integers(1, 12))
    d = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 60]))
    nine = f"{y % 100:02d}{m:02d}{d:02d}" + draw(st.text("0123456789", min_size=3, max_size=3))
    ten = nine + _luhn_digit(nine)
    sep = draw(st.sampled_from(["", "-", "\u2013", "\u2212", "+", " - ", "\u00a0"]))
    pair = draw(st.sampled_from(["", " "]))
    century = draw(st.sampled_from(["", f"{y // 100}"]))
    number = century + pair.join([ten[0:2], ten[2:4], ten[4:6]]) + sep + ten[6:8] + pair + ten[8:10]
    noise = st.text(alphabet="0123456789 -:+abcÅ\u2013", max_size=6)
    return draw(noise) + draw(st.sampled_from(["", " ", "x"])) + number + draw(st.sampled_from(["", " ", "y"])) + draw(noise)


@settings(max_examples=300, deadline=None)
@given(text=_texts_with_numbers())
def test_the_column_screen_masks_exactly_what_the_exact_check_finds(text):
    expected = len(find_personnummer(text))  # the exact rule, value by value (computed without the filter)
    out, n = screen_frame(pd.DataFrame({"c": [text]}, dtype="string"))
    assert n == expected
    assert out.loc[0, "c"] == mask_personnummer(text)[0]


def test_every_column_is_screened_not_only_free_text():
    frame = pd.DataFrame({"Plats": ["Torget 19121212-1212", "Ån"], "Rapportör": ["121212 - 1212", "Kommunen"],
                          "Beskrivning": ["ok", "121212-1213 är inget personnummer"]}, dtype="string")
    out, n = screen_frame(frame)
    assert n == 2
    assert out.loc[0, "Plats"] == f"Torget {MASK}" and out.loc[0, "Rapportör"] == MASK
    assert out.loc[1, "Beskrivning"] == "121212-1213 är inget personnummer"


def test_nothing_unmasked_reaches_warehouse_quarantine_or_manifest(tmp_path):
    import duckdb

    from sources.ingest import ensure_schema, ingest_file

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    path = tmp_path / "est_19121212-1212.csv"
    path.write_text(
        "Händelse-id,Tidpunkt,Kommunkod,Områdeskod,Plats,Latitud,Longitud,Kategori,Underkategori,Rapportör,Beskrivning\n"
        "E1,2024-05-01 22:10,0486,0486-01,Hos 121212 - 1212,59.37,17.03,Nedskräpning,Nedskräpning,"
        "Anna 19121212–1212,Skräp\n"
        "E2,2024-05-01 22:10,0486,0486-01,Torget,59.37,17.03,Ufo 1912-12-12-1212,,Kommunen,x\n", encoding="utf-8")
    r = ingest_file(con, path, feed="est_events")
    assert r.status == "loaded" and r.rows_quarantined == 1 and r.masked_values == 3

    def dump(c, keep_paths=False) -> str:
        out = []
        for schema, table in c.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall():
            cur = c.execute(f'SELECT * FROM "{schema}"."{table}"')
            names = [d[0] for d in cur.description]
            for row in cur.fetchall():
                # the warehouse's own key of the file on disk (meta.files / meta.file_stats) is the file's path
                out += [str(v) for n, v in zip(names, row) if keep_paths or not (schema == "meta" and n == "path")]
        return "\n".join(out)

    assert "1212" not in dump(con).replace("[personnummer borttaget]", "")
    assert con.execute("SELECT path FROM meta.files").fetchall() == [(path.name,)]  # relative to the warehouse
    assert con.execute("SELECT raw_value FROM meta.quarantine").fetchall() == [(f"Ufo {MASK}",)]
    assert con.execute("SELECT file_name FROM meta.files").fetchall() == [(f"est_{MASK}.csv",)]
    # the snapshot published for readers holds no personnummer and no server folder, the paths included
    from pipelines.assets.site import publish_snapshot

    publish_snapshot(con, tmp_path / "published" / "warehouse.duckdb")
    snap = duckdb.connect(str(tmp_path / "published" / "warehouse.duckdb"), read_only=True)
    try:
        text = dump(snap, keep_paths=True)
        assert "1212" not in text.replace("[personnummer borttaget]", "") and str(tmp_path) not in text
        assert snap.execute("SELECT path, file_name FROM meta.files").fetchall() == [(f"est_{MASK}.csv",) * 2]
    finally:
        snap.close()


def test_a_reader_sees_a_file_in_the_home_by_its_path_there_and_any_other_by_its_name():
    from pipelines.assets.site import reader_path

    assert reader_path("incoming/est_events/v12.csv") == "incoming/est_events/v12.csv"
    assert reader_path("incoming/Anna 19121212-1212/v12.csv") == f"incoming/Anna {MASK}/v12.csv"
    assert reader_path("/srv/kommun/export/v12.csv") == "v12.csv"  # no server folder
    assert reader_path("/srv/19121212-1212/est_19121212-1212.csv") == f"est_{MASK}.csv"
