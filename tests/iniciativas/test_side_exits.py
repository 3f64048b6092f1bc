"""Every side exit of PRODUCT.md §2.1 and every bad input the issue names."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import BudgetLine, BudgetMovement
from budget.selectors import case_figures, line_reconciles
from cases.errors import Conflict
from iniciativas import services as ini
from iniciativas.models import FINAL_STATES, Document, Evaluation, Initiative, Report
from registry.services import system_user
from workflows.models import CaseTask
from workflows.services import transition

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


def test_an_observation_is_answered_after_the_call_closed(world):
    import datetime as dt

    from django.utils import timezone

    from iniciativas.models import Call

    i = submitted(world)
    decide(i, "admissibility", world.staff["evaluador1"], decision="observe", comment="Falta cotización")
    today = timezone.localdate()
    # Time passes: the call the case was submitted under has closed.
    Call.objects.filter(pk=i.call_id).update(
        opens_on=today - dt.timedelta(days=30), closes_on=today - dt.timedelta(days=1)
    )
    assert not Call.objects.get(pk=i.call_id).is_open()
    decide(i, "answer_observation", world.applicant, answer="Adjuntamos la cotización")
    assert state(i) == "submitted"


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


def test_an_evaluation_comment_stays_sealed_from_the_others_until_all_are_in(world):
    from iniciativas.selectors import history_for

    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(
        t1.pk, actor=s["evaluador2"], decision="approve", comment="Muy buen perfil técnico", data=GOOD_SCORES
    )

    def comments(user):
        case = Initiative.objects.get(pk=i.pk)
        return [e.data.get("comment") for e in history_for(case, user) if e.action == "task.completed"]

    assert "Muy buen perfil técnico" not in comments(s["evaluador3"])  # the other evaluator
    assert "Muy buen perfil técnico" not in comments(world.applicant)
    assert "Muy buen perfil técnico" in comments(s["evaluador2"])  # its author
    assert "Muy buen perfil técnico" in comments(s["control1"])  # internal control reads everything
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=GOOD_SCORES)
    assert state(i) == "in_approval"
    assert "Muy buen perfil técnico" in comments(s["evaluador3"])  # the round closed: unsealed
    entry = AuditEntry.objects.filter(case=i.code, action="task.completed", actor=s["evaluador2"]).get()
    assert entry.data["comment"] == "Muy buen perfil técnico"  # the trail itself is never changed


def test_a_declared_conflict_of_interest_is_on_the_record(world):
    """Declaring a conflict (``declare_conflict``) is its own entry with the reason, not a refused
    decision; sending scores with "no conflict" unticked is a field error that records nothing."""
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True).first()
    before = AuditEntry.objects.filter(case=i.code).count()
    with pytest.raises(ValidationError) as err:
        approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data={"no_conflict": False})
    assert "data.no_conflict" in err.value.message_dict
    assert AuditEntry.objects.filter(case=i.code).count() == before  # no refusal on the record
    approvals.declare_conflict(t1.pk, actor=s["evaluador2"], conflict=True, reason="Pariente del presidente.")
    declared = AuditEntry.objects.filter(case=i.code, action="task.conflict_declared").get()
    assert declared.actor == s["evaluador2"] and declared.data["step"] == "technical_evaluation"
    assert declared.data["reason"] == "Pariente del presidente."
    assert not AuditEntry.objects.filter(case=i.code, action="task.refused").exists()
    assert not Evaluation.objects.filter(initiative=i).exists()
    t1.refresh_from_db()
    assert t1.is_open and t1.owner_id is None  # free for a colleague
    with pytest.raises(ValidationError) as err:  # declaring no conflict needs the scores
        approvals.complete_task(t1.pk, actor=s["evaluador3"], decision="approve", data={"no_conflict": True})
    assert "data.relevance" in err.value.message_dict
    approvals.complete_task(t1.pk, actor=s["evaluador3"], decision="approve", data=GOOD_SCORES)
    assert Evaluation.objects.filter(initiative=i).count() == 1


def test_rejected_in_the_approval_chain_releases_the_reservation(world):
    """A policy version whose certification comes before the legal report: the legal unit rejects
    a case that already holds a reservation, and the reservation goes back to the line."""
    s = world.staff
    approvals.save_policy_version(
        "ini-small",
        actor=s["admin1"],
        name="Iniciativas hasta Bs 200.000 (certificación primero)",
        case_type="initiative",
        program=None,
        min_amount="0",
        max_amount="200000",
        steps=[
            {"step": "budget_certification", "role": "finance", "scope": "program", "deadline_days": 3},
            {"step": "legal_report", "role": "legal", "scope": "none", "deadline_days": 5},
        ],
    )
    i = to_approval(world)
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert state(i) == "in_approval"
    assert BudgetLine.objects.get(pk=world.line.pk).reserved == Decimal("100000.00")
    decide(i, "legal_report", s["legal1"], decision="reject", comment="El convenio no es procedente")
    assert state(i) == "rejected"
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("0.00") and line.available == line.amount_in_force
    assert case_figures(line, i.code)["reserved"] == Decimal("0.00")
    assert line_reconciles(line)
    assert actions(i)[-3:] == ["budget.reservation_released", "initiative.rejected", "task.completed"]
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()


def test_rejected_at_the_legal_step_holds_no_money(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], decision="reject", comment="Sin personería jurídica vigente")
    assert state(i) == "rejected"
    assert not BudgetMovement.objects.filter(case_code=i.code).exists()
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("0.00") and line.available == line.amount_in_force
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()


def test_observation_in_the_approval_chain_is_answered_and_the_chain_goes_on(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], decision="observe", comment="Adjunte el poder notariado")
    assert state(i) == "in_approval"  # the chain keeps the case; the applicant answers
    answer = task(i, "answer_observation")
    assert answer.role == "applicant" and answer.unit_id == world.unit.pk
    assert not CaseTask.objects.filter(case_code=i.code, step="legal_report", is_open=True).exists()
    decide(i, "answer_observation", world.applicant, answer="Adjuntamos el poder")
    assert state(i) == "in_approval"
    assert Initiative.objects.get(pk=i.pk).observation == ""
    decide(i, "legal_report", s["legal1"], opinion="Procedente")  # the same step again
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert state(i) == "approved"


def test_unanswered_observation_of_the_director_abandons_and_releases_the_reservation(world):
    """The auditor's case: legal approved, finance certified Bs 300.000, the director observed and
    the applicant let the deadline pass: the case is abandoned and the Bs 300.000 released."""
    s = world.staff
    world.call.max_amount = Decimal("500000.00")
    world.call.save()  # a bigger call for this test (admin edit; not part of the journey)
    i = to_approval_with_amount(world, "300000.00")
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    decide(i, "director_resolution", s["director1"], decision="observe", comment="Aclare el cronograma")
    assert state(i) == "in_approval"
    assert BudgetLine.objects.get(pk=world.line.pk).reserved == Decimal("300000.00")
    with pytest.raises(PermissionDenied):
        decide(i, "answer_observation", world.applicant, decision="expire")
    approvals.complete_task(task(i, "answer_observation").pk, actor=system_user(), decision="expire")
    assert state(i) == "abandoned"
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("0.00") and line.available == line.amount_in_force
    assert line_reconciles(line)
    moves = AuditEntry.objects.filter(case=i.code, action="initiative.abandoned").get()
    assert (moves.data["from"], moves.data["to"]) == ("in_approval", "abandoned")
    assert actions(i)[-3:] == ["budget.reservation_released", "initiative.abandoned", "task.completed"]
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()


def test_abandon_needs_a_pending_observation_and_the_system(world):
    """The FSM itself: ``abandon`` from ``in_approval`` only while an observation awaits an answer,
    and only the system may fire it."""
    from django_fsm import TransitionNotAllowed

    i = to_approval(world)
    case = Initiative.objects.get(pk=i.pk)
    with pytest.raises(TransitionNotAllowed):
        case.abandon()  # no observation pending: the condition fails
    case.observation = "Aclare"
    assert can_proceed(case.abandon)
    assert has_transition_perm(case.abandon, system_user())
    assert not has_transition_perm(case.abandon, world.staff["director1"])
    with pytest.raises(PermissionDenied):
        transition(case, "abandon", actor=world.staff["director1"])
    assert state(i) == "in_approval"


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


def approved(world):
    s = world.staff
    i = to_approval(world)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert state(i) == "approved"
    return i


def in_execution(world):
    i = approved(world)
    decide(i, "agreement", world.staff["legal2"], agreement_number="C-1", signed_on=str(timezone.localdate()))
    assert state(i) == "in_execution"
    return i


def pay_tranche(world, i, n, amount, reference=None):
    s = world.staff
    decide(i, "payment_order", s["finanzas1"], tranche=n, amount=amount)
    decide(
        i,
        "payment_confirmation",
        s["finanzas2"],
        tranche=n,
        payment_reference=reference or f"T{n}-{i.code}",
        paid_on=str(timezone.localdate()),
    )


def held(world, i):
    figures = case_figures(BudgetLine.objects.get(pk=world.line.pk), i.code)
    return figures["reserved"], figures["committed"]


def test_cancelled_when_approved_releases_the_reservation_and_is_final(world):
    s = world.staff
    i = approved(world)
    with pytest.raises(PermissionDenied):
        ini.cancel_initiative(i, actor=s["finanzas1"], reason="x")
    with pytest.raises(ValidationError) as err:
        ini.cancel_initiative(i, actor=s["director1"], reason="  ")
    assert "reason" in err.value.message_dict and state(i) == "approved"
    ini.cancel_initiative(i, actor=s["director1"], reason="La unidad desistió del proyecto")
    assert state(i) == "cancelled"  # nothing was paid: nothing to recover, the case ends here
    assert "cancelled" in FINAL_STATES
    assert held(world, i) == (Decimal(0), Decimal(0))
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.available == line.amount_in_force and line_reconciles(line)
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()
    assert actions(i)[-2:] == ["budget.reservation_released", "initiative.cancelled"]
    with pytest.raises(Conflict):
        ini.upload_document(i, actor=world.applicant, kind="other", uploaded_file=pdf())
    with pytest.raises(Conflict):
        ini.cancel_initiative(i, actor=s["director1"], reason="otra vez")


def test_cancelled_in_execution_with_nothing_paid_releases_the_commitment(world):
    i = in_execution(world)
    assert held(world, i) == (Decimal(0), Decimal("100000.00"))
    ini.cancel_initiative(i, actor=world.staff["director1"], reason="Incumplimiento de contraparte")
    assert state(i) == "cancelled"
    assert held(world, i) == (Decimal(0), Decimal(0))
    assert actions(i)[-2:] == ["budget.commitment_released", "initiative.cancelled"]


def test_cancelled_while_a_payment_is_ordered_is_refused_until_it_is_confirmed(world):
    s = world.staff
    i = in_execution(world)
    decide(i, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict):
        ini.cancel_initiative(i, actor=s["director1"], reason="Desvío de fondos")
    assert state(i) == "in_execution" and AuditEntry.objects.count() == before
    assert CaseTask.objects.filter(case_code=i.code, step="payment_confirmation", is_open=True).exists()


def test_cancelled_in_execution_then_recovered_in_two_deposits(world):
    s = world.staff
    i = in_execution(world)
    pay_tranche(world, i, 1, "40000.00")
    ini.cancel_initiative(i, actor=s["director1"], reason="Desvío de fondos comprobado")
    assert state(i) == "in_recovery"
    assert not CaseTask.objects.filter(case_code=i.code, is_open=True).exists()
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.committed == Decimal("0.00") and line.executed == Decimal("40000.00")
    assert actions(i)[-3:] == [
        "budget.commitment_released",
        "initiative.cancelled",
        "initiative.recovery_started",
    ]
    with pytest.raises(PermissionDenied):
        ini.record_recovery(i, actor=s["director1"], amount="1000.00", reference="DEP-0")
    with pytest.raises(ValidationError) as err:
        ini.record_recovery(i, actor=s["finanzas3"], amount="50000.00", reference="DEP-1")
    assert "amount" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        ini.record_recovery(i, actor=s["finanzas3"], amount="1000.00", reference=" ")
    assert "reference" in err.value.message_dict

    # A partial deposit: back on the line, the case stays in recovery.
    ini.record_recovery(i, actor=s["finanzas3"], amount="15000.00", reference="DEP-1")
    case = Initiative.objects.get(pk=i.pk)
    assert case.state == "in_recovery" and case.recovered_amount == Decimal("15000.00")
    line.refresh_from_db()
    assert line.executed == line.paid == Decimal("25000.00")
    with pytest.raises(ValidationError) as err:
        ini.record_recovery(i, actor=s["finanzas3"], amount="25000.00", reference="DEP-1")
    assert "reference" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        ini.record_recovery(i, actor=s["finanzas3"], amount="25000.01", reference="DEP-2")
    assert "amount" in err.value.message_dict

    ini.record_recovery(i, actor=s["finanzas3"], amount="25000.00", reference="DEP-2")
    case = Initiative.objects.get(pk=i.pk)
    assert case.state == "recovered" and case.recovered_amount == Decimal("40000.00")
    assert [(r.amount, r.reference) for r in case.recoveries.all()] == [
        (Decimal("15000.00"), "DEP-1"),
        (Decimal("25000.00"), "DEP-2"),
    ]
    line.refresh_from_db()
    assert line.executed == Decimal("0.00") and line.available == line.amount_in_force
    # Each deposit is on the budget line; a partial one is also on the case (with its reference).
    assert actions(i)[-4:] == [
        "budget.refunded",
        "initiative.recovery_recorded",
        "budget.refunded",
        "initiative.recovered",
    ]
    recovered = AuditEntry.objects.get(case=i.code, action="initiative.recovered")
    assert recovered.data["recovered"] == "40000.00" and len(recovered.data["deposits"]) == 2
    with pytest.raises(Conflict):
        ini.record_recovery(i, actor=s["finanzas3"], amount="1.00", reference="DEP-3")


def test_progress_review_sent_back_asks_for_the_report_again(world):
    s = world.staff
    i = in_execution(world)
    pay_tranche(world, i, 1, "40000.00")
    report = {
        "summary": "Avance",
        "physical_progress": 30,
        "amount_spent": "30000.00",
        "counterpart_spent": "0",
    }
    decide(i, "progress_report", world.applicant, **report)
    decide(i, "progress_review", s["evaluador4"], decision="observe", comment="Falta la contraparte")
    assert state(i) == "in_execution"
    assert not CaseTask.objects.filter(case_code=i.code, step="payment_order", is_open=True).exists()
    assert Report.objects.get(initiative=i).approved is False
    decide(i, "progress_report", world.applicant, **{**report, "counterpart_spent": "30000.00"})
    decide(i, "progress_review", s["evaluador4"], counterpart_verified=True)
    assert task(i, "payment_order")  # only now the next tranche
    assert [r.approved for r in Report.objects.filter(initiative=i).order_by("pk")] == [False, True]


def test_a_later_tranche_needs_the_previous_report_approved(world):
    """``handle_payment_order`` checks it itself, whatever routed the task there."""
    from approvals.steps import StepContext, spec_for

    s = world.staff
    i = in_execution(world)
    pay_tranche(world, i, 1, "40000.00")
    decide(
        i,
        "progress_report",
        world.applicant,
        summary="A",
        physical_progress=30,
        amount_spent="30000.00",
        counterpart_spent="0",
    )
    case = Initiative.objects.get(pk=i.pk)
    ctx = StepContext(
        task=task(i, "progress_review"),
        case=case,
        actor=s["finanzas1"],
        on_behalf_of=None,
        decision="approve",
        comment="",
        data={},
    )
    with pytest.raises(Conflict, match="2"):
        spec_for("initiative", "payment_order").handle(ctx)
    assert case.tranches.count() == 1


def closeout_ready(world):
    s = world.staff
    i = in_execution(world)
    for n, amount in enumerate(["40000.00", "40000.00", "20000.00"], 1):
        pay_tranche(world, i, n, amount)
        if n < 3:
            decide(
                i,
                "progress_report",
                world.applicant,
                summary="A",
                physical_progress=30 * n,
                amount_spent=str(40000 * n),
                counterpart_spent="1000.00",
            )
            decide(i, "progress_review", s["evaluador4"], counterpart_verified=True)
    decide(
        i,
        "final_report",
        world.applicant,
        summary="Fin",
        physical_progress=100,
        amount_spent="92500.00",
        counterpart_spent="100000.00",
    )
    decide(i, "final_inspection", s["evaluador4"], counterpart_verified=True)
    assert state(i) == "in_closeout"
    return i


def test_closeout_requires_the_refund_of_exactly_the_unspent_balance(world):
    s = world.staff
    i = closeout_ready(world)
    closeout = task(i, "closeout")
    fields = {f.name: f for f in spec_for_fields(i, closeout)}
    assert fields["refund_amount"].default == Decimal("7500.00")
    before = AuditEntry.objects.count()
    for wrong in ("0.00", "7499.99", "100000.00"):
        with pytest.raises(ValidationError) as err:
            decide(i, "closeout", s["finanzas3"], refund_amount=wrong, closeout_record="ACTA-1")
        message = " ".join(err.value.message_dict["data.refund_amount"])
        assert "7.500,00" in message or "7,500.00" in message
    assert state(i) == "in_closeout" and AuditEntry.objects.count() == before
    decide(i, "closeout", s["finanzas3"], refund_amount="7500.00", closeout_record="ACTA-1")
    case = Initiative.objects.get(pk=i.pk)
    assert case.state == "closed" and case.refunded_amount == Decimal("7500.00")
    assert case_figures(BudgetLine.objects.get(pk=world.line.pk), i.code)["executed"] == Decimal("92500.00")


def spec_for_fields(i, t):
    from approvals.steps import spec_for

    return spec_for("initiative", t.step).fields(t, Initiative.objects.get(pk=i.pk))


def test_answering_an_observation_rechecks_every_submission_rule(world):
    i = submitted(world)
    decide(i, "admissibility", world.staff["evaluador1"], decision="observe", comment="Corrija montos")
    ini.update_draft(i, actor=world.applicant, requested_amount="900000.00", counterpart_amount="1.00")
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        decide(i, "answer_observation", world.applicant, answer="Corregido")
    problems = err.value.message_dict
    assert {"requested_amount", "counterpart_amount"} <= set(problems)
    assert "150.000,00" in " ".join(problems["requested_amount"]) or "150,000.00" in " ".join(
        problems["requested_amount"]
    )
    assert state(i) == "observed" and AuditEntry.objects.count() == before
    assert task(i, "answer_observation").is_open
    ini.update_draft(i, actor=world.applicant, requested_amount="120000.00", counterpart_amount="120000.00")
    decide(i, "answer_observation", world.applicant, answer="Corregido")
    assert state(i) == "submitted"


def test_submit_and_answer_are_guarded_by_the_fsm_itself(world):
    """Even called directly, the transitions refuse an incomplete case and a wrong actor."""
    from django_fsm import TransitionNotAllowed

    i = draft(world)
    case = Initiative.objects.get(pk=i.pk)
    assert not can_proceed(case.submit)  # documents missing: the condition fails
    with pytest.raises(TransitionNotAllowed):
        case.submit()
    for kind in REQUIRED:
        ini.upload_document(i, actor=world.applicant, kind=kind, uploaded_file=pdf())
    case = Initiative.objects.get(pk=i.pk)
    assert can_proceed(case.submit)
    assert has_transition_perm(case.submit, world.applicant)
    assert not has_transition_perm(case.submit, world.other_applicant)
    assert not has_transition_perm(case.submit, world.staff["director1"])
    with pytest.raises(PermissionDenied):
        transition(case, "submit", actor=world.staff["evaluador1"])
    assert state(i) == "draft"


def test_ceiling_message_in_bolivian_format(world):
    from django.utils import translation

    i = draft(world, requested_amount="200000.00")
    with translation.override("es"):
        problems = ini.missing_for_submission(Initiative.objects.get(pk=i.pk))
    assert "Bs 150.000,00" in problems["requested_amount"][0]


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
