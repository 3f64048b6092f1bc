"""The beneficiaries and placement of a case (``cases.reach``): the one validator every case kind uses,
its defaults from the unit and the dairy-basin rule, with messages in Spanish naming the field."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cases.reach import (
    BASIN_OF_DEPARTMENT,
    REACH_FIELDS,
    DairyBasin,
    clean_reach,
    defaults_from_unit,
)

DAIRY_UNIT = SimpleNamespace(municipality="Warnes", sector="dairy", department=SimpleNamespace(code="SCZ"))
TEXTILE_UNIT = SimpleNamespace(
    municipality="Potosí", sector="textiles", department=SimpleNamespace(code="PTS")
)


def errors_of(**kwargs) -> dict:
    with translation.override("es"), pytest.raises(ValidationError) as caught:
        clean_reach(**kwargs)
    return caught.value.message_dict


def test_every_department_has_a_basin():
    assert set(BASIN_OF_DEPARTMENT) == {"LPZ", "CBB", "SCZ", "ORU", "PTS", "CHQ", "TJA", "BEN", "PND"}
    assert set(BASIN_OF_DEPARTMENT.values()) == set(DairyBasin.values)


def test_defaults_come_from_the_unit_and_the_basin_from_the_case_department():
    assert defaults_from_unit(DAIRY_UNIT, program_code="PROMYPE", department_code="CBB") == {
        "municipality": "Warnes",
        "sector": "dairy",
        "dairy_basin": "cochabamba",  # dairy sector: the basin of the case's department
        "beneficiaries_kind": "producers",
        "beneficiaries_women": 0,
        "beneficiaries_men": 0,
    }
    # A PROLECHE case of a textile unit is placed in a basin; outside PROLECHE it is not.
    assert defaults_from_unit(TEXTILE_UNIT, program_code="PROLECHE")["dairy_basin"] == "altiplano"
    assert defaults_from_unit(TEXTILE_UNIT, program_code="PROMYPE")["dairy_basin"] == ""


def test_given_values_replace_the_defaults():
    current = defaults_from_unit(DAIRY_UNIT, program_code="PROLECHE")
    out = clean_reach(
        {
            "municipality": "  Montero ",
            "beneficiaries_women": "12",
            "beneficiaries_men": 8,
            "dairy_basin": None,
        },
        current=current,
        program_code="PROLECHE",
        department_code="SCZ",
    )
    assert out == {**current, "municipality": "Montero", "beneficiaries_women": 12, "beneficiaries_men": 8}
    assert set(out) == set(REACH_FIELDS)


@pytest.mark.parametrize("bad", [-1, "-3", "1.5", "doce", True, 1_000_001, "١٢"])
def test_counts_are_whole_numbers_from_zero(bad):
    errors = errors_of(
        values={"beneficiaries_women": bad, "beneficiaries_men": 2},
        current=defaults_from_unit(DAIRY_UNIT),
        program_code="PROLECHE",
        department_code="SCZ",
    )
    assert errors == {"beneficiaries_women": ["Ingrese un número entero de personas entre 0 y 1.000.000."]}


def test_every_wrong_field_is_named_at_once_in_spanish():
    errors = errors_of(
        values={
            "sector": "mining",
            "beneficiaries_kind": "cows",
            "municipality": "x" * 101,
            "beneficiaries_men": -2,
        },
        current=defaults_from_unit(DAIRY_UNIT),
        program_code="PROMYPE",
        department_code="SCZ",
    )
    assert errors == {
        "municipality": ["El municipio no debe pasar de 100 caracteres."],
        "sector": ["Elija un rubro de la lista."],
        "beneficiaries_kind": ["Elija productores, familias o personas."],
        "beneficiaries_men": ["Ingrese un número entero de personas entre 0 y 1.000.000."],
    }


def test_dairy_basin_rule():
    textile = defaults_from_unit(TEXTILE_UNIT, program_code="PROMYPE")
    # Outside PROLECHE and the dairy sector a basin given is refused...
    assert errors_of(
        values={"dairy_basin": "santa_cruz"}, current=textile, program_code="PROMYPE", department_code="PTS"
    ) == {
        "dairy_basin": [
            "Solo los casos de PROLECHE y del rubro lácteo se ubican en una cuenca lechera: déjela vacía."
        ]
    }
    # ...an unknown one is refused where one is required...
    assert errors_of(
        values={"dairy_basin": "amazonas"}, current=textile, program_code="PROLECHE", department_code="PTS"
    ) == {"dairy_basin": ["Elija de la lista la cuenca lechera del caso."]}
    # ...a basin left empty where one is required is the department's...
    out = clean_reach({"dairy_basin": ""}, current=textile, program_code="PROLECHE", department_code="TJA")
    assert out["dairy_basin"] == "tarija"
    # ...and a basin kept from the dairy default goes when the sector changes.
    dairy = defaults_from_unit(DAIRY_UNIT, program_code="PROMYPE")
    assert dairy["dairy_basin"] == "santa_cruz"
    out = clean_reach({"sector": "food"}, current=dairy, program_code="PROMYPE", department_code="SCZ")
    assert out["dairy_basin"] == "" and out["sector"] == "food"


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as caught:
        clean_reach({"department": "LPZ"}, current={}, program_code="", department_code="LPZ")
    assert set(caught.value.message_dict) == {"department"}
