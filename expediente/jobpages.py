"""A job's page (``/jobs/<id>/``): its progress while a worker runs it (the page reloads itself every
2 seconds, no script), then its file to download (``/jobs/<id>/file``). Only the person who started
it, or an administrator, sees a job; an import's job has pages of its own (``/imports/``). A report's
file (``reports.export_jobs``) is given only while its reader may still see the report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from cases.models import Job
from cases.roles import is_admin
from reports import export_jobs

from . import importing


def _job_for(request, pk: int) -> Job:
    job = get_object_or_404(Job, pk=pk)
    if job.created_by_id != request.user.pk and not is_admin(request.user):
        raise Http404
    if job.kind == export_jobs.JOB_KIND and not export_jobs.may_export(
        request.user, export_jobs.spec_of(job)
    ):
        raise Http404  # the report's own visibility (a role lost since)
    return job


def _describe(job: Job) -> dict:
    """What the page says of this kind of job: its title, where to go back, what it counts."""
    if job.kind == export_jobs.JOB_KIND:
        spec = export_jobs.spec_of(job)
        if spec.report == "movements":
            title = _("Ledger movements of %(code)s, fiscal year %(year)s (%(format)s)")
            code = spec.code + (f" / {spec.subprogram}" if spec.subprogram else "")
            back = (
                reverse(
                    "reports:execution-movements-subprogram",
                    args=[spec.fiscal_year, spec.code, spec.subprogram],
                )
                if spec.subprogram
                else reverse(
                    "reports:execution-movements", args=[spec.fiscal_year, spec.dimension, spec.code]
                )
            )
            return {
                "title": title % {"code": code, "year": spec.fiscal_year, "format": spec.fmt.upper()},
                "back_url": back,
                "back_label": _("Back to the movements"),
                "counts_rows": True,
            }
        page = "reports:budget-execution" if spec.report == "budget" else "reports:attainment"
        title = (
            _("Budget execution, fiscal year %(year)s (%(format)s)")
            if spec.report == "budget"
            else _("Goals and results, fiscal year %(year)s (%(format)s)")
        )
        return {
            "title": title % {"year": spec.fiscal_year, "format": spec.fmt.upper()},
            "back_url": reverse(page) + f"?fiscal_year={spec.fiscal_year}",
            "back_label": _("Back to the report"),
            "counts_rows": False,
        }
    return {
        "title": _("Export of the case list"),
        "back_url": reverse("case-list"),
        "back_label": _("Cases"),
        "counts_rows": True,
        "case_list": True,
    }


@login_required
@require_safe
def job_detail(request, pk: int):
    job = _job_for(request, pk)
    if job.kind in (importing.CHECK, importing.WRITE):
        return redirect("import-job", pk=job.pk)
    return render(request, "jobs/detail.html", {"job": job, "refresh": not job.finished, **_describe(job)})


@login_required
@require_safe
def job_file(request, pk: int):
    job = _job_for(request, pk)
    if job.state != Job.State.DONE or not job.output:
        raise Http404
    return FileResponse(job.output.open("rb"), as_attachment=True, filename=job.output_name or "export")
