"""The approved amount (issue 13, item 3): fixed at the budget certification, at most the requested
amount and more than zero, lower only with its reason; the counterpart owed follows it; the
certification, the commitment, the tranches, the payments, the reports, the case list and the API
use it; the step's audit entry records requested, approved and reason."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import BudgetLine
from budget.selectors import case_figures
from cases import listing
from cases.metrics import FiscalYear, Scope
from iniciativas import metrics
from iniciativas.models import Initiative, Tranche
from reports.selectors import budget_execution
from workflows.models import CaseTask

from .test_api_journey import client_for
from .test_side_exits import decide, state, task, to_approval

pytestmark = pytest.mark.django_db

REASON = "El comité recorta el equipamiento secundario."


def certified(world, **data):
    """An initiative of Bs 100.000 (counterpart Bs 100.000) certified with ``data``."""
    i = to_approval(world)
    decide(i, "legal_report", world.staff["legal1"], opinion="Procedente")
    decide(i, "budget_certification", world.staff["finanzas1"], budget_line=world.line.pk, **data)
    return Initiative.objects.get(pk=i.pk)


def line():
    return BudgetLine.objects.get()


def test_approved_for_less_is_certified_committed_and_paid_in_tranches_of_the_approved_amount(world):
    s = world.staff
    i = certified(world, approved_amount="80000.00", approved_amount_reason=REASON)
    assert i.state == "approved"
    assert (i.requested_amount, i.approved_amount, i.approved_amount_reason) == (
        Decimal("100000.00"),
        Decimal("80000.00"),
        REASON,
    )
    # The counterpart follows: Bs 1 of counterpart per Bs 1 granted, as offered.
    assert i.approved_counterpart == Decimal("80000.00")
    assert line().reserved == Decimal("80000.00")
    # The certification's entry records requested, approved and reason.
    (entry,) = AuditEntry.objects.filter(
        case=i.code, action="task.completed", data__step="budget_certification"
    )
    assert entry.data["data"]["approved_amount"] == "80000.00"
    assert (entry.data["requested_amount"], entry.data["approved_amount"]) == ("100000.00", "80000.00")
    assert entry.data["approved_amount_reason"] == REASON
    approved = AuditEntry.objects.get(case=i.code, action="initiative.approved")
    assert approved.data["approved_amount"] == "80000.00"

    decide(i, "agreement", s["legal2"], agreement_number="C-1", signed_on=str(timezone.localdate()))
    assert (line().reserved, line().committed) == (Decimal("0.00"), Decimal("80000.00"))
    # The payment order offers the tranche of the approved amount (40 % of 80.000) and takes nothing else.
    fields = {f.name: f for f in approvals_fields(i, "payment_order")}
    assert fields["amount"].default == Decimal("32000.00") == fields["amount"].max
    with pytest.raises(ValidationError):
        decide(i, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    paid = []
    for n, amount in enumerate(["32000.00", "32000.00", "16000.00"], 1):
        decide(i, "payment_order", s["finanzas1"], tranche=n, amount=amount)
        decide(
            i,
            "payment_confirmation",
            s["finanzas2"],
            tranche=n,
            payment_reference=f"AP-{n}",
            paid_on=str(timezone.localdate()),
        )
        paid.append(Decimal(amount))
        if n < 3:
            decide(
                i,
                "progress_report",
                world.applicant,
                summary="Avance",
                physical_progress=40 * n,
                amount_spent=str(sum(paid)),
                counterpart_spent="10000.00",
            )
            decide(i, "progress_review", s["evaluador4"], counterpart_verified=True)
    assert list(Tranche.objects.filter(initiative=i).values_list("amount", flat=True)) == [
        Decimal("32000.00"),
        Decimal("32000.00"),
        Decimal("16000.00"),
    ]
    # The budget line moved by the approved amount only.
    ln = line()
    assert (ln.reserved, ln.committed, ln.executed, ln.paid) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("80000.00"),
        Decimal("80000.00"),
    )
    assert ln.available == ln.amount_in_force - Decimal("80000.00")
    figures = case_figures(ln, i.code)
    assert figures["executed"] == Decimal("80000.00")

    # Reports: the budget execution sums the approved amount; the goals' drill-down shows it.
    report = budget_execution(timezone.localdate().year, check_ledger=True)
    assert report.total.executed == Decimal("80000.00")
    assert report.ledger_reconciles
    year = FiscalYear(timezone.localdate().year)
    (approved_line,) = metrics.reached_lines("initiatives_approved", year, Scope())
    assert approved_line.amount == Decimal("80000.00")
    assert metrics.paid_figures(year)["amount_paid"] == {"PROLECHE": Decimal("80000.00")}
    # The staff case list (and its export) shows the approved amount.
    (row,) = [r for r in listing.case_rows(s["director1"]) if r.code == i.code]
    assert row.amount == Decimal("80000.00")


def approvals_fields(initiative, step):
    from approvals.steps import spec_for

    t = task(initiative, step)
    return spec_for("initiative", step).fields(t, Initiative.objects.get(pk=initiative.pk))


def test_the_certification_offers_the_requested_amount_by_default_and_fixes_it_without_a_reason(world):
    i = to_approval(world)
    decide(i, "legal_report", world.staff["legal1"], opinion="Procedente")
    fields = {f.name: f for f in approvals_fields(i, "budget_certification")}
    amount = fields["approved_amount"]
    assert (amount.default, amount.max, amount.min) == (
        Decimal("100000.00"),
        Decimal("100000.00"),
        Decimal("0.01"),
    )
    assert not fields["approved_amount_reason"].required
    # A client that sends no amount (as before) gets the requested one; a reason sent with the full
    # amount is not kept.
    decide(
        i,
        "budget_certification",
        world.staff["finanzas1"],
        budget_line=world.line.pk,
        approved_amount_reason="x",
    )
    i = Initiative.objects.get(pk=i.pk)
    assert (i.approved_amount, i.approved_amount_reason, i.approved_counterpart) == (
        Decimal("100000.00"),
        "",
        Decimal("100000.00"),
    )
    assert line().reserved == Decimal("100000.00")


def test_the_counterpart_keeps_the_offered_share_rounded_up(world):
    # Bs 90.000 requested with Bs 95.000 of counterpart (51,35 % of the total, above the call's 50 %).
    from .conftest import submitted
    from .test_side_exits import GOOD_SCORES

    s = world.staff
    i = submitted(world, requested_amount="90000.00", counterpart_amount="95000.00")
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=GOOD_SCORES)
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=GOOD_SCORES)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(
        i,
        "budget_certification",
        s["finanzas1"],
        budget_line=world.line.pk,
        approved_amount="50000.00",
        approved_amount_reason=REASON,
    )
    i = Initiative.objects.get(pk=i.pk)
    # 50.000 x 95.000 / 90.000 = 52.777,77… → 52.777,78 (up, so the share never drops).
    assert i.approved_counterpart == Decimal("52777.78")
    assert i.approved_counterpart / (i.approved_amount + i.approved_counterpart) >= Decimal("0.5")
    assert i.counterpart_due == Decimal("52777.78")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"approved_amount": "100000.01", "approved_amount_reason": REASON},
            "data.approved_amount",
            "no puede superar",
        ),
        (
            {"approved_amount": "0.00", "approved_amount_reason": REASON},
            "data.approved_amount",
            "mayor que cero",
        ),
        (
            {"approved_amount": "-5.00", "approved_amount_reason": REASON},
            "data.approved_amount",
            "monto",
        ),
        ({"approved_amount": "80000.00"}, "data.approved_amount_reason", "motivo"),
        (
            {"approved_amount": "80000.00", "approved_amount_reason": "   "},
            "data.approved_amount_reason",
            "motivo",
        ),
    ],
)
def test_bad_approved_amounts_are_refused_in_spanish_and_change_nothing(world, data, field, message):
    from django.utils import translation

    i = to_approval(world)
    decide(i, "legal_report", world.staff["legal1"], opinion="Procedente")
    before = AuditEntry.objects.count()
    with translation.override("es"), pytest.raises(ValidationError) as err:
        decide(i, "budget_certification", world.staff["finanzas1"], budget_line=world.line.pk, **data)
        raise AssertionError("accepted")  # pragma: no cover
    with translation.override("es"):
        messages = err.value.message_dict
    assert field in messages and message in " ".join(messages[field]), messages
    assert AuditEntry.objects.count() == before  # not even a refusal: a field error
    i = Initiative.objects.get(pk=i.pk)
    assert (i.state, i.approved_amount, i.approved_amount_reason, i.budget_line_id) == (
        "in_approval",
        None,
        "",
        None,
    )
    assert line().reserved == Decimal("0.00")
    assert task(i, "budget_certification").is_open


def test_the_api_shows_the_fields_and_the_approved_amount(world):
    i = to_approval(world)
    decide(i, "legal_report", world.staff["legal1"], opinion="Procedente")
    api = client_for("finanzas1")
    tasks = api.get(f"/api/v1/tasks/?case={i.code}&step=budget_certification").json()["results"]
    (t,) = tasks
    fields = {f["name"]: f for f in t["fields"]}
    assert fields["approved_amount"]["type"] == "decimal"
    assert (
        fields["approved_amount"]["default"],
        fields["approved_amount"]["max"],
        fields["approved_amount"]["min"],
    ) == (
        "100000.00",
        "100000.00",
        "0.01",
    )
    assert fields["approved_amount_reason"]["type"] == "string"
    refused = api.post(
        f"/api/v1/tasks/{t['id']}/complete/",
        {"decision": "approve", "data": {"budget_line": world.line.pk, "approved_amount": "120000.00"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert refused.status_code == 400
    assert "no puede superar el monto solicitado" in refused.json()["data.approved_amount"][0]
    done = api.post(
        f"/api/v1/tasks/{t['id']}/complete/",
        {
            "decision": "approve",
            "data": {
                "budget_line": world.line.pk,
                "approved_amount": "75000.00",
                "approved_amount_reason": REASON,
            },
        },
        format="json",
    )
    assert done.status_code == 200, done.content
    assert state(i) == "approved"
    body = api.get(f"/api/v1/initiatives/{i.pk}/").json()
    assert (body["requested_amount"], body["approved_amount"], body["granted_amount"]) == (
        "100000.00",
        "75000.00",
        "75000.00",
    )
    assert body["approved_amount_reason"] == REASON and body["approved_counterpart"] == "75000.00"


def test_the_official_documents_print_the_approved_amount_its_reason_and_counterpart(world):
    from cases.models import OfficialDocument
    from iniciativas.models import Call, TrancheUnlock
    from tests.pdftext import pdf_text
    from workflows import official as official_docs

    i = certified(world, approved_amount="80000.00", approved_amount_reason=REASON)
    # The call's plan: the second tranche unlocked by the first one's payment, not by a report.
    Call.objects.filter(pk=i.call_id).update(
        tranche_unlocks=[TrancheUnlock.AGREEMENT, TrancheUnlock.AGREEMENT, TrancheUnlock.PROGRESS_REPORT]
    )
    decide(i, "agreement", world.staff["legal2"], agreement_number="C-1", signed_on=str(timezone.localdate()))
    texts = {
        d.kind: " ".join(pdf_text(official_docs.render(d.pk).file.read()).split())
        for d in OfficialDocument.objects.filter(case_code=i.code)
    }
    resolution, agreement = texts["approval_resolution"], texts["agreement"]
    for text in (resolution, agreement):
        assert "Bs 80.000,00" in text and "OCHENTA MIL 00/100 BOLIVIANOS" in text
        assert "Bs 100.000,00" not in text.replace(
            "Monto solicitado: Bs 100.000,00", ""
        )  # the counterpart follows
    assert "Monto solicitado" in resolution and "Bs 100.000,00" in resolution and REASON in resolution
    assert "Pago del tramo 1" in agreement and "Informe de avance del tramo 2 aprobado" in agreement
    assert "Informe de avance del tramo 1 aprobado" not in agreement
