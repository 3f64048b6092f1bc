"""The registration certificate (certificado de registro), generated as a PDF when a registration is
approved (``steps.handle_review``) and kept as an official document (``cases.official``): the
agency's header, its number, the unit's data, the period of validity, and a QR code and short code
with which anyone can verify it (``/api/v1/official-documents/verify/``)."""

from __future__ import annotations

import datetime as dt
import io

from django.conf import settings

from registry.models import Department, Unit

KIND = "registration_certificate"
PREFIX = "CRU"  # Certificado de Registro de Unidad productiva
TEMPLATE_VERSION = "2026.1"
AGENCY = "PRO-BOLIVIA"
MINISTRY = "Ministerio de Desarrollo Productivo y Economía Plural"
TITLE = "CERTIFICADO DE REGISTRO DE UNIDAD PRODUCTIVA"


def unit_fields(case) -> dict[str, str]:
    """The unit's data as printed, in Spanish whatever the officer's language (a renewal reads the
    unit; a new registration what was applied for)."""
    from django.utils import translation

    with translation.override("es"):
        return _unit_fields(case)


def _unit_fields(case) -> dict[str, str]:
    if case.unit_id:
        unit = case.unit
        data = {
            "tax_id": unit.tax_id,
            "name": unit.name,
            "kind": unit.kind,
            "department": unit.department.code,
            "municipality": unit.municipality,
            "sector": unit.sector,
        }
    else:
        data = dict(case.unit_data)
    return {
        "NIT": data["tax_id"],
        "Razón social": data["name"],
        "Tipo": str(dict(Unit.Kind.choices).get(data["kind"], data["kind"])),
        "Departamento": str(dict(Department.Code.choices).get(data["department"], data["department"])),
        "Municipio": data["municipality"],
        "Sector": str(dict(Unit.Sector.choices).get(data["sector"], data["sector"])),
    }


def _date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def render(
    fields: dict[str, str],
    *,
    number: str,
    code: str,
    verify_url: str,
    valid_from: dt.date,
    valid_until: dt.date,
    case_code: str,
) -> bytes:
    """The certificate's PDF bytes (A4, Spanish: the agency issues it in Spanish)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    width, height = A4
    pdf = Canvas(out, pagesize=A4, pageCompression=1, invariant=1)
    pdf.setTitle(f"{TITLE} {number}")
    pdf.setAuthor(AGENCY)
    pdf.setFillColor(colors.HexColor("#1f3a5f"))
    pdf.rect(0, height - 3 * cm, width, 3 * cm, stroke=0, fill=1)
    pdf.setFillColor(colors.white)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(2 * cm, height - 1.6 * cm, AGENCY)
    pdf.setFont("Helvetica", 10)
    pdf.drawString(2 * cm, height - 2.3 * cm, MINISTRY)
    pdf.drawRightString(width - 2 * cm, height - 1.6 * cm, f"N.º {number}")
    pdf.setFillColor(colors.black)
    pdf.setFont("Helvetica-Bold", 15)
    pdf.drawCentredString(width / 2, height - 5 * cm, TITLE)
    pdf.setFont("Helvetica", 11)
    text = pdf.beginText(2.5 * cm, height - 6.5 * cm)
    text.setLeading(16)
    text.textLine("PRO-BOLIVIA certifica que la unidad productiva descrita a continuación se encuentra")
    text.textLine("registrada y acreditada en el Registro de Unidades Productivas, con los datos siguientes:")
    pdf.drawText(text)
    y = height - 8.5 * cm
    for label, value in fields.items():
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(3 * cm, y, f"{label}:")
        pdf.setFont("Helvetica", 11)
        pdf.drawString(7 * cm, y, str(value)[:70])
        y -= 0.8 * cm
    y -= 0.4 * cm
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(3 * cm, y, f"Vigencia: del {_date(valid_from)} al {_date(valid_until)}")
    y -= 0.8 * cm
    pdf.setFont("Helvetica", 10)
    pdf.drawString(3 * cm, y, f"Trámite: {case_code}")
    # Verification: QR code and short code.
    origin = str(getattr(settings, "SITE_URL", "")).rstrip("/")
    qr = QrCodeWidget(f"{origin}{verify_url}")
    x0, y0, x1, y1 = qr.getBounds()
    size = 3.5 * cm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - 2 * cm - size, 2.5 * cm)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(2 * cm, 4.6 * cm, "Verifique la autenticidad de este certificado con el código QR o en")
    pdf.drawString(2 * cm, 4.15 * cm, f"{origin or ''}/api/v1/official-documents/verify/?code={code}")
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(2 * cm, 3.4 * cm, f"Código de verificación: {code}")
    pdf.setFont("Helvetica", 8)
    pdf.setFillColor(colors.HexColor("#555555"))
    pdf.drawString(2 * cm, 1.5 * cm, f"Documento generado por Expediente (plantilla {TEMPLATE_VERSION}).")
    pdf.showPage()
    pdf.save()
    return out.getvalue()
