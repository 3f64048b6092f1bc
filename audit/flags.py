"""A context flag shared by the services that change groups and permissions and the audit signals.

Services that grant or revoke roles and scopes write their own audit entries (ROLE_GRANTED,
SCOPE_GRANTED, ...). The audit trail also listens to group and permission changes made outside
services (e.g. the Django admin) through signals; while a service is at work it sets this flag so
that the signal receivers skip the change and nothing is recorded twice.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_in_service_write: ContextVar[bool] = ContextVar("expediente_service_permission_write", default=False)


@contextmanager
def services_write_permissions() -> Iterator[None]:
    """Mark the enclosed block as a service changing groups/permissions (it audits them itself)."""
    token = _in_service_write.set(True)
    try:
        yield
    finally:
        _in_service_write.reset(token)


def in_service_permission_write() -> bool:
    """True while a service is changing groups/permissions (signal receivers must not record)."""
    return _in_service_write.get()
