"""The audit actions of price compensations (registered with ``audit.actions`` by the app's kinds).
Stored and hashed: never rename or reuse a value."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CompensationAction(models.TextChoices):
    AGREEMENT_CREATED = "compensation.agreement_created", _("Compensation agreement drafted")
    AGREEMENT_CERTIFIED = "compensation.agreement_certified", _("Compensation agreement certified")
    AGREEMENT_APPROVED = "compensation.agreement_approved", _("Compensation agreement approved")
    AGREEMENT_REJECTED = "compensation.agreement_rejected", _("Compensation agreement rejected")
    AGREEMENT_CLOSED = "compensation.agreement_closed", _("Compensation agreement closed")
    REACH_CORRECTED = (
        "compensation.reach_corrected",
        _("Compensation agreement beneficiaries and placement corrected"),
    )
    SETTLEMENT_DECLARED = "compensation.settlement_declared", _("Monthly litres declared")
    SETTLEMENT_VERIFIED = "compensation.settlement_verified", _("Monthly settlement verified")
    SETTLEMENT_REJECTED = "compensation.settlement_rejected", _("Monthly settlement rejected")
    SETTLEMENT_PAID = "compensation.settlement_paid", _("Monthly settlement paid")


A = CompensationAction
AGREEMENT_ACTIONS = {
    "certify": A.AGREEMENT_CERTIFIED,
    "approve": A.AGREEMENT_APPROVED,
    "reject": A.AGREEMENT_REJECTED,
    "close": A.AGREEMENT_CLOSED,
}
SETTLEMENT_ACTIONS = {
    "verify": A.SETTLEMENT_VERIFIED,
    "reject": A.SETTLEMENT_REJECTED,
    "pay": A.SETTLEMENT_PAID,
}
# What only the dairy company does on its settlement (four eyes: whoever declared never verifies
# nor pays it).
SETTLEMENT_APPLICANT_ACTIONS = (A.SETTLEMENT_DECLARED,)
