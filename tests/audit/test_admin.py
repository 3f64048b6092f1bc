"""The admin shows the trail read-only: nothing can be added, changed or deleted there."""

import pytest
from django.urls import reverse

from audit import checkpoints
from audit.models import AuditEntry, Checkpoint
from registry.models import User
from tests.factories import DEMO_PASSWORD

from .helpers import fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    user = User.objects.create_superuser("root", "root@example.org", DEMO_PASSWORD)
    client.force_login(user)
    return client


def test_changelists_and_detail_are_read_only(root, django_assert_max_num_queries):
    fill(30)
    checkpoints.sign_checkpoint()
    with django_assert_max_num_queries(12):
        listing = root.get(reverse("admin:audit_auditentry_changelist"))
    assert listing.status_code == 200
    assert "action_checkbox" not in listing.content.decode()  # no bulk actions (no "delete selected")
    assert (
        root.get(reverse("admin:audit_auditentry_changelist"), {"action": "budget.reserved"}).status_code
        == 200
    )
    entry = AuditEntry.objects.first()
    detail = root.get(reverse("admin:audit_auditentry_change", args=[entry.seq]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert root.get(reverse("admin:audit_checkpoint_changelist")).status_code == 200


def test_add_change_delete_are_refused(root):
    fill(2)
    checkpoints.sign_checkpoint()
    entry = AuditEntry.objects.first()
    assert root.get(reverse("admin:audit_auditentry_add")).status_code == 403
    assert (
        root.post(
            reverse("admin:audit_auditentry_change", args=[entry.seq]), {"actor_label": "x"}
        ).status_code
        == 403
    )
    assert (
        root.post(reverse("admin:audit_auditentry_delete", args=[entry.seq]), {"post": "yes"}).status_code
        == 403
    )
    cp = Checkpoint.objects.get()
    assert (
        root.post(reverse("admin:audit_checkpoint_delete", args=[cp.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEntry.objects.get(seq=entry.seq).actor_label == entry.actor_label
    assert Checkpoint.objects.count() == 1
