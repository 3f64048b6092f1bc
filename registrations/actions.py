"""The audit actions of registrations (registered with ``audit.actions`` by the app's kind). Stored
and hashed: never rename or reuse a value."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegistrationAction(models.TextChoices):
    CREATED = "registration.created", _("Registration drafted")
    SUBMITTED = "registration.submitted", _("Registration submitted")
    REVIEW_STARTED = "registration.review_started", _("Registration review started")
    OBSERVED = "registration.observed", _("Registration observed")
    ANSWERED = "registration.answered", _("Observations on the registration answered")
    APPROVED = "registration.approved", _("Registration approved")
    CLOSED = "registration.closed", _("Registration closed")
    REJECTED = "registration.rejected", _("Registration rejected")
    WITHDRAWN = "registration.withdrawn", _("Registration withdrawn")
    ABANDONED = "registration.abandoned", _("Registration abandoned")


TRANSITION_ACTIONS = {
    "submit": RegistrationAction.SUBMITTED,
    "start_review": RegistrationAction.REVIEW_STARTED,
    "observe": RegistrationAction.OBSERVED,
    "answer": RegistrationAction.ANSWERED,
    "approve": RegistrationAction.APPROVED,
    "close": RegistrationAction.CLOSED,
    "reject": RegistrationAction.REJECTED,
    "withdraw": RegistrationAction.WITHDRAWN,
    "abandon": RegistrationAction.ABANDONED,
}
# What only the applicant does on its registration (four eyes: whoever did one never reviews it).
APPLICANT_ACTIONS = (
    RegistrationAction.CREATED,
    RegistrationAction.SUBMITTED,
    RegistrationAction.ANSWERED,
    RegistrationAction.WITHDRAWN,
)
