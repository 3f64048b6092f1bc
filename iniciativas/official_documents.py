"""The official documents an initiative gives birth to, drawn by the kernel's renderer
(``cases.official_pdf``) and numbered by ``cases.official`` inside the step's transaction:

- the certificación presupuestaria, at the budget certification step (after the reservation);
- the resolución de aprobación, at the decision that approves the case (the last step of its chain);
- the convenio, at the agreement step (legal records its number and signing date);
- the acta de cierre, at the close-out (finance records the refund and the record's number).

Each handler puts the document's number and SHA-256 into its step's audit entry (``record``). The
amount printed is the approved one (``approved_amount``, when the case has it) or else the requested.
"""

from __future__ import annotations

from decimal import Decimal

from cases import official_pdf
from cases.official_pdf import OfficialPdf
from workflows import official as official_documents

from .models import KIND, TrancheUnlock

TEMPLATE_VERSION = "2026.1"

issue = official_documents.step_issuer(KIND, TEMPLATE_VERSION)


def granted(case) -> Decimal:
    """What the agency grants: the approved amount (lower than the request when the decision
    fixed it so), else the requested amount."""
    return getattr(case, "approved_amount", None) or case.granted_amount or case.requested_amount


def counterpart(case) -> Decimal:
    """The counterpart the unit owes: on the approved amount once fixed (``approved_counterpart``),
    else the one it offered."""
    return getattr(case, "approved_counterpart", None) or case.counterpart_amount


def _approved_less_rows(case) -> list[tuple[str, str]]:
    """When the approved amount is lower than the requested one: the request and the reason."""
    approved = getattr(case, "approved_amount", None)
    if approved is None or approved >= case.requested_amount:
        return []
    return [
        ("Monto solicitado", official_pdf.amount_in_figures(case.requested_amount)),
        ("Motivo del monto aprobado", case.approved_amount_reason),
    ]


def _unit_rows(case) -> list[tuple[str, str]]:
    return official_pdf.unit_rows(case.unit, case.department)


def _initiative_rows(case) -> list[tuple[str, str]]:
    return [
        ("Iniciativa", case.title),
        ("Convocatoria", f"{case.call.code} — {case.call.title}"),
        ("Programa", f"{case.call.program.code} — {case.call.program.name}"),
    ]


def _line(case) -> str:
    return official_pdf.budget_line(case.budget_line)


def certification(case, *, number: str, code: str, url: str) -> OfficialPdf:
    kind = official_pdf.BUDGET_CERTIFICATION
    return OfficialPdf(
        title=kind.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "La Unidad de Finanzas de PRO-BOLIVIA certifica que existe saldo presupuestario disponible y "
            "suficiente en la partida indicada, y que el monto siguiente queda reservado para la "
            "iniciativa productiva descrita:"
        ),
        rows=[
            ("Trámite", case.code),
            *_unit_rows(case),
            *_initiative_rows(case),
            ("Partida presupuestaria", _line(case)),
        ],
        amounts=[("Monto certificado", granted(case))],
        clauses=[
            "La presente certificación respalda únicamente el monto señalado y no constituye "
            "compromiso de pago; el compromiso nace con la firma del convenio."
        ],
        signatures=["Responsable de Presupuesto — Unidad de Finanzas"],
    )


def resolution(case, *, number: str, code: str, url: str) -> OfficialPdf:
    kind = official_pdf.RESOLUTION
    amount = granted(case)
    rows = [("Trámite", case.code), *_unit_rows(case), *_initiative_rows(case)]
    if case.evaluation_score is not None:
        rows.append(("Puntaje de la evaluación técnica", f"{case.evaluation_score:.2f}".replace(".", ",")))
    if case.resolution_number:
        rows.append(("Resolución de la Dirección", case.resolution_number))
    rows.append(("Partida presupuestaria", _line(case)))
    rows.extend(_approved_less_rows(case))
    return OfficialPdf(
        title=kind.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "VISTOS: la solicitud de financiamiento de la iniciativa productiva descrita, los informes "
            "de admisibilidad y de evaluación técnica favorables, el informe legal y la certificación "
            "presupuestaria que cursan en el expediente. CONSIDERANDO: que la iniciativa cumple las "
            "bases de la convocatoria y la política de aprobación vigente, PRO-BOLIVIA"
        ),
        rows=rows,
        amounts=[
            ("Monto aprobado", amount),
            ("Contraparte comprometida", counterpart(case)),
        ],
        clauses=[
            f"RESUELVE: PRIMERO.- Aprobar el financiamiento de la iniciativa {case.code} por el monto "
            f"de {official_pdf.amount_in_figures(amount)} ({official_pdf.amount_in_words(amount)}).",
            "SEGUNDO.- Instruir a la Unidad Legal la suscripción del convenio de financiamiento y a la "
            "Unidad de Finanzas el desembolso por tramos conforme al plan de la convocatoria.",
        ],
        signatures=["Director(a) General Ejecutivo(a) — MAE"],
    )


