"""Settings for the test suite. ``DATABASE_URL`` selects PostgreSQL; SQLite otherwise."""

from .base import *  # noqa: F403
from .base import HUEY

DEBUG = False
# Fast hashing in tests; argon2 itself is checked by a dedicated test.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
HUEY = {**HUEY, "immediate": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
