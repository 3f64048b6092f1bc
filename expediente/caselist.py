"""The staff case list (``/cases/``): every case the user may open, of every registered kind,
searched and filtered, paged, and exported to XLSX (``/cases/export.xlsx``, same filters).

The rows come from ``cases.listing`` (built from the case-kind registry: each kind's own scope
selector, so the list never shows a case whose page the user could not open). A page costs a
fixed number of queries whatever the number of cases or object permissions: the session, the
user, the roles and scopes (one query, ``approvals.selectors.remember_scopes``), the programs and
departments of the filters (one), the count (one, up to ``listing.COUNT_CAP``) and the page's rows
(one). ``bench/caselist_bench.py`` measures it at 100,000 cases.
"""

from __future__ import annotations

import io
import math
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from approvals.selectors import inbox_reference, remember_scopes
from cases import listing
from cases.roles import is_staff_member
from cases.templatetags.expediente_tags import LA_PAZ

FILTER_NAMES = ("q", "kind", "state", "program", "department", "since", "until")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _date_field(label):
    """A day as people write it here (dd/mm/aaaa): a text box, since a browser's own date box shows
    its own locale's order (mm/dd/yyyy in many)."""
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={"placeholder": "dd/mm/aaaa", "inputmode": "numeric", "autocomplete": "off"},
            format="%d/%m/%Y",
        ),
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
    )


