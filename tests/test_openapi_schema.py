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
