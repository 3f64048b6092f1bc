"""Pages for delegating one's inbox during an absence, and for one's notifications.

Mounted under ``/tasks/`` (``approvals/urls.py``): ``delegation-list`` (the "Delegar mi bandeja"
form and the delegations given and received, with their revoke buttons), ``delegation-revoke``,
``notification-list``, ``notification-open`` and ``notification-read-all``. Each POST calls one
service; a refused or invalid delegation answers 400 (403 without a staff role) with the message
next to its field, and changes nothing.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases.errors import Conflict
from cases.roles import STAFF_ROLES, Role, is_admin, roles_of

from . import delegation_selectors as selectors
from . import notifications, services

NOTIFICATIONS_SHOWN = 100


def _label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


class DelegationForm(forms.Form):
    """What the person typed. The colleague select offers active colleagues of the same role(s),
    grouped by role; whether the chosen one may hold the inbox is decided by
    ``services.delegate_inbox`` (a crafted POST with anyone else gets its refusal, in Spanish)."""

    role = forms.ChoiceField(label=gettext_lazy("Role to delegate"))
    delegate = forms.ModelChoiceField(
        label=gettext_lazy("Colleague who holds your inbox"),
        queryset=get_user_model().objects.filter(is_active=True),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Until (inclusive)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        held = roles_of(user) & STAFF_ROLES
        roles = [r for r in Role.values if r in held]
        self.fields["role"].choices = [(r, Role(r).label) for r in roles]
        users = get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
        groups = []
        for role in roles:
            colleagues = users.filter(groups__name=role).order_by("last_name", "first_name", "username")
            groups.append((Role(role).label, [(u.pk, _label(u)) for u in colleagues]))
        self.fields["delegate"].widget.choices = [("", "---------"), *groups]
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("starts_on", today)
            self.initial.setdefault("ends_on", today)
        self.can_delegate = bool(roles)


def _render_delegations(request, form, *, status=200):
    context = {
        "form": form,
        "given": selectors.delegation_list_given(request.user),
        "received": selectors.delegation_list_received(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "approvals/delegation_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def delegation_list(request):
    """ "Delegar mi bandeja": the form (POST creates one) and my delegations given and received."""
    if request.method != "POST":
        return _render_delegations(request, DelegationForm(user=request.user))
    form = DelegationForm(request.POST, user=request.user)
    if not form.can_delegate:
        form.add_error(None, _("Only staff roles can be delegated."))
        return _render_delegations(request, form, status=403)
    if not form.is_valid():
        return _render_delegations(request, form, status=400)
    data = form.cleaned_data
    try:
        delegation = services.delegate_inbox(
            actor=request.user,
            delegate=data["delegate"],
            role=data["role"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            reason=data["reason"],
        )
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to perform this action."))
        return _render_delegations(request, form, status=403)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _render_delegations(request, form, status=400)
    messages.success(
        request,
        _("Your %(role)s inbox is delegated to %(name)s from %(from)s to %(until)s.")
        % {
            "role": delegation.get_role_display(),
            "name": _label(delegation.delegate),
            "from": delegation.starts_on.strftime("%d/%m/%Y"),
            "until": delegation.ends_on.strftime("%d/%m/%Y"),
        },
    )
    return HttpResponseRedirect(reverse("delegation-list"))


@login_required
@require_POST
def delegation_revoke(request, pk: int):
    """Revoke one of my delegations (administrators: any). Others' delegations answer 404."""
    visible = selectors.delegation_list_given(request.user)
    if is_admin(request.user):
        visible = selectors.delegation_list_all()
    if not visible.filter(pk=pk).exists():
        raise Http404
    try:
        services.revoke_delegation(pk, actor=request.user)
    except Conflict as exc:
        messages.warning(request, str(exc))
    except PermissionDenied as exc:
        raise Http404 from exc
    else:
        messages.success(request, _("The delegation was revoked."))
    return HttpResponseRedirect(reverse("delegation-list"))


# --- notifications -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def notification_list(request):
    rows = list(notifications.notification_list_for(request.user)[:NOTIFICATIONS_SHOWN])
    return render(request, "approvals/notifications_list.html", {"notifications": rows})


@login_required
@require_POST
def notification_open(request, pk: int):
    """Mark one of my notifications read and go to what it is about."""
    row = notifications.notification_list_for(request.user).filter(pk=pk).first()
    if row is None:
        raise Http404
    notifications.mark_read(actor=request.user, notification_id=row.pk)
    target = row.url or reverse("notification-list")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("notification-list")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_read_all(request):
    changed = notifications.mark_read(actor=request.user)
    if changed:
        messages.success(request, _("All your notifications are marked as read."))
    return HttpResponseRedirect(reverse("notification-list"))
