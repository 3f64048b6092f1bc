"""What each kind of step asks for and what its decision does.

Case apps register one ``StepSpec`` per (case type, step) in their ``steps.py``. A spec describes
the data the step needs (``fields``, served to any client by the task API so it can build the
form), the decisions it accepts, and ``handle``: the domain effect of a decision (FSM transitions,
budget moves, domain rows), run inside ``approvals.services.complete_task``'s transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import sqltemplate
from cases.money import STRICT_AMOUNT, STRICT_AMOUNT_MESSAGE

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Decision:
    APPROVE = "approve"
    OBSERVE = "observe"
    REJECT = "reject"
    EXPIRE = "expire"  # only the system, when an applicant's deadline passes
    ALL = (APPROVE, OBSERVE, REJECT)


@dataclass(frozen=True)
class Field:
    name: str
    label: StrOrPromise
    type: str  # integer | decimal | string | boolean | date | list
    required: bool = True
    min: Any = None
    max: Any = None
    choices: list | None = None
    default: Any = None
    items: list[Field] | None = None
    # Only asked when the decision is one of these (None: always).
    for_decisions: tuple[str, ...] | None = None
    # What the person should know to fill it in (a rubric criterion's text); shown under the label.
    help: StrOrPromise = ""
    # The message of a value below ``min`` or above ``max`` (keys "min", "max"), when the generic
    # "Must be at least/most …" does not say enough (e.g. "the approved amount exceeds the requested").
    messages: dict[str, StrOrPromise] | None = None

    def describe(self) -> dict:
        out = {
            "name": self.name,
            "label": str(self.label),
            "type": self.type,
            "required": self.required,
            "min": _jsonable(self.min),
            "max": _jsonable(self.max),
            "choices": self.choices,
            "default": _jsonable(self.default),
            "items": [f.describe() for f in self.items] if self.items is not None else None,
        }
        if self.for_decisions is not None:
            out["for_decisions"] = list(self.for_decisions)
        if self.help:
            out["help"] = str(self.help)
        return out


def _jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class StepContext:
    task: Any
    case: Any
    actor: Any
    on_behalf_of: Any
    decision: str
    comment: str
    data: dict
    # Filled by the handler: what the audit entry of the decision should also carry.
    audit_data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scoring:
    """A step whose fields are scores of a rubric: which fields add up, to what maximum, and the
    pass mark the total is compared with (the page shows the criteria, a running total and the
    pass mark)."""

    fields: tuple[str, ...]
    maximum: Decimal
    threshold: Decimal


@dataclass(frozen=True)
class StepSpec:
    case_type: str
    step: str
    decisions: tuple[str, ...]
    fields: Callable[[Any, Any], list[Field]]
    handle: Callable[[StepContext], None]
    # The person working a task of this step first declares whether they have a conflict of interest
    # with the case (``approvals.services.declare_conflict``); until they declare none, the case's
    # documents stay closed to them and the decision is refused with a field error.
    asks_declaration: bool = False
    # A rubric to score (``Scoring``), read from the task and its case; None: no scores.
    scoring: Callable[[Any, Any], Scoring | None] | None = None


_SPECS: dict[tuple[str, str], StepSpec] = {}


def register(spec: StepSpec) -> StepSpec:
    key = (spec.case_type, spec.step)
    if key in _SPECS:
        raise ValueError(f"step {key} registered twice")
    _SPECS[key] = spec
    return spec


def spec_for(case_type: str, step: str) -> StepSpec:
    return _SPECS[(case_type, step)]


def declaration_steps() -> list[str]:
    """The steps (of any case type) whose specs ask for the declaration of conflict of interest."""
    return sorted({spec.step for spec in _SPECS.values() if spec.asks_declaration})


# The boolean a decision may carry to declare no conflict of interest as it is sent (API clients).
NO_CONFLICT_FIELD = "no_conflict"


# (fiscal year, {program id: its budget lines}) read once for a list of tasks: see ``certification_lines``.
_PRELOADED_LINES: ContextVar[tuple[int, dict[int, list]] | None] = ContextVar(
    "approvals_certification_lines", default=None
)


def _lines_query(year: int):
    from budget.models import BudgetLine

    return BudgetLine.objects.filter(fiscal_year=year).select_related("program", "source")


def _program_lines(year: int, program: int):
    return _lines_query(year).filter(program_id=program)


@contextmanager
def certification_lines(program_ids: Iterable[int]) -> Iterator[None]:
    """Within the block, ``certification_field`` takes the current year's budget lines of these
    programs from ONE query made here, instead of one query per budget-certification task (the
    API's task list describes the ``fields`` of a whole page of tasks)."""
    from django.utils import timezone

    year = timezone.localdate().year
    by_program: dict[int, list] = {pk: [] for pk in set(program_ids) if pk is not None}
    if by_program:
        for line in _lines_query(year).filter(program_id__in=list(by_program)):
            by_program[line.program_id].append(line)
    token = _PRELOADED_LINES.set((year, by_program))
    try:
        yield
    finally:
        _PRELOADED_LINES.reset(token)


def line_choice_label(line) -> str:
    """A budget line as finance picks it: ``2026 · PROLECHE · Fuente 41 Tesoro General de la Nación —
    disponible Bs 2.380.000,00`` (year, program, source with its name, what is still available)."""
    from cases.templatetags.expediente_tags import bs

    return _("%(year)s · %(program)s · Source %(source)s %(name)s — available %(amount)s") % {
        "year": line.fiscal_year,
        "program": line.program.code,
        "source": line.source.code,
        "name": line.source.name,
        "amount": bs(line.available),
    }


def certification_field(program, amount) -> Field:
    """The budget line a certification reserves on: the program's lines of the current fiscal year
    (with what each has available), the first that can take ``amount`` offered by default."""
    from django.utils import timezone
    from django.utils.translation import gettext_lazy

    year = timezone.localdate().year
    preloaded = _PRELOADED_LINES.get()
    if preloaded is not None and preloaded[0] == year and program.pk in preloaded[1]:
        lines = preloaded[1][program.pk]
    else:
        lines = sqltemplate.instances(
            ("approvals.certification_lines",), _program_lines, {"year": year, "program": program.pk}
        )
    enough = [ln for ln in lines if ln.available >= amount]
    return Field(
        "budget_line",
        gettext_lazy("Budget line to certify"),
        "integer",
        choices=[[ln.pk, line_choice_label(ln)] for ln in lines],
        default=enough[0].pk if enough else None,
        for_decisions=(Decision.APPROVE,),
    )


def c31_field() -> Field:
    """The optional C-31 number (SIGEP expense voucher) a payment step records on the budget line."""
    from django.utils.translation import gettext_lazy

    return Field(
        "c31_reference",
        gettext_lazy("C-31 number (SIGEP expense voucher)"),
        "string",
        required=False,
        help=gettext_lazy("Recorded with the payment on the budget line; leave empty if not issued yet."),
    )


def step_c31(ctx: StepContext) -> str:
    """The C-31 number of the step's data, checked as the budget checks it ("" when not given);
    a bad one is a ``data.c31_reference`` error and nothing changes."""
    from budget.services import clean_c31

    try:
        return clean_c31(ctx.data.get("c31_reference", ""))
    except ValidationError as exc:
        raise ValidationError({"data.c31_reference": exc.message_dict["c31_reference"]}) from None


# --- the approved amount, fixed at a certification ------------------------------------------------


def approved_amount_fields(requested: Decimal) -> list[Field]:
    """The amount granted, fixed where it is certified: the requested amount by default, never more,
    more than zero; a lower amount needs its reason (``clean_approved_amount``)."""
    from django.utils.translation import gettext_lazy

    from cases.money import bs

    return [
        Field(
            "approved_amount",
            gettext_lazy("Approved amount (Bs)"),
            "decimal",
            required=False,
            min=Decimal("0.01"),
            max=requested,
            default=requested,
            for_decisions=(Decision.APPROVE,),
            help=gettext_lazy("At most the requested amount; a lower amount needs its reason."),
            messages={
                "min": gettext_lazy("The approved amount must be greater than zero."),
                "max": _("The approved amount cannot exceed the requested amount, Bs %(requested)s.")
                % {"requested": bs(requested)},
            },
        ),
        Field(
            "approved_amount_reason",
            gettext_lazy("Reason for approving less than requested"),
            "string",
            required=False,
            for_decisions=(Decision.APPROVE,),
        ),
    ]


def clean_approved_amount(requested: Decimal, data: dict) -> tuple[Decimal, str]:
    """``(approved, reason)`` from a certification's cleaned ``data``: the requested amount when none
    was sent; the reason kept only for a lower amount. ``ValidationError`` (a field error, in the
    caller's language) for an amount above the requested one, not above zero, or lower without a
    reason."""
    from cases.money import bs

    approved = data.get("approved_amount", requested)
    reason = (data.get("approved_amount_reason") or "").strip()
    if approved <= 0:
        raise ValidationError({"data.approved_amount": [_("The approved amount must be greater than zero.")]})
    if approved > requested:
        raise ValidationError(
            {
                "data.approved_amount": [
                    _("The approved amount cannot exceed the requested amount, Bs %(requested)s.")
                    % {"requested": bs(requested)}
                ]
            }
        )
    if approved < requested and not reason:
        raise ValidationError(
            {
                "data.approved_amount_reason": [
                    _(
                        "Give the reason for approving Bs %(approved)s instead of the "
                        "Bs %(requested)s requested."
                    )
                    % {"approved": bs(approved), "requested": bs(requested)}
                ]
            }
        )
    return approved, (reason if approved < requested else "")


# --- validation of the data of a decision ---------------------------------------------------------


def _clean_value(f: Field, raw: Any, path: str, errors: dict[str, list[str]]):
    def fail(msg: str):
        errors.setdefault(path, []).append(msg)

    value: Any  # int, Decimal, str, bool, date or list of dicts, by ``f.type``
    if f.type == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            return fail(_("Enter a whole number."))
        try:
            value = int(raw)
        except ValueError:
            return fail(_("Enter a whole number."))
    elif f.type == "decimal":
        if isinstance(raw, bool | float) or not isinstance(raw, str | int | Decimal):
            return fail(_('Enter the amount as a decimal string, e.g. "1500.00".'))
        if isinstance(raw, str) and not STRICT_AMOUNT.fullmatch(raw):
            return fail(str(STRICT_AMOUNT_MESSAGE))
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            return fail(_('Enter a valid amount, e.g. "1500.00".'))
        if not value.is_finite() or value.as_tuple().exponent < -2:
            return fail(_("Enter an amount with at most 2 decimal places."))
    elif f.type == "string":
        if not isinstance(raw, str):
            return fail(_("Enter text."))
        value = raw.strip()
        if f.required and not value:
            return fail(_("This field is required."))
        if len(value) > 5000:
            return fail(_("Keep this text under 5000 characters."))
    elif f.type == "boolean":
        if not isinstance(raw, bool):
            return fail(_("Answer true or false."))
        value = raw
    elif f.type == "date":
        try:
            value = dt.date.fromisoformat(str(raw))
        except ValueError:
            return fail(_("Enter a date as YYYY-MM-DD."))
    elif f.type == "list":
        if not isinstance(raw, list):
            return fail(_("Enter a list."))
        value = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                fail(_("Item %(n)s must be an object.") % {"n": i + 1})
                continue
            value.append(_clean_fields(f.items or [], item, f"{path}[{i}]", errors))
        if f.min is not None and len(value) < f.min:
            return fail(_("Enter at least %(n)s items.") % {"n": f.min})
        if f.max is not None and len(value) > f.max:
            return fail(_("Enter at most %(n)s items.") % {"n": f.max})
        return value
    else:  # pragma: no cover - a spec error, not user input
        raise ValueError(f"unknown field type {f.type}")
    if f.choices is not None and value not in [c[0] if isinstance(c, list | tuple) else c for c in f.choices]:
        return fail(_("Select a valid choice."))
    if f.type in ("integer", "decimal", "date"):
        lo = Decimal(str(f.min)) if f.type == "decimal" and f.min is not None else f.min
        hi = Decimal(str(f.max)) if f.type == "decimal" and f.max is not None else f.max
        messages = f.messages or {}
        if lo is not None and value < lo:
            return fail(
                str(messages.get("min") or _("Must be at least %(min)s.") % {"min": _jsonable(f.min)})
            )
        if hi is not None and value > hi:
            return fail(str(messages.get("max") or _("Must be at most %(max)s.") % {"max": _jsonable(f.max)}))
    return value


def _clean_fields(fields: list[Field], data: dict, prefix: str, errors: dict[str, list[str]]) -> dict:
    cleaned = {}
    for f in fields:
        path = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in data or data[f.name] in (None, ""):
            if f.required:
                errors.setdefault(path, []).append(_("This field is required."))
            elif f.default is not None:
                cleaned[f.name] = f.default
            continue
        value = _clean_value(f, data[f.name], path, errors)
        if value is not None:
            cleaned[f.name] = value
    return cleaned


def clean_data(fields: list[Field], decision: str, data: Any) -> dict:
    """Validate ``data`` against the fields that apply to ``decision``; raise ``ValidationError``
    keyed ``data.<field>`` (nothing is changed when it raises)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError({"data": [_("Send the step's data as an object.")]})
    applicable = [f for f in fields if f.for_decisions is None or decision in f.for_decisions]
    errors: dict[str, list[str]] = {}
    cleaned = _clean_fields(applicable, data, "", errors)
    if errors:
        raise ValidationError({f"data.{k}": v for k, v in errors.items()})
    return cleaned
