"""The pages every user sees first: login, the base layout, the language switch and the home page of
each demo role (data from ``seed_demo``)."""

import io
import re

import pytest
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from registry.services import today

pytestmark = pytest.mark.django_db

MAX_PAGE_BYTES = 300 * 1024
DEMO_USERS = (
    "solicitante1",
    "solicitante2",
    "evaluador1",
    "evaluador5",
    "legal1",
    "finanzas1",
    "director1",
    "control1",
    "admin1",
)


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def _demo_data(django_db_setup, django_db_blocker):
    """``seed_demo`` once for the module, inside a transaction rolled back at its end (each test
    runs in a savepoint within it, so tests still cannot see each other's changes)."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_data, db):
    return None


def logged_in(username: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": "demo"})
    assert response.status_code == 302, f"{username} could not log in"
    return client


def text_of(response) -> str:
    """The visible text, whitespace collapsed (good enough to assert on wording)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_anonymous_home_redirects_to_login():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_login_page_is_spanish_and_accessible():
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Ingresar" in html and "Contraseña" in html and "Usuario" in html
    # labels bound to their inputs, a main landmark, a skip link, no external resources
    assert '<label for="id_username">' in html and 'id="id_username"' in html
    assert '<label for="id_password">' in html and 'autocomplete="current-password"' in html
    assert '<main id="content"' in html and 'href="#content"' in html
    assert "http://" not in html and "https://" not in html
    assert len(response.content) < MAX_PAGE_BYTES


def test_language_switch_to_english_and_back():
    client = Client()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html and "Password" in html and "Contraseña" not in html
    client.post(reverse("set_language"), {"language": "es", "next": "/login/"})
    assert "Contraseña" in client.get(reverse("login")).content.decode()


def test_pages_are_spanish_whatever_the_browser_asks_until_the_user_switches():
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="es">' in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()


def test_the_api_follows_accept_language():
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/units/")
    spanish = Client().get("/api/v1/units/")
    assert english.status_code == spanish.status_code == 401
    assert english.json()["detail"] == "Authentication credentials were not provided."
    assert spanish.json()["detail"] != english.json()["detail"]


def test_failed_login_is_refused_in_spanish_and_fires_the_auth_signal(demo):
    failures = []

    def receiver(sender, credentials, request, **kwargs):
        failures.append(credentials["username"])

    user_login_failed.connect(receiver)
    try:
        response = Client().post(reverse("login"), {"username": "finanzas1", "password": "wrong"})
    finally:
        user_login_failed.disconnect(receiver)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "usuario" in text_of(response).lower()
    assert failures == ["finanzas1"]


def test_login_fires_the_auth_signal_and_redirects_home(demo):
    logins = []

    def receiver(sender, user, request, **kwargs):
        logins.append(user.username)

    user_logged_in.connect(receiver)
    try:
        response = Client().post(reverse("login"), {"username": "director1", "password": "demo"})
    finally:
        user_logged_in.disconnect(receiver)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert logins == ["director1"]


def test_logout_is_post_only(demo):
    client = logged_in("legal1")
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_demo_user_gets_a_light_home_with_name_role_and_inbox(
    demo, username, django_assert_max_num_queries
):
    client = logged_in(username)
    with django_assert_max_num_queries(20):
        response = client.get("/")
    assert response.status_code == 200
    assert len(response.content) < MAX_PAGE_BYTES
    html = response.content.decode()
    user = response.context["user"]
    assert user.get_full_name() in html
    assert response.context["user_role_labels"], "demo users all hold a role"
    for label in response.context["user_role_labels"]:
        assert str(label) in html
    assert 'href="/tasks/"' in html and "Mis tareas" in html
    # log out and language switch are POST forms with CSRF tokens
    logout_form = r'<form action="/logout/" method="post">\s*<input type="hidden" name="csrfmiddlewaretoken"'
    assert re.search(logout_form, html)
    assert re.search(r'<form class="lang" action="/i18n/setlang/" method="post">', html)


def test_applicant_home_shows_its_unit_and_how_to_start(demo):
    html = logged_in("solicitante1").get("/").content.decode()
    assert "Asociación de Productores de Leche Warnes" in html
    assert "1028374019" in html
    assert "Taller Textil Munay" not in html  # nothing of any other unit
    assert 'href="/initiatives/new/"' in html and 'href="/initiatives/"' in html
    assert "Vigente" in html
    assert "Presupuesto" not in text_of(logged_in("solicitante1").get("/"))


