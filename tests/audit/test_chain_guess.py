"""The chain's one-statement append (``audit.chain._append``) and a decision's batch
(``audit.chain.batch``): an entry is chained after the head this connection last wrote, and inserted
only if that is still the head. When it is not — another writer came between, or what was written
rolled back — nothing is inserted on the guess and the entry is chained after the real head."""

import pytest
from django.db import connection, transaction

import audit
from audit import chain
from audit.chain import entry_body
from audit.models import AuditEntry
from audit.verifier import entry_hash
from registry.models import User

pytestmark = pytest.mark.django_db


def chain_is_whole():
    previous = None
    for e in AuditEntry.objects.order_by("seq"):
        assert entry_hash(e.prev_hash, entry_body(e)) == e.hash
        if previous is not None:
            assert (e.seq, e.prev_hash) == (previous.seq + 1, previous.hash)
        previous = e
    return previous


@pytest.fixture
def ana():
    return User.objects.create(username="ana")


def write_behind_our_back(actor):
    """Another writer: an entry appended while this connection's remembered head is kept."""
    remembered = getattr(connection, chain._LAST_HEAD, None)
    outside_any_batch = chain._BATCH.set(None)
    try:
        audit.record("auth.login", actor=actor, subject=actor, data={"by": "someone else"})
    finally:
        chain._BATCH.reset(outside_any_batch)
    setattr(connection, chain._LAST_HEAD, remembered)


def test_the_next_entry_is_one_statement_after_this_connections_last(ana, django_assert_num_queries):
    audit.record("auth.login", actor=ana, subject=ana)
    with django_assert_num_queries(1 + chain.lock_apart()):
        entry = audit.record("auth.logout", actor=ana, subject=ana)
    assert chain_is_whole().seq == entry.seq


def test_a_guess_overtaken_by_another_writer_chains_after_the_real_head(ana):
    first = audit.record("auth.login", actor=ana, subject=ana)
    write_behind_our_back(ana)
    entry = audit.record("auth.logout", actor=ana, subject=ana)
    assert entry.seq == first.seq + 2
    assert AuditEntry.objects.filter(seq__gt=first.seq).count() == 2
    assert chain_is_whole().seq == entry.seq


def test_a_guess_after_a_rolled_back_entry_chains_after_the_real_head(ana):
    kept = audit.record("auth.login", actor=ana, subject=ana)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("auth.logout", actor=ana, subject=ana)  # remembered as the head, then undone
        raise RuntimeError
    entry = audit.record("auth.logout", actor=ana, subject=ana, data={"again": True})
    assert (entry.seq, entry.prev_hash) == (kept.seq + 1, kept.hash)
    assert chain_is_whole().seq == entry.seq


def test_a_batch_writes_its_entries_in_one_statement_when_it_ends(ana, django_assert_num_queries):
    before = audit.record("auth.login", actor=ana, subject=ana)
    one = 1 + chain.lock_apart()  # the lock apart: its own statement when the driver binds on the server
    with django_assert_num_queries(one), transaction.atomic(savepoint=False), audit.batch():
        entries = [audit.record("auth.logout", actor=ana, subject=ana, data={"n": n}) for n in range(3)]
        assert AuditEntry.objects.filter(seq__gt=before.seq).count() == 0  # nothing written yet
        connection.queries_log.clear()  # the count above is not the batch's
    assert [e.seq for e in entries] == [before.seq + 1, before.seq + 2, before.seq + 3]
    assert chain_is_whole().seq == entries[-1].seq


def test_a_batch_overtaken_by_another_writer_is_chained_again_after_the_real_head(ana):
    before = audit.record("auth.login", actor=ana, subject=ana)
    with transaction.atomic(), audit.batch():
        audit.record("auth.logout", actor=ana, subject=ana, data={"n": 1})
        audit.record("auth.logout", actor=ana, subject=ana, data={"n": 2})
        pending = list(chain._BATCH.get())
        write_behind_our_back(ana)  # takes seq before.seq + 1, the batch's first guess
    stored = list(AuditEntry.objects.filter(seq__gt=before.seq).order_by("seq"))
    assert [e.data for e in stored] == [{"by": "someone else"}, {"n": 1}, {"n": 2}]
    assert [e.seq for e, _json in pending] == [before.seq + 2, before.seq + 3]  # re-chained
    assert chain_is_whole().seq == before.seq + 3


def test_an_error_inside_a_batch_writes_nothing(ana):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), audit.batch():
        audit.record("auth.logout", actor=ana, subject=ana)
        raise RuntimeError
    assert AuditEntry.objects.count() == before
