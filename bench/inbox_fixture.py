"""The data set of ``bench/inbox_bench.py``: 100,000 open inbox tasks on PostgreSQL, fast.

People, units, programs, scopes and the four-eyes history go through the services (so they are the
real rows, permissions and audit entries). The 100,000 processes and their tasks do NOT: driving
100,000 flows through ``complete_task`` would take hours, so this BENCHMARK FIXTURE (and nothing
outside ``bench/``) writes the rows of ``workflows_process`` and ``workflows_task`` with ``COPY``,
in the exact shapes the flow writes (see ``workflows.nodes.HumanStep``): per case one DONE start
task, for half of the cases one DONE human step decided by someone, and one open human step (NEW,
or ASSIGNED to a person of its role).

Distribution (seeded, reproducible): steps weighted as a busy agency's inbox would be; the nine
departments weighted like the productive units (Santa Cruz first); five programs (PROLECHE
first); tasks created over the last 90 days, due 3 to 60 days later (about a third overdue);
amounts Bs 20.000 to 500.000.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

SEED = 20261124
USER_OBJECT_PERMISSIONS = 5_000
GROUP_OBJECT_PERMISSIONS = 1_000
SOD_DECISIONS = 500

# step -> (flow node, role, scope, weight %, deadline days)
STEPS = {
    "admissibility": ("admissibility", "evaluator", "department", 15, 5),
    "technical_evaluation": ("evaluate", "evaluator", "program", 20, 10),
    "third_evaluation": ("third_evaluation", "evaluator", "program", 1, 10),
    "progress_review": ("progress_review", "evaluator", "department", 8, 10),
    "final_inspection": ("final_inspection", "evaluator", "department", 3, 10),
    "legal_report": ("approval", "legal", "none", 8, 5),
    "agreement": ("agreement", "legal", "none", 5, 10),
    "budget_certification": ("approval", "finance", "program", 7, 3),
    "payment_order": ("payment_order", "finance", "none", 6, 3),
    "payment_confirmation": ("payment_confirmation", "finance", "none", 5, 3),
    "closeout": ("closeout", "finance", "none", 2, 10),
    "director_resolution": ("approval", "director", "none", 3, 5),
    "answer_observation": ("answer_observation", "applicant", "none", 5, 10),
    "progress_report": ("progress_report", "applicant", "none", 10, 60),
    "final_report": ("final_report", "applicant", "none", 2, 60),
}
# The step decided just before (for the DONE human row of half of the cases).
PREVIOUS = {
    "technical_evaluation": "admissibility",
    "third_evaluation": "technical_evaluation",
    "legal_report": "technical_evaluation",
    "budget_certification": "legal_report",
    "director_resolution": "budget_certification",
    "agreement": "budget_certification",
    "payment_confirmation": "payment_order",
    "progress_review": "progress_report",
    "final_inspection": "final_report",
    "closeout": "final_inspection",
}
DEPARTMENTS = {"SCZ": 28, "LPZ": 20, "CBB": 17, "ORU": 7, "PTS": 7, "CHQ": 6, "TJA": 7, "BEN": 5, "PND": 3}
PROGRAMS = {
    "PROLECHE": ("Fondo PROLECHE", 45),
    "PROMYPE": ("Apoyo a micro y pequeñas empresas (PROMYPE)", 30),
    "CETIP": ("Centros de Tecnología para la Innovación Productiva (CETIP)", 15),
    "REGISTRO": ("Registro y Acreditación de Unidades Productivas", 5),
    "PROBOLIVIA": ("PRO-BOLIVIA (administración)", 5),
}
STAFF = {"evaluator": 40, "legal": 10, "finance": 10, "director": 3}
UNITS = 150
ASSIGNED_SHARE = 0.30  # of the staff tasks not held by the measured users

# The measured people (see inbox_bench.SCENARIOS).
EV_INBOX, EV_INBOX_TASKS, EV_INBOX_DECIDED = "ev_inbox", 300, 2_000
EV_HEAVY, EV_HEAVY_TASKS, EV_HEAVY_DECIDED = "ev_heavy", 30_000, 5_000
EV_PLAIN, EV_QUEUE, EV_REGIONAL, FIN_QUEUE = "ev_plain", "ev_queue", "ev_regional", "fin_queue"
APPLICANT = "app_busy"
# Share of the evaluators' decided steps (about 15 % of the cases) each measured evaluator made.
DECIDED_SHARE = {EV_HEAVY: 0.36, EV_INBOX: 0.15}


def _weighted(rng: random.Random, table: dict) -> tuple[list, list]:
    keys = list(table)
    weights = [v if isinstance(v, int) else v[-1] for v in table.values()]
    return keys, weights


def build(tasks: int = 100_000, log=print) -> dict:
    """Create the data set in the (migrated, empty) database. Returns what the benchmark needs."""
    from budget import services as budget_services
    from registry import services as registry_services
    from registry.models import Department, Unit

    rng = random.Random(SEED)
    system = registry_services.system_user()
    log("  people, units, programs and scopes (through the services)…")
    with transaction.atomic():
        programs = {
            code: budget_services.create_program(actor=system, code=code, name=name)
            for code, (name, _w) in PROGRAMS.items()
        }
        departments = {d.code: d for d in Department.objects.all()}
        dept_codes, dept_weights = _weighted(rng, DEPARTMENTS)
        units = []
        sectors, kinds = (
            [s for s, _l in Unit.Sector.choices],
            ["association", "mype", "cooperative", "artisan"],
        )
        for n in range(UNITS):
            code = rng.choices(dept_codes, dept_weights)[0]
            units.append(
                registry_services.register_unit(
                    actor=system,
                    tax_id=str(3_000_001 + n),
                    name=f"Unidad productiva {n + 1:03d} ({code})",
                    kind=rng.choice(kinds),
                    department=code,
                    municipality=departments[code].name,
                    sector=rng.choice(sectors),
                )
            )
        staff: dict[str, list] = {}
        for role, count in STAFF.items():
            staff[role] = [
                registry_services.create_user(actor=system, username=f"{role[:3]}{n:03d}", roles=[role])
                for n in range(1, count + 1)
            ]
        special = {
            name: registry_services.create_user(actor=system, username=name, roles=[role])
            for name, role in (
                (EV_INBOX, "evaluator"),
                (EV_HEAVY, "evaluator"),
                (EV_PLAIN, "evaluator"),
                (EV_QUEUE, "evaluator"),
                (EV_REGIONAL, "evaluator"),
                (FIN_QUEUE, "finance"),
            )
        }
        for n, unit in enumerate(units):  # one applicant per unit
            registry_services.create_user(
                actor=system, username=f"app{n + 1:03d}", roles=["applicant"], unit=unit
            )
        busy_unit = units[0]
        special[APPLICANT] = registry_services.create_user(
            actor=system, username=APPLICANT, roles=["applicant"], unit=busy_unit
        )
        # ev_queue: every department and program as guardian object permissions (services), more
        # through a group, and thousands of unrelated object permissions (what viewflow's queue loads).
        queue_user = special[EV_QUEUE]
        for department in departments.values():
            registry_services.grant_department_scope(queue_user, department, actor=system)
        for program in programs.values():
            budget_services.grant_program_scope(queue_user, program, actor=system)
        regional = special[EV_REGIONAL]
        for code in ("SCZ", "CBB"):
            registry_services.grant_department_scope(regional, departments[code], actor=system)
        budget_services.grant_program_scope(regional, programs["PROLECHE"], actor=system)
        _object_permissions(queue_user, departments, programs)

    log(f"  {tasks:,} open tasks and their processes (COPY; bypasses the services — bench only)…")
    plan = _plan(rng, tasks, units, staff, special, departments, programs, busy_unit)
    _copy(plan)
    log(f"  {len(plan['decided']):,} earlier decisions in the audit trail (audit.record, through the chain)…")
    _decision_history(plan)
    log("  four-eyes history of ev_queue (audit.record)…")
    _sod_history(rng, queue_user, plan)
    return {"tasks": tasks}


def _object_permissions(user, departments, programs) -> None:
    from guardian.models import GroupObjectPermission, UserObjectPermission
    from guardian.shortcuts import assign_perm

    group = Group.objects.create(name="bench-regional-oriente")
    user.groups.add(group)
    for code in ("SCZ", "BEN", "PND"):
        assign_perm("registry.work_in_department", group, departments[code])
    assign_perm("budget.work_in_program", group, programs["PROLECHE"])
    unit_type = ContentType.objects.get(app_label="registry", model="unit")
    view_unit = Permission.objects.get(content_type=unit_type, codename="view_unit")
    UserObjectPermission.objects.bulk_create(
        UserObjectPermission(user=user, permission=view_unit, content_type=unit_type, object_pk=str(n))
        for n in range(1, USER_OBJECT_PERMISSIONS + 1)
    )
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(group=group, permission=view_unit, content_type=unit_type, object_pk=str(n))
        for n in range(1, GROUP_OBJECT_PERMISSIONS + 1)
    )


def _refs():
    from iniciativas.flow import InitiativeFlow
    from workflows.models import CaseProcess, CaseTask

    flow_class = CaseProcess._meta.get_field("flow_class").get_prep_value(InitiativeFlow)
    task_ref = CaseTask._meta.get_field("flow_task").get_prep_value
    nodes = {step: task_ref(getattr(InitiativeFlow, node)) for step, (node, *_rest) in STEPS.items()}
    return flow_class, task_ref(InitiativeFlow.start), nodes


def _plan(rng, tasks, units, staff, special, departments, programs, busy_unit) -> dict:
    """Every row to write, in memory (tuples in COPY column order)."""
    flow_class, start_ref, nodes = _refs()
    now = timezone.now()
    step_codes, step_weights = _weighted(rng, {k: v[3] for k, v in STEPS.items()})
    dept_codes, dept_weights = _weighted(rng, DEPARTMENTS)
    prog_codes, prog_weights = _weighted(rng, PROGRAMS)
    units_by_dept: dict[str, list] = {}
    for unit in units:
        units_by_dept.setdefault(unit.department.code, []).append(unit)
    heavy, inbox = special[EV_HEAVY], special[EV_INBOX]
    processes, case_processes, task_rows, case_task_rows = [], [], [], []
    open_tasks = []  # (task id, step, case code, status)
    decided = []  # (decider, case code, step, task id): their "task.completed" audit entries
    heavy_left, inbox_left = EV_HEAVY_TASKS, EV_INBOX_TASKS
    heavy_decided, inbox_decided = EV_HEAVY_DECIDED, EV_INBOX_DECIDED
    applicant_tasks = 0
    task_id = 0
    year = now.year
    for n in range(1, tasks + 1):
        step = rng.choices(step_codes, step_weights)[0]
        _node, role, scope, _w, days = STEPS[step]
        dept = rng.choices(dept_codes, dept_weights)[0]
        if role == "applicant" and applicant_tasks < 120 and rng.random() < 0.05:
            unit = busy_unit
            applicant_tasks += 1
        else:
            unit = rng.choice(units_by_dept.get(dept) or units)
        dept_id = unit.department_id
        program = programs[rng.choices(prog_codes, prog_weights)[0]]
        code = f"INI-{year}-{n:06d}"
        amount = Decimal(rng.randrange(2_000_000, 50_000_000)) / 100
        created = now - dt.timedelta(seconds=rng.randrange(0, 90 * 86_400))
        started = created - dt.timedelta(days=rng.randrange(1, 30))
        due = created + dt.timedelta(days=days if rng.random() < 0.6 else rng.randrange(3, 61))
        title = f"Iniciativa productiva {n:06d}"
        processes.append((n, flow_class, "NEW", started, None, "{}"))
        case_processes.append((n, "initiative", n, code, "main"))
        # 1. the start task (done, no person)
        task_id += 1
        task_rows.append(
            (task_id, start_ref, "START", "DONE", started, started, started, "start", None, n, None, "{}")
        )
        case_task_rows.append(
            (
                task_id,
                "",
                None,
                "",
                "",
                "",
                False,
                False,
                "",
                None,
                "",
                None,
                "",
                False,
                None,
                None,
                None,
                None,
            )
        )
        # 2. half of the cases: the previous human step, decided by someone of its role
        previous = PREVIOUS.get(step)
        if previous and rng.random() < 0.5:
            p_role = STEPS[previous][1]
            # The measured evaluators' decisions are spread over the whole period, like anyone's.
            draw = rng.random()
            if p_role == "evaluator" and heavy_decided > 0 and draw < DECIDED_SHARE[EV_HEAVY]:
                decider, heavy_decided = heavy, heavy_decided - 1
            elif p_role == "evaluator" and inbox_decided > 0 and draw > 1 - DECIDED_SHARE[EV_INBOX]:
                decider, inbox_decided = inbox, inbox_decided - 1
            elif p_role == "applicant":
                decider = None
            else:
                decider = rng.choice(staff[p_role])
            task_id += 1
            finished = created
            p_created = started + (created - started) / 2
            owner = decider.pk if decider else None
            if decider is not None:
                decided.append((decider, code, previous, task_id))
            task_rows.append(
                (
                    task_id,
                    nodes[previous],
                    "HUMAN",
                    "DONE",
                    p_created,
                    p_created,
                    finished,
                    "start",
                    owner,
                    n,
                    p_created,
                    '{"decision": "approve", "comment": ""}',
                )
            )
            case_task_rows.append(
                (
                    task_id,
                    "initiative",
                    n,
                    code,
                    previous,
                    p_role,
                    False,
                    False,
                    unit.name,
                    amount,
                    title,
                    p_created + dt.timedelta(days=5),
                    "director",
                    False,
                    owner,
                    dept_id,
                    program.pk,
                    unit.pk,
                )
            )
        # 3. the open human step
        owner = None
        if role != "applicant":
            if role == "evaluator" and heavy_left > 0 and rng.random() < 0.75:
                owner, heavy_left = heavy.pk, heavy_left - 1
            elif role == "evaluator" and inbox_left > 0 and rng.random() < 0.02:
                owner, inbox_left = inbox.pk, inbox_left - 1
            elif rng.random() < ASSIGNED_SHARE:
                owner = rng.choice(staff[role]).pk
        status = "ASSIGNED" if owner else "NEW"
        task_id += 1
        assigned = created + dt.timedelta(hours=2) if owner else None
        task_rows.append(
            (task_id, nodes[step], "HUMAN", status, created, None, None, "start", owner, n, assigned, "{}")
        )
        case_task_rows.append(
            (
                task_id,
                "initiative",
                n,
                code,
                step,
                role,
                scope == "department",
                scope == "program",
                unit.name,
                amount,
                title,
                due,
                "" if role == "applicant" else "director",
                True,
                None,
                dept_id,
                program.pk,
                unit.pk,
            )
        )
        open_tasks.append((task_id, step, code, status))
    return {
        "processes": processes,
        "case_processes": case_processes,
        "tasks": task_rows,
        "case_tasks": case_task_rows,
        "open": open_tasks,
        "decided": decided,
    }


COLUMNS = {
    "workflows_process": (
        "id, flow_class, status, created, finished, data, case_type, case_id, case_code, purpose"
    ),
    "workflows_task": (
        "id, flow_task, flow_task_type, status, created, started, finished, token, owner_id, process_id, "
        "assigned, data, case_type, case_id, case_code, step, role, scope_department, scope_program, "
        "beneficiary, amount, title, due_at, escalation_role, is_open, decided_by_id, department_id, "
        "program_id, unit_id"
    ),
}


def _joined(rows: list, extra: list) -> list:
    """One row per id: viewflow's columns, then ours (``extra`` rows start with the same id)."""
    by_id = {row[0]: row[1:] for row in extra}
    return [(*row, *by_id[row[0]]) for row in rows]


