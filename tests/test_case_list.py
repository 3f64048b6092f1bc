"""The staff case list (``/cases/``, ``cases.listing``) and its XLSX export, on the demo data
(``seed_demo`` + ``seed_demo_cases``: four initiatives — three of APLEWA in Santa Cruz, one of the
Potosí textile workshop —, an in-kind transfer to the Potosí workshop, a new unit's registration in
Cochabamba, and APLEWA's price-compensation agreement with three monthly settlements).

What matters: the filters and the search return exactly the right cases, of every registered kind;
nobody sees a case whose page they could not open (an evaluator scoped to Santa Cruz and Cochabamba
never gets a Potosí case, by the list or by the export); the export's rows and formats; a page's
query count does not grow with the cases or the scopes; the home page's counters lead to the list."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from cases import kinds, listing
from cases.clock import today

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _demo_cases(django_db_setup, django_db_blocker):
    """The demo world once for the module, rolled back at its end (each test in a savepoint)."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
        call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_cases, db):
    return None


def user(username):
    from registry.models import User

    return User.objects.get(username=username)


def client_for(username) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def codes(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+" class="code">([^<]+)</a>', html)


def page_codes(username, **params) -> list[str]:
    response = client_for(username).get(reverse("case-list"), params)
    assert response.status_code == 200
    return codes(response.content.decode())


def every_case() -> dict[str, object]:
    """Every demo case by code (all kinds)."""
    return {case.code: case for kind in kinds.all_kinds() for case in kind.model_class.objects.all()}


def test_internal_control_sees_every_case_of_every_kind_newest_first(demo):
    shown = page_codes("control1")
    cases = every_case()
    assert sorted(shown) == sorted(cases)
    assert {c[:3] for c in shown} == {"INI", "TRF", "REG", "CPA", "LIQ"}
    started = [cases[c].created_at for c in shown]
    assert started == sorted(started, reverse=True)


def test_an_evaluator_scoped_to_two_departments_never_sees_a_third_ones_case(demo):
    """evaluador5 works Santa Cruz and Cochabamba: the Potosí initiative and transfer are not in its
    list, nor in its export, nor found by their code or NIT; each listed case's page opens for it."""
    cases = every_case()
    potosi = {code for code, case in cases.items() if case.department.code == "PTS"}
    assert len(potosi) == 2  # the workshop's initiative and its transfer
    shown = page_codes("evaluador5")
    assert shown and not potosi & set(shown)
    assert set(shown) == {code for code, case in cases.items() if case.department.code in ("SCZ", "CBB")}
    for code in potosi:
        assert page_codes("evaluador5", q=code) == []
    assert page_codes("evaluador5", q="3891245012") == []  # the Potosí workshop's NIT
    client = client_for("evaluador5")
    for code in shown:  # never a case it could not open
        url = kinds.for_model(cases[code]).detail_url(cases[code].pk)
        assert client.get(url).status_code == 200, code
    for code in potosi:  # ...and the ones it does not see are refused on their page too
        url = kinds.for_model(cases[code]).detail_url(cases[code].pk)
        assert client.get(url).status_code == 404, code
    exported = rows_of(client.get(reverse("case-list-export")))
    assert sorted(r[1] for r in exported) == sorted(shown)


def test_a_national_evaluator_sees_the_potosi_cases(demo):
    shown = set(page_codes("evaluador1"))
    assert {code for code, case in every_case().items() if case.department.code == "PTS"} <= shown


def test_search_by_code_unit_name_and_nit(demo):
    cases = every_case()
    some = sorted(c for c in cases if c.startswith("INI"))[1]
    assert page_codes("control1", q=some) == [some]
    assert page_codes("control1", q=some.lower()) == [some]
    assert sorted(page_codes("control1", q=some[:9])) == sorted(c for c in cases if c.startswith(some[:9]))
    assert len(page_codes("control1", q=some[:9])) == 4  # INI-2026-: every initiative
    workshop = {
        c for c, case in cases.items() if getattr(case, "unit", None) and case.unit.tax_id == "3891245012"
    }
    workshop |= {c for c, case in cases.items() if getattr(case, "beneficiary", None)}
    assert sorted(page_codes("control1", q="3891245012")) == sorted(workshop)
    assert sorted(page_codes("control1", q="munay")) == sorted(workshop)
    aplewa = {
        c for c, case in cases.items() if c.startswith("INI") and case.unit.name.startswith("Asociación")
    }
    assert len(aplewa) == 3
    # PROLECHE's price compensation with the association: its agreement and monthly settlements.
    compensation = {c for c in cases if c[:3] in ("CPA", "LIQ")}
    assert len(compensation) == 4
    assert sorted(page_codes("control1", q="APLEWA")) == sorted(aplewa | compensation)
    # A new unit's registration is found by the name and NIT its applicant gave (no unit yet).
    registration = next(case for c, case in cases.items() if c.startswith("REG"))
    assert registration.unit_id is None
    assert page_codes("control1", q=registration.unit_data["name"][:12]) == [registration.code]
    assert page_codes("control1", q=registration.unit_data["tax_id"]) == [registration.code]
    assert page_codes("control1", q="no existe tal cosa") == []


def test_filters_by_kind_state_program_department_and_dates(demo):
    from budget.models import Program
    from registry.models import Department

    cases = every_case()
    assert sorted(page_codes("control1", kind="transfer")) == [c for c in cases if c.startswith("TRF")]
    open_initiatives = [
        c
        for c, case in cases.items()
        if c.startswith("INI") and case.state not in kinds.get("initiative").final_states
    ]
    assert sorted(page_codes("control1", kind="initiative", state="open")) == sorted(open_initiatives)
    assert page_codes("control1", state="draft") == [c for c, case in cases.items() if case.state == "draft"]
    # "submitted" is a state of initiatives and of registrations: both kinds are listed.
    submitted = sorted(c for c, case in cases.items() if case.state == "submitted")
    assert {c[:3] for c in submitted} == {"INI", "REG"}
    assert sorted(page_codes("control1", state="submitted")) == submitted
    promype = Program.objects.get(code="PROMYPE")
    assert page_codes("control1", program=promype.pk) == [c for c in cases if c.startswith("TRF")]
    proleche = Program.objects.get(code="PROLECHE")
    # Registrations have no program: a program filter leaves them out. PROLECHE's price compensation
    # (the agreement and its settlements, the agreement's program) is in.
    assert sorted(page_codes("control1", program=proleche.pk)) == sorted(
        c for c in cases if c.startswith(("INI", "CPA", "LIQ"))
    )
    cbb = Department.objects.get(code="CBB")
    assert page_codes("control1", department=cbb.pk) == [c for c in cases if c.startswith("REG")]
    on = today()
    day = lambda d: d.strftime("%d/%m/%Y")  # noqa: E731 - the dd/mm/yyyy a person types
    assert sorted(page_codes("control1", since=day(on), until=day(on))) == sorted(cases)
    assert page_codes("control1", since=(on + dt.timedelta(days=1)).isoformat()) == []
    assert page_codes("control1", until=(on - dt.timedelta(days=1)).isoformat()) == []
    # Filters add up.
    assert page_codes("control1", kind="transfer", department=cbb.pk) == []


def test_a_bad_filter_is_reported_next_to_its_field_and_ignored(demo):
    on = today()
    params = {"since": on.strftime("%d/%m/%Y"), "until": (on - dt.timedelta(days=1)).strftime("%d/%m/%Y")}
    response = client_for("control1").get(reverse("case-list"), params)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_until_error"' in html and "La fecha final es anterior a la inicial." in html
    assert 'aria-invalid="true"' in html
    assert sorted(codes(html)) == sorted(every_case())  # only the valid start date filters


def test_the_page_speaks_spanish_with_bolivian_formats_and_accessible_labels(demo):
    response = client_for("control1").get(reverse("case-list"), {"kind": "initiative"})
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Bs 120.000,00" in html  # APLEWA's cooling tank
    assert today().strftime("%d/%m/%Y") in html
    for label in (
        "Código, unidad o NIT",
        "Tipo de caso",
        "Estado",
        "Programa",
        "Departamento",
        "Iniciado desde",
    ):
        assert re.search(rf'<label for="id_\w+">{label}</label>', html), label
    for header in ("Caso", "Unidad productiva", "Estado", "Monto", "Iniciado el"):
        assert '<th scope="col"' in html and f">{header}</th>" in html, header
    assert 'data-label="Monto"' in html  # each cell's own label on narrow screens
    assert '<option value="initiative" selected>Iniciativa productiva</option>' in html  # kept
    assert '<option value="open">En curso</option>' in html  # the "in progress" state choice


def test_only_staff_may_open_the_list(demo):
    for path in (reverse("case-list"), reverse("case-list-export")):
        assert client_for("solicitante1").get(path).status_code == 403
        assert Client().get(path).status_code == 302  # to the login page


def test_the_menu_and_the_home_counters_lead_to_the_list(demo):
    html = client_for("evaluador1").get("/").content.decode()
    assert f'href="{reverse("case-list")}"' in html  # the menu
    assert 'href="/cases/?kind=initiative&amp;state=open"' in html  # «Iniciativas en curso»
    assert 'href="/cases/?kind=initiative&amp;state=submitted"' in html
    open_count = int(
        re.search(r'<p class="stat"><a href="/cases/\?kind=initiative&amp;state=open"[^>]*>(\d+)</a>', html)[
            1
        ]
    )
    assert len(page_codes("evaluador1", kind="initiative", state="open")) == open_count
    applicant = client_for("solicitante1").get("/").content.decode()
    assert f'href="{reverse("case-list")}"' not in applicant


def rows_of(response) -> list[tuple]:

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="casos-')
    return rows_of_content(response.content)


def rows_of_content(content: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Tipo de caso",
        "Código",
        "Estado",
        "Unidad productiva",
        "NIT",
        "Programa",
        "Departamento",
        "Monto (Bs)",
        "Iniciado el",
    )
    return rows[1:]


def test_the_export_has_the_filtered_rows_with_numbers_and_dates(demo):
    from openpyxl import load_workbook

    client = client_for("control1")
    response = client.get(reverse("case-list-export"), {"kind": "initiative", "q": "APLEWA"})
    rows = rows_of(response)
    cases = every_case()
    assert [r[1] for r in rows] == page_codes("control1", kind="initiative", q="APLEWA")
    tank = next(r for r in rows if cases[r[1]].requested_amount == Decimal("120000.00"))
    case = cases[tank[1]]
    assert tank[0] == "Iniciativa productiva"
    assert tank[2] == case.get_state_display()
    assert tank[3] == case.unit.name and tank[4] == case.unit.tax_id
    assert tank[5] == "Fondo PROLECHE" and tank[6] == "Santa Cruz"
    assert tank[7] == 120000  # a number Excel adds up, not text
    assert tank[8].date() == today()  # a date (La Paz), shown dd/mm/yyyy
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["H2"].number_format == "#,##0.00"
    assert sheet["I2"].number_format == "DD/MM/YYYY"
    # A new unit's registration: its NIT as given, no program, no amount.
    reg = rows_of(client.get(reverse("case-list-export"), {"kind": "registration"}))
    assert len(reg) == 1 and reg[0][5] is None and reg[0][7] is None and reg[0][4]


def test_an_export_past_the_bound_is_a_job_whose_page_gives_the_file(demo, monkeypatch):
    from cases import jobs
    from cases.models import Job

    monkeypatch.setattr(listing, "EXPORT_MAX_ROWS", 2)
    client = client_for("control1")
    response = client.get(reverse("case-list-export"), {"kind": "initiative"})
    assert response.status_code == 302 and response["Location"] == "/cases/?kind=initiative"
    html = client.get(response["Location"]).content.decode()
    assert "más de 2 casos" in html and "exportar a excel en segundo plano" in html.lower()
    assert '<input type="hidden" name="kind" value="initiative">' in html
    assert len(rows_of(client.get(reverse("case-list-export"), {"kind": "transfer"}))) == 1

    started = client.post(reverse("case-list-export-job"), {"kind": "initiative"})
    job = Job.objects.get(kind="export.cases")
    assert started["Location"] == reverse("job-detail", args=[job.pk])
    waiting = client.get(started["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting
    assert jobs.run(job.pk) == Job.State.DONE  # the worker's part (the test's transaction never commits)
    job.refresh_from_db()
    initiatives = page_codes("control1", kind="initiative")
    assert job.result["rows"] == len(initiatives) == 4 and (job.progress_done, job.progress_total) == (4, 4)
    done = client.get(started["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in done and reverse("job-file", args=[job.pk]) in done
    file = client.get(reverse("job-file", args=[job.pk]))
    assert sorted(r[1] for r in rows_of_content(b"".join(file.streaming_content))) == sorted(initiatives)
    assert client_for("evaluador1").get(reverse("job-file", args=[job.pk])).status_code == 404  # not theirs


def test_an_export_job_keeps_its_starters_scope(demo, monkeypatch):
    from cases import jobs
    from cases.models import Job

    scoped = "evaluador1"
    client = client_for(scoped)
    client.post(reverse("case-list-export-job"), {})
    job = Job.objects.get(kind="export.cases", created_by__username=scoped)
    jobs.run(job.pk)
    job.refresh_from_db()
    with job.output.open("rb") as handle:
        exported = sorted(r[1] for r in rows_of_content(handle.read()))
    assert exported == sorted(page_codes(scoped))


def test_pages_past_the_first_and_the_page_cap(demo, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    client = client_for("control1")
    first = client.get(reverse("case-list")).content.decode()
    second = client.get(reverse("case-list"), {"page": 2}).content.decode()
    everything = page_codes("control1", kind="")  # page size 2 here too
    assert len(codes(first)) == 2 and len(codes(second)) == 2
    assert not set(codes(first)) & set(codes(second))
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "10 casos" in first and "Página 1 de 5" in first
    assert everything == codes(first)
    past_the_end = client.get(reverse("case-list"), {"page": 7}).content.decode()
    assert codes(past_the_end) == page_codes("control1", page=5) and "Página 5 de 5" in past_the_end
    monkeypatch.setattr(listing, "MAX_PAGES", 2)
    capped = client.get(reverse("case-list"), {"page": 50}).content.decode()
    assert codes(capped) == codes(second)  # a page past the cap shows the last one offered
    assert 'rel="next"' not in capped


@pytest.mark.parametrize("username", ["control1", "evaluador5", "finanzas1"])
def test_a_page_costs_a_fixed_number_of_queries(demo, username, monkeypatch, django_assert_max_num_queries):
    """Session, user, roles and scopes (one), the filters' programs and departments (one), the page's
    keys, their rows, the count, and the header's delegation banner and unread count: nine, whatever
    the filters, the page or the number of cases (bench/caselist_bench.py: the same at 100,000)."""
    from registry.models import Department

    monkeypatch.setattr(listing, "PAGE_SIZE", 1)  # a second page exists: the count is read too
    client = client_for(username)
    for params in (
        {},
        {"q": "a", "state": "open", "page": 2},
        {"department": Department.objects.get(code="SCZ").pk},
    ):
        with django_assert_max_num_queries(9):
            response = client.get(reverse("case-list"), params)
        assert response.status_code == 200 and len(codes(response.content.decode())) == 1
    with django_assert_max_num_queries(9):
        assert client.get(reverse("case-list-export")).status_code == 200
