from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IniciativasConfig(AppConfig):
    name = "iniciativas"
    verbose_name = _("Productive initiatives")

    def ready(self):
        from django.db.models.functions import Coalesce

        from approvals.models import step_choices
        from audit import actions as audit_actions
        from audit.actions import AuditAction
        from budget.services import release_held
        from cases import kinds

        from . import metrics, rules, selectors, steps, todo  # noqa: F401  (register permission rules and step handlers)
        from .models import FINAL_STATES, KIND, RELEASING_STATES, DocumentKind, Initiative, InitiativeState
        from .services import REACH_CORRECTED, TRANSITION_ACTIONS

        audit_actions.register([(REACH_CORRECTED, _("Initiative beneficiaries and placement corrected"))])

        kinds.register(
            kinds.CaseKind(
                code=KIND,
                label=_("Productive initiative"),
                model="iniciativas.Initiative",
                code_prefix="INI",
                transitions=kinds.transitions_of(Initiative),
                flow="iniciativas.flow.InitiativeFlow",
                history=selectors.history_for,
                program_path="call__program",
                department_path="department",
                related=("call", "call__program", "unit", "department"),
                case_file_template="iniciativas/_case_file.html",
                detail_url_name="initiative-detail",
                applicant_actions=(
                    AuditAction.INITIATIVE_CREATED,
                    AuditAction.INITIATIVE_UPDATED,
                    AuditAction.INITIATIVE_SUBMITTED,
                    AuditAction.INITIATIVE_WITHDRAWN,
                    AuditAction.INITIATIVE_ANSWERED,
                ),
                either_side_actions=(),
                actions=TRANSITION_ACTIONS,
                # An exit that ends the grant without paying gives back what the case holds on its line.
                on_enter=dict.fromkeys(RELEASING_STATES, (release_held,)),
                flow_stops=frozenset({*FINAL_STATES, InitiativeState.IN_RECOVERY}),
                not_now=_("Initiative %(code)s is %(state)s: that action is not possible now."),
                not_yours=_("You may not do this on initiative %(code)s."),
                metrics=metrics.METRICS,
                reach=metrics.reach,
                list_for=selectors.initiative_list_for,
                list_columns={
                    "unit_name": "unit__name",
                    "tax_id": "unit__tax_id",
                    # The approved amount once fixed, the requested one before.
                    "amount": Coalesce("approved_amount", "requested_amount"),
                },
                final_states=FINAL_STATES,
                applicant_todo=todo.applicant_todo,
                # The observation is answered on one page: data, documents and answer together.
                applicant_pages={"answer_observation": "initiative-answer"},
                labels={
                    "state": InitiativeState.choices,
                    "kind": DocumentKind.choices,
                    "step": step_choices,
                },
            )
        )
