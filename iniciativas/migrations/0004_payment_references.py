"""The bank references this app's payments already used go into the one registry of references
(``cases.PaymentReference``), so none of them can pay again, in any kind of case. Where two
cases shared one before the registry existed, the first keeps it."""

from django.db import migrations

KIND = "initiative"


def backfill(apps, schema_editor):
    PaymentReference = apps.get_model("cases", "PaymentReference")
    Tranche = apps.get_model("iniciativas", "Tranche")
    rows = Tranche.objects.exclude(payment_reference="").order_by("pk")
    PaymentReference.objects.bulk_create(
        [
            PaymentReference(
                reference=row.payment_reference,
                case_type=KIND,
                case_id=row.initiative_id,
                case_code=row.initiative.code,
            )
            for row in rows.select_related("initiative")
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("iniciativas", "0003_flow_moves_to_the_app"), ("cases", "0003_payment_reference")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
