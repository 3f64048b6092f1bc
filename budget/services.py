"""Every write of the budget: programs, funding sources, budget lines, scopes and the ledger.

Ledger operations (``reserve``, ``commit``, ``execute``, ``pay``…) are called by the case services,
which have already authorised the case action. Each one, in one transaction:

1. locks the line and re-reads it (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE
   transaction already holds the database write lock, ``select_for_update`` does nothing there);
2. checks that the line — and the case's own share of it — can cover the amount, refusing with a
   clear ``BudgetRefused`` (a ``ValidationError`` → HTTP 400) otherwise;
3. writes the new figures with a compare-and-set ``UPDATE … WHERE <figures as read>`` (a portable
   guard that does not rely on the lock), with the database CheckConstraints as the last line of
   defence (a violation becomes a ``ValidationError``, never a 500);
4. appends one ``BudgetMovement`` row and, as the last step, its audit entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

import audit
from audit.actions import AuditAction
from audit.flags import services_write_permissions
from cases import sqltemplate, tx
from cases.clock import today
from cases.errors import Conflict
from cases.money import bs, clean_amount
from cases.permissions import require

from .models import (
    FIGURE_DELTAS,
    LINE_FIGURES,
    LINE_KEY_FIELDS,
    MAX_FISCAL_YEAR,
    MIN_FISCAL_YEAR,
    SIGEP_CODE_FIELDS,
    BudgetLine,
    BudgetMovement,
    FundingSource,
    Program,
    ProgramGroupObjectPermission,
    ProgramUserObjectPermission,
    SubProgram,
)
from .selectors import case_figures

Kind = BudgetMovement.Kind
PROGRAM_PERMISSION = "budget.work_in_program"
MANAGER_CODENAME = "manage_program"
MANAGER_PERMISSION = f"budget.{MANAGER_CODENAME}"
CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
# SIGEP codes (DA/UE, activity, organismo financiador, partida) and C-31 numbers: also "/" and ".".
SIGEP_CHARS = CODE_CHARS | {"/", "."}
SIGEP_CODE_LENGTH = 20
C31_LENGTH = 30

AUDIT_ACTION = {
    Kind.RESERVE: AuditAction.BUDGET_RESERVED,
    Kind.RELEASE_RESERVATION: AuditAction.BUDGET_RESERVATION_RELEASED,
    Kind.COMMIT: AuditAction.BUDGET_COMMITTED,
    Kind.RELEASE_COMMITMENT: AuditAction.BUDGET_COMMITMENT_RELEASED,
    Kind.EXECUTE: AuditAction.BUDGET_EXECUTED,
    Kind.PAY: AuditAction.BUDGET_PAID,
    Kind.REFUND: AuditAction.BUDGET_REFUNDED,
    Kind.EXPENDITURE: AuditAction.BUDGET_EXPENDITURE,
}


class BudgetRefused(ValidationError):
    """A ledger operation the line (or the case's share of it) cannot cover; nothing was changed.

    A ``ValidationError`` on the field ``amount`` (HTTP 400), code ``insufficient_budget``.
    """


# --- Input --------------------------------------------------------------------------------------------


def clean_code(value, field: str = "code", *, max_length: int) -> str:
    code = str(value or "").strip().upper()
    if not code:
        raise ValidationError({field: [ValidationError(_("This field is required."), code="required")]})
    if len(code) > max_length or not set(code) <= CODE_CHARS:
        raise ValidationError(
            {
                field: [
                    ValidationError(
                        _("Use up to %(max)s letters, digits, hyphens or underscores.") % {"max": max_length},
                        code="invalid",
                    )
                ]
            }
        )
    return code


def _clean_name(value, field: str = "name", max_length: int = 200) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationError({field: [ValidationError(_("This field is required."), code="required")]})
    if len(name) > max_length:
        raise ValidationError(
            {
                field: [
                    ValidationError(
                        _("Use at most %(max)s characters.") % {"max": max_length}, code="max_length"
                    )
                ]
            }
        )
    return name


def clean_sigep_code(value, field: str, max_length: int = SIGEP_CODE_LENGTH) -> str:
    """An optional SIGEP code ("" when not given): letters, digits, "-", "_", "/" and ".", upper case."""
    code = str(value if value is not None else "").strip().upper()
    if len(code) > max_length or not set(code) <= SIGEP_CHARS:
        raise ValidationError(
            {
                field: [
                    ValidationError(
                        _("Use up to %(max)s letters, digits, hyphens, slashes or dots.")
                        % {"max": max_length},
                        code="invalid",
                    )
                ]
            }
        )
    return code


def clean_c31(value) -> str:
    """The number of a C-31 (SIGEP expense voucher), optional: "" when not given."""
    return clean_sigep_code(value, "c31_reference", C31_LENGTH)


def _clean_fiscal_year(value) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        year = None
    if year is None or isinstance(value, (bool, float)) or not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        raise ValidationError(
            {
                "fiscal_year": [
                    ValidationError(
                        _("Enter a fiscal year between %(min)s and %(max)s.")
                        % {"min": MIN_FISCAL_YEAR, "max": MAX_FISCAL_YEAR},
                        code="invalid",
                    )
                ]
            }
        )
    return year


def _program_from(value) -> Program:
    if isinstance(value, Program):
        return value
    program = Program.objects.filter(code=str(value or "").strip().upper()).first()
    if program is None:
        raise ValidationError(
            {"program": [ValidationError(_("Unknown program %(code)s.") % {"code": value}, code="unknown")]}
        )
    return program


def _source_from(value) -> FundingSource:
    if isinstance(value, FundingSource):
        return value
    source = FundingSource.objects.filter(code=str(value or "").strip().upper()).first()
    if source is None:
        raise ValidationError(
            {
                "source": [
                    ValidationError(_("Unknown funding source %(code)s.") % {"code": value}, code="unknown")
                ]
            }
        )
    return source


def _subprogram_from(value, program: Program | None) -> SubProgram | None:
    """The sub-program (instance, or code within ``program``); ``None`` when not given."""
    if value is None or value == "":
        return None
    subprogram: SubProgram | None
    if isinstance(value, SubProgram):
        subprogram = value
    else:
        code = str(value).strip().upper()
        subprogram = SubProgram.objects.filter(program=program, code=code).first() if program else None
        if subprogram is None:
            raise ValidationError(
                {
                    "subprogram": [
                        ValidationError(
                            _("Unknown sub-program %(code)s of program %(program)s.")
                            % {"code": code, "program": program.code if program else "—"},
                            code="unknown",
                        )
                    ]
                }
            )
    if program is not None and subprogram.program_id != program.pk:
        raise ValidationError(
            {
                "subprogram": [
                    ValidationError(
                        _("Sub-program %(code)s does not belong to program %(program)s.")
                        % {"code": subprogram.code, "program": program.code},
                        code="other_program",
                    )
                ]
            }
        )
    return subprogram


def _collect(*cleaners) -> list:
    """Run every cleaner, gather all their field errors, raise them together."""
    values, errors = [], {}
    for clean in cleaners:
        try:
            values.append(clean())
        except ValidationError as exc:
            values.append(None)
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    return values


# --- Programs, sources, lines ---------------------------------------------------------------------------


@transaction.atomic
def create_program(*, actor, code, name) -> Program:
    require(actor, "budget.create_program")
    code, name = _collect(lambda: clean_code(code, max_length=20), lambda: _clean_name(name))
    if Program.objects.filter(code=code).exists():
        raise _duplicate_code(_("A program with code %(code)s already exists.") % {"code": code})
    program = Program(code=code, name=name)
    try:
        with transaction.atomic():
            program.save()
    except IntegrityError:
        raise _duplicate_code(_("A program with code %(code)s already exists.") % {"code": code}) from None
    audit.record(AuditAction.PROGRAM_CREATED, actor=actor, subject=program, data={"code": code, "name": name})
    return program


@transaction.atomic
def create_source(*, actor, code, name) -> FundingSource:
    require(actor, "budget.create_source")
    code, name = _collect(lambda: clean_code(code, max_length=10), lambda: _clean_name(name))
    message = _("A funding source with code %(code)s already exists.") % {"code": code}
    if FundingSource.objects.filter(code=code).exists():
        raise _duplicate_code(message)
    source = FundingSource(code=code, name=name)
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        raise _duplicate_code(message) from None
    audit.record(AuditAction.SOURCE_CREATED, actor=actor, subject=source, data={"code": code, "name": name})
    return source


@transaction.atomic
def create_subprogram(*, actor, program, code, name) -> SubProgram:
    """A sub-program or project of ``program`` (finance/admin, within their program scopes)."""
    require(actor, "budget.create_subprogram")
    program, code, name = _collect(
        lambda: _program_from(program), lambda: clean_code(code, max_length=20), lambda: _clean_name(name)
    )
    require(actor, "budget.create_subprogram", program)
    message = _("Program %(program)s already has a sub-program with code %(code)s.") % {
        "program": program.code,
        "code": code,
    }
    if SubProgram.objects.filter(program=program, code=code).exists():
        raise _duplicate_code(message)
    subprogram = SubProgram(program=program, code=code, name=name)
    try:
        with transaction.atomic():
            subprogram.save()
    except IntegrityError:
        raise _duplicate_code(message) from None
    audit.record(
        AuditAction.SUBPROGRAM_CREATED,
        actor=actor,
        subject=subprogram,
        data={"program": program.code, "code": code, "name": name},
    )
    return subprogram


def _duplicate_code(message: str) -> ValidationError:
    return ValidationError({"code": [ValidationError(message, code="unique")]})


def _duplicate_line(line: BudgetLine) -> ValidationError:
    if not line.subprogram_id and not any(getattr(line, f) for f in SIGEP_CODE_FIELDS):
        return ValidationError(
            _(
                "A budget line for fiscal year %(year)s, program %(program)s and source %(source)s "
                "already exists."
            )
            % {"year": line.fiscal_year, "program": line.program.code, "source": line.source.code},
            code="unique",
        )
    return ValidationError(
        _("Budget line %(line)s already exists.") % {"line": line},
        code="unique",
    )


def line_key(line: BudgetLine) -> dict:
    """The SIGEP key of ``line`` as filter arguments (``LINE_KEY_FIELDS``)."""
    return {field: getattr(line, field) for field in LINE_KEY_FIELDS}


@transaction.atomic
def create_budget_line(
    *,
    actor,
    fiscal_year,
    program,
    source,
    amount_in_force,
    da_ue="",
    subprogram=None,
    activity="",
    funder="",
    object_of_expenditure="",
) -> BudgetLine:
    """Open a budget line (finance/admin, within their program scopes) with its amount in force.

    The SIGEP fields are optional (``""``/``None`` when not given); ``subprogram`` is a
    ``SubProgram`` or its code within ``program``. The line's key is all of them together: two lines
    may share year, program and source when they differ in any SIGEP field."""
    require(actor, "budget.create_line")
    fiscal_year, program, source, amount, da_ue, activity, funder, partida = _collect(
        lambda: _clean_fiscal_year(fiscal_year),
        lambda: _program_from(program),
        lambda: _source_from(source),
        lambda: clean_amount(amount_in_force, "amount_in_force", allow_zero=True),
        lambda: clean_sigep_code(da_ue, "da_ue"),
        lambda: clean_sigep_code(activity, "activity"),
        lambda: clean_sigep_code(funder, "funder"),
        lambda: clean_sigep_code(object_of_expenditure, "object_of_expenditure"),
    )
    (subprogram,) = _collect(lambda: _subprogram_from(subprogram, program))
    require(actor, "budget.create_line", program)
    line = BudgetLine(
        fiscal_year=fiscal_year,
        program=program,
        source=source,
        amount_in_force=amount,
        da_ue=da_ue,
        subprogram=subprogram,
        activity=activity,
        funder=funder,
        object_of_expenditure=partida,
    )
    if BudgetLine.objects.filter(**line_key(line)).exists():
        raise _duplicate_line(line)
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        raise _duplicate_line(line) from None
    if amount > 0:
        BudgetMovement.objects.create(line=line, kind=Kind.ALLOCATE, amount=amount, actor=actor)
    data = {
        "fiscal_year": fiscal_year,
        "program": program.code,
        "source": source.code,
        "amount_in_force": amount,
    }
    data.update({f: getattr(line, f) for f in SIGEP_CODE_FIELDS if getattr(line, f)})
    if subprogram is not None:
        data["subprogram"] = subprogram.code
    audit.record(AuditAction.BUDGET_LINE_CREATED, actor=actor, subject=line, data=data)
    return line


@transaction.atomic
def modify_line(line: BudgetLine, *, actor, amount_in_force, reason: str = "") -> BudgetLine:
    """Change the amount in force (budget modification); never below what is already used."""
    new_amount = clean_amount(amount_in_force, "amount_in_force", allow_zero=True)
    line = _lock_line(line)
    require(actor, "budget.modify_line", line)
    old_amount = line.amount_in_force
    if new_amount == old_amount:
        return line
    if new_amount < line.used:
        raise ValidationError(
            {
                "amount_in_force": [
                    ValidationError(
                        _(
                            "The amount in force of line %(line)s cannot be less than what is already "
                            "reserved, committed and executed (Bs %(used)s)."
                        )
                        % {"line": line, "used": bs(line.used)},
                        code="below_used",
                    )
                ]
            }
        )
    kind = Kind.ALLOCATE if new_amount > old_amount else Kind.REDUCE
    line = _write_figures(line, kind, abs(new_amount - old_amount))
    BudgetMovement.objects.create(
        line=line, kind=kind, amount=abs(new_amount - old_amount), actor=actor, description=reason[:500]
    )
    audit.record(
        AuditAction.BUDGET_LINE_MODIFIED,
        actor=actor,
        subject=line,
        data={"from": old_amount, "to": new_amount, "reason": reason[:500]},
    )
    return line


# --- Program scopes -------------------------------------------------------------------------------------


@transaction.atomic
def grant_program_scope(user, program, *, actor) -> bool:
    """Scope a staff user (or a group) to a program. A user with no program scope sees every program."""
    program = _program_from(program)
    require(actor, "budget.manage_scopes", user)
    if _holds_program_perm(user, program):
        return False
    with services_write_permissions():
        assign_perm(PROGRAM_PERMISSION, user, program)
    audit.record(AuditAction.SCOPE_GRANTED, actor=actor, subject=user, data={"program": program.code})
    return True


@transaction.atomic
def revoke_program_scope(user, program, *, actor) -> bool:
    program = _program_from(program)
    require(actor, "budget.manage_scopes", user)
    if not _holds_program_perm(user, program):
        return False
    with services_write_permissions():
        remove_perm(PROGRAM_PERMISSION, user, program)
    audit.record(AuditAction.SCOPE_REVOKED, actor=actor, subject=user, data={"program": program.code})
    return True


@transaction.atomic
def grant_program_management(user, program, *, actor) -> bool:
    """Make a staff user the manager of a program: it configures the program's calls (its pages
    and ``POST /api/v1/calls/``). Administrators grant it; audited as a scope."""
    program = _program_from(program)
    require(actor, "budget.manage_scopes", user)
    if _holds_program_perm(user, program, codename=MANAGER_CODENAME):
        return False
    with services_write_permissions():
        assign_perm(MANAGER_PERMISSION, user, program)
    audit.record(
        AuditAction.SCOPE_GRANTED, actor=actor, subject=user, data={"program": program.code, "manages": True}
    )
    return True


@transaction.atomic
def revoke_program_management(user, program, *, actor) -> bool:
    program = _program_from(program)
    require(actor, "budget.manage_scopes", user)
    if not _holds_program_perm(user, program, codename=MANAGER_CODENAME):
        return False
    with services_write_permissions():
        remove_perm(MANAGER_PERMISSION, user, program)
    audit.record(
        AuditAction.SCOPE_REVOKED, actor=actor, subject=user, data={"program": program.code, "manages": True}
    )
    return True


def _holds_program_perm(user_or_group, program: Program, *, codename: str = "work_in_program") -> bool:
    perm = {"permission__codename": codename, "content_object": program}
    if isinstance(user_or_group, Group):
        return ProgramGroupObjectPermission.objects.filter(group=user_or_group, **perm).exists()
    return ProgramUserObjectPermission.objects.filter(user=user_or_group, **perm).exists()


# --- Ledger ---------------------------------------------------------------------------------------------


def _lock_line(line: BudgetLine | int) -> BudgetLine:
    pk = line.pk if isinstance(line, BudgetLine) else line
    # Built once (``cases.sqltemplate``): every money decision locks its line this way.
    return sqltemplate.instance(("budget.lock_line",), _line_for_update, {"pk": pk})


def _line_for_update(pk: int):
    return (
        BudgetLine.objects.select_for_update(of=("self",))
        .select_related("program", "source", "subprogram")
        .filter(pk=pk)
    )


def _case_reference(case) -> tuple[ContentType | None, int | None, str]:
    if case is None:
        return None, None, ""
    code = str(getattr(case, "case_code", "") or "")[:32]
    if isinstance(case, models.Model) and isinstance(case.pk, int):
        return ContentType.objects.get_for_model(case), case.pk, code
    return None, None, code


def _where(line: BudgetLine, case_code: str) -> str:
    if case_code:
        return _("line %(line)s for case %(case)s") % {"line": line, "case": case_code}
    return _("line %(line)s") % {"line": line}


def _refuse(message: str) -> BudgetRefused:
    return BudgetRefused({"amount": [ValidationError(message, code="insufficient_budget")]})


def _check(line: BudgetLine, kind: Kind, amount: Decimal, case_code: str) -> None:
    """Refuse (``BudgetRefused``) a move the line, or the case's own share of it, cannot cover."""
    if kind in (Kind.RESERVE, Kind.EXPENDITURE):
        if amount > line.available:
            raise _refuse(
                _(
                    "Insufficient budget on line %(line)s: "
                    "available Bs %(available)s, requested Bs %(amount)s."
                )
                % {"line": line, "available": bs(line.available), "amount": bs(amount)}
            )
        return
    share = case_figures(line, case_code) if case_code else None

    def current(figure: str) -> Decimal:
        value = getattr(line, figure) if figure != "unpaid" else line.executed - line.paid
        if share is not None:
            mine = share[figure] if figure != "unpaid" else share["executed"] - share["paid"]
            value = min(value, mine)
        return value

    messages = {
        Kind.RELEASE_RESERVATION: (
            "reserved",
            _("Cannot release Bs %(amount)s: only Bs %(current)s is reserved on %(where)s."),
        ),
        Kind.COMMIT: (
            "reserved",
            _("Cannot commit Bs %(amount)s: only Bs %(current)s is reserved on %(where)s."),
        ),
        Kind.RELEASE_COMMITMENT: (
            "committed",
            _("Cannot release Bs %(amount)s: only Bs %(current)s is committed on %(where)s."),
        ),
        Kind.EXECUTE: (
            "committed",
            _("Cannot execute Bs %(amount)s: only Bs %(current)s is committed on %(where)s."),
        ),
        Kind.PAY: (
            "unpaid",
            _("Cannot pay Bs %(amount)s: only Bs %(current)s is executed and unpaid on %(where)s."),
        ),
        Kind.REFUND: (
            "paid",
            _("Cannot refund Bs %(amount)s: only Bs %(current)s has been paid on %(where)s."),
        ),
    }
    figure, message = messages[kind]
    available = current(figure)
    if amount > available:
        raise _refuse(
            message % {"amount": bs(amount), "current": bs(available), "where": _where(line, case_code)}
        )


