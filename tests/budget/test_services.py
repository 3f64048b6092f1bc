import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from audit.actions import AuditAction as A
from budget import services
from budget.models import BudgetLine, BudgetMovement, FundingSource, Program
from budget.selectors import (
    case_figures,
    figures_from_movements,
    ledger_mismatches,
    line_list_for,
    line_reconciles,
    program_scope_ids,
)
from cases.errors import Conflict
from cases.roles import Role
from registry.services import today
from tests.factories import BudgetLineFactory, FundingSourceFactory, ProgramFactory, UserFactory
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db

D = Decimal
CASE_1 = SimpleNamespace(case_code="INI-2026-000001")
CASE_2 = SimpleNamespace(case_code="INI-2026-000002")


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


@pytest.fixture
def line():
    return BudgetLineFactory(amount_in_force=D("1000.00"))


def figures(line) -> tuple:
    line = BudgetLine.objects.get(pk=line.pk)
    return (line.amount_in_force, line.reserved, line.committed, line.executed, line.paid, line.available)


# --- Programs and sources ---------------------------------------------------------------------------------


def test_create_program_and_source_are_audited(finance, new_audit):
    new_audit()
    program = services.create_program(actor=finance, code="proleche", name="Fondo PROLECHE")
    source = services.create_source(actor=finance, code="10", name="TGN")
    assert (program.code, source.code) == ("PROLECHE", "10")
    entries = new_audit()
    assert actions(entries) == [A.PROGRAM_CREATED, A.SOURCE_CREATED]
    assert entries[0].data == {"code": "PROLECHE", "name": "Fondo PROLECHE"}


def test_duplicate_codes_are_refused_in_spanish(finance, new_audit):
    services.create_program(actor=finance, code="CETIP", name="CETIP")
    services.create_source(actor=finance, code="80", name="Donación externa")
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_program(actor=finance, code="cetip", name="Otro")
    assert exc.value.message_dict == {"code": ["Ya existe un programa con el código CETIP."]}
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_source(actor=finance, code="80", name="Otra")
    assert exc.value.message_dict == {"code": ["Ya existe una fuente de financiamiento con el código 80."]}
    assert Program.objects.count() == 1 and FundingSource.objects.count() == 1
    assert new_audit() == []


def test_bad_codes_and_names(finance):
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_program(actor=finance, code="PRO LECHE!", name="")
    assert set(exc.value.message_dict) == {"code", "name"}
    assert exc.value.message_dict["name"] == ["Este campo es requerido."]
    assert not Program.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.APPLICANT, Role.EVALUATOR, Role.LEGAL, Role.DIRECTOR, Role.INTERNAL_CONTROL]
)
def test_only_finance_and_admin_create_programs(role):
    user = UserFactory(roles=[role])
    with pytest.raises(PermissionDenied):
        services.create_program(actor=user, code="X1", name="X")
    with pytest.raises(PermissionDenied):
        services.create_source(actor=user, code="X1", name="X")
    admin = UserFactory(roles=[Role.ADMIN])
    assert services.create_program(actor=admin, code="X1", name="X").code == "X1"


# --- Lines ------------------------------------------------------------------------------------------------


def test_create_line_records_allocation_and_audit(finance, new_audit):
    program, source = ProgramFactory(code="PROLECHE"), FundingSourceFactory(code="41")
    new_audit()
    line = services.create_budget_line(
        actor=finance, fiscal_year=2026, program="PROLECHE", source="41", amount_in_force="60949269.00"
    )
    assert (line.program, line.source, line.available) == (program, source, D("60949269.00"))
    movement = BudgetMovement.objects.get(line=line)
    assert (movement.kind, movement.amount) == ("allocate", D("60949269.00"))
    entries = new_audit()
    assert actions(entries) == [A.BUDGET_LINE_CREATED]
    assert entries[0].data == {
        "fiscal_year": 2026,
        "program": "PROLECHE",
        "source": "41",
        "amount_in_force": "60949269.00",
    }
    assert line_reconciles(line)


