"""The periodic jobs in the embedded start (``make run``: runserver on SQLite, no broker, Celery tasks
in-process), without cron or ``celery beat``.

``Scheduler`` runs the jobs of ``settings.CELERY_BEAT_SCHEDULE`` — the same task functions, on the
same intervals and crontabs as beat — in-process: signed audit checkpoints, deadlines, escalations,
reminders, the outbox relay, lapsed registrations. Every job runs once at start-up (a laptop is
rarely on at 00:15 or 08:00, and every job is idempotent), then when its schedule says. Each job runs
in its own ``try``/``except``: a failure is logged and the next tick carries on.

``start()`` starts one daemon thread per process that ticks every second. ``manage.py run_embedded``
(the Makefile's ``run``) calls it in the process that serves requests — under runserver's
autoreloader that is the child, never the watching parent, so the jobs never run twice. It is never
started by tests, and refuses when a broker is configured (production: beat runs the jobs).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from celery.schedules import BaseSchedule, maybe_schedule
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
START_DELAY_SECONDS = 2.0


def run_task(name: str) -> object:
    """Run the registered Celery task ``name`` here and now (its apps' modules imported on need)."""
    from celery import current_app

    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name].apply(throw=True).get()


class Scheduler:
    """The beat schedule, run in this process. ``tick(now)`` runs the jobs that are due at ``now``."""

    def __init__(
        self,
        schedule: dict | None = None,
        *,
        run: Callable[[str], object] = run_task,
        clock: Callable[[], dt.datetime] = timezone.now,
    ):
        schedule = settings.CELERY_BEAT_SCHEDULE if schedule is None else schedule
        self.run, self.clock = run, clock
        self.entries: dict[str, tuple[str, BaseSchedule]] = {
            name: (entry["task"], maybe_schedule(entry["schedule"])) for name, entry in schedule.items()
        }
        self.last_run: dict[str, dt.datetime | None] = dict.fromkeys(self.entries)

    def due(self, name: str, now: dt.datetime) -> bool:
        last = self.last_run[name]
        if last is None:
            return True  # once at start-up
        _task, schedule = self.entries[name]
        schedule.nowfun = lambda: now  # the schedule's own rules (interval or crontab), on our clock
        return bool(schedule.is_due(last).is_due)

    def tick(self, now: dt.datetime | None = None) -> list[str]:
        """Run every job due at ``now`` (default: the clock); returns the names of those run (also
        the ones that failed, which are logged)."""
        now = now or self.clock()
        ran = []
        for name, (task, _schedule) in self.entries.items():
            if not self.due(name, now):
                continue
            self.last_run[name] = now
            ran.append(name)
            started = time.monotonic()
            try:
                result = self.run(task)
            except Exception:
                logger.exception("embedded scheduler: %s (%s) failed", name, task)
            else:
                took_ms = (time.monotonic() - started) * 1000
                logger.info("embedded scheduler: %s -> %r (%.0f ms)", name, result, took_ms)
        return ran


_lock = threading.Lock()
_thread: threading.Thread | None = None


def start(
    *, tick_seconds: float = TICK_SECONDS, delay: float = START_DELAY_SECONDS
) -> threading.Thread | None:
    """Start the scheduler's thread in this process, once. ``None`` when a broker is configured (the
    jobs are beat's then) or when it already runs."""
    from celery import current_app

    global _thread
    if not current_app.conf.task_always_eager:
        logger.warning("embedded scheduler: not started, a broker is configured (celery beat runs the jobs)")
        return None
    with _lock:
        if _thread is not None:
            return None
        scheduler = Scheduler()

        def loop() -> None:
            time.sleep(delay)
            while True:
                try:
                    scheduler.tick()
                except Exception:  # never let the thread die
                    logger.exception("embedded scheduler: tick failed")
                finally:
                    close_old_connections()
                    connections.close_all()
                time.sleep(tick_seconds)

        _thread = threading.Thread(target=loop, name="embedded-scheduler", daemon=True)
        _thread.start()
        logger.info("embedded scheduler: started (%s jobs)", len(scheduler.entries))
        return _thread
