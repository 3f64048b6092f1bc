"""The official documents a transfer gives birth to, drawn by the kernel's renderer
(``cases.official_pdf``) and numbered by ``cases.official`` inside the step's transaction:

- the certificación presupuestaria, at the budget certification step (after the reservation);
- the resolución de aprobación (amount, use and destination), at the decision that approves it;
- the convenio, at the agreement step;
- in kind, the acta de entrega with every unit and its serial number, at the delivery record (a
  record the beneficiary refuses is recorded again: a new acta, the first one stays on file);
- the acta de cierre, at the follow-up visit that verifies the use and closes the case.

Each handler puts the document's number and SHA-256 into its step's audit entry (``issue``).
"""

from __future__ import annotations

from cases import official_pdf
from cases.official_pdf import OfficialPdf
from workflows import official as official_documents

from .models import KIND, AssetItem

TEMPLATE_VERSION = "2026.1"
issue = official_documents.step_issuer(KIND, TEMPLATE_VERSION)
ASSET_WIDTHS = (0.08, 0.6, 0.32)


def _beneficiary_rows(case) -> list[tuple[str, str]]:
    return official_pdf.unit_rows(case.beneficiary, case.department, label="Beneficiario")


def _transfer_rows(case) -> list[tuple[str, str]]:
    return [
        ("Tipo de transferencia", f"{case.get_kind_display()} — {case.get_modality_display().lower()}"),
        ("Programa", f"{case.program.code} — {case.program.name}"),
        ("Uso y destino", case.purpose or "—"),
    ]


def _line(case) -> str:
    return official_pdf.budget_line(case.budget_line)


def _assets_table(case, *, with_serials: bool) -> list[list[str]]:
    header = ["N.º", "Bien", "Serie" if with_serials else "Valor unitario"]
    rows = [header]
    items = (
        AssetItem.objects.filter(asset__transfer=case)
        .select_related("asset")
        .order_by("asset__position", "number")
    )
    for n, item in enumerate(items, start=1):
        last = item.serial if with_serials else official_pdf.amount_in_figures(item.asset.unit_value)
        rows.append([str(n), f"{item.asset.description} (unidad {item.number})", last or "—"])
    return rows


def certification(case, *, number: str, code: str, url: str) -> OfficialPdf:
    return OfficialPdf(
        title=official_pdf.BUDGET_CERTIFICATION.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "La Unidad de Finanzas de PRO-BOLIVIA certifica que existe saldo presupuestario disponible y "
            "suficiente en la partida indicada, y que el monto siguiente queda reservado para la "
            "transferencia descrita:"
        ),
        rows=[
            ("Trámite", case.code),
            *_beneficiary_rows(case),
            *_transfer_rows(case),
            ("Partida presupuestaria", _line(case)),
        ],
        amounts=[("Monto certificado", case.grant_amount)],
        clauses=[
            "La presente certificación respalda únicamente el monto señalado y no constituye "
            "compromiso de pago; el compromiso nace con la firma del convenio."
        ],
        signatures=["Responsable de Presupuesto — Unidad de Finanzas"],
    )


def resolution(case, *, number: str, code: str, url: str) -> OfficialPdf:
    rows = [("Trámite", case.code), *_beneficiary_rows(case), *_transfer_rows(case)]
    if case.resolution_number:
        rows.append(("Resolución de la Dirección", case.resolution_number))
    rows.append(("Partida presupuestaria", _line(case)))
    return OfficialPdf(
        title=official_pdf.RESOLUTION.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "VISTOS: la solicitud de transferencia descrita, los informes técnico y legal favorables y la "
            "certificación presupuestaria que cursan en el expediente. CONSIDERANDO: que la transferencia "
            "cumple la normativa de transferencias público-privadas y público-públicas y la política de "
            "aprobación vigente, PRO-BOLIVIA"
        ),
        rows=rows,
        amounts=[("Monto aprobado", case.grant_amount)],
        clauses=[
            f"RESUELVE: PRIMERO.- Aprobar la transferencia {case.code} a favor de {case.beneficiary.name} "
            f"por {official_pdf.amount_in_figures(case.grant_amount)} "
            f"({official_pdf.amount_in_words(case.grant_amount)}), con el uso y destino señalados.",
            "SEGUNDO.- Instruir a la Unidad Legal la suscripción del convenio y a las unidades técnica y "
            "de Finanzas la entrega y su seguimiento.",
        ],
        signatures=["Director(a) General Ejecutivo(a) — MAE"],
    )


