"""Transfers through the public API only (PRODUCT.md §2.2): a request, the parallel technical and
legal reports, the policy's chain, the agreement, delivery (in kind by serial, or in money by a
confirmed bank payment), follow-up and close — each person working only what its own inbox
(``GET /api/v1/tasks/``) offers — plus every side exit and bad input."""

from decimal import Decimal

import pytest

from audit.models import AuditEntry
from audit.verification import verify_database
from budget.models import BudgetLine, BudgetMovement
from budget.selectors import case_figures, ledger_mismatches
from cases.models import OfficialDocument
from tests.factories import UnitFactory, UserFactory
from tests.iniciativas.conftest import World
from tests.iniciativas.test_api_journey import STAFF_ORDER, client_for
from tests.official_checks import check_official
from tests.pdftext import pdf_text
from transfers.models import AssetItem, Transfer
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

ASSETS = [
    {"description": "Ordeñadora mecánica de dos puestos", "quantity": 2, "unit_value": "12500.00"},
    {"description": "Tanque de enfriamiento de 1.000 litros", "quantity": 1, "unit_value": "45000.00"},
]


def request_in_kind(client, world: World, **overrides):
    body = {
        "beneficiary": world.unit.pk,
        "modality": "in_kind",
        "kind": "public_private",
        "program": "PROLECHE",
        "purpose": "Acopio y enfriamiento de leche de los socios.",
        "assets": ASSETS,
    }
    return client.post("/api/v1/transfers/", {**body, **overrides}, format="json")


def fill(task: dict, code: str, answers: dict | None = None) -> dict:
    """The form as a person fills it: defaults as offered, the rest typed in."""
    data = {f["name"]: f["default"] for f in task["fields"] if f.get("default") is not None}
    typed = {
        "report": "Favorable.",
        "resolution_number": f"RA-{code}",
        "agreement_number": f"CONV-{code}",
        "record_number": f"ACTA-ENT-{code}",
        "received": True,
        "payment_reference": f"SIGEP-T-{task['id']}",
        "findings": "Equipos en uso por los socios, según convenio.",
        "reference": f"DEV-{code}",
    }
    for f in task["fields"]:
        if f["name"] not in data and f["name"] in typed:
            data[f["name"]] = typed[f["name"]]
    if task["step"] == "delivery_record":
        data["items"] = [{**item, "serial": f"SN-{item['unit']:05d}"} for item in data["items"]]
    data.update(answers or {})
    return data


def work_inbox(code: str, clients: dict, *, until, decide=None, limit=30) -> list[tuple[str, str]]:
    """Each round, the first person (in a fixed order) whose inbox holds a task of the case claims
    and decides it. ``decide(step) -> (decision, comment, answers)`` overrides approval."""
    done = []
    for _ in range(limit):
        transfer = Transfer.objects.get(code=code)
        if until(transfer):
            return done
        for name, client in clients.items():
            tasks = client.get("/api/v1/tasks/", {"case": code}).json()["results"]
            if not tasks:
                continue
            task = tasks[0]
            assert task["case"]["type"] == "transfer" and task["case"]["code"] == code
            if task["status"] == "available":  # a staff queue task; the unit's own steps are never claimed
                assert client.post(f"/api/v1/tasks/{task['id']}/claim/").status_code == 200
            decision, comment, answers = (decide(task["step"]) if decide else None) or ("approve", "", {})
            result = client.post(
                f"/api/v1/tasks/{task['id']}/complete/",
                {"decision": decision, "comment": comment, "data": fill(task, code, answers)},
                format="json",
            )
            assert result.status_code == 200, (name, task["step"], result.content)
            done.append((task["step"], name))
            break
        else:
            raise AssertionError(f"nobody finds a task for {code} in state {transfer.state}")
    raise AssertionError("the case did not get there")


@pytest.fixture
def clients(world):
    found = {name: client_for(name) for name in STAFF_ORDER}
    found["solicitante1"] = client_for("solicitante1")
    return found


