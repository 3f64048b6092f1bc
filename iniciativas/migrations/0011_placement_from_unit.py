"""Existing initiatives are placed where their unit is (municipality, sector) and, for PROLECHE or the
dairy sector, in the dairy basin of their department (``cases.reach``). Beneficiary counts stay 0:
they were never recorded."""

from django.db import migrations

# A copy of ``cases.reach`` at the time of writing (a migration never imports code that may change).
DAIRY_PROGRAMS = {"PROLECHE"}
BASIN_OF_DEPARTMENT = {
    "SCZ": "santa_cruz",
    "CBB": "cochabamba",
    "LPZ": "altiplano",
    "ORU": "altiplano",
    "PTS": "altiplano",
    "CHQ": "chuquisaca",
    "TJA": "tarija",
    "BEN": "beni",
    "PND": "beni",
}


def place(apps, schema_editor):
    Initiative = apps.get_model("iniciativas", "Initiative")
    rows = Initiative.objects.select_related("unit", "department", "call__program").order_by("pk")
    for initiative in rows.iterator(chunk_size=500):
        initiative.municipality = initiative.unit.municipality
        initiative.sector = initiative.unit.sector
        needs_basin = initiative.call.program.code in DAIRY_PROGRAMS or initiative.sector == "dairy"
        initiative.dairy_basin = BASIN_OF_DEPARTMENT.get(initiative.department.code, "") if needs_basin else ""
        initiative.save(update_fields=["municipality", "sector", "dairy_basin"])


class Migration(migrations.Migration):
    dependencies = [("iniciativas", "0010_beneficiaries_and_placement")]

    operations = [migrations.RunPython(place, migrations.RunPython.noop)]
