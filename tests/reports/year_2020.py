"""The agency's fiscal year 2020 built through the services only (``test_year_proof.py``).

Nothing here writes a model row directly: no fixtures, no factories, no ``seed_demo``. People are
created with ``registry.services.create_user``, the budget with ``budget.services``, units through
their registrations (``registrations``), initiatives and transfers through their flows (every task
decided with ``approvals.services.complete_task`` by a person of its role who may), goals and their
progress through ``reports.services``, operating expenditure with ``budget.services.
record_expenditure``.

The year predates the system: the services read the time from ``django.utils.timezone.now``, and the
build runs under a :class:`Clock` set to the day in 2020 (La Paz) each event happened, so the audit
trail, the registration dates and the payment dates fall where the report's year says.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from approvals import services as approvals
from approvals.steps import spec_for
from budget import services as budget
from budget.models import BudgetLine
from cases.clock import LA_PAZ
from expediente.management.commands.seed_demo import LINES_2020, PROGRAMS, SOURCES, SUBPROGRAMS
from expediente.seed_poa import POA_2020, upload_of
from iniciativas import services as ini
from iniciativas.call_services import create_call
from iniciativas.models import Initiative
from registrations import services as reg
from registrations.models import Registration
from registry import services as registry
from registry.models import Unit, User
from reports import services as goals
from transfers import services as transfers
from transfers.models import Transfer
from workflows.models import CaseTask

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- the clock ----------------------------------------------------------------------------------------


class Clock:
    """``timezone.now`` for the build: the day set with :meth:`on` (10:00 in La Paz), one millisecond
    later at every call, so the trail's order is the order of events."""

    def __init__(self) -> None:
        self.at = dt.datetime(2019, 1, 1, 10, tzinfo=LA_PAZ)

    def on(self, day: dt.date) -> None:
        start = dt.datetime.combine(day, dt.time(10), tzinfo=LA_PAZ)
        self.at = max(self.at, start)

    def now(self) -> dt.datetime:
        self.at += dt.timedelta(milliseconds=1)
        return self.at.astimezone(dt.UTC)


@contextmanager
def clock() -> Iterator[Clock]:
    c = Clock()
    with mock.patch.object(timezone, "now", c.now):
        yield c


