"""``python manage.py run_embedded [addrport]`` — ``runserver`` plus the periodic jobs (signed audit
checkpoints, deadlines, escalations, reminders, the outbox relay) in-process, on beat's schedule,
without cron or ``celery beat`` (``expediente.embedded``). The Makefile's ``run`` uses it.

The scheduler starts in the process that serves requests (``inner_run``): under the autoreloader that
is the reloaded child, not the parent that watches the files, so the jobs run once. With a broker
configured it does not start (beat's job), and the server runs as plain ``runserver``.
"""

# staticfiles' runserver, not core's: it serves the CSS and icons (DEBUG, as in ``make run``); core's
# serves none, and every page of the embedded start came unstyled.
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from expediente import embedded


class Command(RunserverCommand):
    help = "runserver, plus the periodic jobs of CELERY_BEAT_SCHEDULE in-process (the embedded start)."

    def inner_run(self, *args, **options):
        if embedded.start() is not None:
            self.stdout.write(
                "Periodic jobs (checkpoints, deadlines, reminders, outbox relay) run in this process."
            )
        return super().inner_run(*args, **options)
