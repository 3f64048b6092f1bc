"""A task sent through the real broker, run by a real ``celery worker``, its effect seen in the database.

Run by ``.ci/run`` (second pass): ``CELERY_BROKER_URL`` points at the machine's Redis and a worker
serves the test database (``EXPEDIENTE_CELERY_WORKER=1``). Skipped anywhere else.
"""

import datetime as dt
import os
import time

import pytest
from django.conf import settings

from audit.actions import AuditAction
from audit.models import AuditEntry
from registry.services import register_unit, system_user, today

WORKER_TIMEOUT_SECONDS = 30

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (os.environ.get("CELERY_BROKER_URL") and os.environ.get("EXPEDIENTE_CELERY_WORKER") == "1"),
        reason="needs CELERY_BROKER_URL and a running worker (EXPEDIENTE_CELERY_WORKER=1); see .ci/run",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_expire_registrations_runs_on_the_worker_and_its_entry_reaches_the_database():
    from expediente.celery import app
    from registry.tasks import expire_registrations

    assert settings.CELERY_TASK_ALWAYS_EAGER is False, "with a broker configured tasks must not run eagerly"
    assert app.conf.task_always_eager is False
    on = today()
    unit = register_unit(
        actor=system_user(),
        tax_id="4455667788",
        name="Cooperativa Lechera Integración",
        kind="cooperative",
        department="CBB",
        municipality="Punata",
        sector="dairy",
        registration_valid_until=on,
    )
    day_after = (on + dt.timedelta(days=1)).isoformat()

    # .ci/run's worker consumes a queue of its own (EXPEDIENTE_CELERY_QUEUE); default: Celery's queue
    queue = os.environ.get("EXPEDIENTE_CELERY_QUEUE") or None
    result = expire_registrations.apply_async(kwargs={"on": day_after}, queue=queue)
    assert result.id

    lapses = AuditEntry.objects.filter(action=AuditAction.UNIT_REGISTRATION_LAPSED, subject_id=str(unit.pk))
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not lapses.exists():
        assert time.monotonic() < deadline, (
            f"the worker did not run task {result.id} within {WORKER_TIMEOUT_SECONDS} s (see the worker log)"
        )
        time.sleep(0.2)
    entry = lapses.get()
    assert entry.actor.username == "system"
    assert entry.data["detected_on"] == day_after
    # exactly once (acks_late redelivery or a duplicate send would show here)
    time.sleep(1)
    assert lapses.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_outbox_row_reaches_the_worker_through_the_relay():
    """What a decision owes goes the outbox's way: a row written in a transaction, published by the
    relay (not by the writer), run once by the worker, marked done by it."""
    from django.db import transaction

    from cases import outbox
    from cases.models import OutboxMessage

    on = today()
    unit = register_unit(
        actor=system_user(),
        tax_id="5566778899",
        name="Asociación Textil Integración",
        kind="association",
        department="LPZ",
        municipality="El Alto",
        sector="textiles",
        registration_valid_until=on,
    )
    day_after = (on + dt.timedelta(days=1)).isoformat()
    with transaction.atomic():
        row = outbox.post("registry.expire_registrations", on=day_after)
    lapses = AuditEntry.objects.filter(action=AuditAction.UNIT_REGISTRATION_LAPSED, subject_id=str(unit.pk))
    time.sleep(0.5)
    assert not lapses.exists(), "nothing may run before the relay publishes the row"

    assert outbox.relay() == 1
    assert OutboxMessage.objects.get(pk=row.pk).sent_at is not None
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not lapses.exists():
        assert time.monotonic() < deadline, f"the worker did not run outbox row {row.pk} (see the worker log)"
        time.sleep(0.2)
    # The worker marks the row done when the job has run (published alone is not done).
    while OutboxMessage.objects.get(pk=row.pk).done_at is None:
        assert time.monotonic() < deadline, f"the worker did not mark outbox row {row.pk} done"
        time.sleep(0.2)
    assert outbox.relay() == 0  # published once
    time.sleep(1)
    assert lapses.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_import_is_checked_and_written_by_the_worker(settings):
    """A long job (``cases.jobs``) the real way: queued with its outbox row, published by the relay,
    claimed and run by the worker, its progress and report in the database; then the write."""
    from cases import outbox
    from cases.models import Job
    from expediente import importing as imports
    from expediente import settings as configured
    from registry.models import Unit
    from tests.factories import UserFactory

    settings.MEDIA_ROOT = configured.MEDIA_ROOT  # the worker's: web and workers share the media storage
    admin = UserFactory(roles=["admin"])
    content = (
        "tax_id;name;kind;department;municipality;sector\n"
        "6677001;Lechería Integración Uno;association;LPZ;Achacachi;dairy\n"
        "6677002;Lechería Integración Dos;cooperative;ORU;Challapata;dairy\n"
    ).encode()
    check = imports.start_check("units", actor=admin, content=content, filename="integracion.csv")

    def finished(job: Job) -> Job:
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
        while True:
            outbox.relay()
            job.refresh_from_db()
            if job.finished:
                return job
            assert time.monotonic() < deadline, f"the worker did not run job {job.pk} (see the worker log)"
            time.sleep(0.2)

    check = finished(check)
    assert check.state == Job.State.DONE, check.error
    assert check.result["valid"] == 2 and check.result["invalid"] == 0
    assert not Unit.objects.filter(tax_id__in=["6677001", "6677002"]).exists()
    write = finished(imports.start_write(check, actor=admin, mode=imports.ALL))
    assert write.state == Job.State.DONE and write.result["written"] == 2, write.error
    assert Unit.objects.filter(tax_id__in=["6677001", "6677002"]).count() == 2
    assert AuditEntry.objects.filter(action="import.completed", data__written=2).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_report_file_is_made_by_the_worker(settings):
    """A report's file as a job (``reports.export_jobs``): queued with its outbox row, run by the worker,
    its progress recorded and its file the one the request gives."""
    from cases import outbox
    from cases.models import Job
    from expediente import settings as configured
    from reports import export_jobs
    from reports.selectors import current_fiscal_year
    from tests.factories import BudgetLineFactory, UserFactory

    settings.MEDIA_ROOT = configured.MEDIA_ROOT  # the worker's: web and workers share the media storage
    year = current_fiscal_year() - 1  # a closed year: the same file whenever it is made
    BudgetLineFactory(fiscal_year=year)
    spec = export_jobs.ExportSpec("budget", year, "csv")
    job = export_jobs.start(spec, actor=UserFactory(roles=["finance"]))
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not job.finished:
        assert time.monotonic() < deadline, f"the worker did not run job {job.pk} (see the worker log)"
        outbox.relay()
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.state == Job.State.DONE, job.error
    assert (job.progress_done, job.progress_total) == (3, 3)
    with job.output.open("rb") as handle:
        assert handle.read() == export_jobs.build(spec).content


