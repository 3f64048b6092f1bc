"""The applicant's side (issue 11): "Lo que debe hacer" on the home page, the one-page answer to an
observation, the applicant's words on their task pages, document versions after submission, and the
notifications (staff's new tasks in a digest, the applicant's deadlines and payments at once)."""

from __future__ import annotations

import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from approvals import notifications
from approvals.models import Notification
from audit.models import AuditEntry
from cases import todo
from cases.errors import Conflict
from iniciativas import services as ini
from iniciativas.models import Document, Initiative
from workflows.models import CaseTask

from .conftest import PDF, REQUIRED, draft, pdf, submitted
from .test_side_exits import in_execution, pay_tranche

LA_PAZ = ZoneInfo("America/La_Paz")


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    return client


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def decide(initiative, step, user, decision="approve", comment="", **data):
    from approvals import services as approvals

    task = CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)
    return approvals.complete_task(task.pk, actor=user, decision=decision, comment=comment, data=data)


def observed(world, comment="Falta la carta de contraparte firmada.", **overrides):
    initiative = submitted(world, **overrides)
    decide(
        initiative, "admissibility", world.staff["evaluador1"], "observe", comment=comment, deadline_days=5
    )
    return Initiative.objects.get(pk=initiative.pk)


def day_of(value) -> str:
    return value.astimezone(LA_PAZ).strftime("%d/%m/%Y")


def answer_url(initiative) -> str:
    return reverse("initiative-answer", args=[initiative.pk])


# --- "Lo que debe hacer" ------------------------------------------------------------------------------


def test_home_leads_with_what_the_applicant_must_do_with_deadline_consequence_and_links(world):
    case = observed(world)
    task = CaseTask.objects.get(case_code=case.code, step="answer_observation", is_open=True)
    unfinished = draft(world, title="Planta de yogur")  # no documents yet
    notifications.notify([world.applicant], event_key="x:1", kind="case_state", message="algo", email=False)

    page = client_for(world.applicant).get(reverse("home"))
    assert page.status_code == 200
    html, text = page.content.decode(), text_of(page)
    assert "<script" not in html
    # The list comes first, before the unit's card and the notifications count.
    assert text.index("Lo que debe hacer") < text.index("Su unidad productiva")
    assert text.index("Lo que debe hacer") < text.index("Tiene 1 notificación sin leer")
    assert html.count("Tiene 1 notificación sin leer") == 1  # below the list, not also in the banner
    due = day_of(task.due_at)
    assert "Responder a la observación" in text
    assert f"Si no responde hasta el {due}, el trámite se abandona." in text
    assert f'href="{answer_url(case)}"' in html  # straight to the answer, not to the inbox
    assert f'href="{reverse("initiative-detail", args=[case.pk])}">{case.code}</a>' in html
    # The draft: what it lacks, until when (the call closes), the link to its documents.
    assert "Complete el borrador: faltan 2 datos" in text
    closes = world.call.closes_on.strftime("%d/%m/%Y")
    assert f"La convocatoria cierra el {closes}: después ya no podrá enviar el borrador." in text
    assert f'href="{reverse("initiative-edit", args=[unfinished.pk])}#documentos"' in html
    # Soonest deadline first: the observation (5 business days) before the call's close (60 days).
    assert text.index("Responder a la observación") < text.index("Complete el borrador")

    # Another unit's member sees none of it.
    other = text_of(client_for(world.other_applicant).get(reverse("home")))
    assert case.code not in other and "Nada espera por usted ahora" in other


def test_what_to_do_gathers_every_kind_through_the_registry(world):
    case = observed(world)
    items = todo.for_applicant(world.applicant)
    assert [(i.case_code, i.url) for i in items] == [(case.code, answer_url(case))]
    assert todo.for_applicant(world.other_applicant) == []
    assert todo.for_applicant(world.staff["evaluador1"]) == []


def test_every_case_kind_says_what_its_applicants_must_do():
    from cases import kinds

    assert {k.code for k in kinds.all_kinds() if k.applicant_todo is not None} == {
        "initiative",
        "transfer",
        "registration",
        "compensation",  # the ended months of its agreements in force not yet declared
    }
    assert kinds.get("initiative").applicant_page("answer_observation", 7) == "/initiatives/7/answer/"
    # Every kind answers an observation on a page of its own (issue 11); other steps: the inbox's page.
    assert kinds.get("transfer").applicant_page("answer_observation", 7) == "/transfers/7/answer/"
    assert kinds.get("registration").applicant_page("answer_observation", 7) == "/registrations/7/answer/"
    assert kinds.get("transfer").applicant_page("delivery_acceptance", 7) is None