def _write_figures(line: BudgetLine, kind: str, amount: Decimal) -> BudgetLine:
    """Apply ``kind`` to the locked ``line``: compare-and-set on the figures as read, so a concurrent
    change that slipped past the lock makes this fail (409) instead of being overwritten."""
    as_read = {f: getattr(line, f) for f in LINE_FIGURES}
    new = dict(as_read)
    for figure, sign in FIGURE_DELTAS[kind].items():
        new[figure] = as_read[figure] + sign * amount
    try:
        # No savepoint of its own: ``_move`` (atomic) rolls back to its savepoint on the way out.
        updated = BudgetLine.objects.filter(pk=line.pk, **as_read).update(**new, updated_at=timezone.now())
    except IntegrityError:
        # The CheckConstraints: the last line of defence, should the checks above ever miss.
        raise _refuse(
            _("The movement would break the rules of budget line %(line)s; nothing was changed.")
            % {"line": line}
        ) from None
    if updated != 1:
        raise Conflict(_("Budget line %(line)s changed at the same time; try again.") % {"line": line})
    for figure, value in new.items():
        setattr(line, figure, value)
    return line


@tx.atomic
def _move(
    line,
    kind: Kind,
    amount,
    *,
    actor,
    case=None,
    description: str = "",
    date: dt.date | None = None,
    c31_reference="",
) -> BudgetMovement:
    amount, c31 = _collect(lambda: clean_amount(amount), lambda: clean_c31(c31_reference))
    case_type, case_id, case_code = _case_reference(case)
    line = _lock_line(line)
    _check(line, kind, amount, case_code)
    line = _write_figures(line, kind, amount)
    movement = BudgetMovement.objects.create(
        line=line,
        kind=kind,
        amount=amount,
        case_type=case_type,
        case_id=case_id,
        case_code=case_code,
        actor=actor,
        date=date,
        description=description,
        c31_reference=c31,
    )
    data = {
        "movement": movement.pk,
        "line": str(line),
        "amount": amount,
        "reserved": line.reserved,
        "committed": line.committed,
        "executed": line.executed,
        "paid": line.paid,
        "available": line.available,
    }
    if date is not None:
        data["date"] = date
    if description:
        data["description"] = description
    if c31:
        data["c31_reference"] = c31
    audit.record(AUDIT_ACTION[kind], actor=actor, subject=line, data=data, case=case_code)
    return movement


