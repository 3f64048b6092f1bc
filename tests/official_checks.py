"""Checks of an official document listed by a case's API against what its step recorded: the step's
audit entry holds the SHA-256 of what the document prints; the PDF, drawn after the step's commit
(here: at the download, since a test's transaction never commits), has its own SHA-256 recorded with
the row and in an ``official_document.rendered`` entry."""

from __future__ import annotations

import hashlib

from audit.models import AuditEntry
from cases.models import OfficialDocument


def check_official(client, listed: dict, recorded: dict) -> bytes:
    """``listed``: the document in the API's ``official_documents``; ``recorded``: its item in the
    step's audit entry. Downloads the PDF through ``client`` and returns it."""
    assert recorded == {
        "kind": listed["kind"],
        "number": listed["number"],
        "content_sha256": listed["content_sha256"],
    }
    response = client.get(listed["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content)
    digest = hashlib.sha256(content).hexdigest()
    assert content.startswith(b"%PDF-") and listed["sha256"] in ("", digest)
    assert OfficialDocument.objects.get(number=listed["number"]).sha256 == digest
    [drawn] = AuditEntry.objects.filter(action="official_document.rendered", data__number=listed["number"])
    assert drawn.data["sha256"] == digest and drawn.data["content_sha256"] == listed["content_sha256"]
    return content
