"""The 2020 annual operating plan (POA) of the seed report, section IV "Cumplimiento de resultados
institucionales" (``/work/shared/seed/rendicion-publica-de-cuentas-2020.txt``), for ``seed_demo``.

Every goal of §IV with a numeric target, per program, with the results as published: 2020 predates the
system, so its results are progress entered by hand (one entry per goal, dated 31/12/2020, "as
published"), each with its evidence — a one-page PDF quoting the report's line, its SHA-256 kept — and
one audit entry. A goal the report says nothing was measured for ("No existe información…") has no
entry: the report shows "Sin avance registrado". Left out: the goals and challenges (retos) without a
figure ("Iniciativas productivas por cuenca lechera", "Investigaciones e innovaciones concluidos"…).

Also the demo program manager ``responsable1`` (CETIP and PROMYPE). Written through
``reports.services`` as the system user, once: a second run writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

from cases import documents
from cases.roles import Role
from registry.models import User
from registry.services import create_user
from reports import services
from reports.models import Goal

REPORT = "Rendición Pública de Cuentas Final 2020, PRO-BOLIVIA"
PUBLISHED = dt.date(2020, 12, 31)


@dataclass(frozen=True)
class PlanGoal:
    program: str
    section: str  # where the report states it
    indicator: str
    unit: str
    target: Decimal
    result: Decimal | None  # None: nothing measured ("No existe información")
    quote: str  # what the report says of the result
    on: dt.date = PUBLISHED


def _g(program, section, indicator, unit, target, result, quote, on=PUBLISHED) -> PlanGoal:
    return PlanGoal(
        program,
        section,
        indicator,
        unit,
        Decimal(target),
        None if result is None else Decimal(result),
        quote,
        on,
    )


ZERO = "0% de avance y/o ejecución."
POA_2020 = (
    # 4.1 Fondo PROLECHE
    _g(
        "PROLECHE",
        "4.1 a",
        "Incremento del consumo de leche y derivados a 64 litros per cápita por año",
        "litros/per cápita/año",
        "64",
        None,
        "No existe información elaborada en la gestión 2020 sobre el consumo de litros per cápita por año.",
    ),
    _g(
        "PROLECHE",
        "4.1 c",
        "Observatorio Nacional de la Producción de Leche establecido",
        "observatorio",
        "1",
        "0",
        "No se estableció ni se realizó parámetros, lineamientos para establecer el observatorio: " + ZERO,
    ),
    # 4.2 PROMYPE
    _g(
        "PROMYPE",
        "4.2 a",
        "Cierre responsable PROMYPE (fase 1)",
        "cierre",
        "1",
        "1",
        "Cierre realizado según acuerdo interinstitucional con COSUDE en marzo de la gestión 2020.",
        dt.date(2020, 3, 31),
    ),
    _g(
        "PROMYPE",
        "4.2 b",
        "Propuestas de desarrollo para la MYPE elaboradas con ETA y privadas",
        "propuestas",
        "3",
        "0",
        ZERO,
    ),
    _g("PROMYPE", "4.2 c", "Entidades territoriales autónomas que adaptan el PROMYPE", "ETA", "2", "0", ZERO),
    _g(
        "PROMYPE",
        "4.2 d",
        "Redes de información de apoyo a la MYPE conformadas (plataformas digitales)",
        "redes",
        "3",
        "0",
        ZERO,
    ),
    _g("PROMYPE", "4.2 e", "Reducción anual de costos unitarios de MYPE beneficiarias", "%", "2", "0", ZERO),
    _g("PROMYPE", "4.2 f", "Incremento anual de ventas de MYPE beneficiarias", "%", "10", "0", ZERO),
    _g("PROMYPE", "4.2 g", "Incremento anual de la productividad de las MYPE", "%", "8", "0", ZERO),
    _g("PROMYPE", "4.2 h", "Incentivo preferencial para el financiamiento", "incentivo", "1", "0", ZERO),
    _g("PROMYPE", "4.2 i", "MYPE con mayor acceso a mercados", "% de MYPE", "20", "0", ZERO),
    # 4.3 CETIP
    _g(
        "CETIP",
        "4.3 c",
        "Servicios de transferencia tecnológica del CETIP Cuero Cochabamba",
        "servicios",
        "1",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 d",
        "Servicios de transferencia tecnológica del CETIP Textil Potosí",
        "servicios",
        "13",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 e",
        "Servicios de transferencia tecnológica del CETIP Madera El Alto",
        "servicios",
        "15",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 f",
        "Servicios de desarrollo productivo del CETIP Cuero Cochabamba",
        "servicios",
        "20",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 g",
        "Servicios de desarrollo productivo del CETIP Textil El Alto",
        "servicios",
        "345",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 h",
        "Servicios de desarrollo productivo del CETIP Textil Potosí",
        "servicios",
        "280",
        "0",
        ZERO,
    ),
    _g(
        "CETIP",
        "4.3 i",
        "Servicios de desarrollo productivo del CETIP Madera El Alto",
        "servicios",
        "155",
        "0",
        ZERO,
    ),
    # 4.4 Registro y Acreditación de Unidades Productivas
    _g(
        "REGISTRO",
        "4.4 a",
        "Mypes nuevas registradas, artesanos, proveedores a Unidades Productivas e ICAP",
        "unidades productivas",
        "1500",
        "1327",
        "1327 nuevos registros, con la finalidad de acceder a un crédito que en muchos casos no fue "
        "efectivizado.",
    ),
    _g(
        "REGISTRO",
        "4.4 b",
        "Unidades productivas renovadas y acreditadas",
        "unidades productivas",
        "1000",
        "1458",
        "1458 unidades productivas renovadas para poder acceder a un crédito que no se pudo materializar.",
    ),
)

MANAGER = ("responsable1", "Mónica", "Laura Quiroga", ("CETIP", "PROMYPE"))


def evidence_pdf(goal: PlanGoal) -> bytes:
    """A one-page PDF quoting the report's line: the evidence of a result entered as published."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=1)  # invariant: the same bytes every run
    page.setTitle(f"{REPORT} §{goal.section}")
    y = 800
    for size, line in (
        (12, REPORT),
        (10, f"IV. Cumplimiento de resultados institucionales, §{goal.section}"),
        (10, f"Meta: {goal.indicator} ({goal.target.normalize():f} {goal.unit})"),
        (10, f"Resultado publicado: {goal.quote}"),
    ):
        page.setFont("Helvetica", size)
        for start in range(0, len(line), 95):
            page.drawString(50, y, line[start : start + 95])
            y -= size + 6
    page.showPage()
    page.save()
    return out.getvalue()


