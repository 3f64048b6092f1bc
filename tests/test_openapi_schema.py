"""The whole public API generates one clean OpenAPI document (no drf-spectacular warning).

`.ci/run` runs `check --deploy --fail-level WARNING`, where drf-spectacular reports the same
warnings as system checks; this test catches them in `make test` already, with the offending view.
"""

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_the_whole_api_schema_is_clean_and_valid():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    validate_schema(schema)
    paths = schema["paths"]
    task = paths["/api/v1/tasks/{id}/"]["get"]["parameters"]
    assert {"name": "id", "in": "path"}.items() <= task[0].items()
    assert task[0]["schema"]["type"] == "integer"
    for action in ("claim", "release", "complete"):
        assert f"/api/v1/tasks/{{id}}/{action}/" in paths


def test_the_schema_documents_the_errors_envelopes_and_nulls_the_api_answers():
    """What schemathesis (tests/test_api_fuzz.py) found the schema left out: the error answers every
    view shares (``expediente.schema``), the paginated envelope of the audit's hand-built lists, and
    the fields that are null until a case gets there."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths, components = schema["paths"], schema["components"]["schemas"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if "{" in path:
                assert "404" in codes, (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert "401" in codes, (method, path)
                if method == "post":
                    assert {"400", "403", "409"} <= codes, (method, path)
    claim = paths["/api/v1/tasks/{id}/claim/"]["post"]["responses"]["409"]
    assert claim["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "429" in paths["/api/v1/auth/token/"]["post"]["responses"]
    checkpoints = paths["/api/v1/audit/checkpoints/"]["get"]["responses"]["200"]
    envelope = checkpoints["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(components[envelope]["properties"]) == {"count", "next", "previous", "results"}
    for component, field in [
        ("Initiative", "budget_line"),
        ("Initiative", "history"),
        ("Transfer", "budget_line"),
        ("Transfer", "history"),
        ("AssetItem", "holder"),
        ("Registration", "unit"),
        ("Registration", "history"),
    ]:
        assert components[component]["properties"][field].get("nullable") is True, (component, field)


def test_the_schema_documents_the_beneficiaries_of_every_kind_that_reaches_people():
    """Initiatives, transfers and price-compensation agreements take their beneficiaries and placement
    at creation (optional: existing clients keep working), answer them, and have a ``reach`` action
    for staff corrections."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths, components = schema["paths"], schema["components"]["schemas"]
    reach_fields = {"municipality", "sector", "dairy_basin", "beneficiaries_kind", "beneficiaries_women"}
    for collection, created, answered in (
        ("initiatives", "InitiativeCreateRequest", "Initiative"),
        ("transfers", "TransferCreateRequest", "Transfer"),
        ("compensation-agreements", "AgreementCreateRequest", "Agreement"),
    ):
        correction = paths[f"/api/v1/{collection}/{{id}}/reach/"]["post"]
        body = correction["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.endswith("/ReachCorrectionRequest"), collection
        assert reach_fields <= set(components[created]["properties"]), created
        assert not reach_fields & set(components[created].get("required", [])), created
        assert {*reach_fields, "beneficiaries_total"} <= set(components[answered]["properties"]), answered
    assert components["ReachCorrectionRequest"]["required"] == ["reason"]
