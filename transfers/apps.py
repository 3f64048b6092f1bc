from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Transfers")

    def ready(self):
        from audit.actions import AuditAction
        from cases import kinds

        from . import metrics, rules, selectors, steps  # noqa: F401  (register permission rules and step handlers)
        from .models import Transfer

        kinds.register(
            kinds.CaseKind(
                code="transfer",
                label=_("Transfer"),
                model="transfers.Transfer",
                code_prefix="TRF",
                transitions=kinds.transitions_of(Transfer),
                flow="workflows.transfer_flow.TransferFlow",
                history=selectors.history_for,
                payment_references=(("transfers.Transfer", "payment_reference"),),
                program_path="program",
                department_path="department",
                related=("program", "beneficiary"),
                case_file_template="transfers/_case_file.html",
                detail_url_name="transfer-detail",
                applicant_actions=(),
                either_side_actions=(AuditAction.TRANSFER_REQUESTED,),
                metrics=metrics.METRICS,
            )
        )
