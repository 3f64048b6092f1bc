import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.actions import AuditAction as A
from budget import services
from budget.models import BudgetLine, BudgetMovement, FundingSource, Program
from cases.roles import Role
from registry.services import today
from tests.factories import (
    BudgetLineFactory,
    FundingSourceFactory,
    ProgramFactory,
    UnitFactory,
    UserFactory,
)
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db

LINES = "/api/v1/budget/lines/"
PROGRAMS = "/api/v1/budget/programs/"
SOURCES = "/api/v1/budget/sources/"
MONEY = ("amount_in_force", "reserved", "committed", "executed", "paid", "available")


def client_for(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="es")
    client.force_authenticate(user)
    return client


def user_with(role):
    if role == Role.APPLICANT:
        return UserFactory(roles=[role], unit=UnitFactory())
    return UserFactory(roles=[role])


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


@pytest.fixture
def codes():
    return ProgramFactory(code="PROLECHE", name="Fondo PROLECHE"), FundingSourceFactory(code="10", name="TGN")


# --- Programs and sources -------------------------------------------------------------------------------


def test_programs_and_sources_list_and_create(finance, new_audit):
    new_audit()
    created = client_for(finance).post(PROGRAMS, {"code": "PROMYPE", "name": "PROMYPE"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "code": "PROMYPE", "name": "PROMYPE", "subprograms": []}
    source = client_for(finance).post(SOURCES, {"code": "80", "name": "Donación externa"}, format="json")
    assert source.status_code == 201
    assert actions(new_audit()) == [A.PROGRAM_CREATED, A.SOURCE_CREATED]

    evaluator = UserFactory(roles=[Role.EVALUATOR])
    listing = client_for(evaluator).get(PROGRAMS).json()
    assert set(listing) == {"count", "next", "previous", "results"}
    assert [p["code"] for p in listing["results"]] == ["PROMYPE"]
    assert client_for(evaluator).get(f"{PROGRAMS}PROMYPE/").json()["name"] == "PROMYPE"
    assert client_for(evaluator).get(f"{SOURCES}80/").json()["code"] == "80"
    assert client_for(evaluator).get(f"{SOURCES}81/").status_code == 404


def test_duplicate_and_bad_codes_are_400_in_spanish(finance):
    client = client_for(finance)
    client.post(PROGRAMS, {"code": "CETIP", "name": "CETIP"}, format="json")
    duplicate = client.post(PROGRAMS, {"code": "CETIP", "name": "Otro"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json() == {"code": ["Ya existe un programa con el código CETIP."]}
    bad = client.post(SOURCES, {"code": "4 1", "name": ""}, format="json")
    assert bad.status_code == 400
    assert bad.json()["name"] == ["Este campo no puede estar en blanco."]
    assert Program.objects.count() == 1 and not FundingSource.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.APPLICANT, 403),
        (Role.EVALUATOR, 403),
        (Role.LEGAL, 403),
        (Role.DIRECTOR, 403),
        (Role.INTERNAL_CONTROL, 403),
        (Role.FINANCE, 201),
        (Role.ADMIN, 201),
    ],
)
def test_program_creation_by_role(role, status):
    response = client_for(user_with(role)).post(PROGRAMS, {"code": "P1", "name": "P"}, format="json")
    assert response.status_code == status
    if status == 403:
        assert set(response.json()) == {"detail"}
        assert not Program.objects.exists()


# --- Lines ----------------------------------------------------------------------------------------------