def test_the_progress_report_due_is_listed_with_what_it_holds_back(world):
    case = in_execution(world)
    pay_tranche(world, case, 1, "40000.00")
    task = CaseTask.objects.get(case_code=case.code, step="progress_report", is_open=True)
    text = text_of(client_for(world.applicant).get(reverse("home")))
    assert "Enviar el informe de avance" in text
    assert (
        "El siguiente desembolso no se paga hasta que PRO-BOLIVIA lo reciba y revise; después del "
        f"{day_of(task.due_at)} queda vencido." in text
    )
    # Its task page speaks the applicant's words, carries no script, and sends the report.
    page = client_for(world.applicant).get(reverse("task-detail", args=[task.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "<script" not in html
    for staff_word in ("Su decisión", "Decidir", "Registrar la decisión", "Ir a su decisión"):
        assert staff_word not in html, staff_word
    assert "Ir a su respuesta" in html and ">Enviar el informe</button>" in html
    sent = client_for(world.applicant).post(
        reverse("task-detail", args=[task.pk]),
        {
            "decision": "approve",
            "data__summary": "Tanque instalado.",
            "data__physical_progress": "50",
            "data__amount_spent": "40000",
            "data__counterpart_spent": "20000",
        },
        follow=True,
    )
    assert "Respuesta enviada en el caso" in text_of(sent)
    assert "Decisión registrada" not in text_of(sent)
    done = text_of(client_for(world.applicant).get(reverse("task-detail", args=[task.pk])))
    assert "Respuesta enviada" in done and "Decisión tomada" not in done


# --- the one-page answer ------------------------------------------------------------------------------


def test_the_answer_page_shows_the_observation_first_then_data_and_documents_and_one_submit(world):
    case = observed(world)
    page = client_for(world.applicant).get(answer_url(case))
    assert page.status_code == 200
    html, text = page.content.decode(), text_of(page)
    assert "<script" not in html
    assert text.index("Falta la carta de contraparte firmada.") < text.index("Datos a corregir")
    assert text.index("Datos a corregir") < text.index("Documentos") < text.index("Su respuesta")
    answer_form = html[html.index('class="answer-form"') :]
    answer_form = answer_form[: answer_form.index("</form>")]
    assert answer_form.count('type="submit"') == 1 and ">Enviar respuesta</button>" in answer_form
    assert 'name="requested_amount"' in answer_form and 'name="document_counterpart_letter"' in answer_form
    assert 'enctype="multipart/form-data"' in html
    assert "vigente" in text
    # The inbox's task page and the draft page send the applicant here.
    task = CaseTask.objects.get(case_code=case.code, step="answer_observation", is_open=True)
    assert client_for(world.applicant).get(reverse("task-detail", args=[task.pk]))["Location"] == answer_url(
        case
    )
    # Nobody else answers: staff and another unit.
    assert client_for(world.staff["evaluador2"]).get(answer_url(case)).status_code == 403
    assert client_for(world.other_applicant).get(answer_url(case)).status_code == 404


def test_one_submit_corrects_the_data_replaces_a_document_and_answers(world):
    case = observed(world)
    old_letter = case.documents.get(kind="counterpart_letter")
    response = client_for(world.applicant).post(
        answer_url(case),
        {
            "title": case.title,
            "summary": case.summary,
            "department": "SCZ",
            "requested_amount": "90.000,00",
            "counterpart_amount": "100.000,00",
            "answer": "Adjuntamos la carta firmada y bajamos el monto.",
            "document_counterpart_letter": SimpleUploadedFile("carta firmada.pdf", PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "initiative-detail", args=[case.pk]
    )
    case.refresh_from_db()
    assert case.state == "submitted" and case.requested_amount == Decimal("90000.00")
    old_letter.refresh_from_db()
    new_letter = case.documents.get(kind="counterpart_letter", replaced_at__isnull=True)
    assert new_letter.original_name == "carta firmada.pdf"
    assert old_letter.replaced_at is not None and old_letter.replaced_by_id == new_letter.pk
    assert case.documents.count() == len(REQUIRED) + 1  # the earlier version is kept
    actions = list(AuditEntry.objects.filter(case=case.code).order_by("seq").values_list("action", "data"))
    tail = [a for a, _d in actions[-4:]]
    assert tail == ["initiative.updated", "document.uploaded", "initiative.answered", "task.completed"]
    uploaded = next(d for a, d in actions[-4:] if a == "document.uploaded")
    assert uploaded["replaces"] == old_letter.pk and uploaded["version"] == 2
    assert not CaseTask.objects.filter(case_code=case.code, step="answer_observation", is_open=True).exists()
    # The case page lists both versions: the current one and the replaced one, with its date.
    page = text_of(client_for(world.applicant).get(reverse("initiative-detail", args=[case.pk])))
    assert "vigente" in page and f"reemplazado el {day_of(old_letter.replaced_at)}" in page


def test_a_bad_answer_changes_nothing_and_keeps_what_was_typed(world):
    case = observed(world)
    client = client_for(world.applicant)  # (its login is on the trail)
    before = (case.requested_amount, case.documents.count(), AuditEntry.objects.count())
    no_answer = client.post(
        answer_url(case),
        {
            "title": case.title,
            "summary": case.summary,
            "department": "SCZ",
            "requested_amount": "90000",
            "counterpart_amount": "100000",
            "answer": "",
            "document_counterpart_letter": SimpleUploadedFile("c.pdf", PDF, "application/pdf"),
        },
    )
    assert no_answer.status_code == 400
    assert 'value="90000"' in no_answer.content.decode()  # what was typed stays
    not_a_pdf = client.post(
        answer_url(case),
        {
            "title": case.title,
            "summary": case.summary,
            "department": "SCZ",
            "requested_amount": "90000",
            "counterpart_amount": "100000",
            "answer": "Corregido.",
            "document_counterpart_letter": SimpleUploadedFile(
                "c.pdf", b"<html>hola</html>", "application/pdf"
            ),
        },
    )
    assert not_a_pdf.status_code == 400
    assert "Solo se aceptan archivos PDF, JPEG o PNG" in text_of(not_a_pdf)
    too_much = client.post(
        answer_url(case),
        {
            "title": case.title,
            "summary": case.summary,
            "department": "SCZ",
            "requested_amount": "200000",  # over the call's ceiling: the answer's own check refuses
            "counterpart_amount": "200000",
            "answer": "Corregido.",
        },
    )
    assert too_much.status_code == 400 and "supera el máximo de la convocatoria" in text_of(too_much)
    case.refresh_from_db()
    assert case.state == "observed"
    assert (case.requested_amount, case.documents.count(), AuditEntry.objects.count()) == before, list(
        AuditEntry.objects.order_by("-seq").values_list("action", "data")[:1]
    )


# --- document versions -------------------------------------------------------------------------------


def test_documents_change_only_in_the_states_the_call_allows(world):
    case = submitted(world)  # "submitted" is one of the call's states: a new version is allowed
    first = case.documents.get(kind="project_profile")
    second = ini.upload_document(
        case, actor=world.applicant, kind="project_profile", uploaded_file=pdf("v2.pdf")
    )
    first.refresh_from_db()
    assert first.replaced_by_id == second.pk and second.current and not first.current
    extra = ini.upload_document(case, actor=world.applicant, kind="other", uploaded_file=pdf("anexo.pdf"))
    another = ini.upload_document(case, actor=world.applicant, kind="other", uploaded_file=pdf("anexo2.pdf"))
    extra.refresh_from_db()
    assert extra.current and another.current  # "other" documents are many, not versions

    decide(case, "admissibility", world.staff["evaluador1"])  # in evaluation: the file is frozen
    case.refresh_from_db()
    assert case.state == "in_evaluation"
    count = case.documents.count()
    with pytest.raises(Conflict) as refused:
        ini.upload_document(case, actor=world.applicant, kind="project_profile", uploaded_file=pdf())
    assert "no permite agregar ni reemplazar documentos" in str(refused.value.message)
    client = client_for(world.applicant)
    page = client.get(reverse("initiative-detail", args=[case.pk]))
    assert f'action="{reverse("initiative-upload", args=[case.pk])}"' not in page.content.decode()  # no form
    posted = client.post(
        reverse("initiative-upload", args=[case.pk]),
        {"kind": "project_profile", "file": SimpleUploadedFile("p.pdf", PDF, "application/pdf")},
        follow=True,
    )
    assert "su convocatoria no permite agregar ni reemplazar documentos en este estado" in text_of(posted)
    assert case.documents.count() == count


def test_a_call_may_allow_no_change_after_submission_and_the_submit_page_says_so(world):
    case = draft(world)
    for kind in REQUIRED:
        ini.upload_document(case, actor=world.applicant, kind=kind, uploaded_file=pdf())
    text = text_of(client_for(world.applicant).get(reverse("initiative-submit", args=[case.pk])))
    assert "mientras el caso esté enviada, observada, en ejecución, en cierre" in text
    assert "no podrá cambiar los datos ni los documentos" not in text
    world.call.document_states = []
    world.call.save()
    text = text_of(client_for(world.applicant).get(reverse("initiative-submit", args=[case.pk])))
    assert "la convocatoria no permite agregar ni reemplazar documentos después de enviar" in text
    ini.submit_initiative(case, actor=world.applicant)
    with pytest.raises(Conflict):
        ini.upload_document(case, actor=world.applicant, kind="other", uploaded_file=pdf())


def test_the_api_lists_every_version_with_the_current_one_marked(world):
    case = submitted(world)
    ini.upload_document(case, actor=world.applicant, kind="project_profile", uploaded_file=pdf("v2.pdf"))
    client = client_for(world.applicant)
    data = client.get(f"/api/v1/initiatives/{case.pk}/").json()
    profiles = [d for d in data["documents"] if d["kind"] == "project_profile"]
    assert len(profiles) == 2
    current = [d for d in profiles if d["current"]]
    replaced = [d for d in profiles if not d["current"]]
    assert len(current) == 1 and current[0]["original_name"] == "v2.pdf" and current[0]["replaced_at"] is None
    assert replaced[0]["replaced_by"] == current[0]["id"] and replaced[0]["replaced_at"]
    assert {"id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"} <= set(current[0])
    assert Document.objects.filter(initiative=case).count() == len(REQUIRED) + 1


# --- notifications -------------------------------------------------------------------------------------


def test_staff_get_one_digest_of_their_new_tasks_the_applicant_their_deadline_at_once(
    world, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = 20
    for user in [world.applicant, *world.staff.values()]:
        user.email = f"{user.username}@example.bo"
        user.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        second = submitted(world, title="Planta de yogur")
    # Two new admissibility tasks: no e-mail to the evaluators yet, one in-app row each.
    rows = Notification.objects.filter(user=world.staff["evaluador1"], kind="task_new")
    assert rows.count() == 2 and all(r.digest for r in rows)
    assert not [m for m in mail.outbox if "evaluador1@example.bo" in m.to]
    # The applicant's own deadline: at once.
    with django_capture_on_commit_callbacks(execute=True):
        decide(first, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    waiting = [m for m in mail.outbox if world.applicant.email in m.to]
    assert len(waiting) == 1 and "Falta la carta." in waiting[0].body
    assert "/answer/" in waiting[0].body  # the link goes straight to the one-page answer
    mail.outbox.clear()

    sent = notifications.send_digests()
    to_evaluator = [m for m in mail.outbox if m.to == ["evaluador1@example.bo"]]
    assert len(to_evaluator) == 1
    digest = to_evaluator[0]
    assert "2 tareas nuevas" in digest.subject
    assert first.code in digest.body and second.code in digest.body
    assert sent == len(mail.outbox) and not [m for m in mail.outbox if world.applicant.email in m.to]
    assert not Notification.objects.filter(digest=True, emailed_at__isnull=True, email_wanted=True).exists()
    # Nothing new: a second run sends nothing; the per-row sweep never sends digest rows alone.
    mail.outbox.clear()
    assert notifications.send_digests() == 0 and notifications.send_pending_emails() == 0
    assert mail.outbox == []


def test_the_digest_runs_in_celery_beat_and_the_embedded_scheduler(settings):
    from expediente import embedded

    entry = settings.CELERY_BEAT_SCHEDULE["approvals.send_task_digests"]
    assert entry["task"] == "approvals.send_task_digests"
    assert "approvals.send_task_digests" in embedded.Scheduler(settings.CELERY_BEAT_SCHEDULE).entries


def test_the_applicant_is_told_when_a_tranche_is_paid(world, django_capture_on_commit_callbacks):
    world.applicant.email = "socio@example.bo"
    world.applicant.save()
    case = in_execution(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        pay_tranche(world, case, 1, "40000.00", reference="DEP-77")
    notice = Notification.objects.get(user=world.applicant, kind="payment")
    assert notice.message == (
        f"Se pagó el desembolso 1 del caso {case.code}: Bs 40.000,00 (referencia DEP-77)."
    )
    assert notice.url == reverse("initiative-detail", args=[case.pk]) and not notice.digest
    assert [m.to for m in mail.outbox if "desembolso 1" in m.body] == [["socio@example.bo"]]
    assert not Notification.objects.filter(kind="payment").exclude(user__unit=world.unit).exists()
