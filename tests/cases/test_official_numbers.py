"""Official document numbers (``cases.official.next_number``): one statement per number, per kind
and year, consecutive from 1, and never the same twice, also when issuers race."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from cases.models import OfficialCounter
from cases.official import next_number


@pytest.mark.django_db
def test_numbers_run_from_one_per_kind_and_year(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert next_number("resolution", "RES", 2026) == (1, "RES-2026-000001")
    assert next_number("resolution", "RES", 2026) == (2, "RES-2026-000002")
    assert next_number("resolution", "RES", 2027) == (1, "RES-2027-000001")
    assert next_number("convenio", "CONV", 2026) == (1, "CONV-2026-000001")
    assert OfficialCounter.objects.get(kind="resolution", year=2026).last == 2


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again():
    assert next_number("resolution", "RES", 2026)[0] == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_number("resolution", "RES", 2026)[0] == 2
        raise RuntimeError
    assert next_number("resolution", "RES", 2026)[0] == 2


@pytest.mark.django_db(transaction=True)
def test_racing_issuers_never_get_the_same_number():
    if connection.vendor != "postgresql":
        pytest.skip("a race needs PostgreSQL's row locks; SQLite serialises writers")
    start = threading.Barrier(6)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def issue():
        try:
            start.wait(timeout=10)
            for _ in range(5):
                with transaction.atomic():
                    numbers.append(next_number("acta", "ACTA", 2026)[0])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=issue) for _ in range(6)]  # the first number creates the row
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(numbers) == list(range(1, 31))
