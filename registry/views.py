"""Web pages of the registry app: log in and log out.

They are Django's own views (so the ``user_logged_in`` / ``user_login_failed`` signals fire and reach
the audit trail). The home page is the site's (``expediente.views.home``).
"""

from django.conf import settings
from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["show_demo_hint"] = settings.DEBUG
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own); redirects to the login page."""
