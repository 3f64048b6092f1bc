"""The data set of ``bench/caselist_bench.py``: 100,000 cases of the three kinds, fast.

People, units, programs, calls and scopes go through the services (the real rows, permissions and
audit entries). The 100,000 case rows do NOT: driving 100,000 cases through their flows would take
hours, so this BENCHMARK FIXTURE (and nothing outside ``bench/``) writes them with ``bulk_create``,
in the shapes the services leave them (a code, a state of the kind's FSM, unit, department,
program or call, amounts, the creation moment), on PostgreSQL and SQLite alike.

Distribution (seeded, reproducible): 70 % initiatives, 20 % transfers, 10 % registrations (a third
of them a new unit's, with the unit's name and NIT in ``unit_data``); departments weighted like the
productive units (Santa Cruz first); five programs (PROLECHE first); states weighted as a
three-year-old agency's cases would be (most closed or in execution); created over the last three
years; amounts Bs 20.000 to 500.000.
"""

from __future__ import annotations

import datetime as dt
import random
from contextlib import contextmanager
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

SEED = 20261207
UNITS = 600
# The measured people (see caselist_bench.scenarios).
CONTROL, NATIONAL, REGIONAL = "cl_control", "cl_national", "cl_regional"
DEPARTMENTS = {"SCZ": 28, "LPZ": 20, "CBB": 17, "ORU": 7, "PTS": 7, "CHQ": 6, "TJA": 7, "BEN": 5, "PND": 3}
PROGRAMS = {
    "PROLECHE": ("Fondo PROLECHE", 45),
    "PROMYPE": ("Apoyo a micro y pequeñas empresas (PROMYPE)", 30),
    "CETIP": ("Centros de Tecnología para la Innovación Productiva (CETIP)", 15),
    "REGISTRO": ("Registro y Acreditación de Unidades Productivas", 5),
    "PROBOLIVIA": ("PRO-BOLIVIA (administración)", 5),
}
SHARES = {"initiative": 70, "transfer": 20, "registration": 10}
INITIATIVE_STATES = {
    "draft": 4,
    "submitted": 3,
    "observed": 2,
    "in_evaluation": 4,
    "in_approval": 3,
    "approved": 2,
    "agreement_signed": 2,
    "in_execution": 20,
    "in_closeout": 3,
    "closed": 35,
    "rejected": 12,
    "withdrawn": 3,
    "abandoned": 3,
    "cancelled": 1,
    "in_recovery": 1,
    "recovered": 1,
}
TRANSFER_STATES = {
    "requested": 5,
    "in_verification": 5,
    "in_approval": 4,
    "approved": 3,
    "agreement_signed": 3,
    "in_delivery": 10,
    "delivered": 10,
    "in_followup": 15,
    "closed": 35,
    "rejected": 6,
    "annulled": 3,
    "reverted": 1,
}
REGISTRATION_STATES = {
    "draft": 5,
    "submitted": 5,
    "in_review": 5,
    "observed": 3,
    "approved": 10,
    "closed": 55,
    "rejected": 7,
    "withdrawn": 5,
    "abandoned": 5,
}
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
DAYS = 3 * 365


def _pick(rng: random.Random, table: dict, n: int) -> list:
    return rng.choices(list(table), [v if isinstance(v, int) else v[-1] for v in table.values()], k=n)