def test_duplicate_line_and_unknown_codes(finance, line, new_audit):
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_budget_line(
            actor=finance, fiscal_year=2026, program=line.program, source=line.source, amount_in_force="5.00"
        )
    assert exc.value.messages == [
        f"Ya existe una partida presupuestaria para la gestión 2026, programa {line.program.code} "
        f"y fuente {line.source.code}."
    ]
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_budget_line(
            actor=finance, fiscal_year=1999, program="NOPE", source="99", amount_in_force="1.234"
        )
    errors = exc.value.message_dict
    assert errors == {
        "fiscal_year": ["Introduzca una gestión entre 2000 y 2100."],
        "program": ["Programa desconocido NOPE."],
        "source": ["Fuente de financiamiento desconocida 99."],
        "amount_in_force": ["Introduzca el monto con un máximo de 2 decimales."],
    }
    assert BudgetLine.objects.count() == 1
    assert new_audit() == []


def test_finance_scoped_to_a_program_opens_lines_only_there(finance):
    admin = UserFactory(roles=[Role.ADMIN])
    mine, other = ProgramFactory(), ProgramFactory()
    source = FundingSourceFactory()
    services.grant_program_scope(finance, mine, actor=admin)
    assert program_scope_ids(finance) == {mine.pk}
    services.create_budget_line(
        actor=finance, fiscal_year=2026, program=mine, source=source, amount_in_force=1
    )
    with pytest.raises(PermissionDenied):
        services.create_budget_line(
            actor=finance, fiscal_year=2026, program=other, source=source, amount_in_force=1
        )
    assert BudgetLine.objects.count() == 1


def test_program_scope_grant_revoke_audited_and_filters_lines(finance, new_audit):
    admin = UserFactory(roles=[Role.ADMIN])
    line_a, line_b = BudgetLineFactory(), BudgetLineFactory()
    assert set(line_list_for(finance)) == {line_a, line_b}
    new_audit()
    assert services.grant_program_scope(finance, line_a.program, actor=admin) is True
    assert services.grant_program_scope(finance, line_a.program.code, actor=admin) is False
    assert list(line_list_for(finance)) == [line_a]
    assert services.revoke_program_scope(finance, line_a.program, actor=admin) is True
    assert program_scope_ids(finance) is None
    entries = new_audit()
    assert actions(entries) == [A.SCOPE_GRANTED, A.SCOPE_REVOKED]
    assert entries[0].data == {"program": line_a.program.code}
    with pytest.raises(PermissionDenied):
        services.grant_program_scope(finance, line_a.program, actor=finance)


def test_applicants_see_no_lines(line):
    assert list(line_list_for(UserFactory(roles=[Role.APPLICANT]))) == []


def test_modify_line(finance, line, new_audit):
    services.reserve(line, "600.00", actor=finance, case=CASE_1)
    new_audit()
    services.modify_line(line, actor=finance, amount_in_force="1500.00", reason="Modificación presupuestaria")
    services.modify_line(line, actor=finance, amount_in_force="700.00")
    assert figures(line)[0] == D("700.00")
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.modify_line(line, actor=finance, amount_in_force="599.99")
    assert "amount_in_force" in exc.value.message_dict
    assert actions(new_audit()) == [A.BUDGET_LINE_MODIFIED, A.BUDGET_LINE_MODIFIED]
    assert list(BudgetMovement.objects.filter(line=line).values_list("kind", "amount")) == [
        ("allocate", D("1000.00")),
        ("reserve", D("600.00")),
        ("allocate", D("500.00")),
        ("reduce", D("800.00")),
    ]
    assert line_reconciles(line)


# --- Ledger -----------------------------------------------------------------------------------------------


