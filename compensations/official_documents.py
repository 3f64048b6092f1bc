"""The official documents of a price-compensation agreement, drawn by the kernel's renderer
(``cases.official_pdf``) and numbered by ``cases.official`` inside the step's transaction, after the
step's budget move (lock order):

- the certificación presupuestaria of the ceiling, at the budget certification;
- the resolución de aprobación (rate, period, ceiling), at the director's resolution.

Each puts its number and SHA-256 into the step's audit entry."""

from __future__ import annotations

from cases import official_pdf
from cases.official_pdf import OfficialPdf
from workflows import official as official_documents

from .models import AGREEMENT_KIND

TEMPLATE_VERSION = "2026.1"

issue = official_documents.step_issuer(AGREEMENT_KIND, TEMPLATE_VERSION)


def _rows(agreement) -> list[tuple[str, str]]:
    line = agreement.budget_line
    return [
        ("Trámite", agreement.code),
        *official_pdf.unit_rows(agreement.unit, agreement.department, label="Empresa láctea"),
        ("Programa", f"{agreement.program.code} — {agreement.program.name}"),
        ("Compensación por litro de leche cruda", agreement.rate_display),
        ("Periodo", f"{agreement.first_month:%m/%Y} a {agreement.last_month:%m/%Y}"),
        (
            "Partida presupuestaria",
            f"Gestión {line.fiscal_year} · {line.program.code} · {line.source.code} {line.source.name}",
        ),
    ]


def certification(agreement, *, number: str, code: str, url: str) -> OfficialPdf:
    return OfficialPdf(
        title=official_pdf.BUDGET_CERTIFICATION.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=agreement.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "La Unidad de Finanzas de PRO-BOLIVIA certifica que existe saldo presupuestario disponible y "
            "suficiente en la partida indicada, y que el tope siguiente queda reservado para la "
            "compensación de precio descrita:"
        ),
        rows=_rows(agreement),
        amounts=[("Tope certificado", agreement.ceiling)],
        clauses=[
            "La presente certificación respalda únicamente el tope señalado; cada liquidación mensual se "
            "paga por los litros verificados, sin superarlo."
        ],
        signatures=["Responsable de Presupuesto — Unidad de Finanzas"],
    )


def resolution(agreement, *, number: str, code: str, url: str) -> OfficialPdf:
    return OfficialPdf(
        title=official_pdf.RESOLUTION.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=agreement.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "VISTOS: el convenio de compensación de precio descrito y la certificación presupuestaria que "
            "cursan en el expediente. CONSIDERANDO: que el programa PROLECHE compensa el precio de la "
            "leche cruda a las empresas lácteas por litro acopiado, PRO-BOLIVIA"
        ),
        rows=[*_rows(agreement), ("Resolución de la Dirección", agreement.resolution_number)],
        amounts=[("Tope del convenio", agreement.ceiling)],
        clauses=[
            f"RESUELVE: PRIMERO.- Aprobar el convenio {agreement.code} con {agreement.unit.name}, con una "
            f"compensación de {agreement.rate_display} por litro y un tope de "
            f"{official_pdf.amount_in_figures(agreement.ceiling)} "
            f"({official_pdf.amount_in_words(agreement.ceiling)}).",
            "SEGUNDO.- Instruir a la unidad técnica la verificación mensual de los litros declarados y a la "
            "Unidad de Finanzas su pago.",
        ],
        signatures=["Director(a) General Ejecutivo(a) — MAE"],
    )