@pytest.mark.django_db(transaction=True)
def test_an_official_documents_pdf_is_drawn_by_the_worker(settings):
    """A step records what a document prints and owes its drawing (``cases.official.issue``); the
    relay publishes it and the worker draws the PDF, stores it with its SHA-256 and records it."""
    import hashlib
    from types import SimpleNamespace

    from cases import official, official_pdf, outbox
    from cases.models import OfficialDocument
    from expediente import settings as configured

    settings.MEDIA_ROOT = configured.MEDIA_ROOT  # the worker's: web and workers share the media storage
    kind = official_pdf.BUDGET_CERTIFICATION
    case = SimpleNamespace(pk=987654, code="INI-2026-987654")  # what ``issue`` reads of its case
    document = official.issue(
        kind=kind.kind,
        prefix=kind.prefix,
        case_type="initiative",
        case=case,
        actor=system_user(),
        template_version="integration",
        describe=lambda number, code, url: official_pdf.OfficialPdf(
            title=kind.title,
            number=number,
            code=code,
            verify_url=url,
            case_code=case.code,
            template_version="integration",
            rows=[("Trámite", case.code)],
        ),
    )
    assert OfficialDocument.objects.get(pk=document.pk).sha256 == ""  # not drawn in the step
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while not (drawn := OfficialDocument.objects.get(pk=document.pk)).sha256:
        outbox.relay()
        assert time.monotonic() < deadline, f"the worker did not draw {document.number} (see the worker log)"
        time.sleep(0.2)
    with drawn.file.open("rb") as pdf:
        assert hashlib.sha256(pdf.read()).hexdigest() == drawn.sha256
    entry = AuditEntry.objects.get(action="official_document.rendered", data__number=document.number)
    assert entry.data["sha256"] == drawn.sha256 and entry.data["content_sha256"] == document.content_sha256
