import base64
import csv
import io
import re
import zlib
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cases.roles import Role
from reports.selectors import current_fiscal_year

from .conftest import api_client, make_world, user_with

D = Decimal
URL = "/api/v1/reports/budget-execution/"
pytestmark = pytest.mark.django_db

EXPECTED_SOURCES = [
    {"source": "10", "name": "Tesoro General de la Nación", "in_force": "1000.00", "executed": "400.00",
     "balance": "600.00", "percent": "40.0"},
    {"source": "80", "name": "Donación Externa", "in_force": "2500.00", "executed": "553.75",
     "balance": "1946.25", "percent": "22.2"},
]  # fmt: skip
EXPECTED_TOTAL = {"in_force": "3500.00", "executed": "953.75", "balance": "2546.25", "percent": "27.3"}


def pdf_text(content: bytes) -> str:
    """The text drawn on the pages: ReportLab writes Helvetica strings literally in its content
    streams, which are ASCII85 + Flate encoded (no PDF library needed to read them back)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", content, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data.removeprefix(b"<~").removesuffix(b"~>"))
        try:
            chunks.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(chunks)


def test_public_json_for_a_closed_year(world, django_assert_num_queries):
    # The first report of the closed year reads its lines and sums its ledger, and keeps the sums
    # (reports.ledger: one insert, in a savepoint); the next ones read the lines with their kept sums.
    with django_assert_num_queries(5):
        api_client().get(URL, {"fiscal_year": world.year})
    with django_assert_num_queries(1):
        response = api_client().get(URL, {"fiscal_year": world.year})
    assert response.status_code == 200
    body = response.json()
    assert body["fiscal_year"] == world.year
    assert body["closed"] is True and body["ledger_reconciles"] is True
    assert body["by_source"] == EXPECTED_SOURCES
    assert body["by_program"] == [
        {"program": "CETIP", "name": "Centros de Tecnología (CETIP)", "in_force": "0.00", "executed": "0.00",
         "balance": "0.00", "percent": None, "subprograms": []},
        {"program": "PROLECHE", "name": "Fondo PROLECHE", "in_force": "3000.00", "executed": "553.75",
         "balance": "2446.25", "percent": "18.5", "subprograms": []},
        {"program": "PROMYPE", "name": "Apoyo a micro y pequeñas empresas (PROMYPE)", "in_force": "500.00",
         "executed": "400.00", "balance": "100.00", "percent": "80.0", "subprograms": []},
    ]  # fmt: skip
    assert body["total"] == EXPECTED_TOTAL
    assert list(body["by_source"][0]) == ["source", "name", "in_force", "executed", "balance", "percent"]
    assert (
        api_client().get(URL, {"fiscal_year": world.year, "format": "json"}).json()["total"] == EXPECTED_TOTAL
    )


def test_current_year_is_staff_only(db, finance):
    current = make_world(current_fiscal_year(), finance)
    anonymous = api_client().get(URL, {"fiscal_year": current.year})
    assert anonymous.status_code == 401
    assert "detail" in anonymous.json()
    assert api_client().get(URL, {"fiscal_year": current.year + 1}).status_code == 401
    assert api_client().get(URL, {"fiscal_year": current.year, "format": "pdf"}).status_code == 401
    for role in (Role.APPLICANT, Role.EVALUATOR, Role.LEGAL):
        refused = api_client(user_with(role)).get(URL, {"fiscal_year": current.year})
        assert refused.status_code == 404, role
        assert refused.json() == {"detail": "No encontrado."}
        assert (
            api_client(user_with(role)).get(URL, {"fiscal_year": current.year, "format": "xlsx"}).status_code
            == 404
        )
    for role in (Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN):
        ok = api_client(user_with(role)).get(URL, {"fiscal_year": current.year})
        assert ok.status_code == 200, role
        assert ok.json()["closed"] is False
        assert ok.json()["total"]["executed"] == "953.75"


def test_applicant_sees_closed_years(world):
    response = api_client(user_with(Role.APPLICANT)).get(URL, {"fiscal_year": world.year})
    assert response.status_code == 200
    assert response.json()["total"] == EXPECTED_TOTAL


def test_token_authentication_works_for_the_current_year(db):
    from registry.services import issue_api_token

    director = user_with(Role.DIRECTOR)
    token = issue_api_token(director)
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(URL, {"fiscal_year": current_fiscal_year()}).status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"fiscal_year": ["Indique la gestión, por ejemplo 2020."]}),
        ({"fiscal_year": ""}, {"fiscal_year": ["Indique la gestión, por ejemplo 2020."]}),
        ({"fiscal_year": "dos mil"}, {"fiscal_year": ["Introduzca una gestión entre 2000 y 2100."]}),
        ({"fiscal_year": "2101"}, {"fiscal_year": ["Introduzca una gestión entre 2000 y 2100."]}),
        (
            {"fiscal_year": "2020", "format": "docx"},
            {"format": ["Formato desconocido docx: use uno de json, csv, xlsx, pdf."]},
        ),
        (
            {"format": "html"},
            {
                "fiscal_year": ["Indique la gestión, por ejemplo 2020."],
                "format": ["Formato desconocido html: use uno de json, csv, xlsx, pdf."],
            },
        ),
    ],
)
def test_bad_input_is_400_in_spanish(db, params, expected):
    response = api_client().get(URL, params)
    assert response.status_code == 400
    assert response.json() == expected


def test_bad_input_in_english(db):
    response = api_client(language="en").get(URL)
    assert response.status_code == 400
    assert response.json() == {"fiscal_year": ["Give the fiscal year, e.g. 2020."]}


def test_xlsx(world):
    response = api_client().get(URL, {"fiscal_year": world.year, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ejecucion-presupuestaria-{world.year}.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == f"Ejecución presupuestaria — gestión {world.year}"
    header = rows.index(["Fuente", "Descripción", "Presupuesto vigente", "Ejecución (devengado)", "Saldo",
                         "% ejecutado", "Montos en bolivianos (Bs)"])  # fmt: skip
    data = [row[:6] for row in rows[header + 1 : header + 4]]
    assert [(r[0], r[1]) for r in data] == [("10", "Tesoro General de la Nación"), ("80", "Donación Externa"),
                                            ("TOTAL", None)]  # fmt: skip
    as_decimals = [[D(str(v)).quantize(D("0.01")) for v in r[2:5]] + [D(str(r[5]))] for r in data]
    assert as_decimals == [
        [D("1000.00"), D("400.00"), D("600.00"), D("40.0")],
        [D("2500.00"), D("553.75"), D("1946.25"), D("22.2")],
        [D("3500.00"), D("953.75"), D("2546.25"), D("27.3")],
    ]
    programs = rows.index(["Programa", "Descripción", "Presupuesto vigente", "Ejecución (devengado)", "Saldo",
                           "% ejecutado", "Montos en bolivianos (Bs)"])  # fmt: skip
    assert [r[0] for r in rows[programs + 1 : programs + 5]] == ["CETIP", "PROLECHE", "PROMYPE", "TOTAL"]
    assert rows[programs + 1][5] is None  # nothing in force: no percentage
    cell = sheet.cell(header + 2, 3)
    assert cell.number_format == "#,##0.00"


def test_pdf(world):
    response = api_client().get(URL, {"fiscal_year": world.year, "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'attachment; filename="ejecucion-presupuestaria-{world.year}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    for expected in (
        "3.500,00",
        "953,75",
        "2.546,25",
        "27,3 %",
        "1.946,25",
        "TOTAL",
        "P\\341gina 1 de 1",  # "Página": the Latin-1 á is written as an octal escape
        "hora de La Paz",
    ):
        assert expected in text, expected


def test_csv_open_data(world):
    response = api_client().get(URL, {"fiscal_year": world.year, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="ejecucion-presupuestaria-{world.year}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["table"], r["code"], r["executed"], r["percent"]) for r in rows] == [
        ("source", "10", "400.00", "40.0"),
        ("source", "80", "553.75", "22.2"),
        ("program", "CETIP", "0.00", ""),
        ("program", "PROLECHE", "553.75", "18.5"),
        ("program", "PROMYPE", "400.00", "80.0"),
        ("total", "", "953.75", "27.3"),
    ]
    assert rows[-1] | {"name": None} == {
        "fiscal_year": str(world.year), "table": "total", "code": "", "name": None, "in_force": "3500.00",
        "executed": "953.75", "balance": "2546.25", "percent": "27.3",
    }  # fmt: skip


def test_the_schema_documents_the_report():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/reports/budget-execution/"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["fiscal_year"]["required"] is True
    assert sorted(params["format"]["schema"]["enum"]) == ["csv", "json", "pdf", "xlsx"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    }
    assert {"400", "401", "404"} <= set(operation["responses"])
    row = schema["components"]["schemas"]["SourceExecution"]["properties"]
    assert list(row) == ["source", "name", "in_force", "executed", "balance", "percent"]
