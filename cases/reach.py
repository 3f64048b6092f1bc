"""Whom a case reaches and where it is (issue 14, item 3): the fields every case kind that reaches
people shares, their closed lists and the one validator of them.

A case records the **beneficiaries** it reaches — what it counts (``beneficiaries_kind``: producers,
families or people) and how many women and men (``beneficiaries_women``, ``beneficiaries_men``;
the total is their sum, never stored) — and its **placement**: department, municipality, sector
(rubro) and, for PROLECHE and the dairy sector, the dairy basin (cuenca lechera). Placement defaults
from the unit when the case is created (``defaults_from_unit``) and may differ (an initiative carried
out in another municipality).

The dairy basin rule (``basin_required``): a case of the PROLECHE program, or of the dairy sector,
names its basin (by default the basin of its department, ``BASIN_OF_DEPARTMENT``); every other case
names none. ``clean_reach`` checks all of it and says what is wrong per field, in the reader's
language; nothing is written when anything is wrong.

A case model takes the fields with one line, ``class Compensation(Reach, models.Model)``, and a
migration; its app registers ``reach`` in its ``cases.kinds.CaseKind`` (``cases.metrics.Reached``
rows) so the beneficiaries report counts it. The kernel imports nothing of the project: the
department is a foreign key by name (``registry.Department``) and units are read by attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The most any one case counts of women or of men (a dairy company's suppliers are thousands).
MAX_COUNT = 1_000_000
# Programs whose cases are placed in a dairy basin (codes of ``budget.Program``).
DAIRY_PROGRAMS = frozenset({"PROLECHE"})


class Sector(models.TextChoices):
    """The sector (rubro) of a unit and of a case (``registry.Unit.Sector`` is this list)."""

    WOOD = "wood", gettext_lazy("Wood")
    LEATHER = "leather", gettext_lazy("Leather")
    TEXTILES = "textiles", gettext_lazy("Textiles")
    FOOD = "food", gettext_lazy("Processed food")
    METALWORKING = "metalworking", gettext_lazy("Metalworking")
    AGROINDUSTRY = "agroindustry", gettext_lazy("Agro-industry")
    DAIRY = "dairy", gettext_lazy("Dairy")


class DairyBasin(models.TextChoices):
    """The dairy basins (cuencas lecheras) PROLECHE reports by. Closed list; codes are published
    (open data): never rename. Santa Cruz gives about 60 % of the country's milk, Cochabamba about
    17 %; the altiplano basin is the highlands of La Paz, Oruro and Potosí; Chuquisaca and Tarija the
    southern valleys; Beni the lowland (and Pando's) production."""

    SANTA_CRUZ = "santa_cruz", gettext_lazy("Santa Cruz")
    COCHABAMBA = "cochabamba", gettext_lazy("Cochabamba")
    ALTIPLANO = "altiplano", gettext_lazy("Altiplano (La Paz, Oruro, Potosí)")
    CHUQUISACA = "chuquisaca", gettext_lazy("Chuquisaca")
    TARIJA = "tarija", gettext_lazy("Tarija")
    BENI = "beni", gettext_lazy("Beni and Pando")


# The basin a case of a department falls in unless it says otherwise.
BASIN_OF_DEPARTMENT = {
    "SCZ": DairyBasin.SANTA_CRUZ,
    "CBB": DairyBasin.COCHABAMBA,
    "LPZ": DairyBasin.ALTIPLANO,
    "ORU": DairyBasin.ALTIPLANO,
    "PTS": DairyBasin.ALTIPLANO,
    "CHQ": DairyBasin.CHUQUISACA,
    "TJA": DairyBasin.TARIJA,
    "BEN": DairyBasin.BENI,
    "PND": DairyBasin.BENI,
}


class BeneficiaryKind(models.TextChoices):
    """What a case counts: producers (a dairy company's milk suppliers, an association's members),
    families (counted by who heads them) or people (workers, trainees). Each is counted as women and
    men."""

    PRODUCERS = "producers", gettext_lazy("Producers")
    FAMILIES = "families", gettext_lazy("Families")
    PEOPLE = "people", gettext_lazy("People")


# The fields a case's reach is written with (forms, API, services): the department is the case's own.
REACH_FIELDS = (
    "municipality",
    "sector",
    "dairy_basin",
    "beneficiaries_kind",
    "beneficiaries_women",
    "beneficiaries_men",
)


class Reach(models.Model):
    """Abstract: the beneficiaries and placement of a case. A model that already has its own
    ``department`` foreign key keeps it (a field of an abstract parent may be overridden)."""

    department = models.ForeignKey(
        "registry.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=gettext_lazy("department"),
    )
    municipality = models.CharField(gettext_lazy("municipality"), max_length=100, blank=True, default="")
    sector = models.CharField(
        gettext_lazy("sector"), max_length=20, choices=Sector.choices, blank=True, default=""
    )
    dairy_basin = models.CharField(
        gettext_lazy("dairy basin"), max_length=20, choices=DairyBasin.choices, blank=True, default=""
    )
    beneficiaries_kind = models.CharField(
        gettext_lazy("beneficiaries are"),
        max_length=12,
        choices=BeneficiaryKind.choices,
        default=BeneficiaryKind.PRODUCERS,
    )
    beneficiaries_women = models.PositiveIntegerField(gettext_lazy("women reached"), default=0)
    beneficiaries_men = models.PositiveIntegerField(gettext_lazy("men reached"), default=0)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(beneficiaries_women__gte=0, beneficiaries_men__gte=0),
                name="%(app_label)s_%(class)s_reach_counts_nonneg",
            ),
        ]

    @property
    def beneficiaries_total(self) -> int:
        return (self.beneficiaries_women or 0) + (self.beneficiaries_men or 0)


