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


@register.filter
def baseline(goal) -> str:
    """A goal's baseline in the Bolivian format; "—" when unknown."""
    from reports.selectors import goal_number

    return "—" if goal.baseline is None else goal_number(goal.baseline, goal.unit)


@register.filter
def goal_figure(value, unit: str = "") -> str:
    from reports.selectors import goal_number

    return "—" if value is None else goal_number(value, unit)


@register.filter
def attainment_bar(goal) -> str:
    """The width (0-100) of a goal's attainment bar: its result against its target."""
    from cases.charts import attainment_width

    return attainment_width(goal.percent)
