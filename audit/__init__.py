"""The audit trail. ``audit.record(...)`` is the only way to write it."""


def record(*args, **kwargs):
    from .chain import record as _record

    return _record(*args, **kwargs)
