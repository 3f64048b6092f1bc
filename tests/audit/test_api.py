"""``/api/v1/audit/``: entries and verify (internal control, admin); checkpoints and keys (public)."""

import base64
import csv
import io

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

import audit
from audit import checkpoints
from audit.actions import AuditAction
from audit.models import AuditEntry
from audit.verifier import checkpoint_message, load_public_key

from .helpers import fill, sql, triggers_lifted

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_entries_fields_and_access(api, control_user, applicant):
    fill(3, case="INI-2026-000003", actor=control_user)
    assert api.get("/api/v1/audit/entries/").status_code in (401, 403)
    api.force_authenticate(applicant)
    assert api.get("/api/v1/audit/entries/").status_code == 403
    api.force_authenticate(control_user)
    response = api.get("/api/v1/audit/entries/", {"case": "INI-2026-000003"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    first = body["results"][0]
    assert {"seq", "at", "actor", "action", "subject", "data", "prev_hash", "hash"} <= first.keys()
    assert first["actor"] == {"id": control_user.pk, "label": "control1 (Carla Quispe)"}
    assert first["subject"] == {"type": "", "id": "", "label": ""}
    assert first["data"]["amount"] == "1500.00"
    entry = AuditEntry.objects.get(seq=first["seq"])
    assert (first["hash"], first["prev_hash"]) == (entry.hash, entry.prev_hash)
    assert api.get(f"/api/v1/audit/entries/{entry.seq}/").json()["hash"] == entry.hash


def test_entries_filters_and_validation(api, admin_user, control_user):
    fill(2, case="INI-2026-000001")
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=control_user, case="INI-2026-000002", data={"size": 10})
    api.force_authenticate(admin_user)

    def count(**params):
        response = api.get("/api/v1/audit/entries/", params)
        assert response.status_code == 200, response.json()
        return response.json()["count"]

    assert count(case="INI-2026-000001") == 2
    assert count(actor="control1") == 1
    assert count(actor=str(control_user.pk), action="document.uploaded") == 1
    assert count(since="2000-01-01", until="2999-12-31") == AuditEntry.objects.count()
    assert count(since="2999-01-01T00:00:00Z") == 0
    bad = api.get("/api/v1/audit/entries/", {"since": "mañana", "action": "nope"})
    assert bad.status_code == 400 and {"since", "action"} <= bad.json().keys()


def test_entries_keyset_pagination(api, control_user, django_assert_max_num_queries):
    fill(25)
    api.force_authenticate(control_user)
    total = AuditEntry.objects.count()
    with django_assert_max_num_queries(8):
        page = api.get("/api/v1/audit/entries/", {"page_size": 10}).json()
    assert page["count"] == total  # unfiltered: the head's seq, no COUNT(*)
    seen = [e["seq"] for e in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [e["seq"] for e in page["results"]]
    assert seen == list(range(1, total + 1))
    last_first = page["results"][0]["seq"]
    previous = api.get(page["previous"]).json()
    assert [e["seq"] for e in previous["results"]] == list(range(last_first - 10, last_first))


def test_verify_endpoint(api, control_user, applicant):
    fill(5)
    checkpoints.sign_checkpoint()
    api.force_authenticate(applicant)
    assert api.get("/api/v1/audit/verify/").status_code == 403
    assert not AuditEntry.objects.filter(action="audit.verified").exists()  # a refusal records nothing
    api.force_authenticate(control_user)
    head = AuditEntry.objects.order_by("-seq").first()
    body = api.get("/api/v1/audit/verify/").json()
    assert {k: body[k] for k in ("valid", "entries", "head", "first_error")} == {
        "valid": True,
        "entries": head.seq,
        "head": head.hash,
        "first_error": None,
    }
    assert body["checkpoints"] == 1
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq = 3")
    body = api.get("/api/v1/audit/verify/").json()
    assert (
        body["valid"] is False
        and body["first_error"]["seq"] == 3
        and "missing" in body["first_error"]["reason"]
    )


def test_verify_endpoint_records_who_verified_and_the_outcome(api, control_user):
    """As the page's "verify now" button does: one ``audit.verified`` entry per call, in the chain."""
    fill(4)
    api.force_authenticate(control_user)
    head = AuditEntry.objects.order_by("-seq").first()
    body = api.get("/api/v1/audit/verify/", HTTP_X_REQUEST_ID="req-api-verify-1").json()
    (entry,) = AuditEntry.objects.filter(action="audit.verified")
    assert entry.seq == head.seq + 1 and entry.prev_hash == head.hash
    assert (entry.actor_id, entry.request_id) == (control_user.pk, "req-api-verify-1")
    assert entry.data == {
        "valid": True,
        "entries": body["entries"],
        "head": body["head"],
        "first_error": None,
        "published_checkpoints": 0,
    }
    with triggers_lifted():
        sql("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 2")
    body = api.get("/api/v1/audit/verify/").json()
    second = AuditEntry.objects.filter(action="audit.verified").order_by("-seq").first()
    assert second.data["valid"] is False and second.data["first_error"] == body["first_error"]
    assert second.data["first_error"]["seq"] == 2


def test_checkpoints_and_public_keys_are_public(api):
    fill(4)
    checkpoints.sign_checkpoint()
    fill(1)
    checkpoints.sign_checkpoint()
    body = api.get("/api/v1/audit/checkpoints/").json()
    assert body["count"] == 2 and [c["seq"] for c in body["results"]] == [5, 4]
    keys = api.get("/api/v1/audit/public-keys/").json()["results"]
    trusted = {k["key_id"]: load_public_key(k["public_key_pem"].encode()) for k in keys}
    for cp in body["results"]:
        assert {"seq", "head", "signed_at", "key_id", "signature"} <= cp.keys()
        trusted[cp["key_id"]].verify(base64.b64decode(cp["signature"]), checkpoint_message(cp))
    assert [c["seq"] for c in api.get("/api/v1/audit/checkpoints/", {"since_seq": 4}).json()["results"]] == [
        5
    ]
    paged = api.get("/api/v1/audit/checkpoints/", {"page_size": 1}).json()
    assert [c["seq"] for c in api.get(paged["next"]).json()["results"]] == [4]


def test_schema_documents_the_audit_endpoints(api, admin_user):
    api.force_authenticate(admin_user)
    response = api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/audit/entries/", "/api/v1/audit/verify/", "/api/v1/audit/checkpoints/"} <= paths.keys()


# --- Export: the same CSV/XLSX as the pages, same filters and access, recorded the same way ----------


def test_entries_export_csv_is_the_pages_file_and_is_recorded(api, client, control_user, applicant):
    fill(3, case="INI-2026-000003", actor=control_user)
    fill(2, case="INI-2026-000004")
    api.force_authenticate(applicant)
    assert api.get("/api/v1/audit/entries/", {"format": "csv"}).status_code == 403
    assert not AuditEntry.objects.filter(action="audit.exported").exists()
    api.force_authenticate(control_user)
    response = api.get("/api/v1/audit/entries/", {"format": "csv", "case": "INI-2026-000003"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="bitacora-')
    body = b"".join(response.streaming_content)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    expected = list(
        AuditEntry.objects.filter(case="INI-2026-000003").order_by("seq").values_list("seq", "hash")
    )
    assert [(int(r[0]), r[13]) for r in rows[1:]] == expected
    (exported,) = AuditEntry.objects.filter(action="audit.exported")
    assert exported.actor_id == control_user.pk
    assert exported.data == {
        "format": "csv",
        "filters": {"case": "INI-2026-000003", "actor": "", "action": "", "since": None, "until": None},
    }
    # The page gives the same file for the same filters.
    client.force_login(control_user)
    page = client.get(reverse("audit:export", args=["csv"]), {"case": "INI-2026-000003"})
    assert b"".join(page.streaming_content) == body
    assert AuditEntry.objects.filter(action="audit.exported").count() == 2


def test_entries_export_xlsx_with_filters(api, admin_user, control_user):
    from openpyxl import load_workbook

    fill(2, case="INI-2026-000001")
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=control_user, case="INI-2026-000002", data={"size": 10})
    api.force_authenticate(admin_user)
    response = api.get("/api/v1/audit/entries/", {"format": "xlsx", "actor": "control1", "after": 999})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    values = list(load_workbook(io.BytesIO(response.content)).active.values)
    assert values[0][0] == "N.º"  # the page's (Spanish) headers
    (row,) = values[1:]  # every matching entry; keyset parameters do not apply to a file
    assert (row[3], row[8]) == ("document.uploaded", "INI-2026-000002")
    exported = AuditEntry.objects.get(action="audit.exported")
    assert (exported.actor_id, exported.data["format"], exported.data["filters"]["actor"]) == (
        admin_user.pk,
        "xlsx",
        "control1",
    )


def test_entries_export_refusals_record_nothing(api, control_user, monkeypatch):
    from audit import exports

    fill(3)
    api.force_authenticate(control_user)
    bad = api.get("/api/v1/audit/entries/", {"format": "pdf"})
    assert bad.status_code == 400 and "format" in bad.json()
    bad = api.get("/api/v1/audit/entries/", {"format": "csv", "since": "mañana"})
    assert bad.status_code == 400 and "since" in bad.json()
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    big = api.get("/api/v1/audit/entries/", {"format": "xlsx"})
    assert big.status_code == 400 and "CSV" in big.json()["detail"]
    assert not AuditEntry.objects.filter(action="audit.exported").exists()
    # JSON stays the default (and ?format=json is accepted).
    assert api.get("/api/v1/audit/entries/", {"format": "json"}).json()["count"] == AuditEntry.objects.count()


def test_schema_documents_the_export_formats(api, admin_user):
    api.force_authenticate(admin_user)
    operation = api.get("/api/v1/schema/", {"format": "json"}).json()["paths"]["/api/v1/audit/entries/"][
        "get"
    ]
    (fmt,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert set(fmt["schema"]["enum"]) == {"json", "csv", "xlsx"}
    assert {"application/json", "text/csv", exports_xlsx()} <= operation["responses"]["200"]["content"].keys()


def exports_xlsx() -> str:
    from audit.exports import CONTENT_TYPES

    return CONTENT_TYPES["xlsx"]