def _copy(plan: dict) -> None:
    order = (
        ("workflows_process", _joined(plan["processes"], plan["case_processes"])),
        ("workflows_task", _joined(plan["tasks"], plan["case_tasks"])),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        for table, rows in order:
            with raw.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        for table in ("workflows_process", "workflows_task"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )


def _decision_history(plan: dict, batch: int = 2_000) -> None:
    """The ``task.completed`` entry of every DONE human step, as ``complete_task`` writes it (the
    four-eyes rules read them): a realistic, large audit trail for the queue query to probe."""
    import audit
    from audit.actions import AuditAction

    rows = plan["decided"]
    for start in range(0, len(rows), batch):
        with transaction.atomic():
            for decider, code, step, task_id in rows[start : start + batch]:
                audit.record(
                    AuditAction.TASK_COMPLETED,
                    actor=decider,
                    case=code,
                    data={"task": task_id, "step": step, "decision": "approve"},
                )


def _sod_history(rng, user, plan: dict) -> None:
    """``SOD_DECISIONS`` technical evaluations ev_queue already made on cases whose other evaluation
    is still open and unassigned: four eyes hide those tasks from its queue."""
    import audit
    from audit.actions import AuditAction

    candidates = [
        (pk, code)
        for pk, step, code, status in plan["open"]
        if step == "technical_evaluation" and status == "NEW"
    ]
    for _pk, code in rng.sample(candidates, min(SOD_DECISIONS, len(candidates))):
        with transaction.atomic():
            audit.record(
                AuditAction.TASK_COMPLETED,
                actor=user,
                case=code,
                data={"task": 0, "step": "technical_evaluation", "decision": "approve"},
            )
