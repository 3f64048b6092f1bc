"""Logins cannot be guessed: the lockout after repeated failures (django-axes, state in the database).

Every failed login on the web form, the admin and ``POST /api/v1/auth/token/`` is an
``axes.AccessAttempt`` row, keyed by username and client address (``cases.net.client_ip``). An account
with ``AXES_FAILURE_LIMIT`` failures, or an address with ``LOGIN_IP_FAILURE_LIMIT`` failures over all
accounts, within ``AXES_COOLOFF_TIME`` is locked: ``LockoutBackend`` refuses it before any password is
checked, so the right password does not work either, and ``lockout_response`` answers 429 with the
reason (JSON on the API, the login page on the web). A successful login clears its own account's count,
never its address's. ``manage.py axes_reset_username NAME`` / ``axes_reset_ip ADDRESS`` (or deleting
the admin's "Access attempts") unlocks at once.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit import record

LOCKED_OUT = "auth.locked_out"  # audit action code, registered in registry.apps

# django-axes ships no Spanish: its admin labels are translated in our locale/ (named here so that
# makemessages keeps them).
AXES_ADMIN_LABELS = (
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Time"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Logout Time"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("User Agent"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Form Data"),
    gettext_noop("Locked Out"),
    gettext_noop("Meta Data"),
    gettext_noop("Not set"),
)


def cooloff_minutes() -> int:
    return max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    return _(
        "Too many failed login attempts for this account or from this address. Logging in is "
        "blocked for %(minutes)s minutes; try again later or ask an administrator to unlock it."
    ) % {"minutes": cooloff_minutes()}


class LockoutBackend(AxesStandaloneBackend):
    """Axes' check, first in ``AUTHENTICATION_BACKENDS``. Every login page of the site passes the
    request; a call without one (the shell, a test client's ``login``) has no client to lock out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for an address (which may be an office behind
    one NAT), an audit entry when a lockout starts, and a reset on success that cannot be used to wipe
    an address's count (it clears only the account's own failures)."""

    def get_failures(self, request, credentials=None) -> int:
        counts = dict.fromkeys(("username", "ip_address"), 0)
        params = settings.AXES_LOCKOUT_PARAMETERS
        for param, attempts in zip(params, self.get_user_attempts(request, credentials), strict=True):
            counts[param] = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if counts["ip_address"] >= settings.LOGIN_IP_FAILURE_LIMIT:
            return max(counts["username"], settings.AXES_FAILURE_LIMIT)
        return counts["username"]

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        refused = bool(getattr(request, "axes_locked_out", False))  # already locked: nothing counted
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is not None and not refused and getattr(request, "axes_locked_out", False):
            username = str(credentials.get("username") or "").replace("\x00", "")[:150]
            record(
                LOCKED_OUT,
                actor=None,
                actor_label_override="anonymous",
                subject=get_user_model()._default_manager.filter(username=username).first()
                if username
                else None,
                data={
                    "username": username,
                    "failures": request.axes_failures_since_start,
                    "minutes": cooloff_minutes(),
                },
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(username=user.get_username()).delete()


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out login gets: 429 with the reason and ``Retry-After``."""
    message = lockout_message()
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        form = AuthenticationForm(request)
        response = render(
            request,
            "registration/login.html",
            {"form": form, "lockout_message": message, "next": request.POST.get("next", "")},
            status=429,
        )
    response["Retry-After"] = retry_after
    return response