def test_full_money_cycle(finance, line, new_audit):
    new_audit()
    services.reserve(line, "400.00", actor=finance, case=CASE_1)
    assert figures(line) == (D(1000), D(400), D(0), D(0), D(0), D(600))
    services.commit(line, "400.00", actor=finance, case=CASE_1)
    assert figures(line) == (D(1000), D(0), D(400), D(0), D(0), D(600))
    services.execute(line, "160.00", actor=finance, case=CASE_1)
    services.pay(line, "160.00", actor=finance, case=CASE_1)
    assert figures(line) == (D(1000), D(0), D(240), D(160), D(160), D(600))
    services.refund(line, "10.00", actor=finance, case=CASE_1)
    services.release_commitment(line, "240.00", actor=finance, case=CASE_1)
    assert figures(line) == (D(1000), D(0), D(0), D(150), D(150), D(850))
    entries = new_audit()
    assert actions(entries) == [
        A.BUDGET_RESERVED,
        A.BUDGET_COMMITTED,
        A.BUDGET_EXECUTED,
        A.BUDGET_PAID,
        A.BUDGET_REFUNDED,
        A.BUDGET_COMMITMENT_RELEASED,
    ]
    assert {e.case for e in entries} == {"INI-2026-000001"}
    assert entries[0].data["amount"] == "400.00" and entries[0].data["available"] == "600.00"
    assert entries[0].subject_type == "budget.budgetline"
    assert line_reconciles(line) and ledger_mismatches() == []
    assert case_figures(line, "INI-2026-000001")["executed"] == D("150.00")


def test_movement_refers_to_a_real_case_model(finance, line):
    """A model instance as ``case`` is stored by content type and id as well as by code."""
    program = ProgramFactory()  # any model with a case_code attribute will do
    program.case_code = "TRF-2026-000045"
    movement = services.reserve(line, "10.00", actor=finance, case=program)
    assert (movement.case_type.model, movement.case_id, movement.case_code) == (
        "program",
        program.pk,
        "TRF-2026-000045",
    )


def test_reserve_beyond_available_is_refused_and_changes_nothing(finance, line, new_audit):
    services.reserve(line, "900.00", actor=finance, case=CASE_1)
    before = figures(line)
    movements = BudgetMovement.objects.count()
    new_audit()
    with translation.override("es"), pytest.raises(services.BudgetRefused) as exc:
        services.reserve(line, "300.00", actor=finance, case=CASE_2)
    assert exc.value.message_dict == {
        "amount": [
            f"Presupuesto insuficiente en la partida {line}: disponible Bs 100,00, solicitado Bs 300,00."
        ]
    }
    assert exc.value.error_dict["amount"][0].code == "insufficient_budget"
    assert figures(line) == before
    assert BudgetMovement.objects.count() == movements
    assert new_audit() == []


def test_a_case_cannot_use_another_cases_reservation(finance, line):
    services.reserve(line, "500.00", actor=finance, case=CASE_1)
    services.reserve(line, "100.00", actor=finance, case=CASE_2)
    with translation.override("es"), pytest.raises(services.BudgetRefused) as exc:
        services.commit(line, "200.00", actor=finance, case=CASE_2)
    assert exc.value.messages == [
        f"No se puede comprometer Bs 200,00: solo hay Bs 100,00 reservado en la partida {line} "
        "para el caso INI-2026-000002."
    ]
    with pytest.raises(services.BudgetRefused):
        services.release_reservation(line, "100.01", actor=finance, case=CASE_2)
    services.release_reservation(line, "100.00", actor=finance, case=CASE_2)
    assert figures(line)[1] == D("500.00")


@pytest.mark.parametrize(
    ("operation", "amount"),
    [
        (services.release_reservation, "0.01"),
        (services.commit, "0.01"),
        (services.release_commitment, "0.01"),
        (services.execute, "0.01"),
        (services.pay, "0.01"),
        (services.refund, "0.01"),
    ],
)
def test_nothing_moves_out_of_an_empty_stage(finance, line, operation, amount, new_audit):
    new_audit()
    with pytest.raises(services.BudgetRefused):
        operation(line, amount, actor=finance, case=CASE_1)
    with pytest.raises(services.BudgetRefused):
        operation(line, amount, actor=finance, case=None)
    assert figures(line) == (D(1000), D(0), D(0), D(0), D(0), D(1000))
    assert new_audit() == []


