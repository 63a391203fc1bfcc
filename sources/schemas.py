"""Typed models of the files a maintainer writes for a feed: ``contract.yaml``, profiles and ``expectations.yaml``.

Each file is read with the line of every key (``sources/yamlfile.py``) and validated against a pydantic model that
forbids unknown keys, so ``requried: true`` is an error naming file, line and key instead of a silently optional
column. :func:`validate` turns pydantic's first error into a :class:`~sources.yamlfile.FileFormatError` with the
line from the file; the readers (``sources/contract.py``, ``sources/expectations.py``) build their runtime objects
from the validated model. The agreement files have their models in ``sources/agreements/schema.py``; their checker
uses :func:`problems` to report every problem of a file at once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sources.yamlfile import FileFormatError, LineMap

# a contract column's type -> the warehouse column it loads into
COLUMN_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE",
                "datetime": "TIMESTAMP", "month": "DATE", "boolean": "BOOLEAN"}
Scalar = Union[str, int, float, bool]


class _Spec(BaseModel):
    # unknown keys are errors; numbers are not silently turned into text or back
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, populate_by_name=True)


# ---------------------------------------------------------------------------------------------- contract.yaml

class ColumnSpec(_Spec):
    name: str
    type: Literal[tuple(COLUMN_TYPES)]  # type: ignore[valid-type]
    required: bool = False
    description: str = ""
    allowed: list[Scalar] | None = None
    allowed_from: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    pad: int | None = None
    default: Scalar | None = None
    not_future: bool = False
    free_text: bool = False


class PeriodSpec(_Spec):
    column: str
    grain: str | None = None


class RevisionSpec(_Spec):
    by: Literal["scope", "natural_key"] = "scope"


class FreshnessSpec(_Spec):
    expected: str | None = None
    max_age_days: int | None = None


class ContractSpec(_Spec):
    feed: str
    title: str
    label: str
    description: str = ""
    freshness: FreshnessSpec | None = None
    natural_key: list[str] = []
    revision_scope: list[str] = []
    period: PeriodSpec | None = None
    revision: RevisionSpec | None = None
    aggregate_only: bool = False
    columns: list[ColumnSpec]


# ---------------------------------------------------------------------------------------------- profiles/*.yaml

class SyntheticKeySpec(_Spec):
    column: str
    from_: list[str] = Field(default=[], alias="from")


class UnpivotSpec(_Spec):
    pattern: str
    into: str
    value: str
    preliminary: str | None = None
    status: str | None = None
    label: str | None = None


class ProfileSpec(_Spec):
    name: str
    feed: str
    title: str | None = None
    description: str = ""
    columns: dict[str, str | list[str]] = {}
    value_maps: dict[str, dict[Scalar, Any]] = {}
    sheet: str | None = None
    constants: dict[str, Scalar] = {}
    compose: dict[str, str] = {}
    patterns: dict[str, str] = {}
    lookups: dict[str, str] = {}
    synthetic_key: SyntheticKeySpec | None = None
    signature: list[str] = []
    unpivot: UnpivotSpec | None = None
    date_formats: list[str] | None = None
    datetime_formats: list[str] | None = None
    null_values: list[str] | None = None


# ---------------------------------------------------------------------------------------------- expectations.yaml

class ValueSetRef(_Spec):
    reference: str | None = None
    lookup: str | None = None


class Today(_Spec):
    today: Literal[True]


class ExpectationSpec(_Spec):
    type: str
    severity: Literal["error", "warn"]
    description: str = ""
    column: str | None = None
    column_list: list[str] | None = None
    count_column: str | None = None
    group_by: str | list[str] | None = None
    max_factor: float | None = None
    max_value: float | Today | None = None    # {today: true}: no date after the day the check runs
    min_value: float | Today | None = None
    mostly: float | None = None
    value_set: list[Scalar] | ValueSetRef | None = None
    window: int | None = None


class SuiteSpec(_Spec):
    table: str
    row_id: list[str] = []
    description: str = ""
    expectations: list[ExpectationSpec]


# ---------------------------------------------------------------------------------------------- validation

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "obligatoriskt fält saknas",
    "string_type": "ska vara text",
    "int_type": "ska vara ett heltal", "int_parsing": "ska vara ett heltal", "int_from_float": "ska vara ett heltal",
    "float_type": "ska vara ett tal", "float_parsing": "ska vara ett tal",
    "bool_type": "ska vara true eller false", "bool_parsing": "ska vara true eller false",
    "list_type": "ska vara en lista", "dict_type": "ska vara en samling fält (nyckel: värde)",
    "model_type": "ska vara en samling fält (nyckel: värde)", "model_attributes_type": "ska vara en samling fält",
    "date_type": "ska vara ett datum ÅÅÅÅ-MM-DD", "date_from_datetime_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD",
    "date_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD",
}


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the last key of ``loc`` (to list the keys it allows)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None)
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``X | None`` or ``list[X]`` (the keys of its entries are what a path names)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _line_of(doc: Any, loc: tuple) -> tuple[int | None, str]:
    """The line in the file and the dotted field name (``columns[0].requried``) of a pydantic error location.
    Parts of ``loc`` that are not keys of the file (the tags pydantic gives the members of a union) are skipped."""
    line = getattr(doc, "line", None)
    current: Any = doc
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if isinstance(current, list) and 0 <= part < len(current):
                parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
                current = current[part]
                line = getattr(current, "line", line)
            continue
        if isinstance(current, LineMap) and part in current:
            parts.append(str(part))
            line = current.key_lines.get(part, line)
            current = current[part]
        elif i == len(loc) - 1 and isinstance(current, LineMap):  # a missing key: the line of the entry lacking it
            parts.append(str(part))
            line = getattr(current, "line", line)
    return line, ".".join(parts)


def problems(model: type[BaseModel], doc: Any) -> list[tuple[int | None, str, str]]:
    """Every way ``doc`` does not fit ``model``: (line, field, Swedish message), in file order; empty when it fits."""
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            line, where = _line_of(doc, tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                holder = _model_at(model, tuple(err["loc"]))
                names = sorted((f.alias or n) for n, f in holder.model_fields.items()
                               if n not in ("said", "interpreted")) if holder else []
                message = "okänt fält" + (f"; tillåtna fält här är: {', '.join(names)}" if names else "")
            elif err["type"] == "literal_error":
                message = f"okänt värde {err.get('input')!r}; tillåtna: {err.get('ctx', {}).get('expected', '')}"
            else:
                message = _MESSAGES.get(err["type"], err["msg"])
            if (line, where, message) not in out:
                out.append((line, where, message))
        # an unknown key says more than the union alternatives it made fail; a missing field more than a type
        order = {"okänt fält": 0, "obligatoriskt fält saknas": 1}
        return sorted(out, key=lambda p: (order.get(p[2].split(";")[0], 2), p[0] or 0))
    return []


def validate(model: type[M], doc: Any, path: Path | str) -> M:
    """``doc`` (a mapping read by :func:`sources.yamlfile.read_mapping`) as a ``model``; the first problem is a
    :class:`FileFormatError` naming the file, the line and the field."""
    try:
        return model.model_validate(doc)
    except ValidationError:
        line, where, message = problems(model, doc)[0]
        raise FileFormatError(path, line, where, message) from None
