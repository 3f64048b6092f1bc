"""``python manage.py run_deadlines [--job …]`` — the periodic deadline jobs, by hand or from cron.

The same services Celery beat runs (``approvals.deadlines``), acting as the system user: viewflow's
timers, expiry of unanswered observations, escalation of overdue tasks, reminders, and the sweep of
e-mails still owed. Idempotent: a second run finds nothing to do.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

JOBS = ("all", "timers", "expiry", "escalation", "reminders", "emails")


class Command(BaseCommand):
    help = "Run the deadline jobs: timers, observation expiry, escalation, reminders, pending e-mails."

    def add_arguments(self, parser):
        parser.add_argument("--job", choices=JOBS, default="all", help="Run only this job (default: all).")

    def handle(self, *args, job: str = "all", **options):
        from approvals import deadlines
        from approvals.notifications import send_pending_emails
        from cases.users import system_user

        actor = system_user()
        counts: dict[str, int] = {}
        if job == "all":
            counts = deadlines.run_deadlines(actor=actor)
        elif job == "timers":
            counts["timers"] = deadlines.fire_timers()
        elif job == "expiry":
            counts["expired"] = len(deadlines.expire_observations(actor=actor))
        elif job == "escalation":
            counts["escalated"] = len(deadlines.escalate_overdue(actor=actor))
        elif job == "reminders":
            counts["reminded"] = len(deadlines.remind_due_tasks(actor=actor))
        elif job == "emails":
            counts["emails"] = send_pending_emails()
        self.stdout.write(" ".join(f"{name}={n}" for name, n in counts.items()))
