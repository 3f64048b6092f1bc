"""Approval policies as versioned data: editing (in the admin or through the service) creates the
next version, a case started under version 1 keeps its steps, new cases get version 2; bad policies
are refused; the admin writes only through services (policies, SoD pairs, delegations)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from approvals import services as approvals
from approvals.models import ApprovalPolicy, Delegation, IncompatibleSteps
from audit.models import AuditEntry
from iniciativas.models import Initiative
from registry.models import User
from tests.iniciativas.conftest import submitted

from .clock import decide, open_task, to_approval

pytestmark = pytest.mark.django_db

LEGAL = {
    "step": "legal_report",
    "role": "legal",
    "scope": "none",
    "deadline_days": 5,
    "escalation_role": "director",
}
CERT = {
    "step": "budget_certification",
    "role": "finance",
    "scope": "program",
    "deadline_days": 3,
    "escalation_role": "director",
}
RESOLUTION = {
    "step": "director_resolution",
    "role": "director",
    "scope": "none",
    "deadline_days": 5,
    "escalation_role": "director",
}


def active(family) -> ApprovalPolicy:
    return ApprovalPolicy.objects.get(family=family, active=True)


def save(actor, steps, family="ini-small", **overrides):
    current = active(family)
    fields = {
        "name": current.name,
        "case_type": current.case_type,
        "program": current.program,
        "min_amount": current.min_amount,
        "max_amount": current.max_amount,
        **overrides,
    }
    return approvals.save_policy_version(family, actor=actor, steps=steps, **fields)


def step_codes(policy) -> list[str]:
    return [s.step for s in approvals.policy_steps(policy)]


def test_defaults_follow_bolivian_practice():
    small, large, transfers = active("ini-small"), active("ini-large"), active("trf-all")
    assert step_codes(small) == ["legal_report", "budget_certification"]
    assert step_codes(large) == ["legal_report", "budget_certification", "director_resolution"]
    assert step_codes(transfers) == [
        "technical_report",
        "legal_report",
        "budget_certification",
        "director_resolution",
    ]
    assert (small.max_amount, large.min_amount) == (Decimal("200000.00"), Decimal("200000.01"))
    assert approvals.policy_for("initiative", None, Decimal("200000.00")) == small
    assert approvals.policy_for("initiative", None, Decimal("200000.01")) == large


def test_a_new_version_leaves_running_cases_on_theirs_and_new_cases_get_it(agency):
    s, admin = agency.staff, agency.staff["admin1"]
    first = submitted(agency, title="Primera")
    to_approval(agency, first)
    v1 = Initiative.objects.get(pk=first.pk).policy
    assert (v1.family, v1.version) == ("ini-small", 1)

    v2 = save(admin, [LEGAL, CERT, RESOLUTION])
    assert (v2.family, v2.version, v2.active) == ("ini-small", 2, True)
    v1.refresh_from_db()
    assert not v1.active and step_codes(v1) == ["legal_report", "budget_certification"]
    entry = AuditEntry.objects.get(action="policy.version_saved")
    assert entry.actor == admin and (entry.data["version"], entry.data["previous_version"]) == (2, 1)
    assert [st["step"] for st in entry.data["steps"]] == [
        "legal_report",
        "budget_certification",
        "director_resolution",
    ]

    # The running case finishes its chain under version 1 (two steps).
    decide(first, "legal_report", s["legal1"], opinion="Procedente")
    case = decide(first, "budget_certification", s["finanzas1"], budget_line=agency.line.pk)
    assert case.state == "approved" and case.policy_id == v1.pk

    # A case that reaches approval now gets version 2 (three steps).
    second = submitted(agency, title="Segunda")
    to_approval(agency, second)
    assert Initiative.objects.get(pk=second.pk).policy_id == v2.pk
    decide(second, "legal_report", s["legal1"], opinion="Procedente")
    case = decide(second, "budget_certification", s["finanzas1"], budget_line=agency.line.pk)
    assert case.state == "in_approval"
    task = open_task(second, "director_resolution")
    assert (task.role, task.escalation_role) == ("director", "director")
    case = decide(second, "director_resolution", s["director1"], resolution_number="RA-001/2026")
    assert case.state == "approved"


def test_saving_what_the_active_version_says_creates_nothing(agency):
    same = save(agency.staff["admin1"], [LEGAL, CERT])
    assert same.version == 1 and ApprovalPolicy.objects.filter(family="ini-small").count() == 1
    assert not AuditEntry.objects.filter(action="policy.version_saved").exists()


@pytest.mark.parametrize(
    ("steps", "overrides", "field"),
    [
        ([], {}, "steps"),
        ([LEGAL], {}, "steps"),  # no budget certification
        ([LEGAL, CERT, LEGAL], {}, "steps"),  # a step twice
        ([{**LEGAL, "role": "applicant"}, CERT], {}, "steps"),  # staff only
        ([{**LEGAL, "step": "payment_order"}, CERT], {}, "steps"),  # not an approval step
        ([{**LEGAL, "escalation_role": "applicant"}, CERT], {}, "steps"),
        ([{**LEGAL, "colour": "red"}, CERT], {}, "steps"),
        ([LEGAL, CERT], {"max_amount": "100.00", "min_amount": "500.00"}, "max_amount"),
        ([LEGAL, CERT], {"min_amount": "12.345"}, "min_amount"),
        ([LEGAL, CERT], {"case_type": "transfer"}, "case_type"),  # a family keeps its case type
        ([LEGAL, CERT], {"name": " "}, "name"),
    ],
)
def test_bad_policies_are_refused_and_nothing_is_saved(agency, steps, overrides, field):
    with pytest.raises(ValidationError) as exc:
        save(agency.staff["admin1"], steps, **overrides)
    assert field in exc.value.message_dict
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1
    assert not AuditEntry.objects.filter(action="policy.version_saved").exists()


def test_only_administrators_save_policies(agency):
    for who in ("director1", "control1", "finanzas1"):
        with pytest.raises(PermissionDenied):
            save(agency.staff[who], [LEGAL, CERT, RESOLUTION])
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1


# --- the admin -----------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(agency, client):
    User.objects.filter(pk=agency.staff["admin1"].pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=agency.staff["admin1"].pk))
    return client


def policy_post(policy, steps, **fields) -> dict:
    existing = list(approvals.policy_steps(policy))
    data = {
        "name": policy.name,
        "program": policy.program_id or "",
        "min_amount": str(policy.min_amount),
        "max_amount": "" if policy.max_amount is None else str(policy.max_amount),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(existing)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for n, step in enumerate(steps):
        if n < len(existing):
            data[f"steps-{n}-id"] = str(existing[n].pk)
        data[f"steps-{n}-policy"] = str(policy.pk)
        data[f"steps-{n}-order"] = str(n + 1)
        for key, value in step.items():
            data[f"steps-{n}-{key}"] = str(value)
    return data


def test_editing_the_active_version_in_the_admin_saves_version_2(agency, admin_client):
    v1 = active("ini-small")
    url = reverse("admin:approvals_approvalpolicy_change", args=[v1.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "v1" in page.content.decode()

    response = admin_client.post(
        url, policy_post(v1, [LEGAL, CERT, RESOLUTION], name="Iniciativas (con resolución)")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    v2 = active("ini-small")
    assert (
        v2.version == 2
        and v2.name == "Iniciativas (con resolución)"
        and v2.created_by == agency.staff["admin1"]
    )
    assert response["Location"] == reverse("admin:approvals_approvalpolicy_change", args=[v2.pk])
    assert step_codes(v2) == ["legal_report", "budget_certification", "director_resolution"]
    v1.refresh_from_db()
    assert (
        not v1.active
        and v1.name == "Iniciativas hasta Bs 200.000"
        and step_codes(v1)
        == [
            "legal_report",
            "budget_certification",
        ]
    )
    assert AuditEntry.objects.filter(action="policy.version_saved", actor=agency.staff["admin1"]).count() == 1

    # Version 1 is history now: shown read-only, never saved in place.
    old = admin_client.get(url)
    assert old.status_code == 200 and 'name="_save"' not in old.content.decode()
    assert admin_client.post(url, policy_post(v1, [LEGAL, CERT])).status_code == 403
    history = admin_client.get(
        reverse("admin:approvals_approvalpolicy_change", args=[v2.pk])
    ).content.decode()
    assert f'href="{url}"' in history  # the family's versions, linked


def test_a_bad_edit_in_the_admin_shows_the_error_and_saves_nothing(agency, admin_client):
    v1 = active("ini-small")
    url = reverse("admin:approvals_approvalpolicy_change", args=[v1.pk])
    response = admin_client.post(url, policy_post(v1, [LEGAL, RESOLUTION]))
    assert response.status_code == 200
    assert active("ini-small").version == 1
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors()


def test_adding_a_policy_in_the_admin_starts_a_family_used_by_its_program(agency, admin_client):
    program = agency.call.program
    data = {
        "family": "ini-proleche",
        "name": "PROLECHE",
        "case_type": "initiative",
        "program": str(program.pk),
        "min_amount": "0",
        "max_amount": "",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, step in enumerate([LEGAL, CERT]):
        data[f"steps-{n}-order"] = str(n + 1)
        data.update({f"steps-{n}-{k}": str(v) for k, v in step.items()})
    response = admin_client.post(reverse("admin:approvals_approvalpolicy_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    created = active("ini-proleche")
    assert created.version == 1 and created.program == program
    assert approvals.policy_for("initiative", program, Decimal("900000.00")) == created
    # The same family again is refused.
    response = admin_client.post(reverse("admin:approvals_approvalpolicy_add"), data)
    assert response.status_code == 200 and ApprovalPolicy.objects.filter(family="ini-proleche").count() == 1


def test_sod_pairs_are_added_and_removed_in_the_admin_through_the_services(agency, admin_client):
    add = reverse("admin:approvals_incompatiblesteps_add")
    response = admin_client.post(add, {"step_a": "agreement", "step_b": "closeout", "reason": "Separación"})
    assert response.status_code == 302
    pair = IncompatibleSteps.objects.get(step_a="agreement", step_b="closeout")
    assert AuditEntry.objects.get(action="sod.pair_added").data == {
        "step_a": "agreement",
        "step_b": "closeout",
        "reason": "Separación",
    }
    # The same pair in the other order is the same pair.
    response = admin_client.post(add, {"step_a": "closeout", "step_b": "agreement"})
    assert IncompatibleSteps.objects.filter(step_a__in=["agreement", "closeout"]).count() == 1
    delete = reverse("admin:approvals_incompatiblesteps_delete", args=[pair.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not IncompatibleSteps.objects.filter(pk=pair.pk).exists()
    assert AuditEntry.objects.get(action="sod.pair_removed").actor == agency.staff["admin1"]


def test_delegations_in_the_admin_go_through_the_service(agency, admin_client):
    response = admin_client.post(
        reverse("admin:approvals_delegation_add"),
        {
            "delegator": agency.staff["director1"].pk,
            "delegate": agency.staff["legal1"].pk,  # another role: refused next to the field
            "role": "director",
            "starts_on": "2026-08-03",
            "ends_on": "2026-08-10",
        },
    )
    assert response.status_code == 200 and not Delegation.objects.exists()
    response = admin_client.post(
        reverse("admin:approvals_delegation_add"),
        {
            "delegator": agency.staff["director1"].pk,
            "delegate": agency.staff["director2"].pk,
            "role": "director",
            "starts_on": "2026-08-03",
            "ends_on": "2026-08-10",
            "reason": "Baja médica",
        },
    )
    assert response.status_code == 302
    d = Delegation.objects.get()
    assert AuditEntry.objects.get(action="delegation.created").actor == agency.staff["admin1"]
    response = admin_client.post(
        reverse("admin:approvals_delegation_changelist"), {"action": "revoke", "_selected_action": [d.pk]}
    )
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.revoked_at is not None
    assert AuditEntry.objects.get(action="delegation.revoked").actor == agency.staff["admin1"]


def test_internal_control_reads_the_policies_but_cannot_change_them(agency, client):
    User.objects.filter(pk=agency.staff["control1"].pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=agency.staff["control1"].pk))
    v1 = active("ini-small")
    url = reverse("admin:approvals_approvalpolicy_change", args=[v1.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(url, policy_post(v1, [LEGAL, CERT, RESOLUTION])).status_code == 403
    assert client.get(reverse("admin:approvals_approvalpolicy_add")).status_code == 403
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1