class CaseFilterForm(forms.Form):
    """The list's filters (GET). Kinds and states come from the registry; programs and departments
    are the rows that exist (``approvals.selectors.inbox_reference``)."""

    q = forms.CharField(label=gettext_lazy("Code, unit or NIT"), required=False, max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Case type"), required=False)
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    program = forms.TypedChoiceField(
        label=gettext_lazy("Program"), required=False, coerce=int, empty_value=None
    )
    department = forms.TypedChoiceField(
        label=gettext_lazy("Department"), required=False, coerce=int, empty_value=None
    )
    since = _date_field(gettext_lazy("Started from"))
    until = _date_field(gettext_lazy("Started until"))

    def __init__(self, *args, programs=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["kind"].choices = everything + [(k.code, k.label) for k in listing.listed_kinds()]
        self.fields["state"].choices = [
            *everything,
            (listing.OPEN, _("In progress")),
            *listing.state_choices(),
        ]
        self.fields["program"].choices = everything + [(str(pk), label) for pk, label in programs]
        self.fields["department"].choices = everything + [(str(pk), label) for pk, label in departments]
        self.fields["q"].widget.attrs.update({"placeholder": "INI-2026-000123", "autocomplete": "off"})

    SELECTS = ("kind", "state", "program", "department")

    def prepare_selects(self) -> None:
        """Each select's ``(value, label, selected)`` on its bound field (``field.options``),
        labels already in the request's language: the template only writes them out."""
        for name in self.SELECTS:
            bound = self[name]
            field: Any = self.fields[name]  # a ChoiceField
            current = "" if bound.value() is None else str(bound.value())
            options = [(str(v), str(label), str(v) == current) for v, label in field.choices]
            setattr(bound, "options", options)  # noqa: B010 - an attribute of ours on Django's object

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def filters(self) -> listing.CaseFilters:
        """The valid filters (an invalid one is ignored and reported next to its field)."""
        if not self.is_bound:
            return listing.CaseFilters()
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return listing.CaseFilters(
            q=(data.get("q") or "").strip(),
            kind=data.get("kind") or "",
            state=data.get("state") or "",
            program=data.get("program"),
            department=data.get("department"),
            since=data.get("since"),
            until=data.get("until"),
        )


def _staff_only(user) -> None:
    if not is_staff_member(user):
        raise PermissionDenied(_("The case list is for PRO-BOLIVIA staff."))


def _form(request) -> tuple[CaseFilterForm, dict]:
    reference = inbox_reference()
    params = {k: v for k in FILTER_NAMES if (v := request.GET.get(k, "").strip())}
    form = CaseFilterForm(params or None, programs=reference.programs, departments=reference.departments)
    form.prepare_selects()
    return form, params


def _page_number(value: str) -> int:
    try:
        return min(max(int(value), 1), listing.MAX_PAGES)
    except ValueError:
        return 1


@require_safe
@login_required
def case_list(request):
    user = request.user
    remember_scopes(user)  # roles and scopes in one query, before anything asks for them
    _staff_only(user)
    form, params = _form(request)
    filters = form.filters()
    number = _page_number(request.GET.get("page", "1"))
    offset = (number - 1) * listing.PAGE_SIZE
    rows = listing.case_rows(user, filters, offset=offset, limit=listing.PAGE_SIZE + 1)
    more = len(rows) > listing.PAGE_SIZE
    rows = rows[: listing.PAGE_SIZE]
    # When the whole list is on its first page there is nothing to count.
    count = len(rows) if number == 1 and not more else listing.case_count(user, filters)
    pages = min(max(math.ceil(count / listing.PAGE_SIZE), 1), listing.MAX_PAGES)
    if not rows and count:  # a page past the end (an old link, fewer cases now): the last one
        number = pages
        offset = (number - 1) * listing.PAGE_SIZE
        rows, more = listing.case_rows(user, filters, offset=offset, limit=listing.PAGE_SIZE), False
    base = reverse("case-list")

    def page_url(n: int) -> str:
        query = {**params, **({"page": n} if n > 1 else {})}
        return f"{base}?{urlencode(query)}" if query else base

    context = {
        "form": form,
        "rows": rows,
        "count": min(count, listing.COUNT_CAP),
        "count_capped": count > listing.COUNT_CAP,
        "page_number": number,
        "pages": pages,
        "prev_url": page_url(number - 1) if number > 1 else "",
        "next_url": page_url(number + 1) if more and number < listing.MAX_PAGES else "",
        "last_page_reached": more and number >= listing.MAX_PAGES,
        "filters_active": filters.active,
        "clear_url": base,
        "export_url": reverse("case-list-export") + (f"?{urlencode(params)}" if params else ""),
        "export_params": params,
        "count_shown": number_format(min(count, listing.COUNT_CAP), force_grouping=True),
        "export_max_shown": number_format(listing.EXPORT_MAX_ROWS, force_grouping=True),
        "exportable": count <= listing.EXPORT_MAX_ROWS,
        "page_size": listing.PAGE_SIZE,
        "max_pages": listing.MAX_PAGES,
    }
    return render(request, "cases/case_list.html", context)


def _local_date(moment):
    return timezone.localtime(moment, LA_PAZ).date() if moment is not None else None


def _workbook(rows, total: int, progress=None) -> bytes:
    """The cases ``rows`` as an XLSX workbook (write-only: rows streamed, not held)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Cases"))
    sheet.freeze_panes = "A2"
    headers = [
        _("Case type"),
        _("Code"),
        _("State"),
        _("Productive unit"),
        _("NIT"),
        _("Program"),
        _("Department"),
        _("Amount (Bs)"),
        _("Started on"),
    ]
    for column, width in zip("ABCDEFGHI", (24, 18, 22, 40, 14, 14, 14, 16, 12), strict=True):
        sheet.column_dimensions[column].width = width
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for index, row in enumerate(rows, start=1):
        amount = WriteOnlyCell(sheet, value=row.amount)
        amount.number_format = "#,##0.00"
        started = WriteOnlyCell(sheet, value=_local_date(row.started_at))
        started.number_format = "DD/MM/YYYY"
        sheet.append(
            [
                str(row.kind.label),
                row.code,
                row.state_label,
                row.unit_name,
                row.tax_id,
                row.program,
                row.department,
                amount,
                started,
            ]
        )
        if progress is not None:
            progress(index, total)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _export_name() -> str:
    return f"casos-{timezone.localtime(timezone.now(), LA_PAZ).strftime('%Y%m%d-%H%M')}.xlsx"


@require_safe
@login_required
def case_list_export(request):
    """The filtered list as an XLSX workbook, at most ``listing.EXPORT_MAX_ROWS`` rows, here and now;
    a longer list is exported by a job (``case_list_export_job``), never cut silently."""
    user = request.user
    remember_scopes(user)  # roles and scopes in one query, before anything asks for them
    _staff_only(user)
    form, params = _form(request)
    filters = form.filters()
    count = listing.case_count(user, filters, cap=listing.EXPORT_MAX_ROWS)
    if count > listing.EXPORT_MAX_ROWS:
        messages.error(
            request,
            _("The list has more than %(max)s cases: export it in the background, or narrow it down.")
            % {"max": number_format(listing.EXPORT_MAX_ROWS, force_grouping=True)},
        )
        back = reverse("case-list") + (f"?{urlencode(params)}" if params else "")
        return HttpResponseRedirect(back)
    content = _workbook(listing.export_rows(user, filters), count)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_export_name()}"'
    return response


# A list longer than EXPORT_MAX_ROWS is exported by a worker (cases.jobs), up to this many rows.
JOB_EXPORT_MAX_ROWS = 200_000
EXPORT_JOB = "export.cases"


@require_POST
@login_required
def case_list_export_job(request):
    """Start the export of the filtered list (the filters in the form's hidden fields) as a job; its
    page (``/jobs/<id>/``) shows the progress and gives the file."""
    from cases import jobs

    user = request.user
    _staff_only(user)
    params = {k: v for k in FILTER_NAMES if (v := request.POST.get(k, "").strip())}
    job = jobs.start(
        EXPORT_JOB, actor=user, params={"filters": params, "language": translation.get_language()}
    )
    return redirect("job-detail", pk=job.pk)


def _run_export(job, progress) -> dict:
    from django.core.files.base import ContentFile

    user = job.created_by
    with translation.override(job.params.get("language") or "es"):
        remember_scopes(user)
        if not is_staff_member(user):  # no longer staff since the job was queued
            raise PermissionDenied("not staff")
        reference = inbox_reference()
        form = CaseFilterForm(
            job.params["filters"] or None, programs=reference.programs, departments=reference.departments
        )
        filters = form.filters()
        total = listing.case_count(user, filters, cap=JOB_EXPORT_MAX_ROWS)
        shown = min(total, JOB_EXPORT_MAX_ROWS)
        progress(0, shown, force=True)
        content = _workbook(listing.export_rows(user, filters, limit=JOB_EXPORT_MAX_ROWS), shown, progress)
        name = _export_name()
    job.output.save(name, ContentFile(content), save=False)
    type(job).objects.filter(pk=job.pk).update(output=job.output.name, output_name=name)
    return {"rows": shown, "capped": total > JOB_EXPORT_MAX_ROWS, "bytes": len(content)}


def register_jobs() -> None:
    from cases import jobs

    jobs.register(EXPORT_JOB, _run_export)