def test_create_line_contract_shape(finance, codes, new_audit):
    new_audit()
    response = client_for(finance).post(
        LINES,
        {"fiscal_year": 2026, "program": "PROLECHE", "source": "10", "amount_in_force": "1500.00"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["fiscal_year"] == 2026 and body["program"] == "PROLECHE" and body["source"] == "10"
    assert {k: body[k] for k in MONEY} == {
        "amount_in_force": "1500.00",
        "reserved": "0.00",
        "committed": "0.00",
        "executed": "0.00",
        "paid": "0.00",
        "available": "1500.00",
    }
    assert actions(new_audit()) == [A.BUDGET_LINE_CREATED]
    assert client_for(finance).get(f"{LINES}{body['id']}/").json() == body


def test_line_figures_are_two_place_decimal_strings(finance):
    line = BudgetLineFactory(amount_in_force=Decimal("1000"))
    services.reserve(line, "300.5", actor=finance)
    body = client_for(finance).get(f"{LINES}{line.pk}/").json()
    assert body["reserved"] == "300.50" and body["available"] == "699.50"


def test_lines_list_filters_by_fiscal_year_program_source(finance):
    a = BudgetLineFactory(fiscal_year=2025)
    b = BudgetLineFactory(fiscal_year=2026)
    c = BudgetLineFactory(fiscal_year=2026)
    client = client_for(finance)
    body = client.get(LINES, {"fiscal_year": 2026}).json()
    assert body["count"] == 2 and {r["id"] for r in body["results"]} == {b.pk, c.pk}
    assert [r["id"] for r in client.get(LINES, {"program": c.program.code}).json()["results"]] == [c.pk]
    assert [r["id"] for r in client.get(LINES, {"source": a.source.code}).json()["results"]] == [a.pk]
    bad = client.get(LINES, {"fiscal_year": "dos mil"})
    assert bad.status_code == 400
    assert bad.json() == {"fiscal_year": ["Introduzca un número entero."]}


STRICT = 'Envíe el monto como texto de dígitos con a lo sumo 2 decimales, por ejemplo "1500.00".'


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"amount_in_force": "1.234"}, {"amount_in_force": ["Asegúrese de que no haya más de 2 decimales."]}),
        (
            {"amount_in_force": "-1.00"},
            {"amount_in_force": ["Asegúrese de que este valor es mayor o igual a 0."]},
        ),
        (
            {"amount_in_force": 1500.5},
            {"amount_in_force": [STRICT]},
        ),
        ({"amount_in_force": "mil"}, {"amount_in_force": [STRICT]}),
        ({"amount_in_force": "1e3"}, {"amount_in_force": [STRICT]}),
        ({"amount_in_force": "1_000"}, {"amount_in_force": [STRICT]}),
        ({"amount_in_force": "\uff11\uff10\uff10"}, {"amount_in_force": [STRICT]}),  # fullwidth 100
        (
            {"amount_in_force": "100.000"},
            {"amount_in_force": ["Asegúrese de que no haya más de 2 decimales."]},
        ),
        ({"amount_in_force": " 10 "}, {"amount_in_force": [STRICT]}),
        ({"program": "NOPE"}, {"program": ["Programa desconocido NOPE."]}),
        ({"source": "99"}, {"source": ["Fuente de financiamiento desconocida 99."]}),
        ({"fiscal_year": 1990}, {"fiscal_year": ["Asegúrese de que este valor es mayor o igual a 2000."]}),
    ],
)
def test_bad_line_input_is_400_with_spanish_field_messages(finance, codes, payload, expected, new_audit):
    new_audit()
    body = {
        "fiscal_year": 2026,
        "program": "PROLECHE",
        "source": "10",
        "amount_in_force": "100.00",
        **payload,
    }
    response = client_for(finance).post(LINES, body, format="json")
    assert response.status_code == 400
    assert response.json() == expected
    assert not BudgetLine.objects.exists()
    assert new_audit() == []


def test_duplicate_line_is_400_detail(finance, codes):
    body = {"fiscal_year": 2026, "program": "PROLECHE", "source": "10", "amount_in_force": "100.00"}
    client_for(finance).post(LINES, body, format="json")
    response = client_for(finance).post(LINES, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Ya existe una partida presupuestaria para la gestión 2026, programa PROLECHE y fuente 10."
    }


@pytest.mark.parametrize(
    ("role", "list_status", "create_status"),
    [
        (Role.APPLICANT, 404, 403),
        (Role.EVALUATOR, 200, 403),
        (Role.LEGAL, 200, 403),
        (Role.DIRECTOR, 200, 403),
        (Role.INTERNAL_CONTROL, 200, 403),
        (Role.FINANCE, 200, 201),
        (Role.ADMIN, 200, 201),
    ],
)
def test_line_permissions_by_role(codes, role, list_status, create_status):
    line = BudgetLineFactory()
    client = client_for(user_with(role))
    listed = client.get(LINES)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == ([] if list_status == 404 else [line.pk])
    assert client.get(f"{LINES}{line.pk}/").status_code == list_status
    body = {"fiscal_year": 2027, "program": "PROLECHE", "source": "10", "amount_in_force": "1.00"}
    response = client.post(LINES, body, format="json")
    assert response.status_code == create_status
    assert BudgetLine.objects.filter(fiscal_year=2027).exists() == (create_status == 201)


