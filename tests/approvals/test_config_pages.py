"""The configuration pages (``/config/``): administrators list and version approval policies, give and
take roles, department and program scopes and delegations, and add and remove non-working days —
each POST through one service, audited; bad input is a 400 with the message next to its field and
nothing written; anyone else gets a 403."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalPolicy, Delegation, NonWorkingDay
from audit.models import AuditEntry
from budget.models import Program
from budget.selectors import program_scope_ids
from cases.roles import roles_of
from registry.models import Department, User
from registry.selectors import department_scope_ids
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.staff["admin1"])
    return client


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def steps_post(rows, extra=2) -> dict:
    data = {
        "steps-TOTAL_FORMS": str(len(rows) + extra),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "10",
    }
    for n, row in enumerate([*rows, *([{}] * extra)]):
        data.update(
            {
                f"steps-{n}-step": row.get("step", ""),
                f"steps-{n}-role": row.get("role", ""),
                f"steps-{n}-scope": row.get("scope", "none"),
                f"steps-{n}-deadline_days": str(row.get("deadline_days", 5)),
                f"steps-{n}-escalation_role": row.get("escalation_role", ""),
            }
        )
    return data


LEGAL = {"step": "legal_report", "role": "legal", "deadline_days": 5, "escalation_role": "director"}
CERT = {"step": "budget_certification", "role": "finance", "scope": "program", "deadline_days": 3}
RESOLUTION = {"step": "director_resolution", "role": "director", "deadline_days": 5}


# --- who may -------------------------------------------------------------------------------------------


PAGES = [
    ("config-home", []),
    ("config-policy-list", []),
    ("config-policy-create", []),
    ("config-policy-detail", ["ini-small"]),
    ("config-staff-list", []),
    ("config-non-working-days", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_administrators_open_every_page_and_nobody_else_does(client, world, name, args):
    url = reverse(name, args=args)
    for who in ("evaluador1", "director1", "control1", "finanzas1"):
        client.force_login(world.staff[who])
        assert client.get(url).status_code == 403, who
    client.force_login(world.applicant)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(world.staff["admin1"])
    page = client.get(url)
    assert page.status_code == 200
    assert 'href="/config/"' in page.content.decode()  # the menu's "Configuración"


def test_denied_posts_write_nothing(client, world):
    evaluator, target = world.staff["evaluador1"], world.staff["evaluador2"]
    client.force_login(evaluator)
    before = (AuditEntry.objects.count(), NonWorkingDay.objects.count(), ApprovalPolicy.objects.count())
    posts = [
        (reverse("config-staff-role", args=[target.pk]), {"role": "admin", "action": "grant"}),
        (reverse("config-staff-department", args=[target.pk]), {"department": Department.objects.first().pk}),
        (reverse("config-staff-program", args=[target.pk]), {"program": Program.objects.first().pk}),
        (reverse("config-non-working-days"), {"date": "2026-08-07", "name": "Feriado"}),
        (reverse("config-policy-activate", args=["ini-small", 1]), {}),
        (
            reverse("config-policy-detail", args=["ini-small"]),
            {"name": "x", "min_amount": "0", **steps_post([LEGAL, CERT])},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert roles_of(fresh(target)) == {"evaluator"}
    after = (AuditEntry.objects.count(), NonWorkingDay.objects.count(), ApprovalPolicy.objects.count())
    assert after == before


def test_the_home_page_links_the_configuration_pages_for_administrators(client, world):
    client.force_login(world.staff["admin1"])
    html = client.get("/").content.decode()
    for name in ("config-policy-list", "config-staff-list", "config-non-working-days"):
        assert f'href="{reverse(name)}"' in html
    client.force_login(world.staff["evaluador1"])
    assert "/config/" not in client.get("/").content.decode()


# --- approval policies ---------------------------------------------------------------------------------


def test_the_policy_list_shows_each_family_with_its_version_in_force(admin_client):
    html = admin_client.get(reverse("config-policy-list")).content.decode()
    for policy in ApprovalPolicy.objects.filter(active=True):
        assert reverse("config-policy-detail", args=[policy.family]) in html
        assert policy.name in html
    assert "Bs 200.000,00" in html  # the band, the Bolivian way


def test_a_new_version_is_saved_from_the_family_page(admin_client, world):
    url = reverse("config-policy-detail", args=["ini-small"])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="legal_report" selected' in html  # the form starts from the version in force
    data = {"name": "Iniciativas pequeñas", "min_amount": "0", "max_amount": "250.000,00"}
    response = admin_client.post(url, {**data, **steps_post([LEGAL, CERT, RESOLUTION])})
    assert response.status_code == 302
    v2 = ApprovalPolicy.objects.get(family="ini-small", active=True)
    assert (v2.version, v2.name, str(v2.max_amount)) == (2, "Iniciativas pequeñas", "250000.00")
    assert [s.step for s in v2.steps.order_by("order")] == [
        "legal_report",
        "budget_certification",
        "director_resolution",
    ]
    entry = AuditEntry.objects.get(action="policy.version_saved")
    assert entry.actor == world.staff["admin1"] and entry.data["version"] == 2
    html = admin_client.get(url).content.decode()
    assert "v1" in html and "v2" in html and "Guardada como versión 2" in html

    # Back to version 1 with its button.
    response = admin_client.post(reverse("config-policy-activate", args=["ini-small", 1]))
    assert response.status_code == 302
    assert ApprovalPolicy.objects.get(family="ini-small", active=True).version == 1
    assert (
        AuditEntry.objects.filter(action="policy.version_activated", actor=world.staff["admin1"]).count() == 1
    )


@pytest.mark.parametrize(
    ("data", "rows", "message"),
    [
        ({"name": "", "min_amount": "0"}, [LEGAL, CERT], "Este campo es requerido."),
        (
            {"name": "P", "min_amount": "500", "max_amount": "100"},
            [LEGAL, CERT],
            "El límite superior no puede ser menor",
        ),
        ({"name": "P", "min_amount": "abc"}, [LEGAL, CERT], "Escriba el monto en bolivianos"),
        (
            {"name": "P", "min_amount": "0"},
            [LEGAL],
            "La cadena debe incluir la certificación presupuestaria.",
        ),
        (
            {"name": "P", "min_amount": "0"},
            [LEGAL, CERT, LEGAL],
            "Cada paso aparece una sola vez en la cadena.",
        ),
    ],
)
def test_a_bad_version_is_a_400_with_the_message_and_nothing_is_saved(admin_client, data, rows, message):
    response = admin_client.post(
        reverse("config-policy-detail", args=["ini-small"]), {**data, **steps_post(rows)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Corrija lo que se señala abajo; no se guardó nada." in html or 'id="steps-errors"' in html
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1
    assert not AuditEntry.objects.filter(action="policy.version_saved").exists()


def test_a_new_family_starts_at_version_1_and_an_existing_key_is_refused(admin_client, world):
    url = reverse("config-policy-create")
    data = {
        "family": "trf-proleche",
        "case_type": "transfer",
        "name": "Transferencias PROLECHE",
        "program": Program.objects.get(code="PROLECHE").pk,
        "min_amount": "0",
        **steps_post([LEGAL, CERT]),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302 and response["Location"] == reverse(
        "config-policy-detail", args=["trf-proleche"]
    )
    policy = ApprovalPolicy.objects.get(family="trf-proleche")
    assert (policy.version, policy.active, policy.program.code, policy.max_amount) == (
        1,
        True,
        "PROLECHE",
        None,
    )
    again = admin_client.post(url, {**data, "family": "ini-small", "case_type": "initiative"})
    assert again.status_code == 400 and 'id="id_family_error"' in again.content.decode()
    assert ApprovalPolicy.objects.filter(family="ini-small").count() == 1


# --- staff ---------------------------------------------------------------------------------------------


def test_the_staff_list_shows_roles_and_scopes_and_no_applicant(admin_client, world):
    from registry import services as registry_services

    registry_services.grant_department_scope(world.staff["evaluador1"], "LPZ", actor=world.staff["admin1"])
    html = admin_client.get(reverse("config-staff-list")).content.decode()
    assert "evaluador1" in html and "La Paz" in html and "Evaluador" in html
    assert "solicitante1" not in html and ">system<" not in html
    filtered = admin_client.get(reverse("config-staff-list"), {"role": "legal"}).content.decode()
    assert "legal1" in filtered and "evaluador1" not in filtered
    assert admin_client.get(reverse("config-staff-detail", args=[world.applicant.pk])).status_code == 404


def test_roles_and_scopes_are_given_and_taken_through_the_services(admin_client, world):
    admin, person = world.staff["admin1"], UserFactory(username="nuevo1", roles=[])
    detail = reverse("config-staff-detail", args=[person.pk])
    assert admin_client.get(detail).status_code == 200
    lpz, prog = Department.objects.get(code="LPZ"), Program.objects.get(code="PROLECHE")

    assert (
        admin_client.post(reverse("config-staff-role", args=[person.pk]), {"role": "evaluator"}).status_code
        == 302
    )
    assert (
        admin_client.post(
            reverse("config-staff-department", args=[person.pk]), {"department": lpz.pk}
        ).status_code
        == 302
    )
    assert (
        admin_client.post(reverse("config-staff-program", args=[person.pk]), {"program": prog.pk}).status_code
        == 302
    )
    person = fresh(person)
    assert roles_of(person) == {"evaluator"}
    assert department_scope_ids(person) == {lpz.pk} and program_scope_ids(person) == {prog.pk}
    granted = AuditEntry.objects.filter(actor=admin, action__in=["auth.role_granted", "auth.scope_granted"])
    assert sorted(str(e.data) for e in granted) == sorted(
        [str({"role": "evaluator"}), str({"department": "LPZ"}), str({"program": "PROLECHE"})]
    )
    assert all(e.subject_id == str(person.pk) for e in granted)
    html = admin_client.get(detail).content.decode()
    assert "La Paz" in html and "PROLECHE" in html

    for name, field, value in (
        ("config-staff-role", "role", "evaluator"),
        ("config-staff-department", "department", lpz.pk),
        ("config-staff-program", "program", prog.pk),
    ):
        response = admin_client.post(reverse(name, args=[person.pk]), {field: value, "action": "revoke"})
        assert response.status_code == 302
    person = fresh(person)
    assert (
        roles_of(person) == set()
        and department_scope_ids(person) is None
        and program_scope_ids(person) is None
    )
    assert (
        AuditEntry.objects.filter(actor=admin, action__in=["auth.role_revoked", "auth.scope_revoked"]).count()
        == 3
    )


def test_an_administrator_makes_someone_a_program_manager_and_takes_it_back(admin_client, world):
    from budget.selectors import managed_program_ids

    admin, person = world.staff["admin1"], UserFactory(username="gestor9", roles=[])
    prog = Program.objects.get(code="PROLECHE")
    url = reverse("config-staff-manager", args=[person.pk])
    assert admin_client.post(url, {"program": prog.pk}).status_code == 302
    assert managed_program_ids(fresh(person)) == {prog.pk}
    entry = AuditEntry.objects.filter(actor=admin, action="auth.scope_granted").latest("seq")
    assert entry.data == {"program": "PROLECHE", "manages": True} and entry.subject_id == str(person.pk)
    html = admin_client.get(reverse("config-staff-detail", args=[person.pk])).content.decode()
    assert 'id="managed-title"' in html and "PROLECHE — " in html and 'id="mgr_program"' in html
    bad = admin_client.post(url, {"program": "999999"})
    assert bad.status_code == 400 and 'id="mgr_program_error"' in bad.content.decode()
    assert admin_client.post(url, {"program": prog.pk, "action": "revoke"}).status_code == 302
    assert managed_program_ids(fresh(person)) == set()
    assert (
        AuditEntry.objects.filter(actor=admin, action="auth.scope_revoked", data__manages=True).count() == 1
    )


def test_a_bad_grant_is_a_400_next_to_its_field(admin_client, world):
    person = world.staff["evaluador1"]
    before = AuditEntry.objects.count()
    response = admin_client.post(reverse("config-staff-role", args=[person.pk]), {"role": "applicant"})
    assert response.status_code == 400 and 'id="id_role_error"' in response.content.decode()
    response = admin_client.post(
        reverse("config-staff-department", args=[person.pk]), {"department": "999999"}
    )
    assert response.status_code == 400 and 'id="id_department_error"' in response.content.decode()
    assert AuditEntry.objects.count() == before and roles_of(fresh(person)) == {"evaluator"}


def test_an_administrator_delegates_an_absent_colleagues_inbox_and_revokes_it(admin_client, world):
    admin, absent, colleague = world.staff["admin1"], world.staff["legal1"], world.staff["legal2"]
    url = reverse("config-staff-delegation", args=[absent.pk])
    today = timezone.localdate()
    data = {
        "role": "legal",
        "delegate": colleague.pk,
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=5)).isoformat(),
        "reason": "Vacaciones",
    }
    # A colleague of another role is refused next to the field; nothing is written.
    bad = admin_client.post(url, {**data, "delegate": world.staff["finanzas1"].pk})
    assert bad.status_code == 400 and 'id="deleg_delegate_error"' in bad.content.decode()
    assert not Delegation.objects.exists()

    assert admin_client.post(url, data).status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.delegate, delegation.role) == (absent, colleague, "legal")
    entry = AuditEntry.objects.get(action="delegation.created")
    assert entry.actor == admin and entry.data["delegator_label"] == "legal1"

    revoke = reverse("config-staff-delegation-revoke", args=[absent.pk, delegation.pk])
    assert admin_client.post(revoke).status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None
    assert AuditEntry.objects.get(action="delegation.revoked").actor == admin


# --- non-working days ----------------------------------------------------------------------------------


def test_non_working_days_are_listed_added_and_removed_per_year(admin_client, world):
    url = reverse("config-non-working-days")
    html = admin_client.get(url, {"year": "2027"}).content.decode()
    assert "Días no laborables 2027" in html and "Carnaval" in html  # the holidays of the law
    response = admin_client.post(
        f"{url}?year=2027",
        {
            "date": "2027-07-16",
            "name": "Feriado paceño de prueba",
            "department": Department.objects.get(code="LPZ").pk,
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?year=2027")
    day = NonWorkingDay.objects.get()
    assert (day.date, day.department.code) == (D(2027, 7, 16), "LPZ")
    html = admin_client.get(url, {"year": "2027"}).content.decode()
    assert "Feriado paceño de prueba" in html
    assert "Feriado paceño de prueba" not in admin_client.get(url, {"year": "2026"}).content.decode()

    again = admin_client.post(
        url, {"date": "2027-07-16", "name": "Otra vez", "department": day.department.pk}
    )
    assert again.status_code == 400 and 'id="id_date_error"' in again.content.decode()
    empty = admin_client.post(url, {"date": "", "name": ""})
    assert empty.status_code == 400 and 'id="id_name_error"' in empty.content.decode()
    assert NonWorkingDay.objects.count() == 1

    assert admin_client.post(reverse("config-non-working-day-remove", args=[day.pk])).status_code == 302
    assert not NonWorkingDay.objects.exists()
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="calendar.").order_by("seq")] == [
        "calendar.day_added",
        "calendar.day_removed",
    ]


def test_the_django_admin_adds_a_departmental_day_through_the_service(admin_client, world):
    response = admin_client.post(
        reverse("admin:approvals_nonworkingday_add"),
        {
            "date": "2026-09-24",
            "name": "Aniversario de Santa Cruz",
            "department": Department.objects.get(code="SCZ").pk,
        },
    )
    assert response.status_code == 302
    day = NonWorkingDay.objects.get()
    assert (day.date, day.department.code) == (D(2026, 9, 24), "SCZ")
    entry = AuditEntry.objects.get(action="calendar.day_added")
    assert (entry.actor, entry.data["department"]) == (world.staff["admin1"], "SCZ")


def test_what_does_not_exist_is_a_404_and_writes_nothing(admin_client, world):
    before = AuditEntry.objects.count()
    assert admin_client.get(reverse("config-policy-detail", args=["no-such-family"])).status_code == 404
    assert admin_client.post(reverse("config-policy-activate", args=["ini-small", 9])).status_code == 404
    assert admin_client.post(reverse("config-non-working-day-remove", args=[99999])).status_code == 404
    assert admin_client.get(reverse("config-staff-detail", args=[99999])).status_code == 404
    system = User.objects.get(username="system")
    assert admin_client.get(reverse("config-staff-detail", args=[system.pk])).status_code == 404
    assert AuditEntry.objects.count() == before
