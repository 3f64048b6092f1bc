"""How a decision writes its flow rows (issue 12): a task read and saved again updates only the
columns that changed (``workflows.models.WritesChangedColumns``), so a column written meanwhile by
someone else is not put back to the value read; a switch gateway's row is written once, DONE, and
linked to the task before it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from viewflow.workflow.status import STATUS

from approvals import services as approvals
from workflows.models import CaseTask

from ..iniciativas.conftest import submitted

pytestmark = pytest.mark.django_db


def test_a_save_writes_the_changed_columns_and_keeps_the_others(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    # Someone else stamps the reminder after this instance was read.
    reminded = timezone.now()
    CaseTask.objects.filter(pk=task.pk).update(reminded_at=reminded)
    task.title = "Otro título"
    with CaptureQueriesContext(connection) as ctx:
        task.save()
    (update,) = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"title"' in update and '"reminded_at"' not in update and '"case_code"' not in update
    task.refresh_from_db()
    assert task.title == "Otro título"
    assert task.reminded_at == reminded  # a full-row UPDATE would have written None back
    # A status change still keeps ``is_open`` in step.
    task.status = STATUS.CANCELED
    task.save()
    assert CaseTask.objects.filter(pk=task.pk, is_open=False, status=STATUS.CANCELED).exists()


def test_a_switch_is_written_once_done_after_the_task_it_follows(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility", is_open=True)
    with CaptureQueriesContext(connection) as ctx:
        approvals.complete_task(task.pk, actor=world.staff["evaluador1"], decision="approve")
    switch = CaseTask.objects.get(process=task.process, flow_task_type="SWITCH")
    assert switch.status == STATUS.DONE and switch.finished is not None and not switch.is_open
    assert list(switch.previous.all()) == [task]
    # Its one INSERT, and no UPDATE of its row (viewflow's ``complete`` wrote it again, DONE).
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "workflows_task"')]
    assert updates and not [sql for sql in updates if sql.endswith(f'"id" = {switch.pk}')]
    # The flow went on: the split after it, and the two evaluations.
    opened = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    assert opened.count() == 2
