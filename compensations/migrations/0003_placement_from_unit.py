"""Existing agreements are placed where their dairy company is (municipality, sector) and, for
PROLECHE or the dairy sector (every agreement so far), in the dairy basin of their department
(``cases.reach``). Beneficiary counts stay 0: they were never recorded."""

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
    Agreement = apps.get_model("compensations", "CompensationAgreement")
    rows = Agreement.objects.select_related("unit", "department", "program").order_by("pk")
    for agreement in rows.iterator(chunk_size=500):
        agreement.municipality = agreement.unit.municipality
        agreement.sector = agreement.unit.sector
        needs_basin = agreement.program.code in DAIRY_PROGRAMS or agreement.sector == "dairy"
        agreement.dairy_basin = BASIN_OF_DEPARTMENT.get(agreement.department.code, "") if needs_basin else ""
        agreement.save(update_fields=["municipality", "sector", "dairy_basin"])


class Migration(migrations.Migration):
    dependencies = [("compensations", "0002_beneficiaries_and_placement")]

    operations = [migrations.RunPython(place, migrations.RunPython.noop)]