def reserve(line, amount, *, actor, case=None) -> BudgetMovement:
    """Budget certification: reserve ``amount`` of what is available on the line for ``case``."""
    return _move(line, Kind.RESERVE, amount, actor=actor, case=case)


def release_reservation(line, amount, *, actor, case=None) -> BudgetMovement:
    """Give back (part of) a reservation (case rejected, withdrawn, cancelled…)."""
    return _move(line, Kind.RELEASE_RESERVATION, amount, actor=actor, case=case)


def release_held(case, *, actor) -> None:
    """Give back to the case's budget line whatever the case still holds reserved or committed there
    (from its own ledger movements), inside the caller's transaction. Executed or paid money stays:
    it is recovered, not released. The exit hook of every case kind whose exit ends the grant
    without paying (``cases.kinds.CaseKind.on_enter``); any case with ``budget_line`` and ``code``."""
    line = getattr(case, "budget_line", None)
    if line is None:
        return
    held = case_figures(line, case.code)
    if held["reserved"] > 0:
        release_reservation(line, held["reserved"], actor=actor, case=case)
    if held["committed"] > 0:
        release_commitment(line, held["committed"], actor=actor, case=case)


def commit(line, amount, *, actor, case=None) -> BudgetMovement:
    """Agreement signed: turn (part of) the case's reservation into a commitment."""
    return _move(line, Kind.COMMIT, amount, actor=actor, case=case)


