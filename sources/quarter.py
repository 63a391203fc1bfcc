"""One quarter value for the whole product: parsed from what people and Dagster write, giving (year, q), a sequence
number, the Swedish label and the partition key.

    >>> Quarter.parse("2026-Q3") == Quarter.parse("2026q3") == Quarter.parse("2026-07-01") == Quarter(2026, 3)
    True
    >>> Quarter(2026, 3).label, Quarter(2026, 3).text, Quarter(2026, 3).partition_key
    ('kv. 3 2026', '2026-Q3', '2026-07-01')
    >>> Quarter(2026, 1) - 1
    Quarter(year=2025, q=4)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_TEXT = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]\s*([1-4])\s*$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


class QuarterError(ValueError):
    """Not a quarter; the message says how to write one."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= int(self.q) <= 4:
            raise QuarterError(f"kvartal {self.q} finns inte (1–4)")

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        """``2026-Q3``, ``2026q3``, a Dagster time key ``2026-07-01`` or a multi-partition key ``0486|2026-07-01``."""
        s = str(text).split("|")[-1]
        m = _TEXT.match(s)
        if m:
            return cls(int(m.group(1)), int(m.group(2)))
        m = _DATE.match(s)
        if m:
            return cls.of(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        raise QuarterError(f"\"{text}\" är inte ett kvartal. Skriv till exempel 2026-Q3.")

    @classmethod
    def of(cls, d: date) -> "Quarter":
        return cls(d.year, (d.month - 1) // 3 + 1)

    @classmethod
    def from_seq(cls, seq: int) -> "Quarter":
        return cls(int(seq) // 4, int(seq) % 4 + 1)

    @property
    def seq(self) -> int:
        """Consecutive quarters have consecutive numbers (``year * 4 + q - 1``; the ``quarter_seq`` of SQL)."""
        return int(self.year) * 4 + int(self.q) - 1

    @property
    def label(self) -> str:
        return f"kv. {int(self.q)} {int(self.year)}"

    @property
    def text(self) -> str:
        return f"{int(self.year)}-Q{int(self.q)}"

    @property
    def start(self) -> date:
        return date(int(self.year), 3 * int(self.q) - 2, 1)

    @property
    def end(self) -> date:
        return (self + 1).start - timedelta(days=1)

    @property
    def partition_key(self) -> str:
        """The key of Dagster's quarterly time dimension (the quarter's first day)."""
        return self.start.isoformat()

    def __add__(self, n: int) -> "Quarter":
        return Quarter.from_seq(self.seq + int(n))

    def __sub__(self, n: int) -> "Quarter":
        return Quarter.from_seq(self.seq - int(n))

    def __str__(self) -> str:
        return self.text
