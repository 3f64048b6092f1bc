#!/usr/bin/env python
# ruff: noqa: E501, RUF001  (report tables are long lines with typographic dashes)
"""Load benchmark of the web tier in its production shape (docs/BENCHMARKS.md, section "Web tier").

    .venv/bin/python bench/web_bench.py --wait-quiet --write-docs   # about 7 minutes on a quiet machine
    .venv/bin/python bench/web_bench.py --quick                     # about 4 minutes, nothing written

It starts everything itself and stops what it started (by pid) at the end:

- PostgreSQL database ``exp_web_bench`` (dropped and created; no other database is touched), migrated
  and seeded with ``seed_demo``, ``seed_demo_cases`` and, through the same services, 32 more accounts
  (50 in all) and four initiatives per extra applicant at different steps;
- a private Redis (``redis-server --port 6392 --save ''``; never the machine's shared one) as broker
  and cache;
- the README's production processes with ``EXPEDIENTE_ENV=production`` (``DEBUG`` off, secure cookies,
  ``BEHIND_TLS_PROXY=1``: the client sends ``X-Forwarded-Proto: https`` as the TLS proxy would):
  ``gunicorn expediente.wsgi:application --workers 3``, ``celery worker``, ``celery beat`` and
  ``manage.py relay_outbox``.

Then it measures, with the 1-minute load average before and after each part:

1. The cost of one password hash on this machine (CPU and wall, median of 9 after a warm-up) for
   the configured Argon2id, OWASP's Argon2id rows, Django's own Argon2 and PBKDF2 defaults.
2. 50 simultaneous web logins (GET the form for the CSRF token, then all 50 POSTs released together
   by a barrier; the POST's latency until its 302 is the login's), A/B in the same run: the
   configured Argon2id, PBKDF2 1,500,000 (before), and for reference OWASP's minimum Argon2id and a
   no-cost hasher (each on its own gunicorn with the same production settings but that hasher,
   bench/web_bench_settings.py), rounds in rotating order; median over the rounds of p50/p95/max.
3. The 50-user mix for a fixed time on the production server: 16 applicants (home, one of their
   cases), 14 evaluators (inbox, queue, a task's page), 8 API clients (task list, token auth),
   4 internal-control users (audit trail), 8 anonymous readers (public report); each user waits
   1-3 s (uniform) between requests. p50/p95/max per page and overall, errors, requests/s, CPU.

Latencies are taken by the client (threads, ``http.client``, a new connection per request as
gunicorn's sync workers close it), on the same 2 cores as the server: the client's own CPU is a few
per cent of the server's. The machine is shared: wait for a quiet machine (``--wait-quiet``) before
runs whose numbers you keep.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import http.cookies
import json
import os
import platform
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
BIN = Path(PY).parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "exp_web_bench"
REDIS_PORT = 6392
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- web-bench:start -->", "<!-- web-bench:end -->"
PASSWORD = "demo"  # noqa: S105 - the demo users' documented password (seed_demo)

LOGIN_TARGET_MS = 500
MIX_TARGET_MS = 300
# The login servers: the configured hasher (production settings as they are) and the references.
LOGIN_VARIANTS = {
    "argon2id": "Argon2id 31 MiB × 4 passes (configured)",
    "pbkdf2": "PBKDF2-SHA256 1,500,000 (before)",
    "owasp-min": "Argon2id 19 MiB × 2 (OWASP's minimum; reference only)",
    "floor": "MD5, no hashing cost (reference only)",
}

# --- 1. Hash cost --------------------------------------------------------------------------------------

OWASP_ROWS = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))


def hash_costs(repeat: int = 9) -> list[dict]:
    """CPU and wall of one hash (what Django's hashers call), median of ``repeat`` after one warm-up."""
    import hashlib

    import argon2.low_level as ll

    salt = os.urandom(16)
    secret = b"demo-password-of-a-person"

    def argon(m: int, t: int, p: int):
        return lambda: ll.hash_secret_raw(secret, salt, t, m, p, 32, ll.Type.ID)

    def pbkdf2(n: int):
        return lambda: hashlib.pbkdf2_hmac("sha256", secret, salt, n)

    rows = [
        ("**Argon2id m=31744 t=4 p=1 (configured)**", 31_744 * 4, argon(31_744, 4, 1)),
        *[(f"Argon2id m={m} t={t} p=1 (OWASP minimum row)", m * t, argon(m, t, 1)) for m, t in OWASP_ROWS],
        ("Argon2id m=19456 t=7 p=1", 19_456 * 7, argon(19_456, 7, 1)),
        ("Argon2id m=32768 t=4 p=1", 32_768 * 4, argon(32_768, 4, 1)),
        ("Argon2id m=65536 t=2 p=1", 65_536 * 2, argon(65_536, 2, 1)),
        (
            "Argon2id m=102400 t=2 p=8 (Django's Argon2PasswordHasher default)",
            102_400 * 2,
            argon(102_400, 2, 8),
        ),
        ("PBKDF2-HMAC-SHA256 600,000 (OWASP minimum)", None, pbkdf2(600_000)),
        ("**PBKDF2-HMAC-SHA256 1,500,000 (Django 6.1 default; before)**", None, pbkdf2(1_500_000)),
    ]
    out = []
    for label, work, fn in rows:
        fn()
        walls, cpus = [], []
        for _ in range(repeat if work is not None or "600,000" in label else max(3, repeat // 3)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        out.append(
            {
                "label": label,
                "work": work,
                "cpu_ms": statistics.median(cpus) * 1000,
                "wall_ms": statistics.median(walls) * 1000,
            }
        )
    return out


# --- Processes -----------------------------------------------------------------------------------------


class Stack:
    """The processes and the database this run owns; ``stop()`` ends them by pid and drops the database."""

    def __init__(self, folder: Path, keep_db: bool = False):
        self.folder = folder
        self.keep_db = keep_db
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.db_created = False
        self.db_url = f"{PG_SERVER}/{PG_DB}"

    # environment ------------------------------------------------------------------------------------
    def base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPEDIENTE_", "DJANGO_"))}
        for name in (
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DEBUG",
        ):
            env.pop(name, None)
        env.update(
            DATABASE_URL=self.db_url,
            EXPEDIENTE_VAR_DIR=str(self.folder / "var"),
            MEDIA_ROOT=str(self.folder / "media"),
            STATIC_ROOT=str(self.folder / "static"),
            AUDIT_CHECKPOINT_DIR=str(self.folder / "checkpoints"),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def seed_env(self) -> dict:
        """The embedded profile on the bench database: DEBUG on (the seed commands need it), tasks in-process."""
        return self.base_env()

    def production_env(self) -> dict:
        env = self.base_env()
        env.update(
            EXPEDIENTE_ENV="production",
            SECRET_KEY="bench-" + secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
            CACHE_URL=f"redis://127.0.0.1:{REDIS_PORT}/1",
            AUDIT_SIGNING_KEY_FILE=str(self.folder / "audit-ed25519.pem"),
            BEHIND_TLS_PROXY="1",
            EMAIL_URL="dummymail://",
            LOG_LEVEL="WARNING",
        )
        return env

    # processes --------------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        self.logs[name] = log
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def stop_process(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        # Whatever the process left in its own session (gunicorn's or celery's children): by that id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)

    def tail(self, name: str, lines: int = 40) -> str:
        log = self.logs.get(name)
        if not log or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def redis(self) -> None:
        if port_open(REDIS_PORT):
            raise SystemExit(f"port {REDIS_PORT} is in use: the bench starts a Redis of its own there")
        proc = self.start(
            "redis",
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            os.environ.copy(),
        )
        wait_for(lambda: port_open(REDIS_PORT), 20, "redis", self, "redis", proc)

    def database(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
        self.db_created = True

    def drop_database(self) -> None:
        import psycopg

        if not self.db_created or self.keep_db:
            return
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')

    def signing_key(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (self.folder / "audit-ed25519.pem").write_bytes(pem)

    def manage(self, *args: str, env: dict | None = None, timeout: float = 900) -> str:
        result = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=env or self.seed_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def gunicorn(self, name: str, port: int, hasher: str | None = None) -> int:
        env = self.production_env()
        argv = [
            str(BIN / "gunicorn"),
            "expediente.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
        ]
        if hasher:
            env["DJANGO_SETTINGS_MODULE"] = "web_bench_settings"
            env["WEB_BENCH_HASHER"] = hasher
            argv += ["--pythonpath", str(ROOT / "bench")]
        proc = self.start(name, argv, env)
        wait_for(lambda: http_status(port, "/login/") == 200, 60, f"gunicorn {name}", self, name, proc)
        return proc.pid

    def workers(self) -> None:
        env = self.production_env()
        celery = str(BIN / "celery")
        worker = self.start("celery-worker", [celery, "-A", "expediente", "worker", "--loglevel=INFO"], env)
        self.start(
            "celery-beat",
            [
                celery,
                "-A",
                "expediente",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(self.folder / "beat-schedule"),
            ],
            env,
        )
        self.start("relay-outbox", [PY, "manage.py", "relay_outbox"], env)
        wait_for(
            lambda: " ready." in self.logs["celery-worker"].read_text(errors="replace"),
            90,
            "celery worker",
            self,
            "celery-worker",
            worker,
        )

    def stop(self) -> None:
        for name in list(self.procs)[::-1]:
            self.stop_process(name)
        self.drop_database()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port(start: int) -> int:
    port = start
    while port_open(port):
        port += 1
    return port


def http_status(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path, headers={"X-Forwarded-Proto": "https"})
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def wait_for(check, seconds: float, what: str, stack: Stack, name: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited during start-up:\n{stack.tail(name)}")
        if check():
            return
        time.sleep(0.25)
    raise SystemExit(f"{what} not ready after {seconds:.0f} s:\n{stack.tail(name)}")


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of these processes and their descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    wanted, frontier = set(pids), list(pids)
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in wanted:
                wanted.add(child)
                frontier.append(child)
    return sum(cpu.get(pid, 0.0) for pid in wanted)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# --- 2. Seeding the extra accounts and cases (runs inside Django, in a subprocess) --------------------

EXTRA = {"applicant": 14, "evaluator": 9, "legal": 3, "finance": 4, "internal_control": 3}
PREFIX = {
    "applicant": "banco-sol",
    "evaluator": "banco-eval",
    "legal": "banco-legal",
    "finance": "banco-fin",
    "internal_control": "banco-control",
}
# Each extra applicant's initiatives: how far each goes (seed_demo_cases' spec shape).
STOPS = (
    (False, None),
    (True, "admissibility"),
    (True, "technical_evaluation"),
    (True, "budget_certification"),
)


def seed_extra(cases_per_applicant: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth.hashers import (
        Argon2PasswordHasher,
        MD5PasswordHasher,
        PBKDF2PasswordHasher,
        make_password,
    )
    from django.db import transaction

    from expediente.management.commands.seed_demo_cases import Command as SeedCases
    from registry.models import Department, Unit, User
    from registry.services import create_user, issue_api_token, register_unit, system_user

    actor = system_user()
    departments = list(Department.objects.order_by("code").values_list("code", flat=True))
    for role, count in EXTRA.items():
        for i in range(1, count + 1):
            username = f"{PREFIX[role]}{i:02d}"
            if User.objects.filter(username=username).exists():
                continue
            with transaction.atomic():
                unit = None
                if role == "applicant":
                    unit = register_unit(
                        actor=actor,
                        tax_id=f"{7_700_000 + i * 7}",
                        name=f"Asociación de Productores de Prueba {i:02d}",
                        kind=Unit.Kind.ASSOCIATION,
                        department=departments[i % len(departments)],
                        municipality="Municipio de prueba",
                        sector=Unit.Sector.DAIRY,
                    )
                create_user(
                    actor=actor,
                    username=username,
                    password=PASSWORD,
                    first_name="Prueba",
                    last_name=f"{role} {i:02d}",
                    email=f"{username}@example.org",
                    roles=(role,),
                    unit=unit,
                )
    seeder = SeedCases()
    seeder.users = {u.username: u for u in User.objects.filter(is_active=True)}
    made = 0
    for i in range(1, EXTRA["applicant"] + 1):
        for n, (submit, stop) in enumerate(STOPS[:cases_per_applicant]):
            spec = {
                "title": f"Iniciativa de prueba {n + 1} de la asociación {i:02d}",
                "applicant": f"{PREFIX['applicant']}{i:02d}",
                "requested": f"{60_000 + 5_000 * n + 1_000 * i}.00",
                "counterpart": f"{70_000 + 5_000 * n + 1_000 * i}.00",
                "submit": submit,
                "stop_before": stop,
            }
            made += bool(seeder._initiative(spec))
    accounts = list(
        User.objects.filter(is_active=True, groups__isnull=False)
        .exclude(username="system")
        .order_by("username")
        .values_list("username", "groups__name")
        .distinct()
    )
    roles: dict[str, list[str]] = {}
    for username, group in accounts:
        roles.setdefault(username, []).append(group)
    api_users = [
        "legal1",
        "legal2",
        "finanzas1",
        "finanzas2",
        "finanzas3",
        *[f"{PREFIX['legal']}{i:02d}" for i in range(1, 4)],
    ]
    tokens = {name: issue_api_token(User.objects.get(username=name)).key for name in api_users}
    owasp_min = Argon2PasswordHasher()
    owasp_min.memory_cost, owasp_min.time_cost, owasp_min.parallelism = 19_456, 2, 1
    hashes = {
        "argon2id": make_password(PASSWORD),
        "pbkdf2": PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt()),
        "owasp-min": owasp_min.encode(PASSWORD, owasp_min.salt()),
        "floor": MD5PasswordHasher().encode(PASSWORD, MD5PasswordHasher().salt()),
    }
    return {"initiatives_made": made, "roles": roles, "tokens": tokens, "hashes": hashes}


def database_counts(db_url: str) -> dict:
    import psycopg

    queries = {
        "users": "SELECT count(*) FROM registry_user",
        "initiatives": "SELECT count(*) FROM iniciativas_initiative",
        "open tasks": "SELECT count(*) FROM workflows_task WHERE is_open",
        "audit entries": "SELECT count(*) FROM audit_auditentry",
    }
    with psycopg.connect(db_url) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in queries.items()}


# --- The client ------------------------------------------------------------------------------------------


class Browser:
    """One person's cookies and CSRF token; ``X-Forwarded-Proto: https`` as the TLS proxy sends it."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = token

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, bytes, float]:
        headers = {"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{self.port}", "Accept-Language": "es"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
            headers["Referer"] = f"https://127.0.0.1:{self.port}{path}"
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        elapsed = (time.perf_counter() - t0) * 1000
        for raw in response.msg.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(raw)
            for key, morsel in jar.items():
                self.cookies[key] = morsel.value
        return response.status, dict(response.getheaders()), content, elapsed

    def login_form(self) -> str:
        status, _, body, _ = self.request("GET", "/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not match:
            raise RuntimeError(f"login form: {status}")
        return match.group(1).decode()

    def submit_login(self, csrf: str, username: str) -> tuple[int, float]:
        status, _, _, elapsed = self.request(
            "POST", "/login/", {"csrfmiddlewaretoken": csrf, "username": username, "password": PASSWORD}
        )
        if status == 302 and "sessionid" not in self.cookies:
            status = -1  # redirected without a session: not logged in
        return status, elapsed

    def login(self, username: str) -> None:
        status, _ = self.submit_login(self.login_form(), username)
        if status != 302:
            raise RuntimeError(f"{username} could not log in ({status})")


def quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": statistics.median(values) if values else float("nan"),
        "p95": quantile(values, 0.95) if values else float("nan"),
        "max": max(values) if values else float("nan"),
    }


# --- 2. The login burst ------------------------------------------------------------------------------------


def set_hashes(db_url: str, usernames: list[str], encoded: str) -> None:
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE registry_user SET password = %s WHERE username = ANY(%s)", (encoded, usernames))


def login_burst(port: int, usernames: list[str], server_pids: list[int], db_url: str) -> dict:
    """Every user GETs the form, then all POST at once (barrier); each POST's latency until its 302."""
    n = len(usernames)
    ready = threading.Barrier(n + 1)
    results: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * n

    def person(i: int) -> None:
        browser = Browser(port)
        try:
            csrf = browser.login_form()
        except Exception:
            ready.wait()
            results[i] = (0, float("nan"), 0.0)
            return
        ready.wait()
        try:
            status, elapsed = browser.submit_login(csrf, usernames[i])
        except Exception:
            status, elapsed = 0, float("nan")
        results[i] = (status, elapsed, time.perf_counter())

    threads = [threading.Thread(target=person, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    pg0 = pg_backend_cpu(db_url)
    cpu0, busy0, t0 = process_cpu(server_pids), machine_busy(), time.perf_counter()
    client0 = time.process_time()
    ready.wait()
    for t in threads:
        t.join()
    wall = max(r[2] for r in results) - t0 if any(r[2] for r in results) else float("nan")
    client = time.process_time() - client0
    cpu1, busy1 = process_cpu(server_pids), machine_busy()
    ok = [r[1] for r in results if r[0] == 302]
    out = summary(ok)
    out.update(
        errors=n - len(ok),
        wall_s=wall,
        server_cpu_ms=(cpu1 - cpu0) * 1000 / n,
        pg_cpu_ms=(pg_backend_cpu(db_url, pg0) * 1000 / n),
        client_cpu_ms=client * 1000 / n,
        busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
    )
    return out


def pg_backend_cpu(db_url: str, before: dict | None = None):
    """PostgreSQL backends of the bench database: {pid: cpu seconds}, or the CPU used since ``before``
    (backends that ended in between are not counted)."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (PG_DB,)
            )
        ]
    tick = os.sysconf("SC_CLK_TCK")
    now = {}
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        now[pid] = (int(fields[11]) + int(fields[12])) / tick
    if before is None:
        return now
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


# --- 3. The 50-user mix ------------------------------------------------------------------------------------

MIX = (  # (role in the mix, how many, the pages each visits in turn)
    ("applicant", 16, ("applicant home", "case page")),
    ("evaluator", 14, ("inbox (Mis tareas)", "queue (Disponibles)", "task page")),
    ("api", 8, ("API task list",)),
    ("internal_control", 4, ("audit trail",)),
    ("public", 8, ("public report",)),
)
STATIC_PATHS = {
    "applicant home": "/",
    "inbox (Mis tareas)": "/tasks/",
    "queue (Disponibles)": "/tasks/available/",
    "API task list": "/api/v1/tasks/",
    "audit trail": "/audit/",
    "public report": "/reports/?fiscal_year=2020",
}


def mix_people(plan: dict) -> list[dict]:
    roles = plan["roles"]
    by_role = {
        "applicant": [u for u, r in roles.items() if "applicant" in r and u != "solicitante3"],
        "evaluator": [u for u, r in roles.items() if "evaluator" in r],
        "api": list(plan["tokens"]),
        "internal_control": [u for u, r in roles.items() if "internal_control" in r],
        "public": [None] * 8,
    }
    people = []
    for kind, count, pages in MIX:
        accounts = sorted(by_role[kind], key=lambda u: (u is not None and u.startswith("banco"), u or ""))
        if len(accounts) < count:
            raise SystemExit(f"the mix needs {count} {kind} accounts, the database has {len(accounts)}")
        for account in accounts[:count]:
            people.append({"kind": kind, "username": account, "pages": pages})
    return people


def prepare_person(port: int, person: dict, plan: dict) -> dict:
    """Log in (web) or take the API token, and find the links the person clicks (cases, tasks)."""
    browser = Browser(port, token=plan["tokens"].get(person["username"]) if person["kind"] == "api" else None)
    if person["kind"] not in {"api", "public"}:
        browser.login(person["username"])
    paths: dict[str, list[str]] = {
        page: [STATIC_PATHS[page]] for page in person["pages"] if page in STATIC_PATHS
    }
    if "case page" in person["pages"]:
        _, _, body, _ = browser.request("GET", "/initiatives/")
        paths["case page"] = sorted(set(re.findall(r'href="(/initiatives/\d+/)"', body.decode())))
    if "task page" in person["pages"]:
        _, _, body, _ = browser.request("GET", "/tasks/available/")
        paths["task page"] = sorted(set(re.findall(r'href="(/tasks/\d+/)"', body.decode())))[:10]
    for page, options in paths.items():
        if not options:
            raise SystemExit(f"{person['username']}: nothing to open for {page!r}")
        status, _, _, _ = browser.request("GET", options[0])  # warm: every page once per person
        if status != 200:
            raise SystemExit(f"{person['username']}: {options[0]} answered {status}")
    return {**person, "browser": browser, "paths": paths}


def run_mix(port: int, people: list[dict], seconds: float, server_pids: list[int], db_url: str) -> dict:
    records: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(people) + 1)
    stop_at: list[float] = []

    def loop(i: int, person: dict) -> None:
        rng = random.Random(i)
        start.wait()
        time.sleep(rng.uniform(0, 3))  # staggered start: nobody moves in lockstep
        turn = 0
        while time.perf_counter() < stop_at[0]:
            page = person["pages"][turn % len(person["pages"])]
            path = rng.choice(person["paths"][page])
            turn += 1
            try:
                status, _, _, elapsed = person["browser"].request("GET", path)
            except Exception:
                status, elapsed = 0, float("nan")
            with lock:
                records.append((page, status, elapsed))
            time.sleep(rng.uniform(1, 3))

    threads = [threading.Thread(target=loop, args=(i, p)) for i, p in enumerate(people)]
    for t in threads:
        t.start()
    pg0 = pg_backend_cpu(db_url)
    cpu0, busy0 = process_cpu(server_pids), machine_busy()
    client0 = time.process_time()
    t0 = time.perf_counter()
    stop_at.append(t0 + seconds)
    start.wait()
    for t in threads:
        t.join()
    client = time.process_time() - client0
    cpu1, busy1 = process_cpu(server_pids), machine_busy()
    pages: dict[str, dict] = {}
    for _, _, pages_of in MIX:
        for page in pages_of:
            ok = [e for p, s, e in records if p == page and s == 200]
            pages[page] = {**summary(ok), "errors": sum(1 for p, s, _ in records if p == page and s != 200)}
    ok_all = [e for _, s, e in records if s == 200]
    overall = {**summary(ok_all), "errors": sum(1 for _, s, _ in records if s != 200)}
    return {
        "pages": pages,
        "overall": overall,
        "requests": len(records),
        "seconds": seconds,
        "rps": len(records) / seconds,
        "client_cpu_ms": client * 1000 / max(1, len(records)),
        "server_cpu_ms": (cpu1 - cpu0) * 1000 / max(1, len(records)),
        "pg_cpu_ms": pg_backend_cpu(db_url, pg0) * 1000 / max(1, len(records)),
        "busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
    }


# --- Report -------------------------------------------------------------------------------------------


def load1() -> float:
    return os.getloadavg()[0]


QUIET_BUDGET: list[float] = []  # the monotonic deadline of all the waiting, set by the first wait


def wait_quiet(limit: float = 1.5, minutes: float = 20) -> float:
    """Poll every 30 s until the 1-minute load average is below ``limit``; all the waits of a run share
    one budget of ``minutes``. Returns the load it goes on with."""
    if not QUIET_BUDGET:
        QUIET_BUDGET.append(time.monotonic() + minutes * 60)
    while True:
        load = load1()
        if load < limit or time.monotonic() >= QUIET_BUDGET[0]:
            return load
        print(f"load average {load:.2f} ≥ {limit}: waiting 30 s", flush=True)
        time.sleep(30)


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    pg = subprocess.run(
        ["psql", f"{PG_SERVER}/postgres", "-Atc", "SHOW server_version"], capture_output=True, text=True
    ).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem": f"{kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "pg": pg,
        "redis": next((w.split("=")[1] for w in redis if w.startswith("v=")), "?"),
        "commit": commit + (" plus working tree" if dirty else ""),
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def report(
    meta: dict,
    args,
    hashes: list[dict],
    counts: dict,
    logins: dict,
    mix: dict,
    loads: dict,
    demo: int,
    command: str,
) -> str:
    largest_row = max(m * t for m, t in OWASP_ROWS)
    lines = [
        START,
        "## Web tier: gunicorn + PostgreSQL + Celery, logins and a 50-user mix",
        "",
        f"Reproduce: `{command}` (about {'4' if args.quick else '7'} minutes on a quiet machine; `--wait-quiet` first waits, 20 minutes "
        "in all, before the hash costs, the logins and the mix, for a 1-minute load average below 1.5; `--quick`: one login round and a 30 s mix).",
        "",
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['mem']}; {meta['os']}; Python {meta['python']}, "
        f"PostgreSQL {meta['pg']} (local), Redis {meta['redis']} (private, port {REDIS_PORT}). Commit `{meta['commit']}`, run {meta['when']}. "
        f"Load average (1 min): before the run {loads['start']:.2f}; hash costs {loads['hashes']:.2f}; logins {loads['logins'][0]:.2f} → {loads['logins'][1]:.2f}; "
        f"mix {loads['mix'][0]:.2f} → {loads['mix'][1]:.2f}. The machine is shared with other engineers' work: read absolute figures with the load.",
        "",
        "Production shape, started by the bench: `gunicorn expediente.wsgi:application --workers 3` with `EXPEDIENTE_ENV=production` "
        "(DEBUG off, secure cookies, `BEHIND_TLS_PROXY=1`: the client sends `X-Forwarded-Proto: https` as the proxy would), "
        "`CONN_MAX_AGE=60`, cache and broker on the private Redis, `celery worker`, `celery beat`, `manage.py relay_outbox`. "
        f"Database `{PG_DB}`: `seed_demo`, `seed_demo_cases` and the bench's accounts and cases through the same services: "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        + ".",
        "",
        "### One password hash on this machine",
        "",
        f"| hasher | memory × passes (KiB) | vs OWASP's largest Argon2id row ({largest_row:,}) | CPU ms | wall ms | hashes per core-second |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in hashes:
        work = f"{row['work']:,}" if row["work"] else "—"
        ratio = f"{row['work'] / largest_row:.2f}×" if row["work"] else "—"
        lines.append(
            f"| {row['label']} | {work} | {ratio} | {row['cpu_ms']:.1f} | {row['wall_ms']:.1f} | {1000 / row['cpu_ms']:.1f} |"
        )
    lines += [
        "",
        "Median of 9 hashes (3 for PBKDF2 1,500,000) in one process after a warm-up: argon2-cffi's and hashlib's calls as Django makes them. "
        "From 32 MiB on, glibc maps the memory afresh for every hash, which adds page faults to the same work.",
        "",
        f"### 50 simultaneous logins (target p95 < {LOGIN_TARGET_MS} ms)",
        "",
        "| hasher of the server | p50 | **p95** (min–max) | max | burst wall (s) | CPU per login (ms): gunicorn + PostgreSQL + client | CPU-bound p95 on 2 idle cores (47 × CPU / 2) | machine busy | errors | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    keys = ("p50", "p95", "max", "wall_s", "server_cpu_ms", "pg_cpu_ms", "client_cpu_ms", "busy")
    for variant, label in LOGIN_VARIANTS.items():
        rounds = logins.get(variant)
        if not rounds:
            continue
        med = {k: statistics.median(r[k] for r in rounds) for k in keys}
        cpu = med["server_cpu_ms"] + med["pg_cpu_ms"] + med["client_cpu_ms"]
        p95s = [r["p95"] for r in rounds]
        errors = sum(r["errors"] for r in rounds)
        met = "met" if med["p95"] < LOGIN_TARGET_MS and not errors else "**not met**"
        lines.append(
            f"| {label} | {fmt_ms(med['p50'])} ms | **{fmt_ms(med['p95'])} ms** ({fmt_ms(min(p95s))}–{fmt_ms(max(p95s))}) | {fmt_ms(med['max'])} ms | "
            f"{med['wall_s']:.2f} | {cpu:.1f} ({med['server_cpu_ms']:.1f} + {med['pg_cpu_ms']:.1f} + {med['client_cpu_ms']:.1f}) | "
            f"{fmt_ms(47 * cpu / 2)} ms | {med['busy']:.0%} | {errors} | {met} |"
        )
    rounds_word = "round" if args.rounds == 1 else "rounds"
    lines += [
        "",
        f"Median over {args.rounds} {rounds_word} (p95: min–max over the rounds); each round runs every server once, in rotating order, after a "
        "discarded warm-up burst per server. A login: the 50 people each GET the form (CSRF cookie and token), then all 50 POSTs are released "
        "together by a barrier; its latency is the POST's, until the 302 with the session cookie (session written, `last_login`, audit entry). "
        f"Each server has 3 sync workers; the 50 accounts are different people ({demo} demo users, {50 - demo} more), all with the same stored "
        "hash of the server's hasher. CPU per login: gunicorn's processes, the PostgreSQL backends of the bench database (approximate) and "
        "the client's threads. Machine busy: all cores, other people's work included. CPU-bound p95: with only the logins' work on 2 idle "
        "cores, the 47th of 50 logins cannot end much before 47 logins' CPU has run, so p95 ≈ 47 × CPU per login / 2 at best (CPU read "
        "from /proc in 10 ms ticks: ± a few per cent); the target needs at most about 21 ms of CPU per login, hash included.",
        "",
        f"### The 50-user mix for {mix['seconds']:.0f} s (target p95 ≤ {MIX_TARGET_MS} ms, 0 errors)",
        "",
        "| page | requests | p50 | **p95** | max | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for page, row in mix["pages"].items():
        lines.append(
            f"| {page} | {row['n'] + row['errors']} | {fmt_ms(row['p50'])} ms | **{fmt_ms(row['p95'])} ms** | {fmt_ms(row['max'])} ms | {row['errors']} |"
        )
    o = mix["overall"]
    met = "met" if o["p95"] <= MIX_TARGET_MS and o["errors"] == 0 else "**not met**"
    lines += [
        f"| **all** | {mix['requests']} | {fmt_ms(o['p50'])} ms | **{fmt_ms(o['p95'])} ms** | {fmt_ms(o['max'])} ms | {o['errors']} |",
        "",
        f"{mix['rps']:.1f} requests/s; CPU per request {mix['server_cpu_ms']:.1f} ms (gunicorn) + {mix['pg_cpu_ms']:.1f} ms (PostgreSQL backends) "
        f"+ {mix['client_cpu_ms']:.1f} ms (client); machine busy {mix['busy']:.0%} of its {meta['cores']} cores (all processes); "
        f"load average {loads['mix'][0]:.2f} → {loads['mix'][1]:.2f}. Target: {met}.",
        "",
        "Who: 16 applicants (their home, then one of their cases, in turn), 14 evaluators (Mis tareas, Disponibles, one of the first 10 tasks of "
        "their queue), 8 API clients (`GET /api/v1/tasks/`, token), 4 internal-control users (`/audit/`), 8 anonymous readers "
        "(`/reports/?fiscal_year=2020`). Each waits 1–3 s (uniform) between requests and starts within the first 3 s; logins and a first "
        "visit of each page happen before the timed window. An error is any answer other than 200 or a failed connection.",
        END,
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text, encoding="utf-8")


# --- Main ------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 login round, a 30 s mix, 2 cases per extra applicant"
    )
    parser.add_argument("--rounds", type=int, default=None, help="login rounds (default 3; --quick 1)")
    parser.add_argument(
        "--mix-seconds", type=float, default=None, help="length of the mix (default 120; --quick 30)"
    )
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="before each part, wait for a 1-min load < 1.5 (20 min in all)",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave exp_web_bench in place at the end")
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite the web-bench block of docs/BENCHMARKS.md"
    )
    parser.add_argument(
        "--seed-extra", type=int, default=None, help=argparse.SUPPRESS
    )  # internal: runs inside Django
    args = parser.parse_args()
    if args.seed_extra is not None:
        print(json.dumps(seed_extra(args.seed_extra)))
        return 0
    # A SIGTERM ends the run through the same clean-up as Ctrl-C (processes by pid, the database dropped).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.mix_seconds = args.mix_seconds or (30.0 if args.quick else 120.0)
    command = (
        ".venv/bin/python bench/web_bench.py"
        + (" --quick" if args.quick else "")
        + (" --wait-quiet" if args.wait_quiet else "")
        + (" --write-docs" if args.write_docs else "")
    )

    loads: dict = {"start": load1()}
    meta = machine()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        stack = Stack(Path(tmp), keep_db=args.keep_db)
        try:
            t_start = time.perf_counter()
            print(f"private Redis on {REDIS_PORT}; database {PG_DB}", flush=True)
            stack.redis()
            stack.database()
            stack.signing_key()
            stack.manage("migrate", "--noinput", "-v", "0")
            print(stack.manage("seed_demo").splitlines()[0], flush=True)
            stack.manage("seed_demo_cases")
            print("extra accounts and cases (services)…", flush=True)
            out = subprocess.run(
                [PY, str(Path(__file__).resolve()), "--seed-extra", str(2 if args.quick else 4)],
                cwd=ROOT,
                env={**stack.seed_env(), "DJANGO_SETTINGS_MODULE": "expediente.settings"},
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if out.returncode:
                raise SystemExit(f"seeding failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
            plan = json.loads(out.stdout.strip().splitlines()[-1])
            counts = database_counts(stack.db_url)
            print(f"seeded in {time.perf_counter() - t_start:.0f} s: {counts}", flush=True)

            stack.workers()
            ports = {}
            base = free_port(8450)
            for variant in LOGIN_VARIANTS:
                ports[variant] = free_port(base)
                base = ports[variant] + 1
                stack.gunicorn(
                    f"gunicorn-{variant}", ports[variant], None if variant == "argon2id" else variant
                )
            print("servers up:", ports, flush=True)

            if args.wait_quiet:
                print(f"quiet before the hash costs: load {wait_quiet():.2f}", flush=True)
            loads["hashes"] = load1()
            print("hash costs…", flush=True)
            hashes = hash_costs()
            for row in hashes:
                print(
                    f"  {row['label']}: CPU {row['cpu_ms']:.1f} ms, wall {row['wall_ms']:.1f} ms", flush=True
                )

            if args.wait_quiet:
                print(f"quiet before the logins: load {wait_quiet():.2f}", flush=True)
            usernames = sorted(plan["roles"])[:50]
            if len(usernames) < 50:
                raise SystemExit(f"only {len(usernames)} accounts")
            logins: dict[str, list[dict]] = {}
            load_before = load1()
            order = list(LOGIN_VARIANTS)
            for variant in order:  # warm-up burst per server (discarded)
                set_hashes(stack.db_url, usernames, plan["hashes"][variant])
                login_burst(ports[variant], usernames, [stack.procs[f"gunicorn-{variant}"].pid], stack.db_url)
            for r in range(args.rounds):
                for variant in order[r % len(order) :] + order[: r % len(order)]:
                    set_hashes(stack.db_url, usernames, plan["hashes"][variant])
                    time.sleep(1)
                    result = login_burst(
                        ports[variant], usernames, [stack.procs[f"gunicorn-{variant}"].pid], stack.db_url
                    )
                    logins.setdefault(variant, []).append(result)
                    print(
                        f"  round {r + 1} {variant}: p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, max {result['max']:.0f} ms, "
                        f"CPU/login {result['server_cpu_ms']:.1f} ms, errors {result['errors']}",
                        flush=True,
                    )
            loads["logins"] = (load_before, load1())
            set_hashes(stack.db_url, usernames, plan["hashes"]["argon2id"])
            for variant in LOGIN_VARIANTS:  # the mix runs on the production server alone
                if variant != "argon2id":
                    stack.stop_process(f"gunicorn-{variant}")

            port = ports["argon2id"]
            people = mix_people(plan)
            print(f"mix: {len(people)} people log in and open each of their pages once…", flush=True)
            people = [prepare_person(port, p, plan) for p in people]
            if args.wait_quiet:
                print(f"quiet before the mix: load {wait_quiet():.2f}", flush=True)
            else:
                time.sleep(5)
            load_before = load1()
            mix = run_mix(
                port, people, args.mix_seconds, [stack.procs["gunicorn-argon2id"].pid], stack.db_url
            )
            loads["mix"] = (load_before, load1())
            print(
                f"  mix: {mix['requests']} requests, {mix['rps']:.1f}/s, p50 {mix['overall']['p50']:.0f} ms, "
                f"p95 {mix['overall']['p95']:.0f} ms, errors {mix['overall']['errors']}",
                flush=True,
            )
            for name in ("celery-worker", "relay-outbox", "celery-beat"):
                if stack.procs[name].poll() is not None:
                    raise SystemExit(f"{name} died during the run:\n{stack.tail(name)}")
        finally:
            stack.stop()
    demo = sum(1 for name in plan["roles"] if not name.startswith("banco-"))
    section = report(meta, args, hashes, counts, logins, mix, loads, demo, command)
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"written to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
