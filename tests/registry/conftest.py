import pytest

from audit.models import AuditEntry


@pytest.fixture
def new_audit():
    """A callable returning the audit entries written since its previous call (the first call
    returns everything so far: call it once after the set-up to start counting)."""
    state = {"seq": 0}

    def take() -> list[AuditEntry]:
        entries = list(AuditEntry.objects.filter(seq__gt=state["seq"]).order_by("seq"))
        if entries:
            state["seq"] = entries[-1].seq
        return entries

    return take


def actions(entries) -> list[str]:
    return [e.action for e in entries]
