"""System check: every indicator a case kind's metrics give is a program indicator of the report.

The case apps write indicator codes as plain strings (they never import ``reports``), so a misspelt
code would silently give no figure; ``manage.py check`` says so instead.
"""

from __future__ import annotations

from django.core import checks

from cases import kinds

from .models import PROGRAM_INDICATORS


@checks.register()
def check_kind_metrics(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    known = {str(indicator) for indicator in PROGRAM_INDICATORS}
    errors: list[checks.CheckMessage] = []
    for kind in kinds.all_kinds():
        for metric in kind.metrics:
            for indicator in metric.indicators:
                if indicator not in known:
                    errors.append(
                        checks.Error(
                            f"Case kind {kind.code!r} gives a figure for {indicator!r}, which is not a "
                            "program indicator of the goals report.",
                            hint=f"Use one of: {', '.join(sorted(known))}.",
                            obj=kind.code,
                            id="reports.E001",
                        )
                    )
    return errors
