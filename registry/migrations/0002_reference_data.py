"""Reference data: the nine departments, one group per role, and the named ``system`` user."""

from django.contrib.auth.hashers import make_password
from django.db import migrations

DEPARTMENTS = [
    ("LPZ", "La Paz"),
    ("CBB", "Cochabamba"),
    ("SCZ", "Santa Cruz"),
    ("ORU", "Oruro"),
    ("PTS", "Potosí"),
    ("CHQ", "Chuquisaca"),
    ("TJA", "Tarija"),
    ("BEN", "Beni"),
    ("PND", "Pando"),
]
ROLES = ["applicant", "evaluator", "legal", "finance", "director", "internal_control", "admin"]


def create_reference_data(apps, schema_editor):
    db = schema_editor.connection.alias
    Department = apps.get_model("registry", "Department")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("registry", "User")
    for code, name in DEPARTMENTS:
        Department.objects.using(db).get_or_create(code=code, defaults={"name": name})
    for role in ROLES:
        Group.objects.using(db).get_or_create(name=role)
    if not User.objects.using(db).filter(username="system").exists():
        User.objects.using(db).create(
            username="system",
            first_name="Sistema",
            last_name="Expediente",
            password=make_password(None),  # unusable: nobody logs in as the system user
            is_active=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_reference_data, migrations.RunPython.noop)]
