"""API tokens expire and can be revoked, and logging out revokes them (issue 10 §5)."""

import datetime as dt
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry
from cases.roles import Role
from registry import services
from tests.factories import DEMO_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
UNITS = "/api/v1/units/"


def get_token(username: str) -> str:
    response = APIClient().post(TOKEN, {"username": username, "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def with_token(key: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="es")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_expired_token_is_a_401_that_says_so_and_login_issues_a_new_one(settings):
    UserFactory(username="evaluador1", roles=[Role.EVALUATOR])
    key = get_token("evaluador1")
    assert with_token(key).get(UNITS).status_code == 200
    Token.objects.filter(key=key).update(
        created=dt.datetime.now(dt.UTC) - settings.API_TOKEN_TTL - dt.timedelta(seconds=1)
    )
    expired = with_token(key).get(UNITS)
    assert expired.status_code == 401
    assert expired.json() == {"detail": "El token ha vencido. Vuelva a ingresar para obtener uno nuevo."}
    assert expired["WWW-Authenticate"] == "Token"

    fresh = get_token("evaluador1")
    assert fresh != key
    assert with_token(fresh).get(UNITS).status_code == 200
    assert with_token(key).get(UNITS).status_code == 401
    assert Token.objects.filter(user__username="evaluador1").count() == 1


def test_a_token_stops_working_when_its_ttl_has_passed(settings):
    """Real time, no clock moved: a 1-second TTL."""
    settings.API_TOKEN_TTL = dt.timedelta(seconds=1)
    UserFactory(username="legal1", roles=[Role.LEGAL])
    key = get_token("legal1")
    started = time.monotonic()
    assert with_token(key).get(UNITS).status_code == 200
    while with_token(key).get(UNITS).status_code == 200:
        assert time.monotonic() - started < 5, "the token never expired"
        time.sleep(0.05)
    assert 0.9 <= time.monotonic() - started < 5


def test_a_valid_token_is_given_again_on_a_second_login():
    UserFactory(username="finanzas1", roles=[Role.FINANCE])
    assert get_token("finanzas1") == get_token("finanzas1")


def test_logout_revokes_the_token_and_is_audited():
    user = UserFactory(username="director1", roles=[Role.DIRECTOR])
    key = get_token("director1")
    client = with_token(key)
    assert client.post(LOGOUT).status_code == 204
    assert not Token.objects.filter(user=user).exists()
    after = client.get(UNITS)
    assert after.status_code == 401
    entry = AuditEntry.objects.get(action="auth.token_revoked")
    assert entry.actor_id == user.pk and entry.data == {"username": "director1", "reason": "logout"}
    # Logging out again: no token, no valid credentials.
    assert client.post(LOGOUT).status_code == 401
    assert APIClient().post(LOGOUT).status_code == 401


def test_web_logout_revokes_the_api_token():
    user = UserFactory(username="control1", roles=[Role.INTERNAL_CONTROL])
    key = get_token("control1")
    web = Client()
    assert web.post("/login/", {"username": "control1", "password": DEMO_PASSWORD}).status_code == 302
    assert web.post("/logout/").status_code == 302
    assert not Token.objects.filter(user=user).exists()
    assert with_token(key).get(UNITS).status_code == 401


def test_api_logout_with_a_browser_session_ends_the_session_too():
    user = UserFactory(username="solicitante9", roles=[Role.APPLICANT])
    get_token("solicitante9")
    web = Client()
    web.force_login(user)
    assert web.post(LOGOUT).status_code == 204  # DRF's session auth: CSRF is not enforced by Client()
    assert not Token.objects.filter(user=user).exists()
    assert "_auth_user_id" not in web.session


def test_only_an_administrator_revokes_someone_elses_token():
    user = UserFactory(username="evaluador3", roles=[Role.EVALUATOR])
    colleague = UserFactory(username="evaluador4", roles=[Role.EVALUATOR])
    admin = UserFactory(username="admin3", roles=[Role.ADMIN])
    get_token("evaluador3")
    with pytest.raises(PermissionDenied):
        services.revoke_api_token(user, actor=colleague, reason="admin")
    assert Token.objects.filter(user=user).exists()
    assert services.revoke_api_token(user, actor=admin, reason="admin") is True
    assert not Token.objects.filter(user=user).exists()
    assert services.revoke_api_token(user, actor=admin, reason="admin") is False


def test_the_schema_documents_logout_and_the_lockout():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    logout = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert {"204", "401"} <= set(logout["responses"])  # with the errors every write may answer
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
