from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from approvals import services as approvals
from audit.models import AuditEntry
from iniciativas.models import Initiative
from workflows.models import CaseTask

from .conftest import submitted

pytestmark = pytest.mark.django_db


def open_task(initiative, step):
    return CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)


def open_tasks(initiative, step):
    return list(CaseTask.objects.filter(case_code=initiative.code, step=step, is_open=True))


def decide(initiative, step, user, decision="approve", comment="", **data):
    task = open_task(initiative, step)
    return approvals.complete_task(task.pk, actor=user, decision=decision, comment=comment, data=data)


def test_happy_path_through_services(world):
    s = world.staff
    ini = submitted(world)
    assert ini.state == "submitted"
    case = decide(ini, "admissibility", s["evaluador1"])
    assert case.state == "in_evaluation"
    t1, t2 = open_tasks(ini, "technical_evaluation")
    approvals.complete_task(
        t1.pk,
        actor=s["evaluador2"],
        decision="approve",
        data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20},
    )
    case = approvals.complete_task(
        t2.pk,
        actor=s["evaluador3"],
        decision="approve",
        data={"no_conflict": True, "relevance": 30, "feasibility": 20, "impact": 20},
    )
    assert case.state == "in_approval"
    assert case.evaluation_score == Decimal("75.00")
    case = decide(ini, "legal_report", s["legal1"], opinion="Procedente")
    line_id = open_task(ini, "budget_certification")
    case = decide(ini, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert case.state == "approved"
    world.line.refresh_from_db()
    assert world.line.reserved == Decimal("100000.00")
    case = decide(
        ini, "agreement", s["legal2"], agreement_number="CONV-001", signed_on=str(timezone.localdate())
    )
    assert case.state == "in_execution"
    for n, amount in enumerate(["40000.00", "40000.00", "20000.00"], 1):
        decide(ini, "payment_order", s["finanzas1"], tranche=n, amount=amount)
        case = decide(
            ini,
            "payment_confirmation",
            s["finanzas2"],
            tranche=n,
            payment_reference=f"TRX-{n}",
            paid_on=str(timezone.localdate()),
        )
        if n < 3:
            decide(
                ini,
                "progress_report",
                world.applicant,
                summary="Avance",
                physical_progress=40 * n,
                amount_spent=str(Decimal(amount) * n),
                counterpart_spent="10000.00",
            )
            decide(ini, "progress_review", s["evaluador4"], counterpart_verified=True)
    decide(
        ini,
        "final_report",
        world.applicant,
        summary="Concluido",
        physical_progress=100,
        amount_spent="95000.00",
        counterpart_spent="100000.00",
    )
    case = decide(ini, "final_inspection", s["evaluador4"], counterpart_verified=True)
    assert case.state == "in_closeout"
    case = decide(ini, "closeout", s["finanzas3"], refund_amount="5000.00", closeout_record="ACTA-1")
    assert case.state == "closed"
    world.line.refresh_from_db()
    assert (world.line.reserved, world.line.committed) == (Decimal(0), Decimal(0))
    assert world.line.executed == Decimal("95000.00")
    assert world.line.paid == Decimal("95000.00")
    assert not CaseTask.objects.filter(case_code=ini.code, is_open=True).exists()
    assert line_id
    transitions = list(
        AuditEntry.objects.filter(case=ini.code, action__startswith="initiative.").values_list(
            "action", flat=True
        )
    )
    assert transitions == [
        "initiative.created",
        "initiative.submitted",
        "initiative.admitted",
        "initiative.evaluation_passed",
        "initiative.approved",
        "initiative.agreement_signed",
        "initiative.execution_started",
        "initiative.closeout_started",
        "initiative.closed",
    ]


def test_four_eyes_evaluator_cannot_evaluate_twice(world):
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    t1, t2 = open_tasks(ini, "technical_evaluation")
    approvals.complete_task(
        t1.pk,
        actor=s["evaluador2"],
        decision="approve",
        data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20},
    )
    with pytest.raises(PermissionDenied):
        approvals.complete_task(
            t2.pk,
            actor=s["evaluador2"],
            decision="approve",
            data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20},
        )
    t2.refresh_from_db()
    assert t2.is_open and t2.owner_id is None
    refusal = AuditEntry.objects.filter(action="task.refused", case=ini.code).get()
    assert refusal.actor == s["evaluador2"]
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
