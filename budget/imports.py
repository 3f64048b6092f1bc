"""The budget lines of a year, imported (``cases.imports``): one line per row, each opened through
``services.create_budget_line`` (its rules, program scope and audit entry included)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from cases.imports import Column, Importer, register
from cases.permissions import allowed

from .models import BudgetLine


def plain_amount(value: str) -> str:
    """``2.500.000,00`` (as the agency writes it) or ``2500000.00`` → ``2500000.00``; anything else
    is left for ``clean_amount`` to refuse with its message."""
    value = (value or "").strip().replace(" ", "").removeprefix("Bs").removeprefix("bs").strip()
    if "," in value:
        return value.replace(".", "").replace(",", ".")
    if value.count(".") > 1:
        return value.replace(".", "")
    return value


def write_line(row: dict[str, str], actor) -> BudgetLine:
    from . import services

    return services.create_budget_line(
        actor=actor,
        fiscal_year=row["fiscal_year"],
        program=row["program"].strip().upper(),
        source=row["source"].strip(),
        amount_in_force=plain_amount(row["amount_in_force"]),
        da_ue=row["da_ue"].strip(),
        subprogram=row["subprogram"].strip() or None,
        activity=row["activity"].strip(),
        funder=row["funder"].strip(),
        object_of_expenditure=row["object_of_expenditure"].strip(),
    )


LINES = Importer(
    name="budget_lines",
    label=gettext_lazy("Budget lines of a year"),
    description=gettext_lazy(
        "One budget line per row: fiscal year, program, funding source and the amount in force, and the "
        "SIGEP fields where the line has them. Each line is opened as on the budget page, within your "
        "program scopes, with its audit entry."
    ),
    columns=(
        Column("fiscal_year", gettext_lazy("Fiscal year"), example="2027"),
        Column("program", gettext_lazy("Program (code)"), example="PROLECHE"),
        Column("source", gettext_lazy("Funding source (code)"), example="41"),
        Column(
            "amount_in_force",
            gettext_lazy("Amount in force (Bs)"),
            help=gettext_lazy("2.500.000,00 or 2500000.00"),
            example="2.500.000,00",
        ),
        Column("da_ue", gettext_lazy("DA/UE"), required=False, example="01-0001"),
        Column(
            "subprogram",
            gettext_lazy("Sub-program or project (code)"),
            required=False,
            help=gettext_lazy("Empty: none"),
            example="",
        ),
        Column("activity", gettext_lazy("Activity"), required=False, example="001"),
        Column("funder", gettext_lazy("Funding organization"), required=False, example="111"),
        Column(
            "object_of_expenditure",
            gettext_lazy("Object of expenditure (partida)"),
            required=False,
            example="25220",
        ),
    ),
    write=write_line,
    permission=lambda user: allowed(user, "budget.create_line"),
    key=lambda row: (
        row["fiscal_year"].strip(),
        row["program"].strip().upper(),
        row["source"].strip(),
        *(row[f].strip() for f in ("da_ue", "subprogram", "activity", "funder", "object_of_expenditure")),
    ),
    key_column="program",
    key_error=gettext_lazy(
        "This budget line (year, program, source and SIGEP fields) appears earlier in the file (row %(row)s)."
    ),
)

register(LINES)
