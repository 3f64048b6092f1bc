"""Bring a transfer, through the services only, to an open task of a given step: each open task is
decided by the first person of its role who may (scope, four eyes), with the data a careful person
types; ``steer(step, n)`` may decide the n-th task of a step otherwise."""

from __future__ import annotations

from decimal import Decimal

from approvals import services as approvals
from approvals.steps import spec_for
from budget.models import Program
from registry.models import User
from transfers import services
from transfers.models import Transfer
from workflows.models import CaseTask

CAST = {
    "evaluator": ["evaluador1", "evaluador2", "evaluador3", "evaluador4"],
    "legal": ["legal1", "legal2"],
    "finance": ["finanzas1", "finanzas2", "finanzas3"],
    "director": ["director1", "director2"],
}
TYPED = {
    "report": "Favorable.",
    "resolution_number": "RA-001/2026",
    "agreement_number": "CONV-001/2026",
    "record_number": "ACTA-ENT-1",
    "received": True,
    "findings": "Equipos en uso por los socios.",
    "reference": "DEV-1",
    "answer": "Adjuntamos la cotización actualizada.",
}
ASSETS = [{"description": "Tanque de enfriamiento", "quantity": 2, "unit_value": "20000.00"}]


def new_transfer(world, *, modality="money", actor=None) -> Transfer:
    in_kind = modality == "in_kind"
    return services.create_transfer(
        actor=actor or world.applicant,
        beneficiary=world.unit,
        modality=modality,
        kind="public_private",
        program=Program.objects.get(code="PROLECHE"),
        amount=None if in_kind else "35000.00",
        assets=ASSETS if in_kind else None,
        purpose="Acopio de leche de los socios.",
    )


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
    data.update(overrides or {})
    return data


def worker(world, task: CaseTask):
    if task.role == "applicant":
        return world.applicant
    for name in CAST[task.role]:
        user = User.objects.get(username=name)
        if approvals.refusal_reason(user, task) is None:
            return user
    raise AssertionError(f"nobody of the cast may work {task.step}")


def open_task(code: str, step: str) -> CaseTask:
    return CaseTask.objects.get(case_code=code, step=step, is_open=True)


def decide(world, code: str, step: str, decision="approve", comment="", **overrides):
    task = open_task(code, step)
    return approvals.complete_task(
        task.pk, actor=worker(world, task), decision=decision, comment=comment, data=fill(task, overrides)
    )


def drive(world, code: str, target: str, steer=None) -> CaseTask:
    """Decide the case's open tasks, in order, until one of step ``target`` is open."""
    seen: dict[str, int] = {}
    for _ in range(40):
        tasks = list(CaseTask.objects.filter(case_code=code, is_open=True).exclude(step="").order_by("pk"))
        for task in tasks:
            if task.step == target:
                return task
        assert tasks, f"{code} ended before reaching {target}"
        task = tasks[0]
        seen[task.step] = seen.get(task.step, 0) + 1
        decision, comment, overrides = (steer and steer(task.step, seen[task.step])) or ("approve", "", {})
        approvals.complete_task(
            task.pk, actor=worker(world, task), decision=decision, comment=comment, data=fill(task, overrides)
        )
    raise AssertionError(f"{code} did not reach {target}")


def locked(transfer: Transfer) -> Transfer:
    """The transfer row as ``workflows.services.transition`` expects it (locked, in the test's
    transaction)."""
    return Transfer.objects.select_for_update().select_related("beneficiary", "program").get(pk=transfer.pk)


def held(transfer: Transfer) -> Decimal:
    from budget.selectors import case_figures

    transfer = Transfer.objects.get(pk=transfer.pk)
    if transfer.budget_line_id is None:
        return Decimal("0.00")
    figures = case_figures(transfer.budget_line, transfer.code)
    return figures["reserved"] + figures["committed"]
