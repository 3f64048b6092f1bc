"""``/api/v1/tasks/``: the caller's inbox, claim, release, complete, and reassign of an escalated
task (API.md "Task inbox")."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from approvals.models import Step
from cases import kinds, params
from cases.api import NotFoundUnlessVisible

from . import selectors, services
from .serializers import (
    CompleteResultSerializer,
    CompleteSerializer,
    DeclareSerializer,
    ReassignSerializer,
    TaskSerializer,
)
from .steps import certification_lines


def _pk(value) -> int:
    """A task id from the URL: anything but a number that fits a bigint is a task nobody has (404)."""
    pk = params.number(value)
    if pk is None:
        raise Http404
    return pk


STATUS_ALIASES = {
    "available": "available",
    "new": "available",
    "assigned": "assigned",
    "done": "done",
    "escalated": "escalated",
}


def _cases_for(tasks) -> dict:
    """Load the cases of a page of tasks in one query per case type."""
    by_type: dict[str, set[int]] = {}
    for t in tasks:
        by_type.setdefault(t.case_type, set()).add(t.case_id)
    cases = {}
    for case_type, ids in by_type.items():
        kind = kinds.get(case_type)
        qs = kind.model_class._default_manager.filter(pk__in=ids).select_related(*kind.related)
        for case in qs:
            cases[(case_type, case.pk)] = case
    return cases


@extend_schema(tags=["tasks"])
class TaskViewSet(
    NotFoundUnlessVisible, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = TaskSerializer

    def _filters(self) -> selectors.TaskFilters:
        p = self.request.query_params
        # Case codes are upper case (INI-2026-000123); the filter ignores case, as the web filter does.
        return selectors.TaskFilters(case=p.get("case", "").strip().upper(), step=p.get("step", "").strip())

    def _status(self) -> str:
        raw = self.request.query_params.get("status", "").strip().lower()
        if raw and raw not in STATUS_ALIASES:
            raise ValidationError(
                {
                    "status": [
                        _("Unknown status %(value)s; use one of: %(list)s.")
                        % {"value": raw, "list": ", ".join(sorted(set(STATUS_ALIASES.values())))}
                    ]
                }
            )
        return STATUS_ALIASES.get(raw, "")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no inbox
            from workflows.models import CaseTask

            return CaseTask.objects.none()
        user, filters, status = self.request.user, self._filters(), self._status()
        if status == "available":
            return selectors.task_list_available(user, filters)
        if status == "assigned":
            return selectors.task_list_assigned(user, filters)
        if status == "done":
            return selectors.task_list_done(user, filters)
        if status == "escalated":
            return selectors.task_list_escalated(user, filters)
        return selectors.task_list_open(user, filters)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["cases"] = getattr(self, "_cases", {})
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._cases = _cases_for(page)
        return page

    def get_object(self):
        try:
            return selectors.task_in_scope(self.request.user, _pk(self.kwargs["pk"]))
        except (ObjectDoesNotExist, ValueError) as exc:
            raise Http404 from exc

    @extend_schema(
        parameters=[
            OpenApiParameter("case", str, description="Case code, e.g. INI-2026-000001 (any letter case)"),
            OpenApiParameter("step", str),
            OpenApiParameter("status", str, enum=["available", "assigned", "done", "escalated"]),
        ]
    )
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        # The budget lines every certification task of the page offers, in one query.
        programs = [t.program_id for t in rows if t.is_open and t.step == Step.BUDGET_CERTIFICATION]
        with certification_lines(programs):
            data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        task = selectors.task_for_action(request.user, _pk(pk))
        task = services.claim_task(task.pk, actor=request.user)
        task.refresh_from_db()
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        task = selectors.task_for_action(request.user, _pk(pk))
        task = services.release_task(task.pk, actor=request.user)
        task.refresh_from_db()
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=CompleteSerializer, responses=CompleteResultSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = selectors.task_for_action(request.user, _pk(pk))
        payload = CompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        case = services.complete_task(
            task.pk,
            actor=request.user,
            decision=payload.validated_data["decision"],
            comment=payload.validated_data["comment"],
            data=payload.validated_data["data"],
        )
        return Response(
            {
                "state": case.state,
                "case": {"type": task.case_type, "id": task.case_id, "code": task.case_code},
            }
        )

    @extend_schema(request=DeclareSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def declare(self, request, pk=None):
        """The declaration of conflict of interest on a technical-evaluation task, before its case's
        documents open (``services.declare_conflict``)."""
        task = selectors.task_for_action(request.user, _pk(pk))
        payload = DeclareSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = services.declare_conflict(
            task.pk,
            actor=request.user,
            conflict=payload.validated_data["conflict"],
            reason=payload.validated_data["reason"],
        )
        task.refresh_from_db()
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(request=ReassignSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """An escalated (overdue) task, by a holder of its escalation role, to a named colleague."""
        task = selectors.task_for_reassign(request.user, _pk(pk))
        payload = ReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        username = payload.validated_data["user"].strip()
        to_user = get_user_model().objects.filter(username=username, is_active=True).first()
        if to_user is None:
            raise ValidationError({"user": [_("No active user is called %(name)s.") % {"name": username}]})
        task = services.reassign_task(
            task.pk, actor=request.user, to_user=to_user, reason=payload.validated_data["reason"]
        )
        task.refresh_from_db()
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)
