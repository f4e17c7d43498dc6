"""csplatform settings: every value comes from the environment.

The configuration table in README.md lists each variable; keep the two in step.
Defaults are safe for a developer's machine (local Postgres and Redis); DEBUG
is off unless asked for, and SECRET_KEY is then required.
"""

from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from csplatform.env import database_from_url, env_bool, env_int, env_list, env_str
from csplatform.ratelimit import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=1 locally."
        )
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105 # nosec B105 # DEBUG-only key
elif len(SECRET_KEY) < 32 and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY is too short: use at least 50 random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csplatform",
    "accounts",
    "journeys",
    "surveys",
    "billing",
    "metrics",
    "dashboards",
    "bench",
]

# An upload refused for its size fails the CSRF check (its token was never read): said
# as the size (csplatform.views.csrf_failure).
CSRF_FAILURE_VIEW = "csplatform.views.csrf_failure"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A cookie holding a NUL is forgotten before the session or CSRF check reads it.
    "csplatform.security.DropNulCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: private, no-store on a signed-in person's, a tenant's or the API's
    # answers (its response half runs after the tenant and the view have).
    "csplatform.http.PrivateCacheControlMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A NUL in the path, query string or form fields: 400 before a tenant or a view.
    "csplatform.security.RefuseNulMiddleware",
    "csplatform.tenancy.TenantMiddleware",
    # Last, so a lock-out answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csplatform.urls"
WSGI_APPLICATION = "csplatform.wsgi.application"
ASGI_APPLICATION = "csplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# The role in DATABASE_URL must be neither superuser nor BYPASSRLS: row-level
# security is half of tenant isolation, and such roles ignore every policy.
# `manage.py check --database default` refuses to run with one (csplatform.E001).
DATABASES = {
    "default": {
        **database_from_url(
            "DATABASE_URL",
            env_str("DATABASE_URL", "postgres://csplatform:csplatform@127.0.0.1:5432/csplatform"),
        ),
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        # Django's own queries bind on the client and are never prepared; a few hot
        # statements bind on the server and are (metrics.terms). Off behind a pooler
        # that cannot keep prepared statements (PgBouncer in transaction mode before
        # 1.21, or without max_prepared_statements).
        "OPTIONS": {
            "prepare_threshold": 5 if env_bool("DB_PREPARED_STATEMENTS", default=True) else None
        },
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME") or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery ----------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "csp",
        # An unreachable Redis (packets dropped, not refused) costs a request a
        # second, not the kernel's connect timeout: the cache fails open.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child that has grown past this (MiB) is replaced once its task ends: memory a
# big recompute kept (fragmentation, caches) goes back to the machine. A task that needs
# more than the machine has is killed by the kernel instead, and the outbox's delivery
# cap (OUTBOX_MAX_DELIVERIES) keeps it from being run forever.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_MB", 1024, minimum=64) * 1024
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "csplatform")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7, minimum=1)
# How long a survey email's answer links work.
SURVEY_LINK_TTL_DAYS = env_int("SURVEY_LINK_TTL_DAYS", 30, minimum=1)
# Survey emails sent per minute per campaign (mail providers throttle bulk senders).
SURVEY_EMAILS_PER_MINUTE = env_int("SURVEY_EMAILS_PER_MINUTE", 60, minimum=1)

# Login throttling: after AXES_FAILURE_LIMIT failures for one email from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form posts the email as `username` (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind N reverse proxies, the client is the Nth address from the right of
# X-Forwarded-For (each proxy appends what it saw); with none, REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# The address axes counts: client_ip, but an IPv6 client's /64 (it can pick any address in
# it), so one email from one network is paused, whichever address of the network it uses.
AXES_CLIENT_IP_CALLABLE = "csplatform.security.client_network"

# --- Rate limits ---------------------------------------------------------------
# "<count>/<second|minute|hour|day>", empty for none; counted in the cache, and
# failing open (the request passes, with a warning) while Redis is unreachable.
# Per client address (TRUSTED_PROXY_COUNT) on the public survey pages; per API
# key on the REST API (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES below).
SURVEY_RATE_LIMIT = env_str("SURVEY_RATE_LIMIT", "60/minute").strip() or None
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "1200/minute").strip() or None
# Per client network (an IPv6 client's /64): failed sign-ins whatever the email (password
# spraying; axes pauses one email from one network after AXES_FAILURE_LIMIT), password
# reset requests (also per email), and requests with an API key that is not valid
# (each costs an organization lookup, a transaction and a key lookup).
SIGN_IN_FAILURE_RATE_LIMIT = env_str("SIGN_IN_FAILURE_RATE_LIMIT", "30/hour").strip() or None
PASSWORD_RESET_RATE_LIMIT = env_str("PASSWORD_RESET_RATE_LIMIT", "5/hour").strip() or None
API_KEY_FAILURE_RATE_LIMIT = env_str("API_KEY_FAILURE_RATE_LIMIT", "30/minute").strip() or None
parse_rate(SURVEY_RATE_LIMIT, name="SURVEY_RATE_LIMIT")
parse_rate(API_RATE_LIMIT, name="API_RATE_LIMIT")
parse_rate(SIGN_IN_FAILURE_RATE_LIMIT, name="SIGN_IN_FAILURE_RATE_LIMIT")
parse_rate(PASSWORD_RESET_RATE_LIMIT, name="PASSWORD_RESET_RATE_LIMIT")
parse_rate(API_KEY_FAILURE_RATE_LIMIT, name="API_KEY_FAILURE_RATE_LIMIT")

