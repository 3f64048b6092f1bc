"""``python manage.py report_export --report budget|attainment|movements --fiscal-year 2020
[--format json|csv|xlsx|pdf] [--output FILE] [--language es|en]
[--dimension program|source --code CODE [--subprogram CODE] --as USER]``

Any report file of the web pages, built by the same code as the page's download and the job
(``reports.export_jobs.build``), so the three give the same file. ``budget`` and ``attainment`` are the
public reports (every format; no access check: the database is the operator's, as
``manage.py budget_execution``, which stays for the budget report); ``movements`` is the drill-down
behind one executed figure (CSV or XLSX), written as the person named by ``--as`` would get it: only
if they may drill down, within their program scopes. JSON and CSV go to standard output without
``--output``; XLSX and PDF to the file's own name in the current directory. Progress on standard
error with ``-v 2``.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from reports import export_jobs
from reports.exports import FORMATS

TEXT_FORMATS = ("json", "csv")


class Command(BaseCommand):
    help = "Write a report file (budget execution, goals and results, or a drill-down's movements)."

    def add_arguments(self, parser):
        parser.add_argument("--report", required=True, choices=export_jobs.REPORTS)
        parser.add_argument("--fiscal-year", required=True, help="fiscal year (gestión), e.g. 2020")
        parser.add_argument(
            "--format", choices=FORMATS, default="json", help="json (default), csv, xlsx, pdf"
        )
        parser.add_argument("--output", metavar="FILE", help="write to FILE (JSON and CSV: default stdout)")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of titles and headers (default: %(default)s)",
        )
        parser.add_argument(
            "--dimension", choices=export_jobs.DIMENSIONS, help="movements: program or source"
        )
        parser.add_argument("--code", help="movements: the program's or source's code")
        parser.add_argument("--subprogram", default="", help="movements: a sub-program of the program")
        parser.add_argument("--as", dest="reader", metavar="USER", help="movements: whose scopes apply")

    def handle(self, *args, **options):
        try:
            spec = export_jobs.ExportSpec.from_params(
                {
                    "report": options["report"],
                    "fiscal_year": options["fiscal_year"],
                    "fmt": options["format"],
                    "dimension": options["dimension"],
                    "code": options["code"],
                    "subprogram": options["subprogram"],
                }
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(
                    f"--{field.replace('_', '-')}: {' '.join(m)}" for field, m in exc.message_dict.items()
                )
            ) from exc
        reader = None
        if spec.report == "movements":
            if not options["reader"]:
                raise CommandError("--as: name the person whose scopes apply to the movements")
            reader = get_user_model().objects.filter(username=options["reader"]).first()
            if reader is None:
                raise CommandError(f"--as: no user {options['reader']!r}")
            if not export_jobs.may_export(reader, spec):
                raise CommandError(f"--as: {reader.username} may not see the movements behind the figures")
        verbose = options["verbosity"] > 1

        def progress(done: int, total: int, *, force: bool = False) -> None:
            if verbose and (force or done == total):
                self.stderr.write(f"report_export: {done}/{total}")

        with translation.override(options["language"]):
            file = export_jobs.build(spec, user=reader, progress=progress)
        output = options["output"]
        if output is None and spec.fmt in TEXT_FORMATS:
            self.stdout.write(file.content.decode("utf-8").removeprefix("\ufeff"), ending="")
            return
        path = Path(output or file.filename)
        path.write_bytes(file.content)
        if output is None or verbose:
            self.stderr.write(f"report_export: wrote {path}")
