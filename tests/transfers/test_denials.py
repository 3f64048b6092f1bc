"""Who may decide each step of a transfer: everyone without the step's role — including internal
control, the administrator and the other unit's applicant — is refused, the refusal is on the audit
trail, and nothing of the case changes."""

import pytest
from django.core.exceptions import PermissionDenied

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import Program
from transfers import services
from transfers.models import Transfer
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

ANSWERS = {
    "technical_report": {"report": "Favorable"},
    "legal_report": {"report": "Procedente"},
    "director_resolution": {"resolution_number": "RA-9"},
    "agreement": {"agreement_number": "C-9", "signed_on": "2020-01-01"},
    "delivery_acceptance": {"received": True},
    "followup_visit": {"visited_on": "2020-01-01", "findings": "En uso"},
}
# Who does each step in this walk (one of the entitled people).
DOER = {
    "technical_report": "evaluador1",
    "legal_report": "legal1",
    "budget_certification": "finanzas1",
    "director_resolution": "director1",
    "agreement": "legal2",
    "delivery_record": "evaluador2",
    "delivery_acceptance": "solicitante1",
    "followup_visit": "evaluador3",
}
ROLE_OF = {
    "evaluator": {"evaluador1", "evaluador2", "evaluador3", "evaluador4"},
    "legal": {"legal1", "legal2"},
    "finance": {"finanzas1", "finanzas2", "finanzas3"},
    "director": {"director1", "director2"},
    "applicant": {"solicitante1"},
}


def test_each_step_refuses_everyone_without_its_role(world):
    people = {**world.staff, "solicitante1": world.applicant, "solicitante2": world.other_applicant}
    transfer = services.create_transfer(
        actor=world.applicant,
        beneficiary=world.unit,
        modality="in_kind",
        kind="public_private",
        program=Program.objects.get(code="PROLECHE"),
        assets=[{"description": "Tanque", "quantity": 2, "unit_value": "1000.00"}],
    )
    walked = []
    for _ in range(12):
        task = CaseTask.objects.filter(case_code=transfer.code, is_open=True).order_by("pk").first()
        if task is None:
            break
        entitled = ROLE_OF[task.role]
        before = Transfer.objects.values().get(pk=transfer.pk)
        for name, person in people.items():
            if name in entitled:
                continue
            refusals = AuditEntry.objects.filter(action="task.refused").count()
            with pytest.raises(PermissionDenied):
                approvals.complete_task(
                    task.pk, actor=person, decision="approve", data=ANSWERS.get(task.step, {})
                )
            assert AuditEntry.objects.filter(action="task.refused").count() == refusals + 1, (task.step, name)
        assert Transfer.objects.values().get(pk=transfer.pk) == before, task.step
        data = dict(ANSWERS.get(task.step, {}))
        if task.step == "budget_certification":
            data["budget_line"] = world.line.pk
        if task.step == "delivery_record":
            units = transfer.units()
            data = {
                "record_number": "A-1",
                "delivered_on": "2020-01-01",
                "items": [{"unit": u.pk, "serial": f"S{u.pk}"} for u in units],
            }
        if task.step == "followup_visit":
            data["items"] = [{"unit": u.pk, "status": "in_use"} for u in transfer.units()]
        approvals.complete_task(task.pk, actor=people[DOER[task.step]], decision="approve", data=data)
        walked.append(task.step)
    assert Transfer.objects.get(pk=transfer.pk).state == "closed"
    assert walked == [
        "technical_report",
        "legal_report",
        "budget_certification",
        "director_resolution",
        "agreement",
        "delivery_record",
        "delivery_acceptance",
        "followup_visit",
    ]