def agreement(case, *, number: str, code: str, url: str) -> OfficialPdf:
    from .services import tranche_amounts

    kind = official_pdf.AGREEMENT
    amount = granted(case)
    plan = [str(p) for p in case.call.tranche_plan] or ["100"]
    table = [["Tramo", "Porcentaje", "Monto", "Condición"]]
    for n, (percent, value) in enumerate(zip(plan, tranche_amounts(case), strict=False), start=1):
        if case.call.unlock_of(n) == TrancheUnlock.AGREEMENT:
            condition = "Firma del convenio" if n == 1 else f"Pago del tramo {n - 1}"
        else:
            condition = f"Informe de avance del tramo {n - 1} aprobado"
        table.append([str(n), f"{percent} %", official_pdf.amount_in_figures(value), condition])
    return OfficialPdf(
        title=kind.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            f"Conste por el presente convenio de financiamiento, suscrito entre PRO-BOLIVIA y la unidad "
            f"productiva {case.unit.name} (NIT {case.unit.tax_id}), el financiamiento no reembolsable "
            "de la iniciativa productiva descrita, bajo las cláusulas siguientes:"
        ),
        rows=[
            ("Trámite", case.code),
            *_unit_rows(case),
            *_initiative_rows(case),
            ("N.º de convenio (Unidad Legal)", case.agreement_number),
            ("Fecha de suscripción", official_pdf.short_date(case.agreement_signed_on)),
        ],
        amounts=[("Monto del financiamiento", amount), ("Contraparte", counterpart(case))],
        table_title="Plan de desembolsos",
        table=table,
        table_widths=[0.1, 0.15, 0.25, 0.5],
        clauses=[
            "PRIMERA (Objeto).- PRO-BOLIVIA financia la iniciativa descrita por el monto señalado, que la "
            "unidad productiva destinará exclusivamente a lo aprobado.",
            "SEGUNDA (Contraparte).- La unidad productiva aporta la contraparte señalada, que será "
            "verificada en cada informe de avance.",
            "TERCERA (Desembolsos).- Los desembolsos se realizan por tramos; cada tramo posterior requiere "
            "el informe de avance del anterior aprobado con la contraparte verificada.",
            "CUARTA (Cierre y devolución).- Al cierre, la unidad productiva devuelve el saldo no "
            "ejecutado según el informe final aprobado.",
        ],
        signatures=[
            "Por PRO-BOLIVIA — Director(a) General Ejecutivo(a)",
            f"Por la unidad productiva — Representante legal de {case.unit.name}",
        ],
    )


def closeout(case, *, number: str, code: str, url: str) -> OfficialPdf:
    from .conditions import paid_amount

    kind = official_pdf.CLOSEOUT_RECORD
    paid = paid_amount(case)
    return OfficialPdf(
        title=kind.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "En cumplimiento del convenio de financiamiento, se deja constancia del cierre de la "
            "iniciativa productiva descrita, con el informe final aprobado y la contraparte verificada:"
        ),
        rows=[
            ("Trámite", case.code),
            *_unit_rows(case),
            *_initiative_rows(case),
            ("N.º de convenio (Unidad Legal)", case.agreement_number or "—"),
            ("N.º de acta (Unidad de Finanzas)", case.closeout_record),
            ("Tramos pagados", str(case.tranches.count())),
        ],
        amounts=[
            ("Monto aprobado", granted(case)),
            ("Monto desembolsado", paid),
            ("Monto ejecutado", paid - case.refunded_amount),
            ("Saldo devuelto", case.refunded_amount),
        ],
        clauses=[
            "Con la devolución del saldo no ejecutado, las partes dan por cumplido el convenio y por "
            "cerrado el expediente."
        ],
        signatures=["Unidad de Finanzas — PRO-BOLIVIA", f"Representante legal de {case.unit.name}"],
    )
