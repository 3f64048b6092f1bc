"""The flow diagram of each case type (``/flows/``, ``/flows/<kind>/``), drawn from its viewflow
flow (``workflows.diagram``). For anyone signed in: it says how a case moves, nothing about a case."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from cases import kinds

from . import diagram


def _flowing_kinds():
    return [k for k in kinds.all_kinds() if k.flow]


@login_required
@require_safe
def flow_index(request):
    return render(request, "workflows/flow_index.html", {"kinds": _flowing_kinds()})


@login_required
@require_safe
def flow_detail(request, code: str):
    try:
        kind = kinds.get(code)
    except LookupError as exc:
        raise Http404 from exc
    if not kind.flow:
        raise Http404
    return render(
        request,
        "workflows/flow_detail.html",
        {"kind": kind, "kinds": _flowing_kinds(), "diagram": diagram.for_kind(kind)},
    )
