"""Typed models of the agreement files (sources/agreements/README.md): which keys each entry has, which are required,
and what kind of value each holds. Unknown keys are errors.

The models are the shape; ``sources/agreements/__init__.py``'s checker adds what a shape cannot say (ids unique and
well formed, references to parties, areas, forums and activities, code lists, dates in order, the said/interpreted
marks) and reports every problem of a file at once, each with file, line and field, in Swedish for the coordinator
who edits the file. Every entry may carry the marks ``said`` and ``interpreted`` (:class:`Entry`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class Entry(BaseModel):
    """An entry of an agreement file: unknown keys are errors; ``said``/``interpreted`` name fields of the entry."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    said: dict[str, Any] | None = None
    interpreted: dict[str, Any] | None = None


class Municipality(Entry):
    code: StrictStr
    name: StrictStr


class Party(Entry):
    id: StrictStr
    name: StrictStr
    type: StrictStr
    org_nr: StrictStr | None = None


class SubGoal(Entry):
    id: StrictStr
    text: StrictStr
    note: StrictStr | None = None


class PriorityArea(Entry):
    id: StrictStr
    name: StrictStr
    sub_goals: list[SubGoal] = []


class Forum(Entry):
    id: StrictStr
    name: StrictStr
    cadence: StrictStr
    role: StrictStr | None = None
    chair: StrictStr | None = None
    members: list[StrictStr] = []
    adjunct: list[StrictStr] = []
    min_per_year: StrictInt | None = None
    builds_lagesbild: StrictBool = False
    purpose: StrictStr | None = None
    note: StrictStr | None = None


class DataSource(Entry):
    name: StrictStr
    feed: StrictStr | None = None


class Responsible(Entry):
    party: StrictStr
    role: StrictStr | None = None
    lead: StrictBool = False
    as_: StrictStr | None = Field(default=None, alias="as")


class Target(Entry):
    count: StrictInt
    per: StrictStr


class Activity(Entry):
    id: StrictStr
    name: StrictStr
    priority_areas: list[StrictStr]
    responsible: list[Responsible]
    sub_goals: list[StrictStr] = []
    forum: StrictStr | None = None
    target: Target | None = None
    purpose: StrictStr | None = None
    goal: StrictStr | None = None
    commitment: StrictStr | None = None


class PromiseFollowUp(Entry):
    """A follow-up row of a citizen promise."""
    what: StrictStr
    method: StrictStr
    responsible: StrictStr
    frequency: StrictStr
    forum: StrictStr | None = None


class FollowUp(PromiseFollowUp):
    """A follow-up row of an agreement (it may also say how many times a year)."""
    min_per_year: StrictInt | None = None


class Decided(Entry):
    by: StrictStr
    date: dt.date | None = None
    reference: StrictStr | None = None


class Commitment(Entry):
    title: StrictStr
    text: StrictStr


class Coordinator(Entry):
    party: StrictStr
    role: StrictStr


class FocusPlace(Entry):
    name: StrictStr
    level: StrictStr | None = None


class Document(Entry):
    """What every agreement and citizen-promise file has."""
    id: StrictStr
    kind: StrictStr
    title: StrictStr
    municipality: Municipality
    valid_from: dt.date
    valid_to: dt.date
    parties: list[Party]
    source: StrictStr | None = None
    communication: StrictStr | None = None
    updated: dt.date | None = None


class Agreement(Document):
    """``kind: samverkansöverenskommelse``."""
    purpose: StrictStr | None = None
    overall_goal: StrictStr | None = None
    method: StrictStr | None = None
    context: StrictStr | None = None
    replaces: StrictStr | None = None
    signed: dt.date | None = None
    decided: Decided | None = None
    priority_areas: list[PriorityArea]
    forums: list[Forum] = []
    data_sources: list[DataSource] = []
    activities: list[Activity] = []
    follow_up: list[FollowUp] = []
    commitments: list[Commitment] = []
    coordinators: list[Coordinator] = []
    focus_places: list[FocusPlace] = []


class Reporting(Entry):
    forum: StrictStr
    cadence: StrictStr


class PromiseTarget(Entry):
    id: StrictStr
    text: StrictStr
    party: StrictStr | None = None
    count: StrictInt | None = None
    per: StrictStr | None = None
    activity: StrictStr | None = None


class PromiseItem(Entry):
    id: StrictStr
    text: StrictStr
    activities: list[StrictStr] = []
    targets: list[PromiseTarget] = []


class Signatory(Entry):
    name: StrictStr
    role: StrictStr | None = None
    organisation: StrictStr | None = None


class Promise(Document):
    """``kind: medborgarlöfte``."""
    agreement: StrictStr | None = None
    reporting: Reporting | None = None
    promises: list[PromiseItem]
    focus: StrictStr | None = None
    expected_effect: list[StrictStr] = []
    follow_up: list[PromiseFollowUp] = []
    signatories: list[Signatory] = []


class Indicator(Entry):
    id: StrictStr
    priority_area: StrictStr
    label: StrictStr
    kind: StrictStr
    filter: dict[str, list[StrictStr]]
    rationale: StrictStr
    sub_goal: StrictStr | None = None
    higher_is_worse: StrictBool = True


class IndicatorFile(Entry):
    agreement: StrictStr
    indicators: list[Indicator]


MODELS_BY_KIND = {"samverkansöverenskommelse": Agreement, "medborgarlöfte": Promise}


def keys_of(model: type[BaseModel]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required keys, optional keys) of an entry, as written in the file; the marks are not listed."""
    required, optional = [], []
    for name, f in model.model_fields.items():
        if name in ("said", "interpreted"):
            continue
        (required if f.is_required() else optional).append(f.alias or name)
    return tuple(required), tuple(optional)
