"""Imports from CSV or XLSX, checked whole before anything is written (issue 13, item 6), as two jobs
(``cases.jobs``) of the importers the apps register (``cases.imports``). Here, in the site, because
it uses the audit trail (the kernel knows nothing of it). Checking a row *is* writing it and
rolling it back, so what the check accepts is exactly what the write accepts.

1. ``import.check`` — reads the file, checks the columns, then every row: the row's write in a
   transaction rolled back (its audit entries collected by ``audit.batch`` and dropped, so the trail's
   lock is never taken), plus the rows' keys against each other (the same NIT twice in the file).
   Result: the report, with the errors by row, nothing written.
2. ``import.write`` — after the person chose (``all`` — everything or nothing: refused unless the check
   found no error; ``valid`` — only the rows the check accepted). ``all`` writes every row in ONE
   transaction, its audit entries in one batch at the end (``audit.batch``): a row that fails now (the
   data changed since the check) rolls back every row. ``valid`` writes row by row, each in its own
   transaction, and reports the rows that failed now. Either way one more entry, ``import.completed``,
   records the importer, the file's name and SHA-256, the choice and the counts.

The file is read again by the write (kept on the ``Job``); its SHA-256 is checked against the one the
check read, so what is written is what was checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from cases import jobs
from cases.imports import MAX_BYTES, MAX_REPORTED_ROWS, Importer, get, read_rows
from cases.models import Job

CHECK, WRITE = "import.check", "import.write"
ALL, VALID = "all", "valid"


class _DryRun(Exception):
    """Rolls a checked row back."""


class _RowFailed(Exception):
    """Rolls an all-or-nothing import back: a row failed as it was written."""

    def __init__(self, failed: dict[str, Any]) -> None:
        super().__init__(failed["row"])
        self.failed = failed


# -- checking and writing --------------------------------------------------------------------------


def _messages(exc: ValidationError | PermissionDenied, columns: set[str]) -> dict[str, list[str]]:
    """A row's error as column -> messages (``__row__``: not about one column)."""
    if isinstance(exc, PermissionDenied):
        return {"__row__": [str(exc) or _("You do not have permission to perform this action.")]}
    if hasattr(exc, "error_dict"):
        out: dict[str, list[str]] = {}
        for name, errors in exc.message_dict.items():
            out.setdefault(name if name in columns else "__row__", []).extend(errors)
        return out
    return {"__row__": list(exc.messages)}


def missing_columns(importer: Importer, rows: list[dict[str, str]]) -> list[str]:
    present = set(rows[0]) if rows else set()
    return [c.name for c in importer.columns if c.required and c.name not in present]


def _values(importer: Importer, row: dict[str, str]) -> dict[str, str]:
    return {c.name: row.get(c.name, "") for c in importer.columns}


def check_rows(importer: Importer, rows: list[dict[str, str]], actor, progress=None) -> dict[str, Any]:
    """Every row's errors, nothing written (see the module's docstring)."""
    columns = {c.name for c in importer.columns}
    errors: list[dict[str, Any]] = []
    bad = 0
    seen: dict[Hashable, int] = {}
    for index, row in enumerate(rows):
        number = index + 2  # the spreadsheet's row: the header is row 1
        values = _values(importer, row)
        row_errors: dict[str, list[str]] = {}
        try:
            with transaction.atomic(), audit.batch():
                importer.write(values, actor)
                raise _DryRun
        except _DryRun:
            pass
        except (ValidationError, PermissionDenied) as exc:
            row_errors = _messages(exc, columns)
        key = importer.key(values)
        if key is not None:
            if key in seen:
                row_errors.setdefault(importer.key_column or "__row__", []).append(
                    str(importer.key_error) % {"row": seen[key]}
                )
            else:
                seen[key] = number
        if row_errors:
            bad += 1
            if len(errors) < MAX_REPORTED_ROWS:
                errors.append({"row": number, "values": values, "errors": row_errors})
        if progress is not None:
            progress(index + 1, len(rows))
    return {"rows": len(rows), "valid": len(rows) - bad, "invalid": bad, "errors": errors}


def _write_all(importer: Importer, rows: list[dict[str, str]], actor, progress) -> dict[str, Any]:
    columns = {c.name for c in importer.columns}
    try:
        with transaction.atomic(), audit.batch():
            for index, row in enumerate(rows):
                values = _values(importer, row)
                try:
                    importer.write(values, actor)
                except (ValidationError, PermissionDenied) as exc:
                    # The data changed since the check: nothing is written (the batch writes no entry).
                    raise _RowFailed(
                        {"row": index + 2, "values": values, "errors": _messages(exc, columns)}
                    ) from exc
                progress(index + 1, len(rows))
    except _RowFailed as failure:
        return {"written": 0, "failed": [failure.failed]}
    return {"written": len(rows), "failed": []}


