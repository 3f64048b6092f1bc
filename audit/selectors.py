"""Reads of the audit trail.

Only ``internal_control`` and ``admin`` see the whole trail (``entry_list(user=...)`` is empty for
anyone else). The case apps show an applicant the history of its own cases with
``history_for_case(code)`` *after* scoping the case to the user themselves; four-eyes checks ask
``actor_ids_for_case(code, actions)`` who actually did the earlier steps. The report metrics of the
case kinds read WHEN a case reached a state from the trail: ``cases_reached`` and ``first_reached_at``.

Pages are keyset pages on ``seq`` (``before``/``after``), so a page costs the same at entry 10 and at
entry 1,000,000: every filter walks an index in seq order and nothing counts the whole table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Max, OuterRef, QuerySet, Subquery

from cases import params
from cases.roles import Role, has_role

from . import actions
from .models import AuditEntry, Checkpoint

TRAIL_ROLES = (Role.INTERNAL_CONTROL, Role.ADMIN)


def can_view_trail(user) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and has_role(user, *TRAIL_ROLES)
    )


def action_prefixes() -> list[str]:
    """The subject groups of the action codes (``auth``, ``budget``, ``initiative``...)."""
    return sorted({value.split(".", 1)[0] for value in actions.values()})


@dataclass(frozen=True)
class TrailFilters:
    case: str = ""
    actor: str = ""  # a username, or a user id
    action: str = ""  # an action code, or a subject group such as "budget"
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive

    @property
    def active(self) -> bool:
        return any((self.case, self.actor, self.action, self.since, self.until))

    def as_data(self) -> dict:
        """The filters as recorded in an ``audit.exported`` entry."""
        return {
            "case": self.case,
            "actor": self.actor,
            "action": self.action,
            "since": self.since,
            "until": self.until,
        }


def apply_filters(queryset: QuerySet, filters: TrailFilters | None) -> QuerySet:
    if filters is None:
        return queryset
    if filters.case:
        queryset = queryset.filter(case=filters.case)
    if filters.actor:
        if params.is_number(filters.actor):
            queryset = queryset.filter(actor_id=int(filters.actor))
        else:
            user_model = get_user_model()
            ids = list(
                user_model._default_manager.filter(
                    **{f"{user_model.USERNAME_FIELD}__iexact": filters.actor}
                ).values_list("pk", flat=True)
            )
            queryset = queryset.filter(actor_id__in=ids) if ids else queryset.none()
    if filters.action:
        if actions.is_known(filters.action):
            queryset = queryset.filter(action=filters.action)
        else:
            queryset = queryset.filter(action__startswith=f"{filters.action.rstrip('.')}.")
    if filters.since:
        queryset = queryset.filter(at__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(at__lt=filters.until)
    return queryset


def entry_list(*, user, filters: TrailFilters | None = None) -> QuerySet:
    """Entries the user may read (the whole trail for internal control and admins, else none)."""
    if not can_view_trail(user):
        return AuditEntry.objects.none()
    return apply_filters(AuditEntry.objects.all(), filters).order_by("seq")


def entry_get(*, user, seq: int) -> AuditEntry:
    return entry_list(user=user).get(seq=seq)


def history_for_case(code: str) -> QuerySet:
    """Every entry of one case, oldest first. The caller has already checked the user may see the
    case; nothing here is scoped."""
    return AuditEntry.objects.filter(case=code).order_by("seq")


def actor_ids_for_case(code: str, actions: Iterable[str]) -> set[int]:
    """Ids of the users who did any of ``actions`` on the case (for four-eyes checks)."""
    return set(
        AuditEntry.objects.filter(case=code, action__in=[str(a) for a in actions], actor__isnull=False)
        .values_list("actor_id", flat=True)
        .distinct()
    )


def cases_reached(actions: Iterable[str], start: dt.datetime, end: dt.datetime) -> QuerySet:
    """The codes of the cases with an entry of any of ``actions`` in [start, end): a subquery
    (``code__in=cases_reached(...)``), never evaluated here."""
    return AuditEntry.objects.filter(action__in=[str(a) for a in actions], at__gte=start, at__lt=end).values(
        "case"
    )


def first_reached_at(action: str, start: dt.datetime, end: dt.datetime) -> Subquery:
    """When the outer row's case (``OuterRef("code")``) first got an ``action`` entry in [start, end):
    a subquery for ``annotate`` (``None`` when it got none)."""
    return Subquery(
        AuditEntry.objects.filter(case=OuterRef("code"), action=action, at__gte=start, at__lt=end)
        .order_by("at")
        .values("at")[:1]
    )


@dataclass
class KeysetPage:
    entries: list[AuditEntry]
    newer: int | None  # pass as ``after`` (descending pages) to get the next newer page
    older: int | None  # pass as ``before`` to get the next older page


def keyset_page(
    queryset: QuerySet,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = 50,
    newest_first=True,
) -> KeysetPage:
    """One page of ``queryset`` in seq order. ``before``: entries with a smaller seq than that;
    ``after``: entries with a larger seq. Costs one indexed query plus at most one ``exists``."""
    size = max(1, min(size, 1000))
    if after is None and before is None and not newest_first:
        after = 0  # oldest first: start at the beginning
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_after = len(rows) > size
        rows = rows[:size]
        more_before = after > 0 and queryset.filter(seq__lte=after).exists()
    else:
        base = queryset.filter(seq__lt=before) if before is not None else queryset
        rows = list(base.order_by("-seq")[: size + 1])
        more_before = len(rows) > size
        rows = list(reversed(rows[:size]))
        more_after = before is not None and (bool(rows) or queryset.filter(seq__gte=before).exists())
    newer = rows[-1].seq if rows and more_after else None
    older = rows[0].seq if rows and more_before else None
    if newest_first:
        rows.reverse()
    return KeysetPage(entries=rows, newer=newer, older=older)


def trail_head_seq() -> int:
    """The newest seq (= number of entries of an intact trail), from the primary key index."""
    return AuditEntry.objects.aggregate(n=Max("seq"))["n"] or 0


def checkpoint_list() -> QuerySet:
    return Checkpoint.objects.order_by("-seq", "-signed_at")


def latest_checkpoint() -> Checkpoint | None:
    return checkpoint_list().first()
