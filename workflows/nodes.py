"""Flow nodes of our own, built on viewflow's open-source building blocks.

- ``HumanStep``: a viewflow ``View`` task that our services complete (no viewflow form view): it
  knows its step code and the role that works it, and when created copies the case's inbox
  columns (code, beneficiary, amount, scope) and computes its due date in business days.
- ``DynamicSplit``: a parallel split that starts the same node N times (N from the case, e.g. the
  call's number of independent evaluators); a ``Join`` waits for all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.nodes.end import EndActivation
from viewflow.workflow.nodes.join import JoinActivation
from viewflow.workflow.nodes.split import SplitActivation
from viewflow.workflow.nodes.switch import SwitchActivation
from viewflow.workflow.signals import flow_finished, task_finished, task_started
from viewflow.workflow.status import STATUS

from approvals.calendar import add_business_days
from cases.roles import Role

ValueOrCallable = str | int | Callable


def _value(spec, activation):
    return spec(activation) if callable(spec) else spec


def _note_created(activation) -> None:
    from .services import task_created

    task_created(activation.task)


class HumanStep(flow.View):
    def __init__(
        self,
        *,
        step: ValueOrCallable,
        role: ValueOrCallable,
        deadline_days: ValueOrCallable = 5,
        escalation_role: ValueOrCallable = "",
        scope: ValueOrCallable = "none",
        **kwargs,
    ):
        super().__init__(view=None, **kwargs)
        self._step, self._role = step, role
        self._deadline_days, self._escalation_role, self._scope = deadline_days, escalation_role, scope
        self._on_create = _note_created

    def _resolve(self, instance):
        super()._resolve(instance)
        self._step = this.resolve(instance, self._step)
        self._role = this.resolve(instance, self._role)
        self._deadline_days = this.resolve(instance, self._deadline_days)
        self._escalation_role = this.resolve(instance, self._escalation_role)
        self._scope = this.resolve(instance, self._scope)
        self._on_create = _note_created

    def calc_owner(self, activation):
        """viewflow asks each new task's owner just before its first save: we describe the task
        there (inbox columns, due date, and the owner of an applicant step of a case without a
        unit), so a new task is written once. No owner for viewflow to set: it is set here."""
        self._describe_task(activation)
        return None

    def _describe_task(self, activation):
        task, process = activation.task, activation.process
        case = self.flow_class.instance.get_case(process)
        step = _value(self._step, activation)
        info = case.task_context(step)
        days = int(_value(self._deadline_days, activation))
        # The case's department: its own non-working days count for its deadlines.
        due_date = add_business_days(timezone.localdate(), days, department_id=info["department_id"])
        scope = _value(self._scope, activation)
        task.case_type, task.case_id, task.case_code = process.case_type, process.case_id, process.case_code
        task.step = step
        task.role = _value(self._role, activation)
        task.escalation_role = _value(self._escalation_role, activation) or ""
        task.department_id = info["department_id"]
        task.program_id = info["program_id"]
        task.unit_id = info["unit_id"]
        task.scope_department = scope == "department"
        task.scope_program = scope == "program"
        if task.role == Role.APPLICANT and not task.unit_id and info.get("applicant_id"):
            # The case has no unit yet (a new unit's registration): its applicant's steps go to the
            # person who applied, assigned to them (viewflow's ``assign``: owner and status).
            task.owner_id = info["applicant_id"]
            task.status = STATUS.ASSIGNED
            task.assigned = timezone.now()
        task.beneficiary = info["beneficiary"][:200]
        task.amount = info["amount"]
        task.title = info["title"][:200]
        # Due at the end of the business day, La Paz time.
        task.due_at = timezone.make_aware(dt.datetime.combine(due_date, dt.time(23, 59, 59)))


# A gateway and the end of a flow without a savepoint of their own. viewflow wraps each in
# ``transaction.atomic(savepoint=True)`` so that a failure can leave the task in ERROR while the rest
# commits; ours run inside a decision (``approvals.services.complete_task``) or a direct exit
# (``workflows.services.transition``), which rolls back whole on any error — no task is ever left in
# ERROR — so the savepoint was two statements per node that bought nothing.


def _unsaved_task(flow_task, prev_activation, token, data=None, seed=None):
    """A new gateway task of ``flow_task``, not yet written (see ``_WrittenOnce``)."""
    task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token)
    task.data = data if data is not None else {}
    task.seed = seed
    return task


class _WrittenOnce:
    """A gateway that is created, decided and completed in one go (a switch, a split): its row is
    written once, DONE — an INSERT and its link to the previous task — not created NEW and updated
    DONE (viewflow's ``create`` then ``complete``: one more UPDATE per gateway). Its ``complete``
    calls ``_write_done``."""

    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        activation = cls(_unsaved_task(flow_task, prev_activation, token, data, seed))
        activation._previous_task = prev_activation.task
        return activation

    def _write_done(self):
        self.task.finished = timezone.now()
        self.task.save()
        if (previous := getattr(self, "_previous_task", None)) is not None:
            self.task.previous.add(previous)
        task_finished.send(sender=self.flow_class, process=self.process, task=self.task)

    # viewflow keeps activations in sets, hashed by their task: an unsaved one by its identity.
    def __hash__(self):
        return hash(self.task) if self.task.pk is not None else id(self)

    def __eq__(self, other):
        return self is other if self.task.pk is None else super().__eq__(other)


class _SwitchActivation(_WrittenOnce, SwitchActivation):
    @Activation.status.super()
    def complete(self):
        self._write_done()

    @Activation.status.super()
    def activate(self):
        with self.exception_guard():
            for node, cond in self.flow_task._branches:
                if cond is None or cond(self):  # a Default branch has no condition
                    self.next_task = node
                    break
            if not self.next_task:
                raise FlowRuntimeError(f"No next task available for {self.flow_task.name}")


class Switch(flow.Switch):
    """viewflow's ``Switch`` (the first branch whose condition holds), without its savepoint."""

    activation_class = _SwitchActivation


class _EndActivation(EndActivation):
    @Activation.status.super()
    def activate(self):
        with self.exception_guard():
            self.task.started = timezone.now()
            task_started.send(sender=self.flow_class, process=self.process, task=self.task)
            task_class = self.flow_class.task_class
            others = task_class._default_manager.filter(process=self.process, finished__isnull=True)
            finished = not others.exclude(pk=self.task.pk).exists()
            if finished:
                self.process.status = STATUS.DONE
                self.process.finished = timezone.now()
                self.process.save()
            task_finished.send(sender=self.flow_class, process=self.process, task=self.task)
            if finished:
                flow_finished.send(sender=self.flow_class, process=self.process, task=self.task)


class _JoinActivation(JoinActivation):
    """viewflow's ``JoinActivation`` with fewer statements, same decisions: the join task found is
    given the process in hand (viewflow read it again), whether the incoming paths are done is read
    once per activation (viewflow asks it in ``can_proceed``, again in the transition's condition
    and once more in ``complete``: four reads each time), and no savepoint of its own (see above)."""

    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        flow_class = flow_task.flow_class
        tasks = list(
            flow_class.task_class._default_manager.filter(
                flow_task=flow_task, process=prev_activation.process, status__in=[STATUS.NEW, STATUS.STARTED]
            )[:2]
        )
        if len(tasks) > 1:
            raise FlowRuntimeError("More than one join instance for process found")
        if tasks:
            task = tasks[0]
            task.process = prev_activation.process
        else:
            if token.is_split_token():
                token = token.get_base_split_token()
            task = _unsaved_task(flow_task, prev_activation, token, data, seed)
            task.save()
        task.previous.add(prev_activation.task)
        return cls(task)

    def _join_token_prefixes(self):
        prefixes = self.__dict__.get("_prefixes")
        if prefixes is None:
            prefixes = self._prefixes = super()._join_token_prefixes()
        return prefixes

    def is_done(self):
        done = self.__dict__.get("_done")
        if done is None:
            done = self._done = super().is_done()
        return done

    @Activation.status.super()
    def complete(self):
        with self.exception_guard():
            join_prefixes = self._join_token_prefixes()
            if len(join_prefixes) > 1:
                raise FlowRuntimeError(f"Multiple tokens {join_prefixes} came to join {self.flow_task.name}")
            if join_prefixes and self.flow_task._continue_on_condition:
                active_tasks = self._active_join_tasks(next(iter(join_prefixes)))
                if active_tasks.exists() and self.flow_task._continue_on_condition(self, active_tasks):
                    self.cancel_active_tasks(active_tasks)
            super(JoinActivation, self).complete.original()


class Join(flow.Join):
    """viewflow's ``Join`` (waits for every incoming path), with ``_JoinActivation``."""

    activation_class = _JoinActivation


class End(flow.End):
    """viewflow's ``End`` (finishes the process once no other task is open), without its savepoint."""

    activation_class = _EndActivation


class DynamicSplitActivation(_WrittenOnce, SplitActivation):
    @SplitActivation.status.super()
    def complete(self):
        self._write_done()

    @SplitActivation.status.super()
    def activate(self):
        count = int(self.flow_task._count(self))
        if count < 1:
            raise ValueError("a dynamic split needs at least one branch")
        self.next_tasks = [(self.flow_task._next_node, {"slot": n}) for n in range(1, count + 1)]


class DynamicSplit(flow.Split):
    activation_class = DynamicSplitActivation

    def __init__(self, count: Callable, **kwargs):
        super().__init__(**kwargs)
        self._count = count
        self._next_node = None

    def Next(self, node, case=None):
        self._next_node = node
        return super().Next(node, case)

    def _resolve(self, instance):
        super()._resolve(instance)
        self._count = this.resolve(instance, self._count)
        self._next_node = this.resolve(instance, self._next_node)


class ChainStepMixin:
    """Flow helpers that read the next step of a case's approval chain (a ``PolicyStep``): its code,
    role, scope, deadline and escalation role, for a ``HumanStep`` that runs the whole chain one task
    at a time. The flow defines ``_chain_step(activation)``."""

    def _chain_step(self, activation):  # pragma: no cover - every flow defines it
        raise NotImplementedError

    def chain_step_code(self, activation) -> str:
        return self._chain_step(activation).step

    def chain_step_role(self, activation) -> str:
        return self._chain_step(activation).role

    def chain_step_scope(self, activation) -> str:
        return self._chain_step(activation).scope

    def chain_step_days(self, activation) -> int:
        return self._chain_step(activation).deadline_days

    def chain_step_escalation(self, activation) -> str:
        return self._chain_step(activation).escalation_role


class CaseFlowMixin:
    """What every case flow reads of its case: the process is started with ``start.run(case=...)``
    and linked to the case (type, id, code); nodes and gateways read the case row through ``case``.
    The flow sets ``case_type`` (a registered kind, ``cases.kinds``) and ``case_related``
    (select_related)."""

    case_type: str = ""
    case_related: tuple[str, ...] = ()

    def start_case(self, activation, case=None):
        process = activation.process
        process.case_type = self.case_type
        process.case_id = case.pk
        process.case_code = case.code
        return process

    def get_case(self, process):
        from cases import kinds, memo

        model = kinds.get(self.case_type).model_class
        return memo.remember(
            ("case", self.case_type, process.case_id),
            lambda: model.objects.select_related(*self.case_related).get(pk=process.case_id),
        )

    def case(self, activation):
        return self.get_case(activation.process)

    def state(self, activation) -> str:
        return self.case(activation).state


def state_is(value: str):
    """Gateway condition: the case is in ``value`` (a state of the kind's typed ``TextChoices``)
    after the step's decision."""
    return lambda activation: activation.flow_task.flow_class.instance.state(activation) == value


def ask(question: str):
    """Gateway condition: a yes/no question the flow answers from the case."""
    return lambda activation: bool(getattr(activation.flow_task.flow_class.instance, question)(activation))
