"""Budget lines in the shape of SIGEP: DA/UE, sub-program or project, activity, organismo financiador,
objeto del gasto (partida), the key they make together, sub-programs, and the C-31 of a movement."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from audit.actions import AuditAction as A
from audit.models import AuditEntry
from budget import services
from budget.models import BudgetLine, BudgetMovement, SubProgram
from cases.roles import Role
from tests.factories import FundingSourceFactory, ProgramFactory, UserFactory

from .test_api import LINES, PROGRAMS, client_for

pytestmark = pytest.mark.django_db
SIGEP = {"da_ue": "01-05", "activity": "001", "funder": "COSUDE", "object_of_expenditure": "40000"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


@pytest.fixture
def promype():
    return ProgramFactory(code="PROMYPE", name="PROMYPE"), FundingSourceFactory(
        code="80", name="Donación externa"
    )


def test_sub_programs_are_created_through_the_service_and_audited(finance, promype):
    program, _source = promype
    jiwasa = services.create_subprogram(
        actor=finance, program="promype", code="jiwasa", name="Promype/Jiwasa"
    )
    assert (jiwasa.program, jiwasa.code, str(jiwasa)) == (program, "JIWASA", "PROMYPE/JIWASA")
    entry = AuditEntry.objects.filter(action=A.SUBPROGRAM_CREATED).get()
    assert entry.data == {"program": "PROMYPE", "code": "JIWASA", "name": "Promype/Jiwasa"}
    with pytest.raises(ValidationError) as duplicate:
        services.create_subprogram(actor=finance, program=program, code="JIWASA", name="Otro")
    assert duplicate.value.message_dict["code"] == [
        "Program PROMYPE already has a sub-program with code JIWASA."
    ]
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    with pytest.raises(Exception, match=r"permission|permiso|not allowed|denied"):
        services.create_subprogram(actor=evaluator, program=program, code="FASE2", name="Fase 2")
    assert SubProgram.objects.count() == 1


def test_a_line_keeps_its_sigep_fields_and_the_key_is_all_of_them(finance, promype):
    program, source = promype
    fase2 = services.create_subprogram(actor=finance, program=program, code="FASE2", name="Promype Fase 2")
    line = services.create_budget_line(
        actor=finance,
        fiscal_year=2020,
        program=program,
        source=source,
        amount_in_force="1000.00",
        subprogram="fase2",
        da_ue=" 01-05 ",
        activity="001",
        funder="cosude",
        object_of_expenditure="40000",
    )
    assert (line.subprogram, line.da_ue, line.funder, line.object_of_expenditure) == (
        fase2,
        "01-05",
        "COSUDE",
        "40000",
    )
    assert str(line) == "2020/PROMYPE/FASE2/80 (01-05 001 COSUDE 40000)"
    created = AuditEntry.objects.filter(action=A.BUDGET_LINE_CREATED).get()
    assert created.data["subprogram"] == "FASE2" and created.data["object_of_expenditure"] == "40000"

    # The same key again: refused. Another partida, or no sub-program: another line.
    with pytest.raises(ValidationError, match="already exists"):
        services.create_budget_line(
            actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00",
            subprogram=fase2, **SIGEP,
        )  # fmt: skip
    other = services.create_budget_line(
        actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00",
        subprogram=fase2, **{**SIGEP, "object_of_expenditure": "25220"},
    )  # fmt: skip
    plain = services.create_budget_line(
        actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00"
    )
    assert (other.object_of_expenditure, plain.subprogram, plain.da_ue) == ("25220", None, "")
    assert str(plain) == "2020/PROMYPE/80"  # a line without SIGEP fields reads as before
    with pytest.raises(ValidationError, match="already exists"):
        services.create_budget_line(
            actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00"
        )
    assert BudgetLine.objects.count() == 3


def test_bad_sigep_input_is_refused_with_every_field_named(finance, promype):
    program, source = promype
    ProgramFactory(code="CETIP")
    services.create_subprogram(actor=finance, program="CETIP", code="TEXTIL", name="CETIP textil")
    with pytest.raises(ValidationError) as refused:
        services.create_budget_line(
            actor=finance,
            fiscal_year=2020,
            program=program,
            source=source,
            amount_in_force="1.00",
            da_ue="01 05",
            funder="x" * 21,
            object_of_expenditure="25;220",
        )
    assert set(refused.value.message_dict) == {"da_ue", "funder", "object_of_expenditure"}
    with pytest.raises(ValidationError) as other_program:
        services.create_budget_line(
            actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00",
            subprogram=SubProgram.objects.get(code="TEXTIL"),
        )  # fmt: skip
    assert "does not belong to program PROMYPE" in other_program.value.message_dict["subprogram"][0]
    with pytest.raises(ValidationError) as unknown:
        services.create_budget_line(
            actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="1.00",
            subprogram="TEXTIL",
        )  # fmt: skip
    assert unknown.value.message_dict["subprogram"] == ["Unknown sub-program TEXTIL of program PROMYPE."]
    assert not BudgetLine.objects.exists()


def test_an_expenditure_carries_its_c31(finance, promype):
    program, source = promype
    line = services.create_budget_line(
        actor=finance, fiscal_year=2020, program=program, source=source, amount_in_force="500.00"
    )
    with pytest.raises(ValidationError) as bad:
        services.record_expenditure(
            line,
            actor=finance,
            amount="10.00",
            date=dt.date(2020, 5, 1),
            description="Luz",
            c31_reference="№ 1",
        )
    assert list(bad.value.message_dict) == ["c31_reference"]
    assert not BudgetMovement.objects.filter(kind=BudgetMovement.Kind.EXPENDITURE).exists()
    moved = services.record_expenditure(
        line, actor=finance, amount="10.00", date=dt.date(2020, 5, 1), description="Luz", c31_reference="0457"
    )
    assert moved.c31_reference == "0457"
    assert AuditEntry.objects.filter(action=A.BUDGET_EXPENDITURE).get().data["c31_reference"] == "0457"


def test_the_api_takes_and_shows_the_sigep_fields(finance, promype):
    client = client_for(finance)
    added = client.post(
        f"{PROGRAMS}PROMYPE/subprograms/", {"code": "JIWASA", "name": "Promype/Jiwasa"}, format="json"
    )
    assert added.status_code == 201
    assert added.json() == {
        "id": added.json()["id"],
        "program": "PROMYPE",
        "code": "JIWASA",
        "name": "Promype/Jiwasa",
    }
    program = client.get(f"{PROGRAMS}PROMYPE/").json()
    assert [s["code"] for s in program["subprograms"]] == ["JIWASA"]

    body = {"fiscal_year": 2020, "program": "PROMYPE", "source": "80", "amount_in_force": "1445501.00"}
    created = client.post(LINES, {**body, "subprogram": "JIWASA", **SIGEP}, format="json")
    assert created.status_code == 201, created.json()
    line = created.json()
    assert {k: line[k] for k in ("subprogram", "subprogram_name", *SIGEP)} == {
        "subprogram": "JIWASA",
        "subprogram_name": "Promype/Jiwasa",
        **SIGEP,
    }
    # The old shape still works, and its lines show empty SIGEP fields.
    old = client.post(LINES, body, format="json")
    assert old.status_code == 201
    assert {
        k: old.json()[k] for k in ("program", "source", "subprogram", "da_ue", "object_of_expenditure")
    } == {
        "program": "PROMYPE",
        "source": "80",
        "subprogram": None,
        "da_ue": "",
        "object_of_expenditure": "",
    }
    assert client.post(LINES, body, format="json").status_code == 400  # the same key twice
    bad = client.post(LINES, {**body, "subprogram": "NOPE", "object_of_expenditure": "40000"}, format="json")
    assert bad.status_code == 400 and "subprogram" in bad.json()

    listed = client.get(LINES, {"fiscal_year": 2020, "subprogram": "JIWASA"}).json()
    assert [r["id"] for r in listed["results"]] == [line["id"]]

    spent = client.post(
        f"{LINES}{line['id']}/expenditures/",
        {"amount": "100.00", "date": "2020-06-30", "description": "Taller", "c31_reference": "1234"},
        format="json",
    )
    assert spent.status_code == 201 and spent.json()["c31_reference"] == "1234"
    ledger = client.get(f"{LINES}{line['id']}/movements/").json()["results"]
    assert [m["c31_reference"] for m in ledger] == ["", "1234"]
    assert BudgetLine.objects.get(pk=line["id"]).executed == Decimal("100.00")
