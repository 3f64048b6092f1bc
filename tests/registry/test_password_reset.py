"""A password reset by e-mail (issue 10 §5, issue 11 §12): the mail, its link, the new password, the
login; the link works once; the old password and the API token stop working; nobody learns whether
an address has an account."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry
from cases.roles import Role
from tests.factories import DEMO_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quinua-de-Oruro-2026"


def ask_for_the_link(client, email):
    response = client.post("/password-reset/", {"email": email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    return response


def the_link(message) -> str:
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", message.body).group(0)
    return link.removeprefix(settings.SITE_URL.rstrip("/"))


def test_reset_by_e_mail_then_log_in_with_the_new_password():
    user = UserFactory(username="evaluador1", email="evaluador1@probolivia.gob.bo", roles=[Role.EVALUATOR])
    APIClient().post(
        "/api/v1/auth/token/", {"username": "evaluador1", "password": DEMO_PASSWORD}, format="json"
    )
    assert Token.objects.filter(user=user).exists()
    client = Client()
    login_page = client.get("/login/").content.decode()
    assert 'href="/password-reset/"' in login_page and "¿Olvidó su contraseña?" in login_page

    ask_for_the_link(client, "evaluador1@probolivia.gob.bo")
    assert "Revise su correo" in client.get("/password-reset/sent/").content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["evaluador1@probolivia.gob.bo"]
    assert message.subject == "Expediente · PRO-BOLIVIA: elija una contraseña nueva"
    assert "Su usuario: evaluador1" in message.body and "durante 24 horas" in message.body
    link = the_link(message)

    # The link leads to the form (Django swaps the token for a session marker and redirects).
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Elija una contraseña nueva" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == "/password-reset/done/"
    assert "Contraseña cambiada" in client.get("/password-reset/done/").content.decode()

    fresh = Client()
    assert fresh.post("/login/", {"username": "evaluador1", "password": DEMO_PASSWORD}).status_code == 200
    logged_in = fresh.post("/login/", {"username": "evaluador1", "password": NEW_PASSWORD})
    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    assert not Token.objects.filter(user=user).exists()  # the old API token went with the old password
    entry = AuditEntry.objects.get(action="auth.password_reset")
    assert entry.actor_id == user.pk

    # The link works once.
    again = Client().get(link, follow=True).content.decode()
    assert "Este enlace no es válido" in again


def test_an_unknown_address_gets_the_same_answer_and_no_mail():
    client = Client()
    ask_for_the_link(client, "nadie@example.org")
    assert mail.outbox == []


def test_a_weak_new_password_is_refused_in_spanish():
    UserFactory(username="legal1", email="legal1@probolivia.gob.bo", roles=[Role.LEGAL])
    client = Client()
    ask_for_the_link(client, "legal1@probolivia.gob.bo")
    form_page = client.get(the_link(mail.outbox[0]), follow=True)
    refused = client.post(form_page.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"})
    assert refused.status_code == 200
    assert "La contraseña es demasiado corta" in refused.content.decode()
    assert Client().login(username="legal1", password=DEMO_PASSWORD)


def test_a_reset_lifts_the_account_lockout(settings):
    UserFactory(username="finanzas1", email="finanzas1@probolivia.gob.bo", roles=[Role.FINANCE])
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "finanzas1", "password": "x"})
    assert client.post("/login/", {"username": "finanzas1", "password": DEMO_PASSWORD}).status_code == 429
    ask_for_the_link(client, "finanzas1@probolivia.gob.bo")
    form_page = client.get(the_link(mail.outbox[0]), follow=True)
    client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert not AccessAttempt.objects.filter(username="finanzas1").exists()
    assert client.post("/login/", {"username": "finanzas1", "password": NEW_PASSWORD}).status_code == 302


def test_reset_mails_are_limited_per_address_and_per_client(settings):
    """A mailbox cannot be flooded: past PASSWORD_RESET_MAX_PER_HOUR requests the answer is the same
    but nothing is sent; another client is limited by address too, and one client over many
    addresses by its own count."""
    UserFactory(username="director1", email="director1@probolivia.gob.bo", roles=[Role.DIRECTOR])
    UserFactory(username="director2", email="director2@probolivia.gob.bo", roles=[Role.DIRECTOR])
    limit = settings.PASSWORD_RESET_MAX_PER_HOUR
    client = Client()
    for _ in range(limit + 2):
        ask_for_the_link(client, "director1@probolivia.gob.bo")
    assert len(mail.outbox) == limit
    ask_for_the_link(Client(REMOTE_ADDR="198.51.100.9"), "DIRECTOR1@probolivia.gob.bo")
    assert len(mail.outbox) == limit  # the address's count, whoever asks
    ask_for_the_link(client, "director2@probolivia.gob.bo")
    assert len(mail.outbox) == limit  # this client is over its own count
    ask_for_the_link(Client(REMOTE_ADDR="198.51.100.9"), "director2@probolivia.gob.bo")
    assert [m.to for m in mail.outbox[limit:]] == [["director2@probolivia.gob.bo"]]
