"""Database faults under real requests, on PostgreSQL (docs/ARCHITECTURE.md, "Contention"):

- a row lock held on a case by another connection (``SELECT … FOR UPDATE``), then a decision on its
  task: the request waits ``lock_timeout``, is run again once, and is answered 409 within 5 s with
  nothing written; once the lock is gone the same request succeeds;
- the lock given back while the request waits for its second run: the second run succeeds;
- the web connection cut (``pg_terminate_backend``) in the middle of a decision: a clean 503, nothing
  half-written, and the retry succeeds;
- certifications and cancellations on one budget line through the API at once: no 500, no
  deadlock, the ledger reconciles."""

import datetime as dt
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.deadlines import expire_observations
from audit.models import AuditEntry
from budget.models import BudgetLine
from budget.selectors import line_reconciles
from cases.models import OutboxMessage
from iniciativas.models import Initiative
from workflows.models import CaseProcess, CaseTask
from workflows.services import main_process

from .conftest import submitted
from .test_races import run_together
from .test_side_exits import approved, decide, to_approval

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

TASKS = "/api/v1/tasks/"


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks, lock_timeout and pg_terminate_backend are PostgreSQL's")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def other_connection() -> psycopg.Connection:
    """A connection of its own to the test database (another session, as another web process)."""
    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"],
        port=s["PORT"] or None,
    )


@contextmanager
def row_held(model, pk):
    """Another session holds ``SELECT … FOR UPDATE`` on the row until the block ends; yields a
    function that gives the lock back early (its transaction commits)."""
    conn = other_connection()
    conn.execute(f'SELECT 1 FROM "{model._meta.db_table}" WHERE id = %s FOR UPDATE', [pk])  # noqa: S608
    released: list = []
    once = threading.Lock()

    def release():
        with once:
            if not released:
                released.append(True)
                conn.commit()

    # Without bounded waits the request would wait for ever: give the lock back after 10 s, so that
    # such a run fails on its timing instead of hanging.
    backstop = threading.Timer(10, release)
    backstop.start()
    try:
        yield release
    finally:
        backstop.cancel()
        release()
        conn.close()


def written(initiative) -> tuple:
    """What a decision on the initiative would change: its state, its open tasks, its trail, the
    outbox."""
    return (
        Initiative.objects.get(pk=initiative.pk).state,
        sorted(
            CaseTask.objects.filter(case_code=initiative.code, is_open=True).values_list("step", flat=True)
        ),
        AuditEntry.objects.count(),
        OutboxMessage.objects.count(),
    )


def case_locks(queries, initiative) -> int:
    table = f'"{Initiative._meta.db_table}"'
    return sum(1 for q in queries if table in q["sql"] and "FOR UPDATE" in q["sql"])