def pdf(name: str = "documento.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- the year's design ----------------------------------------------------------------------------------

# Registrations: the units the year's cases need, registered in 2019 through the flow and renewed in
# 2020 (the beneficiaries), and some new units registered in 2020. Not the published 1.327 and 1.458:
# one registration through the flow costs ~0,3 s on SQLite (2.785 would be ~15 minutes), so section
# IV's two registry goals are progress entered with evidence (see test_year_proof.py).
NEW_REGISTRATIONS = 6

# PROLECHE (source 42): the initiatives closed in 2020 (4.1 e: "93 cierres de iniciativas"), each
# approved Bs 150.000 and paid in its three tranches (40/40/20); milk cooling tanks delivered in kind;
# the "precio justo" price compensation to dairy companies (4.1, retos b): agreements and monthly settlements.
INITIATIVES_CLOSED = 10  # not the published 93: see test_year_proof.py
INITIATIVE_AMOUNT = D("150000.00")
PROLECHE_IN_KIND = 5  # transfers of 3 cooling tanks each
TANK = {"description": "Tanque de enfriamiento de leche 2.000 l", "quantity": 3, "unit_value": "38500.50"}
PRECIO_JUSTO = [D("1500000.00")] * 6  # each dairy company's compensation ceiling, paid whole (compensation())
COMPENSATION_RATE = D("0.40")  # Bs per litre
COMPENSATION_MONTHS = ("2020-07", "2020-08", "2020-09", "2020-10")
LITRES_A_MONTH = D("937500")  # x 0,40 = Bs 375.000 a month, x 4 = the ceiling
# PROMYPE: Promype/Jiwasa closes phase 1 — money from source 44 (COSUDE's transfer) to MYPEs, sewing
# and cutting machines in kind from source 80; Promype Fase 2 (from May) — money to MYPEs from 80.
JIWASA_44_MONEY = [D("76235.00")] * 5
JIWASA_80_IN_KIND = 8  # transfers of 4 sewing machines + 2 cutters each
MACHINES = [
    {"description": "Máquina de costura industrial recta", "quantity": 4, "unit_value": "18750.00"},
    {"description": "Cortadora de tela vertical", "quantity": 2, "unit_value": "22500.00"},
]
FASE2_MONEY = [D("150000.00")] * 4


@dataclass
class Year:
    """What the build made, and how long each part took (seconds)."""

    lines: dict[tuple[str, str | None, str], BudgetLine] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    dairy: list[Unit] = field(default_factory=list)
    mypes: list[Unit] = field(default_factory=list)
    producers: list[Unit] = field(default_factory=list)
    initiatives: list[Initiative] = field(default_factory=list)
    transfers: dict[str, list[Transfer]] = field(default_factory=dict)
    agreements: list = field(default_factory=list)  # compensations.CompensationAgreement
    settlements: list = field(default_factory=list)  # compensations.Settlement
    operating: dict[tuple[str, str | None, str], Decimal] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


STAFF = {
    "evaluator": ["evaluador1", "evaluador2", "evaluador3", "evaluador4"],
    "legal": ["legal1", "legal2"],
    "finance": ["finanzas1", "finanzas2", "finanzas3"],
    "director": ["director1", "director2"],
}
DEPARTMENTS = ("LPZ", "SCZ", "CBB", "PTS")


def people(system: User) -> None:
    for role, names in STAFF.items():
        for name in names:
            user = registry.create_user(actor=system, username=name, roles=[role])
            if role == "evaluator":
                for department in DEPARTMENTS:
                    registry.grant_department_scope(user, department, actor=system)


# --- deciding tasks -------------------------------------------------------------------------------------

TYPED = {
    "report": "Favorable.",
    "opinion": "Procedente.",
    "resolution_number": "RA-001/2020",
    "agreement_number": "CONV-001/2020",
    "record_number": "ACTA-ENT-1",
    "closeout_record": "ACTA-CIERRE-1",
    "received": True,
    "counterpart_verified": True,
    "no_conflict": True,
    "findings": "Equipos en uso por los socios.",
    "summary": "Ejecutado según el plan de negocios.",
    "answer": "Adjuntamos lo pedido.",
}


def fill(task: CaseTask, case, overrides: dict) -> dict:
    """The step's form as a careful person fills it: the offered defaults, typed answers for the rest."""
    data: dict = {}
    for f in (d.describe() for d in spec_for(task.case_type, task.step).fields(task, case)):
        name = f["name"]
        if f["default"] is not None:
            data[name] = f["default"]
        elif name in TYPED:
            data[name] = TYPED[name]
        elif name == "payment_reference":
            data[name] = f"SIGEP-{task.pk}"
    if task.step == "delivery_record":
        data["items"] = [{**item, "serial": f"SN-{task.pk}-{item['unit']:03d}"} for item in data["items"]]
    data.update(overrides)
    return data


_users: dict[str, User] = {}


def worker(task: CaseTask, applicant: User) -> User:
    if task.role == "applicant":
        return applicant
    for name in STAFF[task.role]:
        user = _users.get(name) or _users.setdefault(name, User.objects.get(username=name))
        if approvals.refusal_reason(user, task) is None:
            return user
    raise AssertionError(f"nobody may work {task.case_code} {task.step}")


def drive(code: str, applicant: User, answers, *, until: str = "") -> None:
    """Decide the case's open tasks in order until none is left (or one of step ``until`` is open).
    ``answers(task, case) -> dict`` gives the data a step needs beyond its defaults."""
    for _ in range(60):
        tasks = list(CaseTask.objects.filter(case_code=code, is_open=True).exclude(step="").order_by("pk"))
        if not tasks or any(t.step == until for t in tasks):
            return
        task = tasks[0]
        case = approvals.case_of(task)
        approvals.complete_task(
            task.pk,
            actor=worker(task, applicant),
            decision="approve",
            comment="",
            data=fill(task, case, answers(task, case)),
        )
    raise AssertionError(f"{code} did not finish")


# --- the build --------------------------------------------------------------------------------------------


def budget_2020(system: User, year: Year) -> None:
    programs = {code: budget.create_program(actor=system, code=code, name=name) for code, name in PROGRAMS}
    sources = {code: budget.create_source(actor=system, code=code, name=name) for code, name in SOURCES}
    subs = {
        (p, code): budget.create_subprogram(actor=system, program=programs[p], code=code, name=name)
        for p, code, name in SUBPROGRAMS
    }
    for row in LINES_2020:
        line = budget.create_budget_line(
            actor=system,
            fiscal_year=2020,
            program=programs[row.program],
            subprogram=subs[(row.program, row.subprogram)] if row.subprogram else None,
            source=sources[row.source],
            da_ue=row.da_ue,
            activity=row.activity,
            funder=row.funder,
            object_of_expenditure=row.object_of_expenditure,
            amount_in_force=row.in_force,
        )
        year.lines[(row.program, row.subprogram, row.source)] = line


def new_unit(system: User, clk: Clock, n: int, *, department: str, sector: str, kind: str, name: str) -> Unit:
    """A unit registered through its registration: the applicant creates it, uploads the documents,
    submits; the department's registry officer verifies it (certificate issued)."""
    applicant = registry.create_user(actor=system, username=f"solicitante{n}", roles=["applicant"])
    r = reg.create_registration(
        actor=applicant,
        kind="new",
        unit_data={
            "tax_id": f"{1000000 + n}",
            "name": f"{name} {n}",
            "kind": kind,
            "department": department,
            "municipality": "Municipio",
            "sector": sector,
        },
    )
    for doc in r.required_documents:
        reg.upload_document(r, actor=applicant, kind=doc, uploaded_file=pdf())
    reg.submit_registration(r, actor=applicant)
    drive(r.code, applicant, lambda task, case: {})
    r = Registration.objects.select_related("unit").get(pk=r.pk)
    assert r.state == "closed", (r.code, r.state)
    return r.unit


def renew(unit: Unit, applicant: User) -> None:
    r = reg.create_registration(actor=applicant, kind="renewal", unit=unit)
    for doc in r.required_documents:
        reg.upload_document(r, actor=applicant, kind=doc, uploaded_file=pdf())
    reg.submit_registration(r, actor=applicant)
    drive(r.code, applicant, lambda task, case: {})
    assert Registration.objects.get(pk=r.pk).state == "closed"


# Who the 2019 units are (each registered in 2019 and renewed in January 2020): the beneficiaries.
OLD_UNITS = (
    [("dairy_company", "dairy", "Empresa láctea")] * 6  # precio justo
    + [("association", "dairy", "Asociación de productores de leche")] * 5  # tanks, initiatives
    + [("mype", "textiles", "Taller textil")] * 9
    + [("mype", "leather", "Taller de cuero")] * 8  # Jiwasa and Fase 2
)


def registrations(system: User, clk: Clock, year: Year) -> None:
    """The beneficiaries registered in 2019 and renewed in January 2020; new units registered in
    January 2020."""
    started = time.perf_counter()
    old: list[tuple[Unit, User]] = []
    for n, (kind, sector, name) in enumerate(OLD_UNITS):
        clk.on(dt.date(2019, 3, 1) + dt.timedelta(days=n))
        unit = new_unit(system, clk, n, department=DEPARTMENTS[n % 4], sector=sector, kind=kind, name=name)
        old.append((unit, User.objects.get(username=f"solicitante{n}")))
    year.timings["registrations_2019"] = time.perf_counter() - started
    started = time.perf_counter()
    clk.on(dt.date(2020, 1, 2))
    for unit, applicant in old:
        renew(unit, applicant)
    year.timings["renewals_2020"] = time.perf_counter() - started
    started = time.perf_counter()
    clk.on(dt.date(2020, 1, 13))
    for i in range(NEW_REGISTRATIONS):
        n = len(OLD_UNITS) + i
        unit = new_unit(
            system, clk, n, department=DEPARTMENTS[i % 4], sector="wood", kind="artisan", name="Carpintería"
        )
        year.units.append(unit)
    year.timings["registrations_2020"] = time.perf_counter() - started
    fresh = [Unit.objects.get(pk=u.pk) for u, _a in old]
    year.dairy = [u for u in fresh if u.kind == "dairy_company"]
    year.producers = [u for u in fresh if u.kind == "association"]
    year.mypes = [u for u in fresh if u.kind == "mype"]


def applicant_of(unit: Unit) -> User:
    return User.objects.filter(unit=unit).first()


# --- initiatives (PROLECHE) -------------------------------------------------------------------------------

RUBRIC = [
    {"code": "relevance", "label": "Pertinencia", "max": 40},
    {"code": "feasibility", "label": "Factibilidad", "max": 30},
    {"code": "impact", "label": "Impacto", "max": 30},
]
REQUIRED = ["project_profile", "counterpart_letter"]


def initiative_answers(task: CaseTask, case) -> dict:
    from iniciativas.conditions import paid_amount

    if task.step == "technical_evaluation":
        return {"relevance": 35, "feasibility": 25, "impact": 20}
    if task.step in ("progress_report", "final_report"):
        final = task.step == "final_report"
        return {
            "physical_progress": 100 if final else 50,
            "amount_spent": str(paid_amount(case)),
            "counterpart_spent": str(case.counterpart_amount),
        }
    if task.step == "closeout":
        return {"refund_amount": "0.00"}
    return {}


def initiatives(system: User, clk: Clock, year: Year) -> None:
    """93 PROLECHE initiatives: submitted, admitted, evaluated (two evaluators), approved (legal
    report, budget certification on the PROLECHE line), agreement signed, three tranches ordered and
    paid (progress reported and reviewed between them), final report and inspection, closed."""
    started = time.perf_counter()
    clk.on(dt.date(2020, 5, 4))
    from budget.models import Program

    call = create_call(
        actor=system,
        code="PROLECHE-2020-1",
        title="Fondo PROLECHE 2020: iniciativas productivas por cuenca lechera",
        program=Program.objects.get(code="PROLECHE"),
        opens_on=dt.date(2020, 5, 4),
        closes_on=dt.date(2020, 12, 31),
        max_amount=INITIATIVE_AMOUNT,
        min_counterpart_share=D("0.20"),
        required_documents=REQUIRED,
        rubric=RUBRIC,
        threshold=D("60"),
        evaluators=2,
        tranche_plan=[40, 40, 20],
    )
    applicants = year.producers + year.dairy
    for n in range(INITIATIVES_CLOSED):
        clk.on(dt.date(2020, 5, 5) + dt.timedelta(days=n * 150 // INITIATIVES_CLOSED))
        unit = applicants[n % len(applicants)]
        applicant = applicant_of(unit)
        case = ini.create_initiative(
            actor=applicant,
            unit=unit,
            call=call,
            title=f"Iniciativa productiva láctea {n + 1}",
            summary="Equipamiento para el acopio y la transformación de leche.",
            department=unit.department.code,
            requested_amount=str(INITIATIVE_AMOUNT),
            counterpart_amount="40000.00",
        )
        for kind in REQUIRED:
            ini.upload_document(case, actor=applicant, kind=kind, uploaded_file=pdf())
        ini.submit_initiative(case, actor=applicant)
        drive(case.code, applicant, initiative_answers)
        case = Initiative.objects.get(pk=case.pk)
        assert case.state == "closed", (case.code, case.state)
        year.initiatives.append(case)
    year.timings["initiatives"] = time.perf_counter() - started


# --- transfers ------------------------------------------------------------------------------------------


def transfer(
    clk: Clock,
    year: Year,
    *,
    label: str,
    unit: Unit,
    program: str,
    line,
    amount=None,
    assets=None,
    purpose: str,
    on: dt.date,
) -> Transfer:
    from budget.models import Program

    clk.on(on)
    unit = Unit.objects.get(pk=unit.pk)
    applicant = applicant_of(unit)
    case = transfers.create_transfer(
        actor=applicant,
        beneficiary=unit,
        modality="in_kind" if assets else "money",
        kind="public_private",
        program=Program.objects.get(code=program),
        amount=None if amount is None else str(amount),
        assets=assets,
        purpose=purpose,
    )

    def answers(task: CaseTask, _case) -> dict:
        return {"budget_line": line.pk} if task.step == "budget_certification" else {}

    drive(case.code, applicant, answers)
    case = Transfer.objects.get(pk=case.pk)
    assert case.state == "closed", (case.code, case.state)
    year.transfers.setdefault(label, []).append(case)
    return case


def promype_phase_1(clk: Clock, year: Year) -> None:
    """Promype/Jiwasa, January to March (phase 1 closed with COSUDE in March)."""
    started = time.perf_counter()
    jiwasa_44 = year.lines[("PROMYPE", "JIWASA", "44")]
    for n, amount in enumerate(JIWASA_44_MONEY):
        transfer(
            clk,
            year,
            label="jiwasa_money",
            unit=year.mypes[n],
            program="PROMYPE",
            line=jiwasa_44,
            amount=amount,
            purpose="Capital de operaciones para la MYPE (Promype/Jiwasa).",
            on=dt.date(2020, 1, 20) + dt.timedelta(days=7 * n),
        )
    jiwasa_80 = year.lines[("PROMYPE", "JIWASA", "80")]
    for n in range(JIWASA_80_IN_KIND):
        transfer(
            clk,
            year,
            label="jiwasa_in_kind",
            unit=year.mypes[5 + n],
            program="PROMYPE",
            line=jiwasa_80,
            assets=MACHINES,
            purpose="Maquinaria para el taller (Promype/Jiwasa, cierre de la fase 1).",
            on=dt.date(2020, 2, 24) + dt.timedelta(days=3 * n),
        )
    year.timings["transfers_promype_phase_1"] = time.perf_counter() - started


def proleche_in_kind(clk: Clock, year: Year) -> None:
    """Milk cooling tanks delivered to producers' associations, March and April."""
    started = time.perf_counter()
    proleche = year.lines[("PROLECHE", None, "42")]
    for n in range(PROLECHE_IN_KIND):
        transfer(
            clk,
            year,
            label="proleche_in_kind",
            unit=year.producers[n],
            program="PROLECHE",
            line=proleche,
            assets=[TANK],
            purpose="Tanques de enfriamiento para el acopio de leche.",
            on=dt.date(2020, 3, 23) + dt.timedelta(days=7 * n),
        )
    year.timings["transfers_proleche_in_kind"] = time.perf_counter() - started


def promype_phase_2(clk: Clock, year: Year) -> None:
    """Promype Fase 2 (agreement of 1 May 2020): money to MYPEs in October."""
    started = time.perf_counter()
    fase2 = year.lines[("PROMYPE", "FASE2", "80")]
    for n, amount in enumerate(FASE2_MONEY):
        transfer(
            clk,
            year,
            label="fase2_money",
            unit=year.mypes[13 + n],
            program="PROMYPE",
            line=fase2,
            amount=amount,
            purpose="Capital de operaciones para la MYPE (Promype Fase 2).",
            on=dt.date(2020, 10, 5) + dt.timedelta(days=5 * n),
        )
    year.timings["transfers_promype_phase_2"] = time.perf_counter() - started


def compensation(clk: Clock, year: Year) -> None:
    """PROLECHE's price compensation to dairy companies "en el marco del precio justo" (section IV 4.1,
    retos b), through the compensation services: one agreement per company (Bs 0,40 per litre of raw
    milk, July to October 2020, ceiling Bs 1.500.000), approved once (finance's budget certification
    reserves the ceiling on PROLECHE's source-42 line, the director's resolution commits it), then each
    month declared by the company with its collection record in November, verified by PROLECHE's
    technical staff and paid by finance: 937.500 litres a month, Bs 375.000, four months, the whole
    ceiling."""
    from compensations import services as compensations
    from compensations.models import CompensationAgreement, Settlement

    started = time.perf_counter()
    line = year.lines[("PROLECHE", None, "42")]
    technical = User.objects.get(username=STAFF["evaluator"][0])
    clk.on(dt.date(2020, 11, 2))
    for n, ceiling in enumerate(PRECIO_JUSTO):
        unit = Unit.objects.get(pk=year.dairy[n].pk)
        applicant = applicant_of(unit)
        agreement = compensations.create_agreement(
            actor=technical,
            unit=unit,
            budget_line=line,
            rate=COMPENSATION_RATE,
            first_month="2020-07",
            last_month="2020-10",
            ceiling=ceiling,
        )
        drive(agreement.code, applicant, lambda _task, _case: {})
        agreement = CompensationAgreement.objects.get(pk=agreement.pk)
        assert agreement.state == "active", (agreement.code, agreement.state)
        year.agreements.append(agreement)
        for month in COMPENSATION_MONTHS:
            settlement = compensations.declare_settlement(
                agreement,
                actor=applicant,
                month=month,
                litres=str(LITRES_A_MONTH),
                evidence=pdf("acopio.pdf"),
            )
            drive(settlement.code, applicant, lambda _task, _case: {})
            settlement = Settlement.objects.get(pk=settlement.pk)
            assert settlement.state == "paid", (settlement.code, settlement.state)
            year.settlements.append(settlement)
    year.timings["compensation"] = time.perf_counter() - started


# --- operating expenditure: what no case carries ----------------------------------------------------------


def operating(system: User, clk: Clock, year: Year) -> None:
    """The rest of each line's 2020 execution as one operating expenditure (salaries, services,
    administration), dated 31/12/2020: ``LINES_2020[i].executed`` (the seed's split of the printed
    figures over the lines) minus what the line's cases executed."""
    clk.on(dt.date(2020, 12, 31))
    for row in LINES_2020:
        line = year.lines[(row.program, row.subprogram, row.source)]
        line.refresh_from_db()
        rest = row.executed - line.executed
        assert rest >= 0, (row, line.executed)
        year.operating[(row.program, row.subprogram, row.source)] = rest
        if rest:
            budget.record_expenditure(
                line,
                actor=system,
                amount=rest,
                date=dt.date(2020, 12, 31),
                description="Gasto de funcionamiento de la gestión 2020 (sueldos, servicios, administración)",
                c31_reference=f"C31-2020-{line.pk:04d}",
            )


# --- goals -------------------------------------------------------------------------------------------------


def poa(system: User, clk: Clock) -> None:
    """The 20 goals of section IV with a figure, entered by hand with their evidence (a PDF quoting the
    report's line), as the report's year predates the system."""
    from budget.models import Program

    clk.on(dt.date(2020, 12, 31))
    programs = {p.code: p for p in Program.objects.all()}
    for spec in POA_2020:
        goal = goals.save_goal(
            actor=system,
            fiscal_year=2020,
            program=programs[spec.program],
            indicator=spec.indicator,
            unit=spec.unit,
            target=spec.target,
            computed_from=None,
            description=f"§{spec.section}",
        )
        if spec.result is not None:
            goals.record_progress(
                goal.pk,
                actor=system,
                value=spec.result,
                date=spec.on,
                note=f"§{spec.section}: {spec.quote}"[:500],
                evidence=upload_of(spec),
            )


def build() -> Year:
    year = Year()
    _users.clear()  # a former build's users were rolled back with it
    started = time.perf_counter()
    with clock() as clk:
        system = registry.system_user()
        people(system)
        budget_2020(system, year)
        # In the order of the year: the clock only moves forward.
        registrations(system, clk, year)  # 2019; renewals and new units in January 2020
        promype_phase_1(clk, year)  # January to March
        proleche_in_kind(clk, year)  # March, April
        initiatives(system, clk, year)  # May to October
        promype_phase_2(clk, year)  # October
        compensation(clk, year)  # November
        operating(system, clk, year)
        poa(system, clk)
    year.timings["total"] = time.perf_counter() - started
    return year
