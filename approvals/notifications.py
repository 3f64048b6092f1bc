"""Notifications: who is told about what, in the app and by e-mail, once per event.

Who is told (the rule, kept small on purpose so that nobody is flooded):

- A task held by someone (assigned): that person, plus the colleagues who hold its inbox for the
  task's role by an active delegation.
- An unassigned staff task: the users who could claim it themselves (role, department and program
  scope, not a member of the applicant unit, four eyes — ``approvals.services.refusal_reason``), plus
  their active delegates. When more than ``NOTIFY_QUEUE_MAX_RECIPIENTS`` people could claim it, nobody
  is told personally: the task waits in the role's queue of the inbox (ordered by due date), and the
  escalation job reaches the escalation role if it becomes overdue. Who could claim it is one SQL
  query over users (``approvals.selectors.eligible_users``, the inbox's rules seen from the task),
  counted exactly up to the cap plus one, and their delegates one more: the cost does not grow with
  the staff.
- A task of the applicant (answer observations, progress or final report): the active members of
  the applicant unit (same cap).
- A decision that changes the case's state: the applicant unit's members (unless the same decision
  created a task for them, whose own notification already says so).
- An escalation: the escalation role's active users whose department/program scope covers the case
  (same cap), and whoever holds the task. The escalation role may then reassign it
  (``approvals.services.reassign_task``): the new holder and the previous one are told.
- A delegation: the delegate.

Once per event: ``(user, event_key)`` is unique (``Notification``). Inserting is insert-or-skip, so a
retried or duplicated Celery message, or two job runs at once, never create a second row.

E-mail and the crash window: a row owes an e-mail while ``email_wanted`` and ``emailed_at`` is null.
``deliver_email`` locks the row (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers), re-checks ``emailed_at``, hands the message to the mail server and
sets ``emailed_at`` in the same transaction. Two workers therefore never both send it. The one window
left is a crash (or a lost database connection) after the mail server accepted the message and before
the commit: the row still owes its e-mail and the retry sends it again, so a person may, rarely, get
the same e-mail twice — never a second in-app row. Marking before sending would instead risk losing
the e-mail for good; we prefer a rare duplicate, and give every message a Message-ID derived from
the event so mail clients can fold duplicates. E-mails that still fail after Celery's retries are
sent by the periodic ``approvals.send_pending_emails`` sweep (for up to ``NOTIFY_EMAIL_MAX_AGE_DAYS``).

Enqueueing is a row of the transactional outbox (``cases.outbox``), written in the decision's own
transaction: a rolled-back decision notifies nobody, a committed one always gets its notifications,
and the decision never waits for the broker — the relay publishes the row after the commit, and
again until the broker takes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from viewflow.workflow.status import STATUS

from cases import outbox
from cases.roles import Role

from . import sod
from .models import Delegation, Notification, Step, step_label

logger = logging.getLogger(__name__)

K = Notification.Kind
OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED)


def _cap() -> int:
    return int(getattr(settings, "NOTIFY_QUEUE_MAX_RECIPIENTS", 20))


# --- hooks called by the services, inside their transaction -----------------------------------------


def _enqueue(task_name: str, **kwargs) -> None:
    """Owe Celery task ``approvals.<task_name>``: a row of the transactional outbox, written in the
    caller's transaction (``cases.outbox``); the relay hands it to the broker after the commit."""
    outbox.post(f"approvals.{task_name}", **kwargs)


def after_decision(task, case, *, from_state: str, new_tasks: Iterable) -> None:
    """Called by ``complete_task`` once the decision is recorded: notify the new tasks' people and
    the applicant about a new state, after commit. ``new_tasks``: the human tasks the decision
    created (``workflows.services.created_tasks``), those still open."""
    new_ids = sorted(t.pk for t in new_tasks if t.status in OPEN_STATUSES)
    _enqueue(
        "notify_decision",
        decided_task_id=task.pk,
        new_task_ids=new_ids,
        from_state=from_state or "",
        to_state=getattr(case, "state", "") or "",
    )


