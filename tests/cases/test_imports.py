"""Imports from CSV/XLSX (``cases.imports``): every row checked before anything is written, the
errors by row, all-or-nothing or only the valid rows, audited, as jobs with their progress."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEntry
from audit.verification import verify_database
from budget.models import BudgetLine
from cases import jobs
from cases.models import Job
from expediente import importing as imports
from registry.models import Unit
from tests.factories import DEMO_PASSWORD, FundingSourceFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

UNIT_HEADER = "tax_id;name;kind;department;municipality;sector;registration_valid_until\n"


def csv_bytes(*lines: str, header: str = UNIT_HEADER) -> bytes:
    return (header + "\n".join(lines) + "\n").encode()


@pytest.fixture
def admin():
    return UserFactory(roles=["admin"])


def run_check(actor, content: bytes, filename="unidades.csv", name="units") -> Job:
    job = imports.start_check(name, actor=actor, content=content, filename=filename)
    assert jobs.run(job.pk) == Job.State.DONE
    job.refresh_from_db()
    return job


def run_write(check: Job, actor, mode: str) -> Job:
    job = imports.start_write(check, actor=actor, mode=mode)
    assert jobs.run(job.pk) == Job.State.DONE
    job.refresh_from_db()
    return job


def test_a_valid_file_is_checked_then_written_all_with_one_entry_per_unit(admin):
    content = csv_bytes(
        "2001001;Lechería Achacachi;association;LPZ;Achacachi;dairy;31/12/2027",
        "2001002;Textiles El Alto;Cooperativa;La Paz;El Alto;Textiles;",
        "2001003;Carpintería Sucre;artisan;CHQ;Sucre;wood;01/03/2020",  # lapsed: the registry as it is
    )
    check = run_check(admin, content)
    assert check.result == {"rows": 3, "valid": 3, "invalid": 0, "errors": []}
    assert not Unit.objects.filter(tax_id__startswith="2001").exists()  # the check writes nothing
    assert not AuditEntry.objects.filter(action="unit.registered", data__tax_id="2001001").exists()

    write = run_write(check, admin, imports.ALL)
    assert write.result == {"rows": 3, "written": 3, "failed": []}
    units = {u.tax_id: u for u in Unit.objects.filter(tax_id__startswith="2001")}
    assert units["2001002"].kind == Unit.Kind.COOPERATIVE and units["2001002"].sector == Unit.Sector.TEXTILES
    assert units["2001002"].department.code == "LPZ"
    assert units["2001001"].registration_valid_until == dt.date(2027, 12, 31)
    assert units["2001003"].registration_valid_until == dt.date(2020, 3, 1)
    entries = AuditEntry.objects.filter(
        action="unit.registered", subject_id__in=[str(u.pk) for u in units.values()]
    )
    assert entries.count() == 3 and all(
        e.data["imported"] is True and e.actor_id == admin.pk for e in entries
    )
    completed = AuditEntry.objects.get(action="import.completed")
    assert completed.data["written"] == 3 and completed.data["mode"] == "all"
    assert completed.data["sha256"] == check.upload_sha256 and completed.data["file"] == "unidades.csv"
    assert verify_database().valid


def test_errors_are_reported_by_row_and_column_and_nothing_is_written(admin):
    content = csv_bytes(
        "2002001;Bien;association;LPZ;Achacachi;dairy;",
        "abc;Mal NIT;association;LPZ;Achacachi;dairy;",
        "2002003;Mal departamento;association;XX;Achacachi;dairy;",
        "2002001;Repetida;association;LPZ;Achacachi;dairy;",
        "2002005;Mala fecha;association;LPZ;Achacachi;nope;32/13/2026",
    )
    check = run_check(admin, content)
    report = check.result
    assert (report["rows"], report["valid"], report["invalid"]) == (5, 1, 4)
    by_row = {item["row"]: item["errors"] for item in report["errors"]}
    assert set(by_row) == {3, 4, 5, 6}  # spreadsheet rows: the header is row 1
    assert "tax_id" in by_row[3]
    assert "department" in by_row[4]
    assert "fila 2" in " ".join(by_row[5]["tax_id"]) or "row 2" in " ".join(by_row[5]["tax_id"])
    assert set(by_row[6]) == {"sector", "registration_valid_until"}
    with pytest.raises(ValidationError):
        imports.start_write(check, actor=admin, mode=imports.ALL)  # not everything is valid
    assert not Unit.objects.filter(tax_id__startswith="2002").exists()

    write = run_write(check, admin, imports.VALID)
    assert write.result["written"] == 1 and write.result["failed"] == []
    assert list(Unit.objects.filter(tax_id__startswith="2002").values_list("tax_id", flat=True)) == [
        "2002001"
    ]
    with pytest.raises(ValidationError):
        imports.start_write(check, actor=admin, mode=imports.VALID)  # once only


def test_all_or_nothing_rolls_back_every_row_when_one_fails_at_write_time(admin):
    check = run_check(
        admin,
        csv_bytes(
            "2003001;Uno;association;LPZ;Achacachi;dairy;",
            "2003002;Dos;association;LPZ;Achacachi;dairy;",
        ),
    )
    assert check.result["invalid"] == 0
    # Between the check and the write, someone registers the second NIT.
    from registry import services

    services.register_unit(
        actor=admin,
        tax_id="2003002",
        name="Otra",
        kind="mype",
        department="LPZ",
        municipality="Viacha",
        sector="dairy",
    )
    head = AuditEntry.objects.order_by("-seq").first().seq
    write = run_write(check, admin, imports.ALL)
    assert write.result["written"] == 0 and write.result["failed"][0]["row"] == 3
    assert not Unit.objects.filter(tax_id="2003001").exists()
    # Only the import's own entry was added: the rolled-back row wrote none.
    assert list(AuditEntry.objects.filter(seq__gt=head).values_list("action", flat=True)) == [
        "import.completed"
    ]


def test_xlsx_budget_lines_in_bolivian_format(admin):
    from openpyxl import Workbook

    program, source = ProgramFactory(code="PROIMP"), FundingSourceFactory(code="77")
    finance = UserFactory(roles=["finance"])
    book = Workbook()
    sheet = book.active
    sheet.append(["fiscal_year", "program", "source", "amount_in_force"])
    sheet.append([2027, "proimp", "77", "2.500.000,50"])
    sheet.append([2028, "PROIMP", "77", 1200000])
    sheet.append([2029, "PROIMP", "77", "100.000"])  # ambiguous: refused
    sheet.append([2027, "NOPE", "77", "10,00"])
    out = io.BytesIO()
    book.save(out)
    check = run_check(finance, out.getvalue(), filename="lineas.xlsx", name="budget_lines")
    by_row = {item["row"]: item["errors"] for item in check.result["errors"]}
    assert check.result["valid"] == 2 and set(by_row) == {4, 5}
    assert "amount_in_force" in by_row[4] and "program" in by_row[5]
    write = run_write(check, finance, imports.VALID)
    assert write.result["written"] == 2
    lines = BudgetLine.objects.filter(program=program, source=source).order_by("fiscal_year")
    assert [(line.fiscal_year, line.amount_in_force) for line in lines] == [
        (2027, Decimal("2500000.50")),
        (2028, Decimal("1200000.00")),
    ]


def test_file_problems_and_denials(admin):
    evaluator = UserFactory(roles=["evaluator"])
    with pytest.raises(PermissionDenied):
        imports.start_check("units", actor=evaluator, content=csv_bytes(), filename="u.csv")
    finance = UserFactory(roles=["finance"])
    with pytest.raises(PermissionDenied):  # the registry is the administrator's
        imports.start_check("units", actor=finance, content=csv_bytes(), filename="u.csv")
    with pytest.raises(ValidationError):
        imports.start_check("units", actor=admin, content=b"x", filename="u.pdf")
    missing = run_check(admin, b"tax_id;name\n1;x\n")
    assert missing.result["missing_columns"] == ["kind", "department", "municipality", "sector"]
    with pytest.raises(ValidationError):
        imports.start_write(missing, actor=admin, mode=imports.VALID)
    latin1 = run_check(admin, "tax_id;name\n1;Ñandú\n".encode("latin-1"))
    assert latin1.result["file_error"]
    other_admin = UserFactory(roles=["admin"])
    clean = run_check(admin, csv_bytes("2004001;Uno;association;LPZ;Achacachi;dairy;"))
    with pytest.raises(ValidationError):  # a check is written by the person who made it
        imports.start_write(clean, actor=other_admin, mode=imports.ALL)


def test_a_job_runs_once_whatever_the_deliveries(admin):
    check = imports.start_check(
        "units",
        actor=admin,
        content=csv_bytes("2005001;Uno;association;LPZ;Achacachi;dairy;"),
        filename="u.csv",
    )
    assert jobs.run(check.pk) == Job.State.DONE
    assert jobs.run(check.pk) == "skipped"
    check.refresh_from_db()
    assert (check.progress_done, check.progress_total, check.percent) == (1, 1, 100)


def test_a_long_import_writes_its_entries_in_chunks_and_the_chain_verifies(admin, monkeypatch):
    from audit import chain

    monkeypatch.setattr(chain, "BATCH_ROWS", 7)  # 3 statements of 7 entries and one of 2 (+ the import's)
    lines = [f"{3000000 + i};Unidad {i};mype;SCZ;Montero;food;" for i in range(23)]
    check = run_check(admin, csv_bytes(*lines))
    assert check.result["valid"] == len(lines)
    write = run_write(check, admin, imports.ALL)
    assert write.result["written"] == len(lines)
    assert Unit.objects.filter(tax_id__startswith="30").count() == len(lines)
    assert verify_database().valid


def test_the_pages_check_report_and_write(client, admin):
    client.login(username=admin.username, password=DEMO_PASSWORD)
    page = client.get(reverse("import-index"))
    assert page.status_code == 200 and reverse("import-start", args=["units"]) in page.content.decode()
    template = client.get(reverse("import-template", args=["units"]))
    assert template.content.decode("utf-8-sig").startswith("tax_id;name;kind;department")
    upload = io.BytesIO(
        csv_bytes(
            "2006001;Uno;association;LPZ;Achacachi;dairy;",
            "x;Dos;association;LPZ;Achacachi;dairy;",
        )
    )
    upload.name = "unidades.csv"
    response = client.post(reverse("import-start", args=["units"]), {"file": upload})
    assert response.status_code == 302
    check = Job.objects.get(kind=imports.CHECK)
    jobs.run(check.pk)  # the test's transaction never commits: the worker's part, here
    page = client.get(response["Location"]).content.decode()
    assert "Errores por fila" in page or "Errors by row" in page
    assert 'value="valid"' in page and 'value="all"' not in page
    written = client.post(reverse("import-write", args=[check.pk]), {"mode": "valid"})
    write = Job.objects.get(kind=imports.WRITE)
    assert written["Location"] == reverse("import-job", args=[write.pk])
    jobs.run(write.pk)
    assert Unit.objects.filter(tax_id="2006001").exists()
    evaluator = UserFactory(roles=["evaluator"])
    client.login(username=evaluator.username, password=DEMO_PASSWORD)
    assert client.get(reverse("import-start", args=["units"])).status_code == 403
    assert client.get(reverse("import-job", args=[check.pk])).status_code == 404  # another person's


def test_the_command_checks_and_writes(admin, tmp_path):
    from django.core.management import CommandError, call_command

    good = tmp_path / "unidades.csv"
    good.write_bytes(
        csv_bytes("2007001;Uno;association;LPZ;Achacachi;dairy;", "x;Dos;association;LPZ;Achacachi;dairy;")
    )
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_rows", "units", str(good), "--actor", admin.username, "--check-only", stdout=out)
    assert exit_.value.code == 1 and "row 3 tax_id" in out.getvalue()
    assert not Unit.objects.filter(tax_id="2007001").exists()
    with pytest.raises(CommandError, match=r"import only the valid rows|importe solo las filas"):
        call_command("import_rows", "units", str(good), "--actor", admin.username, stdout=io.StringIO())
    assert not Unit.objects.filter(tax_id="2007001").exists()  # all or nothing
    with pytest.raises(SystemExit) as exit_:
        call_command("import_rows", "units", str(good), "--actor", admin.username, "--only-valid", stdout=out)
    assert exit_.value.code == 0  # the valid row written; the other was left out by choice
    assert Unit.objects.filter(tax_id="2007001").exists() and "written: 1 of 2 rows" in out.getvalue()


def test_budget_lines_with_their_sigep_fields(admin):
    from budget import services as budget_services

    program = ProgramFactory(code="PROSIG")
    FundingSourceFactory(code="78")
    budget_services.create_subprogram(actor=admin, program=program, code="FASE2", name="Fase 2")
    content = (
        b"fiscal_year;program;source;amount_in_force;da_ue;subprogram;activity;funder;object_of_expenditure\n"
        b"2027;PROSIG;78;1.000,00;01-0001;FASE2;001;111;25220\n"
        b"2027;PROSIG;78;2.000,00;01-0001;FASE2;001;111;43120\n"  # another partida: another line
        b"2027;PROSIG;78;3.000,00;01-0001;FASE2;001;111;25220\n"  # the first line again
        b"2027;PROSIG;78;4.000,00;01-0001;NOPE;001;111;25220\n"
    )
    check = run_check(admin, content, filename="lineas.csv", name="budget_lines")
    by_row = {item["row"]: item["errors"] for item in check.result["errors"]}
    assert check.result["valid"] == 2 and set(by_row) == {4, 5}
    assert "fila 2" in " ".join(by_row[4]["program"]) or "row 2" in " ".join(by_row[4]["program"])
    assert "subprogram" in by_row[5]
    run_write(check, admin, imports.VALID)
    lines = BudgetLine.objects.filter(program=program).order_by("object_of_expenditure")
    assert [(line.subprogram.code, line.object_of_expenditure, line.amount_in_force) for line in lines] == [
        ("FASE2", "25220", Decimal("1000.00")),
        ("FASE2", "43120", Decimal("2000.00")),
    ]
    assert {line.da_ue for line in lines} == {"01-0001"} and {line.funder for line in lines} == {"111"}


@pytest.mark.django_db(transaction=True)
def test_a_job_run_in_process_inside_a_transaction_writes_its_progress_on_its_own_connection():
    """The embedded profile runs a job inside the outbox relay's transaction, which holds the job's
    row from the claim: progress through a second connection would wait for it (PostgreSQL: a lock
    timeout, and the job failed)."""
    from django.db import transaction

    admin = UserFactory(roles=["admin"])
    lines = [f"{4000000 + i};Unidad {i};mype;SCZ;Montero;food;" for i in range(3)]
    check = imports.start_check("units", actor=admin, content=csv_bytes(*lines), filename="u.csv")
    Job.objects.filter(pk=check.pk).update(state=Job.State.QUEUED)  # queued again, committed
    with transaction.atomic():
        assert jobs.run(check.pk) == Job.State.DONE
    check.refresh_from_db()
    assert check.result["valid"] == 3 and (check.progress_done, check.progress_total) == (3, 3)
