"""The Celery application.

Without ``CELERY_BROKER_URL`` (the embedded default) tasks run in-process (eager) after commit; in
production they go through Redis or RabbitMQ to ``celery worker`` processes, and ``celery beat`` runs
the periodic jobs declared in ``settings.CELERY_BEAT_SCHEDULE``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")

app = Celery("expediente")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
