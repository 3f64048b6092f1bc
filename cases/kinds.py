"""The case-kind registry: how the engine knows the case types.

Each case app describes its kind once, in its ``AppConfig.ready``::

    kinds.register(CaseKind(code="transfer", label=_("Transfer"), model="transfers.Transfer", ...))

The engine apps (approvals, workflows, budget, reports, audit) never name a case app: they ask the
registry for the kind of a task, a process or a model (``kinds.get("transfer")``,
``kinds.for_model(obj)``) and use what it registered — its model, its flow, its history, its payment
columns, its program and department paths, its report metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models

from .metrics import FiscalYear, Metric, Reached, Scope

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Transition:
    """One row of a kind's transition table: ``name`` moves a case from ``sources`` to ``target``."""

    name: str
    sources: tuple[str, ...]
    target: str


@dataclass(frozen=True)
class CaseKind:
    """What a case type tells the engine about itself.

    - ``code``: the value stored in tasks, processes and policies (``"initiative"``);
    - ``model``: ``"app_label.Model"`` of the case row; ``code_prefix``: its codes' prefix (``INI``);
    - ``transitions``: the transition table (the FSM's law, in data: name, sources, target);
    - ``flow``: ``"module.Class"`` of its viewflow flow (imported on first use);
    - ``history``: ``history(case, user) -> list`` of audit entries the user may see, oldest first;
    - ``program_path`` / ``department_path``: the ORM paths from the case to its program and
      department (scopes, reports);
    - ``related``: ``select_related`` paths for lists of its cases (inbox pages);
    - ``case_file_template``: the template of the case file beside a task's form;
    - ``detail_url_name``: the URL name of the case page (``reverse(name, args=[pk])``);
    - ``applicant_actions``: audit actions only the applicant unit can take on its case (whoever
      took one never acts as staff on that case: four eyes); ``either_side_actions``: actions staff
      may take too, applicant-side only when taken before the actor held an agency role;
    - ``actions``: transition name -> the audit action its entry is written with;
    - ``on_enter``: state -> exit hooks ``hook(case, actor=...)`` run when a transition enters it,
      before its audit entry (e.g. ``budget.services.release_held`` on every exit that pays nothing);
    - ``flow_stops``: states in which the case's flow has nothing left to route: a direct action
      (not a task decision) that enters one cancels the open tasks;
    - ``not_now`` / ``not_yours``: the 409 and 403 messages of a refused transition (``%(code)s``,
      ``%(state)s``);
    - ``steps``: ``(code, label)`` of the human steps of its own (beyond the engine's ``Step``);
      ``applicant_steps``: which of them the applicant works;
    - ``metrics``: the report figures it contributes (``cases.metrics.Metric``: indicator codes, their
      figures per program for a fiscal year, the cases behind them); ``reports`` adds up the metrics
      of every kind;
    - ``list_for``: ``list_for(user) -> QuerySet`` of the cases the user may open (the kind's own
      scope selector: its case page answers 404 for any other), read by the staff case list
      (``cases.listing``); ``list_columns``: what that list shows and searches beside the code,
      state, program, department and date: ``unit_name``, ``tax_id`` and ``amount``, each an ORM
      path or expression on the case model; ``final_states``: the states in which the case is over
      (the list's "in progress" is every other state);
    - ``applicant_todo``: ``applicant_todo(user) -> list[cases.todo.Todo]``: every action due for
      ``user`` on the applicant side of the kind's cases (its open applicant steps, drafts still
      missing something), each with its deadline, its consequence and a link straight to it; the
      applicant's home gathers every kind's (``cases.todo.for_applicant``);
    - ``applicant_pages``: step -> URL name (taking the case's pk) of the kind's own page where the
      applicant works that step (the initiative's one-page observation answer); the inbox's task
      page sends the applicant there, and "what you must do" links to it.
    - ``reach``: ``reach(year, scope) -> list[cases.metrics.Reached]``: the kind's cases that reached
      their beneficiaries in the fiscal year (a payment or a delivery in it), one row each with their
      women and men and their placement (``cases.reach``), in one query whatever the number of cases;
      the beneficiaries report groups every kind's rows by department, municipality, dairy basin or
      sector. ``None``: the kind reaches nobody in that sense (registrations).
    - ``labels``: ``key -> choices`` of the codes its rows and audit entries store (``"state"``,
      ``"step"``, ``"kind"`` of its documents…), read by ``cases.labels.value_label`` so pages that
      must not import the kind (the audit trail) show words instead of codes.
    """

    code: str
    label: StrOrPromise
    model: str
    code_prefix: str
    transitions: tuple[Transition, ...] = ()
    flow: str = ""
    history: Callable[[Any, Any], list] | None = None
    program_path: str = "program"
    department_path: str = "department"
    related: tuple[str, ...] = ()
    case_file_template: str = ""
    detail_url_name: str = ""
    applicant_actions: tuple[str, ...] = ()
    either_side_actions: tuple[str, ...] = ()
    actions: Mapping[str, str] = field(default_factory=dict)
    on_enter: Mapping[str, tuple[Callable[..., None], ...]] = field(default_factory=dict)
    flow_stops: frozenset[str] = frozenset()
    not_now: StrOrPromise = ""
    not_yours: StrOrPromise = ""
    steps: tuple[tuple[str, StrOrPromise], ...] = ()
    applicant_steps: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    list_for: Callable[[Any], Any] | None = None
    list_columns: Mapping[str, Any] = field(default_factory=dict)
    final_states: frozenset[str] = frozenset()
    applicant_todo: Callable[[Any], list] | None = None
    applicant_pages: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, Any] = field(default_factory=dict)
    reach: Callable[[FiscalYear, Scope], list[Reached]] | None = None

    @property
    def model_class(self) -> Any:
        """The case model (``Any``: each kind's model has its own fields and manager)."""
        return apps.get_model(self.model)

    @property
    def flow_class(self) -> Any:
        from django.utils.module_loading import import_string

        return import_string(self.flow)

    def detail_url(self, pk) -> str | None:
        """The case page of case ``pk`` (``None`` when the kind has none)."""
        from django.urls import NoReverseMatch, reverse

        if not self.detail_url_name:
            return None
        try:
            return reverse(self.detail_url_name, args=[pk])
        except NoReverseMatch:
            return None

    def applicant_page(self, step: str, pk) -> str | None:
        """The kind's own page for the applicant's ``step`` on case ``pk`` (``None``: the inbox's)."""
        from django.urls import reverse

        name = self.applicant_pages.get(step)
        return reverse(name, args=[pk]) if name else None

    def history_for(self, case, user) -> list:
        return self.history(case, user) if self.history is not None else []


