"""Template filters of the reports: a figure of the goals report as the agency writes it."""

from django import template

from reports.pdf import figure_display

register = template.Library()


@register.filter
def achieved(row) -> str:
    """``1.500`` (a count) or ``97.500,00`` (Bs) in the active language."""
    return figure_display(row.achieved, row.is_money)


@register.filter
def target(row) -> str:
    """The goal's target as above; "—" when no goal was set."""
    return figure_display(row.target, row.is_money)


@register.filter
def count(value) -> str:
    return figure_display(value, False)
