"""Price compensation, service by service (both databases): the agreement's approval reserves and
commits its ceiling; a month's settlement is declared, verified (perhaps corrected) and paid; every
refusal names its field and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEntry
from budget.models import BudgetMovement
from budget.selectors import case_figures, line_reconciles
from cases.errors import Conflict
from cases.models import PaymentReference
from compensations import services
from compensations.models import AgreementState, Settlement, SettlementState, settlement_amount
from compensations.selectors import figures
from workflows.models import CaseTask

from .conftest import active_agreement, decide, declared, new_agreement, pdf, verified


def test_amount_is_litres_times_rate_to_the_centavo_half_up():
    assert settlement_amount(Decimal("1000.00"), Decimal("0.4000")) == Decimal("400.00")
    assert settlement_amount(Decimal("10.25"), Decimal("0.3")) == Decimal("3.08")  # 3.075 → 3.08
    assert settlement_amount(Decimal("10.15"), Decimal("0.3")) == Decimal("3.05")  # 3.045 → 3.05
    assert settlement_amount(Decimal("1"), Decimal("0.0049")) == Decimal("0.00")


@pytest.mark.django_db
def test_the_agreement_goes_through_approval_once_reserving_then_committing_its_ceiling(dairy):
    agreement = new_agreement(dairy, ceiling="10000.00")
    assert agreement.state == AgreementState.REQUESTED
    assert agreement.code.startswith("CPA-")
    task = CaseTask.objects.get(case_code=agreement.code, is_open=True)
    assert (task.step, task.role) == ("budget_certification", "finance")

    decide(agreement, "budget_certification", dairy.staff["finanzas1"])
    agreement.refresh_from_db()
    assert agreement.state == AgreementState.CERTIFIED
    assert case_figures(dairy.line, agreement.code)["reserved"] == Decimal("10000.00")

    decide(agreement, "director_resolution", dairy.staff["director1"], resolution_number="RA-01/2026")
    agreement.refresh_from_db()
    assert (agreement.state, agreement.resolution_number) == (AgreementState.ACTIVE, "RA-01/2026")
    held = case_figures(dairy.line, agreement.code)
    assert (held["reserved"], held["committed"]) == (Decimal("0.00"), Decimal("10000.00"))
    assert not CaseTask.objects.filter(case_code=agreement.code, is_open=True).exists()
    # The certificación presupuestaria and the resolution, numbered and hashed, named in the trail.
    from cases.models import OfficialDocument

    papers = {d.kind: d for d in OfficialDocument.objects.filter(case_code=agreement.code)}
    assert set(papers) == {"budget_certification", "approval_resolution"}
    approved = AuditEntry.objects.get(case=agreement.code, action="compensation.agreement_approved")
    assert approved.data["resolution"]["number"] == papers["approval_resolution"].number
    actions = list(AuditEntry.objects.filter(case=agreement.code).values_list("action", flat=True))
    for action in (
        "compensation.agreement_created",
        "compensation.agreement_certified",
        "compensation.agreement_approved",
    ):
        assert action in actions
    assert line_reconciles(dairy.line)


@pytest.mark.django_db
def test_a_rejected_agreement_gives_its_reservation_back(dairy):
    agreement = new_agreement(dairy)
    decide(agreement, "budget_certification", dairy.staff["finanzas1"])
    decide(
        agreement, "director_resolution", dairy.staff["director1"], decision="reject", comment="Sin sustento"
    )
    agreement.refresh_from_db()
    assert (agreement.state, agreement.rejection_reason) == (AgreementState.REJECTED, "Sin sustento")
    held = case_figures(dairy.line, agreement.code)
    assert held["reserved"] == held["committed"] == Decimal("0.00")


@pytest.mark.django_db
def test_bad_agreement_input_names_each_field_and_writes_nothing(dairy):
    with pytest.raises(ValidationError) as refused:
        services.create_agreement(
            actor=dairy.staff["tecnico1"],
            unit=dairy.unit,
            budget_line=dairy.line,
            rate="0.12345",
            first_month="2026-13",
            last_month="2026-01",
            ceiling="-5",
        )
    assert {"rate", "first_month", "ceiling"} <= set(refused.value.message_dict)
    with pytest.raises(PermissionDenied):
        new_agreement_by = dairy.member
        services.create_agreement(
            actor=new_agreement_by,
            unit=dairy.unit,
            budget_line=dairy.line,
            rate="0.40",
            first_month="2026-01",
            last_month="2026-12",
            ceiling="100.00",
        )
    assert not Settlement.objects.exists()
    from compensations.models import CompensationAgreement

    assert not CompensationAgreement.objects.exists()


@pytest.mark.django_db
def test_a_month_is_declared_verified_and_paid_executing_the_money_on_the_line(dairy):
    agreement = active_agreement(dairy, rate="0.40", ceiling="10000.00")
    settlement = declared(dairy, agreement, 1, litres="12500.50")
    assert (settlement.state, settlement.amount) == (SettlementState.DECLARED, Decimal("5000.20"))
    assert settlement.documents.count() == 1
    task = CaseTask.objects.get(case_code=settlement.code, is_open=True)
    assert (task.step, task.role) == ("settlement_verification", "evaluator")

    decide(settlement, "settlement_verification", dairy.staff["tecnico2"])
    settlement.refresh_from_db()
    assert settlement.state == SettlementState.VERIFIED
    assert figures(agreement).remaining == Decimal("4999.80")

    decide(
        settlement,
        "settlement_payment",
        dairy.staff["finanzas2"],
        payment_reference="BUN-0001",
        paid_on=str(timezone.localdate(settlement.created_at)),
        c31_reference="C31-77",
    )
    settlement.refresh_from_db()
    assert (settlement.state, settlement.payment_reference, settlement.c31_reference) == (
        SettlementState.PAID,
        "BUN-0001",
        "C31-77",
    )
    held = case_figures(dairy.line, agreement.code)
    assert (held["committed"], held["executed"], held["paid"]) == (
        Decimal("4999.80"),
        Decimal("5000.20"),
        Decimal("5000.20"),
    )
    pay = BudgetMovement.objects.get(case_code=agreement.code, kind="pay")
    assert (pay.amount, pay.c31_reference) == (Decimal("5000.20"), "C31-77")
    assert PaymentReference.objects.get(reference="BUN-0001").case_code == settlement.code
    assert figures(agreement).paid == Decimal("5000.20")
    assert line_reconciles(dairy.line)


@pytest.mark.django_db
def test_the_verifier_corrects_the_litres_only_with_a_reason(dairy):
    agreement = active_agreement(dairy, rate="0.40")
    settlement = declared(dairy, agreement, 1, litres="1000.00")
    with pytest.raises(ValidationError) as refused:
        decide(settlement, "settlement_verification", dairy.staff["tecnico2"], litres="900.00")
    assert "data.correction_reason" in refused.value.message_dict
    settlement.refresh_from_db()
    assert (settlement.state, settlement.litres) == (SettlementState.DECLARED, Decimal("1000.00"))

    decide(
        settlement,
        "settlement_verification",
        dairy.staff["tecnico2"],
        litres="900.00",
        correction_reason="La planilla suma 900 litros",
    )
    settlement.refresh_from_db()
    assert (settlement.state, settlement.declared_litres, settlement.litres, settlement.amount) == (
        SettlementState.VERIFIED,
        Decimal("1000.00"),
        Decimal("900.00"),
        Decimal("360.00"),
    )
    entry = AuditEntry.objects.get(case=settlement.code, action="compensation.settlement_verified")
    assert entry.data["correction_reason"] == "La planilla suma 900 litros"


@pytest.mark.django_db
def test_a_rejected_month_needs_a_reason_and_may_be_declared_again(dairy):
    agreement = active_agreement(dairy)
    settlement = declared(dairy, agreement, 1)
    with pytest.raises(ValidationError):
        decide(settlement, "settlement_verification", dairy.staff["tecnico2"], decision="reject")
    decide(
        settlement,
        "settlement_verification",
        dairy.staff["tecnico2"],
        decision="reject",
        comment="Sin planilla",
    )
    settlement.refresh_from_db()
    assert (settlement.state, settlement.rejection_reason) == (SettlementState.REJECTED, "Sin planilla")
    again = declared(dairy, agreement, 1, litres="800.00")
    assert again.state == SettlementState.DECLARED


@pytest.mark.django_db
def test_declaration_rules_one_per_month_within_the_period_and_only_ended_months(dairy):
    agreement = active_agreement(dairy, months_back=3, months_ahead=2)
    declared(dairy, agreement, 1)
    cases = [
        (dairy.past(1), "month"),  # already declared
        (dairy.this_month, "month"),  # not ended yet
        (dairy.past(4), "month"),  # before the period
        ("2026-1", "month"),  # not a month
    ]
    for month, field in cases:
        with pytest.raises(ValidationError) as refused:
            services.declare_settlement(
                agreement, actor=dairy.member, month=month, litres="10", evidence=pdf()
            )
        assert field in refused.value.message_dict, month
    for litres in ("0", "-3", "1.234", 12.5, "abc"):
        with pytest.raises(ValidationError) as refused:
            services.declare_settlement(
                agreement, actor=dairy.member, month=dairy.past(2), litres=litres, evidence=pdf()
            )
        assert "litres" in refused.value.message_dict, litres
    with pytest.raises(ValidationError) as refused:
        services.declare_settlement(
            agreement, actor=dairy.member, month=dairy.past(2), litres="10", evidence=None
        )
    assert "file" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        services.declare_settlement(
            agreement, actor=dairy.outsider, month=dairy.past(2), litres="10", evidence=pdf()
        )
    with pytest.raises(PermissionDenied):
        services.declare_settlement(
            agreement, actor=dairy.staff["tecnico1"], month=dairy.past(2), litres="10", evidence=pdf()
        )
    assert Settlement.objects.filter(agreement=agreement).count() == 1


@pytest.mark.django_db
def test_an_agreement_not_yet_in_force_takes_no_declaration(dairy):
    agreement = new_agreement(dairy)
    with pytest.raises(Conflict):
        declared(dairy, agreement, 1)


@pytest.mark.django_db
def test_verification_beyond_the_ceiling_is_refused_on_the_litres(dairy):
    agreement = active_agreement(dairy, rate="0.50", ceiling="1000.00")
    verified(dairy, agreement, 1, litres="1500.00")  # Bs 750
    second = declared(dairy, agreement, 2, litres="600.00")  # Bs 300 > Bs 250 left
    with pytest.raises(ValidationError) as refused:
        decide(second, "settlement_verification", dairy.staff["tecnico2"])
    assert "data.litres" in refused.value.message_dict
    assert "250,00" in refused.value.message_dict["data.litres"][0]
    second.refresh_from_db()
    assert second.state == SettlementState.DECLARED
    decide(
        second, "settlement_verification", dairy.staff["tecnico2"], litres="500.00", correction_reason="Tope"
    )
    second.refresh_from_db()
    assert (second.state, second.amount) == (SettlementState.VERIFIED, Decimal("250.00"))
    assert figures(agreement).remaining == Decimal("0.00")


@pytest.mark.django_db
def test_the_declarer_and_the_company_never_verify_nor_pay(dairy):
    from cases.roles import Role
    from registry import services as registry_services

    agreement = active_agreement(dairy)
    settlement = declared(dairy, agreement, 1)
    with pytest.raises(PermissionDenied):
        decide(settlement, "settlement_verification", dairy.member)
    # A finance officer may not verify (the step is the technical staff's).
    with pytest.raises(PermissionDenied):
        decide(settlement, "settlement_verification", dairy.staff["finanzas1"])
    assert Role.EVALUATOR  # the verifier's role
    assert registry_services  # used by fixtures
    settlement.refresh_from_db()
    assert settlement.state == SettlementState.DECLARED


@pytest.mark.django_db
def test_pay_settlement_is_idempotent_for_the_same_reference_and_refuses_another(dairy):
    agreement = active_agreement(dairy)
    settlement = verified(dairy, agreement, 1)
    first = services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-9")
    assert first.state == SettlementState.PAID
    again = services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-9")
    assert (again.pk, again.state, again.payment_reference) == (first.pk, SettlementState.PAID, "BUN-9")
    with pytest.raises(Conflict):
        services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-10")
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="pay").count() == 1
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="execute").count() == 1


@pytest.mark.django_db
def test_a_reference_used_by_another_payment_is_refused_on_the_field(dairy):
    agreement = active_agreement(dairy)
    one = verified(dairy, agreement, 1)
    two = verified(dairy, agreement, 2)
    services.pay_settlement(one, actor=dairy.staff["finanzas2"], payment_reference="BUN-1")
    with pytest.raises(ValidationError) as refused:
        services.pay_settlement(two, actor=dairy.staff["finanzas2"], payment_reference="BUN-1")
    assert "data.payment_reference" in refused.value.message_dict
    two.refresh_from_db()
    assert two.state == SettlementState.VERIFIED


@pytest.mark.django_db
def test_closing_releases_what_the_settlements_did_not_use(dairy):
    agreement = active_agreement(dairy, rate="1.00", ceiling="5000.00")
    settlement = verified(dairy, agreement, 1, litres="1200.00")
    with pytest.raises(Conflict):
        services.close_agreement(agreement, actor=dairy.staff["director1"])
    services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-C")
    services.close_agreement(agreement, actor=dairy.staff["director1"], reason="Fin del periodo")
    agreement.refresh_from_db()
    assert agreement.state == AgreementState.CLOSED
    held = case_figures(dairy.line, agreement.code)
    assert (held["committed"], held["reserved"], held["paid"]) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("1200.00"),
    )
    assert line_reconciles(dairy.line)


@pytest.mark.django_db
def test_applicant_todo_lists_the_ended_months_not_yet_declared(dairy):
    from cases.todo import for_applicant

    agreement = active_agreement(dairy, months_back=2, months_ahead=1)
    todos = [t for t in for_applicant(dairy.member) if t.case_code == agreement.code]
    assert len(todos) == 2  # two ended months; the current one is not due yet
    declared(dairy, agreement, 1)
    todos = [t for t in for_applicant(dairy.member) if t.case_code == agreement.code]
    assert len(todos) == 1 and f"{dairy.past(2):%m/%Y}" in str(todos[0].action)
    assert not [t for t in for_applicant(dairy.outsider) if t.case_code == agreement.code]


@pytest.mark.django_db
def test_paid_settlements_count_in_the_amount_paid_metric(dairy):
    from cases import kinds
    from cases.metrics import FiscalYear

    agreement = active_agreement(dairy, rate="0.50")
    settlement = verified(dairy, agreement, 1, litres="1000.00")
    services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-M")
    settlement.refresh_from_db()
    (metric,) = kinds.get("settlement").metrics
    figures_ = metric.figures(FiscalYear(settlement.paid_on.year))
    assert figures_["amount_paid"]["PROLECHE"] == Decimal("500.00")
