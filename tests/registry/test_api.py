import pytest
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from audit.actions import AuditAction as A
from audit.models import AuditEntry
from cases.roles import Role
from registry import services
from registry.models import Unit, User
from tests.factories import DEMO_PASSWORD, UnitFactory, UserFactory
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db

UNITS = "/api/v1/units/"
TOKEN = "/api/v1/auth/token/"
PAYLOAD = {
    "tax_id": "3344556",
    "name": "Textiles Potosí",
    "kind": "mype",
    "department": "PTS",
    "municipality": "Potosí",
    "sector": "textiles",
}


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="es")
    client.force_authenticate(user)
    return client


# --- Token auth -----------------------------------------------------------------------------------------


def test_token_login_then_token_auth():
    unit = UnitFactory()
    UserFactory(username="solicitante1", roles=[Role.APPLICANT], unit=unit)
    logged_in = []

    def receiver(sender, user, **kwargs):
        logged_in.append(user.username)

    user_logged_in.connect(receiver)
    try:
        response = APIClient().post(
            TOKEN, {"username": "solicitante1", "password": DEMO_PASSWORD}, format="json"
        )
    finally:
        user_logged_in.disconnect(receiver)
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    assert logged_in == ["solicitante1"]
    assert AuditEntry.objects.filter(action=A.LOGIN, data__username="solicitante1").count() == 1
    token = response.json()["token"]
    # The same token again on a second login.
    again = APIClient().post(TOKEN, {"username": "solicitante1", "password": DEMO_PASSWORD}, format="json")
    assert again.json()["token"] == token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listing = client.get(UNITS)
    assert listing.status_code == 200
    assert [u["id"] for u in listing.json()["results"]] == [unit.pk]


def test_failed_token_login_fires_signal_and_answers_detail_in_spanish():
    UserFactory(username="finanzas1", roles=[Role.FINANCE])
    failures = []

    def receiver(sender, credentials, **kwargs):
        failures.append(credentials["username"])

    user_login_failed.connect(receiver)
    try:
        response = APIClient(HTTP_ACCEPT_LANGUAGE="es").post(
            TOKEN, {"username": "finanzas1", "password": "wrong"}, format="json"
        )
    finally:
        user_login_failed.disconnect(receiver)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "No se puede iniciar sesión con el usuario y la contraseña indicados."
    }
    assert failures == ["finanzas1"]
    failed = AuditEntry.objects.filter(action=A.LOGIN_FAILED).get()
    assert failed.data == {"username": "finanzas1"} and failed.actor is None
    assert failed.subject_id == str(User.objects.get(username="finanzas1").pk)


def test_token_request_missing_fields():
    response = APIClient(HTTP_ACCEPT_LANGUAGE="es").post(TOKEN, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"password": ["Este campo es requerido."]}


