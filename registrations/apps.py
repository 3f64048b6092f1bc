from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationsConfig(AppConfig):
    name = "registrations"
    verbose_name = _("Registrations of productive units")

    def ready(self):
        from django.db.models import CharField
        from django.db.models.fields.json import KeyTextTransform
        from django.db.models.functions import Coalesce

        from approvals.models import step_choices
        from audit import actions as audit_actions
        from cases import kinds

        from . import rules, selectors, steps, todo  # noqa: F401  (register permission rules and step handlers)
        from .actions import APPLICANT_ACTIONS, TRANSITION_ACTIONS, RegistrationAction
        from .models import FINAL_STATES, DocumentKind, Registration, RegistrationKind, RegistrationState

        audit_actions.register(RegistrationAction.choices)
        kinds.register(
            kinds.CaseKind(
                code="registration",
                label=_("Registration of a productive unit"),
                model="registrations.Registration",
                code_prefix="REG",
                transitions=kinds.transitions_of(Registration),
                flow="registrations.flow.RegistrationFlow",
                history=selectors.history_for,
                program_path="",
                department_path="department",
                related=("unit", "department", "applicant"),
                case_file_template="registrations/_case_file.html",
                detail_url_name="registration-detail",
                applicant_actions=APPLICANT_ACTIONS,
                actions=TRANSITION_ACTIONS,
                flow_stops=FINAL_STATES,
                not_now=_("Registration %(code)s is %(state)s: that action is not possible now."),
                not_yours=_("You may not do this on registration %(code)s."),
                steps=((steps.REVIEW, _("Registration review")),),
                list_for=selectors.registration_list_for,
                # A new unit's registration has no unit yet: the name and NIT the applicant gave.
                list_columns={
                    "unit_name": Coalesce(
                        "unit__name", KeyTextTransform("name", "unit_data"), output_field=CharField()
                    ),
                    "tax_id": Coalesce(
                        "unit__tax_id", KeyTextTransform("tax_id", "unit_data"), output_field=CharField()
                    ),
                },
                final_states=FINAL_STATES,
                # Its open applicant steps (on the inbox's task page) and its drafts.
                applicant_todo=todo.applicant_todo,
                # An observation is answered on one page: the observation, the documents, the answer.
                applicant_pages={"answer_observation": "registration-answer"},
                labels={
                    "state": RegistrationState.choices,
                    "kind": [*RegistrationKind.choices, *DocumentKind.choices],
                    "step": step_choices,
                },
            )
        )