def test_applicant_home_shows_the_open_call_and_its_initiatives(demo):
    response = logged_in("solicitante1").get("/")
    text = text_of(response)
    assert f"PROLECHE-{today().year}-01" in text
    assert "Bs 350.000,00" in text and "al menos el 50 % del costo" in text
    assert response.context["cases"]["recent"] == []
    assert "Todavía no ha iniciado ninguna iniciativa." in text


def test_staff_home_counts_initiatives_in_progress(demo):
    response = logged_in("director1").get("/")
    assert response.context["cases"]["open"] == 0
    assert "Iniciativas en curso" in text_of(response)


def test_applicant_whose_registration_expires_soon_is_warned(demo):
    response = logged_in("solicitante2").get("/")
    text = text_of(response)
    assert "Taller Textil Munay Potosí" in text
    assert "Vence en 21 días" in text
    assert "renuévelo" in text.lower()


def test_applicant_whose_registration_expired_cannot_start_an_initiative(demo, monkeypatch):
    import datetime as dt

    from expediente import views  # the home page is the site's

    monkeypatch.setattr(views, "today", lambda: today() + dt.timedelta(days=30))  # 9 days after it ended
    html = logged_in("solicitante2").get("/").content.decode()
    assert 'class="badge bad">Vencido</span>' in html
    assert 'role="alert"' in html and "Su registro ha vencido" in html
    assert 'href="/initiatives/new/"' not in html
    counts = logged_in("evaluador1").get("/").context["unit_counts"]
    assert counts == {"total": 2, "expiring": 0, "expired": 1}


def test_finance_home_shows_current_year_budget_with_totals(demo):
    response = logged_in("finanzas1").get("/")
    budget = response.context["budget"]
    assert budget["fiscal_year"] == today().year
    assert len(budget["lines"]) == 8
    text = text_of(response)
    assert f"Presupuesto {today().year}" in text
    assert "Bs 60.435.000,00" in text  # total in force of the demo budget
    for header in ("Vigente", "Reservado", "Comprometido", "Ejecutado", "Pagado", "Disponible"):
        assert header in text
    assert "45.500.000,00" in text  # PROLECHE / 42
    assert 'href="/budget/"' in response.content.decode()


def test_internal_control_home_links_to_the_audit_trail(demo):
    html = logged_in("control1").get("/").content.decode()
    assert 'href="/audit/"' in html and 'href="/audit/verify/"' in html


def test_staff_home_counts_units_in_scope(demo):
    national = logged_in("evaluador1").get("/").context["unit_counts"]
    scoped = logged_in("evaluador5").get("/").context["unit_counts"]  # Santa Cruz and Cochabamba only
    assert national == {"total": 2, "expiring": 1, "expired": 0}
    assert scoped == {"total": 1, "expiring": 0, "expired": 0}


def test_admin_home_links_to_the_admin(demo):
    response = logged_in("admin1").get("/")
    html = response.content.decode()
    assert 'href="/admin/"' in html
    for _label, url in response.context["admin_links"]:
        assert url.startswith("/admin/")


def test_home_renders_in_english_after_switching(demo):
    client = logged_in("finanzas2")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    text = text_of(client.get("/"))
    assert "My tasks" in text and "Welcome" in text
    assert "Bs 60,435,000.00" in text


def test_stylesheet_is_small_and_served_locally():
    from django.contrib.staticfiles import finders

    path = finders.find("css/expediente.css")
    assert path, "static/css/expediente.css must be found by the staticfiles finders"
    with open(path, "rb") as fh:
        css = fh.read()
    assert len(css) < 20 * 1024
    assert b"@import" not in css and b"http" not in css


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_link_on_a_demo_users_home_and_menu_opens(demo, username):
    """No dead end: each internal link of the home page and the menu answers 200 for that user (the
    finance menu's "Presupuesto" once led to a 404)."""
    client = logged_in(username)
    html = client.get(reverse("home")).content.decode()
    links = {
        href
        for href in re.findall(r'<a [^>]*href="(/[^"#]*)"', html)
        if not href.startswith(("/i18n/", "/logout/", "/static/"))
    }
    assert links, "the home page has no links"
    broken = {href: client.get(href).status_code for href in sorted(links)}
    assert {href: code for href, code in broken.items() if code != 200} == {}