def test_in_kind_journey_by_serial_number(world, clients):
    applicant = clients["solicitante1"]
    created = request_in_kind(applicant, world)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "requested" and body["code"].startswith("TRF-")
    assert body["amount"] == "70000.00"  # 2 x 12.500 + 45.000, computed from the assets
    assert [a["quantity"] for a in body["assets"]] == [2, 1]
    code, pk = body["code"], body["id"]

    # Both reports are open at once, in two different inboxes.
    open_steps = set(CaseTask.objects.filter(case_code=code, is_open=True).values_list("step", flat=True))
    assert open_steps == {"technical_report", "legal_report"}

    steps = work_inbox(code, clients, until=lambda t: t.state == "closed")
    assert [s for s, _ in steps] == [
        "technical_report",
        "legal_report",
        "budget_certification",
        "director_resolution",
        "agreement",
        "delivery_record",
        "delivery_acceptance",
        "followup_visit",
    ]
    assert dict(steps)["delivery_acceptance"] == "solicitante1"  # the beneficiary accepts
    chain = [
        name
        for step, name in steps
        if step in ("technical_report", "legal_report", "budget_certification", "director_resolution")
    ]
    assert len(chain) == len(set(chain))  # four eyes over the chain

    final = applicant.get(f"/api/v1/transfers/{pk}/").json()
    assert final["state"] == "closed"
    assert final["executed_amount"] == final["paid_amount"] == "70000.00"
    items = AssetItem.objects.filter(asset__transfer_id=pk).order_by("pk")
    assert [i.status for i in items] == ["in_use"] * 3
    assert all(i.serial.startswith("SN-") and i.holder_id == world.unit.pk and i.delivered_on for i in items)
    assert [item["serial"] for a in final["assets"] for item in a["items"]] == [i.serial for i in items]

    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.executed == line.paid == Decimal("70000.00")
    assert (line.reserved, line.committed) == (Decimal("0.00"), Decimal("0.00"))
    assert case_figures(line, code)["paid"] == Decimal("70000.00")
    assert ledger_mismatches() == []
    actions = [h["action"] for h in final["history"]]
    assert (
        actions[0] == "transfer.requested"
        and "transfer.delivered" in actions
        and "transfer.closed" in actions
    )
    assert verify_database().valid

    # Official documents, each born at its step with its SHA-256 in that step's task.completed entry;
    # the acta de entrega lists every unit with its serial number.
    born_at = {
        "budget_certification": "budget_certification",
        "approval_resolution": "director_resolution",
        "agreement": "agreement",
        "delivery_record": "delivery_record",
        "closeout_record": "followup_visit",
    }
    documents = {d["kind"]: d for d in final["official_documents"]}
    assert sorted(documents) == sorted(born_at)
    for kind, document in documents.items():
        [entry] = AuditEntry.objects.filter(case=code, action="task.completed", data__step=born_at[kind])
        [recorded] = [d for d in entry.data["official_documents"] if d["number"] == document["number"]]
        check_official(applicant, document, recorded)
    acta = OfficialDocument.objects.get(number=documents["delivery_record"]["number"])
    text = pdf_text(acta.file.read())
    assert all(i.serial in text for i in items), text


