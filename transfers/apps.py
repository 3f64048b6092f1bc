from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Transfers")

    def ready(self):
        from functools import partial

        from django.db.models.functions import Coalesce

        from approvals.models import step_choices
        from approvals.todo import task_todos
        from audit import actions as audit_actions
        from audit.actions import AuditAction
        from budget.services import release_held
        from cases import kinds

        from . import metrics, rules, selectors, steps  # noqa: F401  (register permission rules and step handlers)
        from .models import FINAL_STATES, KIND, DocumentKind, Modality, Transfer, TransferKind, TransferState
        from .services import REACH_CORRECTED, TRANSITION_ACTIONS

        audit_actions.register([(REACH_CORRECTED, _("Transfer beneficiaries and placement corrected"))])

        kinds.register(
            kinds.CaseKind(
                code=KIND,
                label=_("Transfer"),
                model="transfers.Transfer",
                code_prefix="TRF",
                transitions=kinds.transitions_of(Transfer),
                flow="transfers.flow.TransferFlow",
                history=selectors.history_for,
                program_path="program",
                department_path="department",
                related=("program", "beneficiary", "department"),
                case_file_template="transfers/_case_file.html",
                detail_url_name="transfer-detail",
                applicant_actions=(),
                either_side_actions=(AuditAction.TRANSFER_REQUESTED,),
                actions=TRANSITION_ACTIONS,
                # A rejection or an annulment gives back what the transfer holds on its line.
                on_enter=dict.fromkeys((TransferState.REJECTED, TransferState.ANNULLED), (release_held,)),
                flow_stops=FINAL_STATES,
                not_now=_("Transfer %(code)s is %(state)s: that action is not possible now."),
                not_yours=_("You may not do this on transfer %(code)s."),
                metrics=metrics.METRICS,
                reach=metrics.reach,
                list_for=selectors.transfer_list_for,
                list_columns={
                    "unit_name": "beneficiary__name",
                    "tax_id": "beneficiary__tax_id",
                    # The approved amount once fixed, the requested one before.
                    "amount": Coalesce("approved_amount", "amount"),
                },
                final_states=FINAL_STATES,
                # Its open applicant steps, each on its page of the inbox.
                applicant_todo=partial(task_todos, case_type=KIND),
                # An observation is answered on one page: the observation, the documents, the answer.
                applicant_pages={"answer_observation": "transfer-answer"},
                labels={
                    "state": TransferState.choices,
                    "kind": [*TransferKind.choices, *DocumentKind.choices],
                    "modality": Modality.choices,
                    "step": step_choices,
                },
            )
        )
