from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.roles import Role


class TaskCaseSerializer(serializers.Serializer):
    type = serializers.CharField(source="case_type")
    id = serializers.IntegerField(source="case_id")
    code = serializers.CharField(source="case_code")


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["integer", "decimal", "string", "boolean", "date", "list"])
    required = serializers.BooleanField()
    min = serializers.JSONField(allow_null=True)
    max = serializers.JSONField(allow_null=True)
    choices = serializers.JSONField(allow_null=True)
    default = serializers.JSONField(allow_null=True)
    items = serializers.JSONField(allow_null=True)
    for_decisions = serializers.ListField(child=serializers.CharField(), required=False)


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    case = serializers.SerializerMethodField()
    step = serializers.CharField()
    step_label = serializers.CharField(source="get_step_display")
    role = serializers.CharField()
    title = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    beneficiary = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    due = serializers.DateTimeField(source="due_at", allow_null=True)
    decisions = serializers.SerializerMethodField()
    fields = serializers.SerializerMethodField(method_name="describe_fields")

    @extend_schema_field(TaskCaseSerializer)
    def get_case(self, task):
        return TaskCaseSerializer(task).data

    def get_title(self, task) -> str:
        return f"{task.get_step_display()} — {task.case_code} {task.title}"

    @extend_schema_field(serializers.ChoiceField(choices=["available", "assigned", "done", "cancelled"]))
    def get_status(self, task) -> str:
        if task.is_open:
            # An applicant unit's step is every member's, never claimed: "assigned" to the unit.
            return "assigned" if task.owner_id or task.role == Role.APPLICANT else "available"
        return "done" if task.status == "DONE" else "cancelled"

    def get_owner(self, task) -> str | None:
        return task.owner.get_username() if task.owner_id else None

    def _spec(self, task):
        from .steps import spec_for

        return spec_for(task.case_type, task.step)

    def get_decisions(self, task) -> list[str]:
        return list(self._spec(task).decisions) if task.is_open else []

    @extend_schema_field(FieldSerializer(many=True))
    def describe_fields(self, task):
        if not task.is_open:
            return []
        cases = self.context.get("cases", {})
        case = cases.get((task.case_type, task.case_id))
        if case is None:
            from .services import case_of

            case = case_of(task)
        return [f.describe() for f in self._spec(task).fields(task, case)]


class CompleteSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "observe", "reject"])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    data = serializers.DictField(required=False, default=dict)


class ReassignSerializer(serializers.Serializer):
    user = serializers.CharField(help_text=_("Username of the colleague who will hold the task."))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class DeclareSerializer(serializers.Serializer):
    conflict = serializers.BooleanField(
        help_text=_(
            "false: no conflict of interest with the case (its documents open, the task may be "
            "decided); true: a conflict, with its reason (the task goes back to the pool)."
        )
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")


class CompleteResultSerializer(serializers.Serializer):
    state = serializers.CharField()
    case = TaskCaseSerializer()


class DelegationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    delegate = serializers.CharField(help_text=_("Username of the colleague."))
    role = serializers.ChoiceField(choices=Role.choices)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
