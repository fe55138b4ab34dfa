"""Valueloop settings: one module, read from the environment, secure by default.

Modes (``VALUELOOP_MODE``):
- ``production`` (default): a secret key must be given, DEBUG is off, cookies are secure,
  HTTPS is enforced (behind a proxy that sets ``X-Forwarded-Proto``).
- ``local``: what ``make run`` uses on loopback over plain HTTP; the secret key is generated
  once and kept in the data directory, cookies are not marked secure.
- ``test``: the test suite.

Data lives in ``VALUELOOP_DATA_DIR`` (default ``./data``): the SQLite database (WAL), uploads
and event files. ``DATABASE_URL`` switches to PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number of 0 or more, not {value!r}.")
    return int(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
# pytest imports this module with pytest loaded; anything else defaults to production.
MODE = (os.environ.get("VALUELOOP_MODE") or ("test" if "pytest" in sys.modules else "production")).strip().lower()
if MODE not in {"production", "local", "test"}:
    raise ImproperlyConfigured(f"VALUELOOP_MODE must be production, local or test, not {MODE!r}")
IS_PRODUCTION = MODE == "production"

DATA_DIR = Path(os.environ.get("VALUELOOP_DATA_DIR", "data")).resolve()
UPLOADS_DIR = DATA_DIR / "uploads"
EVENTS_DIR = DATA_DIR / "events"


def _secret_key() -> str:
    key = os.environ.get("VALUELOOP_SECRET_KEY", "")
    if key:
        if IS_PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("VALUELOOP_SECRET_KEY must be at least 50 characters long.")
        return key
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "VALUELOOP_SECRET_KEY is not set. Production has no default secret key; "
            "set one (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(64))'`), "
            "or use VALUELOOP_MODE=local for a machine-local install."
        )
    if MODE == "test":
        return "test-only-" + "x" * 60
    # local mode: one key per data directory, created on first start, readable only by us.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("VALUELOOP_DEBUG", False)
ALLOWED_HOSTS = env_list(
    "VALUELOOP_ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]"] if not IS_PRODUCTION else [],
)
if MODE == "test":
    ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = env_list("VALUELOOP_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "ninja",
    "valueloop.core",
    "valueloop.accounts",
    "valueloop.workspaces",
    "valueloop.collaboration",
    "valueloop.customers",
    "valueloop.feedback",
    "valueloop.research",
    "valueloop.evidence",
    "valueloop.discovery",
    "valueloop.planning",
    "valueloop.flags",
    "valueloop.events",
    "valueloop.experiments",
    "valueloop.themes",
    "valueloop.home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "valueloop.core.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "valueloop.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "valueloop.urls"
WSGI_APPLICATION = "valueloop.wsgi.application"
ASGI_APPLICATION = "valueloop.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:index"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "valueloop.core.context_processors.shell",
                "valueloop.core.context_processors.actor_scopes",
                "valueloop.collaboration.context_processors.notifications",
            ],
            # Money prints one way everywhere: the filters are there without a {% load %}.
            "builtins": ["valueloop.core.templatetags.money"],
        },
    }
]

# --- database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "valueloop.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE avoids
                # "database is locked" upgrades from read to write inside transactions.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; "
                    "PRAGMA cache_size=-32000;"
                ),
            },
            # Keep connections between requests: opening one runs the PRAGMAs above every time.
            "CONN_MAX_AGE": 0 if MODE == "test" else 600,
            "CONN_HEALTH_CHECKS": True,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- passwords and sessions -----------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if MODE == "test":
    # Tests create many users; a fast hasher keeps the suite quick. Never used outside tests.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # reads from the cache, writes through
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- transport security: on by default, relaxed only for loopback HTTP ---------------------
HTTPS = env_bool("VALUELOOP_HTTPS", IS_PRODUCTION)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("VALUELOOP_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("VALUELOOP_HSTS_SECONDS", 31536000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- static files: served by whitenoise from our own package, never a CDN ------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# The package-level static/ (app.css, app.js, vendored htmx) belongs to no app, so name it here.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": UPLOADS_DIR},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- mail: SMTP in production (or when VALUELOOP_SMTP_HOST is set), else the console ------
if IS_PRODUCTION or os.environ.get("VALUELOOP_SMTP_HOST"):
    _MAILER = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("VALUELOOP_SMTP_HOST", "localhost"),
            "port": int(os.environ.get("VALUELOOP_SMTP_PORT", "25")),
            "username": os.environ.get("VALUELOOP_SMTP_USER") or None,
            "password": os.environ.get("VALUELOOP_SMTP_PASSWORD") or None,
            "use_tls": env_bool("VALUELOOP_SMTP_TLS", False),
            "timeout": 20,
        },
    }
else:
    _MAILER = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
if MODE == "test":
    _MAILER = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
MAILERS = {"default": _MAILER}
DEFAULT_FROM_EMAIL = os.environ.get("VALUELOOP_FROM_EMAIL", "Valueloop <valueloop@localhost>")

# --- background tasks ---------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if MODE == "test":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- product settings ---------------------------------------------------------------------
VALUELOOP_PUBLIC_URL = os.environ.get("VALUELOOP_PUBLIC_URL", "http://127.0.0.1:8000")
# How many reverse proxies stand in front of Valueloop: core.http.client_address reads the client's
# address from X-Forwarded-For through exactly that many; 0 reads REMOTE_ADDR and ignores the header.
VALUELOOP_TRUSTED_PROXIES = env_count("VALUELOOP_TRUSTED_PROXIES", 0)

# Sign-in throttling (accounts.services explains the design). Failures are remembered for the window;
# past the free failures of a key, each attempt waits BASE * 2**(extra failures), at most MAX.
LOGIN_FAILURE_LIMIT = env_count("VALUELOOP_LOGIN_FAILURE_LIMIT", 5)  # per account and address, per device
LOGIN_FAILURE_WINDOW_SECONDS = env_count("VALUELOOP_LOGIN_FAILURE_WINDOW", 3600)
LOGIN_ADDRESS_FAILURE_LIMIT = 4 * LOGIN_FAILURE_LIMIT  # per address across accounts (credential stuffing)
LOGIN_ACCOUNT_FAILURE_LIMIT = 10 * LOGIN_FAILURE_LIMIT  # per account across addresses: only slows
LOGIN_BACKOFF_BASE_SECONDS = 2
LOGIN_BACKOFF_MAX_SECONDS = 900
LOGIN_ACCOUNT_BACKOFF_MAX_SECONDS = 60
LOGIN_DEVICE_COOKIE_DAYS = 365
INVITATION_DAYS = 14
API_PAGE_SIZE_MAX = 200
# Batch endpoints take up to 1,000 items; bigger bodies answer 413 (uploads stream to disk instead).
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# What any uploaded file may hold (core/importing/reading.py); an importer may lower a limit, never raise it.
# Parquet is decoded in batches of 8,192 rows, each measured before its strings are expanded.
UPLOAD_LIMITS = {
    "max_bytes": env_count("VALUELOOP_UPLOAD_MAX_BYTES", env_count("VALUELOOP_IMPORT_MAX_BYTES", 50 * 1024 * 1024)),
    "max_rows": env_count("VALUELOOP_UPLOAD_MAX_ROWS", 500_000),
    "max_string_length": env_count("VALUELOOP_UPLOAD_MAX_STRING_LENGTH", 100_000),
    "max_batch_bytes": env_count("VALUELOOP_UPLOAD_MAX_BATCH_BYTES", 64 * 1024 * 1024),
    "max_decoded_bytes": env_count("VALUELOOP_UPLOAD_MAX_DECODED_BYTES", 256 * 1024 * 1024),
    "max_json_depth": env_count("VALUELOOP_UPLOAD_MAX_JSON_DEPTH", 64),
}
CUSTOMER_IMPORT_MAX_BYTES = UPLOAD_LIMITS["max_bytes"]
FEEDBACK_IMPORT_MAX_BYTES = CUSTOMER_IMPORT_MAX_BYTES
RESEARCH_IMPORT_MAX_BYTES = CUSTOMER_IMPORT_MAX_BYTES

# Who may create workspaces: instance admins only (``User.is_staff``, made by ``valueloop createadmin``), or every
# signed-in user. The operator's own commands (createadmin --workspace, import, demo) are not bound by it.
WORKSPACE_CREATION = os.environ.get("VALUELOOP_WORKSPACE_CREATION", "admins").strip().lower() or "admins"
if WORKSPACE_CREATION not in {"admins", "everyone"}:
    raise ImproperlyConfigured(f"VALUELOOP_WORKSPACE_CREATION must be admins or everyone, not {WORKSPACE_CREATION!r}")

# --- outbound connections (core/outbound.py) ----------------------------------------------------------------
# Warehouses (and later Jira, Confluence, webhooks) are dialled through one guard. Loopback, private, link-local,
# multicast and reserved addresses are refused unless listed here: comma-separated host names, addresses and CIDR
# networks, e.g. "warehouse.internal,10.20.0.0/16". Cloud-metadata and unspecified addresses are never dialled.
OUTBOUND_ALLOW = env_list("VALUELOOP_OUTBOUND_ALLOW", [])
OUTBOUND_RESOLVER = {"BACKEND": "valueloop.core.outbound.SystemResolver"}
if MODE == "test":
    # Tests never ask real DNS (fakes at the I/O edges): names resolve from this table, others do not resolve.
    # A test that needs an internal address allowed lists it in OUTBOUND_ALLOW, as an operator would.
    OUTBOUND_ALLOW = []
    OUTBOUND_RESOLVER = {
        "BACKEND": "valueloop.core.outbound.StaticResolver",
        "OPTIONS": {
            "hosts": {
                "localhost": ["127.0.0.1", "::1"],
                "warehouse.example": ["93.184.215.14"],  # a public address; tests never dial it
            }
        },
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VALUELOOP_LOG_LEVEL", "WARNING")},
}
