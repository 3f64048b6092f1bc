"""``python manage.py budget_execution --fiscal-year 2020 [--format json|xlsx|pdf|csv] [--output FILE]``

The budget-execution report of API.md, built by the same code as the API and the web page. JSON and
CSV go to standard output unless ``--output`` is given; XLSX and PDF are binary and go to ``--output``
or, without it, to ``ejecucion-presupuestaria-<year>.<format>`` in the current directory. Texts (titles,
column headers, number format of the PDF) in ``--language`` (default: the site's, Spanish).
For operators: no access check (the database is theirs); read-only.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from reports.exports import FORMATS, filename, report_file
from reports.selectors import budget_execution, clean_fiscal_year

TEXT_FORMATS = ("json", "csv")


class Command(BaseCommand):
    help = "Write the budget-execution report of a fiscal year (by funding source and by program)."

    def add_arguments(self, parser):
        parser.add_argument("--fiscal-year", required=True, help="fiscal year (gestión), e.g. 2020")
        parser.add_argument(
            "--format", choices=FORMATS, default="json", help="json (default), xlsx, pdf or csv"
        )
        parser.add_argument("--output", metavar="FILE", help="write to FILE (JSON and CSV: default stdout)")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of titles and headers (default: %(default)s)",
        )

    def handle(self, *args, **options):
        fmt = options["format"]
        with translation.override(options["language"]):
            try:
                fiscal_year = clean_fiscal_year(options["fiscal_year"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.message_dict["fiscal_year"])) from exc
            report = budget_execution(fiscal_year)
            file = report_file(report, fmt)
        output = options["output"]
        if output is None and fmt in TEXT_FORMATS:
            self.stdout.write(file.content.decode("utf-8").removeprefix("\ufeff"), ending="")
            return
        path = Path(output or filename(report, fmt))
        path.write_bytes(file.content)
        if output is None or options["verbosity"] > 1:
            self.stderr.write(f"budget_execution: wrote {path}")
