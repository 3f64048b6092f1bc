"""The official documents of a case, for every kind: the issue of one at a step (``step_issuer``: the
number, the PDF and the step's audit entry), the signed scan uploaded back (the one service,
``upload_signed_scan``: who may, the file checked by content, stored beside the generated PDF, the
audit entry in the same transaction), and what a case page and a case API show and serve of them.

The case app finds the case the user may see (its own selector: a case outside it is a 404) and
hands it here; the kind is read from the registry (``cases.kinds``), never named."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

import audit
from audit.actions import AuditAction
from cases import documents, kinds, official, official_pdf, tx
from cases.errors import Conflict
from cases.models import OfficialDocument
from cases.roles import has_role, is_admin
from cases.serializers import OfficialDocumentSerializer

if TYPE_CHECKING:
    from approvals.steps import StepContext

type Describe = Callable[..., official_pdf.OfficialPdf]
type Issue = Callable[[StepContext, official_pdf.DocumentKind, Describe], OfficialDocument]


@tx.atomic
def render(pk: int) -> OfficialDocument:
    """Draw and store the PDF of official document ``pk`` from what its step recorded, once: under
    the row's lock a document already drawn is returned as it is (the job and a first download may
    race). Its SHA-256 goes into an ``official_document.rendered`` entry beside the description's
    (``content_sha256``, the one in the step's entry), in the issuing officer's name."""
    document = OfficialDocument.objects.select_for_update().get(pk=pk)
    if document.sha256:
        return document
    size = official.store_pdf(document)
    audit.record(
        AuditAction.OFFICIAL_RENDERED,
        actor=document.issued_by,
        subject=document,
        case=document.case_code,
        data={
            "kind": document.kind,
            "number": document.number,
            "content_sha256": document.content_sha256,
            "sha256": document.sha256,
            "size": size,
            "template_version": document.template_version,
        },
    )
    return document


def rendered(document: OfficialDocument) -> OfficialDocument:
    """``document`` with its PDF (drawn now if the job has not drawn it yet)."""
    return document if document.sha256 else render(document.pk)


def step_issuer(case_type: str, template_version: str) -> Issue:
    """The ``issue(ctx, kind, describe)`` of a case kind's step handlers: issues document ``kind`` for
    the case of ``ctx`` (drawn, in Spanish whatever the officer's language, from
    ``describe(case, number=, code=, url=)``), numbered in the step's transaction, with the step and
    role of its task, and records its number and the SHA-256 of what it prints in the step's audit
    entry (``official_documents``); the PDF is drawn after the commit (``render``)."""

    def issue(ctx: StepContext, kind: official_pdf.DocumentKind, describe: Describe) -> OfficialDocument:
        case = ctx.case

        def build(number: str, code: str, url: str) -> official_pdf.OfficialPdf:
            with translation.override("es"):
                return describe(case, number=number, code=code, url=url)

        document = official.issue(
            kind=kind.kind,
            prefix=kind.prefix,
            case=case,
            case_type=case_type,
            actor=ctx.actor,
            template_version=template_version,
            describe=build,
            step=str(ctx.task.step),
            role=str(ctx.task.role or ""),
        )
        ctx.audit_data.setdefault("official_documents", []).append(official.audit_data(document))
        return document

    return issue


def _entitled(user, document: OfficialDocument) -> bool:
    """Staff holding the role of the step that issued it, or an administrator."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return is_admin(user) or bool(document.role and has_role(user, document.role))


def may_upload_scan(user, document: OfficialDocument) -> bool:
    """Whether the page offers ``user`` the upload of the signed scan: entitled, and none yet."""
    return not document.has_signed_scan and _entitled(user, document)


def upload_signed_scan(case, number: str, *, actor, uploaded_file) -> OfficialDocument:
    """Keep the signed scan of official document ``number`` of ``case`` (which the caller checked
    the actor may see). A refusal is itself recorded (``auth.permission_denied``); a second scan is
    refused (409): the first stays as uploaded."""
    case_type = kinds.for_model(case).code
    document = official.document_of(case_type, case.pk, number)
    if document is None:
        raise Http404
    if not _entitled(actor, document):
        audit.record(
            AuditAction.PERMISSION_DENIED,
            actor=actor,
            subject=case,
            data={"attempt": "official_scan_upload", "number": document.number, "role": document.role},
        )
        raise PermissionDenied(
            _(
                "Only staff with the role of the step that issued %(number)s, or an administrator, "
                "may upload its signed scan."
            )
            % {"number": document.number}
        )
    return _store(case, document.pk, actor=actor, uploaded_file=uploaded_file)


@tx.atomic
def _store(case, document_pk: int, *, actor, uploaded_file) -> OfficialDocument:
    document = rendered(OfficialDocument.objects.select_for_update().get(pk=document_pk))
    if document.has_signed_scan:
        raise Conflict(_("The signed scan of %(number)s was already uploaded.") % {"number": document.number})
    upload = documents.read_upload(uploaded_file)
    official.store_signed_scan(document, upload, actor=actor)
    audit.record(
        AuditAction.OFFICIAL_SCAN_UPLOADED,
        actor=actor,
        subject=case,
        data={
            "kind": document.kind,
            "number": document.number,
            "sha256": document.sha256,
            "signed_scan_sha256": upload.sha256,
            "size": upload.size,
            "content_type": upload.content_type,
        },
    )
    return document


# --- pages and API ---------------------------------------------------------------------------------


def documents_of(case) -> list[OfficialDocument]:
    return official.documents_of(kinds.for_model(case).code, case.pk)


def page_context(user, case) -> dict:
    """What ``_official_documents.html`` needs: the documents, each marked with whether the user may
    upload its signed scan."""
    listed = documents_of(case)
    for document in listed:
        document.may_upload_scan = may_upload_scan(user, document)  # type: ignore[attr-defined]
    return {
        "official_documents": listed,
        "official_max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
    }


def pdf_response(case, number: str):
    """The generated PDF of document ``number`` of ``case``, as an attachment (404 if not its)."""
    document = official.document_of(kinds.for_model(case).code, case.pk, number)
    if document is None:
        raise Http404
    document = rendered(document)
    return documents.attachment_of_file(document.file, f"{document.number}.pdf", "application/pdf")


def scan_response(case, number: str):
    """The signed scan of document ``number`` of ``case``, as an attachment (404 if none)."""
    document = official.document_of(kinds.for_model(case).code, case.pk, number)
    if document is None or not document.has_signed_scan:
        raise Http404
    extension = documents.EXTENSIONS.get(document.signed_scan_content_type, "")
    return documents.attachment_of_file(
        document.signed_scan, f"{document.number}-firmado{extension}", document.signed_scan_content_type
    )


def scan_upload_view(request, case, number: str, back: str):
    """The case page's upload form: one service call, then back to the case page with the outcome."""
    try:
        document = upload_signed_scan(
            case, number, actor=request.user, uploaded_file=request.FILES.get("file")
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Signed scan of %(number)s uploaded (SHA-256 %(hash)s…).")
            % {"number": document.number, "hash": document.signed_scan_sha256[:12]},
        )
    return redirect(f"{back}#documentos-oficiales")


class ScanUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class OfficialDocumentActions:
    """The API actions of a case viewset (``get_object``: the case the caller may see, else 404):
    ``GET …/{id}/official/{number}/`` the generated PDF, ``GET …/{id}/official/{number}/scan/`` the
    signed scan, ``POST`` (multipart ``file``) to upload it back (201 with the document; 403 for whoever
    may not, 409 once uploaded, 400 for a bad file)."""

    @extend_schema(responses={(200, "application/pdf"): bytes})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"official/(?P<number>[A-Z0-9-]{1,40})",
        url_name="official-api",
    )
    def official(self, request, pk=None, number=None):
        return pdf_response(self.get_object(), number)  # type: ignore[attr-defined]

    @extend_schema(methods=["GET"], responses={(200, "application/octet-stream"): bytes})
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": ScanUploadSerializer},
        responses={201: OfficialDocumentSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path=r"official/(?P<number>[A-Z0-9-]{1,40})/scan",
        url_name="official-api-scan",
        parser_classes=[MultiPartParser, FormParser],
    )
    def official_scan(self, request, pk=None, number=None):
        case = self.get_object()  # type: ignore[attr-defined]
        if request.method == "GET":
            return scan_response(case, number)
        document = upload_signed_scan(
            case, number, actor=request.user, uploaded_file=request.FILES.get("file")
        )
        url_name = f"{self.basename}-official-api"  # type: ignore[attr-defined]
        data = OfficialDocumentSerializer(
            document, context={"request": request, "official_url": url_name}
        ).data
        return Response(data, status=status.HTTP_201_CREATED)
