"""``manage.py import_rows units|budget_lines FILE --actor USER [--only-valid] [--check-only]``: the
import of the pages (``cases.imports``), from a shell. The check and the write run here, in this
process, as the worker runs them (the same jobs, audited the same way); the errors by row are
printed. Exit 0 when the rows were written (or, with ``--check-only``, every row is valid), 1 otherwise."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases import imports, jobs
from expediente import importing


class Command(BaseCommand):
    help = "Import productive units or budget lines from a CSV or XLSX file (checked first, audited)."

    def add_arguments(self, parser):
        parser.add_argument("importer", choices=sorted(imports.importers()))
        parser.add_argument("file", type=Path)
        parser.add_argument("--actor", required=True, help="username of the person importing (audited)")
        parser.add_argument(
            "--only-valid", action="store_true", help="write the valid rows, leave out the others"
        )
        parser.add_argument("--check-only", action="store_true", help="check every row, write nothing")

    def handle(self, *args, **options):
        try:
            actor = get_user_model().objects.get(username=options["actor"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {options['actor']!r}") from None
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file {path}")
        try:
            check = importing.start_check(
                options["importer"], actor=actor, content=path.read_bytes(), filename=path.name
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        jobs.run(check.pk)  # here, now (a queued copy that a worker also receives is skipped: claimed)
        check.refresh_from_db()
        report = check.result
        self._print_report(check, report)
        if check.state != check.State.DONE or report.get("file_error") or report.get("missing_columns"):
            raise SystemExit(1)
        if options["check_only"]:
            raise SystemExit(0 if not report["invalid"] else 1)
        mode = importing.VALID if options["only_valid"] else importing.ALL
        try:
            write = importing.start_write(check, actor=actor, mode=mode)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        jobs.run(write.pk)
        write.refresh_from_db()
        if write.state != write.State.DONE:
            raise CommandError(f"the write failed: {write.error}")
        self.stdout.write(f"written: {write.result['written']} of {write.result['rows']} rows")
        for item in write.result["failed"]:
            self.stdout.write(f"row {item['row']}: {item['errors']}")
        raise SystemExit(0 if write.result["written"] and not write.result["failed"] else 1)

    def _print_report(self, check, report) -> None:
        if check.state != check.State.DONE:
            self.stderr.write(f"the check failed: {check.error}")
            return
        if report.get("file_error"):
            self.stderr.write(" ".join(report["file_error"]))
            return
        if report.get("missing_columns"):
            self.stderr.write("missing columns: " + ", ".join(report["missing_columns"]))
            return
        self.stdout.write(
            f"rows: {report['rows']}, valid: {report['valid']}, with errors: {report['invalid']}"
        )
        for item in report["errors"]:
            for column, messages in item["errors"].items():
                self.stdout.write(f"row {item['row']} {column}: {' '.join(messages)}")
