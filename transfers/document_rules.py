"""Which documents a transfer takes, when, and from whom (issue 13, item 4).

Plain data you can grep, as the FSM's ``TRANSITIONS`` and ``GUARDS``: each kind of document has the
stage of the case it belongs to (the states in which it is uploaded) and who may upload it. On top of
``transfers.upload`` (the beneficiary unit's members and the staff working transfers in their
department), ``upload_refusal`` says why a person may not upload a kind now:

- request letter, legal representative's ID, quotation (the request's supporting papers): while the
  transfer is ``requested`` or ``in_verification``, or ``in_approval`` with an observation awaiting its
  answer; the beneficiary unit, evaluators, legal, the director;
- signed delivery record (acta de entrega), in kind only: once the delivery record is recorded
  (``in_delivery`` with its number), ``delivered``, ``in_followup``; the beneficiary unit (it signs),
  evaluators (they record it), the director;
- follow-up visit photo (JPEG/PNG only) and report: ``in_followup``; evaluators, the director;
- other: any state before the end; everyone ``transfers.upload`` admits.

A kind the role may not upload is a ``PermissionDenied`` (403), a kind out of its stage a
``Conflict`` (409), a photo that is not an image a field error (400): each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.roles import Role, has_role

from .models import DocumentKind, Modality, TransferState

S = TransferState
K = DocumentKind
# The beneficiary unit's members (an applicant of the unit), beside the staff roles.
MEMBER = "member"


@dataclass(frozen=True)
class KindRule:
    states: frozenset[str]
    who: frozenset[str]  # MEMBER and staff roles
    when: object  # lazy text: "while …", for the refusal and the page's hint
    applies: Callable[[object], bool] | None = None  # a further condition on the case
    in_kind_only: bool = False
    images_only: bool = False


def _observation_or_before_approval(transfer) -> bool:
    return transfer.state != S.IN_APPROVAL or bool(transfer.observation)


def _delivery_recorded(transfer) -> bool:
    return transfer.state != S.IN_DELIVERY or bool(transfer.delivery_record_number)


_REQUEST = KindRule(
    states=frozenset({S.REQUESTED, S.IN_VERIFICATION, S.IN_APPROVAL}),
    who=frozenset({MEMBER, Role.EVALUATOR, Role.LEGAL, Role.DIRECTOR}),
    when=gettext_lazy(
        "while the transfer is requested or in verification, or an observation awaits its answer"
    ),
    applies=_observation_or_before_approval,
)
_OPEN = frozenset(s for s in S.values if s not in {S.CLOSED, S.REJECTED, S.ANNULLED, S.REVERTED})

RULES: dict[str, KindRule] = {
    K.REQUEST_LETTER: _REQUEST,
    K.LEGAL_REPRESENTATIVE_ID: _REQUEST,
    K.QUOTATION: _REQUEST,
    K.DELIVERY_RECORD_SCAN: KindRule(
        states=frozenset({S.IN_DELIVERY, S.DELIVERED, S.IN_FOLLOWUP}),
        who=frozenset({MEMBER, Role.EVALUATOR, Role.DIRECTOR}),
        when=gettext_lazy("once the delivery record is recorded, until the follow-up ends"),
        applies=_delivery_recorded,
        in_kind_only=True,
    ),
    K.VISIT_PHOTO: KindRule(
        states=frozenset({S.IN_FOLLOWUP}),
        who=frozenset({Role.EVALUATOR, Role.DIRECTOR}),
        when=gettext_lazy("during the follow-up"),
        images_only=True,
    ),
    K.VISIT_REPORT: KindRule(
        states=frozenset({S.IN_FOLLOWUP}),
        who=frozenset({Role.EVALUATOR, Role.DIRECTOR}),
        when=gettext_lazy("during the follow-up"),
    ),
    K.OTHER: KindRule(
        states=_OPEN,
        who=frozenset({MEMBER, Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR}),
        when=gettext_lazy("while the case is open"),
    ),
}
if set(RULES) != set(K.values):  # pragma: no cover - a table error, caught at import
    raise RuntimeError("every kind of transfer document declares its stage and who uploads it")


def _is_member(user, transfer) -> bool:
    return (
        has_role(user, Role.APPLICANT)
        and user.unit_id is not None
        and user.unit_id == transfer.beneficiary_id
    )


def role_allows(user, transfer, kind: str) -> bool:
    rule = RULES[kind]
    if _is_member(user, transfer):
        return MEMBER in rule.who
    return has_role(user, *(r for r in rule.who if r != MEMBER))


def stage_refusal(transfer, kind: str) -> str | None:
    """Why ``kind`` cannot be uploaded to ``transfer`` in its present state (None: it can)."""
    rule = RULES[kind]
    label = DocumentKind(kind).label
    if rule.in_kind_only and transfer.modality != Modality.IN_KIND:
        return _("A transfer in money has no delivery record to sign; upload the document as another kind.")
    if transfer.state in rule.states and (rule.applies is None or rule.applies(transfer)):
        return None
    return _("%(kind)s is uploaded %(when)s; transfer %(code)s is %(state)s.") % {
        "kind": label,
        "when": rule.when,
        "code": transfer.code,
        "state": str(transfer.get_state_display()).lower(),
    }


def role_refusal(user, transfer, kind: str) -> str | None:
    if role_allows(user, transfer, kind):
        return None
    return _("You may not upload «%(kind)s» to transfer %(code)s.") % {
        "kind": DocumentKind(kind).label,
        "code": transfer.code,
    }


def kinds_now(user, transfer) -> list[str]:
    """The kinds ``user`` may upload to ``transfer`` now (its case-level permission checked apart)."""
    return [k for k in K.values if role_allows(user, transfer, k) and stage_refusal(transfer, k) is None]


def hints() -> list[tuple[str, str]]:
    """(kind label, when) for the upload form's hint."""
    return [(str(K(k).label), str(rule.when)) for k, rule in RULES.items()]
