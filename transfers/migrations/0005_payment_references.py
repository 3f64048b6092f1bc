"""The bank references this app's payments already used go into the one registry of references
(``cases.PaymentReference``), so none of them can pay again, in any kind of case. Where two
cases shared one before the registry existed, the first keeps it."""

from django.db import migrations

KIND = "transfer"


def backfill(apps, schema_editor):
    PaymentReference = apps.get_model("cases", "PaymentReference")
    Transfer = apps.get_model("transfers", "Transfer")
    rows = Transfer.objects.exclude(payment_reference="").order_by("pk")
    PaymentReference.objects.bulk_create(
        [
            PaymentReference(
                reference=row.payment_reference,
                case_type=KIND,
                case_id=row.pk,
                case_code=row.code,
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("transfers", "0004_flow_moves_to_the_app"), ("cases", "0003_payment_reference")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
