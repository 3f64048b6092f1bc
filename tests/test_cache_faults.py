"""A Redis cache that hangs (issue 10: "GETs stalled for 33 s" behind a hung Redis): with the
settings' socket timeouts a cache call fails in about a second instead of waiting for ever."""

import time

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from tests.test_broker_faults import PrivateRedis
from tests.test_settings_and_ops import base_env, settings_in

PORTS = range(6470, 6480)


def test_a_redis_cache_url_gets_socket_timeouts():
    values = settings_in(base_env(CACHE_URL="redis://127.0.0.1:6379/2"), "CACHES")
    options = values["CACHES"]["default"]["OPTIONS"]
    assert options["socket_timeout"] == 1.0 and options["socket_connect_timeout"] == 1.0


@pytest.fixture
def hung_redis(tmp_path):
    for port in PORTS:
        server = PrivateRedis(port, tmp_path / "redis.log")
        if server.start():
            break
    else:
        pytest.skip(f"no free port in {PORTS.start}-{PORTS.stop - 1} for a private redis-server")
    try:
        yield server
    finally:
        server.kill()


def test_a_hung_redis_cache_fails_a_call_in_about_a_second(hung_redis):
    cache = RedisCache(hung_redis.url, {"OPTIONS": settings.REDIS_CACHE_OPTIONS})
    cache.set("k", "v")
    assert cache.get("k") == "v"
    hung_redis.hang()
    started = time.monotonic()
    with pytest.raises(Exception) as failure:
        cache.get("k")
    waited = time.monotonic() - started
    assert "Timeout" in type(failure.value).__name__
    assert waited < 3, f"waited {waited:.1f} s"
