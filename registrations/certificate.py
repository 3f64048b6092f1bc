"""The registration certificate (certificado de registro), generated as a PDF when a registration is
approved (``steps.handle_review``) and kept as an official document (``cases.official``): the
agency's header, its number, the unit's data, the period of validity, and a QR code and short code
with which anyone can verify it (``/api/v1/official-documents/verify/``)."""

from __future__ import annotations

import datetime as dt

from cases import official_pdf
from registry.models import Department, Unit

KIND = official_pdf.REGISTRATION_CERTIFICATE.kind
PREFIX = official_pdf.REGISTRATION_CERTIFICATE.prefix  # Certificado de Registro de Unidad productiva
TEMPLATE_VERSION = "2026.2"  # 2026.2: drawn by the kernel's renderer
AGENCY = official_pdf.AGENCY
TITLE = official_pdf.REGISTRATION_CERTIFICATE.title


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


def describe(
    fields: dict[str, str],
    *,
    number: str,
    code: str,
    verify_url: str,
    valid_from: dt.date,
    valid_until: dt.date,
    case_code: str,
) -> official_pdf.OfficialPdf:
    """What the certificate prints (A4, Spanish: the agency issues it in Spanish), drawn by the
    kernel's renderer (``cases.official_pdf``)."""
    return official_pdf.OfficialPdf(
        title=TITLE,
        number=number,
        code=code,
        verify_url=verify_url,
        case_code=case_code,
        template_version=TEMPLATE_VERSION,
        intro=(
            f"{AGENCY} certifica que la unidad productiva descrita a continuación se encuentra "
            "registrada y acreditada en el Registro de Unidades Productivas, con los datos siguientes:"
        ),
        rows=[
            *fields.items(),
            (
                "Vigencia",
                f"del {official_pdf.short_date(valid_from)} al {official_pdf.short_date(valid_until)}",
            ),
            ("Trámite", case_code),
        ],
        signatures=["Responsable del Registro de Unidades Productivas"],
    )
