"""After ``seed_demo`` the 2020 report equals both tables of the seed report (section V of
``tests/reports/seed/rendicion-publica-de-cuentas-2020.txt``, a verbatim copy of
``/work/shared/seed/``), computed from the ledger only.

The published figures are read from the report's text, not typed here: the table by funding source
(to the centavo, ``987.934,29``) and the table by program (six rows, whole bolivianos and whole
percentages, as printed). The only things written here are which of our programs and sub-programs
each printed row names.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from budget.models import BudgetLine, BudgetMovement
from budget.selectors import ledger_mismatches
from cases.templatetags.expediente_tags import money
from reports.exports import csv_text
from reports.selectors import budget_execution

from .conftest import api_client

pytestmark = pytest.mark.django_db

SEED = Path(__file__).parent / "seed" / "rendicion-publica-de-cuentas-2020.txt"
SHARED_SEED = Path("/work/shared/seed/rendicion-publica-de-cuentas-2020.txt")

# Which program (and sub-program) each row of the printed table "POR PROGRAMA" is.
PRINTED_PROGRAMS = {
    "Pro Bolivia": ("PROBOLIVIA", None),
    "Centros de Tecnológicos de Innovación": ("CETIP", None),
    "Registro y Acreditación": ("REGISTRO", None),
    "Pro Leche": ("PROLECHE", None),
    "Promype/Jiwasa": ("PROMYPE", "JIWASA"),
    "Promype Fase 2": ("PROMYPE", "FASE2"),
}


# --- The published tables, read from the seed report ------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    name: str  # as printed, spaces removed (the PDF's text splits words: "Tes oro General")
    in_force: str  # "1.037.603,00"
    executed: str
    balance: str


@dataclass(frozen=True)
class ProgramRow:
    sources: tuple[str, ...]  # the "Fte. Fin." column: "10" and "11" for CETIP (its second line)
    name: str
    in_force: int
    executed: int
    balance: int
    percent: int


def _int(text: str) -> int:
    return int(text.replace(".", ""))


def published_by_source(text: str) -> tuple[list[SourceRow], SourceRow]:
    """The table by source (printed twice in the report, identically)."""
    money_ = r"(\d{1,3}(?:\.\d{3})*,\d{2})"
    row = re.compile(rf"^(.+?) {money_} {money_} {money_}\s*$")
    tables: list[list[SourceRow]] = []
    current: list[SourceRow] | None = None
    for line in text.splitlines():
        if line.replace(" ", "").startswith("DescripciónFuente"):
            current = []
            tables.append(current)
            continue
        if current is None:
            continue
        match = row.match(line.strip())
        if match:
            current.append(SourceRow(match[1].replace(" ", ""), match[2], match[3], match[4]))
            if match[1].strip() == "TOTAL":
                current = None
    assert len(tables) == 2 and tables[0] == tables[1], tables
    *rows, total = tables[0]
    assert total.name == "TOTAL"
    return rows, total


def published_by_program(text: str) -> tuple[list[ProgramRow], ProgramRow]:
    section = text[text.index("POR PROGRAMA") :]
    figures = r"(\d{1,3}(?:\.\d{3})*) (\d{1,3}(?:\.\d{3})*) (\d{1,3}(?:\.\d{3})*) (\d+)"
    row = re.compile(rf"^(\d+) (.+?) {figures}$")
    total = re.compile(rf"^Total {figures}$")
    rows: list[ProgramRow] = []
    for raw in section.splitlines():
        line = raw.strip()
        if match := row.match(line):
            figs = [_int(match[i]) for i in range(3, 7)]
            rows.append(ProgramRow((match[1],), match[2], *figs))
        elif re.fullmatch(r"\d+", line) and rows:  # a program's further source, on its own line
            rows[-1] = dataclasses.replace(rows[-1], sources=(*rows[-1].sources, line))
        elif match := total.match(line):
            return rows, ProgramRow((), "Total", *[_int(match[i]) for i in range(1, 5)])
    raise AssertionError("no Total row in the table by program")


def published_summary(text: str) -> tuple[str, str, str, str]:
    """Section V's sentence: in force, executed, percent, balance."""
    flat = " ".join(text.split())
    match = re.search(
        r"presupuesto vigente de PRO-BOLIVIA fue de Bs ([\d.,]+) y el pre- ?supuesto ejecutado fue de "
        r"Bs ([\d.,]+), alcanzando una ejecución presupuestaria de ([\d,]+)%-?con un saldo de Bs ([\d.,]+)",
        flat,
    )
    assert match, "section V's summary sentence not found"
    return match[1], match[2], match[3], match[4].rstrip(".")