def agreement(case, *, number: str, code: str, url: str) -> OfficialPdf:
    in_kind = case.is_in_kind
    return OfficialPdf(
        title=official_pdf.AGREEMENT.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            f"Conste por el presente convenio, suscrito entre PRO-BOLIVIA y {case.beneficiary.name} "
            f"(NIT {case.beneficiary.tax_id}), la transferencia descrita, bajo las cláusulas siguientes:"
        ),
        rows=[
            ("Trámite", case.code),
            *_beneficiary_rows(case),
            *_transfer_rows(case),
            ("N.º de convenio (Unidad Legal)", case.agreement_number),
            ("Fecha de suscripción", official_pdf.short_date(case.agreement_signed_on)),
        ],
        amounts=[("Monto de la transferencia", case.grant_amount)],
        table_title="Bienes a entregar" if in_kind else "",
        table=_assets_table(case, with_serials=False) if in_kind else (),
        table_widths=ASSET_WIDTHS,
        clauses=[
            "PRIMERA (Objeto).- PRO-BOLIVIA transfiere "
            + ("los bienes detallados" if in_kind else "el monto señalado")
            + " al beneficiario, que los destinará exclusivamente al uso y destino aprobados.",
            "SEGUNDA (Seguimiento).- El beneficiario permite las visitas de seguimiento; el uso distinto "
            "al aprobado da lugar a la reversión de lo transferido.",
        ],
        signatures=[
            "Por PRO-BOLIVIA — Director(a) General Ejecutivo(a)",
            f"Por el beneficiario — Representante legal de {case.beneficiary.name}",
        ],
    )


def delivery(case, *, number: str, code: str, url: str) -> OfficialPdf:
    table = _assets_table(case, with_serials=True)
    return OfficialPdf(
        title=official_pdf.DELIVERY_RECORD.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            f"En fecha {official_pdf.short_date(case.delivered_on)}, PRO-BOLIVIA entrega a "
            f"{case.beneficiary.name} los bienes detallados a continuación, cada unidad con su número de "
            "serie, en el marco del convenio suscrito:"
        ),
        rows=[
            ("Trámite", case.code),
            *_beneficiary_rows(case),
            ("N.º de convenio (Unidad Legal)", case.agreement_number or "—"),
            ("N.º de acta (unidad técnica)", case.delivery_record_number),
            ("Unidades entregadas", str(len(table) - 1)),
        ],
        amounts=[("Valor de los bienes", case.amount)],
        table_title="Detalle de las unidades entregadas",
        table=table,
        table_widths=ASSET_WIDTHS,
        clauses=[
            "El beneficiario declara recibir los bienes en buen estado y conforme al detalle, y se "
            "compromete a destinarlos al uso aprobado."
        ],
        signatures=["Entrega: unidad técnica de PRO-BOLIVIA", f"Recibe: {case.beneficiary.name}"],
    )


def closeout(case, *, number: str, code: str, url: str) -> OfficialPdf:
    visit = case.visits.order_by("-pk").first()
    rows = [
        ("Trámite", case.code),
        *_beneficiary_rows(case),
        *_transfer_rows(case),
        ("N.º de convenio (Unidad Legal)", case.agreement_number or "—"),
    ]
    if visit is not None:
        rows.append(("Visita de seguimiento", official_pdf.short_date(visit.visited_on)))
    return OfficialPdf(
        title=official_pdf.CLOSEOUT_RECORD.title,
        number=number,
        code=code,
        verify_url=url,
        case_code=case.code,
        template_version=TEMPLATE_VERSION,
        intro=(
            "Verificado en la visita de seguimiento que lo transferido se usa conforme al uso y destino "
            "aprobados, se deja constancia del cierre de la transferencia descrita:"
        ),
        rows=rows,
        amounts=[("Monto transferido", case.paid_amount or case.grant_amount)],
        table_title="Bienes transferidos" if case.is_in_kind else "",
        table=_assets_table(case, with_serials=True) if case.is_in_kind else (),
        table_widths=ASSET_WIDTHS,
        clauses=[
            "Con la verificación del uso, las partes dan por cumplido el convenio y por cerrado el "
            "expediente."
        ],
        signatures=["Unidad técnica — PRO-BOLIVIA", f"Representante legal de {case.beneficiary.name}"],
    )
