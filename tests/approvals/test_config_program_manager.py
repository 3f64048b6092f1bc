"""A program manager configures the approval policies of the programs it manages, and no other: not
another program's, not the agency's (a policy for every program), not staff or non-working days."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from approvals import services
from approvals.models import ApprovalPolicy
from audit.models import AuditEntry
from budget import services as budget_services
from budget.models import Program
from tests.factories import ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

STEPS = [{"step": "budget_certification", "role": "finance", "deadline_days": 5}]


@pytest.fixture
def setting():
    admin = UserFactory(roles=["admin"])
    mine, other = ProgramFactory(code="PMINE"), ProgramFactory(code="POTHER")
    manager = UserFactory(username="gestorpol", roles=[])
    budget_services.grant_program_management(manager, mine, actor=admin)
    for family, program in (("ini-mine", mine), ("ini-other", other), ("ini-all", None)):
        services.save_policy_version(
            family,
            actor=admin,
            name=family,
            case_type="initiative",
            program=program,
            min_amount=Decimal("0"),
            max_amount=None,
            steps=STEPS,
            new_family=True,
        )
    client = Client()
    client.force_login(manager)
    return admin, manager, mine, other, client


def version(family: str) -> int:
    return ApprovalPolicy.objects.get(family=family, active=True).version


def test_the_manager_sees_and_versions_only_its_programs_policies(setting):
    _admin, manager, mine, other, client = setting
    page = client.get(reverse("config-policy-list")).content.decode()
    assert "ini-mine" in page and "ini-other" not in page and "ini-all" not in page
    assert client.get(reverse("config-policy-detail", args=["ini-other"])).status_code == 404
    assert client.get(reverse("config-policy-detail", args=["ini-all"])).status_code == 404
    policy = services.save_policy_version(
        "ini-mine",
        actor=manager,
        name="Mine v2",
        case_type="initiative",
        program=mine,
        min_amount=Decimal("0"),
        max_amount=Decimal("500000"),
        steps=STEPS,
        new_family=False,
    )
    assert policy.version == 2 and version("ini-mine") == 2
    entry = AuditEntry.objects.filter(action="policy.version_saved", actor=manager).get()
    assert entry.data["program"] == "PMINE" and entry.data["version"] == 2
    # Another program's family, the agency's, or moving its own family to another program: refused.
    for family, program in (("ini-other", other), ("ini-all", None), ("ini-mine", other), ("ini-mine", None)):
        with pytest.raises(PermissionDenied):
            services.save_policy_version(
                family,
                actor=manager,
                name="x",
                case_type="initiative",
                program=program,
                min_amount=Decimal("0"),
                max_amount=None,
                steps=STEPS,
                new_family=False,
            )
    with pytest.raises(PermissionDenied):
        services.activate_policy_version("ini-other", 1, actor=manager)
    assert (version("ini-mine"), version("ini-other"), version("ini-all")) == (2, 1, 1)
    services.activate_policy_version("ini-mine", 1, actor=manager)
    assert version("ini-mine") == 1


def test_the_form_offers_only_the_managed_programs_and_staff_pages_stay_closed(setting):
    _admin, _manager, mine, other, client = setting
    page = client.get(reverse("config-policy-create")).content.decode()
    assert f'<option value="{mine.pk}"' in page and f'<option value="{other.pk}"' not in page
    assert "Todos los programas sin política propia" not in page and "Every program without" not in page
    response = client.post(
        reverse("config-policy-create"),
        {
            "family": "ini-new",
            "case_type": "initiative",
            "name": "Nueva",
            "program": str(other.pk),
            "min_amount": "0",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-step": "budget_certification",
            "steps-0-role": "finance",
            "steps-0-deadline_days": "5",
        },
    )
    assert response.status_code == 400 and not ApprovalPolicy.objects.filter(family="ini-new").exists()
    home = client.get(reverse("config-home")).content.decode()
    assert reverse("config-staff-list") not in home
    for name in ("config-staff-list", "config-non-working-days"):
        assert client.get(reverse(name)).status_code == 403
    assert Program.objects.filter(code="PMINE").exists()
