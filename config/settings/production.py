"""Production: PostgreSQL, Redis, several web workers behind nginx. Secrets have no defaults."""

from .base import *  # noqa: F403
from .base import DATABASES, SILENCED_SYSTEM_CHECKS, env

SECRET_KEY = env.str("HOTLINE_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("HOTLINE_ALLOWED_HOSTS")
REDIS_URL = env.str("REDIS_URL")

if DATABASES["default"]["ENGINE"] != "hotline.core.pgbackend":  # PostgreSQL (see base.py)
    raise RuntimeError("production needs DATABASE_URL=postgres://…")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS by default (nginx terminates TLS). An intranet without certificates sets HOTLINE_HTTPS=false.
HTTPS = env.bool("HOTLINE_HTTPS", default=True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env.int("HOTLINE_HSTS_SECONDS", default=180 * 24 * 3600 if HTTPS else 0)
# The hotline's host usually sits under a government domain whose other sites are not ours to
# force onto HTTPS, and intranet hosts are never on the browsers' preload list.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HOTLINE_HSTS_SUBDOMAINS", default=False)
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W005", "security.W021"]
AXES_IPWARE_PROXY_COUNT = 1
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
