"""API-wide plumbing: the error shapes of API.md (400 field dict or detail; 401/403/404/409 detail)."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cases.errors import Conflict


def _validation_payload(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        payload: dict[str, list[str] | str] = {}
        for field, errors in exc.message_dict.items():
            payload["detail" if field == "__all__" else field] = errors
        if list(payload) == ["detail"]:
            payload["detail"] = " ".join(payload["detail"])
        return payload
    return {"detail": " ".join(exc.messages)}


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def _too_large() -> BodyTooLarge:
    return BodyTooLarge(
        _("The request body is too large: at most %(size)s bytes besides the files.")
        % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )


def exception_handler(exc, context):
    # Django's refusals of a body while it is read (a form field past DATA_UPLOAD_MAX_MEMORY_SIZE,
    # too many fields or files, a malformed multipart boundary) would be Django's HTML 400.
    if isinstance(exc, RequestDataTooBig):
        exc = _too_large()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        return Response(_validation_payload(exc), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Conflict):
        return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ConcurrentTransition):
        return Response(
            {"detail": _("Someone else changed this case at the same time; reload and try again.")},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {"detail": _("The case is not in a state that allows this action.")},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    return drf_exception_handler(exc, context)


# --- the JSON parser: bad bodies are 400s, never 500s ------------------------------------------------


BAD_TEXT = gettext_lazy("Text may not contain NUL or unpaired surrogate characters.")


def _bad_text(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, held to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, as Django holds form data), plus
    two refusals that would otherwise end in a 500: a body nested too deep
    for the decoder (``RecursionError``), and text the database cannot store — a NUL character, or
    half of a UTF-16 surrogate pair (``"\\ud800"``) — anywhere in the body."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF reads a JSON body whole whatever its size: hold it to Django's limit for form data.
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                raise _too_large()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("The JSON body is nested too deeply.")) from None
        pending = [data]
        while pending:  # iterative: the body may be deep
            item = pending.pop()
            if isinstance(item, dict):
                for key, value in item.items():
                    if _bad_text(key):
                        raise exceptions.ParseError(BAD_TEXT)
                    pending.append(value)
            elif isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, str) and _bad_text(item):
                raise exceptions.ParseError(BAD_TEXT)
        return data


@csrf_exempt  # a POST to an unknown path is a 404 too, not CSRF's HTML 403 (the API views are exempt)
def not_found(request, *args, **kwargs):
    """An unknown path under /api/: a JSON 404, as every other API error, whatever the method."""
    return JsonResponse({"detail": _("Not found.")}, status=404)
