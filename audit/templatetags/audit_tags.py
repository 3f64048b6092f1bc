"""``{% load audit_tags %}``: an audit entry in words on any page that lists a case's history
(``entry|audit_summary``: the step, the decision, the state change, the amount)."""

from __future__ import annotations

from django import template

from audit.presentation import summary

register = template.Library()


@register.filter
def audit_summary(entry) -> str:
    return summary(entry)
