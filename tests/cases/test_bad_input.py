"""Bad input is a 400 or a 404 — as JSON on the API — never a 500 (issue 10, item 6): the
reproductions found by fuzzing, each probed with a role that may reach the endpoint."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from iniciativas.models import Initiative
from tests.iniciativas.conftest import submitted

pytestmark = pytest.mark.django_db

API_PROBES = [
    # (who, method, path): a task id that is no number, or one past a bigint
    ("evaluador1", "get", "/api/v1/tasks/abc/"),
    ("evaluador1", "post", "/api/v1/tasks/abc/claim/"),
    ("evaluador1", "post", "/api/v1/tasks/abc/complete/"),
    ("evaluador1", "get", "/api/v1/tasks/99999999999999999999/"),
    ("evaluador1", "post", "/api/v1/tasks/99999999999999999999/claim/"),
    ("evaluador1", "get", "/api/v1/tasks/?page=99999999999999999999"),
    # numbers in query strings written with Unicode digits ("²" passes str.isdigit)
    (None, "get", "/api/v1/audit/checkpoints/?since_seq=²"),
    ("control1", "get", "/api/v1/audit/entries/?until=9999-12-31"),
    ("control1", "get", "/api/v1/audit/entries/?since=0001-01-01"),
    ("control1", "get", "/api/v1/audit/entries/?after=²"),
    ("finanzas1", "get", "/api/v1/budget/lines/?fiscal_year=²"),
    (None, "get", "/api/v1/reports/budget-execution/?year=²"),
    ("evaluador1", "get", "/api/v1/initiatives/?page=²"),
    # an unknown API path
    ("evaluador1", "get", "/api/v1/no-such-thing/"),
]

PAGE_PROBES = [
    ("control1", "/audit/?before=²"),
    ("control1", "/audit/?actor=²"),
    ("control1", "/audit/?after=99999999999999999999"),
    ("finanzas1", "/budget/?fiscal_year=²"),
    (None, "/reports/?year=²"),
    ("evaluador1", "/tasks/abc/"),
    ("evaluador1", "/tasks/99999999999999999999/"),
    ("evaluador1", "/initiatives/99999999999999999999/"),
]


def api_client(world, who) -> Client:
    client = Client(raise_request_exception=False)
    if who is not None:
        user = world.applicant if who == "applicant" else world.staff[who]
        client.defaults["HTTP_AUTHORIZATION"] = "Token " + Token.objects.get_or_create(user=user)[0].key
    return client


def test_the_api_answers_bad_input_with_a_json_4xx(world):
    answers = {}
    for who, method, path in API_PROBES:
        response = getattr(api_client(world, who), method)(path)
        answers[path] = (response.status_code, response["Content-Type"])
        if response.status_code in (400, 404) and response["Content-Type"] == "application/json":
            assert response.json()
    wrong = {path: a for path, a in answers.items() if a[0] not in (400, 404) or a[1] != "application/json"}
    assert wrong == {}


def test_an_actor_written_in_unicode_digits_is_a_name_that_matches_nobody(world):
    response = api_client(world, "control1").get("/api/v1/audit/entries/?actor=²")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_pages_answer_bad_input_without_a_500(world):
    wrong = {}
    for who, path in PAGE_PROBES:
        client = Client(raise_request_exception=False)
        if who is not None:
            client.force_login(world.staff[who])
        status = client.get(path).status_code
        if status not in (200, 400, 404):
            wrong[path] = status
    assert wrong == {}


BODIES = {
    "deep": "[" * 50_000 + "]" * 50_000,  # too deep for the decoder
    "nul": '{"reason": "a\\u0000b"}',  # NUL: PostgreSQL cannot store it
    "surrogate": '{"reason": "\\ud800"}',  # half a surrogate pair: not encodable
    "nul-key": '{"\\u0000": "x"}',
}


def test_a_body_the_database_cannot_take_is_a_400_and_changes_nothing(world):
    initiative = submitted(world)
    client = api_client(world, "applicant")
    for name, body in BODIES.items():
        response = client.post(
            f"/api/v1/initiatives/{initiative.pk}/withdraw/", data=body, content_type="application/json"
        )
        assert (name, response.status_code, response["Content-Type"]) == (name, 400, "application/json")
    assert Initiative.objects.get(pk=initiative.pk).state == "submitted"


LOOSE_AMOUNTS = [1.5, 100, "1e2", "1_000", "\uff11\uff10\uff10", "100.000", " 10 ", "NaN", "+10"]


def test_money_is_a_string_of_digits_with_at_most_two_decimals(world):
    """A JSON number, an exponent, "_", fullwidth digits, thousands marks, spaces, NaN or a sign: each
    a 400 naming the field, on an initiative, and nothing is created; "150000.50" is taken."""
    client = api_client(world, "applicant")
    for amount in LOOSE_AMOUNTS:
        response = client.post(
            "/api/v1/initiatives/",
            {
                "unit": world.unit.pk,
                "call": world.call.code,
                "title": "Tanque",
                "summary": "Tanque de enfriamiento",
                "department": world.unit.department.code,
                "requested_amount": amount,
                "counterpart_amount": "30000.00",
            },
            content_type="application/json",
        )
        assert (amount, response.status_code) == (amount, 400)
        assert "requested_amount" in response.json(), (amount, response.json())
    assert not Initiative.objects.exists()
    ok = client.post(
        "/api/v1/initiatives/",
        {
            "unit": world.unit.pk,
            "call": world.call.code,
            "title": "Tanque",
            "summary": "Tanque de enfriamiento",
            "department": world.unit.department.code,
            "requested_amount": "100000.50",
            "counterpart_amount": "30000.00",
        },
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.json()
    assert Initiative.objects.get().requested_amount == Decimal("100000.50")


def test_an_oversized_body_is_a_json_413_and_too_many_fields_a_json_400(world, settings):
    """A JSON body or a form field past DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, too many form fields a
    400 — JSON, as every API error, not Django's HTML page — and nothing is created."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    client = api_client(world, "applicant")
    big = {"unit": world.unit.pk, "title": "x" * 20_000}
    initiative = submitted(world)
    probes = {
        "json": client.post("/api/v1/initiatives/", big, content_type="application/json"),
        "form": client.post(
            "/api/v1/initiatives/", urlencode(big), content_type="application/x-www-form-urlencoded"
        ),
        "multipart upload": client.post(
            f"/api/v1/initiatives/{initiative.pk}/documents/", {"kind": "x" * 20_000}
        ),
        "fields": client.post("/api/v1/initiatives/", {f"f{i}": "1" for i in range(60)}),
    }
    got = {
        name: (r.status_code, r["Content-Type"], bool(r.json().get("detail"))) for name, r in probes.items()
    }
    assert got == {
        "json": (413, "application/json", True),
        "form": (413, "application/json", True),
        "multipart upload": (413, "application/json", True),
        "fields": (400, "application/json", True),
    }
    assert "demasiado grande" in probes["json"].json()["detail"]
    assert Initiative.objects.count() == 1
    assert initiative.documents.count() == len(initiative.call.required_documents)


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(world):
    """schemathesis sent ids the router does not match (``/tasks/1.5/claim/``): the catch-all answered
    CSRF's HTML 403 to a POST. Now a JSON 404, whatever the method and the credentials."""
    client = Client(enforce_csrf_checks=True)
    token = Token.objects.get_or_create(user=world.staff["evaluador1"])[0].key
    for path in ("/api/v1/tasks/1.5/claim/", "/api/v1/no-such-thing/"):
        for headers in ({}, {"HTTP_AUTHORIZATION": f"Token {token}"}):
            response = client.post(path, {}, **headers)
            assert (response.status_code, response["Content-Type"]) == (404, "application/json"), path
            assert response.json() == {"detail": "No encontrado."}
