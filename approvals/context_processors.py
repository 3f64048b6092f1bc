"""Template context of the approvals app: the delegations the user holds today (for the banner
``approvals/_delegation_banner.html``) and the number of unread notifications. Both are lazy: no
query unless a template uses them."""

from django.utils.functional import SimpleLazyObject


def delegation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def acting_for():
        from .services import active_delegations

        return active_delegations(user)

    def unread():
        from .notifications import unread_count

        return unread_count(user)

    return {
        "acting_for": SimpleLazyObject(acting_for),
        "unread_notifications": SimpleLazyObject(unread),
    }
