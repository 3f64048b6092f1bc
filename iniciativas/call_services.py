"""Writes on calls for proposals (convocatorias): open one, edit it, and version it.

The pages (``iniciativas.call_views``), the API (``POST``/``PATCH /api/v1/calls/``), ``seed_demo`` and
the tests call these functions; each checks the actor's permission on the call's program (an
administrator, or the program's manager: ``iniciativas.manage_calls``), validates every field at once
(a ``ValidationError`` keyed by field, nothing written), saves and writes its audit entry in one
transaction.

A version nobody has submitted to is edited in place (``call.updated``). Once a submission exists,
an edit writes a new version of the call (``call.version_created``): the new row becomes the
current one, the old row stays as it was for the cases submitted under it, and drafts move to the
current version when they are submitted (``services.submit_initiative``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from cases.permissions import require

from .models import Call, DocumentKind, TrancheUnlock

# What a call's configuration is made of (the fields an edit may change; ``code`` never changes).
CALL_FIELDS = (
    "title",
    "program",
    "opens_on",
    "closes_on",
    "max_amount",
    "min_counterpart_share",
    "required_documents",
    "evaluators",
    "rubric",
    "threshold",
    "disagreement_points",
    "tranche_plan",
    "tranche_unlocks",
    "observation_days",
)
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,29}$")
RUBRIC_TOTAL = 100
MAX_EVALUATORS = 5
MAX_OBSERVATION_DAYS = 90


def _decimal(value, field: str, errors: dict, *, places: int = 2) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        errors.setdefault(field, []).append(_("Enter a number."))
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def _integer(value, field: str, errors: dict, *, low: int, high: int) -> int | None:
    try:
        number = int(str(value).strip()) if value not in (None, "") and not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        errors.setdefault(field, []).append(
            _("Enter a whole number between %(low)s and %(high)s.") % {"low": low, "high": high}
        )
        return None
    return number


def _date(value, field: str, errors: dict) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date (YYYY-MM-DD)."))
        return None


def _program(value, errors: dict):
    from budget.models import Program

    if isinstance(value, Program):
        return value
    program = Program.objects.filter(code=str(value or "").strip().upper()).first()
    if program is None:
        errors.setdefault("program", []).append(_("Unknown program %(code)s.") % {"code": value or "—"})
    return program


def _rubric(rubric, errors: dict) -> list[dict]:
    """The criteria as stored: ``{"code", "label", "max", "text"}`` (``text``: what the evaluator
    reads under the criterion, optional)."""
    criteria: list[dict] = []
    problems: list[str] = []
    if not isinstance(rubric, list | tuple) or not rubric:
        errors.setdefault("rubric", []).append(_("Give the rubric at least one criterion."))
        return criteria
    for n, item in enumerate(rubric, start=1):
        item = dict(item) if isinstance(item, dict) else {}
        code = str(item.get("code") or "").strip()
        label = str(item.get("label") or "").strip()
        text = str(item.get("text") or "").strip()
        try:
            points = int(str(item.get("max", "")).strip())
        except ValueError:
            points = 0
        if not code or not label:
            problems.append(_("Criterion %(n)s needs a code and a text.") % {"n": n})
        elif not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", code):
            problems.append(
                _("Criterion %(n)s: the code takes lowercase letters, digits and _ (e.g. relevance).")
                % {"n": n}
            )
        if points <= 0:
            problems.append(_("Criterion %(n)s needs a maximum of at least 1 point.") % {"n": n})
        if len(label) > 200 or len(text) > 1000:
            problems.append(_("Criterion %(n)s: keep its text shorter.") % {"n": n})
        criteria.append({"code": code, "label": label, "max": points, "text": text})
    codes = [c["code"] for c in criteria if c["code"]]
    if len(codes) != len(set(codes)):
        problems.append(_("Two criteria have the same code."))
    if not problems and sum(c["max"] for c in criteria) != RUBRIC_TOTAL:
        problems.append(
            _("The rubric's maximum points must add up to 100 (they add up to %(total)s).")
            % {"total": sum(c["max"] for c in criteria)}
        )
    if problems:
        errors.setdefault("rubric", []).extend(problems)
    return criteria


def _plan(tranche_plan, tranche_unlocks, errors: dict) -> tuple[list, list[str]]:
    plan: list[Decimal] = []
    try:
        plan = [Decimal(str(p).strip()) for p in tranche_plan or ()]
    except (InvalidOperation, ValueError, TypeError):
        plan = []
    if not plan or any(not p.is_finite() or p <= 0 for p in plan) or sum(plan) != 100:
        total = sum((p for p in plan if p.is_finite()), Decimal(0))
        errors.setdefault("tranche_plan", []).append(
            _("The tranche percentages must be positive and add up to 100 (they add up to %(total)s).")
            % {"total": format(total.normalize(), "f")}
        )
    unlocks = [str(u or "").strip() for u in tranche_unlocks or ()]
    if not unlocks:  # the flow's default: the agreement, then each previous progress report
        unlocks = [TrancheUnlock.AGREEMENT.value] + [TrancheUnlock.PROGRESS_REPORT.value] * (len(plan) - 1)
    if len(unlocks) != len(plan):
        errors.setdefault("tranche_plan", []).append(_("Say what unlocks each tranche."))
    elif any(u not in TrancheUnlock.values for u in unlocks):
        errors.setdefault("tranche_plan", []).append(_("Choose what unlocks each tranche from the list."))
    elif unlocks and unlocks[0] != TrancheUnlock.AGREEMENT:
        errors.setdefault("tranche_plan", []).append(
            _("The first tranche is unlocked by the signed agreement.")
        )
    stored = [int(p) if p == int(p) else str(p.normalize()) for p in plan]
    return stored, unlocks


def _clean(values: dict, *, code: str | None) -> tuple[dict, dict[str, list[str]]]:
    """Every field checked at once: (clean values, field -> messages)."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if code is not None:
        code = str(code or "").strip().upper()
        if not CODE_PATTERN.match(code):
            errors["code"] = [
                _(
                    "Give the call a code of 2 to 30 capital letters, digits and hyphens "
                    "(e.g. PROLECHE-2026-02)."
                )
            ]
        elif Call.objects.filter(code=code).exists():
            errors["code"] = [_("A call with the code %(code)s already exists.") % {"code": code}]
        clean["code"] = code
    title = str(values.get("title") or "").strip()
    if not title:
        errors["title"] = [_("Give the call a title.")]
    elif len(title) > 200:
        errors["title"] = [_("Keep the title under 200 characters.")]
    clean["title"] = title
    clean["program"] = _program(values.get("program"), errors)
    opens = _date(values.get("opens_on"), "opens_on", errors)
    closes = _date(values.get("closes_on"), "closes_on", errors)
    if opens and closes and closes < opens:
        errors.setdefault("closes_on", []).append(_("The call cannot close before it opens."))
    clean["opens_on"], clean["closes_on"] = opens, closes
    from cases.money import clean_amount

    try:
        clean["max_amount"] = clean_amount(values.get("max_amount"), "max_amount")
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    share = _decimal(values.get("min_counterpart_share"), "min_counterpart_share", errors)
    if share is not None and not Decimal(0) <= share <= Decimal(1):
        errors.setdefault("min_counterpart_share", []).append(
            _("The counterpart share is a fraction between 0 and 1 (0.50 is half of the cost).")
        )
    clean["min_counterpart_share"] = share
    documents = values.get("required_documents") or []
    if isinstance(documents, str) or not isinstance(documents, list | tuple):
        errors["required_documents"] = [_("Give the required documents as a list of kinds.")]
        documents = []
    unknown = sorted({str(d) for d in documents} - set(DocumentKind.values))
    if unknown:
        errors["required_documents"] = [
            _("Unknown document kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)}
        ]
    clean["required_documents"] = list(dict.fromkeys(str(d) for d in documents))
    clean["evaluators"] = _integer(values.get("evaluators"), "evaluators", errors, low=1, high=MAX_EVALUATORS)
    clean["observation_days"] = _integer(
        values.get("observation_days"), "observation_days", errors, low=1, high=MAX_OBSERVATION_DAYS
    )
    rubric = _rubric(values.get("rubric"), errors)
    clean["rubric"] = rubric
    threshold = _decimal(values.get("threshold"), "threshold", errors)
    total = sum(c["max"] for c in rubric)
    if threshold is not None:
        if threshold <= 0:
            errors.setdefault("threshold", []).append(_("The pass mark must be more than 0 points."))
        elif threshold > total and "rubric" not in errors:
            errors.setdefault("threshold", []).append(
                _("The pass mark cannot exceed the rubric's %(total)s points.") % {"total": total}
            )
    clean["threshold"] = threshold
    points = _decimal(values.get("disagreement_points", Decimal(20)), "disagreement_points", errors)
    if points is not None and not Decimal(0) < points <= RUBRIC_TOTAL:
        errors.setdefault("disagreement_points", []).append(_("Enter a number of points between 1 and 100."))
    clean["disagreement_points"] = points
    clean["tranche_plan"], clean["tranche_unlocks"] = _plan(
        values.get("tranche_plan"), values.get("tranche_unlocks"), errors
    )
    return clean, errors


def _audit_data(call: Call) -> dict:
    return {
        "code": call.code,
        "version": call.version,
        "program": call.program.code,
        "title": call.title,
        "opens_on": call.opens_on.isoformat(),
        "closes_on": call.closes_on.isoformat(),
        "max_amount": call.max_amount,
        "min_counterpart_share": call.min_counterpart_share,
        "required_documents": list(call.required_documents),
        "evaluators": call.evaluators,
        "rubric": [{"code": c["code"], "max": c["max"]} for c in call.rubric],
        "threshold": call.threshold,
        "tranche_plan": list(call.tranche_plan),
        "tranche_unlocks": list(call.tranche_unlocks),
        "observation_days": call.observation_days,
    }


def _authorize(actor, program) -> None:
    require(
        actor,
        "iniciativas.manage_calls",
        program,
        message=_("Only an administrator or the manager of program %(program)s configures its calls.")
        % {"program": getattr(program, "code", "—")},
    )


@transaction.atomic
def create_call(
    *,
    actor,
    code: str,
    title: str,
    program,
    opens_on,
    closes_on,
    max_amount,
    min_counterpart_share,
    required_documents=(),
    rubric=(),
    threshold=Decimal("60"),
    evaluators: int = 2,
    disagreement_points=Decimal("20"),
    tranche_plan=(40, 40, 20),
    tranche_unlocks=(),
    observation_days: int = 10,
) -> Call:
    """Open a call for proposals (version 1): an administrator, or the manager of its program."""
    require(actor, "iniciativas.manage_calls")  # someone who configures calls at all, before reading
    values = {
        "title": title,
        "program": program,
        "opens_on": opens_on,
        "closes_on": closes_on,
        "max_amount": max_amount,
        "min_counterpart_share": min_counterpart_share,
        "required_documents": list(required_documents),
        "rubric": list(rubric),
        "threshold": threshold,
        "evaluators": evaluators,
        "disagreement_points": disagreement_points,
        "tranche_plan": list(tranche_plan),
        "tranche_unlocks": list(tranche_unlocks),
        "observation_days": observation_days,
    }
    clean, errors = _clean(values, code=code)
    if clean.get("program") is not None:
        _authorize(actor, clean["program"])
    if errors:
        raise ValidationError(errors)
    call = Call(**clean, version=1, is_current=True, created_by=actor)
    call.full_clean()
    call.save()
    audit.record(AuditAction.CALL_OPENED, actor=actor, subject=call, data=_audit_data(call))
    return call


def has_submissions(call: Call) -> bool:
    """Whether a case was ever submitted under this version (a withdrawn one counts too)."""
    return call.initiatives.exclude(submitted_at=None).exists()


@transaction.atomic
def update_call(call: Call, *, actor, **changes) -> Call:
    """Edit the current version of a call. In place while nobody has submitted to it; otherwise the
    edit becomes a new version (``version + 1``), the current one from now on, and the cases
    submitted under the old version keep it. ``changes`` holds any of ``CALL_FIELDS``; an edit that
    changes nothing writes nothing."""
    call = Call.objects.select_for_update().select_related("program").get(pk=call.pk)
    _authorize(actor, call.program)
    unknown = sorted(set(changes) - set(CALL_FIELDS))
    if unknown:
        raise ValidationError({field: [_("This field cannot be changed.")] for field in unknown})
    if not call.is_current:
        from cases.errors import Conflict

        raise Conflict(_("Only the current version of a call can be edited."))
    stored = {field: getattr(call, field) for field in CALL_FIELDS}
    baseline, _errors = _clean(stored, code=None)  # the stored version, written as an edit would be
    values = dict(stored)
    if "tranche_plan" in changes and "tranche_unlocks" not in changes:
        values["tranche_unlocks"] = []  # a new plan without its unlocks takes the default ones
    values.update(changes)
    clean, errors = _clean(values, code=None)
    if clean.get("program") is not None and clean["program"] != call.program:
        _authorize(actor, clean["program"])  # moving a call to another program: manage both
    if errors:
        raise ValidationError(errors)
    changed = {f: v for f, v in clean.items() if baseline.get(f) != v}
    if not changed:
        return call
    if not has_submissions(call):
        for field, value in changed.items():
            setattr(call, field, value)
        call.full_clean()
        call.save()
        audit.record(
            AuditAction.CALL_UPDATED,
            actor=actor,
            subject=call,
            data={**_audit_data(call), "changed": sorted(changed)},
        )
        return call
    Call.objects.filter(pk=call.pk).update(is_current=False)
    new = Call(
        code=call.code,
        version=call.version + 1,
        is_current=True,
        created_by=actor,
        **clean,
    )
    new.full_clean()
    new.save()
    audit.record(
        AuditAction.CALL_VERSIONED,
        actor=actor,
        subject=new,
        data={**_audit_data(new), "changed": sorted(changed), "previous_version": call.version},
    )
    return new
