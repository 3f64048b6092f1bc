"""Conditions and permissions of the registration FSM (``models.GUARDS``): plain functions of the
case (conditions) and of the case and the acting user (permissions), so the FSM is the law whoever
fires a transition — the inbox, the API, the admin, a periodic job."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases.roles import Role, has_role, is_system_user


def is_applicant_of(registration, user) -> bool:
    """The person who applies, or (a renewal) any applicant member of the unit."""
    if user is None or not getattr(user, "is_authenticated", False) or not has_role(user, Role.APPLICANT):
        return False
    if registration.applicant_id == user.pk:
        return True
    return bool(registration.unit_id and user.unit_id == registration.unit_id)


def submission_problems(registration) -> dict[str, list[str]]:
    """What stands between the case and its (re)submission, field -> messages (empty: ready)."""
    problems: dict[str, list[str]] = {}
    present = set(registration.documents.values_list("kind", flat=True))
    missing = [k for k in registration.required_documents if k not in present]
    if missing:
        from .models import DocumentKind

        labels = dict(DocumentKind.choices)
        problems["documents"] = [
            _("Upload the required documents: %(list)s.")
            % {"list": ", ".join(str(labels[k]) for k in missing)}
        ]
    if registration.kind == "new" and not registration.unit_data.get("tax_id"):
        problems["unit_data"] = [_("Give the unit's data.")]
    return problems


# --- conditions ---------------------------------------------------------------------------------


def ready_for_submission(registration) -> bool:
    return not submission_problems(registration)


def documents_complete(registration) -> bool:
    return "documents" not in submission_problems(registration)


def has_observation(registration) -> bool:
    return bool(registration.observation.strip())


def unit_is_registered(registration) -> bool:
    return registration.unit_id is not None


def certificate_issued(registration) -> bool:
    return bool(registration.certificate_number) and registration.valid_until is not None


# --- permissions ------------------------------------------------------------------------------------


def by_applicant(registration, user) -> bool:
    return is_applicant_of(registration, user)


def by_reviewer(registration, user) -> bool:
    """A registry officer (evaluator role), never the applicant nor a member of the unit."""
    return (
        has_role(user, Role.EVALUATOR)
        and registration.applicant_id != user.pk
        and not (registration.unit_id and user.unit_id == registration.unit_id)
    )


def by_system(registration, user) -> bool:
    return is_system_user(user)
