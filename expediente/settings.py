"""Settings for Expediente, read from the environment (django-environ).

The defaults are the embedded, laptop-safe set-up: SQLite (WAL, IMMEDIATE transactions), Celery tasks
run in-process, e-mail to the console. ``EXPEDIENTE_ENV=production`` switches to the production
profile, which refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on every
``check --deploy`` protection.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("EXPEDIENTE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():  # pragma: no cover - convenience for operators
    environ.Env.read_env(BASE_DIR / ".env")

ENVIRONMENT = env.str("EXPEDIENTE_ENV", default="development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("EXPEDIENTE_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    # No defaults: production refuses to start without its secrets.
    _missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env.str(name, default="").strip()]
    if _missing:
        raise ImproperlyConfigured(
            f"EXPEDIENTE_ENV=production refuses to start: set {' and '.join(_missing)} in the environment."
        )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DEBUG = False
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production-0123456789")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env.bool("DEBUG", default=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",  # login lockout (per account and per client address), state in the database
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI/Redoc served locally (closed network, no CDN)
    "guardian",
    "viewflow",
    "viewflow.workflow",
    # Expediente: the kernel, then the apps above it (docs/ARCHITECTURE.md)
    "cases",
    "audit",
    "registry",
    "budget",
    "approvals",
    "workflows",
    "iniciativas",
    "transfers",
    "registrations",
    "compensations",
    "reports",
    "expediente",  # the site: home page, demo seeding
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # SECURE_CSP on every response
    "django.contrib.sessions.middleware.SessionMiddleware",
    "expediente.locale.LocaleMiddleware",  # Spanish unless the user picks English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "approvals.middleware.DelegationMemoMiddleware",  # delegations read once per request
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
    # Turns a refused (locked-out) login into the lockout page or JSON (registry/lockout.py).
    "axes.middleware.AxesMiddleware",
    # Last, innermost: it runs the view itself (retried once on contention; 409/503, never a 500,
    # for a lock not granted in time, a deadlock, a statement timeout or a cut connection).
    "cases.contention.ContentionMiddleware",
]

# viewflow must not patch MIDDLEWARE behind our back; we mount our own inbox pages.
VIEWFLOW = {"AUTOREGISTER": False}

ROOT_URLCONF = "expediente.urls"
WSGI_APPLICATION = "expediente.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",  # {{ csp_nonce }} for an inline <script>/<style>
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registry.context_processors.roles",
                "approvals.context_processors.delegation",
            ],
            # {% load expediente %}: |bs (Bs 60.949.269,00), |lpz_date, |lpz_datetime, |percent
            "libraries": {"expediente": "cases.templatetags.expediente_tags"},
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at BEGIN, so
    # concurrent writers queue on busy_timeout instead of failing later with "database is locked",
    # and every write transaction is serialised (select_for_update does nothing on SQLite). A request
    # that waited SQLITE_TIMEOUT seconds gets "database is locked": a 409, not run again
    # (docs/ARCHITECTURE.md, "Contention").
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_TIMEOUT", default=30),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    # Persistent connections (a web or Celery worker keeps its connection for a minute instead of
    # opening one per request), checked before reuse so a restarted database costs one request
    # nothing but a reconnect.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Bounded waits (docs/ARCHITECTURE.md, "Contention"): a statement waits at most DB_LOCK_TIMEOUT_MS
    # for a lock (a row, the audit chain) and runs at most DB_STATEMENT_TIMEOUT_MS (0: no limit); a
    # request that hits one is retried once, then answered 409 — twice the lock timeout stays under 5 s.
    _waits = "-c lock_timeout={:d} -c statement_timeout={:d}".format(
        env.int("DB_LOCK_TIMEOUT_MS", default=1500), env.int("DB_STATEMENT_TIMEOUT_MS", default=30000)
    )
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = f"{_db_options.get('options', '')} {_waits}".strip()
    # Server-side binding and prepared statements (psycopg 3): a statement a connection runs
    # DB_PREPARE_THRESHOLD times is prepared and not planned again, which a decision's larger
    # statements (who may act, the case with its joins) gain from most (issue 12,
    # docs/BENCHMARKS.md). 0 turns it off: behind a transaction-pooling PgBouncer, which cannot
    # keep prepared statements. The audit chain then takes its lock in a statement of its own
    # (``audit.chain``).
    if _prepare := env.int("DB_PREPARE_THRESHOLD", default=2):
        _db_options["server_side_binding"] = True
        _db_options["prepare_threshold"] = _prepare
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "registry.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every login of a locked-out account or address, the right password too.
    "registry.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = False
# Argon2id with explicit parameters first (expediente/hashers.py: why these, measured in
# docs/BENCHMARKS.md "Web tier"); PBKDF2 stays so that hashes stored before verify, and Django
# re-hashes each with Argon2id at its owner's next successful login.
PASSWORD_HASHERS = [
    "expediente.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "expediente.errors.csrf_failure"  # a Spanish 403 page, not Django's English one
# How long the link of a password reset e-mail works (once): registry/views.py.
PASSWORD_RESET_TIMEOUT = 3600 * env.int("PASSWORD_RESET_HOURS", default=24)
# Reset e-mails sent per hour for one address, and for one client address (a flood is answered as
# usual but sends nothing).
PASSWORD_RESET_MAX_PER_HOUR = env.int("PASSWORD_RESET_MAX_PER_HOUR", default=3)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/La_Paz"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True
# Bolivian Spanish writes 60.949.269,00 (Django's generic "es" groups with a space).
FORMAT_MODULE_PATH = ["expediente.formats"]

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# Uploaded documents are private: never served by a static/media URL, only by a view that checks
# permission first.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/private-media/"  # never routed: documents are served by a view after a permission check
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_PERMISSIONS = 0o640

# --- Cache (API throttling; sessions and the login lockout stay in the DB) ---------------------------
# Shared by every web process: by default a table in the database (created by `migrate`,
# expediente/apps.py), or Redis with CACHE_URL=redis://127.0.0.1:6379/2. Never one process's memory:
# a throttle kept there is multiplied by the number of workers and forgotten at each restart.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://expediente_cache")}
# A Redis cache is on every API request's path (the throttles): a Redis that hangs must make a request
# fail in about a second, never wait (redis-py waits for ever by default). The default, dbcache, puts
# no second server in that path.
REDIS_CACHE_OPTIONS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
if CACHES["default"]["BACKEND"].endswith("redis.RedisCache"):
    CACHES["default"]["OPTIONS"] = {**REDIS_CACHE_OPTIONS, **CACHES["default"].get("OPTIONS", {})}
if PRODUCTION and CACHES["default"]["BACKEND"].endswith(("locmem.LocMemCache", "dummy.DummyCache")):
    raise ImproperlyConfigured("EXPEDIENTE_ENV=production needs a shared CACHE_URL (dbcache:// or redis://).")

# --- Who is asking (cases/net.py) and the login lockout (registry/lockout.py) -------------------------
# How many reverse proxies in front of Django append to X-Forwarded-For. 0: the client is REMOTE_ADDR
# and the header is ignored (a client could write anything in it). DRF's NUM_PROXIES, the lockout and
# the audit trail all read this one number.
TRUSTED_PROXY_COUNT = env.int(
    "TRUSTED_PROXY_COUNT", default=1 if PRODUCTION and env.bool("BEHIND_TLS_PROXY", default=False) else 0
)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
# django-axes: failed logins on the web form, the admin and POST /api/v1/auth/token/ are counted per
# username and per client address; past a limit every login of that account (or from that address)
# is refused, the right password too, until LOGIN_COOLOFF_MINUTES after the last counted failure.
# `manage.py axes_reset_username NAME` (or the admin's "Access attempts") unlocks at once.
AXES_HANDLER = "registry.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)  # per account
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=20)  # per address, over all accounts
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # refused tries do not prolong the lockout
AXES_RESET_ON_SUCCESS = False  # the handler clears the account's own count; never the address's
AXES_CLIENT_IP_CALLABLE = "cases.net.client_ip"
AXES_LOCKOUT_CALLABLE = "registry.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit trail already
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
if AXES_FAILURE_LIMIT < 1 or LOGIN_IP_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_IP_FAILURE_LIMIT must be at least 1")

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # embedded: tasks run in-process
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Bounded waits on the broker (the outbox relay publishes; a hung broker fails its publish within
# seconds and the row is tried again) and a task a dead worker held comes back within minutes, not
# Redis' default hour (acks_late). Tasks must finish well within the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    # Redis: look for messages a dead worker held every 30 s (kombu's default: every 100 s).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=30),
    "unacked_restore_throttle": 1,
    # Connecting to publish: one retry at once, then the error (kombu's default keeps trying).
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
# The outbox (cases/outbox.py): a row published but not done by its job within the lease is published
# again (a broker restarted without persistence loses queued jobs), at most OUTBOX_MAX_PUBLISHES times.
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=300.0)
OUTBOX_MAX_PUBLISHES = env.int("OUTBOX_MAX_PUBLISHES", default=20)
CELERY_TASK_DEFAULT_QUEUE = env.str("EXPEDIENTE_CELERY_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # The outbox relay's back-up (cases/outbox.py): the `relay_outbox` process does it within a second.
    "cases.relay_outbox": {"task": "cases.relay_outbox", "schedule": 10.0},
    # Daily, 00:15 La Paz: record the registrations that lapsed (registry/lapses.py).
    "registry.expire_registrations": {
        "task": "registry.expire_registrations",
        "schedule": crontab(minute=15, hour=0),
    },
    # Deadlines (approvals/deadlines.py; also `manage.py run_deadlines`). Idempotent, concurrency-safe.
    "approvals.fire_due_timers": {"task": "approvals.fire_due_timers", "schedule": 300.0},
    # 00:30 La Paz: observations unanswered by yesterday's deadline -> initiative abandoned.
    "approvals.expire_observations": {
        "task": "approvals.expire_observations",
        "schedule": crontab(minute=30, hour=0),
    },
    "approvals.escalate_overdue": {"task": "approvals.escalate_overdue", "schedule": crontab(minute=45)},
    # 08:00 La Paz, Monday to Friday (the job itself skips public holidays).
    "approvals.send_reminders": {
        "task": "approvals.send_reminders",
        "schedule": crontab(minute=0, hour=8, day_of_week="mon-fri"),
    },
    "approvals.send_pending_emails": {"task": "approvals.send_pending_emails", "schedule": 600.0},
}

# --- Mail -----------------------------------------------------------------------------------------
# EMAIL_URL: consolemail:// (default), smtp://user:pass@host:25, smtp+tls://…, smtps://…
# Production defaults to the host's MTA (smtp://localhost:25), never the console.
_mail = env.email_url("EMAIL_URL", default="smtp://localhost:25" if PRODUCTION else "consolemail://")
_mail_options = (
    {
        key: _mail[setting]
        for key, setting in (
            ("host", "EMAIL_HOST"),
            ("port", "EMAIL_PORT"),
            ("username", "EMAIL_HOST_USER"),
            ("password", "EMAIL_HOST_PASSWORD"),
            ("use_tls", "EMAIL_USE_TLS"),
            ("use_ssl", "EMAIL_USE_SSL"),
        )
        if _mail.get(setting) not in (None, "")
    }
    if _mail["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    else {}
)
MAILERS = {"default": {"BACKEND": _mail["EMAIL_BACKEND"], "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="expediente@probolivia.gob.bo")
# Absolute links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Deadlines and notifications (approvals/deadlines.py, approvals/notifications.py) ---------------
DEADLINE_REMINDER_BUSINESS_DAYS = env.int("DEADLINE_REMINDER_BUSINESS_DAYS", default=2)
# A queue with more possible claimers than this is not notified person by person (see notifications).
NOTIFY_QUEUE_MAX_RECIPIENTS = env.int("NOTIFY_QUEUE_MAX_RECIPIENTS", default=20)
NOTIFY_EMAIL_MAX_AGE_DAYS = env.int("NOTIFY_EMAIL_MAX_AGE_DAYS", default=7)
# Staff's new tasks: one e-mail per person per period (approvals.notifications.send_digests), run by
# celery beat and by the embedded scheduler; 0 e-mails each new task at once.
NOTIFY_DIGEST_MINUTES = env.int("NOTIFY_DIGEST_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["approvals.send_task_digests"] = {
    "task": "approvals.send_task_digests",
    "schedule": max(NOTIFY_DIGEST_MINUTES, 1) * 60.0,
}

# --- Audit ----------------------------------------------------------------------------------------
# The Ed25519 signing key lives outside the database: a PEM file path or the PEM text itself.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
AUDIT_SIGNING_KEY_FILE = env.str(
    "AUDIT_SIGNING_KEY_FILE", default=str(VAR_DIR / "keys" / "audit-ed25519.pem")
)
AUDIT_SIGNING_KEY_ID = env.str("AUDIT_SIGNING_KEY_ID", default="")
AUDIT_CHECKPOINT_DIR = env.str("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "checkpoints"))
AUDIT_CHECKPOINT_MINUTES = env.int("AUDIT_CHECKPOINT_MINUTES", default=15)
AUDIT_ORIGIN = env.str("AUDIT_ORIGIN", default="expediente.probolivia.gob.bo/audit")
# Generating a key on first use is a development convenience only; production must provide one.
AUDIT_GENERATE_KEY = not PRODUCTION and env.bool("AUDIT_GENERATE_KEY", default=True)
# Extra trusted public keys (PEM files) for verifying checkpoints: keys retired by a rotation, or the
# signer's key on servers that must not hold the private key. See docs/AUDIT.md.
AUDIT_PUBLIC_KEYS = env.list("AUDIT_PUBLIC_KEYS", default=[])
if AUDIT_CHECKPOINT_MINUTES < 1:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_MINUTES must be at least 1")
# Sign a checkpoint of the audit trail every AUDIT_CHECKPOINT_MINUTES (audit/checkpoints.py).
CELERY_BEAT_SCHEDULE["audit.sign_checkpoint"] = {
    "task": "audit.tasks.sign_checkpoint",
    "schedule": AUDIT_CHECKPOINT_MINUTES * 60.0,
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.tokens.ExpiringTokenAuthentication",  # API_TOKEN_TTL
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "expediente.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "expediente.schema.AutoSchema",
    "EXCEPTION_HANDLER": "expediente.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"login": "20/min"},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # the same client address as cases.net.client_ip
}
# How long an API token from POST /api/v1/auth/token/ is valid (registry/tokens.py).
API_TOKEN_TTL = timedelta(hours=env.float("API_TOKEN_TTL_HOURS", default=8.0))
if API_TOKEN_TTL.total_seconds() <= 0:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be positive")
SPECTACULAR_SETTINGS = {
    "TITLE": "Expediente API",
    "DESCRIPTION": "Public HTTP contract of Expediente (PRO-BOLIVIA grants and transfers), v1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind"; name their enums after the model so the schema has no collision.
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "registry.models.Unit.Kind",
        "BudgetMovementKindEnum": "budget.models.BudgetMovement.Kind",
        "RegistrationKindEnum": "registrations.models.RegistrationKind",
        "RegistrationDocumentKindEnum": "registrations.models.DocumentKind",
    },
}

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (Django's ContentSecurityPolicyMiddleware): scripts, styles,
# images and fonts only from this site; an inline <script> or <style> needs nonce="{{ csp_nonce }}"
# (no inline event handlers or style="" attributes). The API docs page relaxes styles for itself
# (expediente/urls.py). CSP_REPORT_ONLY=1 sends the same policy as report-only, to try a change.
_CSP_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if env.bool("CSP_REPORT_ONLY", default=False):
    SECURE_CSP_REPORT_ONLY = _CSP_POLICY
else:
    SECURE_CSP = _CSP_POLICY
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
