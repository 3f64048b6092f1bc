"""Web pages of the registry app: log in, log out, and reset a forgotten password by e-mail.

They are Django's own views (so the ``user_logged_in`` / ``user_login_failed`` signals fire and reach
the audit trail). The home page is the site's (``expediente.views.home``).
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy

from cases.net import client_ip

from . import services


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["show_demo_hint"] = settings.DEBUG
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own); redirects to the login page."""


def _too_many_resets(who: str) -> bool:
    """Counts a reset request of ``who`` in the shared cache; True past ``PASSWORD_RESET_MAX_PER_HOUR``."""
    key = f"password-reset:{who}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count > settings.PASSWORD_RESET_MAX_PER_HOUR


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for the e-mail address; sends the link to every active account with that address, and
    answers the same whether there is one or not (nobody learns who has an account). At most
    ``PASSWORD_RESET_MAX_PER_HOUR`` requests per address and per client address are sent."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        if _too_many_resets(f"address:{email}") | _too_many_resets(f"client:{client_ip(self.request)}"):
            # The same answer as a sent link: nobody learns anything, and nobody's mailbox is flooded.
            return HttpResponseRedirect(self.get_success_url())
        self.extra_email_context = {
            "site_url": settings.SITE_URL.rstrip("/"),  # absolute links, as in the other e-mails
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link from the e-mail (valid for ``PASSWORD_RESET_TIMEOUT``, once): the new password goes
    through ``registry.services.reset_password``."""

    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        services.reset_password(form.user, form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
