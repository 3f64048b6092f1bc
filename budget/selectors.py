"""Reads of the budget, scoped to the user asking, and the ledger reconciliation checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import DecimalField, Exists, F, Func, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from cases import sqltemplate
from cases.roles import SCOPE_MEMO, is_staff_member, is_system_user

from .models import (
    FIGURE_DELTAS,
    LINE_FIGURES,
    ZERO,
    BudgetLine,
    BudgetMovement,
    FundingSource,
    Program,
    ProgramGroupObjectPermission,
    ProgramUserObjectPermission,
)

PROGRAM_PERMISSION = "work_in_program"


def program_scope_ids(user) -> set[int] | None:
    """The programs a staff user is scoped to (directly or through a group).

    ``None`` when the user holds no program scope: every program. Anonymous users get the empty set.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    remembered = getattr(user, SCOPE_MEMO, None)
    if remembered is not None:
        return None if remembered[1] is None else set(remembered[1])
    perm = {"permission__codename": PROGRAM_PERMISSION, "permission__content_type__app_label": "budget"}
    # One statement: the user's own grants UNION those of its groups.
    own = ProgramUserObjectPermission.objects.filter(user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    grouped = ProgramGroupObjectPermission.objects.filter(group__user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    ids = set(own.union(grouped))
    return ids or None


MANAGER_PERMISSION = "manage_program"


def managed_program_ids(user) -> set[int]:
    """The programs a user manages (django-guardian ``budget.manage_program`` on the program, held
    directly or through a group): a program manager configures those programs' calls. Unlike the
    program scope, no grant means no program."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    perm = {"permission__codename": MANAGER_PERMISSION, "permission__content_type__app_label": "budget"}
    own = ProgramUserObjectPermission.objects.filter(user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    grouped = ProgramGroupObjectPermission.objects.filter(group__user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    return set(own.union(grouped))


def users_in_program_scope(program_id: int | None) -> Q:
    """For a query over users: those whose program scope covers ``program_id`` — no program scope
    at all (every program), or one on that program, held by themselves or through a group
    (``program_scope_ids`` seen from the program). Correlated ``EXISTS`` on the two guardian
    tables; nothing is read here."""
    perm = {"permission__codename": PROGRAM_PERMISSION, "permission__content_type__app_label": "budget"}
    own = ProgramUserObjectPermission.objects.filter(user=OuterRef("pk"), **perm).order_by()
    shared = ProgramGroupObjectPermission.objects.filter(group__user=OuterRef("pk"), **perm).order_by()
    every = ~Q(Exists(own)) & ~Q(Exists(shared))
    if program_id is None:
        return every
    return (
        every
        | Q(Exists(own.filter(content_object_id=program_id)))
        | Q(Exists(shared.filter(content_object_id=program_id)))
    )


def in_program_scope(user, program: Program | None) -> bool:
    scope = program_scope_ids(user)
    return scope is None or (program is not None and program.pk in scope)


def can_view_budget(user) -> bool:
    """Budget lines are visible to staff (all staff roles) and the system user, not to applicants."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and (is_staff_member(user) or is_system_user(user))
    )


def program_list() -> QuerySet[Program]:
    return Program.objects.order_by("code")


def source_list() -> QuerySet[FundingSource]:
    return FundingSource.objects.order_by("code")


def program_get(code: str) -> Program:
    return Program.objects.get(code=code)


def source_get(code: str) -> FundingSource:
    return FundingSource.objects.get(code=code)


def line_list_for(user, *, fiscal_year=None, program=None, source=None) -> QuerySet[BudgetLine]:
    """The budget lines ``user`` may see (staff, within their program scopes), optionally filtered by
    fiscal year, program (instance or code) and source (instance or code)."""
    lines = BudgetLine.objects.select_related("program", "source", "subprogram")
    if not can_view_budget(user):
        return lines.none()
    scope = program_scope_ids(user)
    if scope is not None:
        lines = lines.filter(program_id__in=scope)
    if fiscal_year is not None:
        lines = lines.filter(fiscal_year=fiscal_year)
    if program is not None:
        lines = (
            lines.filter(program=program)
            if isinstance(program, Program)
            else lines.filter(program__code=program)
        )
    if source is not None:
        lines = (
            lines.filter(source=source)
            if isinstance(source, FundingSource)
            else lines.filter(source__code=source)
        )
    return lines.order_by(
        "-fiscal_year", "program__code", "subprogram__code", "source__code", "object_of_expenditure", "pk"
    )


def line_summary_for(user, fiscal_year: int) -> dict | None:
    """The budget lines of ``fiscal_year`` the user may see, with the totals of every figure and of
    ``available`` (None when there are none)."""
    lines = list(line_list_for(user, fiscal_year=fiscal_year))
    if not lines:
        return None
    fields = (*LINE_FIGURES, "available")
    totals = {name: sum((getattr(line, name) for line in lines), start=ZERO) for name in fields}
    return {"fiscal_year": fiscal_year, "lines": lines, "totals": totals}


def line_get_for(user, pk) -> BudgetLine:
    """One line ``user`` may see; ``BudgetLine.DoesNotExist`` (→ 404) otherwise."""
    return line_list_for(user).get(pk=pk)


def movement_list(line: BudgetLine) -> QuerySet[BudgetMovement]:
    return BudgetMovement.objects.filter(line=line).select_related("actor").order_by("id")


# --- Ledger -------------------------------------------------------------------------------------------

_MONEY_FIELD = DecimalField(max_digits=18, decimal_places=2)
CENT = Decimal("0.01")


def _kind_sums(movements_prefix: str = "") -> dict:
    return {
        f"sum_{kind}": Coalesce(
            Sum(f"{movements_prefix}amount", filter=Q(**{f"{movements_prefix}kind": kind})),
            Value(ZERO),
            output_field=_MONEY_FIELD,
        )
        for kind in BudgetMovement.Kind.values
    }


def _figures_from_sums(sums: Mapping[str, Any]) -> dict[str, Decimal]:
    """The five figures from the sums by kind (``sum_<kind>``, missing or ``None`` = 0), to the cent: on
    SQLite the sums are binary floats, whose noise below the cent is rounded away."""
    figures = dict.fromkeys(LINE_FIGURES, ZERO)
    for kind, deltas in FIGURE_DELTAS.items():
        amount = Decimal(sums.get(f"sum_{kind}") or 0)
        for figure, sign in deltas.items():
            figures[figure] += sign * amount
    return {figure: value.quantize(CENT, rounding=ROUND_HALF_UP) for figure, value in figures.items()}


def figures_from_movements(line: BudgetLine) -> dict[str, Decimal]:
    """The line's figures as the sum of its movements."""
    return _figures_from_sums(BudgetMovement.objects.filter(line=line).aggregate(**_kind_sums()))


def _case_sums(line_id: int, case_code: str) -> QuerySet:
    return (
        BudgetMovement.objects.filter(line_id=line_id, case_code=case_code)
        .order_by()
        .values("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )


def case_figures(line: BudgetLine, case_code: str) -> dict[str, Decimal]:
    """How much of each figure of ``line`` belongs to one case (from its movements): one grouped sum
    by kind, its SQL built once (``cases.sqltemplate``: every money decision checks it, and the ORM
    took longer to build the statement than the database to answer it)."""
    rows = sqltemplate.run(("budget.case_sums",), _case_sums, {"line_id": line.pk, "case_code": case_code})
    return _figures_from_sums({f"sum_{kind}": total for kind, total in rows})


def line_reconciles(line: BudgetLine) -> bool:
    """True when every recorded figure of the line equals the sum of its movements."""
    stored = BudgetLine.objects.values(*LINE_FIGURES).get(pk=line.pk)
    derived = figures_from_movements(line)
    return all(stored[f] == derived[f] for f in LINE_FIGURES)


def _ledger_sums() -> dict[str, Subquery]:
    """One correlated sum per kind of movement of the line (``sum_<kind>``, ``None`` when it has none):
    each reads one (line, kind) range of ``budget_mov_ledger_idx``, which holds the amount, so the
    database walks every movement of the lines exactly once, in the index alone, with no grouping."""
    return {
        f"sum_{kind}": Subquery(
            BudgetMovement.objects.filter(line=OuterRef("pk"), kind=kind)
            .order_by()
            .values(total=Func(F("amount"), function="SUM", output_field=_MONEY_FIELD)),
            output_field=_MONEY_FIELD,
        )
        for kind in BudgetMovement.Kind.values
    }


@dataclass(frozen=True)
class LineLedger:
    """A budget line's recorded figures beside the sums of its movements, read in one statement (one
    snapshot of the database), with the line's ledger stamp at that moment (``None``: no stamp)."""

    recorded: dict[str, Decimal]
    movements: dict[str, Decimal]
    version: int | None

    @property
    def mismatches(self) -> list[str]:
        return [f for f in LINE_FIGURES if self.recorded[f] != self.movements[f]]


def line_ledgers(lines: QuerySet[BudgetLine] | Iterable[int]) -> dict[int, LineLedger]:
    """``{line pk: LineLedger}`` of the given lines (a queryset or primary keys), in one query.

    The figures, the stamp and the sums come from the same statement, so a movement committed meanwhile
    can never show as a mismatch, and the sums are exactly those of the stamp's version."""
    if not isinstance(lines, QuerySet):
        lines = BudgetLine.objects.filter(pk__in=list(lines))
    rows = lines.order_by().values("pk", *LINE_FIGURES, "ledger_stamp__version").annotate(**_ledger_sums())
    return {
        row["pk"]: LineLedger(
            recorded={f: row[f] for f in LINE_FIGURES},
            movements=_figures_from_sums(row),
            version=row["ledger_stamp__version"],
        )
        for row in rows
    }


def ledger_mismatches(lines: QuerySet[BudgetLine] | None = None) -> list[dict]:
    """Every (line, figure) whose recorded value differs from the sum of its movements.

    One query over all lines (``line_ledgers``). Empty list: the ledger reconciles.
    """
    ledgers = line_ledgers(BudgetLine.objects.all() if lines is None else lines)
    return [
        {
            "line": pk,
            "figure": figure,
            "recorded": ledger.recorded[figure],
            "movements": ledger.movements[figure],
        }
        for pk, ledger in sorted(ledgers.items())
        for figure in ledger.mismatches
    ]
