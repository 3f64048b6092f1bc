"""The bare side of ``bench/decisions.py``: a viewflow 2.4 flow of the same shape as one of our
decisions, with viewflow's default ``Process`` and ``Task`` models and nothing of ours.

    start (StartHandle) -> approve (human View, permission-gated) -> check (If) -> record (Function) -> end

As our flows, it is started from code (``StartHandle``) and takes viewflow's ``select_for_update`` lock.
The approve task is completed by ``bench/decisions.py`` the way viewflow's own task views do it.
"""

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.flow.views import UpdateProcessView

# The permission of the approve step (a row created by the bench on viewflow's ``Process`` content
# type and given to the role groups of the staff who decide).
APPROVE_CODENAME = "bareflow_approve"
APPROVE_PERMISSION = f"viewflow.{APPROVE_CODENAME}"


class BareFlow(flow.Flow):
    lock_impl = lock.select_for_update_lock
    process_title = "Bare decision"

    start = flow.StartHandle().Next(this.approve)
    approve = (
        flow.View(UpdateProcessView.as_view(fields=["data"])).Permission(APPROVE_PERMISSION).Next(this.check)
    )
    check = (
        flow.If(lambda activation: activation.process.data.get("approved")).Then(this.record).Else(this.end)
    )
    record = flow.Function(this.record_decision).Next(this.end)
    end = flow.End()

    def record_decision(self, activation):
        """The HelloWorld demo's ``send`` step: work outside the database (here: none)."""
        return None
