"""The public page that says whether an official document is genuine (``verify_url``, the QR code
printed on every document): by its number and the SHA-256 of the file in hand, or by the short
verification code typed in its form. It shows the document's number, kind, date of issue, case code
and hash — never who it concerns."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import official


@require_safe
def verify_document(request):
    asked, document, searched = official.lookup(request.GET)
    return render(
        request,
        "cases/verify.html",
        {"asked": asked, "document": document, "searched": searched},
        status=200,
    )
