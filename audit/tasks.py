"""Periodic jobs of the audit trail (scheduled in ``settings.CELERY_BEAT_SCHEDULE``)."""

from celery import shared_task

from . import checkpoints


@shared_task
def sign_checkpoint() -> dict:
    """Sign the committed head of the trail if it moved (every ``AUDIT_CHECKPOINT_MINUTES``).

    Raises ``TrailIntegrityError`` -- a failed task, logged by the worker -- when the trail contradicts
    an earlier checkpoint: then nothing is signed and internal control must be told.
    """
    checkpoint = checkpoints.sign_checkpoint()
    if checkpoint is None:
        return {"signed": False}
    return {"signed": True, "seq": checkpoint.seq, "head": checkpoint.head, "key_id": checkpoint.key_id}
