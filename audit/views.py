"""Internal-control pages of the audit trail (Spanish first): the filtered trail, a case's timeline,
"verify now", checkpoints, CSV/XLSX export. Only ``internal_control`` and ``admin`` reach them; any
other signed-in user gets 404, anonymous visitors the login page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_safe

from cases import params

from . import exports, selectors, services
from .forms import TrailFilterForm
from .presentation import error_text, rows_for, verification_notes

# Compact rows (details behind a disclosure), 25 to a page: a page stays a few screens tall.
PAGE_SIZE = 25


def _require_trail_reader(request) -> None:
    if not selectors.can_view_trail(request.user):
        raise Http404


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return params.number(value)


def _rows(entries):
    return rows_for(entries)


def _filter_query(form: TrailFilterForm) -> str:
    """The active filters as a query string (for paging and export links)."""
    if not form.is_bound:
        return ""
    keep = {k: form.data.get(k, "") for k in form.fields if form.data.get(k, "")}
    return urlencode(keep)


@login_required
@require_safe
def trail(request):
    _require_trail_reader(request)
    form = TrailFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else selectors.TrailFilters()
    page = None
    if not form.is_bound or form.is_valid():
        queryset = selectors.entry_list(user=request.user, filters=filters)
        page = selectors.keyset_page(
            queryset, before=_int_param(request, "before"), after=_int_param(request, "after"), size=PAGE_SIZE
        )
    query = _filter_query(form)
    return render(
        request,
        "audit/trail.html",
        {
            "form": form,
            "page": page,
            "rows": _rows(page.entries) if page else [],
            "query": query,
            "query_amp": f"{query}&" if query else "",
            "head_seq": selectors.trail_head_seq(),
            "latest_checkpoint": selectors.latest_checkpoint(),
        },
    )


@login_required
@require_safe
def case_timeline(request, code: str):
    _require_trail_reader(request)
    code = code.upper()
    entries = list(selectors.history_for_case(code)[:5000])
    if not entries:
        raise Http404
    return render(request, "audit/case_timeline.html", {"code": code, "rows": _rows(entries)})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request):
    """GET: the page with the "verify now" button; POST: run the verification and show the result."""
    _require_trail_reader(request)
    result = None
    if request.method == "POST":
        result = services.verify_trail(actor=request.user)
    return render(
        request,
        "audit/verify.html",
        {
            "result": result,
            "error_text": error_text(result["first_error"]) if result else "",
            "notes": verification_notes(result) if result else [],
            "checked_at": timezone.now() if result else None,
            "checkpoints": list(selectors.checkpoint_list()[:20]),
            "head_seq": selectors.trail_head_seq(),
        },
    )


@login_required
@require_safe
def export(request, fmt: str):
    _require_trail_reader(request)
    form = TrailFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/export_error.html", {"form": form}, status=400)
    filters = form.filters() if form.is_bound else selectors.TrailFilters()
    queryset = selectors.entry_list(user=request.user, filters=filters)
    try:
        response = exports.file_response(queryset, fmt)
    except exports.TooManyRows:
        message = exports.too_many_rows_message()
        return render(request, "audit/export_error.html", {"form": form, "message": message}, status=400)
    services.record_export(actor=request.user, fmt=fmt, filters=filters)
    return response
