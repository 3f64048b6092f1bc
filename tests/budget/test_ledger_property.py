"""Property test of the ledger: any sequence of reserve/release/commit/execute/pay/refund/expenditure
moves, for two cases and for none, keeps every figure ≥ 0, reserved + committed + executed ≤ in force
and paid ≤ executed; a move is accepted exactly when a simple model of the rules says it fits; a
refused move changes nothing (no figure, no movement, no audit entry); and every figure always
equals the sum of the line's movements."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from budget import services
from budget.models import BudgetLine, BudgetMovement
from budget.selectors import case_figures, line_reconciles
from cases.roles import Role
from registry.services import today
from tests.factories import BudgetLineFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
FIGURES = ("reserved", "committed", "executed", "paid")
CASES = [None, SimpleNamespace(case_code="INI-2026-000001"), SimpleNamespace(case_code="TRF-2026-000002")]
OPERATIONS = {
    "reserve": services.reserve,
    "release_reservation": services.release_reservation,
    "commit": services.commit,
    "release_commitment": services.release_commitment,
    "execute": services.execute,
    "pay": services.pay,
    "refund": services.refund,
    "expenditure": None,
}
# (figure whose balance limits the move, {figure: sign}) — the rules, restated independently.
MODEL = {
    "reserve": ("available", {"reserved": +1}),
    "release_reservation": ("reserved", {"reserved": -1}),
    "commit": ("reserved", {"reserved": -1, "committed": +1}),
    "release_commitment": ("committed", {"committed": -1}),
    "execute": ("committed", {"committed": -1, "executed": +1}),
    "pay": ("unpaid", {"paid": +1}),
    "refund": ("paid", {"executed": -1, "paid": -1}),
    "expenditure": ("available", {"executed": +1}),
}

steps = st.lists(
    st.tuples(
        st.sampled_from(sorted(OPERATIONS)),
        st.decimals(min_value=D("0.01"), max_value=D("450.00"), places=2),
        st.sampled_from([0, 1, 2]),
    ),
    min_size=1,
    max_size=30,
)


def _limit(limit: str, fig: dict, in_force: Decimal) -> Decimal:
    if limit == "available":
        return in_force - fig["reserved"] - fig["committed"] - fig["executed"]
    if limit == "unpaid":
        return fig["executed"] - fig["paid"]
    return fig[limit]


@pytest.fixture
def setting():
    return {"finance": UserFactory(roles=[Role.FINANCE]), "program": ProgramFactory()}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps, in_force=st.decimals(min_value=D("0.00"), max_value=D("1000.00"), places=2))
def test_no_sequence_of_moves_breaks_the_ledger(setting, sequence, in_force):
    finance = setting["finance"]
    line = BudgetLineFactory(fiscal_year=today().year, program=setting["program"], amount_in_force=in_force)
    model = dict.fromkeys(FIGURES, D("0.00"))
    per_case = {c.case_code: dict.fromkeys(FIGURES, D("0.00")) for c in CASES if c}

    for name, amount, case_index in sequence:
        case = CASES[case_index] if name != "expenditure" else None
        limit_name, deltas = MODEL[name]
        limit = _limit(limit_name, model, in_force)
        if case is not None and limit_name != "available":
            limit = min(limit, _limit(limit_name, per_case[case.case_code], in_force))
        expected_ok = amount <= limit

        before = BudgetLine.objects.values(*FIGURES).get(pk=line.pk)
        movements, entries = BudgetMovement.objects.count(), AuditEntry.objects.count()
        try:
            if name == "expenditure":
                services.record_expenditure(
                    line, actor=finance, amount=amount, date=today(), description="Gasto operativo"
                )
            else:
                OPERATIONS[name](line, amount, actor=finance, case=case)
            accepted = True
        except ValidationError as exc:
            accepted = False
            assert exc.error_dict["amount"][0].code == "insufficient_budget"
        assert accepted == expected_ok, (name, amount, case, model)

        stored = BudgetLine.objects.get(pk=line.pk)
        if accepted:
            for figure, sign in deltas.items():
                model[figure] += sign * amount
                if case is not None:
                    per_case[case.case_code][figure] += sign * amount
            assert BudgetMovement.objects.count() == movements + 1
            assert AuditEntry.objects.count() == entries + 1
        else:
            assert {f: getattr(stored, f) for f in FIGURES} == before
            assert (BudgetMovement.objects.count(), AuditEntry.objects.count()) == (movements, entries)

        # The invariant, the model and the ledger agree after every step.
        assert {f: getattr(stored, f) for f in FIGURES} == model
        assert min(model.values()) >= 0
        assert stored.available >= 0 and stored.paid <= stored.executed
        assert line_reconciles(stored)
    for code, figures in per_case.items():
        derived = case_figures(line, code)
        assert {f: derived[f] for f in FIGURES} == figures
