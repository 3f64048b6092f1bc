"""The site's error pages, in Spanish (English if the user chose it), in the site's layout.

Django's own pages are in English and outside the site. These handlers (``handler400/403/404/500`` in
``expediente.urls``, ``CSRF_FAILURE_VIEW``) render ``templates/400.html`` … ``500.html``; under
``/api/`` they answer JSON ``{"detail": …}`` like every other API error (API.md). The 500 page is
rendered without the request's context processors: nothing it shows may need the database.
"""

from __future__ import annotations

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from .locale import API_PREFIX


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _json(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    if _is_api(request):
        return _json(_("The request could not be understood."), 400)
    return render(request, "400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    reason = str(exception) if exception is not None and str(exception) else ""
    if _is_api(request):
        return _json(reason or _("You do not have permission to perform this action."), 403)
    return render(request, "403.html", {"reason": reason}, status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if _is_api(request):
        return _json(_("Not found."), 404)
    return render(request, "404.html", status=404)


@requires_csrf_token
def server_error(request):
    if _is_api(request):
        return _json(_("Something went wrong on our side. The error was recorded; try again later."), 500)
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    """The form was sent without a valid CSRF token: usually an old page or expired cookies."""
    if _is_api(request):
        return _json(_("CSRF check failed: reload the page and try again."), 403)
    return render(
        request,
        "403.html",
        {"reason": _("The form had expired or came from another site. Reload the page and try again.")},
        status=403,
    )
