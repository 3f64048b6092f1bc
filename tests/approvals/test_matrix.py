"""The whole role-by-step permission matrix (issue item 8): for EVERY step spec registered in
``approvals.steps`` — both case types, including the third (tie-break) evaluation, the director's
resolution above the director threshold, and the technical report wherever a policy has one — a
case is brought, through the services, to an open task of that step; then one person of every role
(none of whom did anything on the case before, so only the role decides) tries to claim it and to
decide it. Exactly the step's role may (for the applicant unit's steps: its members, who decide
without claiming, and nobody claims); everybody else is refused, and every refusal is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from approvals import selectors
from approvals import services as approvals
from approvals.steps import _SPECS, spec_for
from audit.models import AuditEntry
from iniciativas import services as ini
from registry.models import User
from tests.factories import UserFactory
from tests.iniciativas.conftest import RUBRIC, World, submitted
from transfers import services as transfers
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

INI, TRF = "initiative", "transfer"
REG = "registration"
CPA, LIQ = "compensation", "settlement"

# (case type, step) -> the one role that works it. Written out here, not read from the flows, so a
# flow routing a step to the wrong role fails this test.
STEP_ROLE = {
    (INI, "admissibility"): "evaluator",
    (INI, "answer_observation"): "applicant",
    (INI, "technical_evaluation"): "evaluator",
    (INI, "third_evaluation"): "evaluator",
    (INI, "technical_report"): "evaluator",
    (INI, "legal_report"): "legal",
    (INI, "budget_certification"): "finance",
    (INI, "director_resolution"): "director",
    (INI, "agreement"): "legal",
    (INI, "payment_order"): "finance",
    (INI, "payment_confirmation"): "finance",
    (INI, "progress_report"): "applicant",
    (INI, "progress_review"): "evaluator",
    (INI, "final_report"): "applicant",
    (INI, "final_inspection"): "evaluator",
    (INI, "closeout"): "finance",
    (TRF, "technical_report"): "evaluator",
    (TRF, "legal_report"): "legal",
    (TRF, "budget_certification"): "finance",
    (TRF, "answer_observation"): "applicant",
    (TRF, "director_resolution"): "director",
    (TRF, "agreement"): "legal",
    (TRF, "delivery_record"): "evaluator",
    (TRF, "delivery_acceptance"): "applicant",
    (TRF, "payment_order"): "finance",
    (TRF, "payment_confirmation"): "finance",
    (TRF, "followup_visit"): "evaluator",
    (TRF, "recovery"): "finance",
    (REG, "registration_review"): "evaluator",
    (REG, "answer_observation"): "applicant",
    (CPA, "budget_certification"): "finance",
    (CPA, "director_resolution"): "director",
    (LIQ, "settlement_verification"): "evaluator",
    (LIQ, "settlement_payment"): "finance",
}

# One probe per role, plus an applicant of another unit. ``None``: the unit of the case.
PROBES = {
    "p_applicant": ("applicant", None),
    "p_other_unit": ("applicant", "other"),
    "p_evaluator": ("evaluator", ""),
    "p_legal": ("legal", ""),
    "p_finance": ("finance", ""),
    "p_director": ("director", ""),
    "p_control": ("internal_control", ""),
    "p_admin": ("admin", ""),
}

# Who drives the cases to the step under test (the probes never act before it).
CAST = {
    "evaluator": ["evaluador1", "evaluador2", "evaluador3", "evaluador4"],
    "legal": ["legal1", "legal2"],
    "finance": ["finanzas1", "finanzas2", "finanzas3"],
    "director": ["director1", "director2"],
}

TYPED = {
    "opinion": "Procedente conforme a normativa.",
    "report": "Favorable.",
    "resolution_number": "RA-001/2026",
    "agreement_number": "CONV-001/2026",
    "no_conflict": True,
    "relevance": 34,
    "feasibility": 24,
    "impact": 22,
    "answer": "Adjuntamos lo observado.",
    "summary": "Se instaló el equipo.",
    "physical_progress": 50,
    "amount_spent": "0.00",
    "counterpart_spent": "50000.00",
    "counterpart_verified": True,
    "closeout_record": "ACTA-CIERRE-1",
    "record_number": "ACTA-ENT-1",
    "received": True,
    "findings": "Equipos en uso.",
    "reference": "DEV-1",
}


def test_the_matrix_covers_every_registered_step_spec():
    assert set(STEP_ROLE) == {(str(case_type), str(step)) for case_type, step in _SPECS}


# --- building the state through the services -------------------------------------------------------


def fill(task: CaseTask, overrides: dict | None = None) -> dict:
    """The step's form as a person fills it: the offered defaults, typed answers for the rest."""
    case = approvals.case_of(task)
    data = {}
    for f in (d.describe() for d in spec_for(task.case_type, task.step).fields(task, case)):
        if f["default"] is not None:
            data[f["name"]] = f["default"]
        elif f["name"] in TYPED:
            data[f["name"]] = TYPED[f["name"]]
        elif f["name"] == "payment_reference":
            data[f["name"]] = f"SIGEP-{task.pk}"
    if task.step == "delivery_record":
        data["items"] = [{**item, "serial": f"SN-{item['unit']:05d}"} for item in data["items"]]
    if task.step == "final_report":
        data.update(physical_progress=100, amount_spent="97500.00")
    data.update(overrides or {})
    return data


