"""schemathesis against the live API, in process (WSGI), with every role's token (issue 10, item 6):
no request may answer a server error, and every answer must be one the OpenAPI schema
(``/api/v1/schema/``) documents — its status, its content type and its body.

The demo data (``seed_demo`` and ``seed_demo_cases``: users of every role, cases in flight with open
tasks) is made once; then each operation is fuzzed with each role's token (and with none), with valid
data (``positive``) and with data that breaks the schema (``negative``), with random ids and with the
ids of the cases and tasks that exist, so the actions reach the services. Derandomized (a fixed seed:
each run sends the same requests) and bounded: ``FUZZ_EXAMPLES`` examples per operation, role and
mode (default 2). Marked ``slow``: `make test` leaves it out, `.ci/run` runs it on PostgreSQL
(``FUZZ_ANY_DATABASE=1``: on SQLite too).

    FUZZ_EXAMPLES=10 .venv/bin/python -m pytest tests/test_api_fuzz.py -m slow -s
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import time

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
ROLES = ["solicitante1", "evaluador1", "legal1", "finanzas1", "director1", "control1", "admin1", None]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The ids of what exists, by the path's first segment, so the fuzzed actions reach the services.
ID_SOURCES = {
    "tasks": ("workflows", "CaseTask"),
    "initiatives": ("iniciativas", "Initiative"),
    "transfers": ("transfers", "Transfer"),
    "registrations": ("registrations", "Registration"),
    "units": ("registry", "Unit"),
    "budget": ("budget", "BudgetLine"),
    "goals": ("reports", "Goal"),
}


@pytest.fixture
def wsgi_in_test_transaction():
    """The app in process, on the test's database transaction: as Django's test client does, a
    request must not close the test's connection (``close_old_connections`` at its start and end)."""
    from expediente.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _existing_ids(segment: str) -> list[int]:
    from django.apps import apps

    if segment not in ID_SOURCES:
        return []
    model = apps.get_model(*ID_SOURCES[segment])
    ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
    return sorted({ids[0], ids[len(ids) // 2], ids[-1]}) if ids else []


def test_no_server_error_and_every_answer_as_documented(wsgi_in_test_transaction):
    if connection.vendor != "postgresql" and not os.environ.get("FUZZ_ANY_DATABASE"):
        pytest.skip("PostgreSQL, the production database, only: the CI budget allows one run")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
    app = wsgi_in_test_transaction
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", app)
    tokens = {}
    for username in filter(None, ROLES):
        from werkzeug.test import Client

        response = Client(app).post("/api/v1/auth/token/", json={"username": username, "password": "demo"})
        assert response.status_code == 200, (username, response.get_data(as_text=True))
        tokens[username] = response.get_json()["token"]

    requests = collections.Counter()
    failures: dict[tuple, str] = {}
    started = time.monotonic()

    def fuzz(operation, strategy, role, mode):
        headers = {"Authorization": f"Token {tokens[role]}"} if role else {}

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(headers=headers)
            requests[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                requests["failed"] += 1
                for failure in group.exceptions:
                    key = (operation.label, role, mode.value, type(failure).__name__, response.status_code)
                    failures.setdefault(key, f"{failure.title}: {failure.message}"[:600])

        # Negative data for an operation that takes nothing that can be wrong: nothing to send.
        with contextlib.suppress(Unsatisfiable):
            run()

    for result in schema.get_all_operations():
        operation = result.ok()
        segment = operation.path.removeprefix("/api/v1/").split("/")[0]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if "{id}" in operation.path and mode is GenerationMode.POSITIVE:
                strategies += [
                    operation.as_strategy(generation_mode=mode, path_parameters={"id": pk})
                    for pk in _existing_ids(segment)
                ]
            for strategy in strategies:
                for role in ROLES:
                    fuzz(operation, strategy, role, mode)

    elapsed = time.monotonic() - started
    failed = requests.pop("failed", 0)
    total = sum(requests.values())
    print(f"\nschemathesis: {total} requests in {elapsed:.0f} s, by status {dict(sorted(requests.items()))}")
    print(f"schemathesis: {failed} responses failed a check; {len(failures)} distinct failures")
    for key, message in sorted(failures.items(), key=str):
        print("  ", key, "\n     ", message.replace("\n", "\n      "))
    assert [status for status in requests if status >= 500] == []
    assert failures == {}
