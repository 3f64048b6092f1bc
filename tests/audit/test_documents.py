"""Document uploads reach the trail with the SHA-256 of the file actually stored (PRODUCT.md §6), as
docs/AUDIT.md describes: subject = the initiative, the document in ``data``."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from iniciativas import services as ini
from tests.iniciativas.conftest import PDF, draft, world  # noqa: F401  (world: the fixture)

pytestmark = pytest.mark.django_db


def test_upload_entry_carries_the_stored_files_sha256(world):  # noqa: F811
    initiative = draft(world)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    uploads = [
        ("project_profile", SimpleUploadedFile("perfil.pdf", PDF, content_type="application/pdf")),
        ("counterpart_letter", SimpleUploadedFile("carta.png", png, content_type="image/png")),
    ]
    for kind, uploaded in uploads:
        before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
        document = ini.upload_document(initiative, actor=world.applicant, kind=kind, uploaded_file=uploaded)
        (entry,) = AuditEntry.objects.filter(seq__gt=before, action="document.uploaded")
        stored = Path(document.file.path).read_bytes()  # what is on disk, not what was sent
        digest = hashlib.sha256(stored).hexdigest()
        assert entry.data["sha256"] == digest == document.sha256
        assert entry.data["size"] == len(stored) == document.size
        assert (entry.data["document"], entry.data["kind"]) == (document.pk, kind)
        assert entry.data["name"] == uploaded.name
        assert (entry.subject_type, entry.subject_id) == ("iniciativas.initiative", str(initiative.pk))
        assert entry.case == initiative.code
        assert entry.actor_id == world.applicant.pk