# --- The checks -------------------------------------------------------------------------------------


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def seed_text() -> str:
    text = SEED.read_text(encoding="utf-8")
    if SHARED_SEED.exists():  # the copy is the report itself
        assert text == SHARED_SEED.read_text(encoding="utf-8")
    return text


def whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_seed_tables_are_read_whole(seed_text):
    """The parser finds every row of both tables (a row it missed would go unchecked below)."""
    sources, total = published_by_source(seed_text)
    assert len(sources) == 5 and total.in_force == "60.949.269,00"
    programs, program_total = published_by_program(seed_text)
    assert [p.name for p in programs] == list(PRINTED_PROGRAMS)
    assert programs[1].sources == ("10", "11")  # CETIP's second source, printed on a line of its own
    assert program_total.in_force == 60949269


def test_2020_by_source_equals_the_published_table_to_the_centavo(seeded, seed_text):
    report = budget_execution(2020)
    assert report.ledger_reconciles and ledger_mismatches() == []
    published, published_total = published_by_source(seed_text)
    with translation.override("es"):
        ours = [
            SourceRow(r.name.replace(" ", ""), money(r.in_force), money(r.executed), money(r.balance))
            for r in report.by_source
        ]
        total = SourceRow(
            "TOTAL", money(report.total.in_force), money(report.total.executed), money(report.total.balance)
        )
    assert ours == published  # every row, in the printed order (source codes 10, 11, 42, 44, 80)
    assert total == published_total
    in_force, executed, pct, balance = published_summary(seed_text)
    with translation.override("es"):
        assert (money(report.total.in_force), money(report.total.executed), money(report.total.balance)) == (
            in_force,
            executed,
            balance,
        )
    assert f"{report.total.percent}".replace(".", ",") == pct  # "52,6%"


def test_2020_by_program_equals_the_published_table_six_rows(seeded, seed_text):
    report = budget_execution(2020)
    published, published_total = published_by_program(seed_text)
    ours = {
        (program.code, sub.code if sub else None): sub or program for program, sub in report.published_rows
    }
    assert set(ours) == set(PRINTED_PROGRAMS.values())  # six rows, PROMYPE's two sub-programs apart
    lines = BudgetLine.objects.filter(fiscal_year=2020).select_related("program", "subprogram", "source")
    for row in published:
        key = PRINTED_PROGRAMS[row.name]
        mine = ours[key]
        assert (whole(mine.in_force), whole(mine.executed), whole(mine.balance), whole(mine.percent)) == (
            row.in_force,
            row.executed,
            row.balance,
            row.percent,
        ), row.name
        sources = {
            line.source.code
            for line in lines
            if line.program.code == key[0] and (line.subprogram.code if line.subprogram else None) == key[1]
        }
        assert set(row.sources) <= sources, row.name  # every source printed against the row feeds it
    total = report.total
    assert (whole(total.in_force), whole(total.executed), whole(total.balance), whole(total.percent)) == (
        published_total.in_force,
        published_total.executed,
        published_total.balance,
        published_total.percent,
    )


def test_promype_rolls_up_and_drills_down(seeded):
    report = budget_execution(2020)
    promype = next(r for r in report.by_program if r.code == "PROMYPE")
    assert [s.code for s in promype.subprograms] == ["FASE2", "JIWASA"]
    assert sum(s.in_force for s in promype.subprograms) == promype.in_force == Decimal("15591073.00")
    assert sum(s.executed for s in promype.subprograms) == promype.executed == Decimal("2438565.38")
    assert promype.percent == Decimal("15.6")  # the merged row the demo used to show, now a roll-up
    assert [s.percent for s in promype.subprograms] == [Decimal("7.0"), Decimal("100.0")]
    assert all(not r.subprograms for r in report.by_program if r.code != "PROMYPE")


