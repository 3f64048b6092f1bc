"""The reports' files made by a job (``reports.export_jobs``, ``cases.jobs``): past the bounds, the page
offers the job instead of the link; the job's file is the request's file; its progress is recorded;
``manage.py report_export`` writes the same file; who may start a job and fetch its file follows the
report's own visibility (closed years public, the year in progress and the drill-downs for report
staff, within their program scopes)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from budget import services as budget_services
from cases import jobs
from cases.models import Job
from cases.roles import Role
from reports import export_jobs, selectors
from reports.export_jobs import ExportSpec
from reports.selectors import current_fiscal_year
from tests.factories import UserFactory
from tests.pdftext import pdf_text

from .conftest import make_world, user_with
from .test_views import client_for

pytestmark = pytest.mark.django_db

FIXED = dt.datetime(2026, 6, 30, 15, 4, tzinfo=dt.UTC)


@pytest.fixture
def frozen(monkeypatch):
    """The reports' "generated on" at one moment, so that two builds of one file can be compared."""
    monkeypatch.setattr(
        selectors, "timezone", SimpleNamespace(now=lambda: FIXED, localtime=timezone.localtime)
    )


@pytest.fixture
def live(finance):
    """The budget of the year in progress (staff only), with ledger movements."""
    return make_world(current_fiscal_year(), finance)


def job_content(job: Job) -> bytes:
    with job.output.open("rb") as handle:
        return handle.read()


def response_content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def same_content(fmt: str, a: bytes, b: bytes) -> bool:
    """Equal as the reader sees it: CSV and JSON byte for byte; XLSX every cell of every sheet (the
    package's own timestamps aside); PDF its text (its creation date aside)."""
    if fmt in ("csv", "json"):
        return a == b
    if fmt == "xlsx":

        def cells(content):
            book = load_workbook(io.BytesIO(content))
            return [(s.title, [list(r) for r in s.iter_rows(values_only=True)]) for s in book.worksheets]

        return cells(a) == cells(b)
    return pdf_text(a) == pdf_text(b)


def started_job(client, **fields) -> Job:
    response = client.post(reverse("reports:export-job"), fields)
    job = Job.objects.get(kind=export_jobs.JOB_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("job-detail", args=[job.pk])
    return job


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "csv"])
def test_a_large_year_is_a_job_whose_file_is_the_requests(live, finance, frozen, monkeypatch, fmt):
    year = live.year
    client = client_for(finance)
    url = reverse("reports:budget-execution-file", args=[year, fmt])
    in_request = response_content(client.get(url))  # under the bound: the file, here and now

    monkeypatch.setattr(export_jobs, "INLINE_MAX_MOVEMENTS", 3)  # the year has 11 movements
    page = client.get(reverse("reports:budget-execution"), {"fiscal_year": year}).content.decode()
    assert f'action="{reverse("reports:export-job")}"' in page and "en segundo plano" in page
    assert f'<input type="hidden" name="fmt" value="{fmt}">' in page
    assert f'href="{url}"' not in page  # the link is the job's button now
    refused = client.get(url)  # an old link: back to the page, which says why
    assert refused.status_code == 302 and refused["Location"] == f"/reports/?fiscal_year={year}"

    job = started_job(client, report="budget", fiscal_year=year, fmt=fmt)
    waiting = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting and str(year) in waiting
    assert jobs.run(job.pk) == Job.State.DONE  # the worker's part, in-process
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result["report"] == "budget" and job.result["format"] == fmt
    assert job.output_name == f"ejecucion-presupuestaria-{year}.{fmt}"
    done = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in done and reverse("job-file", args=[job.pk]) in done
    file = client.get(reverse("job-file", args=[job.pk]))
    assert file.status_code == 200 and job.output_name in file["Content-Disposition"]
    assert same_content(fmt, response_content(file), in_request)


def test_the_goals_report_as_a_job_is_the_same_pdf(live, finance, frozen):
    year = live.year
    client = client_for(finance)
    in_request = client.get(reverse("reports:attainment-file", args=[year, "pdf"])).content
    job = started_job(client, report="attainment", fiscal_year=year, fmt="pdf")
    jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.output_name == f"metas-y-resultados-{year}.pdf"
    assert pdf_text(job_content(job)) == pdf_text(in_request)
    assert "Metas y resultados" in pdf_text(job_content(job))


