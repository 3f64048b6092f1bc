"""One bank reference pays one payment, whatever the kind of case (``PaymentReference``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from . import kinds
from .models import PaymentReference

USED = "This bank reference was already used for another payment."


def record_reference(reference: str, case, *, field: str = "data.payment_reference") -> PaymentReference:
    """Claim ``reference`` for ``case``'s payment, in the caller's transaction. A reference any case
    already claimed — committed, or being committed by a concurrent confirmation, which this one then
    waits for — is a ``ValidationError`` on ``field``; the caller's transaction (the decision) rolls
    back with it, so nothing of the payment is kept."""
    try:
        return PaymentReference.objects.create(
            reference=reference, case_type=kinds.for_model(case).code, case_id=case.pk, case_code=case.code
        )
    except IntegrityError:
        raise ValidationError({field: [_(USED)]}) from None
