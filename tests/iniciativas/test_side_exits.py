"""Every side exit of PRODUCT.md §2.1 and every bad input the issue names."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import BudgetLine
from expediente.errors import Conflict
from iniciativas import services as ini
from iniciativas.models import Document, Initiative
from registry.services import system_user
from workflows.models import CaseTask

from .conftest import REQUIRED, draft, pdf, submitted

pytestmark = pytest.mark.django_db

GOOD_SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}


def task(initiative, step):
    return CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)


def decide(initiative, step, user, decision="approve", comment="", **data):
    return approvals.complete_task(
        task(initiative, step).pk, actor=user, decision=decision, comment=comment, data=data
    )


def state(initiative):
    return Initiative.objects.get(pk=initiative.pk).state


def actions(initiative):
    return list(AuditEntry.objects.filter(case=initiative.code).values_list("action", flat=True))


def to_approval(world):
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=GOOD_SCORES)
    assert state(i) == "in_approval"
    return i


def test_rejected_at_admissibility_ends_the_flow(world):
    i = submitted(world)
    with pytest.raises(ValidationError) as err:
        decide(i, "admissibility", world.staff["evaluador1"], decision="reject")
    assert "comment" in err.value.message_dict
    assert state(i) == "submitted"
    decide(i, "admissibility", world.staff["evaluador1"], decision="reject", comment="No es del rubro")
    assert state(i) == "rejected"
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()
    assert actions(i)[-2:] == ["initiative.rejected", "task.completed"]


def test_observed_answered_then_admitted(world):
    i = submitted(world)
    decide(
        i,
        "admissibility",
        world.staff["evaluador1"],
        decision="observe",
        comment="Falta cotización",
        deadline_days=3,
    )
    assert state(i) == "observed"
    answer = task(i, "answer_observation")
    assert answer.role == "applicant" and answer.unit_id == world.unit.pk
    decide(i, "answer_observation", world.applicant, answer="Adjuntamos la cotización")
    assert state(i) == "submitted"
    decide(i, "admissibility", world.staff["evaluador1"])
    assert state(i) == "in_evaluation"


def test_unanswered_observation_is_abandoned_by_the_system_only(world):
    i = submitted(world)
    decide(i, "admissibility", world.staff["evaluador1"], decision="observe", comment="Falta cotización")
    with pytest.raises(PermissionDenied):
        decide(i, "answer_observation", world.applicant, decision="expire")
    approvals.complete_task(task(i, "answer_observation").pk, actor=system_user(), decision="expire")
    assert state(i) == "abandoned"
    assert "initiative.abandoned" in actions(i)


def test_withdrawn_by_the_applicant_cancels_open_tasks(world):
    i = submitted(world)
    ini.withdraw_initiative(i, actor=world.applicant, reason="Ya no lo necesitamos")
    assert state(i) == "withdrawn"
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()
    with pytest.raises(Conflict):
        ini.withdraw_initiative(i, actor=world.applicant)


def test_low_evaluation_rejects(world):
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    low = {"no_conflict": True, "relevance": 20, "feasibility": 10, "impact": 10}
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=low)
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=low)
    assert state(i) == "rejected"


def test_disagreement_calls_a_third_evaluator(world):
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)  # 80
    approvals.complete_task(
        t2.pk,
        actor=s["evaluador3"],
        decision="approve",
        data={"no_conflict": True, "relevance": 20, "feasibility": 15, "impact": 10},  # 45
    )
    assert state(i) == "in_evaluation"
    third = task(i, "third_evaluation")
    with pytest.raises(Exception, match=r"Segregation|Separación de funciones"):
        approvals.complete_task(third.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)
    approvals.complete_task(third.pk, actor=s["evaluador4"], decision="approve", data=GOOD_SCORES)
    i.refresh_from_db()
    assert i.state == "in_approval"
    assert i.evaluation_score == Decimal("68.33")


def test_scores_are_sealed_in_the_trail_until_the_round_closes(world):
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1, _ = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)
    entry = AuditEntry.objects.filter(case=i.code, action="task.completed").last()
    assert entry.data["data"] == {"no_conflict": True}
    assert "relevance" not in str(entry.data)


def test_rejected_in_the_approval_chain_releases_the_reservation(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert state(i) == "approved"  # <= Bs 200.000: no director step
    assert BudgetLine.objects.get(pk=world.line.pk).reserved == Decimal("100000.00")
    big = to_approval_with_amount(world, "150000.00")
    decide(big, "legal_report", s["legal1"], opinion="Procedente")
    decide(big, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("250000.00")


def to_approval_with_amount(world, amount):
    s = world.staff
    i = submitted(world, requested_amount=amount, counterpart_amount=amount)
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=GOOD_SCORES)
    return i


def test_director_rejects_above_threshold_and_reservation_is_released(world, settings):
    s = world.staff
    world.call.max_amount = Decimal("500000.00")
    world.call.save()  # a bigger call for this test (admin edit; not part of the journey)
    i = to_approval_with_amount(world, "300000.00")
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert state(i) == "in_approval"
    assert BudgetLine.objects.get(pk=world.line.pk).reserved == Decimal("300000.00")
    decide(i, "director_resolution", s["director1"], decision="reject", comment="Sin prioridad")
    assert state(i) == "rejected"
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("0.00") and line.available == line.amount_in_force


def test_certification_refused_when_the_line_lacks_funds(world):
    from budget import services as budget

    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    budget.reserve(world.line, Decimal("950000.00"), actor=s["finanzas3"], case=None)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert "amount" in err.value.message_dict
    assert AuditEntry.objects.count() == before
    assert state(i) == "in_approval" and task(i, "budget_certification").owner_id is None


def test_cancelled_in_execution_then_recovered(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    decide(i, "agreement", s["legal2"], agreement_number="C-1", signed_on=str(timezone.localdate()))
    decide(i, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    decide(
        i,
        "payment_confirmation",
        s["finanzas2"],
        tranche=1,
        payment_reference="T1",
        paid_on=str(timezone.localdate()),
    )
    with pytest.raises(Exception):  # noqa: B017 - finance may not cancel
        ini.cancel_initiative(i, actor=s["finanzas1"], reason="x")
    ini.cancel_initiative(i, actor=s["director1"], reason="Desvío de fondos comprobado")
    assert state(i) == "in_recovery"
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.committed == Decimal("0.00") and line.executed == Decimal("40000.00")
    with pytest.raises(ValidationError):
        ini.record_recovery(i, actor=s["finanzas3"], amount="50000.00", reference="DEP-1")
    ini.record_recovery(i, actor=s["finanzas3"], amount="40000.00", reference="DEP-1")
    assert state(i) == "recovered"
    line.refresh_from_db()
    assert line.executed == Decimal("0.00") and line.available == line.amount_in_force
    assert actions(i)[-5:] == [
        "initiative.cancelled",
        "budget.commitment_released",
        "initiative.recovery_started",
        "budget.refunded",
        "initiative.recovered",
    ]


# --- bad input -------------------------------------------------------------------------------------


def test_missing_documents_block_submission(world):
    i = draft(world)
    with pytest.raises(ValidationError) as err:
        ini.submit_initiative(i, actor=world.applicant)
    assert len(err.value.message_dict["documents"]) == len(REQUIRED)
    assert state(i) == "draft"


def test_amount_over_ceiling_and_low_counterpart(world):
    i = draft(world, requested_amount="200000.00", counterpart_amount="10000.00")
    for kind in REQUIRED:
        ini.upload_document(i, actor=world.applicant, kind=kind, uploaded_file=pdf())
    with pytest.raises(ValidationError) as err:
        ini.submit_initiative(i, actor=world.applicant)
    assert {"requested_amount", "counterpart_amount"} <= set(err.value.message_dict)
    assert state(i) == "draft"


def test_wrong_file_type_is_refused_by_content(world):
    i = draft(world)
    fake = SimpleUploadedFile(
        "perfil.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf"
    )
    with pytest.raises(ValidationError) as err:
        ini.upload_document(i, actor=world.applicant, kind="project_profile", uploaded_file=fake)
    assert "file" in err.value.message_dict
    png = SimpleUploadedFile("foto.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, content_type="application/pdf")
    document = ini.upload_document(i, actor=world.applicant, kind="project_profile", uploaded_file=png)
    assert document.content_type == "image/png" and document.file.name.endswith(".png")
    assert Document.objects.filter(initiative=i).count() == 1


def test_oversize_file_is_refused(world, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    i = draft(world)
    big = SimpleUploadedFile("grande.pdf", b"%PDF-1.4\n" + b"0" * 2048, content_type="application/pdf")
    with pytest.raises(ValidationError):
        ini.upload_document(i, actor=world.applicant, kind="project_profile", uploaded_file=big)
    assert not Document.objects.exists()


def test_double_submit_is_a_conflict(world):
    i = submitted(world)
    with pytest.raises(Conflict):
        ini.submit_initiative(i, actor=world.applicant)
    assert CaseTask.objects.filter(case_code=i.code, step="admissibility").count() == 1


def test_decision_on_a_decided_task_is_a_conflict(world):
    i = submitted(world)
    t = task(i, "admissibility")
    approvals.complete_task(t.pk, actor=world.staff["evaluador1"], decision="approve")
    with pytest.raises(Conflict):
        approvals.complete_task(t.pk, actor=world.staff["evaluador1"], decision="approve")
    assert actions(i).count("task.completed") == 1


def test_applicant_cannot_decide_staff_steps_nor_other_units(world):
    i = submitted(world)
    with pytest.raises(Exception, match=r"evaluator|Evaluador|role|rol"):
        approvals.complete_task(task(i, "admissibility").pk, actor=world.applicant, decision="approve")
    with pytest.raises(Exception):  # noqa: B017
        ini.submit_initiative(draft(world), actor=world.other_applicant)
    assert state(i) == "submitted"


def test_a_bank_reference_pays_only_one_tranche(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    decide(i, "agreement", s["legal2"], agreement_number="C-1", signed_on=str(timezone.localdate()))
    today = str(timezone.localdate())
    decide(i, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    decide(i, "payment_confirmation", s["finanzas2"], tranche=1, payment_reference="SIGEP-9", paid_on=today)
    decide(
        i,
        "progress_report",
        world.applicant,
        summary="A",
        physical_progress=40,
        amount_spent="40000.00",
        counterpart_spent="1.00",
    )
    decide(i, "progress_review", s["evaluador4"], counterpart_verified=True)
    decide(i, "payment_order", s["finanzas1"], tranche=2, amount="40000.00")
    with pytest.raises(ValidationError) as err:
        decide(
            i, "payment_confirmation", s["finanzas2"], tranche=2, payment_reference="SIGEP-9", paid_on=today
        )
    assert "data.payment_reference" in err.value.message_dict
    assert BudgetLine.objects.get(pk=world.line.pk).paid == Decimal("40000.00")
