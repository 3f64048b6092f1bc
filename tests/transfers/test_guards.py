"""The transfer FSM is the law (PRODUCT.md §2: each transition "with who may fire it, its
conditions"): every transition declares its conditions and its permission in ``GUARDS``, and
``workflows.services.transition`` — the one way a state changes — refuses, for each of them, a wrong
actor (``PermissionDenied``) and a failed condition (``Conflict``, HTTP 409), changing nothing: not
the case row, not the budget ledger, not the audit trail.

The cases are brought to each source state through the services (task decisions), then the
transition is fired directly, as a caller that skipped the services' own checks would."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import translation
from django_fsm import has_transition_perm

from audit.models import AuditEntry
from budget.models import BudgetMovement
from cases.errors import Conflict
from cases.users import system_user
from transfers import conditions as c
from transfers.models import GUARDS, TRANSITIONS, AssetItem, FollowupVisit, Transfer, TransferState
from workflows.models import CaseTask
from workflows.services import may, transition

from .walk import decide, drive, locked, new_transfer

pytestmark = pytest.mark.django_db

S = TransferState


def snapshot(transfer: Transfer) -> tuple:
    return (
        Transfer.objects.values().get(pk=transfer.pk),
        AuditEntry.objects.count(),
        BudgetMovement.objects.count(),
        list(AssetItem.objects.filter(asset__transfer=transfer).order_by("pk").values()),
        CaseTask.objects.filter(case_code=transfer.code, is_open=True).count(),
    )


def refused(transfer: Transfer, name: str, actor, error, *, case: Transfer | None = None) -> str:
    """Fire ``name`` on ``case`` (default: the locked row) as ``actor``: it raises ``error`` and
    nothing changes. Returns the message."""
    before = snapshot(transfer)
    case = case or locked(transfer)
    with pytest.raises(error) as exc, transaction.atomic():
        transition(case, name, actor=actor, data={"test": True})
    assert snapshot(transfer) == before, name
    return str(exc.value)


def member_of_the_unit(world, user):
    """``user`` as if it belonged to the beneficiary unit (staff never do: the services refuse it,
    so this is the FSM's own last line)."""
    insider = copy.copy(user)
    insider.unit_id = world.unit.pk
    return insider


def test_every_transition_declares_its_guards_in_the_table():
    assert set(GUARDS) == {name for name, _sources, _target in TRANSITIONS}
    for name, sources, _target in TRANSITIONS:
        conditions, permission = GUARDS[name]
        meta = getattr(Transfer, name)._django_fsm
        for source in sources:
            declared = meta.get_transition(source)
            assert declared.conditions == conditions, name
            assert declared.permission is permission, name
        assert permission is not None, f"{name} has no permission"
    # The transitions that change what the case holds or owes always check something of the case.
    for name in (
        "verify",
        "approve",
        "sign_agreement",
        "deliver",
        "close",
        "reject",
        "annul",
        "revert",
        "lapse",
    ):
        assert GUARDS[name][0], f"{name} has no condition"


# --- verification ---------------------------------------------------------------------------------------


def test_start_verification_needs_technical_or_legal_staff(world):
    transfer = new_transfer(world)
    for who in (world.applicant, world.other_applicant, world.staff["finanzas1"], world.staff["director1"]):
        refused(transfer, "start_verification", who, PermissionDenied)
    for who in (world.staff["control1"], world.staff["admin1"], system_user()):
        refused(transfer, "start_verification", who, PermissionDenied)
    refused(
        transfer, "start_verification", member_of_the_unit(world, world.staff["evaluador1"]), PermissionDenied
    )
    case = locked(transfer)
    assert may(case, "start_verification", world.staff["evaluador1"])
    assert may(case, "start_verification", world.staff["legal1"])
    transition(case, "start_verification", actor=world.staff["legal1"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.IN_VERIFICATION


def test_verify_needs_both_reports_and_the_verifiers(world):
    transfer = new_transfer(world)
    decide(world, transfer.code, "technical_report")  # the legal report is still missing
    assert Transfer.objects.get(pk=transfer.pk).state == S.IN_VERIFICATION
    refused(transfer, "verify", world.staff["legal1"], Conflict)  # the condition fails
    case = locked(transfer)
    case.legal_report = "Procedente."
    assert c.reports_favourable(case)
    for who in (world.applicant, world.staff["finanzas1"], world.staff["director1"], world.staff["control1"]):
        refused(transfer, "verify", who, PermissionDenied, case=case)
    transition(case, "verify", actor=world.staff["legal1"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.IN_APPROVAL


# --- approval chain ---------------------------------------------------------------------------------------


def test_approve_needs_the_certified_reservation_the_whole_chain_and_a_chain_role(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "budget_certification")
    case = locked(transfer)
    case.approval_step = 2  # as if the chain were done, but nothing certified on a line
    assert not c.budget_certified(case)
    refused(transfer, "approve", world.staff["director1"], Conflict, case=case)
    case.budget_line = world.line  # a line named on the row is not a reservation in the ledger
    assert not c.budget_certified(case)
    refused(transfer, "approve", world.staff["director1"], Conflict, case=case)

    decide(world, transfer.code, "budget_certification")  # reserves the amount
    case = locked(transfer)
    assert c.budget_certified(case) and not c.chain_completed(case)  # the resolution is missing
    refused(transfer, "approve", world.staff["director1"], Conflict, case=case)
    case.approval_step = 2
    assert c.chain_completed(case)
    # The chain's roles (finance, director by the default policy) only; never the unit, nor
    # verifiers, internal control or administrators.
    for who in (
        world.applicant,
        world.staff["evaluador1"],
        world.staff["legal1"],
        world.staff["control1"],
        world.staff["admin1"],
        system_user(),
        member_of_the_unit(world, world.staff["director1"]),
    ):
        refused(transfer, "approve", who, PermissionDenied, case=case)
    case.observation = "Aclare el destino."  # an observation awaits the unit's answer
    refused(transfer, "approve", world.staff["director1"], Conflict, case=case)
    case.observation = ""
    transition(case, "approve", actor=world.staff["director1"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.APPROVED


def test_sign_agreement_needs_the_certification_the_agreement_and_legal(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "agreement")
    case = locked(transfer)
    assert case.state == S.APPROVED and not c.agreement_recorded(case)
    refused(transfer, "sign_agreement", world.staff["legal2"], Conflict, case=case)  # no agreement yet
    case.agreement_number, case.agreement_signed_on = "CONV-9", dt.date(2026, 1, 5)
    for who in (
        world.applicant,
        world.staff["finanzas1"],
        world.staff["director1"],
        world.staff["evaluador1"],
    ):
        refused(transfer, "sign_agreement", who, PermissionDenied, case=case)
    refused(
        transfer,
        "sign_agreement",
        member_of_the_unit(world, world.staff["legal2"]),
        PermissionDenied,
        case=case,
    )
    case.budget_line = None  # nothing certified on a line
    refused(transfer, "sign_agreement", world.staff["legal2"], Conflict, case=case)
    case = locked(transfer)
    case.agreement_number, case.agreement_signed_on = "CONV-9", dt.date(2026, 1, 5)
    transition(case, "sign_agreement", actor=world.staff["legal2"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.AGREEMENT_SIGNED


def test_start_delivery_needs_the_agreement_and_legal(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "agreement")
    case = locked(transfer)
    case.agreement_number, case.agreement_signed_on = "CONV-9", dt.date(2026, 1, 5)
    transition(case, "sign_agreement", actor=world.staff["legal2"])
    case = locked(transfer)
    for who in (
        world.applicant,
        world.staff["finanzas1"],
        world.staff["evaluador1"],
        world.staff["director1"],
    ):
        refused(transfer, "start_delivery", who, PermissionDenied)
    case.agreement_number = ""
    refused(transfer, "start_delivery", world.staff["legal2"], Conflict, case=case)
    transition(locked(transfer), "start_delivery", actor=world.staff["legal2"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.IN_DELIVERY


# --- delivery -----------------------------------------------------------------------------------------------


def test_deliver_in_kind_needs_every_unit_by_serial_and_the_beneficiary(world):
    transfer = new_transfer(world, modality="in_kind")
    drive(world, transfer.code, "delivery_record")
    refused(transfer, "deliver", world.applicant, Conflict)  # no record, no serials yet
    decide(world, transfer.code, "delivery_record")  # serials recorded; units not yet received
    assert not AssetItem.objects.filter(asset__transfer=transfer, serial="").exists()
    refused(transfer, "deliver", world.applicant, Conflict)  # nobody holds them yet
    AssetItem.objects.filter(asset__transfer=transfer).update(holder=world.unit)
    first = AssetItem.objects.filter(asset__transfer=transfer).order_by("pk").first()
    AssetItem.objects.filter(pk=first.pk).update(serial="")  # one unit without its serial
    refused(transfer, "deliver", world.applicant, Conflict)
    AssetItem.objects.filter(pk=first.pk).update(serial="SN-X")
    # In kind the beneficiary accepts the delivery: nobody else delivers it, not the other unit,
    # not staff (not even finance, who confirms payments of transfers in money).
    for who in (
        world.other_applicant,
        world.staff["evaluador1"],
        world.staff["finanzas1"],
        world.staff["director1"],
        world.staff["control1"],
    ):
        refused(transfer, "deliver", who, PermissionDenied)
    transition(locked(transfer), "deliver", actor=world.applicant)
    assert Transfer.objects.get(pk=transfer.pk).state == S.DELIVERED


def test_deliver_in_money_needs_the_confirmed_payment_and_finance(world):
    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "payment_confirmation")  # ordered (executed), not yet paid
    refused(transfer, "deliver", world.staff["finanzas3"], Conflict)
    case = locked(transfer)
    case.payment_reference, case.paid_amount = "SIGEP-1", Decimal("1.00")  # not the whole amount
    refused(transfer, "deliver", world.staff["finanzas3"], Conflict, case=case)
    case.paid_amount = case.amount
    for who in (
        world.applicant,
        world.staff["evaluador1"],
        world.staff["director1"],
        world.staff["control1"],
    ):
        refused(transfer, "deliver", who, PermissionDenied, case=case)
    refused(
        transfer, "deliver", member_of_the_unit(world, world.staff["finanzas3"]), PermissionDenied, case=case
    )
    transition(case, "deliver", actor=world.staff["finanzas3"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.DELIVERED


def test_start_followup_needs_the_delivery_and_the_receiver(world):
    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "payment_confirmation")
    case = locked(transfer)
    case.payment_reference, case.paid_amount = "SIGEP-2", case.amount
    transition(case, "deliver", actor=world.staff["finanzas3"])
    for who in (world.applicant, world.staff["evaluador1"], world.staff["legal1"]):
        refused(transfer, "start_followup", who, PermissionDenied)
    case = locked(transfer)
    case.payment_reference = ""
    refused(transfer, "start_followup", world.staff["finanzas3"], Conflict, case=case)
    transition(locked(transfer), "start_followup", actor=world.staff["finanzas3"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.IN_FOLLOWUP


# --- follow-up, close, reversion --------------------------------------------------------------------------


def test_close_needs_a_verified_followup_and_an_evaluator(world):
    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "followup_visit")
    refused(transfer, "close", world.staff["evaluador3"], Conflict)  # no visit yet
    visit = FollowupVisit.objects.create(
        transfer=transfer,
        task_id=10**9,
        visited_on=dt.date(2026, 1, 5),
        findings="No se encontró el equipo.",
        use_verified=False,
        visitor=world.staff["evaluador3"],
    )
    refused(transfer, "close", world.staff["evaluador3"], Conflict)  # the last visit did not verify
    FollowupVisit.objects.filter(pk=visit.pk).update(use_verified=True)
    case = locked(transfer)
    case.reversion_reason = "Vendió el tanque."  # misuse reported: never closed
    refused(transfer, "close", world.staff["evaluador3"], Conflict, case=case)
    for who in (world.applicant, world.staff["finanzas1"], world.staff["director1"], world.staff["legal1"]):
        refused(transfer, "close", who, PermissionDenied)
    refused(transfer, "close", member_of_the_unit(world, world.staff["evaluador3"]), PermissionDenied)
    transition(locked(transfer), "close", actor=world.staff["evaluador3"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.CLOSED


def test_revert_needs_a_reversion_reason_and_finance(world):
    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "followup_visit")
    refused(transfer, "revert", world.staff["finanzas3"], Conflict)  # no misuse reported
    case = locked(transfer)
    case.reversion_reason = "Fondos usados para otro fin."
    for who in (
        world.applicant,
        world.staff["evaluador1"],
        world.staff["director1"],
        world.staff["control1"],
    ):
        refused(transfer, "revert", who, PermissionDenied, case=case)
    refused(
        transfer, "revert", member_of_the_unit(world, world.staff["finanzas3"]), PermissionDenied, case=case
    )
    transition(case, "revert", actor=world.staff["finanzas3"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.REVERTED


# --- side exits -------------------------------------------------------------------------------------------


def test_reject_needs_its_reasons_and_the_step_of_the_moment(world):
    transfer = new_transfer(world)
    decide(world, transfer.code, "technical_report")
    refused(transfer, "reject", world.staff["legal1"], Conflict)  # no reasons
    case = locked(transfer)
    case.rejection_reason = "Sin personería jurídica."
    # In verification: the technical or legal staff; not the chain's roles yet, never the unit.
    for who in (world.applicant, world.staff["finanzas1"], world.staff["director1"], world.staff["control1"]):
        refused(transfer, "reject", who, PermissionDenied, case=case)
    assert has_transition_perm(case.reject, world.staff["legal1"])

    decide(world, transfer.code, "legal_report")
    case = locked(transfer)
    assert case.state == S.IN_APPROVAL
    case.rejection_reason = "Sin sustento."
    # In approval: the chain's roles (finance, director); the verifiers are done.
    for who in (world.applicant, world.staff["evaluador2"], world.staff["legal2"], world.staff["admin1"]):
        refused(transfer, "reject", who, PermissionDenied, case=case)
    transition(case, "reject", actor=world.staff["finanzas1"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.REJECTED


def test_annul_needs_the_director_its_reasons_and_nothing_executed(world):
    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "payment_order")  # committed, nothing executed yet
    case = locked(transfer)
    refused(transfer, "annul", world.staff["director1"], Conflict, case=case)  # no reasons
    case.annulment_reason = "El beneficiario desistió."
    for who in (
        world.applicant,
        world.staff["evaluador1"],
        world.staff["finanzas1"],
        world.staff["control1"],
        world.staff["admin1"],
        system_user(),
        member_of_the_unit(world, world.staff["director1"]),
    ):
        refused(transfer, "annul", who, PermissionDenied, case=case)

    executed = new_transfer(world, modality="money")
    drive(world, executed.code, "payment_confirmation")  # the payment order executed the amount
    case_executed = locked(executed)
    case_executed.annulment_reason = "Desistimiento."
    assert not c.nothing_executed(case_executed)
    refused(executed, "annul", world.staff["director1"], Conflict, case=case_executed)

    transition(case, "annul", actor=world.staff["director1"])
    assert Transfer.objects.get(pk=transfer.pk).state == S.ANNULLED


def test_lapse_needs_a_pending_observation_and_the_system(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "director_resolution")
    case = locked(transfer)
    case.annulment_reason = "Observaciones no respondidas."
    refused(transfer, "lapse", system_user(), Conflict, case=case)  # nothing was observed
    case.observation = "Adjunte la cotización."
    for who in (world.staff["director1"], world.applicant, world.staff["admin1"], world.staff["finanzas1"]):
        refused(transfer, "lapse", who, PermissionDenied, case=case)
    transition(case, "lapse", actor=system_user())
    assert Transfer.objects.get(pk=transfer.pk).state == S.ANNULLED


def test_services_refuse_first_with_a_clear_message(world):
    """The annulment service checks the same guards first, with the reason; the FSM is behind it."""
    from transfers import services

    transfer = new_transfer(world, modality="money")
    drive(world, transfer.code, "payment_confirmation")
    before = snapshot(transfer)
    with translation.override("en"), pytest.raises(Conflict, match="already executed"):
        services.annul_transfer(transfer, actor=world.staff["director1"], reason="Desistimiento")
    with pytest.raises(PermissionDenied):
        services.annul_transfer(transfer, actor=world.staff["evaluador1"], reason="Desistimiento")
    assert snapshot(transfer) == before