def after_case_started(case_type: str, case_id: int) -> None:
    """Called when a case's process starts (submission): notify whoever must take its first task."""
    from workflows.models import CaseTask

    ids = list(
        CaseTask.objects.filter(case_type=case_type, case_id=case_id, status__in=OPEN_STATUSES)
        .exclude(step="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        _enqueue("notify_new_tasks", task_ids=ids)


def after_delegation(delegation: Delegation) -> None:
    _enqueue("notify_delegation", delegation_id=delegation.pk)


def after_reminder(task_id: int) -> None:
    _enqueue("notify_reminder", task_id=task_id)


def after_escalation(task_id: int) -> None:
    _enqueue("notify_escalation", task_id=task_id)


def after_reassignment(task_id: int, *, previous_holder_id: int | None, version: int) -> None:
    """Called by ``reassign_task``: tell the new holder (and the previous one), after commit."""
    _enqueue("notify_reassignment", task_id=task_id, previous_holder_id=previous_holder_id, version=version)


# --- who ---------------------------------------------------------------------------------------------


def _users():
    from django.contrib.auth import get_user_model

    return get_user_model().objects


def _unique(users: Iterable) -> list:
    seen, out = set(), []
    for user in users:
        if user is not None and user.pk not in seen and user.is_active:
            seen.add(user.pk)
            out.append(user)
    return out


def delegates_of(user, role: str, *, on: dt.date | None = None) -> list:
    """Colleagues who hold ``user``'s inbox for ``role`` today."""
    return delegates_of_all([user], role, on=on)


def delegates_of_all(users: Iterable, role: str, *, on: dt.date | None = None) -> list:
    """``delegates_of`` each of ``users``, in their order, in ONE query: the colleagues who hold their
    inbox for ``role`` today (a delegation within its dates, not revoked) and are active and still
    hold the role (``services.active_delegations``' rules for the delegate)."""
    ids = [u.pk for u in users]
    if not ids:
        return []
    on = on or timezone.localdate()
    rows = Delegation.objects.filter(
        delegator__in=ids,
        role=role,
        starts_on__lte=on,
        ends_on__gte=on,
        revoked_at__isnull=True,
        delegate__is_active=True,
        delegate__groups__name=role,  # ``has_role``: one group per role
    ).select_related("delegate")
    position = {pk: n for n, pk in enumerate(ids)}
    found = sorted(rows.order_by("pk"), key=lambda d: position[d.delegator_id])
    return [d.delegate for d in found]


def holders_of(task) -> list:
    """Who holds an assigned task: its owner and the owner's delegates for the task's role."""
    if not task.owner_id:
        return []
    owner = task.owner
    extra = delegates_of(owner, task.role) if task.role != Role.APPLICANT else []
    return _unique([owner, *extra])


def unit_members(unit_id: int | None) -> list:
    if not unit_id:
        return []
    members = list(
        _users()
        .filter(is_active=True, unit_id=unit_id, groups__name=Role.APPLICANT)
        .distinct()
        .order_by("pk")[: _cap() + 1]
    )
    return [] if len(members) > _cap() else members


def claimers_of(task) -> list:
    """Who could claim an unassigned staff task (and their delegates); [] when the queue is large.
    Two queries whatever the staff: who may work it (``selectors.eligible_users``, at most one more
    than the cap) and their delegates."""
    from .selectors import eligible_users

    cap = _cap()
    eligible = list(eligible_users(task)[: cap + 1])
    if len(eligible) > cap:
        return []
    return _unique([*eligible, *delegates_of_all(eligible, task.role)])


def task_audience(task) -> list:
    """Who must act on ``task`` (see the module's rules)."""
    if task.role == Role.APPLICANT:  # the whole unit's, whoever viewflow lists as its owner
        if not task.unit_id and task.owner_id:  # no unit yet: the applicant in person
            return [task.owner] if task.owner.is_active else []
        return unit_members(task.unit_id)
    if task.owner_id:
        return holders_of(task)
    return claimers_of(task)


def escalation_audience(task) -> list:
    """The escalation role's active users, not of the applicant unit and never on the case's
    applicant side, whose department and program scopes cover the task's case (capped), in ONE
    query whatever the staff."""
    from budget.selectors import users_in_program_scope
    from registry.selectors import users_in_department_scope

    if not task.escalation_role:
        return []
    cap = _cap()
    users = _users().filter(is_active=True, groups__name=task.escalation_role)  # one group per role
    if task.unit_id:
        users = users.exclude(unit_id=task.unit_id)
    users = users.filter(users_in_department_scope(task.department_id))
    users = users.filter(users_in_program_scope(task.program_id))
    # Never someone who acted for the applicant on the case: they could not reassign it either
    # (``services.reassign_refusal``), so they are not told that it is theirs to reassign.
    applicant_side = sod.acted_as_applicant_users_q(task.case_code)
    if applicant_side is not None:
        users = users.exclude(applicant_side)
    found = list(users.order_by("pk")[: cap + 1])
    return [] if len(found) > cap else found


# --- what --------------------------------------------------------------------------------------------


def _date(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return value.strftime("%d/%m/%Y")


def _step_label(task) -> str:
    return step_label(task.step)


def task_url(task) -> str:
    """Where a person acts on a task: its page in the inbox (or the case's page for applicants)."""
    if task.role == Role.APPLICANT:
        from cases import kinds

        return kinds.get(task.case_type).applicant_page(task.step, task.case_id) or task.case_url
    from django.urls import NoReverseMatch, reverse

    for name in ("approvals:task-detail", "task-detail", "approvals:task_detail", "task_detail"):
        try:
            return reverse(name, args=[task.pk])
        except NoReverseMatch:
            continue
    return "/tasks/"


def _truncate(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notify(
    users: Iterable,
    *,
    event_key: str,
    kind: str,
    message: str,
    url: str = "",
    case_code: str = "",
    email: bool = True,
    digest: bool = False,
) -> int:
    """Record ``message`` for each of ``users`` once (insert-or-skip on ``(user, event_key)``) and
    e-mail the rows that still owe one. Returns how many e-mails were sent now. Raises the first
    e-mail failure after trying all of them (Celery retries; rows already e-mailed are skipped).

    ``digest``: the rows wait for the person's periodic digest (``send_digests``), one e-mail for
    all of them, instead of one e-mail each now."""
    users = _unique(users)
    if not users:
        return 0
    rows = [
        Notification(
            user=user,
            event_key=event_key[:120],
            kind=kind,
            message=_truncate(message),
            url=url[:300],
            case_code=case_code[:32],
            email_wanted=bool(email and user.email),
            digest=digest,
        )
        for user in users
    ]
    with transaction.atomic():
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    pending = list(
        Notification.objects.filter(
            event_key=event_key[:120],
            user__in=[u.pk for u in users],
            email_wanted=True,
            emailed_at__isnull=True,
            digest=False,
        ).values_list("pk", flat=True)
    )
    return _deliver_all(pending)


def _deliver_all(pks: Iterable[int]) -> int:
    sent, failure = 0, None
    for pk in pks:
        try:
            sent += int(deliver_email(pk))
        except Exception as exc:  # one bad address or a mail server hiccup must not stop the others
            logger.warning("notification %s: e-mail failed: %s", pk, exc)
            failure = failure or exc
    if failure is not None:
        raise failure
    return sent


def _message_id(notification: Notification) -> str:
    digest = hashlib.sha256(f"{notification.user_id}:{notification.event_key}".encode()).hexdigest()[:32]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "expediente"
    return f"<notification.{digest}@{domain}>"


def deliver_email(pk: int) -> bool:
    """E-mail one notification if it still owes one (see the module docstring for the guarantees)."""
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, email_wanted=True, emailed_at__isnull=True, digest=False)
            .first()
        )
        if row is None:
            return False  # already e-mailed, not wanted, or being e-mailed right now by another worker
        user = row.user
        if not user.email:
            Notification.objects.filter(pk=row.pk).update(email_wanted=False)
            return False
        base = settings.SITE_URL.rstrip("/")
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("[Expediente] %(kind)s") % {"kind": row.get_kind_display()}
            if row.case_code:
                subject += f" · {row.case_code}"
            body = row.message
            if row.url:
                body += "\n\n" + _("Open it here: %(url)s") % {"url": base + row.url}
            body += "\n\n— " + _("Expediente, PRO-BOLIVIA. This is an automatic message.")
        EmailMessage(subject, body, None, [user.email], headers={"Message-ID": _message_id(row)}).send()
        row.emailed_at = timezone.now()
        row.save(update_fields=["emailed_at"])
    return True


def send_pending_emails(*, max_age_days: int | None = None) -> int:
    """E-mail the notifications that still owe one (Celery retries exhausted, broker down…)."""
    days = (
        max_age_days if max_age_days is not None else int(getattr(settings, "NOTIFY_EMAIL_MAX_AGE_DAYS", 7))
    )
    since = timezone.now() - dt.timedelta(days=days)
    pks = list(
        Notification.objects.filter(
            email_wanted=True, emailed_at__isnull=True, digest=False, created_at__gte=since
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    return _deliver_all(pks)


# --- events (run by the Celery tasks in ``approvals.tasks``) -----------------------------------------


def _open_tasks(ids: Iterable[int]):
    from workflows.models import CaseTask

    return (
        CaseTask.objects.filter(pk__in=list(ids), status__in=OPEN_STATUSES)
        .exclude(step="")
        .select_related("owner")
        .order_by("pk")
    )


def notify_new_tasks(task_ids: Iterable[int]) -> int:
    """Tell whoever must act on each new task. Returns the number of e-mails sent."""
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for task in _open_tasks(task_ids):
            params = {
                "step": _step_label(task),
                "code": task.case_code,
                "title": task.title,
                "due": _date(task.due_at),
            }
            if task.role == Role.APPLICANT:
                kind = K.CASE_WAITING
                message = _("Case %(code)s awaits you: %(step)s, by %(due)s.") % params
                observation = _observation_of(task)
                if observation:
                    message += " " + _("Observations: %(text)s") % {"text": observation}
            else:
                kind = K.TASK_NEW
                message = _("New task: %(step)s of case %(code)s (%(title)s), due %(due)s.") % params
            sent += notify(
                task_audience(task),
                event_key=new_task_event(task.pk),
                kind=kind,
                message=message,
                url=task_url(task),
                case_code=task.case_code,
                # Staff get one e-mail per period for all their new tasks (``send_digests``); the
                # applicant's own step and its deadline, at once.
                digest=kind == K.TASK_NEW and digest_on(),
            )
    return sent


def _observation_of(task) -> str:
    if task.step != Step.ANSWER_OBSERVATION:
        return ""
    from .services import case_of

    try:
        return (getattr(case_of(task), "observation", "") or "").strip()
    except Exception:  # a missing case must not stop the notification
        return ""


def notify_decision(decided_task_id: int, new_task_ids: Iterable[int], from_state: str, to_state: str) -> int:
    """After a decision: the new tasks' people, and the applicant unit about a new state."""
    from workflows.models import CaseTask

    new_task_ids = list(new_task_ids)
    sent = notify_new_tasks(new_task_ids)
    if not to_state or to_state == from_state:
        return sent
    decided = CaseTask.objects.filter(pk=decided_task_id).first()
    if decided is None or not decided.unit_id:
        return sent
    if CaseTask.objects.filter(pk__in=new_task_ids, role=Role.APPLICANT).exists():
        return sent  # the applicant's new task already tells them
    from .services import case_of

    case = case_of(decided)
    with translation.override(settings.LANGUAGE_CODE):
        label = case.get_state_display() if hasattr(case, "get_state_display") else to_state
        message = _("Case %(code)s is now: %(state)s.") % {"code": decided.case_code, "state": label}
        sent += notify(
            unit_members(decided.unit_id),
            event_key=f"task:{decided.pk}:state:{to_state}",
            kind=K.CASE_STATE,
            message=message,
            url=decided.case_url,
            case_code=decided.case_code,
        )
    return sent


def notify_reminder(task_id: int) -> int:
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for task in _open_tasks([task_id]):
            message = _("Reminder: %(step)s of case %(code)s is due on %(due)s.") % {
                "step": _step_label(task),
                "code": task.case_code,
                "due": _date(task.due_at),
            }
            sent += notify(
                task_audience(task),
                event_key=f"task:{task.pk}:reminder",
                kind=K.REMINDER,
                message=message,
                url=task_url(task),
                case_code=task.case_code,
            )
    return sent


def notify_escalation(task_id: int) -> int:
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for task in _open_tasks([task_id]):
            params = {
                "step": _step_label(task),
                "code": task.case_code,
                "due": _date(task.due_at),
                "role": Role(task.escalation_role).label if task.escalation_role else "—",
                "holder": task.owner.get_username() if task.owner_id else _("nobody (unclaimed)"),
            }
            key = f"task:{task.pk}:escalated"
            sent += notify(
                escalation_audience(task),
                event_key=key,
                kind=K.ESCALATION,
                message=_("Overdue: %(step)s of case %(code)s was due on %(due)s (held by %(holder)s).")
                % params,
                url=task_url(task),  # the task page, where the escalation role may reassign it
                case_code=task.case_code,
            )
            sent += notify(
                holders_of(task),
                event_key=key,
                kind=K.ESCALATION,
                message=_(
                    "Your task %(step)s of case %(code)s is overdue (due %(due)s) and was escalated "
                    "to %(role)s."
                )
                % params,
                url=task_url(task),
                case_code=task.case_code,
            )
    return sent


def notify_reassignment(task_id: int, previous_holder_id: int | None, version: int) -> int:
    """After ``reassign_task``: the new holder (and its delegates) and the previous holder, once
    per reassignment (the event key carries the task's version)."""
    sent = 0
    key = f"task:{task_id}:reassigned:{version}"
    with translation.override(settings.LANGUAGE_CODE):
        for task in _open_tasks([task_id]):
            if not task.owner_id:
                continue
            params = {
                "step": _step_label(task),
                "code": task.case_code,
                "title": task.title,
                "due": _date(task.due_at),
                "name": task.owner.get_full_name() or task.owner.get_username(),
            }
            sent += notify(
                holders_of(task),
                event_key=key,
                kind=K.TASK_NEW,
                message=_(
                    "The overdue task %(step)s of case %(code)s (%(title)s) was reassigned to you; it was "
                    "due on %(due)s."
                )
                % params,
                url=task_url(task),
                case_code=task.case_code,
            )
            if previous_holder_id and previous_holder_id != task.owner_id:
                previous = _users().filter(pk=previous_holder_id).first()
                sent += notify(
                    [previous],
                    event_key=key,
                    kind=K.ESCALATION,
                    message=_("Your overdue task %(step)s of case %(code)s was reassigned to %(name)s.")
                    % params,
                    url=task.case_url,
                    case_code=task.case_code,
                )
    return sent


def notify_delegation(delegation_id: int) -> int:
    delegation = Delegation.objects.select_related("delegator", "delegate").filter(pk=delegation_id).first()
    if delegation is None or delegation.revoked_at is not None:
        return 0
    who = delegation.delegator
    with translation.override(settings.LANGUAGE_CODE):
        message = _("%(name)s delegated their %(role)s inbox to you from %(from)s to %(until)s.") % {
            "name": who.get_full_name() or who.get_username(),
            "role": delegation.get_role_display(),
            "from": _date(delegation.starts_on),
            "until": _date(delegation.ends_on),
        }
        from django.urls import NoReverseMatch, reverse

        try:
            url = reverse("delegation-list")
        except NoReverseMatch:
            url = ""
        return notify(
            [delegation.delegate],
            event_key=f"delegation:{delegation.pk}:created",
            kind=K.DELEGATION,
            message=message,
            url=url,
        )


def after_payment(
    *, case_type: str, case_id: int, case_code: str, unit_id: int, number: int, amount, reference: str = ""
) -> None:
    """Called when a payment is confirmed paid (an initiative's tranche ``number``, a transfer's one
    payment), in the confirmation's transaction: tell the applicant unit ``unit_id``, after commit."""
    _enqueue(
        "notify_payment",
        case_type=case_type,
        case_id=case_id,
        case_code=case_code,
        unit_id=unit_id,
        number=int(number),
        amount=str(amount),
        reference=reference or "",
    )


def notify_payment(
    case_type: str, case_id: int, case_code: str, unit_id: int, number: int, amount: str, reference: str = ""
) -> int:
    """The applicant unit is told that a payment was made: the tranche number and the amount in
    Bolivian format, at once (it is the applicant's own money, not a task to digest)."""
    from cases import kinds
    from cases.templatetags.expediente_tags import bs

    with translation.override(settings.LANGUAGE_CODE):
        message = _("Tranche %(number)s of case %(code)s was paid: %(amount)s (reference %(reference)s).") % {
            "number": number,
            "code": case_code,
            "amount": bs(amount),
            "reference": reference or "—",
        }
        return notify(
            unit_members(unit_id),
            event_key=f"{case_type}:{case_id}:paid:{number}",
            kind=K.PAYMENT,
            message=message,
            url=kinds.get(case_type).detail_url(case_id) or "",
            case_code=case_code,
        )


def digest_on() -> bool:
    """Whether staff's new tasks wait for the digest (``NOTIFY_DIGEST_MINUTES`` > 0); 0 e-mails each
    new task on its own, at once."""
    return int(getattr(settings, "NOTIFY_DIGEST_MINUTES", 60)) > 0


def _digest_owed():
    return Notification.objects.filter(digest=True, email_wanted=True, emailed_at__isnull=True)


def send_digests() -> int:
    """One e-mail per person for every new task since their last digest (run periodically: celery
    beat and the embedded scheduler, ``NOTIFY_DIGEST_MINUTES``). Returns how many e-mails were sent.

    Each person's rows are locked (``SKIP LOCKED``: two runs never send the same rows), e-mailed in
    one message and marked in the same transaction, as ``deliver_email`` does for one row (the same
    crash window: a rare duplicate, never a lost digest)."""
    since = timezone.now() - dt.timedelta(days=int(getattr(settings, "NOTIFY_EMAIL_MAX_AGE_DAYS", 7)))
    users = list(_digest_owed().filter(created_at__gte=since).values_list("user", flat=True).distinct())
    sent, failure = 0, None
    for user_id in sorted(set(users)):
        try:
            sent += int(_send_digest(user_id, since))
        except Exception as exc:  # one bad address must not stop the others; the next run retries
            logger.warning("digest for user %s failed: %s", user_id, exc)
            failure = failure or exc
    if failure is not None and not sent:
        raise failure
    return sent


def _send_digest(user_id: int, since: dt.datetime) -> bool:
    with transaction.atomic():
        rows = list(
            _digest_owed()
            .select_for_update(skip_locked=True)
            .filter(user_id=user_id, created_at__gte=since)
            .select_related("user")
            .order_by("created_at", "pk")[:200]
        )
        if not rows:
            return False
        user = rows[0].user
        ids = [r.pk for r in rows]
        if not user.email or not user.is_active:
            Notification.objects.filter(pk__in=ids).update(email_wanted=False)
            return False
        base = settings.SITE_URL.rstrip("/")
        with translation.override(settings.LANGUAGE_CODE):
            count = len(rows)
            subject = _("[Expediente] %(n)s new task") if count == 1 else _("[Expediente] %(n)s new tasks")
            subject = subject % {"n": count}
            lines = [_("New tasks for you since the last summary:"), ""]
            for row in rows:
                lines.append(f"- {row.message}")
                if row.url:
                    lines.append(f"  {base}{row.url}")
            lines += ["", _("Your inbox: %(url)s") % {"url": base + str(_inbox_path())}]
            lines += ["", "— " + _("Expediente, PRO-BOLIVIA. This is an automatic message.")]
        digest_key = hashlib.sha256(f"{user_id}:digest:{ids[0]}:{ids[-1]}".encode()).hexdigest()[:32]
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "expediente"
        EmailMessage(
            subject,
            "\n".join(lines),
            None,
            [user.email],
            headers={"Message-ID": f"<digest.{digest_key}@{domain}>"},
        ).send()
        Notification.objects.filter(pk__in=ids).update(emailed_at=timezone.now())
    return True


def _inbox_path() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("task-inbox")
    except NoReverseMatch:
        return "/tasks/"


# --- reading -----------------------------------------------------------------------------------------


def new_task_event(task_id: int) -> str:
    """The event key of the "new task" notifications of one task."""
    return f"task:{task_id}:new"


def settle_new_task(task_id: int, *, holder_id: int | None) -> int:
    """A colleague took (or decided) the task: its "new task" notifications to everyone else are no
    longer news — they stop showing as «Nueva» and stop counting as unread (same transaction as
    the claim). The holder's own stays as it was."""
    qs = Notification.objects.filter(event_key=new_task_event(task_id), read_at__isnull=True)
    if holder_id is not None:
        qs = qs.exclude(user_id=holder_id)
    return qs.update(read_at=timezone.now())


def notification_list_for(user):
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(*, actor, notification_id: int | None = None) -> int:
    """Mark one of the actor's notifications (or all of them) as read. Returns how many changed.

    Read receipts are the reader's own interface state, not a decision on a case: not audited."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