def release_commitment(line, amount, *, actor, case=None) -> BudgetMovement:
    """Give back (part of) a commitment (agreement cancelled, unspent at close-out…)."""
    return _move(line, Kind.RELEASE_COMMITMENT, amount, actor=actor, case=case)


def execute(line, amount, *, actor, case=None, c31_reference="") -> BudgetMovement:
    """Disbursement ordered / delivery made (devengado): turn part of the commitment into execution.
    ``c31_reference``: the number of the SIGEP expense voucher (C-31), when the caller has it."""
    return _move(line, Kind.EXECUTE, amount, actor=actor, case=case, c31_reference=c31_reference)


def pay(line, amount, *, actor, case=None, c31_reference="") -> BudgetMovement:
    """Payment confirmed for executed (accrued) money, with its C-31 number when given."""
    return _move(line, Kind.PAY, amount, actor=actor, case=case, c31_reference=c31_reference)


def refund(line, amount, *, actor, case=None, c31_reference="") -> BudgetMovement:
    """Unspent balance returned (devolución de saldos): reduces executed and paid, freeing the money."""
    return _move(line, Kind.REFUND, amount, actor=actor, case=case, c31_reference=c31_reference)


def _clean_expenditure_date(value, line: BudgetLine) -> dt.date:
    day = value if isinstance(value, dt.date) else parse_date(str(value or "")) if value else None
    if isinstance(day, dt.datetime):
        day = day.date()
    if day is None:
        raise ValidationError(
            {"date": [ValidationError(_("Enter a valid date (YYYY-MM-DD)."), code="invalid")]}
        )
    if day.year != line.fiscal_year:
        raise ValidationError(
            {
                "date": [
                    ValidationError(
                        _("The date must fall within fiscal year %(year)s.") % {"year": line.fiscal_year},
                        code="fiscal_year",
                    )
                ]
            }
        )
    if day > today():
        raise ValidationError(
            {"date": [ValidationError(_("The date cannot be in the future."), code="future")]}
        )
    return day


@transaction.atomic
def record_expenditure(line, *, actor, amount, date, description, c31_reference="") -> BudgetMovement:
    """Operating expenditure (salaries, services) executed directly against a line (finance only),
    with the number of its C-31 when given; refused when it exceeds what is available."""
    locked = _lock_line(line)
    require(actor, "budget.record_expenditure", locked)
    amount, day, description, c31 = _collect(
        lambda: clean_amount(amount),
        lambda: _clean_expenditure_date(date, locked),
        lambda: _clean_name(description, "description", 500),
        lambda: clean_c31(c31_reference),
    )
    return _move(
        locked,
        Kind.EXPENDITURE,
        amount,
        actor=actor,
        case=None,
        description=description,
        date=day,
        c31_reference=c31,
    )
