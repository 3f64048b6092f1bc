"""What a dairy company must do on its agreements (the ``compensation`` kind's ``applicant_todo``): the
ended months of each agreement in force that it has not declared yet, each linked to the declaration
page. The months are due when they end; the consequence of not declaring is that nothing is paid."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.todo import Todo

from .models import AgreementState, CompensationAgreement, SettlementState, month_end


def applicant_todo(user) -> list[Todo]:
    if not getattr(user, "unit_id", None):
        return []
    from cases.roles import Role, has_role

    if not has_role(user, Role.APPLICANT):
        return []
    today = timezone.localdate()
    items: list[Todo] = []
    agreements = CompensationAgreement.objects.filter(
        unit_id=user.unit_id, state=AgreementState.ACTIVE
    ).order_by("first_month", "pk")
    for agreement in agreements:
        declared = set(
            agreement.settlements.exclude(state=SettlementState.REJECTED).values_list("month", flat=True)
        )
        url = reverse("compensation-detail", args=[agreement.pk])
        for month in agreement.months():
            if month in declared or month_end(month) >= today:
                continue
            items.append(
                Todo(
                    case_code=agreement.code,
                    case_url=url,
                    action=_("Declare the litres of %(month)s") % {"month": f"{month:%m/%Y}"},
                    url=reverse("compensation-declare", args=[agreement.pk]) + f"?month={month:%Y-%m}",
                    due=month_end(month),
                    consequence=_("Nothing is paid for a month until its litres are declared."),
                )
            )
    return items
