"""The case-kind registry (``cases.kinds``): what each case app registers agrees with its own code,
so the engine can trust it — the transition table is the FSM's, every transition has its audit
action, the flow routes the kind it names, and its pages and steps resolve."""

import importlib

import pytest
from django.apps import apps

from approvals.models import step_choices
from approvals.steps import _SPECS
from audit import actions as audit_actions
from cases import kinds

CODES = {"initiative", "transfer", "registration", "compensation", "settlement"}
ALL = sorted(kinds.all_kinds(), key=lambda k: k.code)


def test_the_case_types_are_registered():
    assert {k.code for k in ALL} == CODES
    assert dict(kinds.choices()).keys() == CODES


@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.code)
def test_the_registered_table_is_the_apps_own(kind):
    # A module with two case models (compensations) names each model's table on the model.
    table = getattr(kind.model_class, "TRANSITIONS", None)
    if table is None:
        table = importlib.import_module(kind.model_class.__module__).TRANSITIONS
    declared = {(name, frozenset(map(str, sources)), str(target)) for name, sources, target in table}
    registered = {(t.name, frozenset(t.sources), t.target) for t in kind.transitions}
    assert registered == declared


@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.code)
def test_every_transition_has_a_known_audit_action(kind):
    assert set(kind.actions) == {t.name for t in kind.transitions}
    assert all(audit_actions.is_known(str(action)) for action in kind.actions.values())


@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.code)
def test_the_flow_the_pages_and_the_steps_resolve(kind):
    assert kind.flow_class.case_type == kind.code
    assert kind.detail_url(1) is not None
    assert kinds.for_model(kind.model_class) is kind
    assert apps.get_model(kind.model) is kind.model_class
    known_steps = dict(step_choices())
    own = {step for case_type, step in _SPECS if case_type == kind.code}
    assert own and own <= set(known_steps)
    assert set(kind.flow_stops) <= {
        value for value, _label in kind.model_class._meta.get_field("state").choices
    }