def basin_required(program_code: str, sector: str) -> bool:
    """A PROLECHE case, or a case of the dairy sector, is placed in a dairy basin."""
    return program_code in DAIRY_PROGRAMS or sector == Sector.DAIRY


def defaults_from_unit(unit, *, program_code: str = "", department_code: str = "") -> dict[str, Any]:
    """The reach of a new case of ``unit``: the unit's municipality and sector and, when the case needs
    one, the basin of the case's department (``department_code``; the unit's by default)."""
    sector = str(getattr(unit, "sector", "") or "")
    department_code = department_code or getattr(getattr(unit, "department", None), "code", "")
    basin = BASIN_OF_DEPARTMENT.get(department_code, "") if basin_required(program_code, sector) else ""
    return {
        "municipality": str(getattr(unit, "municipality", "") or ""),
        "sector": sector,
        "dairy_basin": str(basin),
        "beneficiaries_kind": BeneficiaryKind.PRODUCERS.value,
        "beneficiaries_women": 0,
        "beneficiaries_men": 0,
    }


def _count(value, field: str, errors: dict[str, list[str]]) -> int | None:
    """A whole number of people from 0 to ``MAX_COUNT`` (an int, or a string of digits)."""
    if isinstance(value, bool):
        value = None
    text = str(value).strip() if value is not None else ""
    if isinstance(value, int) or (text.isascii() and text.isdigit()):
        number = int(text)
        if 0 <= number <= MAX_COUNT:
            return number
    errors[field] = [
        _("Enter a whole number of people from 0 to %(max)s.") % {"max": f"{MAX_COUNT:,}".replace(",", ".")}
    ]
    return None


def clean_reach(
    values: Mapping[str, Any], *, current: Mapping[str, Any], program_code: str, department_code: str
) -> dict[str, Any]:
    """The reach of a case: ``current`` (its values now, or ``defaults_from_unit`` for a new one)
    changed by ``values`` (any of ``REACH_FIELDS``; ``None`` or absent: unchanged), checked whole.
    Raises ``ValidationError`` keyed by field; a basin left empty where one is required is filled with
    the basin of ``department_code``."""
    errors: dict[str, list[str]] = {}
    unknown = set(values) - set(REACH_FIELDS)
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed.")] for f in sorted(unknown)})
    out = {field: current.get(field) for field in REACH_FIELDS}
    for field, value in values.items():
        if value is not None:
            out[field] = value
    municipality = str(out["municipality"] or "").strip()
    if len(municipality) > 100:
        errors["municipality"] = [_("Keep the municipality under 100 characters.")]
    out["municipality"] = municipality[:100]
    for field, choices, message in (
        ("sector", Sector, _("Choose a sector from the list.")),
        ("beneficiaries_kind", BeneficiaryKind, _("Choose producers, families or people.")),
    ):
        text = str(out[field] or "").strip()
        if text not in choices.values:
            errors[field] = [message]
        out[field] = text
    for field in ("beneficiaries_women", "beneficiaries_men"):
        out[field] = _count(out[field], field, errors)
    basin = str(out["dairy_basin"] or "").strip()
    if basin_required(program_code, str(out["sector"])):
        basin = basin or str(BASIN_OF_DEPARTMENT.get(department_code, ""))
        if basin not in DairyBasin.values:
            errors["dairy_basin"] = [_("Choose the dairy basin of the case from the list.")]
    elif basin and values.get("dairy_basin"):  # a basin kept from before (another sector) just goes
        errors["dairy_basin"] = [
            _("Only PROLECHE and dairy-sector cases are placed in a dairy basin: leave it empty.")
        ]
    else:
        basin = ""
    out["dairy_basin"] = basin
    if errors:
        raise ValidationError(errors)
    return out


def reach_of(case) -> dict[str, Any]:
    """The reach fields of a case row, as ``clean_reach`` takes them (``current``)."""
    return {field: getattr(case, field) for field in REACH_FIELDS}


def audit_data(changes: Mapping[str, Any]) -> dict[str, Any]:
    """What an audit entry keeps of changed reach fields (plain values)."""
    return {field: changes[field] for field in REACH_FIELDS if field in changes}


def correction(case, values: Mapping[str, Any], *, program_code: str, reason: str) -> dict[str, Any]:
    """What a staff correction of ``case``'s reach changes (field -> new value), checked whole; raises
    ``ValidationError`` (a reason is required). The case app's service locks, authorizes, saves and
    writes the audit entry with ``before``/``after``."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the beneficiaries or the placement are corrected.")]})
    placed = clean_reach(
        values, current=reach_of(case), program_code=program_code, department_code=case.department.code
    )
    return {field: value for field, value in placed.items() if getattr(case, field) != value}