def test_money_journey_pays_once(world, clients):
    created = clients["evaluador1"].post(  # technical staff start a direct transfer
        "/api/v1/transfers/",
        {
            "beneficiary": world.unit.pk,
            "modality": "money",
            "kind": "public_private",
            "program": "PROLECHE",
            "amount": "35000.50",
            "purpose": "Precio justo de la leche cruda, campaña de invierno.",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    code, pk = created.json()["code"], created.json()["id"]
    steps = work_inbox(code, clients, until=lambda t: t.state == "closed")
    names = dict(steps)
    assert [s for s, _ in steps][-3:] == ["payment_order", "payment_confirmation", "followup_visit"]
    assert names["payment_order"] != names["payment_confirmation"]
    transfer = Transfer.objects.get(pk=pk)
    assert transfer.paid_amount == Decimal("35000.50") and transfer.payment_reference.startswith("SIGEP-T-")
    movements = BudgetMovement.objects.filter(case_code=code)
    assert sorted(m.kind for m in movements) == ["commit", "execute", "pay", "reserve"]
    assert all(m.amount == Decimal("35000.50") for m in movements)
    assert ledger_mismatches() == []


def test_a_negative_report_rejects_and_cancels_the_other_report(world, clients):
    code = request_in_kind(clients["solicitante1"], world).json()["code"]
    legal = clients["legal1"].get("/api/v1/tasks/", {"case": code}).json()["results"][0]
    clients["legal1"].post(f"/api/v1/tasks/{legal['id']}/claim/")
    missing = clients["legal1"].post(
        f"/api/v1/tasks/{legal['id']}/complete/", {"decision": "reject", "data": {}}, format="json"
    )
    assert missing.status_code == 400 and "comment" in missing.json()  # a reason is required
    result = clients["legal1"].post(
        f"/api/v1/tasks/{legal['id']}/complete/",
        {"decision": "reject", "comment": "El beneficiario no acredita personería jurídica.", "data": {}},
        format="json",
    )
    assert result.status_code == 200 and result.json()["state"] == "rejected"
    assert not CaseTask.objects.filter(case_code=code, is_open=True).exists()  # technical report cancelled
    assert clients["evaluador1"].get("/api/v1/tasks/", {"case": code}).json()["count"] == 0
    transfer = Transfer.objects.get(code=code)
    assert transfer.rejection_reason.startswith("El beneficiario")
    assert not BudgetMovement.objects.filter(case_code=code).exists()


def test_rejection_in_the_chain_releases_the_reservation(world, clients):
    code = request_in_kind(clients["solicitante1"], world).json()["code"]
    work_inbox(
        code,
        clients,
        until=lambda t: t.state == "rejected",
        decide=lambda step: (
            ("reject", "Sin sustento para la resolución.", {}) if step == "director_resolution" else None
        ),
    )
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == Decimal("0.00") and line.available == Decimal("1000000.00")
    kinds = list(BudgetMovement.objects.filter(case_code=code).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["reserve", "release_reservation"]
    assert ledger_mismatches() == []


def test_refused_delivery_record_is_recorded_again(world, clients):
    code = request_in_kind(clients["solicitante1"], world).json()["code"]
    refusals = []

    def decide(step):
        if step == "delivery_acceptance" and not refusals:
            refusals.append(step)
            return ("observe", "Llegó una sola ordeñadora.", {})
        return None

    steps = work_inbox(code, clients, until=lambda t: t.state == "closed", decide=decide)
    assert [s for s, _ in steps].count("delivery_record") == 2
    assert [s for s, _ in steps].count("delivery_acceptance") == 2
    assert BudgetMovement.objects.filter(case_code=code, kind="execute").count() == 1
    # Each record is its own acta de entrega, numbered in turn; the refused one stays on file.
    actas = OfficialDocument.objects.filter(case_code=code, kind="delivery_record").order_by("sequence")
    assert [a.sequence for a in actas] == [1, 2]


def test_misuse_found_in_follow_up_reverts_and_recovers(world, clients):
    code = request_in_kind(clients["solicitante1"], world).json()["code"]
    units = []

    def decide(step):
        if step == "followup_visit":
            items = list(AssetItem.objects.filter(asset__transfer__code=code).order_by("pk"))
            units.extend(items)
            rows = [{"unit": i.pk, "status": "misused" if i.asset.position == 2 else "in_use"} for i in items]
            return ("reject", "El tanque fue vendido a un tercero.", {"items": rows})
        return None

    work_inbox(code, clients, until=lambda t: t.state == "reverted", decide=decide)
    transfer = Transfer.objects.get(code=code)
    assert transfer.recovered_amount == Decimal("45000.00")  # the tank's value, offered by default
    tank = AssetItem.objects.get(asset__transfer=transfer, asset__position=2)
    assert tank.status == "returned" and tank.holder_id is None
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.executed == line.paid == Decimal("25000.00")  # 70.000 delivered - 45.000 recovered
    assert ledger_mismatches() == []
    assert AuditEntry.objects.filter(case=code, action="transfer.reverted").count() == 1


def test_the_director_annuls_before_execution_and_money_comes_back(world, clients):
    code = request_in_kind(clients["solicitante1"], world).json()["code"]
    pk = Transfer.objects.get(code=code).pk
    work_inbox(code, clients, until=lambda t: t.state == "in_delivery")
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.committed == Decimal("70000.00")
    refused = clients["evaluador1"].post(f"/api/v1/transfers/{pk}/annul/", {"reason": "x"}, format="json")
    assert refused.status_code == 403
    no_reason = clients["director1"].post(f"/api/v1/transfers/{pk}/annul/", {"reason": " "}, format="json")
    assert no_reason.status_code == 400
    done = clients["director1"].post(
        f"/api/v1/transfers/{pk}/annul/", {"reason": "El proveedor no entregó los equipos."}, format="json"
    )
    assert done.status_code == 200 and done.json()["state"] == "annulled"
    line.refresh_from_db()
    assert line.committed == Decimal("0.00") and line.available == Decimal("1000000.00")
    assert not CaseTask.objects.filter(case_code=code, is_open=True).exists()
    again = clients["director1"].post(f"/api/v1/transfers/{pk}/annul/", {"reason": "otra vez"}, format="json")
    assert again.status_code == 409


def test_annulment_is_refused_once_money_was_executed(world, clients):
    created = clients["evaluador1"].post(
        "/api/v1/transfers/",
        {
            "beneficiary": world.unit.pk,
            "modality": "money",
            "kind": "public_private",
            "program": "PROLECHE",
            "amount": "1000.00",
        },
        format="json",
    )
    code, pk = created.json()["code"], created.json()["id"]
    work_inbox(code, clients, until=lambda t: t.executed_amount > 0)
    refused = clients["director1"].post(
        f"/api/v1/transfers/{pk}/annul/", {"reason": "Desistimiento"}, format="json"
    )
    assert refused.status_code == 409
    assert Transfer.objects.get(pk=pk).state == "in_delivery"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"assets": []}, "assets"),
        ({"amount": "69999.99"}, "amount"),
        ({"kind": "public_public"}, "kind"),
        ({"kind": "other"}, "kind"),
        ({"modality": "cheque"}, "modality"),
        ({"program": "NOEXISTE"}, "program"),
        ({"assets": [{"description": "", "quantity": 0, "unit_value": "-1"}]}, "assets[0].description"),
        ({"assets": [{"description": "Tanque", "quantity": 0, "unit_value": "10.00"}]}, "assets[0].quantity"),
        ({"assets": [{"description": "Tanque", "quantity": 1, "unit_value": 10.5}]}, "assets[0].unit_value"),
        ({"modality": "money", "amount": "100.00"}, "assets"),
        ({"modality": "money", "assets": [], "amount": ""}, "amount"),
    ],
)
def test_bad_requests_change_nothing(world, clients, overrides, field):
    entries = AuditEntry.objects.count()
    response = request_in_kind(clients["solicitante1"], world, **overrides)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Transfer.objects.count() == 0 and AuditEntry.objects.count() == entries