def upload_of(goal: PlanGoal) -> documents.Upload:
    content = evidence_pdf(goal)
    name = f"rendicion-2020-{goal.section.replace(' ', '')}.pdf"
    return documents.Upload(
        content, "application/pdf", ".pdf", len(content), hashlib.sha256(content).hexdigest(), name
    )


def seed_poa_2020(actor, programs: dict, created: list[str]) -> None:
    for spec in POA_2020:
        program = programs[spec.program]
        if Goal.objects.filter(fiscal_year=2020, program=program, indicator=spec.indicator).exists():
            continue
        goal = services.save_goal(
            actor=actor,
            fiscal_year=2020,
            program=program,
            indicator=spec.indicator,
            unit=spec.unit,
            target=spec.target,
            baseline=None,
            computed_from=None,
            description=f"§{spec.section}" + (f" · {spec.quote}" if spec.result is None else ""),
        )
        created.append(f"goal 2020/{spec.program} {spec.indicator[:40]}")
        if spec.result is not None:
            services.record_progress(
                goal.pk,
                actor=actor,
                value=spec.result,
                date=spec.on,
                note=f"Según la {REPORT}, §{spec.section}: {spec.quote}"[:500],
                evidence=upload_of(spec),
            )


def seed_program_manager(actor, programs: dict, created: list[str], password: str) -> None:
    username, first_name, last_name, codes = MANAGER
    user = User.objects.filter(username=username).first()
    if user is None:
        user = create_user(
            actor=actor,
            username=username,
            password=password,
            first_name=first_name,
            last_name=last_name,
            email=f"{username}@example.org",
            roles=(Role.EVALUATOR,),
        )
        created.append(f"user {username} (program manager)")
    for code in codes:
        if services.assign_program_manager(actor=actor, user=user, program=programs[code]):
            created.append(f"program manager {username} of {code}")
