"""``python manage.py seed_demo`` — the demo data of API.md, written through the services.

Creates, as the system user and only what is missing (idempotent: a second run writes nothing and
adds no audit entry):

- users of every role (password ``demo``): ``solicitante1``/``solicitante2`` (applicants of two units
  in different departments), ``evaluador1`` to ``evaluador5``, ``legal1``, ``legal2``,
  ``finanzas1`` to ``finanzas3``, ``director1``, ``director2``, ``control1``, ``admin1`` — enough people
  for every four-eyes rule of a case to be satisfied from submission to close-out; and ``gestor1``,
  the manager of PROLECHE (configures its calls);
- two productive units: a dairy association in Santa Cruz and a textile workshop in Potosí;
- the programs and funding sources of the 2020 accountability report (``/work/shared/seed``);
- PROMYPE's two sub-programs of 2020, Promype/Jiwasa and Promype Fase 2;
- budget lines in the shape of SIGEP (DA/UE, program, sub-program, activity, source, organismo
  financiador, partida) for fiscal year 2020 whose amounts in force reproduce the report's tables
  "POR PROGRAMA" (its six rows) and "POR FUENTE" (total Bs 60.949.269,00), and a budget for the
  current fiscal year;
- the 2020 execution (Bs 32.077.374,70, 52,6 %) as operating expenditures on those lines, so that
  ``manage.py budget_execution --fiscal-year 2020`` reproduces the report's section V;
- one open PROLECHE call (convocatoria) — see :func:`Command._seed_calls`.

The report lists CETIP under sources 10 and 11 with a single amount and "Transferencias de Donación
Externa" without a code; the 2020 split below is the only one that matches both tables at once:
CETIP = 60.000 (10) + 732.071 (11); PROMYPE = 381.175 (44, Transferencias de Donación Externa) +
15.209.898 (80, Donación Externa) = Promype/Jiwasa 1.445.501 (381.175 from 44 + 1.064.326 from 80) +
Promype Fase 2 14.145.572 (80).

Refuses to run when ``DEBUG`` is off (a production database) unless ``--force`` is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cases.roles import Role
from registry.models import Unit, User
from registry.services import (
    create_user,
    ensure_reference_data,
    grant_department_scope,
    grant_role,
    register_unit,
    system_user,
    today,
)

DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo credential, refused when DEBUG is off

PROGRAMS = (
    ("PROLECHE", "Fondo PROLECHE"),
    ("PROMYPE", "Apoyo a micro y pequeñas empresas (PROMYPE)"),
    ("CETIP", "Centros de Tecnología para la Innovación Productiva (CETIP)"),
    ("REGISTRO", "Registro y Acreditación de Unidades Productivas"),
    ("PROBOLIVIA", "PRO-BOLIVIA (administración)"),
)

SOURCES = (
    ("10", "Tesoro General de la Nación"),
    ("11", "T.G.N. Otros Ingresos"),
    ("41", "Transferencias T.G.N."),
    ("42", "Transferencias de Recursos Específicos"),
    ("44", "Transferencias de Donación Externa"),
    ("80", "Donación Externa"),
)

SUBPROGRAMS = (
    ("PROMYPE", "JIWASA", "Promype/Jiwasa"),
    ("PROMYPE", "FASE2", "Promype Fase 2"),
)


@dataclass(frozen=True)
class DemoLine:
    """One budget line in the shape of SIGEP, with what it executed (2020 only).

    The accountability report publishes programs, sources and amounts, not DA/UE, activities,
    organismos financiadores or partidas: those codes are illustrative."""

    program: str
    subprogram: str | None
    source: str
    da_ue: str
    activity: str
    funder: str
    object_of_expenditure: str
    in_force: Decimal
    executed: Decimal = Decimal("0.00")


# Fiscal year 2020 at 31 December 2020 (Rendición Pública de Cuentas Final 2020), in force and
# executed (devengado, recorded as one operating expenditure per line). By source the sums equal the
# report's table to the cent (10: 987.934,29; 11: 706.536,17; 42: 27.944.338,86; 44: 381.175,00;
# 80: 2.057.390,38); by program — six rows, PROMYPE's two sub-programs apart — they equal it rounded
# to the boliviano as printed (Promype/Jiwasa 1.445.501 / 1.445.124 / 377 / 100 %; Promype Fase 2
# 14.145.572 / 993.442 / 13.152.130 / 7 %). Total Bs 60.949.269,00 in force, 32.077.374,70 executed
# (52,6 %). ``tests/reports/test_seed_2020.py`` reads the published figures from the seed report.
LINES_2020 = (
    DemoLine(
        "PROBOLIVIA", None, "10", "01-01", "001", "111", "10000", Decimal("977603.00"), Decimal("941163.29")
    ),
    DemoLine("CETIP", None, "10", "01-02", "001", "111", "20000", Decimal("60000.00"), Decimal("46771.00")),
    DemoLine("CETIP", None, "11", "01-02", "001", "113", "20000", Decimal("732071.00"), Decimal("441055.00")),
    DemoLine(
        "REGISTRO", None, "11", "01-03", "001", "113", "20000", Decimal("324485.00"), Decimal("265481.17")
    ),
    DemoLine(
        "PROLECHE", None, "42", "01-04", "001", "230", "70000", Decimal("43264037.00"), Decimal("27944338.86")
    ),
    DemoLine(
        "PROMYPE",
        "JIWASA",
        "44",
        "01-05",
        "001",
        "COSUDE",
        "40000",
        Decimal("381175.00"),
        Decimal("381175.00"),
    ),
    DemoLine(
        "PROMYPE",
        "JIWASA",
        "80",
        "01-05",
        "001",
        "COSUDE",
        "40000",
        Decimal("1064326.00"),
        Decimal("1063948.69"),
    ),
    DemoLine(
        "PROMYPE",
        "FASE2",
        "80",
        "01-05",
        "002",
        "COSUDE",
        "40000",
        Decimal("14145572.00"),
        Decimal("993441.69"),
    ),
)
BUDGET_2020_TOTAL = Decimal("60949269.00")
EXECUTION_2020_TOTAL = Decimal("32077374.70")
EXECUTION_2020_DATE = dt.date(2020, 12, 31)
EXECUTION_2020_DESCRIPTION = "Ejecución presupuestaria de la gestión 2020 (Rendición Pública de Cuentas 2020)"

# The current fiscal year (gestión): a plausible budget of the same shape (PROMYPE Fase 2 runs to 2023;
# its lines name no sub-program here, so the cases of the demo find them by program).
LINES_CURRENT = (
    DemoLine("PROBOLIVIA", None, "10", "01-01", "001", "111", "10000", Decimal("1050000.00")),
    DemoLine("CETIP", None, "10", "01-02", "001", "111", "20000", Decimal("85000.00")),
    DemoLine("CETIP", None, "11", "01-02", "001", "113", "20000", Decimal("760000.00")),
    DemoLine("REGISTRO", None, "11", "01-03", "001", "113", "20000", Decimal("340000.00")),
    DemoLine("PROLECHE", None, "41", "01-04", "001", "111", "70000", Decimal("2500000.00")),
    DemoLine("PROLECHE", None, "42", "01-04", "001", "230", "70000", Decimal("45500000.00")),
    DemoLine("PROMYPE", None, "44", "01-05", "002", "COSUDE", "40000", Decimal("400000.00")),
    DemoLine("PROMYPE", None, "80", "01-05", "002", "COSUDE", "40000", Decimal("9800000.00")),
)


# The open PROLECHE call: co-financing about 50/50, paid in three tranches.
PROLECHE_CALL_DOCUMENTS = (
    "project_profile",
    "registration_certificate",
    "nit_certificate",
    "legal_representative_id",
    "counterpart_letter",
    "quotation",
)
PROLECHE_CALL_RUBRIC = (
    {
        "code": "relevance",
        "label": "Pertinencia para la cuenca lechera",
        "max": 25,
        "text": "¿Resuelve un problema real de acopio, frío o transformación de la leche en la zona? "
        "Puntaje alto si el diagnóstico tiene datos de volumen y de socios.",
    },
    {
        "code": "technical",
        "label": "Viabilidad técnica",
        "max": 30,
        "text": "Equipos y obras adecuados al volumen de leche, con cotizaciones, proveedor con "
        "servicio técnico en Bolivia y un cronograma realista.",
    },
    {
        "code": "financial",
        "label": "Viabilidad económica y financiera",
        "max": 25,
        "text": "Contraparte respaldada por carta y cuenta; ingresos que cubren la operación y el "
        "mantenimiento después del apoyo.",
    },
    {
        "code": "impact",
        "label": "Impacto en productores y empleo",
        "max": 20,
        "text": "Productores beneficiados, empleo creado o sostenido y participación de mujeres, "
        "con metas medibles.",
    },
)


@dataclass(frozen=True)
class DemoUnit:
    key: str
    tax_id: str
    name: str
    kind: str
    department: str
    municipality: str
    sector: str
    valid_days: int | None  # None: the default year; a few days: shows the "expiring" warning


UNITS = (
    DemoUnit(
        key="dairy",
        tax_id="1028374019",
        name="Asociación de Productores de Leche Warnes (APLEWA)",
        kind=Unit.Kind.ASSOCIATION,
        department="SCZ",
        municipality="Warnes",
        sector=Unit.Sector.DAIRY,
        valid_days=None,
    ),
    DemoUnit(
        key="textile",
        tax_id="3891245012",
        name="Taller Textil Munay Potosí",
        kind=Unit.Kind.MYPE,
        department="PTS",
        municipality="Potosí",
        sector=Unit.Sector.TEXTILES,
        valid_days=21,
    ),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    unit: str | None = None
    departments: tuple[str, ...] = ()


USERS = (
    DemoUser("solicitante1", "María", "Quispe Mamani", Role.APPLICANT, unit="dairy"),
    DemoUser("solicitante2", "Juan Carlos", "Condori Apaza", Role.APPLICANT, unit="textile"),
    # No unit yet: registers a new one (``seed_demo_cases`` sends her registration for review).
    DemoUser("solicitante3", "Lucía", "Apaza Nina", Role.APPLICANT),
    # Admissibility, two independent evaluations, a third on disagreement, follow-up: five people.
    DemoUser("evaluador1", "Rosa", "Mamani Huanca", Role.EVALUATOR),
    DemoUser("evaluador2", "Luis Fernando", "Vargas Rojas", Role.EVALUATOR),
    DemoUser("evaluador3", "Ana", "Gutiérrez Flores", Role.EVALUATOR),
    DemoUser("evaluador4", "Wilfredo", "Choque Limachi", Role.EVALUATOR),
    # Scoped to the two largest dairy basins (shows department scoping).
    DemoUser("evaluador5", "Carmen", "Villca Colque", Role.EVALUATOR, departments=("SCZ", "CBB")),
    # Legal report and agreement drafting.
    DemoUser("legal1", "Patricia", "Ticona Copa", Role.LEGAL),
    DemoUser("legal2", "Marcelo", "Arce Saavedra", Role.LEGAL),
    # Budget certification, payment order and payment confirmation are three different people.
    DemoUser("finanzas1", "Gabriela", "Soliz Paz", Role.FINANCE),
    DemoUser("finanzas2", "Hugo", "Zeballos Aguilar", Role.FINANCE),
    DemoUser("finanzas3", "Verónica", "Ayala Torrez", Role.FINANCE),
    # The MAE and a delegate for absences.
    DemoUser("director1", "Fernando", "Rivero Suárez", Role.DIRECTOR),
    DemoUser("director2", "Elena", "Montaño Cruz", Role.DIRECTOR),
    DemoUser("control1", "Rodrigo", "Ortiz Villarroel", Role.INTERNAL_CONTROL),
    DemoUser("admin1", "Sergio", "Calle Nina", Role.ADMIN),
)


class Command(BaseCommand):
    help = "Create the demo users, units, programs, sources, budgets and call (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even when DEBUG is off (never on a production database).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo refuses to run when DEBUG is off: it creates users with the password "
                "'demo'. Use --force only on a throw-away database."
            )
        self.created: list[str] = []
        with transaction.atomic():
            ensure_reference_data()
            actor = system_user()
            units = self._seed_units(actor)
            self._seed_users(actor, units)
            programs, sources = self._seed_budget_structure(actor)
            lines_2020 = self._seed_lines(actor, 2020, LINES_2020, programs, sources)
            self._seed_execution_2020(actor, lines_2020)
            self._seed_poa(actor, programs)
            current_year = today().year
            if current_year != 2020:
                self._seed_lines(actor, current_year, LINES_CURRENT, programs, sources)
            self._seed_calls(actor, programs)
            self._seed_program_managers(actor, programs)
        if self.created:
            self.stdout.write(self.style.SUCCESS(f"seed_demo: created {len(self.created)} objects"))
            for label in self.created:
                self.stdout.write(f"  + {label}")
        else:
            self.stdout.write("seed_demo: nothing to do, the demo data is already there")

    # --- registry -------------------------------------------------------------------------------

    def _seed_units(self, actor) -> dict[str, Unit]:
        units = {}
        for spec in UNITS:
            unit = Unit.objects.filter(tax_id=spec.tax_id).first()
            if unit is None:
                valid_until = (
                    today() + dt.timedelta(days=spec.valid_days) if spec.valid_days is not None else None
                )
                unit = register_unit(
                    actor=actor,
                    tax_id=spec.tax_id,
                    name=spec.name,
                    kind=spec.kind,
                    department=spec.department,
                    municipality=spec.municipality,
                    sector=spec.sector,
                    registration_valid_until=valid_until,
                )
                self.created.append(f"unit {unit}")
            units[spec.key] = unit
        return units

    def _seed_users(self, actor, units: dict[str, Unit]) -> None:
        for spec in USERS:
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = create_user(
                    actor=actor,
                    username=spec.username,
                    password=DEMO_PASSWORD,
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    email=f"{spec.username}@example.org",
                    roles=(spec.role,),
                    unit=units[spec.unit] if spec.unit else None,
                )
                self.created.append(f"user {spec.username} ({spec.role})")
            elif grant_role(user, spec.role, actor=actor):  # repairs a demo user that lost its role
                self.created.append(f"role {spec.role} for {spec.username}")
            for department in spec.departments:
                if grant_department_scope(user, department, actor=actor):
                    self.created.append(f"department scope {department} for {spec.username}")

    # --- budget ---------------------------------------------------------------------------------

    def _seed_budget_structure(self, actor):
        from budget.models import FundingSource, Program, SubProgram
        from budget.services import create_program, create_source, create_subprogram

        programs, sources = {}, {}
        for code, name in PROGRAMS:
            program = Program.objects.filter(code=code).first()
            if program is None:
                program = create_program(actor=actor, code=code, name=name)
                self.created.append(f"program {code}")
            programs[code] = program
        for program_code, code, name in SUBPROGRAMS:
            if not SubProgram.objects.filter(program=programs[program_code], code=code).exists():
                create_subprogram(actor=actor, program=programs[program_code], code=code, name=name)
                self.created.append(f"sub-program {program_code}/{code}")
        for code, name in SOURCES:
            source = FundingSource.objects.filter(code=code).first()
            if source is None:
                source = create_source(actor=actor, code=code, name=name)
                self.created.append(f"source {code}")
            sources[code] = source
        return programs, sources

    def _seed_lines(self, actor, fiscal_year: int, rows, programs, sources) -> list:
        """The lines of ``rows`` (``DemoLine``) for ``fiscal_year``, created when missing (by their SIGEP
        key); returns ``[(DemoLine, BudgetLine)]``."""
        from budget.models import BudgetLine, SubProgram
        from budget.services import create_budget_line

        out = []
        for row in rows:
            program, source = programs[row.program], sources[row.source]
            subprogram = (
                SubProgram.objects.get(program=program, code=row.subprogram) if row.subprogram else None
            )
            key = {
                "fiscal_year": fiscal_year,
                "program": program,
                "subprogram": subprogram,
                "source": source,
                "da_ue": row.da_ue,
                "activity": row.activity,
                "funder": row.funder,
                "object_of_expenditure": row.object_of_expenditure,
            }
            line = BudgetLine.objects.filter(**key).first()
            if line is None:
                line = create_budget_line(actor=actor, amount_in_force=row.in_force, **key)
                self.created.append(f"budget line {line} Bs {row.in_force}")
            out.append((row, line))
        return out

    def _seed_execution_2020(self, actor, lines) -> None:
        """The 2020 execution as one operating expenditure per line (through the ledger service), once."""
        from budget.models import BudgetMovement
        from budget.services import record_expenditure

        for row, line in lines:
            if (
                row.executed <= 0
                or BudgetMovement.objects.filter(
                    line=line, kind=BudgetMovement.Kind.EXPENDITURE, description=EXECUTION_2020_DESCRIPTION
                ).exists()
            ):
                continue
            record_expenditure(
                line,
                actor=actor,
                amount=row.executed,
                date=EXECUTION_2020_DATE,
                description=EXECUTION_2020_DESCRIPTION,
            )
            self.created.append(f"expenditure {line} Bs {row.executed}")

    # --- program managers ---------------------------------------------------------------------------

    def _seed_program_managers(self, actor, programs) -> None:
        """``gestor1`` manages PROLECHE: it configures that program's calls (``/calls/``), nothing else."""
        from budget.services import grant_program_management

        user = User.objects.filter(username="gestor1").first()
        if user is None:
            user = create_user(
                actor=actor,
                username="gestor1",
                password=DEMO_PASSWORD,
                first_name="Teresa",
                last_name="Chambi Luna",
                email="gestor1@example.org",
                roles=(),
            )
            self.created.append("user gestor1 (program manager)")
        if grant_program_management(user, programs["PROLECHE"], actor=actor):
            self.created.append("gestor1 manages PROLECHE")

    # --- the annual operating plan (POA) ---------------------------------------------------------

    def _seed_poa(self, actor, programs) -> None:
        """The 2020 goals of the seed report's section IV with their published results, and the demo
        program manager (``expediente/seed_poa.py``)."""
        from expediente.seed_poa import seed_poa_2020, seed_program_manager

        seed_poa_2020(actor, programs, self.created)
        seed_program_manager(actor, programs, self.created, DEMO_PASSWORD)

    # --- calls (iniciativas) ------------------------------------------------------------------------

    def _seed_calls(self, actor, programs) -> None:
        """One open PROLECHE call (convocatoria) of the current fiscal year: none is created while one
        is open today; when the year's earlier demo call has closed, the next number is opened."""
        from iniciativas.models import Call
        from iniciativas.services import create_call

        on = today()
        prolech = Call.objects.filter(program=programs["PROLECHE"])
        if prolech.filter(opens_on__lte=on, closes_on__gte=on).exists():
            return
        number = 1
        while Call.objects.filter(code=f"PROLECHE-{on.year}-{number:02d}").exists():
            number += 1
        call = create_call(
            actor=actor,
            code=f"PROLECHE-{on.year}-{number:02d}",
            title=f"Fondo PROLECHE: iniciativas productivas lecheras {on.year}",
            program=programs["PROLECHE"],
            opens_on=on - dt.timedelta(days=7),
            closes_on=on + dt.timedelta(days=90),
            max_amount=Decimal("350000.00"),
            min_counterpart_share=Decimal("0.50"),
            required_documents=PROLECHE_CALL_DOCUMENTS,
            rubric=PROLECHE_CALL_RUBRIC,
            threshold=Decimal("60"),
            evaluators=2,
            disagreement_points=Decimal("20"),
            tranche_plan=(40, 40, 20),
            observation_days=10,
        )
        self.created.append(f"call {call.code}")
