import pytest
from django.db import transaction

import audit
from audit import context
from audit.actions import AuditAction
from audit.chain import entry_body
from audit.models import AppendOnlyError, AuditEntry, Checkpoint
from audit.verifier import GENESIS_HASH, entry_hash
from registry.models import User

pytestmark = pytest.mark.django_db


def test_entries_chain_from_genesis_and_rehash():
    actor = User.objects.create(username="ana")
    start = AuditEntry.objects.count()
    with transaction.atomic():
        first = audit.record("auth.login", actor=actor, subject=actor, data={"n": 1})
        second = audit.record("auth.logout", actor=actor, subject=actor)
    assert (first.seq, second.seq) == (start + 1, start + 2)
    if start == 0:
        assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    for e in AuditEntry.objects.all():
        assert entry_hash(e.prev_hash, entry_body(e)) == e.hash


def test_entry_fields_request_context_and_labels():
    actor = User.objects.create(username="ana", first_name="Ana", last_name="Pérez")
    token = context.set_current(context.RequestContext(request_id="req-12345678", ip="10.1.2.3"))
    try:
        entry = audit.record(AuditAction.ROLE_GRANTED, actor=actor, subject=actor, data={"role": "finance"})
    finally:
        context.reset(token)
    entry = AuditEntry.objects.get(seq=entry.seq)
    assert entry.at.tzinfo is not None
    assert (entry.actor_id, entry.actor_label) == (actor.pk, "ana (Ana Pérez)")
    assert (entry.subject_type, entry.subject_id, entry.subject_label) == (
        "registry.user",
        str(actor.pk),
        "Ana Pérez",
    )
    assert (entry.request_id, entry.ip) == ("req-12345678", "10.1.2.3")
    assert entry.action == "auth.role_granted"
    assert entry.action_label == "Rol asignado"  # Spanish by default


def test_rolled_back_action_leaves_no_entry():
    actor = User.objects.create(username="ana")
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("auth.login", actor=actor)
        raise RuntimeError("the business change failed")
    assert AuditEntry.objects.count() == before


def test_failed_entry_fails_the_business_change():
    """If the entry cannot be written, the change it documents is rolled back with it."""
    with pytest.raises(TypeError), transaction.atomic():
        user = User.objects.create(username="bruno")
        audit.record("auth.user_created", actor=user, data={"amount": 1.5})
    assert not User.objects.filter(username="bruno").exists()


def test_orm_refuses_update_and_delete():
    actor = User.objects.create(username="ana")
    entry = audit.record("auth.login", actor=actor)
    entry.actor_label = "someone else"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(seq=entry.seq).update(actor_label="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_create([AuditEntry(seq=10_000)])
    with pytest.raises(AppendOnlyError):
        Checkpoint.objects.all().delete()
    assert AuditEntry.objects.get(seq=entry.seq).actor_label == "ana"


def test_the_orm_cannot_insert_entries_only_record_can():
    """``audit.record`` is the only writer: an entry made up elsewhere (even with a correct hash) is
    refused by every ORM path -- create, save, get_or_create, bulk_create and fixtures (loaddata)."""
    from django.core import serializers

    from .helpers import forged_entry_values

    actor = User.objects.create(username="ana")
    head = audit.record("auth.login", actor=actor)
    values = forged_entry_values(head.seq + 1, head.hash)
    with pytest.raises(AppendOnlyError, match=r"audit\.record"):
        AuditEntry.objects.create(**values)
    with pytest.raises(AppendOnlyError):
        AuditEntry(**values).save(force_insert=True)
    with pytest.raises(AppendOnlyError):
        AuditEntry(**values).save()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.get_or_create(seq=values["seq"], defaults=values)
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_create([AuditEntry(**values)])
    fixture = serializers.serialize("json", [AuditEntry(**values)])
    with pytest.raises(AppendOnlyError):
        for obj in serializers.deserialize("json", fixture):
            obj.save()  # what loaddata does: Model.save_base, bypassing save()
    assert AuditEntry.objects.filter(seq__gt=head.seq).count() == 0
    # ... while the real writer keeps working, and checkpoints stay insert-only.
    nxt = audit.record("auth.logout", actor=actor)
    assert (nxt.seq, nxt.prev_hash) == (head.seq + 1, head.hash)
    assert AuditEntry.objects.get(seq=nxt.seq).hash == nxt.hash
    cp = Checkpoint(
        seq=1, head="a" * 64, signed_at=nxt.at, origin="o", key_id="k", public_key="p", signature="s"
    )
    cp.save()  # a new row (worthless without a trusted signature)
    with pytest.raises(AppendOnlyError):
        cp.save()
    with pytest.raises(AppendOnlyError):
        Checkpoint.objects.filter(pk=cp.pk).update(head="b" * 64)


def test_actor_deletion_is_protected():
    from django.db.models import ProtectedError

    actor = User.objects.create(username="ana")
    audit.record("auth.login", actor=actor)
    with pytest.raises(ProtectedError):
        actor.delete()


@pytest.mark.parametrize(
    "data",
    [
        {"amount": 1.5},
        {"n": 2**60},
        {"text": "nul\x00"},
        {"when": __import__("datetime").datetime(2026, 1, 1)},
    ],
)
def test_values_outside_the_trail_domain_are_refused(data):
    actor = User.objects.create(username="ana")
    before = AuditEntry.objects.count()
    with pytest.raises((TypeError, ValueError)):
        audit.record("auth.login", actor=actor, data=data)
    assert AuditEntry.objects.count() == before


def test_unknown_action_and_unsaved_actor_are_refused():
    with pytest.raises(ValueError):
        audit.record("initiative.teleported", actor=None)
    with pytest.raises(ValueError):
        audit.record("auth.login", actor=User(username="ghost"))


def test_decimals_dates_and_cases_are_recorded_canonically():
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    class Case:
        pk = 7
        case_code = "INI-2026-000007"

        class _meta:  # mimics a model's _meta
            app_label = "iniciativas"
            model_name = "initiative"

        def __str__(self):
            return "INI-2026-000007 Lechería"

    moment = timezone.make_aware(dt.datetime(2026, 11, 25, 9, 30), timezone.get_current_timezone())
    entry = audit.record(
        AuditAction.BUDGET_RESERVED,
        actor=None,
        subject=Case(),
        data={"amount": Decimal("1500.00"), "on": dt.date(2026, 11, 25), "at": moment, "tags": {"b", "a"}},
    )
    assert entry.case == "INI-2026-000007"
    assert entry.data == {
        "amount": "1500.00",
        "on": "2026-11-25",
        "at": "2026-11-25T13:30:00.000000Z",
        "tags": ["a", "b"],
    }
