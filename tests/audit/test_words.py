"""The trail reads in Spanish (issue 11): codes by the labels their apps registered
(``cases.labels``, ``CaseKind.labels``), ids by names, money, numbers and dates in the Bolivian
format, a compact row with the details behind a disclosure."""

import re

import pytest
from django.urls import reverse

import audit
from audit.actions import AuditAction
from audit.presentation import rows_for
from tests.factories import UnitFactory

pytestmark = pytest.mark.django_db


def test_a_transition_entry_in_words(client, control_user):
    unit = UnitFactory(name="Asociación Lechera Challapata")
    audit.record(
        AuditAction.INITIATIVE_CLOSEOUT_STARTED,
        actor=control_user,
        case="INI-2026-000042",
        data={
            "from": "in_execution",
            "to": "in_closeout",
            "step": "progress_report",
            "kind": "counterpart_letter",
            "unit": unit.pk,
            "amount": "120000.00",
            "max_amount": "350000.00",
            "content_type": "application/pdf",
            "valid_until": "2027-03-05",
            "mean": "80.50",
            "decision": "approve",
        },
    )
    entry = audit.models.AuditEntry.objects.get(case="INI-2026-000042")
    # ``case=`` without a subject: the scope comes from the data alone, labels of any kind.
    row = rows_for([entry])[0]
    data = dict(row["data"])
    assert data["Estado anterior"] == "En ejecución" and data["Estado nuevo"] == "En cierre"
    assert data["Paso"] == "Informe de avance"
    assert data["Tipo"] == "Carta de compromiso de contraparte"
    assert data["Unidad productiva"] == "Asociación Lechera Challapata"
    assert data["Monto"] == "Bs 120.000,00" and data["Monto máximo"] == "Bs 350.000,00"
    assert data["Tipo de archivo"] == "PDF"
    assert data["Valid until"] == "05/03/2027"  # an unknown key still shows its date the Bolivian way
    assert data["Puntaje promedio"] == "80,50"
    assert data["Decisión"] == "aprobado"
    assert "En ejecución → En cierre" in row["summary"] and "Bs 120.000,00" in row["summary"]

    client.force_login(control_user)
    html = client.get(reverse("audit:trail")).content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    for raw in (
        "in_execution",
        "progress_report",
        "counterpart_letter",
        "120000.00",
        "Content type",
        "From state",
    ):
        assert raw not in text, raw
    assert '<details class="audit-details">' in html and "<summary>Detalles</summary>" in html
    assert "Asociación Lechera Challapata" in text


def test_a_task_subject_is_named_by_its_step(control_user):
    from tests.factories import UserFactory

    evaluator = UserFactory(username="evaluador9", roles=["evaluator"])
    audit.record(
        AuditAction.TASK_CLAIMED,
        actor=evaluator,
        case="INI-2026-000043",
        data={"step": "technical_evaluation", "task": 13},
    )
    entry = audit.models.AuditEntry.objects.get(case="INI-2026-000043")
    row = rows_for([entry])[0]
    assert row["subject"] == "" or "flow/" not in row["subject"]
    assert row["summary"] == "Evaluación técnica"
    assert dict(row["data"]) == {"Paso": "Evaluación técnica", "Tarea n.º": "13"}


def test_a_page_reads_every_name_in_one_query_per_kind(control_user, django_assert_max_num_queries):
    units = [UnitFactory() for _ in range(5)]
    for unit in units:
        audit.record(AuditAction.UNIT_UPDATED, actor=control_user, data={"unit": unit.pk})
    entries = list(audit.models.AuditEntry.objects.filter(action=AuditAction.UNIT_UPDATED))
    with django_assert_max_num_queries(1):
        rows = rows_for(entries)
    assert {dict(r["data"])["Unidad productiva"] for r in rows} == {u.name for u in units}
