"""Settings of the benchmarks that need an app of their own (``bench/decisions.py``): the production
settings plus ``bench.bareflow``, a bare viewflow flow. Never used to serve the site; the bare flow is
not installed by ``expediente.settings`` (``tests/test_bench_decisions.py`` checks it)."""

from expediente.settings import *  # noqa: F403
from expediente.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bareflow"]

# As production serves requests: no query log kept on the connection, cached templates.
DEBUG = False
