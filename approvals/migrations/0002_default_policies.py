"""Default approval policies and segregation-of-duties pairs (see ``approvals.defaults``)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from approvals.defaults import load

    load(apps)


def backwards(apps, schema_editor):
    apps.get_model("approvals", "IncompatibleSteps").objects.all().delete()
    apps.get_model("approvals", "PolicyStep").objects.all().delete()
    apps.get_model("approvals", "ApprovalPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
