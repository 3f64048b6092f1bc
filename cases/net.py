"""Who is asking: the client's address, read the same way by every part that keys on it.

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, each of which appends the address it saw to
``X-Forwarded-For``, the client is the ``TRUSTED_PROXY_COUNT``-th address from the right; the ones to
its left are the client's own claims and never count. With no trusted proxy (the default) the client is
``REMOTE_ADDR`` and ``X-Forwarded-For`` is ignored. This is DRF's rule for ``NUM_PROXIES`` (which the
settings set to the same number), so API throttling, the login lockout (django-axes) and the audit
trail all see one address.
"""

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's IP address (``""`` if even ``REMOTE_ADDR`` is missing or not an address)."""
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = forwarded.split(",")
    # What the nearest trusted proxy saw; a garbled value there falls back to the proxy's own address.
    return _valid(addresses[-min(proxies, len(addresses))]) or remote