_KINDS: dict[str, CaseKind] = {}


def register(kind: CaseKind) -> CaseKind:
    """Register a kind (once per code; registering the same description again is harmless)."""
    known = _KINDS.get(kind.code)
    if known is not None and known != kind:
        raise ValueError(f"case kind {kind.code!r} registered twice")
    _KINDS[kind.code] = kind
    return kind


def get(code: str) -> CaseKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise LookupError(f"no case kind {code!r} is registered") from None


def all_kinds() -> Iterator[CaseKind]:
    return iter(sorted(_KINDS.values(), key=lambda k: k.code))


def for_model(obj_or_model: models.Model | type[models.Model]) -> CaseKind:
    """The kind whose case model ``obj_or_model`` is (an instance or a class)."""
    model: type[models.Model] = obj_or_model if isinstance(obj_or_model, type) else type(obj_or_model)
    label = model._meta.label
    for kind in _KINDS.values():
        if kind.model == label:
            return kind
    raise LookupError(f"{label} is not a registered case model")


def for_label(label: str) -> CaseKind | None:
    """The kind whose case model is ``"app_label.Model"`` (any letter case), or ``None``."""
    for kind in _KINDS.values():
        if kind.model.lower() == label.lower():
            return kind
    return None


def choices() -> list[tuple[str, StrOrPromise]]:
    """``(code, label)`` of every registered kind (for a field's ``choices``)."""
    return [(k.code, k.label) for k in all_kinds()]


def transitions_of(fsm_model, field_name: str = "state") -> tuple[Transition, ...]:
    """The transition table of a django-fsm model, read from its declared transitions, so the table a
    kind registers is the FSM's own (never a second copy to keep in step)."""
    fsm_field = fsm_model._meta.get_field(field_name)
    rows: dict[str, tuple[list[str], str]] = {}
    for t in fsm_field.get_all_transitions(fsm_model):
        sources, _target = rows.setdefault(t.name, ([], str(t.target)))
        if t.source not in sources:
            sources.append(str(t.source))
    return tuple(Transition(name, tuple(src), target) for name, (src, target) in rows.items())
