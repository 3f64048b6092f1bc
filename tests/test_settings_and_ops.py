"""Operations: the settings profiles (embedded default vs production), the Celery set-up, seed_demo and
the files an operator starts from (README, Makefile, .ci/run).

Settings are read at import, so each profile is checked in a fresh ``python`` subprocess with its own
environment, exactly as an operator would start the program.
"""

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from audit.models import AuditEntry

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STRONG_KEY = "k8Jw2QeZr7Tn4Ly9Vb3Xp6Hs1Md5Fg0Ac8Ue2Oi7Rt4Wy9Nq3Zl6Kx1Pj5Sv0Bm8Dh2Gf"


def base_env(**overrides) -> dict[str, str]:
    """The caller's environment without anything that selects a profile, plus ``overrides``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EXPEDIENTE_", "DJANGO_", "CELERY_", "AUDIT_"))
        and k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DEBUG", "EMAIL_URL"}
    }
    env.update(overrides)
    return env


def run(args, env, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def settings_in(env: dict[str, str], *names: str) -> dict:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run(["-c", code], {**env, "DJANGO_SETTINGS_MODULE": "expediente.settings"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    key = tmp_path / "audit-ed25519.pem"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return base_env(
        EXPEDIENTE_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="expediente.probolivia.gob.bo",
        AUDIT_SIGNING_KEY_FILE=str(key),
        EXPEDIENTE_VAR_DIR=str(tmp_path / "var"),
    )


# --- Production profile ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "both"])
def test_production_refuses_to_start_without_its_secrets(production_env, missing):
    env = dict(production_env)
    for name in ("SECRET_KEY", "ALLOWED_HOSTS") if missing == "both" else (missing,):
        env.pop(name)
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    expected = "SECRET_KEY and ALLOWED_HOSTS" if missing == "both" else missing
    assert f"EXPEDIENTE_ENV=production refuses to start: set {expected} in the environment." in result.stderr


@pytest.mark.parametrize("key", ["missing", "not a key", "rsa"])
def test_production_refuses_to_start_without_the_audit_signing_key(production_env, tmp_path, key):
    env = dict(production_env)
    if key == "missing":
        env.pop("AUDIT_SIGNING_KEY_FILE")  # the default path under EXPEDIENTE_VAR_DIR does not exist
    else:
        bad = tmp_path / "bad.pem"
        bad.write_text(
            "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
            if key == "not a key"
            else "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
        )
        env["AUDIT_SIGNING_KEY_FILE"] = str(bad)
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "EXPEDIENTE_ENV=production refuses to start" in result.stderr
    assert "AUDIT_SIGNING_KEY" in result.stderr
    assert not (Path(env["EXPEDIENTE_VAR_DIR"]) / "keys").exists()  # nothing generated


def test_production_refuses_blank_secrets(production_env):
    result = run(["manage.py", "check"], {**production_env, "ALLOWED_HOSTS": "  "})
    assert result.returncode != 0
    assert "set ALLOWED_HOSTS" in result.stderr


def test_production_check_deploy_is_clean(production_env):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_profile_forces_debug_off_and_secure_cookies(production_env):
    values = settings_in(
        {**production_env, "DEBUG": "1"},
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT",
        "AUDIT_GENERATE_KEY",
        "MAILERS",
    )
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["AUDIT_GENERATE_KEY"] is False
    assert values["MAILERS"]["default"]["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_production_takes_postgresql_and_a_broker_from_the_environment(production_env):
    values = settings_in(
        {
            **production_env,
            "DATABASE_URL": "postgres://expediente:secret@db.internal:5432/expediente",
            "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        },
        "DATABASES",
        "CELERY_BROKER_URL",
        "CELERY_TASK_ALWAYS_EAGER",
    )
    db = values["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql" and db["HOST"] == "db.internal"
    assert values["CELERY_BROKER_URL"].startswith("amqp://")
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False


# --- Embedded default -----------------------------------------------------------------------------


def test_embedded_default_is_sqlite_wal_immediate_and_eager_celery():
    values = settings_in(
        base_env(), "DATABASES", "CELERY_TASK_ALWAYS_EAGER", "DEBUG", "LANGUAGE_CODE", "TIME_ZONE"
    )
    db = values["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["timeout"] >= 20
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["DEBUG"] is True
    assert (values["LANGUAGE_CODE"], values["TIME_ZONE"]) == ("es", "America/La_Paz")


def test_unknown_environment_name_is_refused():
    result = run(["manage.py", "check"], base_env(EXPEDIENTE_ENV="prod"))
    assert result.returncode != 0 and "EXPEDIENTE_ENV must be" in result.stderr


def test_celery_app_knows_the_periodic_job():
    import registry.tasks  # noqa: F401  (what autodiscovery imports in the worker)
    from expediente.celery import app

    assert "registry.expire_registrations" in app.tasks
    schedule = app.conf.beat_schedule
    assert schedule["registry.expire_registrations"]["task"] == "registry.expire_registrations"


# --- seed_demo ------------------------------------------------------------------------------------

DEMO_USERNAMES = {
    "solicitante1": "applicant",
    "solicitante2": "applicant",
    "solicitante3": "applicant",  # no unit yet: registers one
    "evaluador1": "evaluator",
    "evaluador2": "evaluator",
    "evaluador3": "evaluator",
    "evaluador4": "evaluator",
    "evaluador5": "evaluator",
    "legal1": "legal",
    "legal2": "legal",
    "finanzas1": "finance",
    "finanzas2": "finance",
    "finanzas3": "finance",
    "director1": "director",
    "director2": "director",
    "control1": "internal_control",
    "admin1": "admin",
    "responsable1": "evaluator",  # program manager of CETIP and PROMYPE (expediente/seed_poa.py)
}


@pytest.fixture
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args):
    call_command("seed_demo", *args, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.mark.django_db
def test_seed_demo_refuses_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        seed()
    assert not AuditEntry.objects.exists()


def _program_id(code: str) -> int:
    from budget.models import Program

    return Program.objects.get(code=code).pk


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_world_through_services(settings, fast_hasher):
    from budget.models import BudgetLine
    from cases.roles import roles_of
    from registry.models import User
    from registry.selectors import department_scope_ids, unit_list_for

    settings.DEBUG = True
    seed()
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    assert set(users) == set(DEMO_USERNAMES)
    for username, role in DEMO_USERNAMES.items():
        assert roles_of(users[username]) == {role}, username
        assert authenticate(username=username, password="demo") is not None, username
    unit1, unit2 = users["solicitante1"].unit, users["solicitante2"].unit
    assert unit1 and unit2 and unit1.department.code != unit2.department.code
    assert {unit1.department.code, unit2.department.code} == {"SCZ", "PTS"}
    assert list(unit_list_for(users["solicitante1"])) == [unit1]
    assert department_scope_ids(users["evaluador5"]) is not None
    # every object was written by a service: one audit entry each
    counts = defaultdict(int)
    for action in AuditEntry.objects.values_list("action", flat=True):
        counts[action] += 1
    # and gestor1, the manager of PROLECHE (no role: it configures the program's calls)
    from budget.selectors import managed_program_ids

    manager = User.objects.get(username="gestor1")
    assert roles_of(manager) == frozenset()
    assert managed_program_ids(manager) == {_program_id("PROLECHE")}
    assert counts["auth.user_created"] == len(DEMO_USERNAMES) + 1
    assert counts["auth.role_granted"] == len(DEMO_USERNAMES)
    assert counts["unit.registered"] == 2
    assert counts["budget.program_created"] == 5
    assert counts["budget.line_created"] == BudgetLine.objects.count()
    assert set(AuditEntry.objects.values_list("actor__username", flat=True)) == {"system"}


@pytest.mark.django_db
def test_seed_demo_2020_budget_matches_the_accountability_report(settings, fast_hasher):
    from budget.models import BudgetLine

    settings.DEBUG = True
    seed()
    by_program, by_source = defaultdict(Decimal), defaultdict(Decimal)
    for line in BudgetLine.objects.filter(fiscal_year=2020).select_related("program", "source"):
        by_program[line.program.code] += line.amount_in_force
        by_source[line.source.code] += line.amount_in_force
    # "POR PROGRAMA" (Promype/Jiwasa + Promype Fase 2 = PROMYPE)
    assert dict(by_program) == {
        "PROBOLIVIA": Decimal("977603.00"),
        "CETIP": Decimal("792071.00"),
        "REGISTRO": Decimal("324485.00"),
        "PROLECHE": Decimal("43264037.00"),
        "PROMYPE": Decimal("1445501.00") + Decimal("14145572.00"),
    }
    # "POR FUENTE"
    assert dict(by_source) == {
        "10": Decimal("1037603.00"),
        "11": Decimal("1056556.00"),
        "42": Decimal("43264037.00"),
        "44": Decimal("381175.00"),
        "80": Decimal("15209898.00"),
    }
    assert sum(by_program.values()) == Decimal("60949269.00")


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings, fast_hasher):
    from budget.models import BudgetLine, FundingSource, Program
    from registry.models import Unit, User

    settings.DEBUG = True
    seed()

    def snapshot():
        return (
            AuditEntry.objects.count(),
            User.objects.count(),
            Unit.objects.count(),
            Program.objects.count(),
            FundingSource.objects.count(),
            BudgetLine.objects.count(),
        )

    first = snapshot()
    seed()
    seed("--force")
    assert snapshot() == first


@pytest.mark.django_db
def test_seed_demo_keeps_exactly_one_open_prolech_call(settings, fast_hasher, monkeypatch):
    """One PROLECHE call open today; re-running changes nothing while it is open, and once it has
    closed (the demo re-seeded months later) the next call of the year is opened."""
    import expediente.management.commands.seed_demo as seed_demo
    from iniciativas.models import Call
    from iniciativas.selectors import call_list_open

    settings.DEBUG = True
    seed()
    on = seed_demo.today()
    open_calls = list(call_list_open(on).filter(program__code="PROLECHE"))
    assert [c.code for c in open_calls] == [f"PROLECHE-{on.year}-01"]
    assert open_calls[0].opens_on <= on <= open_calls[0].closes_on
    seed()
    assert Call.objects.count() == 1

    later = open_calls[0].closes_on + dt.timedelta(days=1)  # the demo re-seeded months later
    monkeypatch.setattr(seed_demo, "today", lambda: later)
    seed()
    number = "02" if later.year == on.year else "01"
    assert [c.code for c in call_list_open(later).filter(program__code="PROLECHE")] == [
        f"PROLECHE-{later.year}-{number}"
    ]
    assert Call.objects.count() == 2


@pytest.mark.django_db
def test_seed_demo_cases_gives_every_working_role_something_in_its_inbox(settings, fast_hasher):
    """After ``seed_demo`` + ``seed_demo_cases`` (what ``make run`` loads), the applicant has a draft
    and a case to follow, and evaluators, legal and finance each find tasks they may work; the cases
    were made through the services, so the ledger reconciles and the audit chain verifies."""
    from approvals import selectors
    from audit.verification import verify_database
    from budget.selectors import ledger_mismatches
    from iniciativas.models import Initiative
    from registry.models import User

    settings.DEBUG = True
    seed()
    out = io.StringIO()
    call_command("seed_demo_cases", stdout=out)
    states = sorted(Initiative.objects.values_list("state", flat=True))
    assert states == ["draft", "in_approval", "in_evaluation", "submitted"]
    users = {u.username: u for u in User.objects.all()}
    for name in ("evaluador1", "legal1", "finanzas1"):
        assert selectors.task_list_open(users[name]).exists(), f"{name} has nothing to do"
    steps = set(selectors.task_list_open(users["finanzas1"]).values_list("step", flat=True))
    assert "budget_certification" in steps
    assert ledger_mismatches() == []
    assert verify_database().valid
    again = io.StringIO()
    call_command("seed_demo_cases", stdout=again)
    assert "exist already" in again.getvalue()
    assert Initiative.objects.count() == 4
    # Each carries its beneficiaries and place (no initiative is paid yet).
    warnes = Initiative.objects.get(title="Centro de acopio lechero de Warnes")
    assert (warnes.municipality, warnes.dairy_basin, warnes.beneficiaries_total) == (
        "Warnes",
        "santa_cruz",
        209,
    )
    # The agreement too, placed where its dairy company is; its paid month counts it in the report.
    from compensations.models import CompensationAgreement
    from reports.beneficiaries import beneficiaries

    agreement = CompensationAgreement.objects.get()
    assert (agreement.municipality, agreement.dairy_basin, agreement.beneficiaries_women) == (
        agreement.unit.municipality,
        "santa_cruz",
        48,
    )
    paid_on = agreement.settlements.get(state="paid").paid_on
    report = beneficiaries(paid_on.year, by="dairy_basin")
    assert [(g.key, g.cases, g.women, g.men) for g in report.groups] == [("santa_cruz", 1, 48, 72)]


def test_make_run_loads_the_demo_cases():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "seed_demo\n" in run and "seed_demo_cases" in run


# --- Files an operator starts from ----------------------------------------------------------------


def test_readme_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*\$ (.+)$", section, flags=re.M)
    assert commands == ["make run", "make test"]
    for needle in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "gunicorn",
        "celery -A expediente worker",
        "celery -A expediente beat",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "check --deploy",
    ):
        assert needle in readme, needle


def test_ci_script_is_executable_and_valid_bash():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
