"""Documents of a case, the same for every kind (PRODUCT.md §7): PDF, JPEG or PNG recognised by their
first bytes (never by name or client header), size-limited, hashed (SHA-256), immutable (a
correction is a new upload), and served only as an attachment after the case app's permission
check.

- ``CaseDocument``: the abstract model; a case app adds the foreign key to its case;
- ``read_upload``: checks and reads an uploaded file → ``Upload`` (or ``ValidationError``, nothing
  written);
- ``store``: saves the file and the row; the case app writes the audit entry (``audit_data``);
- ``attachment``: the download response with the headers that keep the browser from rendering it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import models
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# Allowed types, recognised by their first bytes.
MAGIC = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
EXTENSIONS = {content_type: ext for _magic, content_type, ext in MAGIC}
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class CaseDocument(models.Model):
    """An uploaded file of a case: type checked by content, size-limited, SHA-256 recorded.
    Immutable: a corrected document is a new upload. Subclasses add the case's foreign key and the
    ``kind`` choices."""

    kind = models.CharField(gettext_lazy("kind"), max_length=40)
    file = models.FileField(gettext_lazy("file"), upload_to="documents/%Y/%m/")
    original_name = models.CharField(gettext_lazy("file name"), max_length=200)
    content_type = models.CharField(gettext_lazy("content type"), max_length=40)
    size = models.PositiveIntegerField(gettext_lazy("size (bytes)"))
    sha256 = models.CharField(gettext_lazy("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["uploaded_at"]
        verbose_name = gettext_lazy("document")
        verbose_name_plural = gettext_lazy("documents")

    def __str__(self) -> str:
        label = getattr(self, "get_kind_display", lambda: self.kind)()
        return f"{label}: {self.original_name}"

    def audit_data(self) -> dict:
        """What the ``document.uploaded`` entry records of this document."""
        return {
            "document": self.pk,
            "kind": self.kind,
            "name": self.original_name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
        }


@dataclass(frozen=True)
class Upload:
    content: bytes
    content_type: str
    extension: str
    size: int
    sha256: str
    original_name: str


def receive(kind: str, allowed_kinds, uploaded_file) -> Upload:
    """The checks every case's upload makes, all reported at once: a kind the case knows, a file,
    and the file's own checks (``read_upload``). Raises ``ValidationError``; nothing is written."""
    errors = {}
    if kind not in allowed_kinds:
        errors["kind"] = [_("Choose a valid document kind.")]
    if uploaded_file is None:
        errors["file"] = [_("Attach a file.")]
    if errors:
        raise ValidationError(errors)
    return read_upload(uploaded_file)


def sniff(head: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` of an allowed file from its first bytes, or ``None``."""
    for magic, content_type, ext in MAGIC:
        if head.startswith(magic):
            return content_type, ext
    return None


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        {"file": [_("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}]}
    )


def read_upload(uploaded_file) -> Upload:
    """Read and check an uploaded file: within ``settings.DOCUMENT_MAX_BYTES`` (counted while
    reading, whatever the client claims), not empty, a PDF, JPEG or PNG by content."""
    if uploaded_file is None:
        raise ValidationError({"file": [_("Attach a file.")]})
    limit = settings.DOCUMENT_MAX_BYTES
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise _too_large(limit)
    digest, size, chunks = hashlib.sha256(), 0, []
    for chunk in uploaded_file.chunks():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        digest.update(chunk)
        chunks.append(chunk)
    content = b"".join(chunks)
    if not content:
        raise ValidationError({"file": [_("The file is empty.")]})
    sniffed = sniff(content[:16])
    if sniffed is None:
        raise ValidationError({"file": [_("Only PDF, JPEG or PNG files are accepted (checked by content).")]})
    content_type, ext = sniffed
    original = (getattr(uploaded_file, "name", "") or "documento").replace("\x00", "")[-200:]
    return Upload(content, content_type, ext, size, digest.hexdigest(), original)


def store[D: CaseDocument](document: D, upload: Upload) -> D:
    """Fill ``document`` (its case, kind and uploader already set) from ``upload`` and save it, under
    a random file name."""
    document.original_name = upload.original_name
    document.content_type = upload.content_type
    document.size = upload.size
    document.sha256 = upload.sha256
    document.file.save(f"{uuid.uuid4().hex}{upload.extension}", ContentFile(upload.content), save=False)
    document.save()
    return document


def download_name(document: CaseDocument) -> str:
    """The stored file name without any path, with the extension of its real content type."""
    name = os.path.basename(str(document.original_name).replace("\\", "/")).strip() or "documento"
    stem = os.path.splitext(name)[0].strip(". ") or "documento"
    return stem[:120] + EXTENSIONS.get(document.content_type, "")


def attachment(document: CaseDocument | None) -> FileResponse:
    """The document as an attachment, never rendered inline (the caller checked who may see the
    case and that the document is the case's). A missing file is a 404."""
    if document is None:
        raise Http404
    return attachment_of_file(document.file, download_name(document), document.content_type)


def attachment_of_file(file, filename: str, content_type: str) -> FileResponse:
    """A stored file as an attachment with the headers that keep a browser from running it."""
    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- upload pages --------------------------------------------------------------------------------------


class SizeLimitHandler(FileUploadHandler):
    """Stops reading a file as soon as it passes ``DOCUMENT_MAX_BYTES`` (the rest of the request is
    discarded, not stored), so a huge upload is answered with a clear message instead of filling
    the disk or failing. The view finds ``request.document_too_large`` set."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.DOCUMENT_MAX_BYTES

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.document_too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


def size_limited(view):
    """An upload page that never stores more than ``DOCUMENT_MAX_BYTES`` of a file: the handler goes
    in before the body is read, and CSRF is checked after (``csrf_protect`` inside,
    ``csrf_exempt`` outside, as Django's upload-handler docs require)."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers.insert(0, SizeLimitHandler(request))
        return protected(request, *args, **kwargs)

    return wrapper


def too_large(request, form) -> bool:
    """When the upload was cut (``SizeLimitHandler``), put the message next to the form's file field
    and answer True."""
    if not getattr(request, "document_too_large", False):
        return False
    form.is_valid()
    form.errors.pop("file", None)
    form.add_error(
        "file",
        _("The file is larger than %(mb)s MB; reduce it or scan it again.")
        % {"mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024)},
    )
    return True
