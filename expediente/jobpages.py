"""A job's page (``/jobs/<id>/``): its progress while a worker runs it (the page reloads itself every
2 seconds, no script), then its file to download (``/jobs/<id>/file``). Only the person who started
it, or an administrator, sees a job; an import's job has pages of its own (``/imports/``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from cases.models import Job
from cases.roles import is_admin

from . import importing


def _job_for(request, pk: int) -> Job:
    job = get_object_or_404(Job, pk=pk)
    if job.created_by_id != request.user.pk and not is_admin(request.user):
        raise Http404
    return job


@login_required
@require_safe
def job_detail(request, pk: int):
    job = _job_for(request, pk)
    if job.kind in (importing.CHECK, importing.WRITE):
        return redirect("import-job", pk=job.pk)
    return render(request, "jobs/detail.html", {"job": job, "refresh": not job.finished})


@login_required
@require_safe
def job_file(request, pk: int):
    job = _job_for(request, pk)
    if job.state != Job.State.DONE or not job.output:
        raise Http404
    return FileResponse(job.output.open("rb"), as_attachment=True, filename=job.output_name or "export")
