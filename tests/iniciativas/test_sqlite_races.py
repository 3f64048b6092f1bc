"""The same race as ``test_races`` on the embedded SQLite database, where ``select_for_update`` does
nothing: two OS processes decide the same task at the same instant against one database file
configured like the project (WAL + IMMEDIATE). Exactly one wins; the other gets the Conflict."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import datetime as dt, json, os, sys, time
import django
django.setup()
from decimal import Decimal
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

mode = sys.argv[1]
if mode == "setup":
    from budget import services as budget
    from iniciativas import services as ini
    from registry import services as reg
    system = reg.system_user()
    program = budget.create_program(actor=system, code="PROLECHE", name="Fondo PROLECHE")
    source = budget.create_source(actor=system, code="42", name="Transferencias")
    budget.create_budget_line(actor=system, fiscal_year=timezone.localdate().year, program=program,
                              source=source, amount_in_force="500000.00")
    today = timezone.localdate()
    call = ini.create_call(actor=system, code="C1", title="PROLECHE", program=program,
                           opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=30),
                           max_amount="150000.00", min_counterpart_share="0.50",
                           required_documents=["project_profile"],
                           rubric=[{"code": "q", "label": "Calidad", "max": 100}])
    unit = reg.register_unit(actor=system, tax_id="1234567", name="Asociación", kind="association",
                             department="SCZ", municipality="Warnes", sector="dairy")
    applicant = reg.create_user(actor=system, username="sol", roles=["applicant"], unit=unit)
    for name in ("ev1", "ev2"):
        reg.create_user(actor=system, username=name, roles=["evaluator"])
    i = ini.create_initiative(actor=applicant, unit=unit, call=call, title="T", summary="S", department="SCZ",
                              requested_amount="1000.00", counterpart_amount="1000.00")
    ini.upload_document(i, actor=applicant, kind="project_profile",
                        uploaded_file=SimpleUploadedFile("p.pdf", b"%PDF-1.4\n%%EOF\n"))
    ini.submit_initiative(i, actor=applicant)
    from workflows.models import CaseTask
    print(json.dumps({"task": CaseTask.objects.get(step="admissibility").pk, "code": i.code}))
    sys.exit(0)

if mode == "decide":
    from approvals.services import complete_task
    from cases.errors import Conflict
    from registry.models import User
    task_id, username, go = int(sys.argv[2]), sys.argv[3], sys.argv[4]
    actor = User.objects.get(username=username)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.002)
    try:
        case = complete_task(task_id, actor=actor, decision="approve")
        print(json.dumps({"result": "won", "state": case.state}))
    except Conflict as exc:
        print(json.dumps({"result": "conflict", "message": exc.message}))
    sys.exit(0)

if mode == "check":
    from audit.models import AuditEntry
    from iniciativas.models import Initiative
    from workflows.models import CaseTask
    code = sys.argv[2]
    print(json.dumps({
        "state": Initiative.objects.get(code=code).state,
        "completed": AuditEntry.objects.filter(case=code, action="task.completed").count(),
        "admitted": AuditEntry.objects.filter(case=code, action="initiative.admitted").count(),
        "evaluations": CaseTask.objects.filter(case_code=code, step="technical_evaluation").count(),
    }))
"""


def _env(db: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="expediente.settings",
        DATABASE_URL=f"sqlite:///{db}",
        EXPEDIENTE_VAR_DIR=str(db.parent / "var"),
        MEDIA_ROOT=str(db.parent / "media"),
        PYTHONPATH=str(ROOT),
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def _run(args, env, timeout=120):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("second_user", ["ev1", "ev2"], ids=["same-user-twice", "two-evaluators"])
def test_two_processes_decide_the_same_task_on_sqlite(tmp_path, second_user):
    db = tmp_path / "db.sqlite3"
    env = _env(db)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    setup = _run(["setup"], env)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, "decide", str(setup["task"]), user, str(go)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user in ("ev1", second_user)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    go.touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(o["result"] for o in outcomes) == ["conflict", "won"], outcomes
    assert next(o for o in outcomes if o["result"] == "conflict")["message"]
    check = _run(["check", setup["code"]], env)
    assert check == {"state": "in_evaluation", "completed": 1, "admitted": 1, "evaluations": 2}