def test_pay_only_what_is_executed_and_unpaid(finance, line):
    services.reserve(line, "300.00", actor=finance, case=CASE_1)
    services.commit(line, "300.00", actor=finance, case=CASE_1)
    services.execute(line, "100.00", actor=finance, case=CASE_1)
    services.pay(line, "60.00", actor=finance, case=CASE_1)
    with pytest.raises(services.BudgetRefused):
        services.pay(line, "40.01", actor=finance, case=CASE_1)
    services.pay(line, "40.00", actor=finance, case=CASE_1)
    assert figures(line)[3:5] == (D("100.00"), D("100.00"))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1.234", "Introduzca el monto con un máximo de 2 decimales."),
        (1.5, "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        ("abc", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        ("NaN", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        ("-5.00", "El monto debe ser mayor que cero."),
        ("0", "El monto debe ser mayor que cero."),
        ("1" + "0" * 19, "El monto es demasiado grande."),
        ("1e2", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        ("1_000", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        (" 10 ", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
        ("\uff11\uff10\uff10", "Introduzca el monto como número decimal, por ejemplo 1500.00."),
    ],
)
def test_bad_amounts_are_refused(finance, line, amount, message, new_audit):
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.reserve(line, amount, actor=finance, case=CASE_1)
    assert exc.value.message_dict == {"amount": [message]}
    assert figures(line)[1] == D(0)
    assert new_audit() == []


def test_clean_amount_accepts_exact_decimals():
    assert services.clean_amount("1500") == D("1500.00")
    assert services.clean_amount("1.50") == D("1.50")
    with pytest.raises(ValidationError):  # "100.000" reads as a hundred thousand in Bolivia
        services.clean_amount("2.500")
    assert services.clean_amount(7) == D("7.00")


# --- Expenditures -----------------------------------------------------------------------------------------


def test_record_expenditure(finance, new_audit):
    line = BudgetLineFactory(fiscal_year=today().year, amount_in_force=D("1000.00"))
    new_audit()
    day = today()
    movement = services.record_expenditure(
        line, actor=finance, amount="250.00", date=day, description="Sueldos junio"
    )
    assert (movement.kind, movement.amount, movement.date, movement.case_code) == (
        "expenditure",
        D("250.00"),
        day,
        "",
    )
    assert figures(line) == (D(1000), D(0), D(0), D(250), D(0), D(750))
    entries = new_audit()
    assert actions(entries) == [A.BUDGET_EXPENDITURE]
    assert entries[0].data["description"] == "Sueldos junio"
    assert entries[0].data["date"] == day.isoformat()
    assert line_reconciles(line)


def test_expenditure_refusals(finance, new_audit):
    year = today().year - 1
    line = BudgetLineFactory(fiscal_year=year, amount_in_force=D("1000.00"))
    day = dt.date(year, 3, 1)
    new_audit()
    with translation.override("es"), pytest.raises(services.BudgetRefused) as exc:
        services.record_expenditure(line, actor=finance, amount="1000.01", date=day, description="Servicios")
    assert "Presupuesto insuficiente" in exc.value.messages[0]
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.record_expenditure(
            line, actor=finance, amount="1", date=dt.date(year + 1, 1, 1), description=""
        )
    assert exc.value.message_dict == {
        "date": [f"La fecha debe corresponder a la gestión {year}."],
        "description": ["Este campo es requerido."],
    }
    future_line = BudgetLineFactory(fiscal_year=today().year + 1)
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.record_expenditure(
            future_line, actor=finance, amount="1", date=dt.date(today().year + 1, 1, 1), description="x"
        )
    assert exc.value.message_dict == {"date": ["La fecha no puede ser futura."]}
    for role in (Role.EVALUATOR, Role.ADMIN, Role.APPLICANT):
        with pytest.raises(PermissionDenied):
            services.record_expenditure(
                line, actor=UserFactory(roles=[role]), amount="1", date=day, description="x"
            )
    assert figures(line)[3] == D(0)
    assert [e for e in new_audit() if e.action == A.BUDGET_EXPENDITURE] == []


# --- Defences and the ledger's integrity ------------------------------------------------------------


def test_check_constraints_hold_in_the_database(line):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(reserved=D("1000.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(paid=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(committed=D("-1.00"))
    assert figures(line)[1:5] == (D(0),) * 4


def test_a_line_can_be_used_to_the_last_cent(finance):
    """Regression (hypothesis, SQLite): reserving a whole 4.89 line and committing 0.03 of it was
    refused, because SQLite summed 4.86 + 0.03 as the float 4.890000000000001 in the CHECK."""
    line = BudgetLineFactory(fiscal_year=today().year, amount_in_force=D("4.89"))
    services.reserve(line, D("4.89"), actor=finance, case=CASE_1)
    services.commit(line, D("0.03"), actor=finance, case=CASE_1)
    services.execute(line, D("0.01"), actor=finance, case=CASE_1)
    assert figures(line)[1:4] == (D("4.86"), D("0.02"), D("0.01"))
    assert line_reconciles(line)
    with pytest.raises(IntegrityError), transaction.atomic():  # one cent over is still refused
        BudgetLine.objects.filter(pk=line.pk).update(reserved=D("4.87"))


def test_a_constraint_violation_becomes_a_validation_error(finance, line, monkeypatch, new_audit):
    """Should the service's own checks ever miss, the DB constraint refuses with a clear message."""
    monkeypatch.setattr(services, "_check", lambda *args: None)
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.reserve(line, "1000.01", actor=finance, case=CASE_1)
    assert exc.value.message_dict["amount"] == [
        f"El movimiento violaría las reglas de la partida presupuestaria {line}; no se cambió nada."
    ]
    assert figures(line)[1] == D(0) and not BudgetMovement.objects.filter(kind="reserve").exists()
    assert new_audit() == []


def test_compare_and_set_refuses_a_stale_read(finance, line, monkeypatch):
    """Portable guard: if the lock were missing (as SQLite ignores FOR UPDATE), a write based on a
    stale read of the line is refused with a conflict instead of overwriting the other writer."""
    stale = BudgetLine.objects.select_related("program", "source").get(pk=line.pk)
    services.reserve(line, "100.00", actor=finance, case=CASE_2)  # the other writer
    monkeypatch.setattr(services, "_lock_line", lambda _line: stale)
    with pytest.raises(Conflict):
        services.reserve(line, "50.00", actor=finance, case=CASE_1)
    assert figures(line)[1] == D("100.00")
    assert BudgetMovement.objects.filter(kind="reserve").count() == 1


def test_ledger_mismatches_detect_a_change_outside_the_services(finance, line):
    services.reserve(line, "100.00", actor=finance, case=CASE_1)
    other = BudgetLineFactory()
    assert ledger_mismatches() == []
    BudgetLine.objects.filter(pk=line.pk).update(reserved=D("150.00"))
    assert not line_reconciles(line)
    assert line_reconciles(other)
    assert ledger_mismatches() == [
        {"line": line.pk, "figure": "reserved", "recorded": D("150.00"), "movements": D("100.00")}
    ]
    assert figures_from_movements(line)["reserved"] == D("100.00")


def test_movements_are_append_only(finance, line):
    movement = services.reserve(line, "1.00", actor=finance, case=CASE_1)
    movement.amount = D("2.00")
    with pytest.raises(TypeError):
        movement.save()
    with pytest.raises(TypeError):
        movement.delete()
    with pytest.raises(TypeError):
        BudgetMovement.objects.filter(pk=movement.pk).update(amount=D("3.00"))
    with pytest.raises(TypeError):
        BudgetMovement.objects.all().delete()
    assert BudgetMovement.objects.get(pk=movement.pk).amount == D("1.00")


def test_ledger_operation_query_count(finance, line, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        services.reserve(line, "1.00", actor=finance, case=CASE_1)