def _worker(world: World, task: CaseTask):
    if task.role == "applicant":
        return world.applicant
    for name in CAST[task.role]:
        user = User.objects.get(username=name)
        if approvals.refusal_reason(user, task) is None:
            return user
    raise AssertionError(f"nobody of the cast may work {task.step}")


def drive(world: World, code: str, target: str, steer=None) -> CaseTask:
    """Decide the case's open tasks, in order, until one of step ``target`` is open.
    ``steer(step, n)`` -> (decision, comment, data overrides) for the n-th task of a step."""
    seen: dict[str, int] = {}
    for _ in range(60):
        tasks = list(CaseTask.objects.filter(case_code=code, is_open=True).exclude(step="").order_by("pk"))
        for task in tasks:
            if task.step == target:
                return task
        assert tasks, f"{code} ended before reaching {target}"
        task = tasks[0]
        seen[task.step] = seen.get(task.step, 0) + 1
        decision, comment, overrides = (steer and steer(task.step, seen[task.step])) or ("approve", "", {})
        approvals.complete_task(
            task.pk,
            actor=_worker(world, task),
            decision=decision,
            comment=comment,
            data=fill(task, overrides),
        )
    raise AssertionError(f"{code} did not reach {target}")


def initiative_at(world: World, step: str) -> CaseTask:
    s = world.staff
    steer = None
    kwargs = {}
    if step == "answer_observation":

        def steer(current, n):
            return ("observe", "Falta la carta de contraparte.", {}) if current == "admissibility" else None

    elif step == "third_evaluation":
        high = {"no_conflict": True, "relevance": 40, "feasibility": 30, "impact": 30}
        low = {"no_conflict": True, "relevance": 10, "feasibility": 10, "impact": 10}

        def steer(current, n):
            if current == "technical_evaluation":
                return ("approve", "", high if n == 1 else low)
            return None

    elif step == "director_resolution":  # above Bs 200.000: the "ini-large" policy
        today = timezone.localdate()
        large = ini.create_call(
            actor=world.system,
            code=f"PROLECHE-{today.year}-2",
            title="Fondo PROLECHE, plantas",
            program=world.call.program,
            opens_on=today - dt.timedelta(days=10),
            closes_on=today + dt.timedelta(days=60),
            max_amount=Decimal("500000.00"),
            min_counterpart_share=Decimal("0.50"),
            required_documents=["project_profile", "counterpart_letter"],
            rubric=RUBRIC,
            threshold=Decimal("60"),
            evaluators=2,
            disagreement_points=Decimal("20"),
            tranche_plan=[40, 40, 20],
        )
        kwargs = {"call": large, "requested_amount": "300000.00", "counterpart_amount": "300000.00"}
    elif step == "technical_report":  # a policy version whose chain starts with a technical report
        approvals.save_policy_version(
            "ini-small",
            actor=s["admin1"],
            name="Iniciativas hasta Bs 200.000, con informe técnico",
            case_type=INI,
            program=None,
            min_amount="0",
            max_amount="200000",
            steps=[
                {"step": "technical_report", "role": "evaluator", "scope": "department", "deadline_days": 10},
                {"step": "legal_report", "role": "legal", "deadline_days": 5},
                {"step": "budget_certification", "role": "finance", "scope": "program", "deadline_days": 3},
            ],
        )
    case = submitted(world, **kwargs)
    return drive(world, case.code, step, steer)


def transfer_at(world: World, step: str) -> CaseTask:
    in_kind = step in ("delivery_record", "delivery_acceptance")
    transfer = transfers.create_transfer(
        actor=world.applicant,
        beneficiary=world.unit,
        modality="in_kind" if in_kind else "money",
        kind="public_private",
        program=world.call.program,
        amount=None if in_kind else "35000.00",
        assets=[{"description": "Tanque de enfriamiento", "quantity": 2, "unit_value": "20000.00"}]
        if in_kind
        else None,
        purpose="Acopio de leche de los socios.",
    )
    steer = None
    if step == "recovery":

        def steer(current, n):
            return ("reject", "Uso indebido de los fondos.", {}) if current == "followup_visit" else None

    elif step == "answer_observation":  # the top authority observes the certified transfer

        def steer(current, n):
            if current == "director_resolution":
                return ("observe", "Adjunte la cotización actualizada.", {})
            return None

    return drive(world, transfer.code, step, steer)