# --- Security ----------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # forms and htmx take the token from the page, never the cookie
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere: every script is a static file.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Email ---------------------------------------------------------------------
# Django 6.1 mailers. SMTP unless EMAIL_BACKEND says otherwise (console when DEBUG).
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS: dict[str, dict[str, object]] = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", default=False),
        "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "csplatform <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalization ---------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pt-br", _("Brazilian Portuguese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The plotly.js that the plotly package ships is served as /static/plotly/plotly.min.js
# (csplatform.staticfiles): no CDN, works offline, the version the Python side uses.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "csplatform.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.authentication.HasApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["csplatform.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "csplatform.parsers.IdCursorPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "csplatform.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["csplatform.api.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_RATE_LIMIT},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csplatform API",
    "DESCRIPTION": (
        "Push accounts, contacts, subscriptions, usage events and touchpoints. Authenticate "
        "with `Authorization: Bearer <API key>` (created by an admin on the API keys page). "
        "Writes are idempotent: a retried request never duplicates."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from this server: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# 10,000 events at ~300 bytes each, with room to spare.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 8 * 1024 * 1024, minimum=1024)
# Uploaded files (the import page's CSV files, at most 50 MB): kept in memory up to
# 2.5 MB, on disk beyond; a request carrying files whose body is larger than
# UPLOAD_MAX_BODY_BYTES is refused (413) before it is read (csplatform.uploads), so a
# 5 GB body never reaches the disk. The proxy in front should refuse it first
# (docs/operations.md).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
UPLOAD_MAX_BODY_BYTES = env_int("UPLOAD_MAX_BODY_BYTES", 51 * 1024 * 1024, minimum=1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "csplatform.uploads.BodySizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A CSV file up to this size is checked (a dry run) in the request that uploads it and
# imported in the one that confirms it; a bigger one is checked and imported by a Celery
# worker, the page showing its progress (docs/import.md).
IMPORT_INLINE_CHECK_BYTES = env_int("IMPORT_INLINE_CHECK_BYTES", 1024 * 1024, minimum=0)
# Seconds from a write of usage events to the daily rollups counting it (one run per burst).
USAGE_ROLLUP_DELAY_SECONDS = env_int("USAGE_ROLLUP_DELAY_SECONDS", 5, minimum=0)
# Seconds from a change of subscriptions to the metrics recompute (one run per burst).
METRICS_RECOMPUTE_DELAY_SECONDS = env_int("METRICS_RECOMPUTE_DELAY_SECONDS", 30, minimum=0)
# Seconds past its due time before a follow-up task that never ran (Redis down, a
# queue lost) is queued again from the outbox; doubles on each retry, up to an hour.
OUTBOX_GRACE_SECONDS = env_int("OUTBOX_GRACE_SECONDS", 120, minimum=1)
# Runs of one outbox message, or of one queued task message (a sweep's fan-out), that
# did not finish (failed, or killed and handed back by the broker) before it is given
# up: logged; an outbox message is kept for an operator and never run again.
OUTBOX_MAX_DELIVERIES = env_int("OUTBOX_MAX_DELIVERIES", 5, minimum=1)

# Secrets stored encrypted (csplatform.crypto): comma-separated Fernet keys, the first
# encrypts, every one decrypts (rotation: docs/operations.md). Unset: one key derived
# from SECRET_KEY (system check csplatform.W001 warns in production).
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
for _position, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"ENCRYPTION_KEYS: key {_position} is not a Fernet key (32 url-safe base64 "
            "bytes): generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        ) from None

# --- Stripe (billing) ---------------------------------------------------------------------
# Where the Stripe API is: tests and a laptop point it at a fake Stripe on loopback.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Tenancy ------------------------------------------------------------------------------
# The tenant and the link between a user and a tenant; csplatform.tenancy reads
# these instead of importing accounts, so dependencies keep pointing one way.
TENANT_MODEL = "accounts.Organization"
TENANT_MEMBERSHIP_MODEL = "accounts.Membership"
TENANT_API_KEYS = "accounts.authentication.TenantApiKeys"
TENANT_API_PREFIX = "/api/"
