"""After ``seed_demo`` the 2020 goals table reproduces section IV of the seed report
(``/work/shared/seed/rendicion-publica-de-cuentas-2020.txt``): every goal with a figure, per program,
with its result as published, each result entered with its evidence (SHA-256) and audited."""

import hashlib
import io
import os

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from audit.models import AuditEntry
from reports import services
from reports.exports import report_file
from reports.models import ProgressEntry
from reports.selectors import attainment

from .conftest import api_client
from .test_api import pdf_text

pytestmark = pytest.mark.django_db

# §IV, program by program: (the goal as the report words it, the attainment as the report shows it)
SEED_GOALS = {
    "CETIP": [
        ("Servicios de transferencia tecnológica del CETIP Cuero Cochabamba", "0 de 1 — 0,0 %"),
        ("Servicios de transferencia tecnológica del CETIP Textil Potosí", "0 de 13 — 0,0 %"),
        ("Servicios de transferencia tecnológica del CETIP Madera El Alto", "0 de 15 — 0,0 %"),
        ("Servicios de desarrollo productivo del CETIP Cuero Cochabamba", "0 de 20 — 0,0 %"),
        ("Servicios de desarrollo productivo del CETIP Textil El Alto", "0 de 345 — 0,0 %"),
        ("Servicios de desarrollo productivo del CETIP Textil Potosí", "0 de 280 — 0,0 %"),
        ("Servicios de desarrollo productivo del CETIP Madera El Alto", "0 de 155 — 0,0 %"),
    ],
    "PROLECHE": [
        ("Incremento del consumo de leche y derivados a 64 litros per cápita por año", "Sin avance registrado (meta 64)"),  # noqa: E501
        ("Observatorio Nacional de la Producción de Leche establecido", "0 de 1 — 0,0 %"),
    ],
    "PROMYPE": [
        ("Cierre responsable PROMYPE (fase 1)", "1 de 1 — 100,0 %"),
        ("Propuestas de desarrollo para la MYPE elaboradas con ETA y privadas", "0 de 3 — 0,0 %"),
        ("Entidades territoriales autónomas que adaptan el PROMYPE", "0 de 2 — 0,0 %"),
        ("Redes de información de apoyo a la MYPE conformadas (plataformas digitales)", "0 de 3 — 0,0 %"),
        ("Reducción anual de costos unitarios de MYPE beneficiarias", "0 de 2 — 0,0 %"),
        ("Incremento anual de ventas de MYPE beneficiarias", "0 de 10 — 0,0 %"),
        ("Incremento anual de la productividad de las MYPE", "0 de 8 — 0,0 %"),
        ("Incentivo preferencial para el financiamiento", "0 de 1 — 0,0 %"),
        ("MYPE con mayor acceso a mercados", "0 de 20 — 0,0 %"),
    ],
    "REGISTRO": [
        ("Mypes nuevas registradas, artesanos, proveedores a Unidades Productivas e ICAP", "1.327 de 1.500 — 88,5 %"),  # noqa: E501
        ("Unidades productivas renovadas y acreditadas", "1.458 de 1.000 — 145,8 %"),
    ],
}  # fmt: skip
UNITS = {"PROMYPE": ["cierre", "propuestas", "ETA", "redes", "%", "%", "%", "incentivo", "% de MYPE"]}


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_the_2020_goals_table_reproduces_section_iv(seeded):
    with translation.override("es"):
        report = attainment(2020)
        table = {
            group.code: [(g.indicator, g.text) for g in group.goals]
            for group in report.by_program
            if group.goals
        }
    assert table == SEED_GOALS
    promype = next(g for g in report.by_program if g.code == "PROMYPE")
    assert [g.unit for g in promype.goals] == UNITS["PROMYPE"]
    registro = next(g for g in report.by_program if g.code == "REGISTRO")
    assert [(str(g.result), str(g.target), str(g.percent)) for g in registro.goals] == [
        ("1327.00", "1500.00", "88.5"),
        ("1458.00", "1000.00", "145.8"),
    ]
    assert not report.total.goals and all(not g.is_computed for g in registro.goals)
    # Every published result is one progress entry with its evidence, audited with its SHA-256.
    entries = list(ProgressEntry.objects.select_related("evidence"))
    assert len(entries) == 19  # 20 goals; the milk consumption one was not measured
    for entry in entries:
        content = entry.evidence.file.open("rb").read()
        assert entry.evidence.sha256 == hashlib.sha256(content).hexdigest() and content.startswith(b"%PDF-")
    trail = {
        e.data["entry"]: e.data["evidence"]["sha256"]
        for e in AuditEntry.objects.filter(action=services.PROGRESS_RECORDED)
    }
    assert trail == {entry.pk: entry.evidence.sha256 for entry in entries}
    # A second run writes nothing.
    before = AuditEntry.objects.count()
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert AuditEntry.objects.count() == before


def test_the_figures_in_every_output(seeded):
    body = api_client().get("/api/v1/reports/attainment/", {"fiscal_year": 2020}).json()
    registro = next(g for g in body["by_program"] if g["program"] == "REGISTRO")
    assert [(g["target"], g["result"], g["percent"]) for g in registro["goals"]] == [
        ("1500", "1327", "88.5"),
        ("1000", "1458", "145.8"),
    ]
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get("/reports/metas/?fiscal_year=2020").content.decode()
    for goals in SEED_GOALS.values():
        for indicator, text in goals:
            assert indicator in page and text in page
    with translation.override("es"):
        report = attainment(2020)
        workbook = load_workbook(io.BytesIO(report_file(report, "xlsx").content))
        pdf = pdf_text(report_file(report, "pdf").content)
    rows = [[c.value for c in row] for row in workbook["Plan anual (POA)"].iter_rows(min_row=4)]
    texts = {(row[0], row[1]): row[7] for row in rows}
    for code, goals in SEED_GOALS.items():
        for indicator, text in goals:
            assert texts[(code, indicator)] == text
    for code in ("REGISTRO", "PROMYPE"):
        for indicator, text in SEED_GOALS[code]:
            result, _dash, percent = text.partition(" — ")
            prefix = indicator[:18]  # drawn as is: ASCII, no parentheses (PDF strings escape them)
            assert result in pdf and percent in pdf and (not prefix.isascii() or prefix in pdf)


def test_each_goal_with_a_result_has_its_attainment_bar(seeded):
    import re

    page = Client(HTTP_ACCEPT_LANGUAGE="es").get("/reports/metas/?fiscal_year=2020").content.decode()
    plan = page[page.index('id="metas-poa"') : page.index('id="metas-y-resultados"')]
    bars = re.findall(
        r'<svg class="attain-bar"[^>]*>.*?width="([\d.]+)" height="6" fill="([^"]+)"/></svg>', plan
    )
    widths = [w for w, _fill in bars]
    # 1.327 of 1.500 is 88,5 %; 1.458 of 1.000 fills the bar (exceeded: green); goals without progress
    # ("Sin avance registrado") have no bar, the rest are drawn at 0.
    assert "88.50" in widths and ("100.00", "#1f6f43") in bars
    assert len(bars) == sum(len(g) for g in SEED_GOALS.values()) - 1
    assert all(0 <= float(w) <= 100 for w in widths) and 'aria-hidden="true"' in plan
