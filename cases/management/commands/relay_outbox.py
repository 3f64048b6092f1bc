"""``python manage.py relay_outbox``: hand the outbox's rows to Celery, in a loop (a production
process beside the web and the workers; see ``cases.outbox``). ``--once``: one pass, then exit."""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cases import outbox


class Command(BaseCommand):
    help = "Publish the outbox's pending rows to the broker (a loop; --once for one pass)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between idle passes.")

    def handle(self, *args, once=False, interval=0.5, **options):
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
        passes = 0
        while True:
            sent = 0
            try:
                sent = outbox.relay()
                passes += 1
                if passes % 7200 == 0:  # about once an hour when idle
                    outbox.purge_done()
            except Exception as exc:  # the database away: say so, wait, try again
                self.stderr.write(f"outbox relay: {exc}")
                close_old_connections()
            if once:
                self.stdout.write(f"sent {sent}, pending {outbox.pending()}")
                return
            if stop:
                return
            if not sent:
                time.sleep(interval)
