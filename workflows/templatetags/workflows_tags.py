"""``{% load workflows_tags %}``: a case's flow diagram with its path marked (``workflows.diagram``)."""

from __future__ import annotations

from django import template

from cases import kinds

from .. import diagram

register = template.Library()


@register.simple_tag
def case_flow(case):
    """The diagram of the case's kind with the steps it went through and the open ones marked
    (``None`` when the kind has no flow)."""
    kind = kinds.for_model(case)
    if not kind.flow:
        return None
    return diagram.for_case(kind, case)
