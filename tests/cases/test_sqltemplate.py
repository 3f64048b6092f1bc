"""``cases.sqltemplate``: a query built by the ORM once per shape, then run with other values."""

import pytest

from cases import sqltemplate
from registry.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return [User.objects.create(username=name, first_name=first) for name, first in
            [("ana", "Ana"), ("beto", "Alberto"), ("carla", "Carla")]]  # fmt: skip


def by_id_and_name(**v):
    return User.objects.filter(pk=v["pk"], first_name=v["name"]).values_list("username")


def test_the_same_rows_as_the_orm_for_every_value(people, django_assert_num_queries):
    key = ("test", "by_id_and_name")
    sqltemplate._templates.pop(("default", key), None)
    for user in people:
        values = {"pk": user.pk, "name": user.first_name}
        with django_assert_num_queries(1):
            assert sqltemplate.run(key, by_id_and_name, values) == [(user.username,)]
    assert sqltemplate.run(key, by_id_and_name, {"pk": people[0].pk, "name": "Alberto"}) == []
    assert sqltemplate._templates[("default", key)] is not None  # built once, then reused


def test_a_value_the_orm_turns_into_a_pattern_is_built_every_time(people):
    key = ("test", "starts_with")
    sqltemplate._templates.pop(("default", key), None)

    def starting(**v):
        return User.objects.filter(username__startswith=v["prefix"]).order_by("pk").values_list("username")

    assert sqltemplate.run(key, starting, {"prefix": "be"}) == [("beto",)]
    assert sqltemplate._templates[("default", key)] is None  # 'be%' is not the value itself
    assert sqltemplate.run(key, starting, {"prefix": "ca"}) == [("carla",)]
