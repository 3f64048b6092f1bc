"""``python manage.py seed_demo_cases``: a few cases in flight, so that every demo user of
``seed_demo`` finds something in its inbox right after ``make run``.

Run after ``seed_demo`` (it needs its users, units and open PROLECHE call). Every case is made the way
people would make it, through the services: the applicant drafts, uploads and submits; then the demo
staff claim and decide the tasks their inboxes offer, with the segregation-of-duties rules applied
(a person who decided an incompatible step is skipped for a colleague). Nothing is written directly.

    INI …  draft        solicitante1: a draft with its checklist still open
    INI …  submitted    evaluators: admissibility to claim ("Disponibles")
    INI …  evaluation   evaluators: the technical evaluations to claim
    INI …  approval     legal: the legal report; then finance: the budget certification
    TRF …  requested    evaluators and legal: the technical and legal reports of an in-kind transfer
    REG …  submitted    registry officers: a new dairy cooperative's registration to review
    CPA …  active       PROLECHE's price compensation with solicitante1's dairy association (Bs 0,40
                        per litre): LIQ … paid (three months ago), LIQ … verified (finance: the
                        payment to confirm), LIQ … declared (evaluators: the litres to verify)

Idempotent: a case whose title already exists is not made again. Refuses to run when ``DEBUG`` is off
unless ``--force`` (it writes demo data).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from cases.clock import today

# A minimal well-formed PDF (documents are recognised by their first bytes).
DEMO_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# How far each demo initiative goes: the step after which it stops (None: it stays as it is).
INITIATIVES = (
    {
        "title": "Ampliación del hato y mejora genética (borrador)",
        "applicant": "solicitante1",
        "reach": {"municipality": "Montero", "beneficiaries_women": 18, "beneficiaries_men": 22},
        "requested": "80000.00",
        "counterpart": "90000.00",
        "submit": False,
        "stop_before": None,
    },
    {
        "title": "Tanque de enfriamiento de 2.000 litros para APLEWA",
        "applicant": "solicitante1",
        "reach": {"municipality": "Warnes", "beneficiaries_women": 37, "beneficiaries_men": 41},
        "requested": "120000.00",
        "counterpart": "130000.00",
        "submit": True,
        "stop_before": "admissibility",
    },
    {
        "title": "Planta de yogur y quesos de la asociación de Potosí",
        "applicant": "solicitante2",
        "reach": {
            "sector": "dairy",
            "beneficiaries_kind": "families",
            "beneficiaries_women": 26,
            "beneficiaries_men": 19,
        },
        "requested": "95000.00",
        "counterpart": "100000.00",
        "submit": True,
        "stop_before": "technical_evaluation",
    },
    {
        "title": "Centro de acopio lechero de Warnes",
        "applicant": "solicitante1",
        "reach": {"municipality": "Warnes", "beneficiaries_women": 112, "beneficiaries_men": 97},
        "requested": "150000.00",
        "counterpart": "160000.00",
        "submit": True,
        "stop_before": "budget_certification",
    },
)
TRANSFER_PURPOSE = "Máquinas de coser industriales para el taller de confección de la unidad (demostración)"

# What the staff type into each step's form (the rest: the form's defaults).
TYPED = {
    "report": "Favorable: cumple los requisitos de la convocatoria.",
    "opinion": "Procedente conforme a normativa.",
    "no_conflict": True,
    "findings": "Sin observaciones.",
}


REGISTRATION_UNIT = {
    "tax_id": "3344556",
    "name": "Cooperativa Lechera Valle Alto",
    "kind": "cooperative",
    "department": "CBB",
    "municipality": "Punata",
    "sector": "dairy",
}


class Command(BaseCommand):
    help = "Create a few demo cases in flight (after seed_demo), so every demo inbox has work."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even when DEBUG is off")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo_cases refuses to run when DEBUG is off (use --force).")
        from registry.models import User

        self.users = {u.username: u for u in User.objects.filter(is_active=True)}
        if "solicitante1" not in self.users:
            raise CommandError("Run `python manage.py seed_demo` first (its users and call are needed).")
        made = [self._initiative(spec) for spec in INITIATIVES]
        made.append(self._transfer())
        made.append(self._registration())
        made.extend(self._compensation())
        for line in filter(None, made):
            self.stdout.write(f"  + {line}")
        if not any(made):
            self.stdout.write("seed_demo_cases: the demo cases exist already")

    # --- initiatives ---------------------------------------------------------------------------------

    def _initiative(self, spec: dict) -> str | None:
        from iniciativas import services
        from iniciativas.models import Initiative
        from iniciativas.selectors import call_list_open

        if Initiative.objects.filter(title=spec["title"]).exists():
            return None
        applicant = self.users[spec["applicant"]]
        unit = applicant.unit
        if unit is None:
            raise CommandError(
                f"{applicant.username} belongs to no unit: run `python manage.py seed_demo` first."
            )
        call = call_list_open().filter(program__code="PROLECHE").order_by("closes_on").first()
        if call is None:
            raise CommandError("No open PROLECHE call: run `python manage.py seed_demo` first.")
        initiative = services.create_initiative(
            actor=applicant,
            unit=unit,
            call=call,
            title=spec["title"],
            summary="Caso de demostración creado por seed_demo_cases.",
            department=unit.department.code,
            requested_amount=Decimal(spec["requested"]),
            counterpart_amount=Decimal(spec["counterpart"]),
            reach=spec.get("reach"),
        )
        if spec["submit"]:
            for kind in call.required_documents:
                upload = SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF, content_type="application/pdf")
                services.upload_document(initiative, actor=applicant, kind=kind, uploaded_file=upload)
            initiative = services.submit_initiative(initiative, actor=applicant)
            self._work(initiative.code, stop_before=spec["stop_before"])
        initiative.refresh_from_db()
        return f"{initiative.code} {initiative.state}: {initiative.title}"

    # --- a transfer ----------------------------------------------------------------------------------

    def _transfer(self) -> str | None:
        from budget.models import Program
        from transfers import services
        from transfers.models import Transfer

        if Transfer.objects.filter(purpose=TRANSFER_PURPOSE).exists():
            return None
        applicant = self.users["solicitante2"]
        if applicant.unit is None:
            raise CommandError("solicitante2 belongs to no unit: run `python manage.py seed_demo` first.")
        transfer = services.create_transfer(
            actor=applicant,
            beneficiary=applicant.unit,
            modality="in_kind",
            kind="public_private",
            program=Program.objects.get(code="PROMYPE"),
            assets=[
                {"description": "Máquina de coser industrial recta", "quantity": 4, "unit_value": "6500.00"}
            ],
            purpose=TRANSFER_PURPOSE,
            reach={"municipality": "Llallagua", "beneficiaries_women": 9, "beneficiaries_men": 3},
        )
        return f"{transfer.code} {transfer.state}: {TRANSFER_PURPOSE}"

    # --- a new unit's registration, waiting for the registry officer -------------------------------

    def _registration(self) -> str | None:
        from registrations import services
        from registrations.models import Registration

        applicant = self.users.get("solicitante3")
        if (
            applicant is None
            or applicant.unit_id
            or Registration.objects.filter(applicant=applicant).exists()
        ):
            return None
        registration = services.create_registration(actor=applicant, kind="new", unit_data=REGISTRATION_UNIT)
        for kind in registration.required_documents:
            upload = SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF, content_type="application/pdf")
            services.upload_document(registration, actor=applicant, kind=kind, uploaded_file=upload)
        registration = services.submit_registration(registration, actor=applicant)
        return f"{registration.code} {registration.state}: {REGISTRATION_UNIT['name']}"

    # --- PROLECHE's price compensation with the dairy association ------------------------------------

    def _compensation(self) -> list[str]:
        """An agreement in force (approved through the inbox: certification, resolution) and three
        monthly settlements in different states, all through the services."""
        import datetime as dt

        from budget.models import BudgetLine
        from compensations import services
        from compensations.models import CompensationAgreement

        applicant = self.users["solicitante1"]
        unit = applicant.unit
        if unit is None or CompensationAgreement.objects.filter(unit=unit).exists():
            return []
        line = (
            BudgetLine.objects.filter(program__code="PROLECHE", fiscal_year=today().year)
            .order_by("source__code", "pk")
            .first()
        )
        if line is None:
            return []

        def month(back: int) -> dt.date:
            m0 = today().month - 1 - back
            return dt.date(today().year + m0 // 12, m0 % 12 + 1, 1)

        agreement = services.create_agreement(
            actor=self.users["evaluador1"],
            unit=unit,
            budget_line=line,
            rate="0.40",
            first_month=month(5),
            last_month=month(-6),
            ceiling="60000.00",
            # The company's milk suppliers (placement and basin: the unit's, by default).
            reach={"beneficiaries_kind": "producers", "beneficiaries_women": 48, "beneficiaries_men": 72},
        )
        self._work(agreement.code, stop_before=None)
        made = [f"{agreement.code} active: {unit.name}, Bs 0,40 per litre, ceiling Bs 60.000,00"]
        # Three ended months: one paid, one verified (payment to confirm), one declared.
        for back, litres, stop in (
            (3, "18250.00", None),
            (2, "17600.50", "settlement_payment"),
            (1, "19020.00", "settlement_verification"),
        ):
            upload = SimpleUploadedFile("planilla-acopio.pdf", DEMO_PDF, content_type="application/pdf")
            settlement = services.declare_settlement(
                agreement, actor=applicant, month=month(back), litres=litres, evidence=upload
            )
            self._work(settlement.code, stop_before=stop)
            settlement.refresh_from_db()
            made.append(f"{settlement.code} {settlement.state}: {settlement.month:%m/%Y}, {litres} litres")
        return made

    # --- the inbox work ------------------------------------------------------------------------------

    def _work(self, code: str, *, stop_before: str | None) -> None:
        """Decide the case's open tasks, one after another, as the demo users whose inbox offers
        them, until the next open task is of step ``stop_before``."""
        from workflows.models import CaseTask

        for _round in range(30):
            tasks = list(CaseTask.objects.filter(case_code=code, is_open=True).order_by("pk"))
            if not tasks or any(t.step == stop_before for t in tasks):
                return
            self._decide(tasks[0])
        raise CommandError(f"{code}: the demo case did not reach {stop_before}")

    def _decide(self, task) -> None:
        from approvals import services as approvals
        from approvals.steps import spec_for
        from cases.roles import has_role

        case = approvals.case_of(task)
        candidates = [
            u
            for name, u in sorted(self.users.items())
            if has_role(u, task.role) and (task.role != "applicant" or u.unit_id == task.unit_id)
        ]
        for user in candidates:
            if approvals.refusal_reason(user, task) is not None:
                continue  # four eyes, scope…: a colleague takes it
            if task.role != "applicant":
                approvals.claim_task(task.pk, actor=user)
            fields = spec_for(task.case_type, task.step).fields(task, case)
            data = {f.name: f.default for f in fields if f.default is not None}
            for f in fields:
                if f.name in data:
                    continue
                if f.name in TYPED:
                    data[f.name] = TYPED[f.name]
                elif f.type == "integer" and f.max is not None:
                    data[f.name] = int(f.max) * 4 // 5  # a good score
                elif f.type == "date":
                    data[f.name] = today().isoformat()
                elif f.type == "string" and f.required:
                    data[f.name] = f"DEMO-{task.case_code}-{task.step}"
            approvals.complete_task(task.pk, actor=user, decision="approve", comment="", data=data)
            return
        raise CommandError(f"no demo user may decide {task.step} of {task.case_code}")
