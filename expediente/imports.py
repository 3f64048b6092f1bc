"""The import pages (``/imports/``): upload a CSV or XLSX file, watch its check (a job with a progress
bar), read the errors by row, then write everything (only when every row is valid) or only the valid
rows (``cases.imports``). The pages carry no script: a job's page reloads itself every 2 seconds
while the job runs (``<meta http-equiv="refresh">``)."""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import imports
from cases.models import Job
from cases.roles import is_admin

from . import importing


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX)"),
        help_text=gettext_lazy("The first row names the columns. At most 10 MB and 20.000 rows."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


def _importer_for(request, name: str) -> imports.Importer:
    try:
        importer = imports.get(name)
    except ValidationError:
        raise Http404 from None
    if not importer.permission(request.user):
        raise PermissionDenied(_("You do not have permission to perform this action."))
    return importer


@login_required
@require_safe
def import_index(request):
    usable = [i for i in imports.importers().values() if i.permission(request.user)]
    if not usable:
        raise PermissionDenied(_("You do not have permission to perform this action."))
    recent = Job.objects.filter(created_by=request.user, kind__in=(importing.CHECK, importing.WRITE))[:20]
    labels = {i.name: i.label for i in usable}
    return render(
        request,
        "imports/index.html",
        {
            "importers": usable,
            "recent": [(job, labels.get(job.params.get("importer"), "")) for job in recent],
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def import_start(request, name: str):
    importer = _importer_for(request, name)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = importing.start_check(
                importer.name, actor=request.user, content=upload.read(), filename=upload.name
            )
        except ValidationError as exc:
            for message in (
                exc.message_dict.get("file", exc.messages) if hasattr(exc, "error_dict") else exc.messages
            ):
                form.add_error("file", message)
        else:
            return redirect("import-job", pk=job.pk)
    return render(request, "imports/start.html", {"importer": importer, "form": form})


@login_required
@require_safe
def import_template(request, name: str):
    """An empty file with the columns and one example row, to fill in."""
    importer = _importer_for(request, name)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([c.name for c in importer.columns])
    writer.writerow([c.example for c in importer.columns])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plantilla-{importer.name}.csv"'
    return response


def _job_for(request, pk: int) -> Job:
    job = get_object_or_404(
        Job.objects.select_related("created_by"), pk=pk, kind__in=(importing.CHECK, importing.WRITE)
    )
    if job.created_by_id != request.user.pk and not is_admin(request.user):
        raise Http404
    return job


def _column_labels(importer: imports.Importer) -> dict[str, str]:
    labels = {c.name: str(c.label) for c in importer.columns}
    labels["__row__"] = _("Row")
    return labels


@login_required
@require_safe
def import_job(request, pk: int):
    job = _job_for(request, pk)
    importer = imports.get(job.params["importer"])
    labels = _column_labels(importer)
    report = job.result if job.state == Job.State.DONE else {}
    check = job
    if job.kind == importing.WRITE:
        check = Job.objects.get(pk=job.params["check"])
    problems = [
        {
            "row": item["row"],
            "errors": [
                (labels.get(column, column), " ".join(msgs), item["values"].get(column, ""))
                for column, msgs in item["errors"].items()
            ],
        }
        for item in report.get("errors" if job.kind == importing.CHECK else "failed", [])
    ]
    context = {
        "job": job,
        "check": check,
        "importer": importer,
        "report": report,
        "problems": problems,
        "missing": [labels.get(c, c) for c in report.get("missing_columns", [])],
        "write_job": Job.objects.filter(pk=int(report["write_job"])).first()
        if report.get("write_job")
        else None,
        "more_errors": max(0, report.get("invalid", 0) - len(problems)) if job.kind == importing.CHECK else 0,
        "refresh": not job.finished,
    }
    return render(request, "imports/job.html", context)


@login_required
@require_POST
def import_write(request, pk: int):
    check = _job_for(request, pk)
    try:
        job = importing.start_write(check, actor=request.user, mode=request.POST.get("mode", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("import-job", pk=check.pk)
    return redirect("import-job", pk=job.pk)
