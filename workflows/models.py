"""viewflow process and task rows of Expediente's flows: one table each.

``CaseProcess`` and ``CaseTask`` are built on viewflow's abstract models (``AbstractProcess``,
``AbstractTask``), as its ``process_class``/``task_class`` hooks allow, not on the concrete
``Process``/``Task`` (multi-table inheritance wrote every node's row to two tables: five statements
per node instead of two; issue 12, docs/BENCHMARKS.md). They keep the columns viewflow's nodes use
(``data``, ``parent_task``, ``process.task_set``); the generic ``seed``/``artifact`` links, which no
flow of ours uses, are plain attributes.

``CaseProcess`` links a process to its case; ``CaseTask`` carries, besides viewflow's own columns,
what an inbox row shows and filters on (case code, step, role, scope, amount, due date), so inbox
pages are one indexed query whatever the number of tasks or object permissions.

viewflow's ``fire_due_timers`` sweeps only its own ``Task`` table; none of our flows has a ``Timer``
node (deadlines are ``approvals.deadlines``' jobs), so nothing is lost — a flow that adds one must
sweep ``CaseTask`` too.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import AbstractProcess, AbstractTask
from viewflow.workflow.status import STATUS

from approvals.models import step_choices
from cases import kinds
from cases.columns import WritesChangedColumns
from cases.roles import Role

CLOSED_STATUSES = frozenset({STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED})


class CaseProcess(WritesChangedColumns, AbstractProcess):
    data = models.JSONField(default=dict, blank=True)
    parent_task = models.ForeignKey(
        "workflows.CaseTask", on_delete=models.CASCADE, null=True, blank=True, related_name="subprocesses"
    )
    case_type = models.CharField(_("case type"), max_length=20, choices=kinds.choices)
    case_id = models.BigIntegerField(_("case id"))
    case_code = models.CharField(_("case"), max_length=32, db_index=True)
    purpose = models.CharField(_("purpose"), max_length=20, default="main")

    class Meta:
        db_table = "workflows_process"
        ordering = ["-created"]
        verbose_name = _("case process")
        verbose_name_plural = _("case processes")
        constraints = [
            models.UniqueConstraint(
                fields=["case_type", "case_id", "purpose"], name="one_process_per_case_purpose"
            ),
        ]


class CaseTask(WritesChangedColumns, AbstractTask):
    process = models.ForeignKey(
        CaseProcess, on_delete=models.CASCADE, related_name="task_set", verbose_name=_("process")
    )
    data = models.JSONField(default=dict, blank=True)
    # viewflow's owner, but PROTECT (its CASCADE would delete a person's task history with them;
    # users are deactivated, never deleted) and no reverse accessor on the user.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Owner"),
    )
    # Empty on the flow's own gateway/start/end rows; filled on human steps (``HumanStep``).
    case_type = models.CharField(_("case type"), max_length=20, choices=kinds.choices, blank=True)
    case_id = models.BigIntegerField(_("case id"), null=True)
    case_code = models.CharField(_("case"), max_length=32, blank=True)
    step = models.CharField(_("step"), max_length=40, choices=step_choices, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    # Scope columns (copied from the case when the task is created).
    department = models.ForeignKey(
        "registry.Department", on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    program = models.ForeignKey(
        "budget.Program", on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    unit = models.ForeignKey("registry.Unit", on_delete=models.PROTECT, null=True, related_name="+")
    scope_department = models.BooleanField(default=False)
    scope_program = models.BooleanField(default=False)
    beneficiary = models.CharField(_("beneficiary"), max_length=200, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, null=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due"), null=True)
    escalation_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Derived from viewflow's ``status`` on every save (viewflow saves the row whenever it changes
    # the status), so the inbox index needs no join to filter open tasks.
    is_open = models.BooleanField(default=True, editable=False)
    # The optimistic guard of every write on a human task (claim, release, decide, reassign): each
    # one is a conditional ``UPDATE … SET version = version + 1 WHERE pk, status and version are what
    # the writer read`` (``workflows.services.advance_task_version``), as django-fsm-2's
    # ``ConcurrentTransitionMixin`` does for a state field. It needs no lock: a writer holding a
    # stale read updates no row and gets a 409, on SQLite as on PostgreSQL.
    # ``db_default``: rows written outside the ORM (bench/inbox_fixture.py's COPY) start at 0 too.
    version = models.PositiveIntegerField(_("version"), default=0, db_default=0, editable=False)

    class Meta:
        db_table = "workflows_task"
        ordering = ["-created"]
        verbose_name = _("case task")
        verbose_name_plural = _("case tasks")
        indexes = [
            models.Index(fields=["role", "is_open", "due_at"], name="casetask_queue_idx"),
            models.Index(fields=["case_code", "step"], name="casetask_case_idx"),
            models.Index(fields=["unit", "is_open"], name="casetask_unit_idx"),
            models.Index(fields=["is_open", "due_at"], name="casetask_due_idx"),
            models.Index(fields=["decided_by", "due_at"], name="casetask_decided_idx"),
            # "Mis tareas" of someone holding thousands of tasks, soonest due first (bench/inbox_bench.py,
            # inbox-heavy; with the statistics of migration 0008).
            models.Index(fields=["owner", "is_open", "due_at"], name="casetask_owner_due_idx"),
            # "Realizadas por mí" (newest first, keyset on the id): bench/inbox_bench.py, done-heavy.
            models.Index(fields=["decided_by", "id"], name="casetask_done_idx"),
            # The queues filtered by step, soonest due first (bench/inbox_bench.py, queue-filtered).
            models.Index(fields=["step", "is_open", "due_at"], name="casetask_step_due_idx"),
            # "Escaladas": the few open overdue tasks escalated to a role, soonest due first.
            models.Index(
                fields=["escalation_role", "due_at"],
                condition=models.Q(is_open=True, escalated_at__isnull=False),
                name="casetask_escalated_idx",
            ),
        ]

    def save(self, *args, **kwargs):
        self.is_open = self.status not in CLOSED_STATUSES
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "status" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_open"}
        super().save(*args, **kwargs)

    @property
    def case_url(self) -> str:
        from cases import kinds

        return kinds.get(self.case_type).detail_url(self.case_id) or ""


class CaseCounter(models.Model):
    """Per prefix and year counter behind human-readable codes (INI-2026-000123)."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="case_counter_uniq")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"