def test_messages_are_in_spanish_for_spanish_callers(world, clients):
    response = clients["solicitante1"].post(
        "/api/v1/transfers/",
        {
            "beneficiary": world.unit.pk,
            "modality": "in_kind",
            "kind": "public_private",
            "program": "PROLECHE",
            "assets": [],
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 400
    assert "Indique los bienes" in response.json()["assets"][0]


def test_public_public_goes_to_a_municipality(world, clients):
    municipality = UnitFactory(department="SCZ", kind="municipality", name="GAM de Warnes")
    UserFactory(username="gam1", roles=["applicant"], unit=municipality)
    response = client_for("gam1").post(
        "/api/v1/transfers/",
        {
            "beneficiary": municipality.pk,
            "modality": "money",
            "kind": "public_public",
            "program": "PROLECHE",
            "amount": "5000.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    wrong = client_for("gam1").post(
        "/api/v1/transfers/",
        {
            "beneficiary": municipality.pk,
            "modality": "money",
            "kind": "public_private",
            "program": "PROLECHE",
            "amount": "5000.00",
        },
        format="json",
    )
    assert wrong.status_code == 400 and "kind" in wrong.json()


def test_units_see_only_their_own_transfers(world, clients):
    pk = request_in_kind(clients["solicitante1"], world).json()["id"]
    other = client_for("solicitante2")
    assert other.get(f"/api/v1/transfers/{pk}/").status_code == 404
    assert other.get("/api/v1/transfers/").json()["count"] == 0
    for_other = request_in_kind(other, world)  # a transfer for someone else's unit
    assert for_other.status_code == 403
    assert clients["solicitante1"].get(f"/api/v1/transfers/{pk}/").status_code == 200
    assert client_for("control1").get(f"/api/v1/transfers/{pk}/").status_code == 200


def test_a_bank_reference_pays_once_across_cases(world, clients):
    refs = []
    for amount in ("1000.00", "2000.00"):
        created = clients["evaluador1"].post(
            "/api/v1/transfers/",
            {
                "beneficiary": world.unit.pk,
                "modality": "money",
                "kind": "public_private",
                "program": "PROLECHE",
                "amount": amount,
            },
            format="json",
        )
        refs.append(created.json()["code"])
    work_inbox(
        refs[0],
        clients,
        until=lambda t: t.paid_amount > 0,
        decide=lambda s: (
            ("approve", "", {"payment_reference": "SIGEP-DUP-1"}) if s == "payment_confirmation" else None
        ),
    )
    work_inbox(refs[1], clients, until=lambda t: t.executed_amount > 0)
    finance = [
        n
        for n in ("finanzas1", "finanzas2", "finanzas3")
        if clients[n].get("/api/v1/tasks/", {"case": refs[1]}).json()["count"]
    ]
    client = clients[finance[0]]
    task = client.get("/api/v1/tasks/", {"case": refs[1]}).json()["results"][0]
    client.post(f"/api/v1/tasks/{task['id']}/claim/")
    dup = client.post(
        f"/api/v1/tasks/{task['id']}/complete/",
        {
            "decision": "approve",
            "data": {"payment_reference": "SIGEP-DUP-1", "paid_on": task["fields"][1]["default"]},
        },
        format="json",
    )
    assert dup.status_code == 400 and "data.payment_reference" in dup.json()
    assert Transfer.objects.get(code=refs[1]).paid_amount == Decimal("0.00")
    # One registry of references for every kind (tests/cases/test_payment_reference.py: a tranche).
    from cases.models import PaymentReference

    assert list(
        PaymentReference.objects.filter(reference="SIGEP-DUP-1").values_list("case_code", flat=True)
    ) == [refs[0]]