@contextmanager
def _created_at_as_given(*models):
    """``created_at`` is ``auto_now_add``; the fixture spreads the cases over three years, so the
    flag is off while it writes (bench only)."""
    fields = [m._meta.get_field("created_at") for m in models]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def build(cases: int = 100_000, log=print) -> dict:
    """Create the data set in the (migrated, empty) database."""
    from budget import services as budget_services
    from expediente.management.commands.seed_demo import PROLECHE_CALL_DOCUMENTS, PROLECHE_CALL_RUBRIC
    from iniciativas import services as initiative_services
    from iniciativas.models import Initiative
    from registrations.models import Registration
    from registry import services as registry_services
    from registry.models import Department, Unit
    from transfers.models import Transfer

    rng = random.Random(SEED)
    system = registry_services.system_user()
    log("  people, units, programs, calls and scopes (through the services)…")
    with transaction.atomic():
        programs = {
            code: budget_services.create_program(actor=system, code=code, name=name)
            for code, (name, _w) in PROGRAMS.items()
        }
        departments = {d.code: d for d in Department.objects.all()}
        calls = {
            code: initiative_services.create_call(
                actor=system,
                code=f"{code}-2024",
                title=f"Convocatoria {code}",
                program=program,
                opens_on=dt.date(2024, 1, 1),
                closes_on=dt.date(2026, 12, 31),
                max_amount=Decimal("500000.00"),
                min_counterpart_share=Decimal("0.50"),
                required_documents=PROLECHE_CALL_DOCUMENTS,
                rubric=PROLECHE_CALL_RUBRIC,
            )
            for code, program in programs.items()
        }
        sectors = [s for s, _l in Unit.Sector.choices]
        units = []
        for n, code in enumerate(_pick(rng, DEPARTMENTS, UNITS)):
            units.append(
                registry_services.register_unit(
                    actor=system,
                    tax_id=str(4_000_001 + n),
                    name=f"{rng.choice(['Asociación', 'Cooperativa', 'Taller', 'Planta'])} "
                    f"{rng.choice(['Lechera', 'Textil', 'Maderera', 'Artesanal', 'Agroindustrial'])} "
                    f"{n + 1:03d} ({code})",
                    kind=rng.choice(["association", "mype", "cooperative", "artisan"]),
                    department=code,
                    municipality=departments[code].name,
                    sector=rng.choice(sectors),
                )
            )
        people = {
            CONTROL: registry_services.create_user(
                actor=system, username=CONTROL, roles=["internal_control"]
            ),
            NATIONAL: registry_services.create_user(actor=system, username=NATIONAL, roles=["evaluator"]),
            REGIONAL: registry_services.create_user(actor=system, username=REGIONAL, roles=["evaluator"]),
        }
        applicant = registry_services.create_user(
            actor=system, username="cl_applicant", roles=["applicant"], unit=units[0]
        )
        for code in ("SCZ", "CBB"):
            registry_services.grant_department_scope(people[REGIONAL], departments[code], actor=system)
        budget_services.grant_program_scope(people[REGIONAL], programs["PROLECHE"], actor=system)

    log(f"  {cases:,} cases (bulk_create; bypasses the services — bench only)…")
    kinds = _pick(rng, SHARES, cases)
    numbers = {"initiative": 0, "transfer": 0, "registration": 0}
    batches: dict[str, list] = {"initiative": [], "transfer": [], "registration": []}
    program_codes = list(PROGRAMS)
    program_weights = [w for _n, w in PROGRAMS.values()]
    dept_codes = list(DEPARTMENTS)
    moments = sorted(NOW - dt.timedelta(seconds=rng.randrange(DAYS * 86_400)) for _ in range(cases))
    with _created_at_as_given(Initiative, Transfer, Registration), transaction.atomic():
        for kind, created in zip(kinds, moments, strict=True):
            numbers[kind] += 1
            n = numbers[kind]
            unit = rng.choice(units)
            amount = Decimal(rng.randrange(2_000_000, 50_000_000)) / 100
            common = {"department_id": unit.department_id, "created_at": created, "updated_at": created}
            if kind == "initiative":
                program = rng.choices(program_codes, program_weights)[0]
                batches[kind].append(
                    Initiative(
                        code=f"INI-{created.year}-{n:06d}",
                        call=calls[program],
                        unit=unit,
                        title=f"Iniciativa {n}",
                        summary="Equipamiento productivo.",
                        requested_amount=amount,
                        counterpart_amount=amount,
                        state=_pick(rng, INITIATIVE_STATES, 1)[0],
                        created_by=applicant,
                        **common,
                    )
                )
            elif kind == "transfer":
                program = rng.choices(program_codes, program_weights)[0]
                batches[kind].append(
                    Transfer(
                        code=f"TRF-{created.year}-{n:06d}",
                        beneficiary=unit,
                        program=programs[program],
                        modality=rng.choice(["in_kind", "money"]),
                        kind=rng.choice(["public_private", "public_public"]),
                        amount=amount,
                        state=_pick(rng, TRANSFER_STATES, 1)[0],
                        created_by=applicant,
                        **common,
                    )
                )
            else:
                new = rng.random() < 1 / 3
                dept = departments[rng.choice(dept_codes)] if new else None
                batches[kind].append(
                    Registration(
                        code=f"REG-{created.year}-{n:06d}",
                        kind="new" if new else "renewal",
                        unit=None if new else unit,
                        unit_data={"name": f"Unidad nueva {n:05d}", "tax_id": str(7_000_001 + n)}
                        if new
                        else {},
                        applicant=applicant,
                        state=_pick(rng, REGISTRATION_STATES, 1)[0],
                        **{**common, "department_id": dept.pk if dept else unit.department_id},
                    )
                )
        for model, rows in (
            (Initiative, "initiative"),
            (Transfer, "transfer"),
            (Registration, "registration"),
        ):
            model.objects.bulk_create(batches[rows], batch_size=2_000)
    return {"cases": cases, "numbers": numbers, "at": timezone.now()}
