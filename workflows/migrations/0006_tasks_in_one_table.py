"""Processes and tasks move to one table each (issue 12): ``CaseProcess``/``CaseTask`` stop
inheriting viewflow's concrete ``Process``/``Task`` (two tables per row) and are built on its abstract
models. The old rows keep their ids: each is copied with its columns from both tables, with the
``previous`` links between tasks; the next migration drops the old tables."""

import django.db.models.deletion
import django.utils.timezone
import viewflow.workflow.fields
import viewflow.workflow.token
from django.conf import settings
from django.db import migrations, models

import approvals.models
import cases.kinds


def copy_rows(apps, schema_editor):
    """Copy every old process and task (same ids, both tables' columns) and the links between tasks,
    then delete the old rows. Plain ``INSERT … SELECT`` keeps it one statement per table whatever the
    number of rows; the id sequences then restart after the highest copied id."""
    from django.core.management.color import no_style

    connection = schema_editor.connection
    CaseProcess = apps.get_model("workflows", "CaseProcess")
    CaseTask = apps.get_model("workflows", "CaseTask")
    process_cols = ["flow_class", "status", "created", "finished", "data", "parent_task_id"]
    case_process_cols = ["case_type", "case_id", "case_code", "purpose"]
    task_cols = [
        "flow_task",
        "flow_task_type",
        "status",
        "created",
        "assigned",
        "started",
        "finished",
        "scheduled",
        "token",
        "external_task_id",
        "owner_id",
        "owner_permission",
        "owner_permission_content_type_id",
        "owner_permission_obj_pk",
        "process_id",
        "data",
    ]
    case_task_cols = [
        "case_type",
        "case_id",
        "case_code",
        "step",
        "role",
        "department_id",
        "program_id",
        "unit_id",
        "scope_department",
        "scope_program",
        "beneficiary",
        "amount",
        "title",
        "due_at",
        "escalation_role",
        "decided_by_id",
        "reminded_at",
        "escalated_at",
        "is_open",
        "version",
    ]
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO workflows_process (id, {', '.join(map(q, process_cols + case_process_cols))}) "
            f"SELECT p.id, {', '.join('p.' + q(c) for c in process_cols)}, "
            f"{', '.join('c.' + q(c) for c in case_process_cols)} "
            "FROM viewflow_process p JOIN workflows_legacycaseprocess c ON c.process_ptr_id = p.id"
        )
        cursor.execute(
            f"INSERT INTO workflows_task (id, {', '.join(map(q, task_cols + case_task_cols))}) "
            f"SELECT t.id, {', '.join('t.' + q(c) for c in task_cols)}, "
            f"{', '.join('c.' + q(c) for c in case_task_cols)} "
            "FROM viewflow_task t JOIN workflows_legacycasetask c ON c.task_ptr_id = t.id"
        )
        cursor.execute(
            "INSERT INTO workflows_task_previous (from_casetask_id, to_casetask_id) "
            "SELECT l.from_task_id, l.to_task_id FROM viewflow_task_previous l "
            "WHERE l.from_task_id IN (SELECT task_ptr_id FROM workflows_legacycasetask)"
        )
        # The old rows go: first what points at viewflow's rows, then viewflow's rows.
        cursor.execute(
            "DELETE FROM viewflow_task_previous WHERE from_task_id IN (SELECT task_ptr_id FROM workflows_legacycasetask) "
            "OR to_task_id IN (SELECT task_ptr_id FROM workflows_legacycasetask)"
        )
        cursor.execute("CREATE TEMPORARY TABLE moved_task (id bigint PRIMARY KEY)")
        cursor.execute("INSERT INTO moved_task SELECT task_ptr_id FROM workflows_legacycasetask")
        cursor.execute("CREATE TEMPORARY TABLE moved_process (id bigint PRIMARY KEY)")
        cursor.execute("INSERT INTO moved_process SELECT process_ptr_id FROM workflows_legacycaseprocess")
        cursor.execute("DELETE FROM workflows_legacycasetask")
        cursor.execute("DELETE FROM workflows_legacycaseprocess")
        cursor.execute("DELETE FROM viewflow_task WHERE id IN (SELECT id FROM moved_task)")
        cursor.execute("DELETE FROM viewflow_process WHERE id IN (SELECT id FROM moved_process)")
        cursor.execute("DROP TABLE moved_task")
        cursor.execute("DROP TABLE moved_process")
        for sql in connection.ops.sequence_reset_sql(no_style(), [CaseProcess, CaseTask]):
            cursor.execute(sql)


