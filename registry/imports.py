"""The productive-unit registry's import (``cases.imports``): the agency's existing registry, one
unit per row, each registered through ``services.register_unit`` (its rules, its audit entry). A row
may carry a registration that has already lapsed (the registry as it stands): ``imported=True``."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.imports import Column, Importer, register
from cases.roles import is_admin

from .models import Department, Unit

DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y")


def _choice(value: str, choices, field: str) -> str:
    """A code (``dairy``) or its label in Spanish or English, any case."""
    wanted = value.strip().lower()
    if not wanted:
        raise ValidationError({field: [_("This field is required.")]})
    for code, label in choices:
        if wanted in (code.lower(), str(label).lower()):
            return code
    from django.utils import translation

    with translation.override("es"):
        for code, label in choices:
            if wanted == str(label).lower():
                return code
    raise ValidationError(
        {
            field: [
                _("Unknown value “%(value)s”; use one of: %(codes)s.")
                % {"value": value or "—", "codes": ", ".join(code for code, _label in choices)}
            ]
        }
    )


def parse_date(value: str, field: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, pattern).date()  # noqa: DTZ007 (a day, no time)
        except ValueError:
            continue
    raise ValidationError({field: [_("Enter the date as dd/mm/aaaa.")]})


def write_unit(row: dict[str, str], actor) -> Unit:
    from . import services

    errors: dict[str, list] = {}
    values: dict = {}
    for field, choices in (("kind", Unit.Kind.choices), ("sector", Unit.Sector.choices)):
        try:
            values[field] = _choice(row[field], choices, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        values["registration_valid_until"] = parse_date(
            row.get("registration_valid_until", ""), "registration_valid_until"
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    department = row["department"].strip()
    for code, label in Department.Code.choices:
        if department.lower() == label.lower():
            department = code
    return services.register_unit(
        actor=actor,
        tax_id=row["tax_id"],
        name=row["name"],
        department=department,
        municipality=row["municipality"],
        imported=True,
        **values,
    )


UNITS = Importer(
    name="units",
    label=gettext_lazy("Productive units (registry)"),
    description=gettext_lazy(
        "The existing registry of productive units, one unit per row. Each unit is registered as if "
        "registered here, with its audit entry; a registration that has already lapsed is kept as it is."
    ),
    columns=(
        Column("tax_id", gettext_lazy("NIT"), example="1020304050"),
        Column("name", gettext_lazy("Name"), example="Asociación de Lecheros de Achacachi"),
        Column("kind", gettext_lazy("Kind"), help=gettext_lazy("Code or name"), example="association"),
        Column(
            "department",
            gettext_lazy("Department"),
            help=gettext_lazy("Code (LPZ, CBB, SCZ…) or name"),
            example="LPZ",
        ),
        Column("municipality", gettext_lazy("Municipality"), example="Achacachi"),
        Column("sector", gettext_lazy("Sector"), help=gettext_lazy("Code or name"), example="dairy"),
        Column(
            "registration_valid_until",
            gettext_lazy("Registration valid until"),
            required=False,
            help=gettext_lazy("dd/mm/aaaa; empty: one year from today"),
            example="31/12/2027",
        ),
    ),
    write=write_unit,
    permission=is_admin,
    key=lambda row: row["tax_id"].strip() or None,
    key_column="tax_id",
    key_error=gettext_lazy("This NIT appears earlier in the file (row %(row)s)."),
)

register(UNITS)