def test_2020_through_the_public_api(seeded):
    body = api_client().get("/api/v1/reports/budget-execution/", {"fiscal_year": 2020}).json()
    assert body["total"] == {
        "in_force": "60949269.00",
        "executed": "32077374.70",
        "balance": "28871894.30",
        "percent": "52.6",
    }
    assert [s["source"] for s in body["by_source"]] == ["10", "11", "42", "44", "80"]
    promype = next(p for p in body["by_program"] if p["program"] == "PROMYPE")
    assert {k: promype[k] for k in ("in_force", "executed", "balance", "percent")} == {
        "in_force": "15591073.00",
        "executed": "2438565.38",
        "balance": "13152507.62",
        "percent": "15.6",
    }
    assert promype["subprograms"] == [
        {
            "subprogram": "FASE2",
            "name": "Promype Fase 2",
            "in_force": "14145572.00",
            "executed": "993441.69",
            "balance": "13152130.31",
            "percent": "7.0",
        },
        {
            "subprogram": "JIWASA",
            "name": "Promype/Jiwasa",
            "in_force": "1445501.00",
            "executed": "1445123.69",
            "balance": "377.31",
            "percent": "100.0",
        },
    ]


def test_2020_csv_has_the_sub_program_rows(seeded):
    rows = [line.split(",") for line in csv_text(budget_execution(2020)).lstrip("\ufeff").splitlines()]
    subs = [(r[1], r[2], r[4], r[5]) for r in rows if r[1] == "subprogram"]
    assert subs == [
        ("subprogram", "PROMYPE/FASE2", "14145572.00", "993441.69"),
        ("subprogram", "PROMYPE/JIWASA", "1445501.00", "1445123.69"),
    ]
    codes = [r[2] for r in rows if r[1] in ("program", "subprogram")]
    assert codes.index("PROMYPE/FASE2") == codes.index("PROMYPE") + 1  # right under their program


def test_the_2020_execution_is_seeded_once_through_the_ledger(seeded):
    expenditures = BudgetMovement.objects.filter(line__fiscal_year=2020, kind=BudgetMovement.Kind.EXPENDITURE)
    assert expenditures.count() == 8
    assert {m.date.isoformat() for m in expenditures} == {"2020-12-31"}
    assert {m.actor.username for m in expenditures} == {"system"}
    lines = BudgetLine.objects.filter(fiscal_year=2020)
    assert all(line.da_ue and line.activity and line.funder and line.object_of_expenditure for line in lines)
    before = BudgetMovement.objects.count()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert BudgetMovement.objects.count() == before
    assert "nothing to do" in out.getvalue()


def test_a_sub_program_drills_down_to_its_movements(seeded):
    from django.test import Client

    from registry.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(User.objects.get(username="finanzas1"))
    page = client.get("/reports/2020/program/PROMYPE/JIWASA/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1.445.123,69" in text and "Conciliado" in text and "/reports/2020/program/PROMYPE/" in text
    assert "993.441,69" not in text  # Fase 2's movement is not Jiwasa's
    assert client.get("/reports/2020/program/PROMYPE/NOPE/").status_code == 404
    assert client.get("/reports/2020/program/CETIP/JIWASA/").status_code == 404
    assert Client().get("/reports/2020/program/PROMYPE/JIWASA/").status_code == 302  # sign in first


def test_2020_xlsx_and_pdf_show_the_sub_programs_under_promype(seeded):
    from openpyxl import load_workbook

    from reports.exports import report_file

    from .test_api import pdf_text

    report = budget_execution(2020)
    with translation.override("es"):
        xlsx, pdf = report_file(report, "xlsx"), report_file(report, "pdf")
    rows = [list(r) for r in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True)]
    codes = [r[0] for r in rows]
    at = codes.index("PROMYPE")
    assert [(r[0], r[1], r[2], r[3]) for r in rows[at + 1 : at + 3]] == [
        ("FASE2", "Promype Fase 2", 14145572, 993441.69),
        ("JIWASA", "Promype/Jiwasa", 1445501, 1445123.69),
    ]
    assert rows[at + 3][0] == "REGISTRO"
    text = pdf_text(pdf.content)
    assert (
        text.index("PROMYPE")
        < text.index("Promype Fase 2")
        < text.index("Promype/Jiwasa")
        < text.index("REGISTRO")
    )
    assert "993.441,69" in text and "1.445.123,69" in text and "100,0 %" in text