def test_inactive_users_get_no_token():
    user = UserFactory(username="baja", roles=[Role.EVALUATOR])
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = APIClient().post(TOKEN, {"username": "baja", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 400


def test_token_endpoint_is_throttled(monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    client = APIClient()
    codes = [
        client.post(TOKEN, {"username": "x", "password": "y"}, format="json").status_code for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    assert "detail" in client.post(TOKEN, {"username": "x", "password": "y"}, format="json").json()


def test_unauthenticated_requests_get_401_detail():
    response = APIClient().get(UNITS)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


def test_session_auth_requires_csrf():
    admin = UserFactory(roles=[Role.ADMIN])
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.get(UNITS).status_code == 200
    refused = client.post(UNITS, PAYLOAD, content_type="application/json")
    assert refused.status_code == 403
    assert not Unit.objects.exists()
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    accepted = client.post(UNITS, PAYLOAD, content_type="application/json", HTTP_X_CSRFTOKEN=secret)
    assert accepted.status_code == 201


# --- Units ----------------------------------------------------------------------------------------------


def test_register_unit_contract_shape(new_audit):
    admin = UserFactory(roles=[Role.ADMIN])
    new_audit()
    response = client_for(admin).post(UNITS, PAYLOAD, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in PAYLOAD} == PAYLOAD
    assert body["registration_valid_until"] == services.one_year_after(services.today()).isoformat()
    assert body["registration_valid"] is True
    assert isinstance(body["id"], int)
    assert actions(new_audit()) == [A.UNIT_REGISTERED]

    detail = client_for(admin).get(f"{UNITS}{body['id']}/")
    assert detail.status_code == 200 and detail.json() == body


def test_unit_list_is_paginated(monkeypatch):
    from rest_framework.pagination import PageNumberPagination

    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    admin = UserFactory(roles=[Role.ADMIN])
    units = [UnitFactory() for _ in range(3)]
    body = client_for(admin).get(UNITS).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2
    assert body["previous"] is None and body["next"].endswith(f"{UNITS}?page=2")
    second = client_for(admin).get(UNITS, {"page": 2}).json()
    assert len(second["results"]) == 1 and second["next"] is None and second["previous"]
    seen = [u["id"] for u in body["results"] + second["results"]]
    assert sorted(seen) == sorted(u.pk for u in units)


def test_bad_nit_is_reported_with_the_other_field_errors():
    admin = UserFactory(roles=[Role.ADMIN])
    body = {**PAYLOAD, "tax_id": "0123", "department": "XXX", "name": ""}
    response = client_for(admin).post(UNITS, body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert {"tax_id", "department", "name"} <= set(errors)
    assert errors["tax_id"] == ["Introduzca un NIT válido: de 7 a 12 dígitos, sin empezar con 0."]
    assert not Unit.objects.exists()


def test_applicant_never_sees_another_unit():
    unit_a, unit_b = UnitFactory(), UnitFactory()
    ana = UserFactory(roles=[Role.APPLICANT], unit=unit_a)
    client = client_for(ana)
    listing = client.get(UNITS).json()
    assert [u["id"] for u in listing["results"]] == [unit_a.pk]
    assert client.get(f"{UNITS}{unit_a.pk}/").status_code == 200
    response = client.get(f"{UNITS}{unit_b.pk}/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert unit_b.name not in response.content.decode()
    # Non-existent ids answer exactly the same.
    assert client.get(f"{UNITS}999999/").json() == response.json()


def test_scoped_evaluator_gets_404_outside_its_departments():
    admin = UserFactory(roles=[Role.ADMIN])
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    services.grant_department_scope(evaluator, "LPZ", actor=admin)
    inside, outside = UnitFactory(department="LPZ"), UnitFactory(department="BEN")
    client = client_for(evaluator)
    assert client.get(f"{UNITS}{inside.pk}/").status_code == 200
    assert client.get(f"{UNITS}{outside.pk}/").status_code == 404
    assert client.post(UNITS, PAYLOAD, format="json").status_code == 403  # PTS is not in its scope


def test_applicant_registers_its_own_unit_once():
    applicant = UserFactory(roles=[Role.APPLICANT])
    client = client_for(applicant)
    first = client.post(UNITS, PAYLOAD, format="json")
    assert first.status_code == 201
    assert client.get(UNITS).json()["count"] == 1
    second = client.post(UNITS, {**PAYLOAD, "tax_id": "5566778"}, format="json")
    assert second.status_code == 403
    assert set(second.json()) == {"detail"}
    assert Unit.objects.count() == 1


@pytest.mark.parametrize("role", [Role.FINANCE, Role.LEGAL, Role.DIRECTOR, Role.INTERNAL_CONTROL])
def test_unit_registration_forbidden_for_other_roles(role):
    response = client_for(UserFactory(roles=[role])).post(UNITS, PAYLOAD, format="json")
    assert response.status_code == 403
    assert not Unit.objects.exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tax_id": "0123"}, {"tax_id": ["Introduzca un NIT válido: de 7 a 12 dígitos, sin empezar con 0."]}),
        ({"department": "XYZ"}, {"department": ['"XYZ" no es una elección válida.']}),
        ({"kind": "sa"}, {"kind": ['"sa" no es una elección válida.']}),
        ({"name": ""}, {"name": ["Este campo no puede estar en blanco."]}),
    ],
)
def test_bad_unit_input_gives_spanish_field_messages(changes, expected, new_audit):
    admin = UserFactory(roles=[Role.ADMIN])
    new_audit()
    response = client_for(admin).post(UNITS, {**PAYLOAD, **changes}, format="json")
    assert response.status_code == 400
    assert response.json() == expected
    assert not Unit.objects.exists()
    assert new_audit() == []


def test_missing_fields_are_all_reported():
    response = client_for(UserFactory(roles=[Role.ADMIN])).post(UNITS, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"tax_id", "name", "kind", "department", "municipality", "sector"}
    assert response.json()["tax_id"] == ["Este campo es requerido."]


def test_duplicate_nit_gives_spanish_field_message():
    admin = UserFactory(roles=[Role.ADMIN])
    client_for(admin).post(UNITS, PAYLOAD, format="json")
    response = client_for(admin).post(UNITS, {**PAYLOAD, "name": "Otra"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"tax_id": ["Ya está registrada una unidad productiva con el NIT 3344556."]}


def test_english_is_available():
    admin = UserFactory(roles=[Role.ADMIN])
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(admin)
    response = client.post(UNITS, {**PAYLOAD, "tax_id": "12"}, format="json")
    assert response.json() == {"tax_id": ["Enter a valid NIT: 7 to 12 digits, not starting with 0."]}


# --- Schema and docs --------------------------------------------------------------------------------------


def test_schema_and_docs_answer_without_a_cdn():
    client = APIClient()
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_my_endpoints_generate_a_clean_schema():
    """drf-spectacular emits no warning or error for the registry and budget endpoints."""
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    patterns = [
        path("api/v1/", include("registry.api_urls")),
        path("api/v1/budget/", include("budget.api_urls")),
    ]
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
    validate_schema(schema)  # a valid OpenAPI 3 document
    paths = schema["paths"]
    for expected in (
        "/api/v1/auth/token/",
        "/api/v1/units/",
        "/api/v1/units/{id}/",
        "/api/v1/budget/lines/",
        "/api/v1/budget/lines/{id}/",
        "/api/v1/budget/lines/{id}/expenditures/",
        "/api/v1/budget/programs/",
        "/api/v1/budget/sources/",
    ):
        assert expected in paths, expected
    line = schema["components"]["schemas"]["BudgetLine"]["properties"]
    assert line["available"]["type"] == "string" and line["available"]["format"] == "decimal"
    assert paths["/api/v1/budget/lines/"]["get"]["parameters"][0]["name"] == "fiscal_year"