OLD_INDEXES = (
    "casetask_queue_idx",
    "casetask_case_idx",
    "casetask_unit_idx",
    "casetask_due_idx",
    "casetask_decided_idx",
    "casetask_done_idx",
    "casetask_step_due_idx",
    "casetask_escalated_idx",
)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_step_and_kind_choices_from_registry"),
        ("viewflow", "0015_task_scheduled"),
        ("budget", "0002_line_total_rounded_to_the_cent"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("registry", "0002_reference_data"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Index and constraint names are per database: free them for the new tables.
        migrations.RemoveConstraint(model_name="caseprocess", name="one_process_per_case_purpose"),
        *(migrations.RemoveIndex(model_name="casetask", name=name) for name in OLD_INDEXES),
        migrations.RenameModel("CaseTask", "LegacyCaseTask"),
        migrations.RenameModel("CaseProcess", "LegacyCaseProcess"),
        migrations.CreateModel(
            name="CaseProcess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "flow_class",
                    viewflow.workflow.fields.FlowReferenceField(max_length=250, verbose_name="Flow"),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("CANCELED", "Canceled"), ("DONE", "Done"), ("NEW", "New")],
                        default="NEW",
                        max_length=50,
                        verbose_name="Status",
                    ),
                ),
                ("created", models.DateTimeField(default=django.utils.timezone.now, verbose_name="Created")),
                ("finished", models.DateTimeField(blank=True, null=True, verbose_name="Finished")),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "case_type",
                    models.CharField(choices=cases.kinds.choices, max_length=20, verbose_name="case type"),
                ),
                ("case_id", models.BigIntegerField(verbose_name="case id")),
                ("case_code", models.CharField(db_index=True, max_length=32, verbose_name="case")),
                ("purpose", models.CharField(default="main", max_length=20, verbose_name="purpose")),
            ],
            options={
                "verbose_name": "case process",
                "verbose_name_plural": "case processes",
                "db_table": "workflows_process",
                "ordering": ["-created"],
            },
        ),
        migrations.CreateModel(
            name="CaseTask",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "flow_task",
                    viewflow.workflow.fields.TaskReferenceField(max_length=255, verbose_name="Task"),
                ),
                ("flow_task_type", models.CharField(max_length=50, verbose_name="Type")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("ASSIGNED", "Assigned"),
                            ("CANCELED", "Canceled"),
                            ("DONE", "Done"),
                            ("ERROR", "Error"),
                            ("NEW", "New"),
                            ("REVIVED", "Revived"),
                            ("SCHEDULED", "Scheduled"),
                            ("STARTED", "Started"),
                        ],
                        db_index=True,
                        default="NEW",
                        max_length=50,
                        verbose_name="Status",
                    ),
                ),
                (
                    "created",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="Created"
                    ),
                ),
                ("assigned", models.DateTimeField(blank=True, null=True, verbose_name="Assigned")),
                ("started", models.DateTimeField(blank=True, null=True, verbose_name="Started")),
                ("finished", models.DateTimeField(blank=True, null=True, verbose_name="Finished")),
                (
                    "scheduled",
                    models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="Scheduled"),
                ),
                (
                    "token",
                    viewflow.workflow.fields.TokenField(
                        default=viewflow.workflow.token.Token("start"), max_length=150, verbose_name="Token"
                    ),
                ),
                (
                    "external_task_id",
                    models.CharField(
                        blank=True, db_index=True, max_length=50, null=True, verbose_name="External Task ID"
                    ),
                ),
                (
                    "owner_permission",
                    models.CharField(blank=True, max_length=255, null=True, verbose_name="Permission"),
                ),
                ("owner_permission_obj_pk", models.CharField(blank=True, max_length=255, null=True)),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "case_type",
                    models.CharField(
                        blank=True, choices=cases.kinds.choices, max_length=20, verbose_name="case type"
                    ),
                ),
                ("case_id", models.BigIntegerField(null=True, verbose_name="case id")),
                ("case_code", models.CharField(blank=True, max_length=32, verbose_name="case")),
                (
                    "step",
                    models.CharField(
                        blank=True, choices=approvals.models.step_choices, max_length=40, verbose_name="step"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("applicant", "Applicant"),
                            ("evaluator", "Evaluator"),
                            ("legal", "Legal unit"),
                            ("finance", "Finance"),
                            ("director", "Director (MAE)"),
                            ("internal_control", "Internal control"),
                            ("admin", "Administrator"),
                        ],
                        max_length=20,
                        verbose_name="role",
                    ),
                ),
                ("scope_department", models.BooleanField(default=False)),
                ("scope_program", models.BooleanField(default=False)),
                ("beneficiary", models.CharField(blank=True, max_length=200, verbose_name="beneficiary")),
                (
                    "amount",
                    models.DecimalField(decimal_places=2, max_digits=16, null=True, verbose_name="amount"),
                ),
                ("title", models.CharField(blank=True, max_length=200, verbose_name="title")),
                ("due_at", models.DateTimeField(null=True, verbose_name="due")),
                (
                    "escalation_role",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("applicant", "Applicant"),
                            ("evaluator", "Evaluator"),
                            ("legal", "Legal unit"),
                            ("finance", "Finance"),
                            ("director", "Director (MAE)"),
                            ("internal_control", "Internal control"),
                            ("admin", "Administrator"),
                        ],
                        max_length=20,
                    ),
                ),
                ("reminded_at", models.DateTimeField(blank=True, null=True)),
                ("escalated_at", models.DateTimeField(blank=True, null=True)),
                ("is_open", models.BooleanField(default=True, editable=False)),
                (
                    "version",
                    models.PositiveIntegerField(
                        db_default=0, default=0, editable=False, verbose_name="version"
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "department",
                    models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.department",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="Owner",
                    ),
                ),
                (
                    "owner_permission_content_type",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="contenttypes.contenttype",
                    ),
                ),
                (
                    "previous",
                    models.ManyToManyField(
                        related_name="leading", to="workflows.casetask", verbose_name="Previous"
                    ),
                ),
                (
                    "process",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="task_set",
                        to="workflows.caseprocess",
                        verbose_name="process",
                    ),
                ),
                (
                    "program",
                    models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="budget.program",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "case task",
                "verbose_name_plural": "case tasks",
                "db_table": "workflows_task",
                "ordering": ["-created"],
            },
        ),
        migrations.AddField(
            model_name="caseprocess",
            name="parent_task",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subprocesses",
                to="workflows.casetask",
            ),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["role", "is_open", "due_at"], name="casetask_queue_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["case_code", "step"], name="casetask_case_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["unit", "is_open"], name="casetask_unit_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["is_open", "due_at"], name="casetask_due_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["decided_by", "due_at"], name="casetask_decided_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["decided_by", "id"], name="casetask_done_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["step", "is_open", "due_at"], name="casetask_step_due_idx"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(
                condition=models.Q(("escalated_at__isnull", False), ("is_open", True)),
                fields=["escalation_role", "due_at"],
                name="casetask_escalated_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="caseprocess",
            constraint=models.UniqueConstraint(
                fields=("case_type", "case_id", "purpose"), name="one_process_per_case_purpose"
            ),
        ),
        migrations.RunPython(copy_rows, elidable=False),
    ]
