"""What every reader shares: the rejection a coordinator reads, the table a reader returns, and the checks made
before a file's format is known (a regular file, gzip within limits, encoding, binary content, width)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import pandas as pd

from sources import limits as limits_config
from sources.limits import human_bytes


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


def require_regular(path: Path) -> None:
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

    limits = limits_config.load_limits()
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


def looks_utf16(head: bytes) -> bool:
    if head[:2] in UTF16_BOMS:
        return True
    # no BOM: every other byte NUL in text of Latin letters
    pairs = head[:512]
    return len(pairs) >= 8 and (pairs[1::2].count(0) > 0.9 * (len(pairs) // 2)
                                or pairs[0::2].count(0) > 0.9 * (len(pairs) // 2))


def control_share(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n\f") or 0x7f <= ord(ch) < 0xa0)
    return controls / len(sample)


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


def check_columns(path: Path, n: int) -> None:
    limit = limits_config.load_limits().max_columns
    if n > limit:
        raise FileRejected(path, f"filen har {n} kolumner; högst {limit} tas emot (gränsen i data/config/limits.yaml).",
                           "Exportera bara de kolumner flödet behöver.")


def cell_text(v) -> str:
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
