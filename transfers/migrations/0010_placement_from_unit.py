"""Existing transfers are placed where their beneficiary unit is (municipality, sector) and, for
PROLECHE or the dairy sector, in the dairy basin of their department (``cases.reach``). Beneficiary
counts stay 0: they were never recorded."""

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
    Transfer = apps.get_model("transfers", "Transfer")
    rows = Transfer.objects.select_related("beneficiary", "department", "program").order_by("pk")
    for transfer in rows.iterator(chunk_size=500):
        transfer.municipality = transfer.beneficiary.municipality
        transfer.sector = transfer.beneficiary.sector
        needs_basin = transfer.program.code in DAIRY_PROGRAMS or transfer.sector == "dairy"
        transfer.dairy_basin = BASIN_OF_DEPARTMENT.get(transfer.department.code, "") if needs_basin else ""
        transfer.save(update_fields=["municipality", "sector", "dairy_basin"])


class Migration(migrations.Migration):
    dependencies = [("transfers", "0009_beneficiaries_and_placement")]

    operations = [migrations.RunPython(place, migrations.RunPython.noop)]