def test_progress_is_reported_step_by_step(live):
    seen = []
    export_jobs.build(
        ExportSpec("budget", live.year, "xlsx"), progress=lambda d, t, force=False: seen.append((d, t))
    )
    assert seen == [(0, 3), (1, 3), (2, 3)]
    rows = []
    spec = ExportSpec("movements", live.year, "csv", "source", "80")
    export_jobs.build(spec, user=live.finance, progress=lambda d, t, force=False: rows.append((d, t)))
    # source 80: the expenditure, PROMYPE's execution and its refund
    assert rows == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_a_closed_year_and_json_stay_in_the_request(world, finance, monkeypatch):
    monkeypatch.setattr(export_jobs, "INLINE_MAX_MOVEMENTS", 0)
    assert not export_jobs.needs_job(ExportSpec("budget", world.year, "pdf"), None)  # kept sums: fast
    anonymous = client_for().get(reverse("reports:budget-execution-file", args=[world.year, "csv"]))
    assert anonymous.status_code == 200 and anonymous["Content-Type"].startswith("text/csv")


def test_the_year_in_progress_is_a_job_past_the_bound(live, finance, monkeypatch):
    assert not export_jobs.needs_job(ExportSpec("budget", live.year, "pdf"), finance)  # 11 movements
    monkeypatch.setattr(export_jobs, "INLINE_MAX_MOVEMENTS", 10)
    assert export_jobs.needs_job(ExportSpec("budget", live.year, "pdf"), finance)
    assert not export_jobs.needs_job(ExportSpec("budget", live.year, "json"), finance)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_long_drill_down_is_a_job_with_the_readers_scope(live, finance, monkeypatch):
    year = live.year
    page_url = reverse("reports:execution-movements", args=[year, "source", "80"])
    file_url = reverse("reports:movements-file", args=[year, "csv"]) + "?dimension=source&code=80&subprogram="
    client = client_for(finance)
    page = client.get(page_url).content.decode()
    assert file_url.replace("&", "&amp;") in page
    in_request = csv_rows(client.get(file_url).content)
    assert [r[2] for r in in_request[1:]] == ["PROLECHE", "PROMYPE", "PROMYPE"]
    assert in_request[0][0] == "Fecha" and [r[-1] for r in in_request[1:]] == ["153.75", "500.00", "-100.00"]

    monkeypatch.setattr(export_jobs, "INLINE_MAX_ROWS", 2)
    page = client.get(page_url).content.decode()
    assert f'action="{reverse("reports:export-job")}"' in page
    assert client.get(file_url).status_code == 302

    job = started_job(client, report="movements", fiscal_year=year, fmt="csv", dimension="source", code="80")
    assert jobs.run(job.pk) == Job.State.DONE
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (3, 3) and job.result["rows"] == 3
    assert csv_rows(job_content(job)) == in_request
    done = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "3 filas escritas" in done

    # A finance officer scoped to PROMYPE gets PROMYPE's rows only, in the request and by the job.
    admin = UserFactory(roles=[Role.ADMIN])
    scoped = UserFactory(roles=[Role.FINANCE])
    budget_services.grant_program_scope(scoped, live.lines["PROMYPE/80"].program, actor=admin)
    scoped_client = client_for(scoped)
    mine = csv_rows(scoped_client.get(file_url).content)
    assert [r[2] for r in mine[1:]] == ["PROMYPE", "PROMYPE"]
    Job.objects.all().delete()
    job = started_job(
        scoped_client, report="movements", fiscal_year=year, fmt="xlsx", dimension="source", code="80"
    )
    jobs.run(job.pk)
    job.refresh_from_db()
    sheet = load_workbook(io.BytesIO(job_content(job))).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["PROMYPE", "PROMYPE"]


# --- Who may start a job, and fetch its file ------------------------------------------------------------


def test_only_readers_of_the_report_may_start_its_job(live):
    post = reverse("reports:export-job")
    fields = {"report": "budget", "fiscal_year": live.year, "fmt": "pdf"}
    anonymous = client_for().post(post, fields)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for role in (Role.APPLICANT, Role.EVALUATOR, Role.LEGAL):
        client = client_for(user_with(role))
        assert client.post(post, fields).status_code == 404  # the year in progress: staff only
        movements = {**fields, "report": "movements", "fmt": "csv", "dimension": "program", "code": "PROMYPE"}
        assert client.post(post, movements).status_code == 404  # drill-downs: staff only
        assert client.get(post).status_code == 405
    assert not Job.objects.exists()
    # A closed year is public: anyone signed in may have it made in the background.
    evaluator = user_with(Role.EVALUATOR)
    started = client_for(evaluator).post(post, {**fields, "fiscal_year": live.year - 1})
    assert started.status_code == 302 and Job.objects.get().created_by == evaluator


