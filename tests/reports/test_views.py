import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from openpyxl import load_workbook

from cases.roles import Role
from reports.selectors import current_fiscal_year
from tests.factories import BudgetLineFactory

from .conftest import make_world, user_with
from .test_api import pdf_text

pytestmark = pytest.mark.django_db
PAGE = "/reports/"


def client_for(user=None, language: str | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_public_page_in_spanish(world):
    response = client_for().get(PAGE, {"fiscal_year": world.year})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Ejecución presupuestaria — gestión {world.year}" in html
    for figure in ("Bs 3.500,00", "Bs 953,75", "Bs 2.546,25", "27,3 %", "1.946,25", "22,2 %", "18,5 %"):
        assert figure in html, figure
    assert "Por fuente de financiamiento" in html and "Por programa" in html
    assert "Tesoro General de la Nación" in html and "Fondo PROLECHE" in html
    # downloads
    for href in (
        f"/reports/{world.year}/ejecucion-presupuestaria.xlsx",
        f"/reports/{world.year}/ejecucion-presupuestaria.pdf",
        f"/reports/{world.year}/ejecucion-presupuestaria.csv",
        f"/api/v1/reports/budget-execution/?fiscal_year={world.year}",
    ):
        assert f'href="{href}"' in html, href
    # no drill-down and no personal data for the public
    assert "/program/" not in html and "/source/" not in html
    assert world.finance.username not in html
    assert world.case.code not in html
    assert f'<option value="{world.year}" selected>{world.year}</option>' in html  # no "2.025"


def test_default_year_is_the_latest_closed_one(world, finance):
    current = current_fiscal_year()
    BudgetLineFactory(fiscal_year=current)
    response = client_for().get(PAGE)
    assert response.status_code == 200
    assert response.context["fiscal_year"] == world.year
    assert f'value="{current}"' not in response.content.decode()  # the public is not offered it
    staff = client_for(finance).get(PAGE).content.decode()
    assert f'<option value="{current}">{current} (en curso)</option>' in staff


def test_english_through_the_language_switch(world):
    html = client_for(language="en").get(PAGE, {"fiscal_year": world.year}).content.decode()
    assert f"Budget execution — fiscal year {world.year}" in html
    assert "Bs 3,500.00" in html and "27.3 %" in html


def test_bad_year_is_400_with_a_spanish_message(db):
    response = client_for().get(PAGE, {"fiscal_year": "abc"})
    assert response.status_code == 400
    assert "Introduzca una gestión entre 2000 y 2100." in response.content.decode()


def test_current_year_is_staff_only(db, finance):
    current = make_world(current_fiscal_year(), finance)
    anonymous = client_for().get(PAGE, {"fiscal_year": current.year})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert client_for(user_with(Role.APPLICANT)).get(PAGE, {"fiscal_year": current.year}).status_code == 404
    assert client_for(user_with(Role.EVALUATOR)).get(PAGE, {"fiscal_year": current.year}).status_code == 404
    xlsx = f"/reports/{current.year}/ejecucion-presupuestaria.xlsx"
    assert client_for(user_with(Role.APPLICANT)).get(xlsx).status_code == 404
    assert client_for().get(xlsx).status_code == 302
    response = client_for(user_with(Role.DIRECTOR)).get(PAGE, {"fiscal_year": current.year})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Gestión en curso: cifras provisionales" in html
    assert "Bs 953,75" in html


def test_downloads_from_the_page(world):
    client = client_for()
    xlsx = client.get(f"/reports/{world.year}/ejecucion-presupuestaria.xlsx")
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"] == f'attachment; filename="ejecucion-presupuestaria-{world.year}.xlsx"'
    assert load_workbook(io.BytesIO(xlsx.content)).active["A1"].value.startswith("Ejecución presupuestaria")
    pdf = client.get(f"/reports/{world.year}/ejecucion-presupuestaria.pdf")
    assert "2.546,25" in pdf_text(pdf.content)
    csv = client.get(f"/reports/{world.year}/ejecucion-presupuestaria.csv")
    assert csv.content.decode("utf-8-sig").splitlines()[-1] == (
        f"{world.year},total,,Total,3500.00,953.75,2546.25,27.3"
    )
    english = client_for(language="en").get(f"/reports/{world.year}/ejecucion-presupuestaria.pdf")
    assert "2,546.25" in pdf_text(english.content)
    assert client.get("/reports/1999/ejecucion-presupuestaria.pdf").status_code == 404


def test_staff_see_links_to_the_movements(world):
    html = client_for(world.finance).get(PAGE, {"fiscal_year": world.year}).content.decode()
    assert f'href="/reports/{world.year}/program/PROLECHE/"' in html
    assert f'href="/reports/{world.year}/source/80/"' in html
    assert 'href="/reports/"' in html  # the nav link


def test_drill_down_lists_the_movements(world, django_assert_max_num_queries):
    client = client_for(world.finance)
    with django_assert_max_num_queries(12):
        response = client.get(f"/reports/{world.year}/program/PROLECHE/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Programa PROLECHE · Fondo PROLECHE" in html
    rows = [
        (line["movement"].kind, line["signed_amount"], line["case_url"]) for line in response.context["lines"]
    ]
    assert rows == [
        ("execute", Decimal("400.00"), "/initiatives/42/"),
        ("expenditure", Decimal("153.75"), None),
    ]
    assert f'<a href="/initiatives/42/">{world.case.code}</a>' in html
    assert "sin caso (gasto operativo)" in html and "Servicios básicos" in html
    assert response.context["movements_total"] == response.context["row"].executed
    assert "Bs 553,75" in html


def test_drill_down_by_source_subtracts_refunds(world):
    response = client_for(user_with(Role.INTERNAL_CONTROL)).get(f"/reports/{world.year}/source/80/")
    assert response.status_code == 200
    amounts = [str(line["signed_amount"]) for line in response.context["lines"]]
    assert amounts == ["153.75", "500.00", "-100.00"]  # in the order recorded
    html = response.content.decode()
    assert "-100,00" in html
    assert f"TRF-{world.year}-000007" in html  # a case without a page: its code, no link
    assert f'href="/audit/case/TRF-{world.year}-000007/"' in html  # internal control: the case's trail
    assert response.context["movements_total"] == Decimal("553.75")


def test_drill_down_is_refused_to_non_staff(world):
    url = f"/reports/{world.year}/program/PROLECHE/"
    anonymous = client_for().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    for role in (Role.APPLICANT, Role.EVALUATOR, Role.LEGAL):
        assert client_for(user_with(role)).get(url).status_code == 404, role
    assert client_for(world.finance).get(f"/reports/{world.year}/program/NOPE/").status_code == 404


def test_anonymous_visitors_find_the_public_report_from_any_page(db):
    """The footer links the transparency page for everyone (the nav only shows to signed-in users)."""
    from django.urls import reverse

    html = Client().get(reverse("login")).content.decode()
    assert 'href="/reports/"' in html and "Rendición pública de cuentas" in html
