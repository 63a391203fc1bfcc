"""Benchmark (a command, not a test): ``lagesbild bench poison`` ingests each hostile file in its own child process
and prints its verdict, wall time and peak RSS (``wait4``), against the target of 1 GB per file."""
from __future__ import annotations

import gzip
import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path

CRIME_H = "Diarienummer;Brottsnummer;Brottskod;Inskrivningsdatum;Brottsdatum från;Kommunkod;Områdeskod;Antal brott"
TARGET_MB = 1024


def _xlsx_whole_sheet(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(CRIME_H.split(";"))
    ws.append("5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1".split(";"))
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:H2" />', b'<dimension ref="A1:XFD1048576" />')
            dst.writestr(item, data)


def _gzip_bomb(path: Path, unpacked: int) -> None:
    """CSV text that unpacks to ``unpacked`` bytes: a header, then one endless line (and, after it, good rows)."""
    block = b"a" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(CRIME_H.encode() + b"\n")
        for _ in range(unpacked // len(block)):
            fh.write(block)


def _gzip_many_rows(path: Path, unpacked: int) -> None:
    """A well-formed CSV that unpacks to about ``unpacked`` bytes of distinct valid rows (loaded in chunks)."""
    written, i = 0, 0
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(CRIME_H.encode() + b"\n")
        while written < unpacked:
            block = "".join(f"5000-K{i + j:09d}-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1\n"
                            for j in range(20_000)).encode()
            fh.write(block)
            written += len(block)
            i += 20_000


def _gzip_duplicate_rows(path: Path, unpacked: int) -> None:
    """The same valid row over and over (about ``unpacked`` bytes): every row after the first is quarantined."""
    row = b"5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1\n"
    block = row * 20_000
    with gzip.open(path, "wb", compresslevel=6) as fh:
        fh.write(CRIME_H.encode() + b"\n")
        for _ in range(max(1, unpacked // len(block))):
            fh.write(block)


def make_poison(folder: Path) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    p = folder / "falt_10mb.csv"
    p.write_text(CRIME_H + "\n5000-K1-24;1;1212;2024-03-02;;0486;;" + "x" * 10_000_000 + "\n", encoding="utf-8")
    files.append((p, "crime_reports"))
    p = folder / "binar.csv"
    p.write_bytes(bytes((i * 37 + 11) % 31 + 1 for i in range(2_000_000)))
    files.append((p, "crime_reports"))
    p = folder / "djup.json"
    p.write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    files.append((p, "polisen_events"))
    p = folder / "hela_bladet.xlsx"
    _xlsx_whole_sheet(p)
    files.append((p, "crime_reports"))
    p = folder / "bomb.csv.gz"
    _gzip_bomb(p, 3 * 1024 ** 3)  # 3 GB of one line from a few MB
    files.append((p, "crime_reports"))
    p = folder / "rader.csv.gz"
    _gzip_many_rows(p, 150 * 1024 ** 2)  # 150 MB of distinct valid rows unpacked: read in chunks
    files.append((p, "crime_reports"))
    p = folder / "dubbletter.csv.gz"
    _gzip_duplicate_rows(p, 150 * 1024 ** 2)  # about 2,8 million copies of one row: all but one quarantined
    files.append((p, "crime_reports"))
    p = folder / "utf16.csv"
    p.write_bytes((CRIME_H + "\n5000-K1-24;1;1212;2024-03-02;2024-03-01;0486;0486-01;1\n").encode("utf-16"))
    files.append((p, "crime_reports"))
    return files


def bench_poison() -> int:
    from pipelines.bench_national import run_measured

    with tempfile.TemporaryDirectory(prefix="lagesbild-poison-") as tmp:
        tmp = Path(tmp)
        files = make_poison(tmp / "in")
        worst = 0.0
        print(f"{'file':<22} {'on disk':>10} {'verdict':<10} {'seconds':>8} {'peak RSS':>10}")
        for path, feed in files:
            home = tmp / f"home-{path.stem}"
            cmd = [sys.executable, "-m", "pipelines.cli", "--home", str(home), "ingest", str(path), "--feed", feed,
                   "--json"]
            wall, rss, code, out, _ = run_measured(cmd)
            try:
                verdict = json.loads(out[out.index("["):])[0]["status"]
            except (ValueError, KeyError, IndexError):
                verdict = f"exit {code}"
            worst = max(worst, rss)
            print(f"{path.name:<22} {path.stat().st_size / 1e6:>8.1f} MB {verdict:<10} {wall:>8.1f} {rss:>7,.0f} MB")
        print(f"poison files: peak RSS of the worst {worst:,.0f} MB (target ≤ {TARGET_MB} MB: "
              f"{'met' if worst <= TARGET_MB else 'MISSED'})")
        return 0 if worst <= TARGET_MB else 1