def test_bad_fields_start_nothing_and_say_which(finance, live):
    client = client_for(finance)
    response = client.post(
        reverse("reports:export-job"), {"report": "budget", "fiscal_year": "20x", "fmt": "pdf"}
    )
    assert response.status_code == 302 and not Job.objects.exists()
    text = client.get(response["Location"]).content.decode()
    assert "fiscal_year:" in text and "gestión" in text
    response = client.post(
        reverse("reports:export-job"), {"report": "movements", "fiscal_year": live.year, "fmt": "pdf"}
    )
    assert response.status_code == 302 and not Job.objects.exists()


def test_the_file_follows_the_readers_visibility(live, finance):
    client = client_for(finance)
    job = started_job(client, report="budget", fiscal_year=live.year, fmt="csv")
    jobs.run(job.pk)
    file_url = reverse("job-file", args=[job.pk])
    assert client.get(file_url).status_code == 200
    other_finance = client_for(UserFactory(roles=[Role.FINANCE]))
    assert other_finance.get(file_url).status_code == 404  # not theirs
    assert other_finance.get(reverse("job-detail", args=[job.pk])).status_code == 404
    assert client_for(UserFactory(roles=[Role.ADMIN])).get(file_url).status_code == 200
    finance.groups.clear()  # no longer finance: the year in progress is not theirs to see
    assert client_for(finance).get(file_url).status_code == 404
    assert client_for(finance).get(reverse("job-detail", args=[job.pk])).status_code == 404


def test_a_job_whose_starter_lost_the_role_fails_without_a_file(live, finance):
    job = started_job(
        client_for(finance),
        report="movements",
        fiscal_year=live.year,
        fmt="csv",
        dimension="program",
        code="PROMYPE",
    )
    finance.groups.clear()
    assert jobs.run(job.pk) == Job.State.FAILED
    job.refresh_from_db()
    assert "PermissionDenied" in job.error and not job.output


# --- manage.py report_export ----------------------------------------------------------------------------


def test_the_command_writes_the_same_files(live, finance, frozen, tmp_path):
    year = live.year
    client = client_for(finance)
    for report, fmt in (("budget", "xlsx"), ("attainment", "pdf"), ("budget", "csv")):
        target = tmp_path / f"{report}.{fmt}"
        call_command("report_export", report=report, fiscal_year=str(year), format=fmt, output=str(target))
        name = "reports:budget-execution-file" if report == "budget" else "reports:attainment-file"
        assert same_content(fmt, target.read_bytes(), client.get(reverse(name, args=[year, fmt])).content)
    out = io.StringIO()
    call_command("report_export", report="budget", fiscal_year=str(year), format="csv", stdout=out)
    assert out.getvalue().splitlines()[0] == "fiscal_year,table,code,name,in_force,executed,balance,percent"

    target = tmp_path / "movements.csv"
    call_command(
        "report_export",
        report="movements",
        fiscal_year=str(year),
        format="csv",
        dimension="source",
        code="80",
        reader=finance.username,
        output=str(target),
    )
    url = reverse("reports:movements-file", args=[year, "csv"]) + "?dimension=source&code=80"
    assert target.read_bytes() == client.get(url).content


def test_the_command_refuses_what_it_cannot_make(live, finance):
    with pytest.raises(CommandError, match="--as"):
        call_command(
            "report_export",
            report="movements",
            fiscal_year=str(live.year),
            format="csv",
            dimension="program",
            code="PROMYPE",
        )
    evaluator = user_with(Role.EVALUATOR)
    with pytest.raises(CommandError, match="may not see"):
        call_command(
            "report_export",
            report="movements",
            fiscal_year=str(live.year),
            format="csv",
            dimension="program",
            code="PROMYPE",
            reader=evaluator.username,
        )
    with pytest.raises(CommandError, match="--format"):
        call_command(
            "report_export",
            report="movements",
            fiscal_year=str(live.year),
            format="pdf",
            dimension="program",
            code="X",
            reader=finance.username,
        )
    with pytest.raises(CommandError, match="--fiscal-year"):
        call_command("report_export", report="budget", fiscal_year="1800", format="csv")