def _write_valid(importer: Importer, rows: list[dict[str, str]], valid: set[int], actor, progress):
    columns = {c.name for c in importer.columns}
    written, failed = 0, []
    for index, row in enumerate(rows):
        if index + 2 in valid:
            try:
                with transaction.atomic():
                    importer.write(_values(importer, row), actor)
                written += 1
            except (ValidationError, PermissionDenied) as exc:
                failed.append(
                    {"row": index + 2, "values": _values(importer, row), "errors": _messages(exc, columns)}
                )
        progress(index + 1, len(rows))
    return {"written": written, "failed": failed[:MAX_REPORTED_ROWS]}


# -- the jobs --------------------------------------------------------------------------------------


def start_check(name: str, *, actor, content: bytes, filename: str) -> Job:
    """Queue the check of an uploaded file (the page and ``manage.py import_rows``)."""
    from django.core.files.base import ContentFile

    importer = get(name)
    if not importer.permission(actor):
        raise PermissionDenied(_("You do not have permission to perform this action."))
    if len(content) > MAX_BYTES:
        raise ValidationError({"file": [_("The file is larger than 10 MB.")]})
    if not filename.lower().endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError({"file": [_("Upload a CSV or XLSX file.")]})
    return jobs.start(
        CHECK,
        actor=actor,
        params={"importer": name},
        upload=ContentFile(content),
        upload_name=filename[-200:],
        upload_sha256=hashlib.sha256(content).hexdigest(),
    )


def start_write(check: Job, *, actor, mode: str) -> Job:
    """Queue the write of a checked file: ``mode`` ``all`` (refused unless every row passed) or
    ``valid`` (the rows that passed)."""
    if check.kind != CHECK or check.state != Job.State.DONE or check.created_by_id != actor.pk:
        raise ValidationError(_("This import cannot be written: check the file first."), code="state")
    importer = get(check.params["importer"])
    if not importer.permission(actor):
        raise PermissionDenied(_("You do not have permission to perform this action."))
    report = check.result
    if report.get("missing_columns") or report.get("file_error"):
        raise ValidationError(_("The file cannot be imported: fix it and upload it again."), code="file")
    if mode == ALL and report.get("invalid"):
        raise ValidationError(
            _("Some rows have errors: fix them, or import only the valid rows."), code="invalid_rows"
        )
    if mode == VALID and not report.get("valid"):
        raise ValidationError(_("No row can be imported."), code="no_rows")
    if mode not in (ALL, VALID):
        raise ValidationError(_("Choose what to import."), code="mode")
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=check.pk)
        if locked.result.get("write_job"):
            raise ValidationError(_("This file has already been imported."), code="twice")
        job = jobs.start(
            WRITE,
            actor=actor,
            params={"importer": importer.name, "check": check.pk, "mode": mode},
            upload_name=check.upload_name,
            upload_sha256=check.upload_sha256,
        )
        locked.result = {**locked.result, "write_job": job.pk}
        locked.save(update_fields=["result"])
    return job


def _read(job: Job) -> list[dict[str, str]]:
    with job.upload.open("rb") as handle:
        content = handle.read()
    if job.upload_sha256 and hashlib.sha256(content).hexdigest() != job.upload_sha256:
        raise RuntimeError("the stored file changed since it was uploaded")
    return read_rows(content, job.upload_name)


def _run_check(job: Job, progress) -> dict[str, Any]:
    importer = get(job.params["importer"])
    try:
        rows = _read(job)
    except ValidationError as exc:
        return {"file_error": exc.messages, "rows": 0, "valid": 0, "invalid": 0, "errors": []}
    missing = missing_columns(importer, rows)
    if missing:
        return {"missing_columns": missing, "rows": len(rows), "valid": 0, "invalid": len(rows), "errors": []}
    progress(0, len(rows), force=True)
    return check_rows(importer, rows, job.created_by, progress)


def _run_write(job: Job, progress) -> dict[str, Any]:
    importer = get(job.params["importer"])
    check = Job.objects.get(pk=job.params["check"])
    rows = _read(check)
    progress(0, len(rows), force=True)
    if job.params["mode"] == ALL:
        outcome = _write_all(importer, rows, job.created_by, progress)
    else:
        valid = set(range(2, len(rows) + 2)) - {e["row"] for e in check.result.get("errors", [])}
        if check.result.get("invalid", 0) > len(check.result.get("errors", [])):
            # More bad rows than the report kept: check them again, row by row, as they are written.
            valid = set(range(2, len(rows) + 2))
        outcome = _write_valid(importer, rows, valid, job.created_by, progress)
    audit.record(
        "import.completed",
        actor=job.created_by,
        subject=job,
        data={
            "importer": importer.name,
            "file": check.upload_name,
            "sha256": check.upload_sha256,
            "mode": job.params["mode"],
            "rows": len(rows),
            "written": outcome["written"],
            "failed": len(outcome["failed"]),
        },
    )
    return {"rows": len(rows), **outcome}


def register_jobs() -> None:
    jobs.register(CHECK, _run_check)
    jobs.register(WRITE, _run_write)
