"""API tokens expire and can be revoked (``API_TOKEN_TTL``; ``POST /api/v1/auth/logout/``).

A token is valid for ``API_TOKEN_TTL`` (8 hours by default) from when it was issued; after that every
request with it is a 401 that says so, and the next ``POST /api/v1/auth/token/`` issues a new one.
Logging out — on the API, or on the web, which ends the same person's API access too — deletes it;
an administrator can delete it in the admin ("Tokens").
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, refusing a token older than ``API_TOKEN_TTL``."""

    def authenticate_credentials(self, key):
        from . import services

        user, token = super().authenticate_credentials(key)
        if services.token_expired(token):
            raise AuthenticationFailed(_("The token has expired. Log in again to get a new one."))
        return user, token


def revoke_on_logout(sender, request, user, **kwargs):
    """``user_logged_out``: logging out of the web ends the person's API token too."""
    from . import services

    if user is not None and getattr(user, "pk", None):
        services.revoke_api_token(user, actor=user, reason="logout")
