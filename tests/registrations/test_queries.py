"""A registration decision reads its case row once and stays under its measured ceiling (see
tests/approvals/test_decision_queries.py): the approval also registers the unit, makes the applicant
its member, renders and numbers the certificate and writes four transitions' entries."""

import pytest

from registrations import services
from tests.approvals.test_decision_queries import CEILING, decide_counting, reads_of

from .conftest import ready_new

pytestmark = pytest.mark.django_db


def test_a_registration_decision_reads_its_case_once(office):
    r = ready_new(office)
    services.submit_registration(r, actor=office.newcomer)
    queries = decide_counting(r.code, "registration_review", office.officer)
    assert reads_of("registrations_registration", queries) == 1
    assert len(queries) <= CEILING["registration_review"]
