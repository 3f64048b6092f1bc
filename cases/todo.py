"""What the applicant must do: every action due for a person across their cases, whatever the kind.

Each case kind lists its own items (``CaseKind.applicant_todo(user)``: its open applicant steps, its
drafts still missing something…); the kernel only gathers them through the registry and orders them
by deadline, the soonest (and the overdue) first, undated ones last. The applicant's home leads with
this list ("Lo que debe hacer").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import kinds

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Todo:
    """One action due: what (``action``, linked to ``url``, the page where it is done), on which case
    (``case_code`` linked to ``case_url``), by when (``due``: a date or an aware datetime) and what
    happens if it is not done (``consequence``, the date already in it)."""

    case_code: str
    case_url: str
    action: StrOrPromise
    url: str
    due: dt.date | dt.datetime | None = None
    consequence: StrOrPromise = ""
    detail: StrOrPromise = ""
    kind_label: StrOrPromise = ""

    @property
    def due_day(self) -> dt.date | None:
        """The deadline as a La Paz calendar day (the current time zone is America/La_Paz)."""
        from django.utils import timezone

        if self.due is None:
            return None
        if isinstance(self.due, dt.datetime):
            return timezone.localtime(self.due).date()
        return self.due

    def overdue(self, on: dt.date) -> bool:
        day = self.due_day
        return day is not None and day < on


def _order(todo: Todo) -> tuple:
    day = todo.due_day
    return (day is None, day or dt.date.max, todo.case_code, str(todo.action))


def for_applicant(user) -> list[Todo]:
    """Every action due for ``user`` on the applicant side of their cases, soonest deadline first."""
    items: list[Todo] = []
    for kind in kinds.all_kinds():
        if kind.applicant_todo is not None:
            items.extend(kind.applicant_todo(user))
    return sorted(items, key=_order)