def registration_at(world: World, step: str) -> CaseTask:
    """A renewal of the world's unit, by its member, at ``step``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from registrations import services as registrations

    r = registrations.create_registration(actor=world.applicant, kind="renewal", unit=world.unit)
    for kind in r.required_documents:
        upload = SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
        registrations.upload_document(r, actor=world.applicant, kind=kind, uploaded_file=upload)
    registrations.submit_registration(r, actor=world.applicant)

    def steer(current, n):
        return ("observe", "Falta el informe de actividad.", {}) if current == "registration_review" else None

    return drive(world, r.code, step, steer if step == "answer_observation" else None)


def _agreement(world: World):
    from compensations import services as compensations

    this_month = timezone.localdate().replace(day=1)
    first = (this_month - dt.timedelta(days=80)).replace(day=1)
    return compensations.create_agreement(
        actor=world.staff["evaluador1"],
        unit=world.unit,
        budget_line=world.line,
        rate="0.40",
        first_month=first,
        last_month=this_month,
        ceiling="10000.00",
    )


def compensation_at(world: World, step: str) -> CaseTask:
    """A price-compensation agreement with the world's (dairy) unit, at ``step``."""
    return drive(world, _agreement(world).code, step)


def settlement_at(world: World, step: str) -> CaseTask:
    """Last month's litres of an agreement in force, declared by the unit's member, at ``step``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from compensations import services as compensations

    agreement = _agreement(world)
    for _ in range(5):
        task = CaseTask.objects.filter(case_code=agreement.code, is_open=True).exclude(step="").first()
        if task is None:
            break
        approvals.complete_task(task.pk, actor=_worker(world, task), decision="approve", data=fill(task))
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    settlement = compensations.declare_settlement(
        agreement.__class__.objects.get(pk=agreement.pk),
        actor=world.applicant,
        month=last_month,
        litres="1000.00",
        evidence=SimpleUploadedFile("planilla.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
    )
    return drive(world, settlement.code, step)


BUILDERS = {
    INI: "initiative_at",
    TRF: "transfer_at",
    REG: "registration_at",
    CPA: "compensation_at",
    LIQ: "settlement_at",
}


# --- the matrix ----------------------------------------------------------------------------------------


def refusals_of(user) -> list[str]:
    return list(
        AuditEntry.objects.filter(action="task.refused", actor=user)
        .order_by("seq")
        .values_list("data__attempt", flat=True)
    )


@pytest.mark.parametrize(("case_type", "step"), sorted(STEP_ROLE), ids=lambda v: str(v))
def test_exactly_the_steps_role_may_claim_and_decide_it(world: World, case_type, step):
    task = globals()[BUILDERS[case_type]](world, step)
    role = STEP_ROLE[(case_type, step)]
    assert task.role == role, f"the flow routes {step} to {task.role}"
    units = {None: world.unit, "other": world.other_unit, "": None}
    probes = {
        name: UserFactory(username=name, roles=[probe_role], unit=units[unit])
        for name, (probe_role, unit) in PROBES.items()
    }
    allowed = "p_applicant" if role == "applicant" else f"p_{role}"
    case = approvals.case_of(task)
    state = case.state
    data = fill(task)

    for name, probe in probes.items():
        probe = User.objects.get(pk=probe.pk)  # as a request loads it
        offered = selectors.task_list_open(probe).filter(pk=task.pk).exists()
        assert offered == (name == allowed), (step, name, "offered" if offered else "not offered")
        if name == allowed and role != "applicant":
            approvals.claim_task(task.pk, actor=probe)
            approvals.release_task(task.pk, actor=probe)
            assert refusals_of(probe) == []
            continue
        with pytest.raises(PermissionDenied):
            approvals.claim_task(task.pk, actor=probe)
        if name == allowed:  # the applicant unit's step: nobody claims it, its members decide it
            assert refusals_of(probe) == ["claim"]
            continue
        with pytest.raises(PermissionDenied):
            approvals.complete_task(task.pk, actor=probe, decision="approve", data=data)
        assert refusals_of(probe) == ["claim", "complete"], (step, name)
        task.refresh_from_db()
        assert task.is_open and task.owner_id is None
        assert type(case).objects.get(pk=case.pk).state == state

    # The step's role decides it.
    winner = probes[allowed]
    approvals.complete_task(task.pk, actor=winner, decision="approve", data=data)
    task.refresh_from_db()
    assert not task.is_open and task.decided_by == winner
    entry = AuditEntry.objects.filter(action="task.completed", case=task.case_code).order_by("-seq").first()
    assert (entry.actor, entry.data["step"], entry.data["task"]) == (winner, step, task.pk)
    assert AuditEntry.objects.filter(action="task.refused", case=task.case_code).count() == (
        2 * (len(PROBES) - 1) + (role == "applicant")
    )
