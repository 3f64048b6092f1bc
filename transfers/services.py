"""Writes on transfers. Every state change goes through ``workflows.services.transition``
(permission, FSM, exit hooks, audit entry and the flow in step, in the caller's transaction); human
steps are decided via ``approvals.services.complete_task`` whose handlers live in ``transfers.steps``."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from cases import documents
from cases.errors import Conflict
from cases.permissions import require
from cases.reach import clean_reach, defaults_from_unit
from registry.models import Unit
from workflows import answering
from workflows.services import case_action, next_case_code, transition

from .models import (
    ANNULLABLE,
    FINAL_STATES,
    KIND,
    MAX_QUANTITY,
    Asset,
    AssetItem,
    Document,
    DocumentKind,
    Modality,
    Transfer,
    TransferKind,
    TransferState,
)

S = TransferState
MAX_ASSET_LINES = 50
IMAGE_TYPES = ("image/jpeg", "image/png")

TRANSITION_ACTIONS = {
    "start_verification": AuditAction.TRANSFER_VERIFICATION_STARTED,
    "verify": AuditAction.TRANSFER_VERIFIED,
    "approve": AuditAction.TRANSFER_APPROVED,
    "sign_agreement": AuditAction.TRANSFER_AGREEMENT_SIGNED,
    "start_delivery": AuditAction.TRANSFER_DELIVERY_STARTED,
    "deliver": AuditAction.TRANSFER_DELIVERED,
    "start_followup": AuditAction.TRANSFER_FOLLOWUP_STARTED,
    "close": AuditAction.TRANSFER_CLOSED,
    "reject": AuditAction.TRANSFER_REJECTED,
    "annul": AuditAction.TRANSFER_ANNULLED,
    "revert": AuditAction.TRANSFER_REVERTED,
    # An unanswered observation ends the case annulled: the same entry as the director's annulment,
    # its data saying why (``lapsed``, the observation).
    "lapse": AuditAction.TRANSFER_ANNULLED,
}


def _lock(transfer: Transfer | int) -> Transfer:
    pk = transfer.pk if isinstance(transfer, Transfer) else transfer
    return Transfer.objects.select_for_update().select_related("beneficiary", "program").get(pk=pk)


def _money(value, field: str) -> Decimal:
    from cases.money import clean_amount

    return clean_amount(value, field)


def _clean_assets(assets, errors: dict) -> list[dict]:
    """``[{"description","quantity","unit_value"}]`` → cleaned rows; errors keyed ``assets[n].field``."""
    if assets in (None, ""):
        return []
    if not isinstance(assets, list | tuple):
        errors["assets"] = [_("Send the assets as a list.")]
        return []
    if len(assets) > MAX_ASSET_LINES:
        errors["assets"] = [_("At most %(n)s asset lines per transfer.") % {"n": MAX_ASSET_LINES}]
        return []
    rows = []
    for i, raw in enumerate(assets):
        key = f"assets[{i}]"
        if not isinstance(raw, dict):
            errors[key] = [_("Each asset is an object with description, quantity and unit value.")]
            continue
        description = str(raw.get("description") or "").strip()
        if not description:
            errors[f"{key}.description"] = [_("Describe the asset.")]
        elif len(description) > 200:
            errors[f"{key}.description"] = [_("Keep the description under 200 characters.")]
        quantity = raw.get("quantity")
        try:
            if isinstance(quantity, bool) or quantity is None:
                raise ValueError
            quantity = int(str(quantity).strip())
            if not 1 <= quantity <= MAX_QUANTITY:
                raise ValueError
        except ValueError:
            errors[f"{key}.quantity"] = [
                _("Enter a whole number of units between 1 and %(max)s.") % {"max": MAX_QUANTITY}
            ]
            quantity = None
        try:
            unit_value = _money(raw.get("unit_value"), "unit_value")
        except ValidationError as exc:
            errors[f"{key}.unit_value"] = exc.message_dict.get("unit_value", exc.messages)
            unit_value = None
        if description and quantity and unit_value is not None:
            rows.append({"description": description[:200], "quantity": quantity, "unit_value": unit_value})
    return rows


@transaction.atomic
def create_transfer(
    *,
    actor,
    beneficiary: Unit,
    modality,
    kind,
    program,
    amount=None,
    assets=None,
    purpose="",
    reach: dict | None = None,
) -> Transfer:
    """Request a transfer: validated, numbered, audited, and its verification (technical ∥ legal
    report) started in the inboxes. Nothing is written when any field is wrong. ``reach``: its
    beneficiaries and placement (any of ``cases.reach.REACH_FIELDS``); what is not given comes from
    the beneficiary unit (``defaults_from_unit``); the department is the unit's."""
    from approvals.notifications import after_case_started
    from approvals.services import policy_for

    from .flow import TransferFlow

    require(actor, "transfers.create", beneficiary)
    errors: dict[str, list[str]] = {}
    if modality not in Modality.values:
        errors["modality"] = [_('Choose "in_kind" or "money".')]
    if kind not in TransferKind.values:
        errors["kind"] = [_('Choose "public_private" or "public_public".')]
    elif kind == TransferKind.PUBLIC_PUBLIC and beneficiary.kind != Unit.Kind.MUNICIPALITY:
        errors["kind"] = [_("A public-public transfer goes to a public entity (a municipality).")]
    elif kind == TransferKind.PUBLIC_PRIVATE and beneficiary.kind == Unit.Kind.MUNICIPALITY:
        errors["kind"] = [_("A municipality receives public-public transfers.")]
    if not beneficiary.registration_is_valid():
        errors["beneficiary"] = [
            _("The unit's registration expired on %(date)s; renew it first.")
            % {"date": beneficiary.registration_valid_until.strftime("%d/%m/%Y")}
        ]
    rows = _clean_assets(assets, errors)
    total = sum((r["unit_value"] * r["quantity"] for r in rows), Decimal("0.00"))
    value = None
    if amount not in (None, ""):
        try:
            value = _money(amount, "amount")
        except ValidationError as exc:
            errors["amount"] = exc.message_dict.get("amount", exc.messages)
    if (
        modality == Modality.IN_KIND
        and "assets" not in errors
        and not any(k.startswith("assets") for k in errors)
    ):
        if not rows:
            errors["assets"] = [_("List the assets to transfer (description, quantity, unit value).")]
        elif value is not None and value != total:
            errors["amount"] = [
                _("The amount must equal the value of the assets, Bs %(total)s.") % {"total": f"{total:.2f}"}
            ]
        else:
            value = total
    elif modality == Modality.MONEY:
        if rows or assets:
            errors["assets"] = [_("A transfer in money lists no assets.")]
        if value is None and "amount" not in errors:
            errors["amount"] = [_("Enter the amount to transfer.")]
    purpose = (purpose or "").strip()
    if len(purpose) > 5000:
        errors["purpose"] = [_("Keep this text under 5000 characters.")]
    department_code = beneficiary.department.code
    placed: dict = {}
    try:
        placed = clean_reach(
            reach or {},
            current=defaults_from_unit(
                beneficiary, program_code=program.code, department_code=department_code
            ),
            program_code=program.code,
            department_code=department_code,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or value is None:  # the amount is set whenever nothing was wrong
        raise ValidationError(errors)
    policy = policy_for(KIND, program, value)

    transfer = Transfer(
        code=next_case_code("TRF"),
        beneficiary=beneficiary,
        department_id=beneficiary.department_id,
        program=program,
        modality=modality,
        kind=kind,
        purpose=purpose,
        amount=value,
        policy=policy,
        created_by=actor,
        **placed,
    )
    transfer.full_clean(exclude=["state"])
    transfer.save()
    for position, row in enumerate(rows, 1):
        asset = Asset.objects.create(transfer=transfer, position=position, **row)
        AssetItem.objects.bulk_create(AssetItem(asset=asset, number=n) for n in range(1, row["quantity"] + 1))
    audit.record(
        AuditAction.TRANSFER_REQUESTED,
        actor=actor,
        subject=transfer,
        data={
            "beneficiary": beneficiary.pk,
            "modality": modality,
            "kind": kind,
            "program": program.code,
            "amount": value,
            "assets": rows,
            "policy": policy.pk,
            **placed,
        },
    )
    TransferFlow.start.run(case=transfer)
    after_case_started("transfer", transfer.pk)  # after commit: whoever takes the first task
    return transfer


def annul_transfer(transfer: Transfer, *, actor, reason: str) -> Transfer:
    """The director annuls a transfer before anything of it was executed: open tasks are
    cancelled and whatever was reserved or committed goes back to the budget line."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reasons for the annulment.")]})
    with case_action("transfer", transfer.pk) as transfer:
        require(actor, "transfers.annul", transfer)
        if transfer.state not in ANNULLABLE:
            raise Conflict(
                _("Transfer %(code)s is %(state)s: it can no longer be annulled.")
                % {"code": transfer.code, "state": transfer.get_state_display()}
            )
        if transfer.executed_amount > 0:
            raise Conflict(
                _("Part of transfer %(code)s was already executed; it cannot be annulled.")
                % {"code": transfer.code}
            )
        transfer.annulment_reason = reason.strip()
        # The exit hook gives back what is reserved or committed; the open tasks are cancelled.
        transition(transfer, "annul", actor=actor, data={"reason": reason.strip()})
    return transfer


@transaction.atomic
def upload_document(transfer: Transfer, *, actor, kind: str, uploaded_file) -> Document:
    """Attach a PDF/JPEG/PNG (checked by content, size-limited) to a transfer, with its SHA-256 and
    the case's state in the trail (``document.uploaded``). Members of the beneficiary unit and the
    staff working the case may, while the case is open, each kind in its stage and by the people
    ``transfers.document_rules`` names (403 for another role, 409 out of its stage); a visit photo is
    an image. Nothing is stored when anything is wrong."""
    from django.core.exceptions import PermissionDenied

    from . import document_rules

    transfer = _lock(transfer)
    require(actor, "transfers.upload", transfer)
    if transfer.state in FINAL_STATES:
        raise Conflict(_("This case is finished; no more documents can be added."))
    if kind in DocumentKind.values:  # an unknown kind is a field error of ``receive``, below
        refusal = document_rules.role_refusal(actor, transfer, kind)
        if refusal:
            raise PermissionDenied(refusal)
        refusal = document_rules.stage_refusal(transfer, kind)
        if refusal:
            raise Conflict(refusal)
    upload = documents.receive(kind, DocumentKind.values, uploaded_file)
    if document_rules.RULES[kind].images_only and upload.content_type not in IMAGE_TYPES:
        raise ValidationError({"file": [_("A photo is a JPEG or PNG image.")]})
    document = documents.store(Document(transfer=transfer, kind=kind, uploaded_by=actor), upload)
    audit.record(
        AuditAction.DOCUMENT_UPLOADED,
        actor=actor,
        subject=transfer,
        data={**document.audit_data(), "state": transfer.state},
    )
    return document


def no_observation(transfer: Transfer) -> str:
    return _("Transfer %(code)s has no observation waiting for an answer.") % {"code": transfer.code}


def open_observation_task(transfer: Transfer):
    """The beneficiary's open ``answer_observation`` task of the transfer, or ``None``."""
    return answering.open_observation_task(KIND, transfer.pk)


def answer_observation(transfer: Transfer, *, actor, answer: str, files: dict | None = None):
    """The beneficiary's whole answer to an observation of the approval chain, in ONE transaction
    (``workflows.answering``): the new documents (``upload_document``, ``files``: kind -> uploaded
    file) and the answer (the ``answer_observation`` task decided through
    ``approvals.services.complete_task``, which takes the chain step again). Any error rolls back all
    of it; a bad file is reported on ``document_<kind>``."""
    return answering.answer_observation(
        KIND,
        transfer,
        actor=actor,
        answer=answer,
        files=files,
        upload_document=upload_document,
        no_task=no_observation(transfer),
    )


# --- beneficiaries and placement, corrected by staff ---------------------------------------------------

REACH_CORRECTED = "transfer.reach_corrected"


@transaction.atomic
def correct_reach(transfer: Transfer, *, actor, reason: str, **values) -> Transfer:
    """Technical staff (evaluators, the director, within their department scope) correct the
    beneficiaries or the placement of a transfer: checked as at its request
    (``cases.reach.clean_reach``), one ``transfer.reach_corrected`` entry with the values before and
    after and the reason. Nothing changes when nothing differs."""
    from cases.reach import correction

    transfer = _lock(transfer)
    require(actor, "transfers.correct_reach", transfer)
    changes = correction(transfer, values, program_code=transfer.program.code, reason=reason)
    if changes:
        before = {field: getattr(transfer, field) for field in changes}
        for field, value in changes.items():
            setattr(transfer, field, value)
        transfer.save(update_fields=[*changes, "updated_at"])
        audit.record(
            REACH_CORRECTED,
            actor=actor,
            subject=transfer,
            data={"before": before, "after": changes, "reason": reason.strip()},
        )
    return transfer
