from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompensationsConfig(AppConfig):
    name = "compensations"
    verbose_name = _("Price compensation")

    def ready(self):
        from approvals.models import step_choices
        from audit import actions as audit_actions
        from budget.services import release_held
        from cases import kinds

        from . import metrics, rules, selectors, steps, todo  # noqa: F401  (register rules and step handlers)
        from .actions import (
            AGREEMENT_ACTIONS,
            SETTLEMENT_ACTIONS,
            SETTLEMENT_APPLICANT_ACTIONS,
            CompensationAction,
        )
        from .models import (
            AGREEMENT_FINAL_STATES,
            AGREEMENT_KIND,
            SETTLEMENT_FINAL_STATES,
            SETTLEMENT_KIND,
            AgreementState,
            CompensationAgreement,
            EvidenceKind,
            Settlement,
            SettlementState,
        )

        audit_actions.register(CompensationAction.choices)
        kinds.register(
            kinds.CaseKind(
                code=AGREEMENT_KIND,
                label=_("Price compensation agreement"),
                model="compensations.CompensationAgreement",
                code_prefix="CPA",
                transitions=kinds.transitions_of(CompensationAgreement),
                flow="compensations.flow.AgreementFlow",
                history=selectors.history_for,
                program_path="program",
                department_path="department",
                related=("unit", "program", "department", "budget_line"),
                case_file_template="compensations/_agreement_file.html",
                detail_url_name="compensation-detail",
                actions=AGREEMENT_ACTIONS,
                # A rejection gives back the reserved ceiling; a close, what the settlements did not use.
                on_enter=dict.fromkeys((AgreementState.REJECTED, AgreementState.CLOSED), (release_held,)),
                flow_stops=AGREEMENT_FINAL_STATES,
                not_now=_("Agreement %(code)s is %(state)s: that action is not possible now."),
                not_yours=_("You may not do this on agreement %(code)s."),
                list_for=selectors.agreement_list_for,
                list_columns={"unit_name": "unit__name", "tax_id": "unit__tax_id", "amount": "ceiling"},
                final_states=AGREEMENT_FINAL_STATES,
                # The ended months of its agreements in force not yet declared.
                applicant_todo=todo.applicant_todo,
                labels={"state": AgreementState.choices, "step": step_choices},
                # Counted in the beneficiaries report in each year a settlement of it was paid.
                reach=metrics.reach,
            )
        )
        kinds.register(
            kinds.CaseKind(
                code=SETTLEMENT_KIND,
                label=_("Monthly price-compensation settlement"),
                model="compensations.Settlement",
                code_prefix="LIQ",
                transitions=kinds.transitions_of(Settlement),
                flow="compensations.flow.SettlementFlow",
                history=selectors.history_for,
                program_path="agreement__program",
                department_path="agreement__department",
                related=("agreement", "agreement__unit", "agreement__budget_line"),
                case_file_template="compensations/_settlement_file.html",
                detail_url_name="settlement-detail",
                applicant_actions=SETTLEMENT_APPLICANT_ACTIONS,
                actions=SETTLEMENT_ACTIONS,
                flow_stops=SETTLEMENT_FINAL_STATES,
                not_now=_("Settlement %(code)s is %(state)s: that action is not possible now."),
                not_yours=_("You may not do this on settlement %(code)s."),
                steps=(
                    (steps.SETTLEMENT_VERIFICATION, _("Verification of the litres declared")),
                    (steps.SETTLEMENT_PAYMENT, _("Payment of the price compensation")),
                ),
                metrics=metrics.METRICS,
                list_for=selectors.settlement_list_for,
                list_columns={
                    "unit_name": "agreement__unit__name",
                    "tax_id": "agreement__unit__tax_id",
                    "amount": "amount",
                },
                final_states=SETTLEMENT_FINAL_STATES,
                labels={"state": SettlementState.choices, "kind": EvidenceKind.choices, "step": step_choices},
            )
        )
