"""The applicant's pages of productive initiatives (``/initiatives/``): scoping (404 for other units),
drafts, documents (content-checked, size-limited), the checklist, submission, the case page and the
permission-checked download. Every write goes through a service; a refused one changes nothing."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services as approvals
from audit.models import AuditEntry
from cases.money import format_amount, parse_amount
from iniciativas import services as ini
from iniciativas.models import Document, Initiative
from workflows.models import CaseTask

from .conftest import PDF, REQUIRED, draft, pdf, submitted

pytestmark = pytest.mark.django_db

MAX_PAGE_BYTES = 300 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def entries(initiative, action) -> int:
    return AuditEntry.objects.filter(case=initiative.code, action=action).count()


def upload(client, initiative, content, name="perfil.pdf", kind="project_profile", **kwargs):
    return client.post(
        reverse("initiative-upload", args=[initiative.pk]),
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        **kwargs,
    )


def decide(initiative, step, user, decision="approve", comment="", **data):
    task = CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)
    return approvals.complete_task(task.pk, actor=user, decision=decision, comment=comment, data=data)


# --- amounts as people type them ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("150000", "150000.00"),
        ("150.000", "150000.00"),
        ("150.000,00", "150000.00"),
        ("1.500.000,5", "1500000.50"),
        ("150000,50", "150000.50"),
        ("150000.50", "150000.50"),
        ("150,000.00", "150000.00"),
        ("Bs 75.000", "75000.00"),
        ("Bs. 1.250,75", "1250.75"),
        (" 20 000 ", "20000.00"),
    ],
)
def test_amounts_typed_the_bolivian_or_the_plain_way(typed, amount):
    value = parse_amount(typed)
    assert value == Decimal(amount) and isinstance(value, Decimal)


@pytest.mark.parametrize(
    "typed", ["", "abc", "1.50.000", "15,0000.00", "-500", "150.000,005", "1e5", "12.34.5"]
)
def test_amounts_that_make_no_sense_are_refused(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        parse_amount(typed)


def test_amounts_shown_back_the_bolivian_way():
    assert format_amount(Decimal("150000")) == "150.000,00"
    assert format_amount(Decimal("1234567.5")) == "1.234.567,50"
    assert format_amount(Decimal("12.00")) == "12,00"
    assert parse_amount(format_amount(Decimal("98765.43"))) == Decimal("98765.43")


# --- list and new draft ---------------------------------------------------------------------------


def test_new_initiative_page_and_draft_created_with_bolivian_amounts(world):
    client = client_for(world.applicant)
    page = client.get(reverse("initiative-create"))
    assert page.status_code == 200
    text = text_of(page)
    assert "Nueva iniciativa" in text and world.call.code in text and "Bs 150.000,00" in text
    response = client.post(
        reverse("initiative-create"),
        {
            "call": world.call.pk,
            "title": "Tanque de enfriamiento",
            "summary": "Compra de un tanque de 2.000 litros.",
            "department": "SCZ",
            "requested_amount": "120.000,00",
            "counterpart_amount": "120000",
        },
    )
    initiative = Initiative.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("initiative-edit", args=[initiative.pk])
    assert initiative.requested_amount == Decimal("120000.00")
    assert initiative.counterpart_amount == Decimal("120000.00")
    assert (initiative.unit, initiative.state, initiative.created_by) == (
        world.unit,
        "draft",
        world.applicant,
    )
    assert entries(initiative, "initiative.created") == 1
    follow = client.get(response["Location"])
    assert f"Borrador {initiative.code} guardado" in " ".join(messages_of(follow))


def test_new_initiative_errors_are_shown_next_to_the_fields_and_nothing_is_saved(world):
    client = client_for(world.applicant)
    before = AuditEntry.objects.count()
    response = client.post(
        reverse("initiative-create"),
        {
            "call": world.call.pk,
            "title": "",
            "summary": "Algo",
            "department": "SCZ",
            "requested_amount": "ciento veinte mil",
            "counterpart_amount": "0",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    form = response.context["form"]
    assert "title" in form.errors and "requested_amount" in form.errors
    assert "Escriba el monto en bolivianos" in html
    assert 'id="id_requested_amount_error"' in html and 'aria-invalid="true"' in html
    assert Initiative.objects.count() == 0
    assert AuditEntry.objects.count() == before


def test_service_errors_land_next_to_their_field(world):
    """The counterpart must be > 0: the form lets "0" through, the service refuses it."""
    client = client_for(world.applicant)
    response = client.post(
        reverse("initiative-create"),
        {
            "call": world.call.pk,
            "title": "Tanque",
            "summary": "Algo",
            "department": "SCZ",
            "requested_amount": "1000",
            "counterpart_amount": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["counterpart_amount"]
    assert Initiative.objects.count() == 0


def test_only_applicants_of_a_unit_may_start_an_initiative(world):
    assert client_for(world.staff["evaluador1"]).get(reverse("initiative-create")).status_code == 403


def test_list_shows_only_the_units_own_initiatives_with_the_next_thing_to_do(world):
    mine = draft(world)
    theirs = ini.create_initiative(
        actor=world.other_applicant,
        unit=world.other_unit,
        call=world.call,
        title="Telares para el taller",
        summary="Dos telares.",
        department="PTS",
        requested_amount="50000",
        counterpart_amount="50000",
    )
    response = client_for(world.applicant).get(reverse("initiative-list"))
    assert response.status_code == 200
    text = text_of(response)
    assert "Mis iniciativas" in text
    assert mine.code in text and theirs.code not in text
    assert "Completar el borrador" in text
    assert "Bs 100.000,00" in text


# --- scoping: another unit's case is a 404 everywhere ---------------------------------------------


def test_applicant_cannot_see_or_touch_another_units_initiative(world):
    theirs = submitted(world)
    document = theirs.documents.first()
    intruder = client_for(world.other_applicant)
    urls = [
        reverse("initiative-detail", args=[theirs.pk]),
        reverse("initiative-edit", args=[theirs.pk]),
        reverse("initiative-submit", args=[theirs.pk]),
        reverse("initiative-withdraw", args=[theirs.pk]),
        reverse("initiative-document", args=[theirs.pk, document.pk]),
    ]
    for url in urls:
        assert intruder.get(url).status_code == 404, url
    assert intruder.post(reverse("initiative-edit", args=[theirs.pk]), {"title": "x"}).status_code == 404
    assert intruder.post(reverse("initiative-withdraw", args=[theirs.pk])).status_code == 404
    assert upload(intruder, theirs, PDF).status_code == 404
    assert theirs.documents.count() == len(REQUIRED)
    assert Initiative.objects.get(pk=theirs.pk).state == "submitted"


def test_staff_read_the_case_page_but_cannot_edit(world):
    initiative = submitted(world)
    for name in ("evaluador1", "legal1", "finanzas1", "director1", "control1"):
        client = client_for(world.staff[name])
        page = client.get(reverse("initiative-detail", args=[initiative.pk]))
        assert page.status_code == 200, name
        assert initiative.code in text_of(page)
        assert b'action="' + reverse("initiative-upload", args=[initiative.pk]).encode() not in page.content
        assert client.get(reverse("initiative-edit", args=[initiative.pk])).status_code == 403, name


# --- editing --------------------------------------------------------------------------------------


def test_edit_draft_changes_only_what_changed(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    response = client.post(
        reverse("initiative-edit", args=[initiative.pk]),
        {
            "title": "Tanque de enfriamiento de 3.000 litros",
            "summary": initiative.summary,
            "department": "SCZ",
            "requested_amount": "100.000,00",
            "counterpart_amount": "110.000,00",
        },
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.title == "Tanque de enfriamiento de 3.000 litros"
    assert initiative.counterpart_amount == Decimal("110000.00")
    entry = AuditEntry.objects.get(case=initiative.code, action="initiative.updated")
    assert set(entry.data) == {"title", "counterpart_amount"}


def test_cannot_edit_after_submission(world):
    initiative = submitted(world)
    client = client_for(world.applicant)
    page = client.get(reverse("initiative-edit", args=[initiative.pk]), follow=True)
    assert "ya fue enviada y no puede modificarse" in " ".join(messages_of(page))
    response = client.post(
        reverse("initiative-edit", args=[initiative.pk]),
        {
            "title": "Otro título",
            "summary": "Otro resumen",
            "department": "SCZ",
            "requested_amount": "90000",
            "counterpart_amount": "90000",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("initiative-detail", args=[initiative.pk])
    assert "Solo se puede modificar una iniciativa en borrador u observada" in " ".join(messages_of(response))
    initiative.refresh_from_db()
    assert initiative.title == "Tanque de enfriamiento para la asociación"
    assert initiative.requested_amount == Decimal("100000.00")
    assert entries(initiative, "initiative.updated") == 0


# --- documents ------------------------------------------------------------------------------------


def test_upload_pdf_records_its_hash_and_ticks_the_checklist(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    response = upload(client, initiative, PDF, name="perfil del proyecto.pdf")
    assert response.status_code == 302
    assert response["Location"].endswith("#documentos")
    document = Document.objects.get(initiative=initiative)
    assert (document.kind, document.content_type, document.size) == (
        "project_profile",
        "application/pdf",
        len(PDF),
    )
    import hashlib

    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert entries(initiative, "document.uploaded") == 1
    page = client.get(response["Location"])
    checklist = page.context["checklist"]
    assert [item["done"] for item in checklist["required"]] == [True, False]
    assert not checklist["ready"]
    html = page.content.decode()
    # The hash, short until opened, whole inside its disclosure to select and copy (issue 11).
    short = f"{document.sha256[:8]}…{document.sha256[-8:]}"
    assert f'<code title="{document.sha256}">{short}</code>' in html
    assert f'<code class="sha">{document.sha256}</code>' in html


def test_content_decides_the_type_not_the_name(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    assert upload(client, initiative, PNG, name="carta.pdf", kind="counterpart_letter").status_code == 302
    assert upload(client, initiative, JPEG, name="foto.png", kind="other").status_code == 302
    types = list(initiative.documents.order_by("pk").values_list("content_type", flat=True))
    assert types == ["image/png", "image/jpeg"]

    response = upload(client, initiative, b"hola, no soy un PDF\n", name="perfil.pdf")
    assert response.status_code == 200
    assert "Solo se aceptan archivos PDF, JPEG o PNG" in response.content.decode()
    assert response.context["document_form"].errors["file"]
    assert initiative.documents.count() == 2
    assert entries(initiative, "document.uploaded") == 2


def test_oversize_upload_gets_a_clear_message_and_nothing_is_stored(world, settings):
    settings.DOCUMENT_MAX_BYTES = 4096
    initiative = draft(world)
    client = client_for(world.applicant)
    big = PDF + b"0" * 10_000
    response = upload(client, initiative, big)
    assert response.status_code == 200
    html = response.content.decode()
    assert "supera" in html and "MB" in html
    assert 'id="id_file_error"' in html
    assert initiative.documents.count() == 0
    assert entries(initiative, "document.uploaded") == 0
    # just under the limit is fine
    assert upload(client, initiative, PDF + b"0" * (4096 - len(PDF))).status_code == 302


def test_upload_without_file_or_kind_says_what_is_missing(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    response = client.post(reverse("initiative-upload", args=[initiative.pk]), {"kind": ""})
    assert response.status_code == 200
    errors = response.context["document_form"].errors
    assert "kind" in errors and "file" in errors
    assert initiative.documents.count() == 0


def test_upload_needs_csrf(world):
    initiative = draft(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.applicant)
    assert upload(client, initiative, PDF).status_code == 403
    assert initiative.documents.count() == 0


# --- submit ---------------------------------------------------------------------------------------


def test_missing_documents_block_submission(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    page = client.get(reverse("initiative-edit", args=[initiative.pk]))
    html = page.content.decode()
    assert "Lo que falta para enviar" in html
    assert re.search(r"<button[^>]*disabled[^>]*>\s*Enviar la iniciativa", html)
    assert reverse("initiative-submit", args=[initiative.pk]) not in html
    response = client.post(reverse("initiative-submit", args=[initiative.pk]), follow=True)
    assert "todavía no puede enviarse" in " ".join(messages_of(response))
    assert "Falta el documento" in " ".join(messages_of(response))
    initiative.refresh_from_db()
    assert initiative.state == "draft"
    assert entries(initiative, "initiative.submitted") == 0
    assert not CaseTask.objects.filter(case_code=initiative.code).exists()


def test_complete_checklist_enables_submit_and_double_submit_is_refused_clearly(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    for kind in REQUIRED:
        upload(client, initiative, PDF, kind=kind)
    page = client.get(reverse("initiative-edit", args=[initiative.pk]))
    html = page.content.decode()
    assert "No falta nada" in html
    assert f'href="{reverse("initiative-submit", args=[initiative.pk])}"' in html
    confirm = client.get(reverse("initiative-submit", args=[initiative.pk]))
    assert confirm.status_code == 200 and "Confirmar y enviar" in confirm.content.decode()

    response = client.post(reverse("initiative-submit", args=[initiative.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("initiative-detail", args=[initiative.pk])
    assert f"La iniciativa {initiative.code} fue enviada" in " ".join(messages_of(response))
    initiative.refresh_from_db()
    assert initiative.state == "submitted"
    assert CaseTask.objects.filter(case_code=initiative.code, step="admissibility", is_open=True).count() == 1

    again = client.post(reverse("initiative-submit", args=[initiative.pk]), follow=True)
    assert f"La iniciativa {initiative.code} ya fue enviada" in " ".join(messages_of(again))
    assert entries(initiative, "initiative.submitted") == 1
    assert CaseTask.objects.filter(case_code=initiative.code, step="admissibility").count() == 1


def test_withdraw_a_draft(world):
    initiative = draft(world)
    client = client_for(world.applicant)
    assert client.get(reverse("initiative-withdraw", args=[initiative.pk])).status_code == 200
    done = client.post(
        reverse("initiative-withdraw", args=[initiative.pk]), {"reason": "Cambio de planes"}, follow=True
    )
    assert f"La iniciativa {initiative.code} fue retirada." in messages_of(done)
    initiative.refresh_from_db()
    assert initiative.state == "withdrawn"
    assert AuditEntry.objects.get(case=initiative.code, action="initiative.withdrawn").data["reason"] == (
        "Cambio de planes"
    )
    again = client.post(reverse("initiative-withdraw", args=[initiative.pk]), follow=True)
    assert "no es posible" in " ".join(messages_of(again))
    assert entries(initiative, "initiative.withdrawn") == 1


# --- the case page --------------------------------------------------------------------------------


def test_case_page_links_the_observation_task_with_its_deadline(world):
    initiative = submitted(world)
    decide(
        initiative,
        "admissibility",
        world.staff["evaluador1"],
        decision="observe",
        comment="Falta la cotización del tanque.",
        deadline_days=5,
    )
    task = CaseTask.objects.get(case_code=initiative.code, step="answer_observation", is_open=True)
    page = client_for(world.applicant).get(reverse("initiative-detail", args=[initiative.pk]))
    text = text_of(page)
    day = task.due_at.astimezone(__import__("zoneinfo").ZoneInfo("America/La_Paz")).strftime("%d/%m/%Y")
    assert f"Responder las observaciones antes del {day}" in text
    # straight to the one-page answer (observation, data, documents and answer together)
    assert f'href="{reverse("initiative-answer", args=[initiative.pk])}"' in page.content.decode()
    assert "Falta la cotización del tanque." in text
    assert "Observada" in text
    # the evaluator reads the same case, without the applicant's link
    staff = client_for(world.staff["evaluador2"]).get(reverse("initiative-detail", args=[initiative.pk]))
    assert reverse("initiative-answer", args=[initiative.pk]) not in staff.content.decode()
    # while observed the applicant corrects the case on the answer page (the draft page sends there)
    edit = client_for(world.applicant).get(reverse("initiative-edit", args=[initiative.pk]))
    assert edit.status_code == 302 and edit["Location"] == reverse("initiative-answer", args=[initiative.pk])


def test_case_page_history_hides_sealed_scores_and_inbox_bookkeeping_from_the_applicant(world):
    initiative = submitted(world)
    decide(initiative, "admissibility", world.staff["evaluador1"])
    first = CaseTask.objects.filter(
        case_code=initiative.code, step="technical_evaluation", is_open=True
    ).first()
    approvals.claim_task(first.pk, actor=world.staff["evaluador2"])
    approvals.complete_task(
        first.pk,
        actor=world.staff["evaluador2"],
        decision="approve",
        data={"no_conflict": True, "relevance": 33, "feasibility": 27, "impact": 29},
    )
    applicant_page = text_of(
        client_for(world.applicant).get(reverse("initiative-detail", args=[initiative.pk]))
    )
    assert "Iniciativa enviada" in applicant_page and "Admisibilidad" in applicant_page
    # The sealed total (33 + 27 + 29) and the scores. What the factories number (the case code, the
    # unit's name and NIT, the user), which can hold "89" when many came before in the test
    # database, is left out of the search.
    searched = applicant_page
    for known in (initiative.code, initiative.unit.name, initiative.unit.tax_id, world.applicant.username):
        searched = searched.replace(known, "")
    assert not re.search(r"(?<!\d)89(?!\d)", searched)
    assert "33 · 27 · 29" not in applicant_page
    assert "Tarea tomada" not in applicant_page
    control_page = text_of(
        client_for(world.staff["control1"]).get(reverse("initiative-detail", args=[initiative.pk]))
    )
    assert "Tarea tomada" in control_page


# --- download -------------------------------------------------------------------------------------


def test_document_download_checks_permission_and_sends_safe_headers(world):
    initiative = draft(world)
    document = ini.upload_document(
        initiative,
        actor=world.applicant,
        kind="project_profile",
        uploaded_file=pdf("../../perfil final.html"),
    )
    url = reverse("initiative-document", args=[initiative.pk, document.pk])
    response = client_for(world.applicant).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="perfil final.pdf"' in response["Content-Disposition"]
    assert "private" in response["Cache-Control"]

    assert client_for(world.other_applicant).get(url).status_code == 404
    for name in ("evaluador1", "control1"):
        assert client_for(world.staff[name]).get(url).status_code == 200, name
    other = ini.create_initiative(
        actor=world.other_applicant,
        unit=world.other_unit,
        call=world.call,
        title="Telares",
        summary="Dos telares.",
        department="PTS",
        requested_amount="50000",
        counterpart_amount="50000",
    )
    # a document id under another case's URL is not found either
    assert (
        client_for(world.applicant)
        .get(reverse("initiative-document", args=[other.pk, document.pk]))
        .status_code
        == 404
    )
    assert (
        client_for(world.other_applicant)
        .get(reverse("initiative-document", args=[other.pk, document.pk]))
        .status_code
        == 404
    )
    assert Client().get(url).status_code == 302  # anonymous: to the login page


def test_scoped_staff_outside_the_department_get_404(world):
    from registry.services import grant_department_scope
    from tests.factories import UserFactory

    initiative = submitted(world)  # SCZ
    scoped = UserFactory(username="evaluador_pts", roles=["evaluator"])
    grant_department_scope(scoped, "PTS", actor=world.system)
    client = client_for(scoped)
    document = initiative.documents.first()
    assert client.get(reverse("initiative-detail", args=[initiative.pk])).status_code == 404
    assert client.get(reverse("initiative-document", args=[initiative.pk, document.pk])).status_code == 404


# --- weight ---------------------------------------------------------------------------------------


def stylesheet_bytes(html: str) -> int:
    total = 0
    for href in set(re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)):
        path = finders.find(href.removeprefix(settings.STATIC_URL).removeprefix("/static/").lstrip("/"))
        assert path, href
        total += Path(path).stat().st_size
    return total


def test_every_page_is_light(world):
    """HTML + CSS of each page under 300 KB, with a case carrying a long history."""
    initiative = submitted(world)
    decide(
        initiative,
        "admissibility",
        world.staff["evaluador1"],
        decision="observe",
        comment="Aclare el cronograma. " * 20,
    )
    decide(initiative, "answer_observation", world.applicant, answer="Cronograma aclarado. " * 20)
    decide(initiative, "admissibility", world.staff["evaluador1"])
    drafted = draft(world, title="Segunda iniciativa")
    client = client_for(world.applicant)
    pages = {
        "list": reverse("initiative-list"),
        "new": reverse("initiative-create"),
        "draft": reverse("initiative-edit", args=[drafted.pk]),
        "submit": reverse("initiative-submit", args=[drafted.pk]),
        "withdraw": reverse("initiative-withdraw", args=[drafted.pk]),
        "case": reverse("initiative-detail", args=[initiative.pk]),
    }
    weights = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "http://" not in html and "https://" not in html and "<script" not in html, name
        weights[name] = len(response.content) + stylesheet_bytes(html)
        assert weights[name] < MAX_PAGE_BYTES, (name, weights[name])
    print("page weights (HTML+CSS bytes):", weights)


def test_list_and_case_page_queries_do_not_grow_with_the_cases(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.staff["evaluador1"])
    first = submitted(world)
    client.get(reverse("initiative-list"))  # warm caches (content types, sessions)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count(reverse("initiative-list"))
    for n in range(4):
        submitted(world, title=f"Iniciativa {n}")
    assert count(reverse("initiative-list")) == few
    with django_assert_max_num_queries(25):
        client.get(reverse("initiative-detail", args=[first.pk]))


def test_case_page_of_a_closed_initiative_shows_money_tranches_and_history(world):
    s = world.staff
    initiative = submitted(world)
    decide(initiative, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(
        case_code=initiative.code, step="technical_evaluation", is_open=True
    )
    approvals.complete_task(
        first.pk,
        actor=s["evaluador2"],
        decision="approve",
        data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 23},
    )
    approvals.complete_task(
        second.pk,
        actor=s["evaluador3"],
        decision="approve",
        data={"no_conflict": True, "relevance": 30, "feasibility": 25, "impact": 23},
    )
    decide(initiative, "legal_report", s["legal1"], opinion="Procedente")
    decide(initiative, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    decide(
        initiative,
        "agreement",
        s["legal2"],
        agreement_number="CONV-007",
        signed_on=str(timezone.localdate()),
    )
    for n in (1, 2, 3):
        decide(
            initiative,
            "payment_order",
            s["finanzas1"],
            tranche=n,
            amount=("40000.00", "40000.00", "20000.00")[n - 1],
        )
        decide(
            initiative,
            "payment_confirmation",
            s["finanzas2"],
            tranche=n,
            payment_reference=f"TRX-{n}",
            paid_on=str(timezone.localdate()),
        )
        if n < 3:
            decide(
                initiative,
                "progress_report",
                world.applicant,
                summary=f"Avance del tramo {n}",
                physical_progress=40 * n,
                amount_spent=f"{38000 * n}.00",
                counterpart_spent="10000.00",
            )
            decide(initiative, "progress_review", s["evaluador4"], counterpart_verified=True)
    decide(
        initiative,
        "final_report",
        world.applicant,
        summary="Concluido",
        physical_progress=100,
        amount_spent="97000.00",
        counterpart_spent="100000.00",
    )
    decide(initiative, "final_inspection", s["evaluador4"], counterpart_verified=True)
    decide(initiative, "closeout", s["finanzas3"], refund_amount="3000.00", closeout_record="ACTA-9")

    client = client_for(world.applicant)
    page = client.get(reverse("initiative-detail", args=[initiative.pk]))
    text = text_of(page)
    assert "Cerrada" in text and "El caso concluyó" in text
    assert "Bs 100.000,00" in text and "Bs 3.000,00" in text and "ACTA-9" in text
    for n in (1, 2, 3):
        assert f"TRX-{n}" in text
    assert text.count("Pagado") >= 3
    assert "Puntaje promedio 80,50" in text  # revealed once every evaluation was in
    assert "83,00 · 78,00" in text
    assert "Avance del tramo 1" in text and "Avance físico 40 %" in text
    listing = text_of(client.get(reverse("initiative-list")))
    assert "Cerrada" in listing and "Nada: el caso concluyó." in listing


# --- the director's cancellation and finance's recovery ------------------------------------------------


def _approved(world):
    s = world.staff
    initiative = submitted(world)
    decide(initiative, "admissibility", s["evaluador1"])
    for task, evaluator in zip(
        CaseTask.objects.filter(case_code=initiative.code, step="technical_evaluation", is_open=True),
        ("evaluador2", "evaluador3"),
        strict=True,
    ):
        approvals.complete_task(
            task.pk,
            actor=s[evaluator],
            decision="approve",
            data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20},
        )
    decide(initiative, "legal_report", s["legal1"], opinion="Procedente")
    decide(initiative, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    return initiative


def test_director_cancels_from_the_case_page(world):
    initiative = _approved(world)
    url = reverse("initiative-detail", args=[initiative.pk])
    cancel_url = reverse("initiative-cancel", args=[initiative.pk])
    director = client_for(world.staff["director1"])
    assert cancel_url.encode() in director.get(url).content
    for other in (world.applicant, world.staff["finanzas1"], world.staff["evaluador1"]):
        assert cancel_url.encode() not in client_for(other).get(url).content
    assert client_for(world.applicant).post(cancel_url, {"reason": "x"}).status_code == 403
    assert client_for(world.other_applicant).post(cancel_url, {"reason": "x"}).status_code == 404

    refused = director.post(cancel_url, {"reason": ""})
    assert refused.status_code == 400 and "form-errors" in refused.content.decode()
    assert Initiative.objects.get(pk=initiative.pk).state == "approved"

    done = director.post(cancel_url, {"reason": "La unidad desistió"}, follow=True, HTTP_ACCEPT_LANGUAGE="es")
    assert done.status_code == 200
    assert Initiative.objects.get(pk=initiative.pk).state == "cancelled"
    assert any("cancel" in m.lower() for m in messages_of(done))
    page = client_for(world.applicant).get(url, HTTP_ACCEPT_LANGUAGE="es")
    text = text_of(page)
    assert "La unidad desistió" in text
    assert "El caso concluyó" in text  # cancelled with nothing paid is final: nobody has to act
    assert b'action="' + reverse("initiative-upload", args=[initiative.pk]).encode() not in page.content
    assert cancel_url.encode() not in director.get(url).content


def test_finance_records_the_recovery_from_the_case_page(world):
    s = world.staff
    initiative = _approved(world)
    today = str(timezone.localdate())
    decide(initiative, "agreement", s["legal2"], agreement_number="C-5", signed_on=today)
    decide(initiative, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    decide(
        initiative, "payment_confirmation", s["finanzas2"], tranche=1, payment_reference="B-5", paid_on=today
    )
    ini.cancel_initiative(initiative, actor=s["director1"], reason="Desvío de fondos")
    url = reverse("initiative-detail", args=[initiative.pk])
    recover_url = reverse("initiative-recover", args=[initiative.pk])
    finance = client_for(s["finanzas3"])
    page = finance.get(url, HTTP_ACCEPT_LANGUAGE="es")
    assert recover_url.encode() in page.content and "Bs 40.000,00" in text_of(page)
    assert recover_url.encode() not in client_for(world.applicant).get(url).content
    assert client_for(s["director1"]).post(recover_url, {"amount": "1", "reference": "D"}).status_code == 403

    bad = finance.post(recover_url, {"amount": "50.000,00", "reference": "DEP-1"}, HTTP_ACCEPT_LANGUAGE="es")
    assert bad.status_code == 400 and "form-errors" in bad.content.decode()
    assert Initiative.objects.get(pk=initiative.pk).recovered_amount == Decimal("0.00")

    finance.post(recover_url, {"amount": "15.000,00", "reference": "DEP-1"})
    case = Initiative.objects.get(pk=initiative.pk)
    assert case.state == "in_recovery" and case.recovered_amount == Decimal("15000.00")
    page = text_of(finance.get(url, HTTP_ACCEPT_LANGUAGE="es"))
    assert "DEP-1" in page and "Bs 15.000,00" in page
    finance.post(recover_url, {"amount": "25000", "reference": "DEP-2"})
    assert Initiative.objects.get(pk=initiative.pk).state == "recovered"
    assert recover_url.encode() not in finance.get(url).content
