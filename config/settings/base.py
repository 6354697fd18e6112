"""Settings shared by every environment.

Values come from the environment (``HOTLINE_*``, ``DATABASE_URL``, ``REDIS_URL``). The defaults give
the embedded platform: SQLite in WAL mode, in-memory channel layer, Huey on SQLite. ``production.py``
switches to PostgreSQL and Redis and refuses to start without its secrets.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("HOTLINE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

SECRET_KEY = env.str("HOTLINE_SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env.bool("HOTLINE_DEBUG", default=False)
ALLOWED_HOSTS = env.list("HOTLINE_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("HOTLINE_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "hotline.core.error_views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "huey.contrib.djhuey",
    "axes",
    "ninja",
    # Hotline domains, one app each.
    "hotline.core",
    "hotline.audit",
    "hotline.orgs",
    "hotline.taxonomy",
    "hotline.accounts",
    "hotline.citizens",
    "hotline.workcalendar",
    "hotline.notify",
    "hotline.workorders",
    "hotline.portal",
    "hotline.telephony",
    "hotline.callcenter",
    "hotline.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "hotline.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hotline.accounts.middleware.SessionLifetimeMiddleware",
    "hotline.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # AxesMiddleware last: it turns a locked-out login into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hotline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hotline.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite in WAL mode with IMMEDIATE transactions (writers queue instead of failing with
# "database is locked" when the web and jobs processes write at once).
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;PRAGMA busy_timeout=5000;"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hotline.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
else:
    # Django's backend, with psycopg's compiled timestamp loader (hotline/core/pgbackend/base.py)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "hotline.core.pgbackend"
    # No persistent connections: under ASGI every request runs in a thread of its own, so a kept
    # connection is one more open connection per request until it is collected (measured: 65 from
    # one web process at 45 requests/s, past the server's limit). The switch keeps the connection
    # it makes at start; its recorder and the jobs connect again per batch or task.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 0)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # psycopg may keep prepared statements on a connection. Only the cursor of the hot write paths
    # asks for them (``hotline.core.rows.statement_cursor``: taking an order in); the ORM's cursor
    # binds parameters on the client and never prepares. Behind a pooler that cannot carry prepared
    # statements (PgBouncer in transaction mode before 1.21) set it to None.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
    # No JIT compilation: the reports' grouped queries over a month of orders cost just above the
    # server's JIT threshold and spent 100–150 ms of their 0.8–1 s compiling (docs/performance.md,
    # reports). HOTLINE_PG_JIT=on gives it back.
    if not env.bool("HOTLINE_PG_JIT", default=False):
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, sessions, lockout ------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "hotline.accounts.backends.RoleBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# A session lives for one shift at most and ends after an idle hour (sliding expiry).
SESSION_COOKIE_AGE = env.int("HOTLINE_SESSION_IDLE_SECONDS", default=60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
HOTLINE_SESSION_MAX_SECONDS = env.int("HOTLINE_SESSION_MAX_SECONDS", default=12 * 60 * 60)

# Five wrong passwords for one account lock it for 15 minutes, whatever address they come from.
AXES_FAILURE_LIMIT = env.int("HOTLINE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("HOTLINE_LOGIN_LOCK_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
# Lock accounts, not addresses: a whole centre sits behind one NAT address, and five typos spread
# over fifty agents must not lock everybody out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "hotline" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in Asia/Shanghai

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "hotline" / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Realtime and jobs ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "hotline",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "hotline",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# --- E-mail (notifications) -------------------------------------------------------------------------
# Production sends through SMTP; the embedded default prints each message on the jobs process's
# console, so `make run` needs no mail server. HOTLINE_EMAIL_BACKEND overrides either.
_EMAIL_PRODUCTION = env.str("DJANGO_SETTINGS_MODULE", default="").endswith(".production")
EMAIL_BACKEND = env.str(
    "HOTLINE_EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if _EMAIL_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("HOTLINE_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("HOTLINE_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("HOTLINE_EMAIL_USER", default="")
EMAIL_HOST_PASSWORD = env.str("HOTLINE_EMAIL_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("HOTLINE_EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("HOTLINE_EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("HOTLINE_EMAIL_TIMEOUT", default=30)  # seconds; a hung server frees the worker
DEFAULT_FROM_EMAIL = env.str("HOTLINE_EMAIL_FROM", default="12345 Hotline <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address people open the platform at; links in e-mails start with it.
HOTLINE_SITE_URL = env.str("HOTLINE_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- API -------------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

# --- Logging ---------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("HOTLINE_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "huey": {"propagate": False},  # the consumer logs through its own handler
    },
}

# --- Hotline ---------------------------------------------------------------------------------------
# The city's name on official documents (工单 exports); empty: the name of the root region.
HOTLINE_CITY_NAME = env.str("HOTLINE_CITY_NAME", default="")

# --- Telephony (docs/telephony.md) ----------------------------------------------------------------
# Which switch `run_switch` runs: "sip" (the SIP switch with rtpengine), "sim" (the simulated switch:
# calls from the test phone page only), "auto" (SIP when rtpengine is installed, else simulated).
HOTLINE_SWITCH = env.str("HOTLINE_SWITCH", default="auto")
HOTLINE_SIP = {
    "listen": env.str("HOTLINE_SIP_LISTEN", default="127.0.0.1"),  # address the switch binds
    "port": env.int("HOTLINE_SIP_PORT", default=5060),
    "advertise": env.str("HOTLINE_SIP_ADVERTISE", default=""),  # Via/Contact address (NAT); "": listen
    "realm": env.str("HOTLINE_SIP_REALM", default="hotline"),  # digest authentication realm
}
HOTLINE_RTPENGINE = {
    "binary": env.str("HOTLINE_RTPENGINE_BINARY", default="rtpengine"),
    # rtpengine's --interface: "127.0.0.1", or e.g. "10.0.0.2!203.0.113.4" behind NAT
    "interface": env.str("HOTLINE_RTPENGINE_INTERFACE", default="127.0.0.1"),
    "ng_host": env.str("HOTLINE_RTPENGINE_NG_HOST", default="127.0.0.1"),
    "ng_port": env.int("HOTLINE_RTPENGINE_NG_PORT", default=22222),
    "dtmf_port": env.int("HOTLINE_RTPENGINE_DTMF_PORT", default=22223),  # where digits are reported
    "port_min": env.int("HOTLINE_RTPENGINE_PORT_MIN", default=30000),
    "port_max": env.int("HOTLINE_RTPENGINE_PORT_MAX", default=39999),
    "spool_dir": Path(env.str("HOTLINE_RTPENGINE_SPOOL", default=str(VAR_DIR / "rtpengine"))),
}
# The switch's own audio mixer (whisper, barge, three-way calls): UDP ports on the media address
# (rtpengine must reach them), outside rtpengine's range.
HOTLINE_MIXER = {
    "address": env.str("HOTLINE_MIXER_ADDRESS", default=""),  # "": rtpengine's media address
    "port_min": env.int("HOTLINE_MIXER_PORT_MIN", default=29000),
    "port_max": env.int("HOTLINE_MIXER_PORT_MAX", default=29999),
}
HOTLINE_PROMPT_DIR = Path(env.str("HOTLINE_PROMPT_DIR", default=str(VAR_DIR / "prompts")))
HOTLINE_RECORDING_DIR = Path(env.str("HOTLINE_RECORDING_DIR", default=str(VAR_DIR / "recordings")))
HOTLINE_RECORDING_RETENTION_DAYS = env.int("HOTLINE_RECORDING_RETENTION_DAYS", default=180)  # 0: keep forever
