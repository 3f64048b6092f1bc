"""Internal-control pages: the filtered trail, a case's timeline, "verify now", CSV/XLSX export."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

import audit
from audit.actions import AuditAction
from audit.models import AuditEntry

from .helpers import fill, sql, triggers_lifted

pytestmark = pytest.mark.django_db
PAGES = [
    reverse("audit:trail"),
    reverse("audit:case", args=["INI-2026-000001"]),
    reverse("audit:verify"),
    reverse("audit:export", args=["csv"]),
    reverse("audit:export", args=["xlsx"]),
]


@pytest.mark.parametrize("url", PAGES)
def test_only_internal_control_and_admins_get_in(client, applicant, admin_user, control_user, url):
    fill(2)
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    for user, status in ((applicant, 404), (admin_user, 200), (control_user, 200)):
        client.force_login(user)
        assert client.get(url).status_code == status, user


def test_trail_page_in_spanish_with_readable_data(client, control_user):
    fill(3, actor=control_user)
    client.force_login(control_user)
    response = client.get(reverse("audit:trail"))
    html = response.content.decode()
    assert "Pista de auditoría" in html
    assert "Presupuesto reservado (certificación)" in html  # the action's label
    assert "Monto" in html and "Bs 1.502,00" in html  # data: key labels, amounts in bolivianos
    assert "Certificación 2" in html
    assert "<dt>Rol</dt><dd>Control interno</dd>" in html  # role codes shown by their labels
    assert "Verificar ahora" in html
    assert len(response.content) < 300_000


def test_filters_by_case_actor_action_and_dates(client, control_user, applicant):
    fill(2, case="INI-2026-000001")
    fill(2, case="TRF-2026-000002", actor=control_user)
    audit.record(
        AuditAction.DOCUMENT_UPLOADED, actor=applicant, case="INI-2026-000001", data={"sha256": "ab" * 32}
    )
    client.force_login(control_user)

    def seqs(**params):
        response = client.get(reverse("audit:trail"), params)
        assert response.status_code == 200
        return [row["entry"].seq for row in response.context["rows"]]

    ini = list(AuditEntry.objects.filter(case="INI-2026-000001").values_list("seq", flat=True))
    assert sorted(seqs(case="ini-2026-000001")) == sorted(ini)
    assert len(seqs(actor="control1", case="TRF-2026-000002")) == 2
    assert seqs(action="document.uploaded") == [AuditEntry.objects.get(action="document.uploaded").seq]
    assert set(seqs(action="budget")) == set(
        AuditEntry.objects.filter(action__startswith="budget.").values_list("seq", flat=True)
    )
    today = timezone.localdate().isoformat()
    assert len(seqs(since=today, until=today)) == AuditEntry.objects.count()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert seqs(since=tomorrow) == []
    assert seqs(actor="nobody-at-all") == []
    response = client.get(reverse("audit:trail"), {"since": "ayer", "case": "???"})
    assert response.context["rows"] == [] and response.context["form"].errors.keys() == {"since", "case"}


def test_keyset_pages_newest_first(client, control_user, django_assert_max_num_queries):
    fill(120)
    client.force_login(control_user)
    head = AuditEntry.objects.order_by("-seq").first().seq
    with django_assert_max_num_queries(12):
        first = client.get(reverse("audit:trail"))
    page = first.context["page"]
    assert [r["entry"].seq for r in first.context["rows"]] == list(range(head, head - 25, -1))
    assert page.newer is None and page.older == head - 24
    second = client.get(reverse("audit:trail"), {"before": page.older})
    assert [r["entry"].seq for r in second.context["rows"]] == list(range(head - 25, head - 50, -1))
    back = client.get(reverse("audit:trail"), {"after": second.context["page"].newer})
    assert [r["entry"].seq for r in back.context["rows"]] == list(range(head, head - 25, -1))


def test_case_timeline_oldest_first(client, control_user):
    fill(3, case="INI-2026-000009")
    fill(2, case="INI-2026-000010")
    client.force_login(control_user)
    response = client.get(reverse("audit:case", args=["INI-2026-000009"]))
    assert [r["entry"].seq for r in response.context["rows"]] == list(
        AuditEntry.objects.filter(case="INI-2026-000009").order_by("seq").values_list("seq", flat=True)
    )
    assert "Historial de INI-2026-000009" in response.content.decode()
    assert client.get(reverse("audit:case", args=["INI-2026-999999"])).status_code == 404


def test_verify_now_button(client, control_user):
    fill(4)
    client.force_login(control_user)
    page = client.get(reverse("audit:verify"))
    assert "Verificar ahora" in page.content.decode()
    response = client.post(reverse("audit:verify"))
    assert response.context["result"]["valid"] is True
    assert "Íntegra" in response.content.decode()
    (entry,) = AuditEntry.objects.filter(action="audit.verified")
    assert entry.actor_id == control_user.pk and entry.data["valid"] is True
    with triggers_lifted():
        sql("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 2")
    response = client.post(reverse("audit:verify"))
    html = response.content.decode()
    assert response.context["result"]["first_error"]["seq"] == 2
    assert "ALTERADA" in html and "#2" in html


def test_csv_export_streams_the_filtered_trail(client, control_user):
    fill(3, case="INI-2026-000001")
    fill(2, case="INI-2026-000002")
    audit.record(
        AuditAction.BUDGET_PAID, actor=None, case="INI-2026-000001", data={"comment": "=HYPERLINK(1)"}
    )
    client.force_login(control_user)
    response = client.get(reverse("audit:export", args=["csv"]), {"case": "INI-2026-000001"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["N.º", "Fecha y hora (La Paz)", "Usuario"]
    assert [r[8] for r in rows[1:]] == ["INI-2026-000001"] * 4
    assert rows[-1][9] == '{"comment":"=HYPERLINK(1)"}'  # JSON starts with "{": kept as is
    exported = AuditEntry.objects.get(action="audit.exported")
    assert exported.actor_id == control_user.pk
    assert exported.data["format"] == "csv" and exported.data["filters"]["case"] == "INI-2026-000001"


def test_xlsx_export(client, control_user):
    from openpyxl import load_workbook

    fill(3)
    audit.record(AuditAction.BUDGET_PAID, actor=control_user, data={"comment": "x"})
    with triggers_lifted():
        sql("UPDATE audit_auditentry SET actor_label = '=1+1' WHERE seq = 4")
    client.force_login(control_user)
    response = client.get(reverse("audit:export", args=["xlsx"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert (
        values[0][0] == "N.º"
        and len(values) == 1 + AuditEntry.objects.exclude(action="audit.exported").count()
    )
    assert values[4][2] == "=1+1" and sheet.cell(row=5, column=3).data_type == "s"  # text, never a formula


def test_xlsx_refuses_too_many_rows(client, control_user, monkeypatch):
    from audit import exports

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    fill(3)
    client.force_login(control_user)
    response = client.get(reverse("audit:export", args=["xlsx"]))
    assert response.status_code == 400
    assert "CSV" in response.content.decode()
    assert not AuditEntry.objects.filter(action="audit.exported").exists()
