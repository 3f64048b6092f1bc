# Expediente: `make run` (embedded: SQLite, tasks and periodic jobs in-process) and `make test`.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 (see .python-version): pyenv's 3.13.0 on these machines, else any python3.13 on PATH.
PYTHON313 ?= $(shell for p in $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$(command -v python3.13); do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: run test test-all install messages lint typecheck check clean bench bench-quick

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON313)" ]; then echo "Python 3.13 is required (pyenv install 3.13.0)"; exit 1; fi
	@[ -x $(PY) ] || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

messages: install
	$(PY) manage.py compilemessages --ignore=.venv -v 0

run: install messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_cases
	$(PY) manage.py run_embedded 127.0.0.1:$(PORT)

# `make test` runs the suite on 2 pytest-xdist workers and leaves out the slow kinds: the browser
# tests (marked `browser`) and the multi-process and long hypothesis tests (marked `slow`).
# Everything, as .ci/run does: `make test-all` (or `make test PYTEST_MARKS=`); one process: PYTEST_WORKERS=0.
PYTEST_WORKERS ?= 2
PYTEST_MARKS ?= not browser and not slow

test: install messages
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(if $(PYTEST_MARKS),-m "$(PYTEST_MARKS)") $(PYTEST_ARGS)

test-all:
	$(MAKE) test PYTEST_MARKS=

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The apps that mypy (django-stubs) checks, as in .ci/run.
MYPY_PACKAGES := cases registry budget expediente reports transfers approvals audit iniciativas workflows registrations compensations

typecheck: install
	$(PY) -m mypy $(MYPY_PACKAGES)

check: install messages
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Decisions benchmark (docs/BENCHMARKS.md, "Decisions: ours against bare viewflow"): ours against a bare
# viewflow flow on PostgreSQL (127.0.0.1:5432, its own database, created and dropped) and SQLite, with
# notifications queued on a private redis-server (port 6391). About 15 minutes; options in BENCH_ARGS:
# `make bench BENCH_ARGS=--write-docs` rewrites its block in docs/BENCHMARKS.md, `make bench-quick`
# (= `make bench BENCH_ARGS=--quick`) is a smaller run of under 2 minutes.
BENCH_ARGS ?=

bench: install messages
	$(PY) bench/decisions.py $(BENCH_ARGS)

bench-quick: install messages
	$(PY) bench/decisions.py --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
