"""The engine's Celery task: drawing an official document's PDF after the commit of the step that
issued it (``workflows.official.render``), owed through the outbox (``cases.official.issue``).

Retried with back-off and acknowledged late; idempotent (a document already drawn is left as it is),
so a redelivery never draws or records it twice."""

from __future__ import annotations

from celery import shared_task

from approvals.tasks import RETRIED  # the notifications' retries: back-off, late acknowledgement


@shared_task(name="workflows.render_official", **RETRIED)
def render_official(document: int) -> str:
    from .official import render

    return render(document).sha256
