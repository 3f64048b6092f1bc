"""The audit trail. ``audit.record(...)`` is the only way to write it."""


def record(*args, **kwargs):
    from .chain import record as _record

    return _record(*args, **kwargs)


def batch():
    """Write the entries recorded inside the block in one statement when it ends (``chain.batch``)."""
    from .chain import batch as _batch

    return _batch()
