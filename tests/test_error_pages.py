"""Spanish error pages (issue 10 §6, issue 11 §12) in the site's layout, with DEBUG off as in
production; JSON under /api/. The Django admin is titled in Spanish."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client
from django.urls import path
from django.utils.translation import gettext_lazy as _

from expediente import urls as site_urls
from registry.models import User

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


def _denied(request):
    raise PermissionDenied(_("You cannot do this on case %(code)s.") % {"code": "INI-2026-000001"})


def _suspicious(request):
    raise SuspiciousOperation("bad")


# This module is the URL conf of the tests below: the site's, plus three views that fail.
urlpatterns = [
    path("boom/", _boom),
    path("denied/", _denied),
    path("suspicious/", _suspicious),
    path("api/v1/boom/", _boom),
    path("api/v1/denied/", _denied),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500


@pytest.fixture
def production_like(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


def spanish_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<html lang="es">' in page
    assert f'<h1 id="error-title">{title}</h1>' in page
    assert "PRO-BOLIVIA" in page and 'class="site-header"' in page  # the site's layout
    assert "Not Found" not in page and "Server Error" not in page and "Forbidden" not in page
    return page


def test_404_in_spanish(production_like):
    page = spanish_page(Client().get("/no-such-page/"), 404, "Página no encontrada")
    assert "La página que busca no existe" in page


def test_403_in_spanish_with_the_reason(production_like):
    page = spanish_page(Client().get("/denied/"), 403, "Acceso denegado")
    assert "INI-2026-000001" in page


def test_400_in_spanish(production_like):
    spanish_page(Client().get("/suspicious/"), 400, "Solicitud no válida")


def test_400_for_a_host_not_allowed(production_like):
    spanish_page(Client(HTTP_HOST="evil.example").get("/"), 400, "Solicitud no válida")


def test_500_in_spanish(production_like):
    client = Client(raise_request_exception=False)
    page = spanish_page(client.get("/boom/"), 500, "Error del servidor")
    assert "Algo salió mal de nuestro lado" in page


def test_csrf_failure_in_spanish(production_like):
    client = Client(enforce_csrf_checks=True)
    page = spanish_page(client.post("/login/", {"username": "x", "password": "y"}), 403, "Acceso denegado")
    assert "Recargue la página" in page


@pytest.mark.parametrize(
    ("url", "status"), [("/api/v1/no-such-thing/", 404), ("/api/v1/boom/", 500), ("/api/v1/denied/", 403)]
)
def test_api_errors_stay_json(production_like, url, status):
    response = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="es").get(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_admin_titled_in_spanish():
    root = User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/").content.decode()
    assert "Administración de Expediente · PRO-BOLIVIA" in page
    assert "Datos y configuración" in page
    assert "Intentos de ingreso fallidos" in page  # django-axes' lockout rows, where an admin unlocks
    assert "Django" not in page.split("<body", 1)[1].split('id="content-main"', 1)[0]
