import datetime as dt

from django.db import migrations


def default_term(apps, schema_editor):
    """A registration is valid 12 months unless an administrator dates another term."""
    RegistrationTerm = apps.get_model("registrations", "RegistrationTerm")
    RegistrationTerm.objects.get_or_create(starts_on=dt.date(2000, 1, 1), defaults={"months": 12})


class Migration(migrations.Migration):
    dependencies = [("registrations", "0001_initial")]
    operations = [migrations.RunPython(default_term, migrations.RunPython.noop)]