def test_line_detail_visible_to_staff(codes):
    line = BudgetLineFactory()
    assert client_for(user_with(Role.DIRECTOR)).get(f"{LINES}{line.pk}/").status_code == 200
    applicant = client_for(user_with(Role.APPLICANT))
    assert applicant.get(f"{LINES}{line.pk}/").status_code == 404
    assert applicant.get(f"{LINES}{line.pk}/").json() == {"detail": "No encontrado."}
    assert applicant.get(f"{LINES}{line.pk}/movements/").status_code == 404


def test_program_scoped_staff_get_404_for_other_programs(finance):
    admin = UserFactory(roles=[Role.ADMIN])
    mine, other = BudgetLineFactory(), BudgetLineFactory()
    services.grant_program_scope(finance, mine.program, actor=admin)
    client = client_for(finance)
    assert [r["id"] for r in client.get(LINES).json()["results"]] == [mine.pk]
    assert client.get(f"{LINES}{mine.pk}/").status_code == 200
    hidden = client.get(f"{LINES}{other.pk}/")
    assert hidden.status_code == 404 and set(hidden.json()) == {"detail"}
    spend = client.post(
        f"{LINES}{other.pk}/expenditures/",
        {"amount": "1.00", "date": dt.date(2026, 1, 2).isoformat(), "description": "x"},
        format="json",
    )
    assert spend.status_code == 404


def test_unauthenticated_budget_requests_are_401():
    assert APIClient().get(LINES).status_code == 401
    assert APIClient().post(PROGRAMS, {"code": "X", "name": "X"}, format="json").status_code == 401


# --- Expenditures -----------------------------------------------------------------------------------------


def test_expenditure_contract(finance, new_audit):
    line = BudgetLineFactory(fiscal_year=today().year, amount_in_force=Decimal("1000.00"))
    new_audit()
    response = client_for(finance).post(
        f"{LINES}{line.pk}/expenditures/",
        {"amount": "250.00", "date": today().isoformat(), "description": "Servicios básicos"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["amount"], body["description"]) == (
        "expenditure",
        "250.00",
        "Servicios básicos",
    )
    assert body["line"]["executed"] == "250.00" and body["line"]["available"] == "750.00"
    assert actions(new_audit()) == [A.BUDGET_EXPENDITURE]
    ledger = client_for(finance).get(f"{LINES}{line.pk}/movements/").json()
    assert [(m["kind"], m["amount"]) for m in ledger["results"]] == [
        ("allocate", "1000.00"),
        ("expenditure", "250.00"),
    ]


def test_expenditure_beyond_available_is_refused(finance, new_audit):
    line = BudgetLineFactory(fiscal_year=today().year, amount_in_force=Decimal("100.00"))
    new_audit()
    response = client_for(finance).post(
        f"{LINES}{line.pk}/expenditures/",
        {"amount": "300.00", "date": today().isoformat(), "description": "Sueldos"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "amount": [
            f"Presupuesto insuficiente en la partida {line}: disponible Bs 100,00, solicitado Bs 300,00."
        ]
    }
    line.refresh_from_db()
    assert line.executed == 0 and BudgetMovement.objects.filter(line=line).count() == 1
    assert new_audit() == []


def test_expenditure_bad_input(finance):
    line = BudgetLineFactory(fiscal_year=today().year)
    response = client_for(finance).post(
        f"{LINES}{line.pk}/expenditures/", {"amount": "1.001", "date": "ayer"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"amount", "date", "description"}
    assert response.json()["description"] == ["Este campo es requerido."]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.APPLICANT, 404),  # may not even see the line
        (Role.EVALUATOR, 403),
        (Role.LEGAL, 403),
        (Role.DIRECTOR, 403),
        (Role.INTERNAL_CONTROL, 403),
        (Role.ADMIN, 403),
        (Role.FINANCE, 201),
    ],
)
def test_expenditure_by_role(role, status):
    line = BudgetLineFactory(fiscal_year=today().year)
    response = client_for(user_with(role)).post(
        f"{LINES}{line.pk}/expenditures/",
        {"amount": "1.00", "date": today().isoformat(), "description": "x"},
        format="json",
    )
    assert response.status_code == status
    assert BudgetMovement.objects.filter(kind="expenditure").exists() == (status == 201)


def test_line_list_query_count_does_not_grow_with_lines(finance, django_assert_max_num_queries):
    for _ in range(15):
        BudgetLineFactory()
    client = client_for(finance)
    with django_assert_max_num_queries(8):
        body = client.get(LINES).json()
    assert body["count"] == 15
