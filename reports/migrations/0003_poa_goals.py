"""The goals become the annual operating plan (POA): a free indicator text, a unit, a baseline, and a
result computed from the case data (``computed_from``) or entered by hand (progress entries with their
evidence); program managers. Every existing goal becomes ``computed_from=<its indicator>`` with the
indicator's label (as the report prints it, in Spanish) as its text."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The labels of the indicators as the Spanish report printed them when goals were fixed counters.
LABELS = {
    "initiatives_submitted": "Iniciativas presentadas",
    "initiatives_approved": "Iniciativas aprobadas",
    "initiatives_closed": "Iniciativas cerradas",
    "initiatives_rejected": "Iniciativas rechazadas",
    "transfers_requested": "Transferencias solicitadas",
    "transfers_delivered": "Transferencias entregadas",
    "transfers_closed": "Transferencias cerradas",
    "assets_delivered": "Bienes entregados (unidades, en especie)",
    "amount_paid": "Pagado a beneficiarios (Bs)",
    "units_registered": "Unidades productivas registradas",
    "units_renewed": "Registros renovados",
    "units_valid": "Unidades con registro vigente al cierre de la gestión",
}
UNITS = {
    "amount_paid": "Bs",
    "units_registered": "unidades productivas",
    "units_renewed": "unidades productivas",
    "units_valid": "unidades productivas",
    "assets_delivered": "unidades (bienes)",
}


def unit_of(code: str) -> str:
    if code in UNITS:
        return UNITS[code]
    return "iniciativas" if code.startswith("initiatives_") else "transferencias"


def forwards(apps, schema_editor):
    Goal = apps.get_model("reports", "Goal")
    for goal in Goal.objects.all():
        code = goal.indicator
        goal.computed_from = code
        goal.indicator = LABELS.get(code, code)
        goal.unit = unit_of(code)
        goal.save(update_fields=["computed_from", "indicator", "unit"])


def backwards(apps, schema_editor):
    Goal = apps.get_model("reports", "Goal")
    if Goal.objects.filter(computed_from="").exists():
        raise RuntimeError("Goals entered by hand cannot go back to the fixed indicators: delete them first.")
    for goal in Goal.objects.all():
        goal.indicator = goal.computed_from
        goal.save(update_fields=["indicator"])


class Migration(migrations.Migration):
    dependencies = [
        ("budget", "0002_line_total_rounded_to_the_cent"),
        ("reports", "0002_ledger_snapshot"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="goal", name="reports_goal_one_per_program_indicator"),
        migrations.RemoveConstraint(model_name="goal", name="reports_goal_one_per_agency_indicator"),
        migrations.AddField(
            model_name="goal",
            name="unit",
            field=models.CharField(
                default="",
                help_text="e.g. unidades productivas, servicios, %, Bs, beneficiarios",
                max_length=60,
                verbose_name="unit",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="goal",
            name="baseline",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="Empty: unknown.",
                max_digits=16,
                null=True,
                verbose_name="baseline",
            ),
        ),
        migrations.AddField(
            model_name="goal",
            name="computed_from",
            field=models.CharField(
                blank=True,
                default="",
                help_text="A figure of the case data; empty: progress is entered by hand, with its evidence.",
                max_length=40,
                verbose_name="computed from",
            ),
        ),
        migrations.AlterField(
            model_name="goal",
            name="indicator",
            field=models.CharField(
                help_text="The goal as the annual plan words it, e.g. “New productive units registered”.",
                max_length=300,
                verbose_name="indicator",
            ),
        ),
        migrations.AlterField(
            model_name="goal",
            name="description",
            field=models.CharField(
                blank=True, help_text="A note on the goal (optional).", max_length=300, verbose_name="description"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterModelOptions(
            name="goal",
            options={
                "ordering": ["fiscal_year", "program__code", "pk"],
                "verbose_name": "goal",
                "verbose_name_plural": "goals",
            },
        ),
        migrations.AddConstraint(
            model_name="goal",
            constraint=models.UniqueConstraint(
                condition=models.Q(("program__isnull", False), models.Q(("computed_from", ""), _negated=True)),
                fields=("fiscal_year", "program", "computed_from"),
                name="reports_goal_one_per_program_metric",
            ),
        ),
        migrations.AddConstraint(
            model_name="goal",
            constraint=models.UniqueConstraint(
                condition=models.Q(("program__isnull", True), models.Q(("computed_from", ""), _negated=True)),
                fields=("fiscal_year", "computed_from"),
                name="reports_goal_one_per_agency_metric",
            ),
        ),
        migrations.CreateModel(
            name="ProgressEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.DecimalField(decimal_places=2, max_digits=16, verbose_name="value")),
                ("date", models.DateField(verbose_name="date")),
                ("note", models.CharField(blank=True, max_length=500, verbose_name="note")),
                ("recorded_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded at")),
                (
                    "goal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="reports.goal",
                        verbose_name="goal",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
            ],
            options={
                "verbose_name": "progress entry",
                "verbose_name_plural": "progress entries",
                "ordering": ["date", "pk"],
            },
        ),
        migrations.CreateModel(
            name="GoalEvidence",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=40, verbose_name="kind")),
                ("file", models.FileField(upload_to="documents/%Y/%m/", verbose_name="file")),
                ("original_name", models.CharField(max_length=200, verbose_name="file name")),
                ("content_type", models.CharField(max_length=40, verbose_name="content type")),
                ("size", models.PositiveIntegerField(verbose_name="size (bytes)")),
                ("sha256", models.CharField(max_length=64, verbose_name="SHA-256")),
                ("uploaded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="evidence",
                        to="reports.progressentry",
                        verbose_name="progress entry",
                    ),
                ),
            ],
            options={
                "verbose_name": "evidence",
                "verbose_name_plural": "evidence",
                "ordering": ["uploaded_at"],
                "abstract": False,
            },
        ),
    ]
