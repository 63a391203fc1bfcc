"""Human pages for the feed contracts: ``sources/<feed>/README.md``, generated from contract.yaml and profiles.

    python -m sources.docs          # rewrite the pages
The test suite fails when a page is out of date, so the page always says what the code enforces.
"""
from __future__ import annotations

import sys

from sources.contract import SOURCES_DIR, all_feeds, load_contract, load_profiles

TYPE_LABELS = {"string": "text", "integer": "integer", "number": "number (decimal comma accepted)", "date": "date",
               "datetime": "date and time", "month": "month (YYYY-MM)", "boolean": "yes/no (ja/nej, 1/0)"}


def _rules(col) -> str:
    parts = []
    if col.allowed is not None:
        parts.append("one of: " + ", ".join(f"`{v}`" for v in col.allowed))
    if col.allowed_from:
        parts.append(f"code list `{col.allowed_from}` (`data/reference/`)")
    if col.min is not None or col.max is not None:
        parts.append(f"range {col.min if col.min is not None else '…'}–{col.max if col.max is not None else '…'}")
    if col.pad:
        parts.append(f"zero-padded to {col.pad} digits")
    if col.default is not None:
        parts.append(f"default `{col.default}`")
    if col.not_future:
        parts.append("not in the future")
    if col.free_text:
        parts.append("free text: personal identity numbers are masked")
    return "; ".join(parts)


def render(feed: str) -> str:
    c = load_contract(feed)
    lines = [f"# {c.title} (`{feed}`)", "", c.description, "",
             "Generated from `contract.yaml` and `profiles/` by `python -m sources.docs`; do not edit by hand.", "",
             f"- **Natural key** (unique; a repeated key in a file is quarantined): {', '.join(c.natural_key)}",
             (f"- **Revision** (a new file replaces only earlier rows with the same natural key, "
              f"{', '.join(c.natural_key)}; the feed arrives in overlapping pieces)" if c.revision_by == "natural_key"
              else f"- **Revision scope** (a new file replaces earlier rows of the same): "
                   f"{', '.join(c.revision_scope) or '–'}"
                   + (f" × {c.period_column} per {'month' if c.period_grain == 'month' else 'year'}"
                      if c.period_column else "")),
             *(["- **Aggregate only**: files with id or personnummer columns are rejected"] if c.aggregate_only else []),
             "", "## Columns", "", "| column | type | required | rules | description |", "|---|---|---|---|---|"]
    for col in c.columns:
        lines.append(f"| `{col.name}` | {TYPE_LABELS[col.type]} | {'yes' if col.required else 'no'} | {_rules(col)} | "
                     f"{col.description} |")
    lines += ["", "## Profiles (how real exports map onto the contract)", ""]
    for p in load_profiles(feed):
        lines += [f"### `{p.name}`", "", p.title, "", "| column | header in the file |", "|---|---|"]
        for col, headers in p.columns.items():
            lines.append(f"| `{col}` | {' / '.join(f'`{h}`' for h in headers)} |")
        for col, v in p.constants.items():
            lines.append(f"| `{col}` | always `{v}` |")
        for col, v in p.compose.items():
            lines.append(f"| `{col}` | built as `{v}` |")
        if p.synthetic_key:
            lines.append(f"| `{p.synthetic_key['column']}` | derived from {', '.join(p.synthetic_key['from'])} |")
        if p.unpivot:
            lines.append(f"| `{p.unpivot['into']}`, `{p.unpivot['value']}` | one row per column matching "
                         f"`{p.unpivot['pattern']}` |")
        lines.append("")
    examples = sorted(x.name for x in (SOURCES_DIR / feed).glob("example*"))
    lines += ["## Example file", "", *[f"- [`{x}`]({x})" for x in examples], ""]
    return "\n".join(lines) + "\n"


def main() -> int:
    for feed in all_feeds():
        (SOURCES_DIR / feed / "README.md").write_text(render(feed), encoding="utf-8")
    print(f"wrote {len(all_feeds())} contract pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
