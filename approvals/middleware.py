"""Per-request memo of the delegations the signed-in user holds today.

The inbox view and the site header's delegation banner both need them; with the memo the request
reads them once (``approvals.services.active_delegations``). The memo lives on the request's user
instance, which Django builds afresh for every request, so nothing outlives the request."""

from .services import REQUEST_MEMO


class DelegationMemoMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            setattr(user, REQUEST_MEMO, {})
        return self.get_response(request)