def test_a_decision_on_a_locked_case_is_a_409_within_5_s_and_writes_nothing(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    before = written(i)
    with row_held(Initiative, i.pk), CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        response = api(world.staff["evaluador1"]).post(
            f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
        )
        elapsed = time.monotonic() - started
    print(f"held row lock: {response.status_code} after {elapsed:.2f} s")
    assert response.status_code == 409, response.content
    assert "No se guardó nada" in response.json()["detail"]
    assert elapsed < 5
    assert case_locks(queries.captured_queries, i) == 2  # the first run and the second, each timed out
    assert written(i) == before

    # The lock is gone: the same request succeeds.
    response = api(world.staff["evaluador1"]).post(
        f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Initiative.objects.get(pk=i.pk).state == "in_evaluation"


def test_a_decision_page_on_a_locked_case_is_a_spanish_409_page(client, world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    client.force_login(world.staff["evaluador1"])
    before = written(i)
    with row_held(Initiative, i.pk), CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        # As the browser sends the decision form (urlencoded; only uploads are multipart).
        response = client.post(
            f"/tasks/{task.pk}/",
            "decision=approve&comment=",
            content_type="application/x-www-form-urlencoded",
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 409
    page = response.content.decode()
    assert "Vuelva a intentarlo" in page and "No se guardó nada" in page
    assert elapsed < 5
    assert case_locks(queries.captured_queries, i) == 2
    assert written(i) == before


def test_a_lock_given_back_during_the_wait_lets_the_second_run_succeed(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    table = f'"{Initiative._meta.db_table}"'
    runs = []

    with row_held(Initiative, i.pk) as release:

        def watch(execute, sql, params, many, context):
            if table in sql and "FOR UPDATE" in sql:
                runs.append(sql)
                if len(runs) == 2:
                    release()  # the first run timed out; the second finds the row free
            return execute(sql, params, many, context)

        with connection.execute_wrapper(watch):
            response = api(world.staff["evaluador1"]).post(
                f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
            )
    assert response.status_code == 200, response.content
    assert len(runs) == 2
    assert Initiative.objects.get(pk=i.pk).state == "in_evaluation"
    assert AuditEntry.objects.filter(case=i.code, action="task.completed").count() == 1


def test_the_connection_cut_mid_decision_writes_nothing_and_a_retry_succeeds(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    before = written(i)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    cut = []

    def cut_at_the_audit_entry(execute, sql, params, many, context):
        # The case row and the task are already updated in this transaction: cut it here.
        # (On PostgreSQL the chain's lock goes in the same round trip, before the INSERT.)
        if not cut and f'INSERT INTO "{AuditEntry._meta.db_table}"' in sql:
            cut.append(sql)
            with other_connection() as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
                for _ in range(100):
                    gone = other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                    if gone.fetchone()[0] == 0:
                        break
                    time.sleep(0.02)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(cut_at_the_audit_entry):
        response = api(world.staff["evaluador1"]).post(
            f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
        )
    assert cut, "the decision never reached its audit entry"
    assert response.status_code == 503, response.content
    assert "conexión" in response.json()["detail"]
    assert written(i) == before  # nothing half-written: the case, its tasks, the trail, the outbox

    response = api(world.staff["evaluador1"]).post(
        f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Initiative.objects.get(pk=i.pk).state == "in_evaluation"


def test_a_held_flow_lock_is_a_409_within_5_s_for_a_decision_and_a_direct_action(world):
    """Another session holds the case's process row (the flow lock, as a long decision would):
    viewflow's NOWAIT lock retried for 6 to 10 s; the bounded one waits lock_timeout once. A direct
    action (cancel) ended in a 500 ``FlowLockFailed``."""
    s = world.staff
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    to_cancel = approved(world)
    before = written(i), written(to_cancel)
    timings = []
    with row_held(CaseProcess, main_process("initiative", i.pk).pk):
        started = time.monotonic()
        decision = api(s["evaluador1"]).post(
            f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json"
        )
        timings.append(time.monotonic() - started)
    with row_held(CaseProcess, main_process("initiative", to_cancel.pk).pk):
        started = time.monotonic()
        cancel = api(s["director1"]).post(
            f"/api/v1/initiatives/{to_cancel.pk}/cancel/", {"reason": "Desvío comprobado"}, format="json"
        )
        timings.append(time.monotonic() - started)
    print(f"held flow lock: decision {decision.status_code}, cancel {cancel.status_code} after {timings}")
    assert (decision.status_code, cancel.status_code) == (409, 409), (decision.content, cancel.content)
    assert "Otra persona está trabajando" in decision.json()["detail"]
    assert "Otra persona está trabajando" in cancel.json()["detail"]
    assert max(timings) < 5
    assert (written(i), written(to_cancel)) == before


def test_the_expiry_job_leaves_a_locked_case_for_its_next_run(world):
    """A periodic job meets a case whose row is held: it waits lock_timeout, leaves that case for
    its next run and goes on (a lock timeout raised out of the job would end the whole run)."""
    i = submitted(world)
    observer = world.staff["evaluador1"]
    decide(i, "admissibility", observer, decision="observe", comment="Falta", deadline_days=3)
    later = timezone.now() + dt.timedelta(days=30)
    before = written(i)
    with row_held(Initiative, i.pk):
        started = time.monotonic()
        assert expire_observations(actor=world.system, now=later) == []
        assert time.monotonic() - started < 5
    assert written(i) == before
    assert expire_observations(actor=world.system, now=later) == [i.code]
    assert Initiative.objects.get(pk=i.pk).state == "abandoned"


PAIRS = 6


@pytest.mark.slow
def test_certifications_and_cancellations_through_the_api_never_500(world):
    """6 certifications ∥ 6 cancellations on one line, as requests (issue 10 saw 5 of 12 answered
    500 ``DeadlockDetected``)."""
    from decimal import Decimal

    from budget import services as budget_services

    s = world.staff
    # Room on the line for every certification whatever the order: 6 approved cases hold Bs 600.000 and
    # 6 certifications take Bs 600.000 more; with only Bs 1.000.000 in force, a certification that ran
    # before the cancellations released theirs was refused (400) — a race of the test, not of the code.
    budget_services.modify_line(
        world.line, actor=s["finanzas1"], amount_in_force=Decimal("2000000.00"), reason="Test de concurrencia"
    )
    to_cancel = [approved(world) for _ in range(PAIRS)]
    to_certify = []
    for _ in range(PAIRS):
        i = to_approval(world)
        decide(i, "legal_report", s["legal1"], opinion="Procedente")
        to_certify.append(i)
    certify_tasks = [
        CaseTask.objects.get(case_code=i.code, step="budget_certification", is_open=True) for i in to_certify
    ]

    calls = []
    for task, case in zip(certify_tasks, to_cancel, strict=True):
        calls.append(
            lambda task=task: api(s["finanzas1"]).post(
                f"{TASKS}{task.pk}/complete/",
                {"decision": "approve", "data": {"budget_line": world.line.pk}},
                format="json",
            )
        )
        calls.append(
            lambda case=case: api(s["director1"]).post(
                f"/api/v1/initiatives/{case.pk}/cancel/", {"reason": "Desvío comprobado"}, format="json"
            )
        )
    started = time.monotonic()
    responses = run_together(*calls)
    elapsed = time.monotonic() - started
    statuses = [getattr(r, "status_code", repr(r)) for r in responses]
    print(f"certify ∥ cancel, {len(calls)} requests in {elapsed:.1f} s: {sorted(statuses)}")
    assert statuses == [200] * len(calls), [getattr(r, "content", r) for r in responses]
    assert {Initiative.objects.get(pk=i.pk).state for i in to_certify} == {"approved"}
    assert {Initiative.objects.get(pk=i.pk).state for i in to_cancel} == {"cancelled"}
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == 100000 * PAIRS
    assert line_reconciles(line)


def test_every_connection_bounds_its_waits(settings):
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]
    assert (lock_timeout, statement_timeout) == ("1500ms", "30s")
    db = settings.DATABASES["default"]
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (60, True)
